"""How the torch backend counts a module: unique parameter tensors, and FLOPs under harness.measure.flops's
convention with FlopCounterMode, the harness op table and int8 Linear hooks (fvcore as a cross-check).

Moved here from harness.measure.params and harness.measure.flops (issue 12): the measurements ask the backend to
count (harness.backends.base.Model.count_params, count_flops) and turn its plain dicts into their records.
Importing this module is light: torch is imported inside the functions that need it.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

from harness.backends.base import param_counts
from harness.backends.torch_run import call_model, eval_mode

COUNTER = "torch.utils.flop_counter.FlopCounterMode + harness op table + int8 Linear hooks"

PARAMS_METHOD = (
    "unique parameter tensors keyed by storage identity (shared/tied weights counted once); "
    "embedding = tensors owned by an Embedding module; packed quantized Linear weights and biases "
    "counted by their unpacked elements (scales and zero points not counted)"
)


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


def count_module_params(model: Any) -> dict[str, Any]:
    """Count unique parameter tensors of a torch module, split embedding / non-embedding, by storage dtype: the
    fields of harness.measure.params.Params, with the method."""
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
    return param_counts((tuple(v) for v in info.values()), aliases, PARAMS_METHOD)


def mm_flops(a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """[m, k] @ [k, n]: 2*m*k*n.

    >>> mm_flops((2, 3), (3, 4))
    48
    """
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


def addmm_flops(bias_shape: Any, a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """bias + [m, k] @ [k, n]: the bias add is not counted."""
    return mm_flops(a_shape, b_shape)


def bmm_flops(a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """[b, m, k] @ [b, k, n]: 2*b*m*k*n.

    >>> bmm_flops((2, 3, 4), (2, 4, 5))
    240
    """
    return 2 * a_shape[0] * a_shape[1] * a_shape[2] * b_shape[2]


def baddbmm_flops(self_shape: Any, a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """input + [b, m, k] @ [b, k, n]: the add is not counted."""
    return bmm_flops(a_shape, b_shape)


def sdpa_flops(q_shape: Any, k_shape: Any, v_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """Attention [b, h, s, d]: QK^T (2*b*h*s_q*s_k*d) plus AV (2*b*h*s_q*s_k*d_v); softmax not counted.

    >>> sdpa_flops((1, 2, 8, 4), (1, 2, 8, 4), (1, 2, 8, 4))
    2048
    """
    b, h, s_q, d = q_shape
    s_k, d_v = k_shape[-2], v_shape[-1]
    return 2 * b * h * s_q * s_k * (d + d_v)


def layer_norm_flops(
    x_shape: Any, normalized_shape: Any, weight_shape: Any = None, *_: Any, out_shape: Any = None, **__: Any
) -> int:
    """LayerNorm: 5 FLOPs per input element with affine weights, 4 without (mean, centre, variance, scale).

    >>> layer_norm_flops((1, 3, 4), [4], (4,))
    60
    """
    return math.prod(int(n) for n in x_shape) * (5 if weight_shape is not None else 4)


def op_table() -> dict[Any, Callable[..., int]]:
    """The counting functions by aten op, handed to FlopCounterMode as `custom_mapping` (no global registration)."""
    import torch

    aten = torch.ops.aten
    table: dict[Any, Callable[..., int]] = {
        aten.mm: mm_flops,
        aten.addmm: addmm_flops,
        aten.bmm: bmm_flops,
        aten.baddbmm: baddbmm_flops,
        aten.native_layer_norm: layer_norm_flops,
    }
    for name in (
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
    ):
        if hasattr(aten, name):
            table[getattr(aten, name)] = sdpa_flops
    return table


def _blocks(model: Any) -> set[str]:
    """Top-level blocks: children and grandchildren of the root, and every item of a ModuleList."""
    import torch

    names = {n for n, _ in model.named_modules() if n and n.count(".") <= 1}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList):
            names.update(f"{name}.{i}" if name else str(i) for i in range(len(mod)))
    return names


def _count_once(model: Any, inputs: Any) -> dict[str, Any]:
    """Run `model(inputs)` once under the counter; return total, per-op, per-block and int8 figures."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    class _Counter(FlopCounterMode):
        def _count_flops(self, func_packet: Any, out: Any, args: Any, kwargs: Any) -> Any:
            if func_packet not in self.flop_registry:
                missed[str(func_packet)] += 1
            return super()._count_flops(func_packet, out, args, kwargs)

    missed: Counter[str] = Counter()
    int8: Counter[str] = Counter()
    quant_kinds = tuple(
        k
        for k in (
            getattr(torch.ao.nn.quantized.dynamic, "Linear", None),
            getattr(torch.ao.nn.quantized, "Linear", None),
        )
        if k is not None
    )

    def hook(name: str) -> Callable[..., None]:
        def on_forward(mod: Any, args: Any, out: Any) -> None:
            int8[name] += args[0].numel() // mod.in_features * mod.in_features * mod.out_features

        return on_forward

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, quant_kinds)]
    counter = _Counter(display=False, custom_mapping=op_table())
    try:
        with torch.no_grad(), counter:
            call_model(model, inputs)
    finally:
        for h in handles:
            h.remove()
    by_op: Counter[str] = Counter()
    for op, n in counter.get_flop_counts().get("Global", {}).items():
        by_op[str(op)] += n
    blocks = _blocks(model)
    by_module: Counter[str] = Counter()
    for name, ops in counter.get_flop_counts().items():
        short = name.partition(".")[2]
        if short in blocks:
            by_module[short] += sum(ops.values())
    for name, macs in int8.items():
        by_op["int8_linear (2 x int8_macs)"] += 2 * macs
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in blocks:
                by_module[".".join(parts[:i])] += 2 * macs
    if int8:  # the hooks counted these
        for op in ("quantized.linear_dynamic", "quantized.linear"):
            missed.pop(op, None)
    return {
        "flops": sum(by_op.values()),
        "by_op": dict(by_op),
        "by_module": dict(by_module),
        "int8_macs": sum(int8.values()),
        "missed": dict(missed),
    }


