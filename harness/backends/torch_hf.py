"""PyTorch backend: a Hugging Face `save_pretrained` folder loaded with transformers.

Weights load from safetensors only unless pickle is explicitly allowed; remote code is never trusted
by default. Loading works the same for a local folder and a hub id (the hub needs a network).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import HEADS, MAX_MODEL_LAYERS, CpuClock, LoadOptions, weight_files
from harness.backends.devices import AS_SAVED, GPU_HARDWARE, parse_device, parse_dtype, require_device
from harness.backends.files import load_tokenizer, read_json, require_index, require_inside, require_sizes
from harness.backends.heads import HEADS_TABLE, class_head
from harness.backends.torch_compressed import COMPRESSED_FILE, check_compressed_placement, load_compressed
from harness.backends.torch_run import (
    CudaClock,
    call_model,
    eval_mode,
    fixed_threads,
    model_device,
    module_head,
    module_inputs,
    synthetic_ids,
    synthetic_inputs,
)
from harness.errors import UserError

AUTO_CLASSES = {h.name: h.auto_class for h in HEADS_TABLE}
# transformers' message for an unknown model_type lists every model type it knows: thousands of characters
MAX_ERROR_CHARS = 300
# Tensors a head never reads, which a folder may lack: the cosine head mean-pools last_hidden_state, so the pooler of
# a base model saved from a QA or token model (built without one) may start random without changing a number
UNREAD_BY_HEAD = {"cosine": ("pooler.",)}
MAX_NAMED_TENSORS = 5  # a refusal names this many of the tensors missing from a model's weights, then counts the rest
HARDWARE = "cpu"  # the hardware class of its records before a device is chosen (a model on CUDA's is gpu)


def saved_head(folder: Path) -> str | None:
    """The head of the class that saved `folder` (config.json `architectures`), or None when it names none known."""
    try:
        names = read_json(folder / "config.json", "").get("architectures") or []
    except (UserError, AttributeError):
        return None
    return class_head(str(names[0])) if isinstance(names, list) and names else None


class TorchModel:
    """A transformers model and its tokenizer behind the backend interface, measurements included."""

    def __init__(
        self,
        module: Any,
        tokenizer: Any,
        head: str,
        folder: Any = None,
        make_inputs: Callable[[int, int], Any] | None = None,
    ) -> None:
        self.module = module
        self.folder = folder
        self.tokenizer = tokenizer
        self.head = head
        self.sequence_lengths: list[int] = []  # real (unpadded) length of every sequence run, for FLOPs
        cfg = getattr(module, "config", None)
        self.id2label = {int(k): str(v) for k, v in (getattr(cfg, "id2label", None) or {}).items()}
        # (batch, length) -> the module's inputs where it is no Hugging Face model (FLOPs are counted on them)
        self._make_inputs = make_inputs
        # the hardware class its records are ranked in: gpu once the module is on CUDA, else HARDWARE
        self.hardware = GPU_HARDWARE if model_device(module).type == "cuda" else HARDWARE

    @property
    def device(self) -> str:
        """The device of the module's first parameter or buffer: "cpu", "cuda:0", "meta"."""
        return str(model_device(self.module))

    @property
    def clock(self) -> CpuClock:
        """A clock that waits for queued CUDA kernels on a GPU, the wall clock otherwise."""
        return CudaClock() if model_device(self.module).type == "cuda" else CpuClock()

    def synthetic_batch(
        self, batch_size: int, seq_len: int, *, seed: int = 0, attention_mask: bool = True
    ) -> dict[str, np.ndarray]:
        """The token ids of torch_run.synthetic_inputs (same seed, same values) as numpy arrays, mask included
        unless the module is on the meta device."""
        ids = synthetic_ids(self.module, batch_size, seq_len, seed)
        batch = {"input_ids": ids.numpy()}
        if attention_mask and model_device(self.module).type != "meta":
            batch["attention_mask"] = np.ones((batch_size, seq_len), dtype=np.int64)
        return batch

    def prepare(self, batch: Any) -> Callable[[], Any]:
        """A call of the module on `batch`, converted to tensors on its device and shaped for its head once, now:
        timing it times the module alone. A tensor or tuple (a module that is no Hugging Face model) is passed
        as it is."""
        inputs = batch
        if isinstance(batch, dict):
            import torch

            device = model_device(self.module)
            inputs = module_inputs(self.head, {k: torch.as_tensor(v).to(device) for k, v in batch.items()})
        module = self.module
        return lambda: call_model(module, inputs)

    @contextmanager
    def measuring(self, threads: int | None = None) -> Iterator[None]:
        """Eval mode (its training mode put back after), `threads` intra-op threads, torch.inference_mode."""
        import torch

        with eval_mode(self.module), fixed_threads(threads) if threads else nullcontext(), torch.inference_mode():
            yield

    def device_peak_bytes(self, reset: bool = False) -> int | None:
        """The CUDA allocator's peak (after the queued kernels finished); None on a CPU."""
        if model_device(self.module).type != "cuda":
            return None
        import torch

        if reset:
            torch.cuda.reset_peak_memory_stats()
            return None
        torch.cuda.synchronize()
        return int(torch.cuda.max_memory_allocated())

    def count_params(self) -> dict[str, Any]:
        """Unique parameter tensors of the module (torch_count.count_module_params)."""
        from harness.backends.torch_count import count_module_params

        return count_module_params(self.module)

    def count_flops(self, seq_len: int, *, cross_check: bool = False) -> dict[str, Any]:
        """FLOPs of the module on one synthetic sequence of `seq_len` tokens, without a mask (torch_count)."""
        from harness.backends.torch_count import count_module_flops

        if self._make_inputs is not None:
            inputs = self._make_inputs(1, seq_len)
        else:
            inputs = synthetic_inputs(self.module, 1, seq_len, attention_mask=False, head=self.head)
        return count_module_flops(self.module, inputs, cross_check=cross_check)

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One padded batch through the model; outputs as float32 numpy arrays."""
        import torch

        device = model_device(self.module)
        inputs = {k: torch.as_tensor(v).to(device) for k, v in batch.items()}
        self.sequence_lengths.extend(int(n) for n in batch["attention_mask"].sum(axis=1))
        inputs = module_inputs(self.head, inputs)
        with torch.inference_mode():
            out = self.module(**inputs)
        if self.head == "cosine":
            mask = inputs["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return {"embedding": _host(pooled)}
        if self.head in ("question_answering", "retriever_reader"):
            return {"start_logits": _host(out.start_logits), "end_logits": _host(out.end_logits)}
        return {"logits": _host(out.logits)}

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """Greedy decoding, answers decoded without special tokens."""
        import torch

        device = model_device(self.module)
        inputs = {k: torch.as_tensor(v).to(device) for k, v in batch.items()}
        self.sequence_lengths.extend(int(n) for n in batch["attention_mask"].sum(axis=1))
        with torch.inference_mode():
            ids = self.module.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        return self.tokenizer.batch_decode(ids.cpu(), skip_special_tokens=True)


def _host(tensor: Any) -> np.ndarray:
    """A model output as a float32 numpy array in host memory, whatever the device and dtype it was computed in."""
    return tensor.float().cpu().numpy()


def load(folder: str | Path, head: str, options: LoadOptions = LoadOptions()) -> TorchModel:
    """Load `folder` (a model folder, or a hub id when online) for `head`; errors name the folder and fix."""
    if head not in HEADS:
        raise UserError(f"unknown head {head!r}", fix=f"known: {', '.join(HEADS)}")
    import torch
    import transformers

    if options.threads:
        torch.set_num_threads(options.threads)
    transformers.utils.logging.disable_progress_bar()  # its per-tensor bars would drown the harness's own
    path = Path(folder)
    if path.exists():
        require_inside(path)
        require_sizes(path)
        require_index(path)
        _check_weights(path, options)
        _check_custom_code(path, options)
        config = _read_config(path, options)  # before the tokenizer, which reads it too and would take the blame
    cls = getattr(transformers, AUTO_CLASSES[head])
    compressed = (path / COMPRESSED_FILE).is_file()
    if compressed:  # what its layers cannot run in is refused first, whatever this machine has
        check_compressed_placement(path, options.device, options.dtype)
    require_device(options.device)
    tokenizer = load_tokenizer(folder, trust_remote_code=options.trust_remote_code)
    if compressed:  # saved as data by `harness compress`: no stock class rebuilds it
        return TorchModel(load_compressed(path, head).to(options.device), tokenizer, head, folder)
    if path.exists():
        _check_config_params(path, config, cls, options)
    try:
        module, info = cls.from_pretrained(
            str(folder),
            use_safetensors=not options.allow_pickle,
            trust_remote_code=options.trust_remote_code,
            output_loading_info=True,
        )
    except Exception as e:
        raise UserError(
            f"{folder}: the model does not load as {AUTO_CLASSES[head]} ({type(e).__name__}: {e})",
            fix="save it with model.save_pretrained(folder, safe_serialization=True)",
        ) from e
    _check_loaded(folder, info, head)
    module.eval()
    return TorchModel(placed(module, options.device, options.dtype), tokenizer, head, folder)


def check_placement(folder: Path, device: str, dtype: str) -> None:
    """What a compressed folder cannot run in (harness.backends.torch_compressed), refused before it loads; any other
    folder runs on any device torch has, in any of the three dtypes."""
    if (folder / COMPRESSED_FILE).is_file():
        check_compressed_placement(folder, device, dtype)


def placed(module: Any, device: str, dtype: str) -> Any:
    """`module` on `device` with its floating parameters and buffers cast to `dtype` (integer buffers, such as
    position ids, keep their type; AS_SAVED casts nothing): what --device and --dtype ask of the torch backend."""
    import torch

    target = torch.device(parse_device(device))
    if dtype == AS_SAVED:
        return module.to(device=target)
    return module.to(device=target, dtype=getattr(torch, parse_dtype(dtype)))


def wrap(module: Any, head: str | None = None, make_inputs: Callable[[int, int], Any] | None = None) -> TorchModel:
    """A torch module built in code behind the backend interface, to measure it: `head` defaults to the one its
    class stands for ("" when none); `make_inputs(batch, length)` builds the inputs of a module that takes no
    token ids (FLOPs are counted on them)."""
    return TorchModel(module, None, head or module_head(module) or "", None, make_inputs)


def _read_config(path: Path, options: LoadOptions) -> Any:
    """The folder's config.json as transformers reads it; one it cannot read is refused naming that file."""
    import transformers

    try:
        return transformers.AutoConfig.from_pretrained(str(path), trust_remote_code=options.trust_remote_code)
    except Exception as e:  # noqa: BLE001 - whatever transformers raises, the file is what is wrong
        raise UserError(
            f"{path / 'config.json'}: not a model config transformers reads ({type(e).__name__}: {_cut(str(e))})",
            fix="write it with model.config.save_pretrained(folder); model_type must name a transformers model",
        ) from e


