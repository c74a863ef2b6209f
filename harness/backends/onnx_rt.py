"""ONNX Runtime backend: a folder holding model.onnx (plus optional external-data files) and tokenizer files.

The graph is data: it is checked before onnxruntime opens it (standard op domains only unless the organizer names
a custom-op library; external data only from files inside the folder), and no custom-op library is ever
registered otherwise. Formulations, metrics and measurements see the same interface as the PyTorch backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import HEADS, TOKENIZER_FILES, CpuClock, LoadOptions
from harness.backends.devices import GPU_HARDWARE, is_cuda
from harness.backends.files import (
    ONNX_FILE,
    SPECIAL_FIX,
    load_tokenizer,
    oversized_files,
    read_json,
    require_inside,
    require_sizes,
    special_files,
    special_message,
)
from harness.backends.heads import HEAD_OUTPUTS
from harness.errors import UserError

HARDWARE = "cpu"  # the hardware class of its records
CONFIG_FILE = "config.json"
# Op domains onnxruntime implements itself; any other needs a custom-op library (native code)
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")
# The token inputs a graph may declare; token_type_ids are zeros when a batch has none
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
COSINE_RANK = 3  # token states are [batch, length, hidden]
FLOAT_TYPES = (1, 10, 11, 16)  # onnx TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16
MASK_FLOOR = 1e-9  # the torch backend's clamp of a mask sum in mean pooling
DEFAULT_VOCAB = 1000  # torch_run.synthetic_ids's vocabulary size when the config names none
SPECIAL_IDS = 5  # torch_run.synthetic_ids draws ids past the first 5 (special tokens)
CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"
ERRORS_ONLY = 3  # onnxruntime log_severity_level: errors only (its warnings about unused initializers are noise)
DEVICES = ("auto", "cpu", "cuda")  # LoadOptions.device (cuda also as cuda:N): auto is CUDA when onnxruntime offers it
GPU_FIX = "pip install onnxruntime-gpu (the `gpu` extra), or run on the CPU (--device cpu)"
# the dtype an ONNX model runs in (no --dtype): its graph keeps the types it was exported in; a --dtype naming that
# type is taken too, any other refused
GRAPH_DTYPE = "auto"
# config.json sizes the backend reads (choose_outputs, synthetic_batch): each a positive int when present
SIZE_KEYS = ("hidden_size", "vocab_size")
SHOWN_VALUE = 40  # characters of a bad config value shown in a message
CONFIG_FIX = "write it with json.dump, or remove it"
OUTPUTS_FIX = "name the graph output in the task entry: `outputs: {last_hidden_state: <graph output name>}`"


def _read_config(folder: Path) -> dict[str, Any]:
    """config.json as a mapping ({} when absent); a file that is no JSON object, or with a SIZE_KEYS value that is
    no positive integer, is refused."""
    data = _config_object(folder)
    errors = _size_errors(folder / CONFIG_FILE, data)
    if errors:
        raise errors[0]
    return data


def _config_object(folder: Path) -> dict[str, Any]:
    """config.json as a mapping ({} when absent); a file that is no JSON object is refused."""
    path = folder / CONFIG_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    data = read_json(path, CONFIG_FIX)
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a JSON object", fix='config.json holds a mapping, e.g. {"hidden_size": 384}')
    return data


def _size_errors(path: Path, data: dict[str, Any]) -> list[UserError]:
    """One UserError for each SIZE_KEYS value of config.json `data` that is present but no positive integer."""
    return [
        UserError(
            f"{path}: {key}: expected a positive integer, got {str(value)[:SHOWN_VALUE]!r}",
            fix=f"set {key} to the model's size (an integer, e.g. 384), or remove it",
        )
        for key in SIZE_KEYS
        if (value := data.get(key)) is not None
        and not (isinstance(value, int) and not isinstance(value, bool) and value > 0)
    ]


def folder_problems(path: Path) -> list[tuple[str, str, str]]:
    """Static checks of an ONNX model folder for `harness check`: (file, message, fix) for each problem; a folder
    with files over their size limit gets those alone (nothing of it is read)."""
    oversized = oversized_files(path)
    if oversized:
        return [(str(o.file), o.message().removeprefix(f"{o.file}: "), o.fix) for o in oversized]
    special = special_files(path)
    if special:
        return [(str(f), special_message(f).removeprefix(f"{f}: "), SPECIAL_FIX) for f in special]
    out = []
    if not (path / ONNX_FILE).is_file():
        out.append((str(path), f"no {ONNX_FILE}", f"put the exported graph at {path / ONNX_FILE}"))
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        out.append(
            (
                str(path),
                f"no tokenizer files (one of {', '.join(TOKENIZER_FILES)})",
                "save the tokenizer next to the graph: tokenizer.save_pretrained(folder)",
            )
        )
    config = path / CONFIG_FILE
    try:
        errors = _size_errors(config, _config_object(path))
    except UserError as e:
        errors = [e]
    out += [(str(config), e.message.removeprefix(f"{config}: "), e.fix or "") for e in errors]
    return out


def _stored_tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto of a graph (or function): initializers, sparse ones, and node attributes (dense and
    sparse), subgraphs included."""
    yield from getattr(graph, "initializer", ())
    for sparse in getattr(graph, "sparse_initializer", ()):
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            sparse_tensors = [attr.sparse_tensor] if attr.HasField("sparse_tensor") else []
            for sparse in [*sparse_tensors, *attr.sparse_tensors]:
                yield sparse.values
                yield sparse.indices
            if attr.HasField("g"):
                yield from _stored_tensors(attr.g)
            for sub in attr.graphs:
                yield from _stored_tensors(sub)