def fvcore_flops(model: Any, inputs: Any) -> dict[str, Any]:
    """fvcore's count converted to FLOPs: its matmul 'flops' are MACs (doubled here), norms kept; SDPA skipped.

    A dict of inputs is passed positionally, in its order (fvcore traces with torch.jit).
    """
    try:
        import torch
        from fvcore.nn import FlopCountAnalysis

        args = tuple(inputs.values()) if isinstance(inputs, dict) else inputs
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, args)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            raw = {str(k): int(v) for k, v in analysis.by_operator().items()}
            unsupported = {str(k): int(v) for k, v in analysis.unsupported_ops().items()}
    except Exception as exc:  # noqa: BLE001 - fvcore traces with torch.jit: report why it could not, never guess
        return {"available": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    norms = {k: v for k, v in raw.items() if "norm" in k}
    flops = sum(norms.values()) + 2 * sum(v for k, v in raw.items() if k not in norms)
    return {
        "available": True,
        "flops": flops,
        "raw_by_operator": raw,
        "unsupported_ops": unsupported,
        "note": "fvcore counts one MAC as one flop: matmul/linear figures doubled here; its norm "
        "counts (5 per element) kept; ops listed in unsupported_ops (e.g. SDPA) count zero",
    }


def count_module_flops(model: Any, inputs: Any, *, cross_check: bool = False) -> dict[str, Any]:
    """FLOPs of one call of `model` on `inputs` (in eval mode): flops, int8_macs, by_module, by_op, uncounted_ops
    and the counter; with `cross_check`, fvcore's figures under `fvcore`. Nothing countable ran: not counted, with
    the operators seen."""
    with eval_mode(model):
        counted = _count_once(model, inputs)
        cross = fvcore_flops(model, inputs) if cross_check and counted["flops"] else None
    if counted["flops"] == 0:
        ops = ", ".join(sorted(counted["missed"])) or "none"
        return {
            "status": "not_counted",
            "reason": f"no countable operator ran (operators seen: {ops}); the model's ops are opaque to "
            "FlopCounterMode and to the int8 Linear hooks",
            "uncounted_ops": counted["missed"],
            "counter": COUNTER,
        }
    out = {
        "flops": counted["flops"],
        "int8_macs": counted["int8_macs"],
        "by_module": counted["by_module"],
        "by_op": counted["by_op"],
        "uncounted_ops": counted["missed"],
        "counter": COUNTER,
    }
    if cross is not None:
        out["fvcore"] = cross
    return out