def _cut(text: str) -> str:
    """At most MAX_ERROR_CHARS of a library's message."""
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _check_config_params(path: Path, config: Any, cls: Any, options: LoadOptions) -> None:
    """Refuse a config.json implying more than `options.max_params` parameters: first from its numbers alone (a
    BERT-family config: harness.backends.config_params), then counted on the meta device (no memory allocated); a
    config that does not build there is left to from_pretrained to report."""
    import torch

    from harness.backends.config_params import (
        SIZE_FIX,
        BadField,
        depth_fix,
        implied_parameters,
        shown_count,
        too_deep,
    )

    file = path / "config.json"
    document = read_json(file, "")
    if (deep := too_deep(document, MAX_MODEL_LAYERS)) is not None:
        raise UserError(f"{file}: {deep[1]}", fix=depth_fix(deep[0]))
    try:
        estimate = implied_parameters(document)
    except BadField as e:
        raise UserError(f"{file}: {e}, so no model can be built from it", fix=SIZE_FIX) from e
    if estimate is not None and estimate > options.max_params:
        raise UserError(
            f"{file}: at least {shown_count(estimate)} parameters (from its numbers: embeddings and layers; nothing "
            f"built), over the ceiling of {options.max_params:,}",
            fix=SIZE_FIX,
        )
    try:
        with torch.device("meta"):
            module = cls.from_config(config, trust_remote_code=options.trust_remote_code)
    except Exception:  # noqa: BLE001 - from_pretrained names what is wrong with the config
        return
    count = sum(p.numel() for p in module.parameters())
    if count > options.max_params:
        raise UserError(
            f"{file}: {count:,} parameters, over the ceiling of {options.max_params:,} "
            "(counted from the config, nothing allocated)",
            fix=SIZE_FIX,
        )


