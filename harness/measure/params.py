"""Parameter counts as unique tensors: shared or tied weights count once, packed int8 weights count too."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

METHOD = (
    "unique parameter tensors keyed by storage identity (shared/tied weights counted once); "
    "embedding = tensors owned by an Embedding module; packed quantized Linear weights and biases "
    "counted by their unpacked elements (scales and zero points not counted)"
)


@dataclass(frozen=True)
class Params:
    """Parameter counts of one model, with storage dtypes and the names that alias a counted tensor."""

    total_params: int
    embedding_params: int
    non_embedding_params: int
    params_by_dtype: dict[str, int]
    tensor_bytes: int
    aliases: dict[str, str] = field(default_factory=dict)
    method: str = METHOD
    unit: str = "parameters (tensor elements)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the method and unit."""
        return asdict(self)


def _is_embedding(module: Any) -> bool:
    import torch

    kinds: tuple[type, ...] = (torch.nn.Embedding, torch.nn.EmbeddingBag)
    try:
        import torch.ao.nn.quantized as nnq

        kinds += (nnq.Embedding, nnq.EmbeddingBag)
    except (ImportError, AttributeError):  # pragma: no cover - older torch builds
        pass
    return isinstance(module, kinds)


def _packed_tensors(module: Any) -> list[tuple[str, Any]]:
    """(name, tensor) pairs hidden in a quantized module's packed parameters, else []."""
    kind = type(module)
    if not kind.__module__.startswith("torch.ao.nn.quantized") or kind.__name__.endswith("PackedParams"):
        return []  # the owning module reports the packed tensors once
    if callable(getattr(module, "_weight_bias", None)):
        weight, bias = module._weight_bias()
    elif callable(getattr(module, "weight", None)):
        weight, bias = module.weight(), None
    else:
        return []
    return [(n, t) for n, t in (("weight", weight), ("bias", bias)) if t is not None]


def _key(tensor: Any, owner: Any, name: str) -> tuple[Any, ...]:
    """Identity of the storage a tensor views; meta and quantized tensors fall back to object identity."""
    if tensor.device.type == "meta" or tensor.is_quantized:
        return ("object", id(owner), name) if tensor.is_quantized else ("object", id(tensor))
    storage = tensor.untyped_storage()
    return ("storage", storage.data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tuple(tensor.stride()))


def count_params(model: Any) -> Params:
    """Count unique parameter tensors of `model`, split embedding / non-embedding, by storage dtype."""
    seen: dict[tuple[Any, ...], str] = {}
    aliases: dict[str, str] = {}
    info: dict[tuple[Any, ...], list[Any]] = {}  # key -> [numel, dtype name, nbytes, is_embedding]
    for module_name, module in model.named_modules(remove_duplicate=False):
        prefix = f"{module_name}." if module_name else ""
        tensors = [(n, p) for n, p in module.named_parameters(prefix="", recurse=False, remove_duplicate=False)]
        tensors += [(n, t) for n, t in _packed_tensors(module)]
        for local, tensor in tensors:
            key = _key(tensor, module, local)
            name = prefix + local
            if key in seen:
                if seen[key] != name:
                    aliases[name] = seen[key]
                info[key][3] = info[key][3] or _is_embedding(module)
                continue
            seen[key] = name
            numel = tensor.numel()
            info[key] = [
                numel,
                str(tensor.dtype).removeprefix("torch."),
                numel * tensor.element_size(),
                _is_embedding(module),
            ]
    by_dtype: dict[str, int] = {}
    embedding = total = nbytes = 0
    for numel, dtype, size, is_emb in info.values():
        total += numel
        nbytes += size
        embedding += numel if is_emb else 0
        by_dtype[dtype] = by_dtype.get(dtype, 0) + numel
    return Params(
        total_params=total,
        embedding_params=embedding,
        non_embedding_params=total - embedding,
        params_by_dtype=dict(sorted(by_dtype.items())),
        tensor_bytes=nbytes,
        aliases=dict(sorted(aliases.items())),
    )