def _nodes(graph: Any) -> Iterator[Any]:
    """Every node of a graph, subgraphs included."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _nodes(attr.g)
            for sub in attr.graphs:
                yield from _nodes(sub)


def check_graph(proto: Any, folder: Path, custom_ops: tuple[str, ...] = ()) -> None:
    """Refuse a graph that would run native code or read files outside `folder`, before onnxruntime opens it:
    op domains beyond the standard ones (unless a custom-op library is given), external data elsewhere."""
    from onnx import TensorProto

    onnx_file = folder / ONNX_FILE
    root = folder.resolve()
    for tensor in [t for g in (proto.graph, *proto.functions) for t in _stored_tensors(g)]:
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in tensor.external_data if e.key == "location"), "")
        rel = Path(location)
        inside = bool(location) and not rel.is_absolute() and ".." not in rel.parts
        if inside:
            try:
                (folder / rel).resolve().relative_to(root)
            except ValueError:
                inside = False
        if not inside:
            raise UserError(
                f"{onnx_file}: tensor {tensor.name!r} reads external data from {location!r}, outside the model folder",
                fix="keep external-data files inside the model folder and name them by relative paths "
                "(onnx.save(model, path, save_as_external_data=True, location='model.onnx.data'))",
            )
    local = {f.domain for f in proto.functions}  # model-local functions are graphs too, not native code
    nodes = list(_nodes(proto.graph)) + [n for f in proto.functions for n in f.node]
    custom = sorted({n.domain for n in nodes if n.domain not in STANDARD_DOMAINS and n.domain not in local})
    if custom and not custom_ops:
        ops = sorted({f"{n.domain}.{n.op_type}" for n in nodes if n.domain in custom})
        raise UserError(
            f"{onnx_file}: the graph uses custom op domains ({', '.join(custom)}: {', '.join(ops)}), which need "
            "a native custom-op library",
            fix=f"export it with standard ONNX ops only (domains: {', '.join(repr(d) for d in STANDARD_DOMAINS)})",
        )


def graph_inputs(proto: Any) -> list[Any]:
    """The inputs a caller feeds (graphs saved before IR version 4 also list their initializers as inputs)."""
    weights = {t.name for t in proto.graph.initializer}
    return [i for i in proto.graph.input if i.name not in weights]


def _shape(value: Any) -> list[Any]:
    """A value's declared shape: ints where static, names (or "?") where dynamic."""
    dims = value.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]


def _describe(outputs: list[Any]) -> str:
    """The outputs as error messages list them: "name [dims]", comma-separated."""
    return ", ".join(f"{o.name} {_shape(o)}" for o in outputs)