def _check_loaded(folder: str | Path, info: dict[str, Any], head: str) -> None:
    """Refuse a model some of whose tensors (those its head reads) were not in its weights: from_pretrained would
    have started them at random, and the record would score a model nobody trained."""
    unread = UNREAD_BY_HEAD.get(head, ())
    missing = sorted(k for k in info.get("missing_keys") or () if not any(part in k for part in unread))
    if not missing:
        return
    class_name = AUTO_CLASSES[head]
    named = ", ".join(missing[:MAX_NAMED_TENSORS]) + (
        f" and {len(missing) - MAX_NAMED_TENSORS} more" if len(missing) > MAX_NAMED_TENSORS else ""
    )
    raise UserError(
        f"{folder}: {len(missing)} tensor{'s' * (len(missing) != 1)} of {class_name} {'are' if len(missing) != 1 else 'is'} not "
        f"in its weights ({named}); loaded, {'they' if len(missing) != 1 else 'it'} would start random",
        fix="save the trained model itself with model.save_pretrained(folder): its weights then hold every tensor "
        "its config's architecture has (a base model needs its task head trained and saved too)",
    )


def _check_weights(path: Path, options: LoadOptions) -> None:
    """Refuse pickle weights unless allowed, before transformers gets a chance to unpickle them."""
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: no config.json", fix="a model folder is what model.save_pretrained(folder) writes")
    safe, pickled = weight_files(path)
    if not safe and pickled and not options.allow_pickle:
        raise UserError(
            f"{path}: weights are in pickle format ({pickled[0].name}), which can run code when loaded",
            fix="convert them with model.save_pretrained(folder, safe_serialization=True), or have both the "
            "submitter (allow_pickle: true in submission.yaml) and the organizer (--allow-pickle) opt in",
        )
    if not safe and not pickled:
        raise UserError(
            f"{path}: no weights file (model.safetensors)", fix="save the model with model.save_pretrained(folder)"
        )


def _check_custom_code(path: Path, options: LoadOptions) -> None:
    """Refuse a folder whose config.json points at its own Python files, unless the organizer trusts remote code."""
    from harness.backends.files import CUSTOM_CODE_FIX, custom_code

    config = path / "config.json"
    if options.trust_remote_code or not config.is_file():
        return
    try:
        found = custom_code(read_json(config, ""))
    except UserError:
        return  # transformers refuses it when loading, naming the file
    if found:
        raise UserError(f"{config}: {found}", fix=CUSTOM_CODE_FIX)
