"""How the ONNX Runtime backend counts a graph: its weight tensors, and FLOPs under harness.measure.flops's
convention from the shapes of one onnxruntime run at the real length.

The dicts have the shapes harness.backends.torch_count returns, so the measurements treat both backends alike.
Importing this module is light: onnx and onnxruntime are imported inside the functions that need them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from harness.backends.base import param_counts

# onnx TensorProto element types that hold weights, by the names torch gives the same dtypes
WEIGHT_DTYPES = {1: "float32", 10: "float16", 11: "float64", 16: "bfloat16", 3: "int8", 2: "uint8"}
ITEM_BYTES = {"float32": 4, "float16": 2, "float64": 8, "bfloat16": 2, "int8": 1, "uint8": 1}
LOW_BIT = (2, 3)  # uint8, int8: a Cast of one of these feeding a Mul is a weight-only dequantization
MATRIX_RANK = 2
ERRORS_ONLY = 3  # onnxruntime log_severity_level: errors only (its warnings about unused initializers are noise)
CPU_PROVIDER = "CPUExecutionProvider"
LAYER_NORM_FLOPS = 5  # per input element with a scale (CONVENTION): ONNX LayerNormalization always has one
LAYER_NORM_FLOPS_NO_SCALE = 4  # a decomposed LayerNorm without the trailing Mul
SQUARE = 2  # the Pow exponent of a decomposed LayerNorm's variance
# metadata_props key the harness export (onnx_export) sets: the prefix its wrapper adds to module names
MODULE_PREFIX_KEY = "harness.module_prefix"
# Inputs of quantized ops that are scales or zero points, never weights: op type -> input positions
QUANT_PARAM_INPUTS = {
    "DequantizeLinear": (1, 2),
    "QuantizeLinear": (1, 2),
    "MatMulInteger": (2, 3),
    "QLinearMatMul": (1, 2, 4, 5, 6, 7),
    "MatMulIntegerToFloat": (2, 3, 4, 5),  # input 6 is the bias, a weight
    "DynamicQuantizeMatMul": (2, 3),  # input 4 is the bias, a weight
}
DQL_SCALE = 1  # DynamicQuantizeLinear's output holding the activations' scale
# int8 matmul ops: op type -> positions of (A, B)
INT8_MATMULS = {
    "MatMulInteger": (0, 1),
    "QLinearMatMul": (0, 3),
    "MatMulIntegerToFloat": (0, 1),
    "DynamicQuantizeMatMul": (0, 1),
}
# Ops a Gather's table may pass through on its way from a weight (weight-only int8: Cast then Mul by the scale)
EMBEDDING_PATH = ("Identity", "Cast", "Mul", "DequantizeLinear")
DECOMPOSED_LN = "LayerNormalization (decomposed: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div[, Mul, Add])"

PARAMS_METHOD = (
    "ONNX weight tensors: initializers and Constant-node tensors of element type float32/float16/bfloat16/"
    "float64/int8/uint8 and rank >= 1 (rank-0 scalars and one-element Constant-node tensors such as quantization scales, zero points, epsilons and the "
    "attention scale are not weights; int64/int32 shape constants are not weights); scales and zero points of "
    "quantized ops (DequantizeLinear, MatMulInteger, QLinearMatMul, MatMulIntegerToFloat and "
    "DynamicQuantizeMatMul biases excepted, the Mul after a Cast of an int8/uint8 weight, and the weight scale "
    "multiplied with DynamicQuantizeLinear's scale or into Cast(MatMulInteger)) not counted; each tensor once "
    "however many nodes use it, Identity outputs counted as aliases of their source (the harness export gives "
    "every parameter its own initializer first, so equal-valued parameters stay distinct, as torch counts them); "
    "a 2-D tensor equal to the transpose of another counted tensor counted once, as an alias, unless it is "
    "constant-valued or a symmetric square; "
    "embedding = tensors feeding the data input of a Gather (through Identity/Cast/Mul/DequantizeLinear); "
    "int8 counted by element"
)
# What a FLOPs record of an ONNX graph counted: harness.measure.flops.CONVENTION in the graph's own op names
CONVENTION = (
    "FLOPs = 2 x MACs per example (batch 1, no padding), counted in the ONNX graph at each real length: MatMul "
    "(the attention matmuls QK^T and AV included) and Gemm (bias adds not counted), LayerNormalization 5 FLOPs per "
    "input element (a decomposed LayerNorm likewise, 4 without its scale); int8 matmuls (MatMulInteger, "
    "QLinearMatMul, MatMulIntegerToFloat, DynamicQuantizeMatMul, MatMuls fed by DynamicQuantizeLinear) as int8_macs, "
    "included in flops as 2 x int8_macs; not counted: Gather (embedding lookups), Softmax, activations, residual "
    "adds, scaling, casts"
)
COUNTER = (
    "onnxruntime shapes (one run at the real length, inputs of counted nodes exposed as graph outputs) + harness "
    "ONNX op table: MatMul 2 x batch x m x k x n (attention matmuls included), Gemm 2 m k n (bias add not "
    "counted), MatMulInteger / QLinearMatMul / MatMulIntegerToFloat / DynamicQuantizeMatMul and MatMuls fed "
    "by DynamicQuantizeLinear as int8_macs (2 x int8_macs in flops), LayerNormalization 5 per input element, "
    "decomposed LayerNorm patterns (last-axis ReduceMeans, Pow 2) 5 per element (4 without a Mul by a [hidden] "
    "constant); by_module: node-name paths up to their last `name.N` part, the harness export's `model.` "
    "prefix stripped"
)


def _name(dtype: int) -> str:
    """The torch name of an onnx weight element type ("float32" for TensorProto.FLOAT)."""
    return WEIGHT_DTYPES[dtype]


def _constant_tensors(proto: Any, scalars: bool = True) -> dict[str, Any]:
    """Initializers and Constant-node tensors of the main graph, by the value name they define; without
    `scalars`, no one-element Constant tensors (fill values such as a mask's -inf, saved with shape [1])."""
    out = {t.name: t for t in proto.graph.initializer}
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t") and (scalars or math.prod(attr.t.dims) > 1):
                    out[node.output[0]] = attr.t
    return out


class _Graph:
    """Producers and consumers of each value of a graph, and Identity chains resolved to their source."""

    def __init__(self, nodes: Any) -> None:
        self.nodes = list(nodes)
        self.producer = {out: n for n in self.nodes for out in n.output}
        self.consumers: dict[str, list[Any]] = {}
        for n in self.nodes:
            for name in n.input:
                self.consumers.setdefault(name, []).append(n)

    def source(self, name: str) -> str:
        """The value an Identity chain starts from (`name` itself when no Identity produced it)."""
        seen = set()
        while name in self.producer and self.producer[name].op_type == "Identity" and name not in seen:
            seen.add(name)
            name = self.producer[name].input[0]
        return name

    def made_by(self, name: str, op: str) -> Any:
        """The node of type `op` that produced `name` (through Identity), else None."""
        node = self.producer.get(self.source(name))
        return node if node is not None and node.op_type == op else None


def _quant_params(graph: _Graph, weights: dict[str, Any]) -> set[str]:
    """Names of the tensors that are scales or zero points of a quantized op (not weights)."""
    out: set[str] = set()
    for node in graph.nodes:
        for i in QUANT_PARAM_INPUTS.get(node.op_type, ()):
            if i < len(node.input) and node.input[i]:
                out.add(graph.source(node.input[i]))
        if node.op_type == "Mul":
            sources = [graph.source(x) for x in node.input]
            for i, name in enumerate(sources):
                if _dynamic_scale(graph, name):  # per-channel dynamic quantization: x_scale * w_scale
                    out.update(s for j, s in enumerate(sources) if j != i)
                    continue
                cast = graph.made_by(name, "Cast")
                low = cast is not None and graph.source(cast.input[0]) in weights
                if low and weights[graph.source(cast.input[0])].data_type in LOW_BIT:
                    out.update(s for j, s in enumerate(sources) if j != i)
    return out


def _dynamic_scale(graph: _Graph, name: str) -> bool:
    """`name` is DynamicQuantizeLinear's scale output, or the Cast of a MatMulInteger result (the product a
    per-channel weight scale multiplies)."""
    prod = graph.producer.get(name)
    if prod is not None and prod.op_type == "DynamicQuantizeLinear":
        return len(prod.output) > DQL_SCALE and prod.output[DQL_SCALE] == name
    cast = graph.made_by(name, "Cast")
    return cast is not None and graph.made_by(cast.input[0], "MatMulInteger") is not None


def _transposed_twin_allowed(value: np.ndarray) -> bool:
    """Whether a 2-D tensor may be an alias of another's transpose: not when constant-valued (zeros of a pruned
    matrix, ones) nor a symmetric square (eye), where equal values say nothing of one shared weight."""
    if value.size == 0 or (value == value.flat[0]).all():
        return False
    return not (value.shape[0] == value.shape[1] and np.array_equal(value, value.T))


def _embedding_sources(graph: _Graph, weights: set[str]) -> set[str]:
    """Weights that feed the data input of a Gather, through the ops of EMBEDDING_PATH."""
    found: set[str] = set()
    for node in graph.nodes:
        if node.op_type != "Gather":
            continue
        stack, seen = [node.input[0]], set()
        while stack:
            name = graph.source(stack.pop())
            if name in seen:
                continue
            seen.add(name)
            if name in weights:
                found.add(name)
            elif (prod := graph.producer.get(name)) is not None and prod.op_type in EMBEDDING_PATH:
                stack.extend(prod.input[:1] if prod.op_type == "DequantizeLinear" else prod.input)
    return found


def count_params(proto: Any) -> dict[str, Any]:
    """Weight tensors of an ONNX graph (PARAMS_METHOD): the fields torch_count.count_module_params returns."""
    from onnx import numpy_helper

    graph = _Graph(proto.graph.node)
    tensors = _constant_tensors(proto, scalars=False)
    candidates = {n: t for n, t in tensors.items() if t.data_type in WEIGHT_DTYPES and len(t.dims) >= 1}
    quant = _quant_params(graph, candidates)
    weights = {n: t for n, t in candidates.items() if n not in quant}
    aliases: dict[str, str] = {}
    counted: dict[str, Any] = {}
    matrices: dict[tuple[int, tuple[int, ...]], list[tuple[str, np.ndarray]]] = {}
    for name, tensor in weights.items():
        shape = tuple(int(d) for d in tensor.dims)
        if len(shape) == MATRIX_RANK and _transposed_twin_allowed(value := numpy_helper.to_array(tensor)):
            twin = next(
                (other for other, v in matrices.get((tensor.data_type, shape[::-1]), []) if np.array_equal(v.T, value)),
                None,
            )
            if twin is not None:
                aliases[name] = twin
                continue
            matrices.setdefault((tensor.data_type, shape), []).append((name, value))
        counted[name] = tensor
    for node in graph.nodes:
        if node.op_type == "Identity" and node.output[0] not in tensors:
            source = graph.source(node.input[0])
            if source in counted:
                aliases[node.output[0]] = source
    embedding_names = _embedding_sources(graph, set(weights))
    embedding_names |= {aliases[n] for n in embedding_names if n in aliases}
    rows = []
    for name, tensor in counted.items():
        numel = math.prod(int(d) for d in tensor.dims)
        dtype = _name(tensor.data_type)
        rows.append((numel, dtype, numel * ITEM_BYTES[dtype], name in embedding_names))
    return param_counts(rows, aliases, PARAMS_METHOD)


def _ints(node: Any, name: str, position: int, values: dict[str, np.ndarray]) -> tuple[int, ...] | None:
    """An int-list attribute `name` of `node`, else its constant input at `position` (opset 18 axes); None if
    neither is known."""
    for attr in node.attribute:
        if attr.name == name:
            return tuple(attr.ints)
    if position < len(node.input) and node.input[position] in values:
        return tuple(int(v) for v in np.asarray(values[node.input[position]]).reshape(-1))
    return None


class _LayerNorm(NamedTuple):
    """A decomposed LayerNorm found in a graph; count_flops checks `axis` is the last and the scale is [hidden]."""

    x: str  # the normalized input
    nodes: list[Any]  # ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div
    axis: int  # the axis both ReduceMeans reduce
    scale: str | None  # the constant the trailing Mul multiplies by (None: no such Mul)
    affine: list[Any]  # that Mul and the bias Add after it


def _layer_norm_patterns(graph: _Graph, values: dict[str, np.ndarray], vectors: set[str]) -> Iterator[_LayerNorm]:
    """Decomposed LayerNorms: both ReduceMeans name one same axis, the Pow squares, and a trailing Mul counts as
    the scale only when its other input is a 1-D constant (in `vectors`)."""
    for div in graph.nodes:
        if div.op_type != "Div" or len(div.input) != MATRIX_RANK:
            continue
        sub, sqrt = graph.made_by(div.input[0], "Sub"), graph.made_by(div.input[1], "Sqrt")
        add = graph.made_by(sqrt.input[0], "Add") if sqrt is not None else None
        if sub is None or add is None:
            continue
        var = next((m for x in add.input if (m := graph.made_by(x, "ReduceMean")) is not None), None)
        pow_ = graph.made_by(var.input[0], "Pow") if var is not None else None
        mean = graph.made_by(sub.input[1], "ReduceMean")
        if pow_ is None or mean is None or graph.source(pow_.input[0]) != graph.source(div.input[0]):
            continue
        if graph.source(mean.input[0]) != graph.source(sub.input[0]):
            continue
        exponent = values.get(graph.source(pow_.input[1]))
        if exponent is None or exponent.size != 1 or float(exponent.reshape(-1)[0]) != SQUARE:
            continue
        axes = _ints(mean, "axes", 1, values)
        if axes is None or len(axes) != 1 or _ints(var, "axes", 1, values) != axes:
            continue
        after = graph.consumers.get(div.output[0], [])
        scale, affine = None, []
        if len(after) == 1 and after[0].op_type == "Mul":
            other = [graph.source(x) for x in after[0].input if graph.source(x) != graph.source(div.output[0])]
            if len(other) == 1 and other[0] in vectors:
                scale, affine = other[0], [after[0]]
                bias = graph.consumers.get(after[0].output[0], [])
                if len(bias) == 1 and bias[0].op_type == "Add":
                    affine.append(bias[0])
        yield _LayerNorm(sub.input[0], [mean, sub, pow_, var, add, sqrt, div], axes[0], scale, affine)


def _module(node_name: str, prefix: str = "") -> str:
    """The block a node belongs to from its exported name ("/model/bert/encoder/layer.0/attention/MatMul" ->
    "model.bert.encoder.layer.0"): the path up to its last `name.N` part, else its whole path; "" without one.
    `prefix` (the harness export's wrapper attribute, "model.") is stripped so keys are torch's module names."""
    parts = [p for p in node_name.split("/") if p][:-1]
    numbered = [i for i, p in enumerate(parts) if p.rpartition(".")[2].isdigit()]
    module = ".".join(parts[: numbered[-1] + 1] if numbered else parts)
    return module.removeprefix(prefix) if prefix and module != prefix.rstrip(".") else module


SMALL_VALUES = 8  # constants of at most this many elements (axes lists, exponents) are kept by value


def _skeleton(proto: Any) -> list[Any]:
    """Copies of the graph's nodes, Constant tensors reduced to dims and type: what counting reads, without the
    weights (a node taken from `proto` itself would keep all of it alive)."""
    from onnx import GraphProto, TensorProto

    graph = GraphProto()
    graph.node.extend(proto.graph.node)
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                attr.t.CopyFrom(TensorProto(name=attr.t.name, dims=attr.t.dims, data_type=attr.t.data_type))
    return list(graph.node)


class FlopCounter:
    """One graph's counted nodes and the onnxruntime session that reports the shapes of their inputs.

    It keeps the graph's nodes but not its weights: `load` returns the full graph when the probe session is
    (re)built; without it the proto given is kept for that (graphs built in memory). `release` drops the session.
    """

    def __init__(self, proto: Any, load: Callable[[], Any] | None = None) -> None:
        from onnx import numpy_helper

        tensors = _constant_tensors(proto)
        self.constants = {n: tuple(int(d) for d in t.dims) for n, t in tensors.items()}
        values: dict[str, Any] = {
            n: numpy_helper.to_array(t) for n, t in tensors.items() if math.prod(t.dims) <= SMALL_VALUES
        }
        self.graph = _Graph(_skeleton(proto))
        self.graph_inputs = {i.name for i in proto.graph.input}
        self.prefix = next((p.value for p in proto.metadata_props if p.key == MODULE_PREFIX_KEY), "")
        vectors = {n for n, d in self.constants.items() if len(d) == 1}
        self.patterns = list(_layer_norm_patterns(self.graph, values, vectors))
        self.counted: list[tuple[Any, str, tuple[str, ...]]] = []  # (node, kind, inputs whose shapes it needs)
        for node in self.graph.nodes:
            if node.op_type in INT8_MATMULS:
                a, b = INT8_MATMULS[node.op_type]
                self.counted.append((node, "int8", (node.input[a], node.input[b])))
            elif node.op_type == "MatMul":
                kind = "int8" if self._dynamic_quantized(node.input[0]) else "matmul"
                self.counted.append((node, kind, (node.input[0], node.input[1])))
            elif node.op_type == "Gemm":
                self.counted.append((node, "gemm", (node.input[0], node.input[1])))
            elif node.op_type == "LayerNormalization":
                self.counted.append((node, "layer_norm", (node.input[0],)))
        self._fresh = load is not None  # each load returns a new proto, which the probe may change in place
        self._load: Callable[[], Any] = load if load is not None else (lambda: proto)
        self._session: Any = None

    def release(self) -> None:
        """Drop the probe session (its copy of the weights); the next count builds it again."""
        self._session = None

    def _dynamic_quantized(self, name: str) -> bool:
        """A MatMul input dequantized from DynamicQuantizeLinear (int8 activations)."""
        deq = self.graph.made_by(name, "DequantizeLinear")
        return deq is not None and self.graph.made_by(deq.input[0], "DynamicQuantizeLinear") is not None

    def _needed(self) -> list[str]:
        """The values whose shapes counting needs that are neither constants nor graph inputs: probe outputs."""
        names = {x for _, _, inputs in self.counted for x in inputs} | {p.x for p in self.patterns}
        return sorted(n for n in names if n not in self.constants and n not in self.graph_inputs)

    def shapes(self, feeds: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
        """The shape of every input of a counted node, from one run of the graph on `feeds`."""
        needed = self._needed()
        if self._session is None and needed:
            import onnx
            import onnxruntime as ort

            probe = self._load()
            if not self._fresh:
                probe, given = onnx.ModelProto(), probe
                probe.CopyFrom(given)
            known = {o.name for o in probe.graph.output}
            probe.graph.output.extend(onnx.ValueInfoProto(name=n) for n in needed if n not in known)
            so = ort.SessionOptions()
            so.log_severity_level = ERRORS_ONLY
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # shapes of the graph as saved
            self._session = ort.InferenceSession(probe.SerializeToString(), sess_options=so, providers=[CPU_PROVIDER])
            del probe
        out = dict(self.constants)
        out.update({name: tuple(v.shape) for name, v in feeds.items()})
        if needed:
            out.update({n: tuple(v.shape) for n, v in zip(needed, self._session.run(needed, feeds))})
        return out


def _matmul_macs(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """MACs of numpy-style matmul of shapes `a` and `b`, batch dimensions broadcast.

    >>> _matmul_macs((2, 1, 3, 4), (5, 4, 6))
    720
    """
    m, k = (1, a[0]) if len(a) == 1 else a[-2:]
    n = 1 if len(b) == 1 else b[-1]
    batch = np.broadcast_shapes(a[:-2], b[:-2] if len(b) > 1 else ())
    return math.prod(batch) * m * k * n


def _gemm_macs(node: Any, a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """MACs of Gemm (transA, transB honoured; the bias add is not counted)."""
    attrs = {x.name: x.i for x in node.attribute}
    m, k = a[::-1] if attrs.get("transA") else a
    n = b[0] if attrs.get("transB") else b[1]
    return m * k * n


def count_flops(counter: FlopCounter, feeds: dict[str, np.ndarray]) -> dict[str, Any]:
    """FLOPs of one run of the graph on `feeds` (one example): the fields torch_count.count_module_flops returns."""
    shapes = counter.shapes(feeds)
    by_op: Counter[str] = Counter()
    by_module: Counter[str] = Counter()
    int8_macs = 0
    done: set[int] = set()
    for node, kind, inputs in counter.counted:
        done.add(id(node))
        if kind == "layer_norm":
            flops, key = LAYER_NORM_FLOPS * math.prod(shapes[inputs[0]]), node.op_type
        elif kind == "gemm":
            flops, key = 2 * _gemm_macs(node, shapes[inputs[0]], shapes[inputs[1]]), node.op_type
        else:
            macs = _matmul_macs(shapes[inputs[0]], shapes[inputs[1]])
            flops, key = 2 * macs, node.op_type
            if kind == "int8":
                int8_macs += macs
                key = f"{node.op_type} int8 (2 x int8_macs)"
        by_op[key] += flops
        if module := _module(node.name, counter.prefix):
            by_module[module] += flops
    for ln in counter.patterns:
        shape = shapes[ln.x]
        if ln.axis not in (-1, len(shape) - 1):  # a normalisation over another axis is no LayerNorm
            continue
        affine = ln.scale is not None and shapes.get(ln.scale) == shape[-1:]
        per = LAYER_NORM_FLOPS if affine else LAYER_NORM_FLOPS_NO_SCALE
        nodes = ln.nodes + (ln.affine if affine else [])
        done.update(id(n) for n in nodes)
        flops = per * math.prod(shape)
        by_op[DECOMPOSED_LN] += flops
        if module := next((m for n in nodes if (m := _module(n.name, counter.prefix))), ""):
            by_module[module] += flops
    uncounted = Counter(n.op_type for n in counter.graph.nodes if id(n) not in done)
    total = sum(by_op.values())
    if total == 0:
        return {
            "status": "not_counted",
            "reason": f"no countable operator in the graph (operators: {', '.join(sorted(uncounted)) or 'none'})",
            "uncounted_ops": dict(uncounted),
            "counter": COUNTER,
        }
    return {
        "flops": total,
        "int8_macs": int8_macs,
        "by_module": dict(by_module),
        "by_op": dict(by_op),
        "uncounted_ops": dict(sorted(uncounted.items())),
        "counter": COUNTER,
        "convention": CONVENTION,
    }