def choose_outputs(
    outputs: list[Any], head: str, declared: dict[str, str], hidden_size: int | None, where: str
) -> tuple[dict[str, str], str]:
    """The graph output each of the head's outputs is read from, and a line saying how it was chosen: a name
    the submission declares, else the same name among the graph's outputs, else (cosine only) the one rank-3
    float output whose last dimension is the hidden size."""
    names = {o.name: o for o in outputs}
    chosen: dict[str, str] = {}
    how: list[str] = []
    for wanted in HEAD_OUTPUTS[head]:
        if wanted in declared:
            if declared[wanted] not in names:
                raise UserError(
                    f"{where}: declared output {declared[wanted]!r} (for {wanted}) is not a graph output; "
                    f"the graph's outputs: {_describe(outputs)}",
                    fix=f"set `outputs: {{{wanted}: <one of {', '.join(names)}>}}` in the task entry",
                )
            chosen[wanted] = declared[wanted]
            how.append(f"{wanted} = {declared[wanted]!r} (declared in the task entry)")
        elif wanted in names:
            chosen[wanted] = wanted
            how.append(f"{wanted} = {wanted!r} (by name)")
        elif head == "cosine":
            chosen[wanted] = _by_shape(outputs, hidden_size, where)
            how.append(
                f"{wanted} = {chosen[wanted]!r} (the only rank-{COSINE_RANK} float output of last dimension "
                f"{hidden_size or _shape(names[chosen[wanted]])[-1]})"
            )
        else:
            raise UserError(
                f"{where}: no graph output for {wanted} (head {head}); the graph's outputs: {_describe(outputs)}",
                fix=f"name it in the task entry: `outputs: {{{wanted}: <graph output name>}}`",
            )
    return chosen, "; ".join(how)


def _by_shape(outputs: list[Any], hidden_size: int | None, where: str) -> str:
    """The one rank-3 float output whose last dimension is `hidden_size` (else its static last dimension)."""

    def fits(o: Any) -> bool:
        shape = _shape(o)
        if o.type.tensor_type.elem_type not in FLOAT_TYPES or len(shape) != COSINE_RANK:
            return False
        return shape[-1] == hidden_size if hidden_size else isinstance(shape[-1], int) and shape[-1] > 0

    found = [o.name for o in outputs if fits(o)]
    if len(found) == 1:
        return found[0]
    size = f"last dimension {hidden_size} (config.json hidden_size)" if hidden_size else "a static last dimension"
    if found:
        why = f"{len(found)} rank-{COSINE_RANK} float outputs have {size} ({', '.join(found)}): ambiguous"
    else:
        why = f"no rank-{COSINE_RANK} float output has {size}"
    raise UserError(
        f"{where}: no output is named last_hidden_state, and {why}; the graph's outputs: {_describe(outputs)}",
        fix=OUTPUTS_FIX,
    )


def _ids(seed: int, size: int, vocab: int) -> np.ndarray:
    """torch.randint(min(5, vocab - 1), vocab, size, generator=torch.Generator().manual_seed(seed)) without torch:
    torch's CPU generator is a 32-bit Mersenne Twister seeded as numpy's legacy one, and for ranges below 2**32
    an id is low + (draw % range), drawn in order."""
    low = min(SPECIAL_IDS, vocab - 1)
    draws = np.random.RandomState(seed).randint(0, 2**32, size=size, dtype=np.uint32)
    return draws.astype(np.int64) % (vocab - low) + low


class OnnxModel:
    """An onnxruntime session and a tokenizer behind the backend interface, measurements included."""

    def __init__(
        self,
        folder: Path,
        head: str,
        tokenizer: Any,
        config: dict[str, Any],
        proto: Any,
        outputs: dict[str, str],
        output_choice: str,
        providers: list[str],
        options: LoadOptions,
    ) -> None:
        self.folder = folder
        self.head = head
        self.tokenizer = tokenizer
        self.config = config
        self.id2label = {int(k): str(v) for k, v in (config.get("id2label") or {}).items()}
        self.sequence_lengths: list[int] = []
        self.output_choice = output_choice  # which graph output each head output is read from, and why
        self._outputs = [outputs[name] for name in HEAD_OUTPUTS[head]]
        self._providers = providers
        self._provider_options = provider_options(options.device, providers)
        self._custom_ops = options.onnx_custom_ops
        self._inputs = {i.name: i.type.tensor_type.elem_type for i in graph_inputs(proto)}
        self._threads = options.threads
        self._counter: Any = None  # onnx_count.FlopCounter, made at the first count
        self._session = self._new_session(options.threads)
        self.hardware = GPU_HARDWARE if is_cuda(self.device) else HARDWARE  # the class its records rank in

    def _new_session(self, threads: int | None) -> Any:
        """A session with `threads` intra-op threads (onnxruntime's default when None)."""
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = ERRORS_ONLY
        if threads:
            so.intra_op_num_threads = threads
        for library in self._custom_ops:  # only ever what an organizer's option names
            so.register_custom_ops_library(library)
        return ort.InferenceSession(
            str(self.folder / ONNX_FILE),
            sess_options=so,
            providers=self._providers,
            provider_options=self._provider_options,
        )

    @property
    def device(self) -> str:
        """Where the session runs: "cuda:N" on onnxruntime's CUDA provider, else "cpu"."""
        if self._session.get_providers()[0] != CUDA_PROVIDER:
            return "cpu"
        return f"cuda:{self._provider_options[0].get('device_id', 0)}"

    @property
    def clock(self) -> CpuClock:
        """The wall clock: session.run returns once its outputs are in host memory."""
        return CpuClock()

    def _feeds(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The inputs the graph declares, in its integer type; token_type_ids are zeros when absent."""
        from onnx import helper

        ids = batch["input_ids"]
        feeds = {}
        for name, elem in self._inputs.items():
            value = batch.get(name)
            if value is None:
                value = np.ones_like(ids) if name == "attention_mask" else np.zeros_like(ids)
            feeds[name] = np.ascontiguousarray(value, dtype=helper.tensor_dtype_to_np_dtype(elem))
        return feeds

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One padded batch through the session; outputs as float32 numpy arrays (cosine: mean-pooled states)."""
        feeds = self._feeds(batch)
        mask = batch.get("attention_mask")
        mask = np.ones_like(batch["input_ids"]) if mask is None else mask
        self.sequence_lengths.extend(int(n) for n in mask.sum(axis=1))
        out = self._session.run(self._outputs, feeds)
        if self.head == "cosine":
            states = np.asarray(out[0], dtype=np.float32)
            if states.ndim != COSINE_RANK or states.shape[:2] != mask.shape:
                raise UserError(
                    f"{self.folder / ONNX_FILE}: output {self._outputs[0]!r} (read as last_hidden_state) has shape "
                    f"{list(states.shape)}, not [batch, length, hidden] for a batch of {list(mask.shape)}",
                    fix=OUTPUTS_FIX,
                )
            weights = mask[..., None].astype(np.float32)
            pooled = (states * weights).sum(1) / np.clip(weights.sum(1), MASK_FLOOR, None)
            return {"embedding": pooled}
        return {name: np.asarray(v, dtype=np.float32) for name, v in zip(HEAD_OUTPUTS[self.head], out)}

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """Not offered: the backend runs encoder graphs only."""
        raise UserError(
            f"{self.folder}: seq2seq generation is not supported by the onnxruntime backend",
            fix="submit the seq2seq model for the torch backend (backend: torch)",
        )

    def vocab_size(self) -> int:
        """config.json's vocab_size, else the tokenizer's, else torch_run.synthetic_ids's default."""
        size = self.config.get("vocab_size") or (len(self.tokenizer) if self.tokenizer is not None else 0)
        return int(size or DEFAULT_VOCAB)

    def synthetic_batch(
        self, batch_size: int, seq_len: int, *, seed: int = 0, attention_mask: bool = True
    ) -> dict[str, np.ndarray]:
        """The ids the torch backend draws for the same vocabulary size and seed (same values), as numpy."""
        ids = _ids(seed, batch_size * seq_len, self.vocab_size()).reshape(batch_size, seq_len)
        batch = {"input_ids": ids}
        if attention_mask:
            batch["attention_mask"] = np.ones((batch_size, seq_len), dtype=np.int64)
        return batch

    def prepare(self, batch: dict[str, np.ndarray]) -> Callable[[], Any]:
        """A session.run of `batch`, its inputs converted once, now; it runs on the session of the enclosing
        `measuring` block (its thread count)."""
        feeds = self._feeds(batch)
        names = self._outputs
        return lambda: self._session.run(names, feeds)

    @contextmanager
    def measuring(self, threads: int | None = None) -> Iterator[None]:
        """Prepared calls run on a session of `threads` intra-op threads (onnxruntime fixes them when a session
        is made, so one is made for the block and dropped after it); the load-time session is put back. The FLOP
        counter's probe session is dropped on entry, so memory records see the model's session only."""
        if self._counter is not None:
            self._counter.release()
        before = self._session
        if threads and threads != self._threads:
            self._session = self._new_session(threads)
        try:
            yield
        finally:
            self._session = before

    def device_peak_bytes(self, reset: bool = False) -> int | None:
        """None: onnxruntime's Python API reports no allocator peak, on the CPU provider (host memory, which the
        RSS records cover) nor on the CUDA one (its arena's peak is not exposed), so no device figure is made up."""
        return None

    def count_params(self) -> dict[str, Any]:
        """Weight tensors of the graph (harness.backends.onnx_count.count_params)."""
        from harness.backends.onnx_count import count_params

        return count_params(self._full_proto())

    def count_flops(self, seq_len: int, *, cross_check: bool = False) -> dict[str, Any]:
        """FLOPs of one synthetic sequence of `seq_len` tokens (onnx_count.count_flops; no second counter)."""
        from harness.backends.onnx_count import FlopCounter, count_flops

        if self._counter is None:
            self._counter = FlopCounter(self._full_proto(), load=self._full_proto)
        return count_flops(self._counter, self._feeds(self.synthetic_batch(1, seq_len)))

    def _full_proto(self) -> Any:
        """The graph with its weights (external data read from inside the folder, checked at load)."""
        import onnx

        return onnx.load(str(self.folder / ONNX_FILE))


def load(folder: str | Path, head: str, options: LoadOptions = LoadOptions()) -> OnnxModel:
    """Load an ONNX model folder for `head`; errors name the folder, the file and the fix."""
    if head not in HEADS:
        raise UserError(f"unknown head {head!r}", fix=f"known: {', '.join(HEADS)}")
    path = Path(folder)
    if head not in HEAD_OUTPUTS:
        raise UserError(
            f"{path}: the onnxruntime backend does not run a {head} head",
            fix=f"use the torch backend for it, or one of: {', '.join(HEAD_OUTPUTS)}",
        )
    require_inside(path)
    require_sizes(path)
    onnx_file = path / ONNX_FILE
    if not onnx_file.is_file():
        raise UserError(f"{path}: no {ONNX_FILE}", fix=f"put the exported graph at {onnx_file}")
    import onnx
    import onnxruntime as ort

    try:
        proto = onnx.load(str(onnx_file), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - onnx raises DecodeError and others for a broken file
        raise UserError(f"{onnx_file}: not an ONNX model ({type(e).__name__}: {e})", fix="re-export it") from e
    check_graph(proto, path, options.onnx_custom_ops)
    static = [f"{i.name} {_shape(i)}" for i in graph_inputs(proto) if any(isinstance(d, int) for d in _shape(i))]
    if static:
        raise UserError(
            f"{onnx_file}: graph inputs with static dimensions ({', '.join(static)}): batches of other sizes or "
            "lengths would fail",
            fix="export with dynamic axes: torch.onnx.export(..., dynamic_axes={'input_ids': {0: 'batch', "
            "1: 'sequence'}, ...}) for every input",
        )
    unknown = [i.name for i in graph_inputs(proto) if i.name not in TOKEN_INPUTS]
    if unknown:
        raise UserError(
            f"{onnx_file}: graph inputs {', '.join(unknown)} are not token inputs the harness feeds",
            fix=f"export the graph with inputs among {', '.join(TOKEN_INPUTS)} only",
        )
    config = _read_config(path)
    hidden = config.get("hidden_size")
    chosen, how = choose_outputs(
        list(proto.graph.output), head, dict(options.outputs), int(hidden) if hidden else None, str(onnx_file)
    )
    tokenizer = _tokenizer(path)
    _check_dtype(onnx_file, proto, options.dtype)
    providers = _providers(path, options.device, ort.get_available_providers())
    try:
        return OnnxModel(path, head, tokenizer, config, proto, chosen, how, providers, options)
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types for a bad graph
        raise UserError(f"{onnx_file}: onnxruntime cannot load it ({type(e).__name__}: {e})", fix="re-export it") from e


def check_placement(folder: Path, device: str, dtype: str) -> None:
    """CUDA without onnxruntime's CUDA provider, or a --dtype other than the graph's own, refused before the folder
    loads; the graph is parsed (without its external weights, after the folder's size checks) only for a --dtype."""
    import onnxruntime as ort

    _providers(folder, device, ort.get_available_providers())
    onnx_file = folder / ONNX_FILE
    if dtype == GRAPH_DTYPE or not onnx_file.is_file():
        return  # as exported: nothing to refuse; a missing graph is named when it loads
    import onnx

    require_inside(folder)
    require_sizes(folder)
    try:
        proto = onnx.load(str(onnx_file), load_external_data=False)
    except Exception:  # noqa: BLE001 - loading names what is wrong with the file
        return
    _check_dtype(onnx_file, proto, dtype)


def graph_dtype(proto: Any) -> str | None:
    """The floating type a graph computes in: its weights' (initializers'), else its outputs' when it has no
    floating weights; float32, float16 or bfloat16, None when they mix (a graph may keep float32 inputs and
    outputs around float16 weights)."""
    from onnx import TensorProto

    names = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16", TensorProto.BFLOAT16: "bfloat16"}
    found = {names.get(t.data_type) for t in proto.graph.initializer} - {None}
    if not found:
        found = {names.get(o.type.tensor_type.elem_type) for o in proto.graph.output} - {None}
    return found.pop() if len(found) == 1 else None


def _check_dtype(onnx_file: Path, proto: Any, dtype: str) -> None:
    """Refuse a --dtype other than the graph's own: a graph runs in the types it was exported in."""
    own = graph_dtype(proto)
    if dtype != GRAPH_DTYPE and dtype != own:
        raise UserError(
            f"{onnx_file}: --dtype {dtype} asked for, but an ONNX graph keeps its own types (it runs as exported, "
            f"{f'in {own}' if own else 'in the types it holds'})",
            fix=f"leave --dtype out for ONNX models; export the graph in {dtype} to run it so",
        )


def _providers(path: Path, device: str, available: list[str]) -> list[str]:
    """onnxruntime providers for LoadOptions.device: "auto" is CUDA when onnxruntime offers it, else the
    CPU; "cuda" or "cuda:N" without the CUDA provider is refused."""
    kind = device.partition(":")[0]
    if kind not in DEVICES:
        raise UserError(f"{path}: unknown --device {device!r}", fix=f"use one of: {', '.join(DEVICES)}")
    if kind == "cpu" or (kind == "auto" and CUDA_PROVIDER not in available):
        return [CPU_PROVIDER]
    if CUDA_PROVIDER not in available:
        raise UserError(
            f"{path}: CUDA asked for, but onnxruntime has no {CUDA_PROVIDER} (available: {', '.join(available)})",
            fix=GPU_FIX,
        )
    return [CUDA_PROVIDER, CPU_PROVIDER]


def provider_options(device: str, providers: list[str]) -> list[dict[str, Any]]:
    """onnxruntime's options for each of `providers`: the CUDA provider runs on the GPU index of cuda:N."""
    index = device.partition(":")[2]
    return [{"device_id": int(index)} if p == CUDA_PROVIDER and index else {} for p in providers]


def _tokenizer(path: Path) -> Any:
    """transformers.AutoTokenizer from the folder; refused with the fix when it holds no tokenizer files."""
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise UserError(
            f"{path}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)})",
            fix="save the tokenizer next to model.onnx: tokenizer.save_pretrained(folder)",
        )
    return load_tokenizer(path, beside=ONNX_FILE)
