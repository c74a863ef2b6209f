"""The device and precision of a run (issue 14): `--device cpu|cuda|cuda:N` and `--dtype float32|float16|bfloat16`
for evaluate, measure and run; device strings, refusals, dtype casting and the record's key, on the CPU. The
checks that need a GPU carry the `gpu` marker (tests/conftest.py skips them where torch sees none)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import save_tiny_bert

from harness.backends import LoadOptions, load_model
from harness.backends.devices import device_hardware, parse_device, parse_dtype, require_device
from harness.cli import main
from harness.errors import UserError

NO_GPU = pytest.mark.skipif("__import__('torch').cuda.is_available()", reason="checks the refusal on a CPU machine")
LIMIT = "4"


def records_of(results: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((results / "records").rglob("*.record.json"))]


@pytest.mark.parametrize(
    ("text", "device"),
    [("cpu", "cpu"), ("cuda", "cuda:0"), ("cuda:0", "cuda:0"), ("cuda:3", "cuda:3"), ("cuda:01", "cuda:1")],
)
def test_device_strings_are_cpu_cuda_or_cuda_n(text, device):
    assert parse_device(text) == device  # one spelling, one record key
    assert device_hardware(text) == ("gpu" if text.startswith("cuda") else "cpu")


@pytest.mark.parametrize("text", ["cuda:x", "tpu", "cuda:-1", "cuda:", "", "gpu"])
def test_other_device_strings_are_refused_with_the_forms(text):
    with pytest.raises(UserError, match="--device") as err:
        parse_device(text)
    assert "cpu, cuda, cuda:N" in (err.value.fix or "")


def test_dtypes_are_the_three_floating_ones():
    assert [parse_dtype(t) for t in ("float32", "float16", "bfloat16")] == ["float32", "float16", "bfloat16"]
    with pytest.raises(UserError, match="--dtype 'fp16'") as err:
        parse_dtype("fp16")
    assert "float16" in (err.value.fix or "")


@NO_GPU
def test_a_cuda_request_without_a_gpu_is_refused_naming_the_flag_and_the_fix(tmp_path, mirror):
    with pytest.raises(UserError, match=r"--device cuda:1: .*no GPU") as err:
        require_device("cuda:1")
    assert "--device cpu" in (err.value.fix or "") and "machine with a GPU" in (err.value.fix or "")
    require_device("cpu")  # nothing to check
    model = save_tiny_bert(tmp_path / "m")
    for argv in (
        ["evaluate", str(model), "--task", "sst2", "--device", "cuda", "--results", str(tmp_path / "r")],
        ["measure", str(model), "--device", "cuda"],
        ["run", "glue", "--device", "cuda", "--submissions", str(tmp_path), "--results", str(tmp_path / "r")],
    ):
        assert main(argv) == 2, argv
    assert not (tmp_path / "r").exists()  # refused before anything ran: no failed records


def test_a_bad_device_flag_is_an_argument_error(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", ".", "--device", "tpu"])
    assert "--device" in capsys.readouterr().err


def test_load_options_have_one_device_for_every_backend():
    options = LoadOptions()
    assert (options.device, options.dtype) == ("cpu", "auto") and not hasattr(options, "onnx_device")


def test_a_bfloat16_evaluation_runs_on_the_cpu_and_its_record_says_so(tmp_path, mirror):
    model = save_tiny_bert(tmp_path / "m")
    results = tmp_path / "r"
    for dtype in ("float32", "bfloat16"):
        argv = ["evaluate", str(model), "--task", "sst2", "--limit", LIMIT, "--dtype", dtype, "--results", str(results)]
        assert main([*argv, "--data-dir", str(mirror), "--no-progress"]) == 0
    by_dtype = {r["settings"]["dtype"]: r for r in records_of(results)}
    assert set(by_dtype) == {"float32", "bfloat16"}
    half, full = by_dtype["bfloat16"], by_dtype["float32"]
    assert half["status"] == "ok" and half["settings"]["device"] == "cpu" and half["hardware"] == "cpu"
    assert half["key"] != full["key"] and half["key"]["settings"]["dtype"] == "bfloat16"
    assert set(half["measurements"]["params"]["params_by_dtype"]) == {"bfloat16"}
    assert set(full["measurements"]["params"]["params_by_dtype"]) == {"float32"}
    assert "processor" not in half["key"]  # accuracy-only: comparable across machines
    assert half["environment"]["processor"] == half["environment"]["cpu_model"]


def test_the_torch_backend_casts_floating_parameters_and_keeps_integer_buffers(tmp_path, mirror):
    import torch

    model = load_model(save_tiny_bert(tmp_path / "m"), "sequence_classification", LoadOptions(dtype="float16"))
    dtypes = {p.dtype for p in model.module.parameters()}
    assert dtypes == {torch.float16} and model.device == "cpu" and model.hardware == "cpu"
    assert all(not b.is_floating_point() for b in model.module.buffers())  # position ids stay integers
    out = model.forward(
        {"input_ids": torch.tensor([[101, 102]]).numpy(), "attention_mask": torch.ones(1, 2).long().numpy()}
    )
    assert out["logits"].dtype.name == "float32"


def test_without_a_dtype_a_model_runs_in_the_types_it_was_saved_in(tmp_path, mirror):
    """No --dtype is "auto", as every record before the flag: a float16 save stays float16; --dtype float32 casts."""
    import torch

    folder = tmp_path / "half"
    load_model(save_tiny_bert(tmp_path / "m"), "sequence_classification").module.half().save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"):
        if (tmp_path / "m" / name).is_file():
            (folder / name).write_bytes((tmp_path / "m" / name).read_bytes())
    as_saved = load_model(folder, "sequence_classification")
    assert {p.dtype for p in as_saved.module.parameters()} == {torch.float16}
    cast = load_model(folder, "sequence_classification", LoadOptions(dtype="float32"))
    assert {p.dtype for p in cast.module.parameters()} == {torch.float32}


def test_a_compressed_int8_model_asked_for_float16_is_refused(tmp_path, mirror):
    from harness.recipes.pipeline import compress
    from harness.submissions.compression import make_step

    base = tmp_path / "base"
    save_tiny_bert(base / "model", head="cosine")
    (base / "submission.yaml").write_text(
        "name: tiny\nteam: t\ncontact: t@example.org\nmethods: [other]\ntasks:\n  stsb: {model: model, head: cosine}\n"
    )
    compress(base, tmp_path / "int8", [make_step("quantize-dynamic-int8", {})])
    folder = tmp_path / "int8" / "model"
    with pytest.raises(UserError, match="--dtype float16") as err:
        load_model(folder, "cosine", LoadOptions(dtype="float16"))
    assert "compressed" in str(err.value) and "--dtype float32" in (err.value.fix or "")
    with pytest.raises(UserError, match="int8") as err:
        load_model(folder, "cosine", LoadOptions(device="cuda"))
    assert "--device cpu" in (err.value.fix or "")


def test_an_onnx_model_asked_for_float16_is_refused_and_cuda_n_is_its_device_id(tmp_path, mirror):
    from harness.backends.onnx_export import export_onnx
    from harness.backends.onnx_rt import CPU_PROVIDER, CUDA_PROVIDER, provider_options

    onnx_folder = export_onnx(save_tiny_bert(tmp_path / "m", head="cosine"), tmp_path / "onnx", "cosine")
    with pytest.raises(UserError, match="--dtype float16") as err:
        load_model(onnx_folder, "cosine", LoadOptions(dtype="float16"), backend="onnxruntime")
    assert "keeps its own types" in str(err.value)
    assert load_model(onnx_folder, "cosine", LoadOptions(), backend="onnxruntime").hardware == "cpu"  # as exported
    assert provider_options("cuda:2", [CUDA_PROVIDER, CPU_PROVIDER]) == [{"device_id": 2}, {}]
    assert provider_options("cpu", [CPU_PROVIDER]) == [{}]


def test_the_key_holds_the_processor_only_when_a_timed_number_depends_on_it():
    from harness.records import record_key

    base = {
        "submission": {"id": "s", "sha256": "x"},
        "task": {"name": "sst2", "split": "validation"},
        "settings": {"device": "cpu", "dtype": "auto", "limit": None},
        "environment": {"threads": 1, "cpu_model": "CPU A", "processor": "CPU A"},
    }
    plain = record_key(base)
    assert "processor" not in plain
    timed = {**base, "track_run": {"track": "t", "measurement": {"measure": ["params", "latency"]}, "skipped": []}}
    assert record_key(timed)["processor"] == "CPU A"
    other = {**timed, "environment": {**base["environment"], "cpu_model": "CPU B", "processor": "CPU B"}}
    assert record_key(other) != record_key(timed)
    skipped = {**timed, "track_run": {**timed["track_run"], "skipped": ["latency"]}}
    assert "processor" not in record_key(skipped)
    # the defaults are the settings every record made before the flags had: their keys are unchanged
    old = {**base, "settings": {"limit": None}}
    assert record_key(old) == plain
    assert record_key({**base, "settings": {"device": "cuda", "dtype": "auto", "limit": None}}) != plain
    assert record_key({**base, "settings": {"device": "cpu", "dtype": "float32", "limit": None}}) != plain


def test_the_gpu_track_is_refused_on_the_cpu_naming_the_track_the_hardware_and_the_fix(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main(["run", "sustainlp-gpu", "--submissions", str(tmp_path / "subs")]) == 2
    err = capsys.readouterr().err
    assert "sustainlp-gpu" in err and "gpu" in err and "--device cuda on a machine with a GPU" in err
    assert main(["run", "glue", "--device", "cuda:0", "--submissions", str(tmp_path / "subs")]) == 2
    assert "glue" in capsys.readouterr().err


def test_the_status_of_a_gpu_track_reads_its_gpu_jobs_on_a_machine_without_one(tmp_path, mirror):
    from harness.evaluation.track import track_status
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission
    from harness.tracks.definitions import get_track

    write_tiny_submission(tmp_path / "subs" / "tiny", ["cb"], mirror / VOCAB_FILE)
    [state] = track_status(get_track("sustainlp-gpu"), tmp_path / "subs", tmp_path / "results")
    assert (state.submission, state.task, state.state) == ("tiny", "cb", "pending")


def test_a_track_may_fix_the_dtype_and_a_run_with_another_is_refused(tmp_path, capsys):
    from board_records import HEAD

    from harness.tracks.definitions import get_track, load_track

    assert "dtype" not in get_track("glue").measurement.plain()  # unset: the keys of existing records hold
    text = (
        HEAD
        + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nmeasurement:\n  measure: [params]\nranking: {by: score}\n"
    )
    fixed = tmp_path / "glue-bf16.yaml"
    fixed.write_text(text.replace("measurement:\n", "measurement:\n  dtype: bfloat16\n", 1), encoding="utf-8")
    assert load_track(fixed).measurement.dtype == "bfloat16"
    (tmp_path / "subs").mkdir()
    assert main(["run", str(fixed), "--dtype", "float16", "--submissions", str(tmp_path / "subs")]) == 2
    err = capsys.readouterr().err
    assert "bfloat16" in err and "--dtype float16" in err
    bad = tmp_path / "glue-bad.yaml"
    bad.write_text(text.replace("measurement:\n", "measurement:\n  dtype: fp8\n", 1), encoding="utf-8")
    with pytest.raises(UserError, match="measurement.dtype"):
        load_track(bad)


def test_a_cuda_job_is_exclusive_and_its_spec_carries_device_and_dtype(tmp_path):
    from harness.evaluation.limits import Limits
    from harness.evaluation.workers import RunSettings, exclusive_job, spec_base
    from harness.tracks.definitions import get_track

    track = get_track("glue")
    run = RunSettings(track, tmp_path, None, None, False, (), False, Limits(), device="cuda:1", dtype="float16")
    base = spec_base(run)
    assert (base["device"], base["dtype"]) == ("cuda:1", "float16")
    assert exclusive_job(["params"], "cuda:1") and not exclusive_job(["params"], "cpu")
    assert exclusive_job(["latency"], "cpu")


def test_the_environment_names_the_processor_of_the_device():
    from harness.measure.environment import cpu_model, fingerprint

    assert fingerprint().processor == cpu_model()


# --- on a GPU (a lent machine: benchmarks/gpu_check.py runs these) ---


@pytest.mark.gpu
def test_a_float16_evaluation_runs_on_cuda_with_a_gpu_record(tmp_path, mirror):
    model = save_tiny_bert(tmp_path / "m")
    results = tmp_path / "r"
    argv = ["evaluate", str(model), "--task", "sst2", "--limit", LIMIT, "--device", "cuda", "--dtype", "float16"]
    assert main([*argv, "--results", str(results), "--data-dir", str(mirror), "--no-progress"]) == 0
    [record] = records_of(results)
    assert record["status"] == "ok" and record["hardware"] == "gpu" and record["settings"]["device"] == "cuda:0"
    assert set(record["measurements"]["params"]["params_by_dtype"]) == {"float16"}
    assert record["environment"]["processor"] in record["environment"]["gpu"]


@pytest.mark.gpu
def test_latency_on_cuda_uses_the_cuda_clock_and_memory_the_allocator_peak(tmp_path, mirror):
    from harness.backends.torch_run import CudaClock
    from harness.measure import measure_loaded

    model = load_model(save_tiny_bert(tmp_path / "m"), "sequence_classification", LoadOptions(device="cuda"))
    assert isinstance(model.clock, CudaClock) and model.hardware == "gpu"
    got = measure_loaded(model, ["latency", "memory"], options={"latency": {"budget_s": 1.0}})
    assert got["latency"]["clock"] == CudaClock.name
    assert got["memory"]["gpu_peak_allocated_bytes"] > 0


@pytest.mark.gpu
def test_a_cuda_index_past_the_gpus_is_refused():
    import torch

    count = torch.cuda.device_count()
    with pytest.raises(UserError, match=f"--device cuda:{count}") as err:
        require_device(f"cuda:{count}")
    assert f"cuda:{count - 1}" in str(err.value)


def test_the_status_of_a_gpu_track_finds_the_record_a_cuda_run_wrote(tmp_path, mirror):
    """`harness run --device cuda` records its jobs under cuda:0 (parse_device): status plans the same keys."""
    from harness.backends.devices import parse_device
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import _hardware, planned_record
    from harness.evaluation.jobs import job_settings, track_jobs
    from harness.evaluation.track import run_dtype, track_status
    from harness.records import new_record, store_record
    from harness.submissions import load_submission
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission
    from harness.tracks.definitions import get_track

    track = get_track("sustainlp-gpu")
    folder = write_tiny_submission(tmp_path / "subs" / "tiny", ["cb"], mirror / VOCAB_FILE)
    [job] = track_jobs(track, folder, ["cb"], False, load_submission(folder))
    device = parse_device("cuda")
    settings, track_run = job_settings(track, device=device, dtype=run_dtype(track, None), job=job)
    with fixed_threads(track.measurement.threads):
        planned = planned_record(job.ref, "cb", settings, None, track_run, _hardware(job.ref.backend, device))
    metrics = {"accuracy": 0.5, "f1": 0.4}
    store_record(new_record(**(planned | {"status": "ok", "metrics": metrics, "score": 0.45})), tmp_path / "results")
    [state] = track_status(track, tmp_path / "subs", tmp_path / "results")
    assert (state.submission, state.task, state.state) == ("tiny", "cb", "done")


def test_status_takes_the_runs_key_flags_and_finds_what_a_run_with_them_wrote(tmp_path, mirror, capsys):
    """A run's --dtype, --device and --skip-measure are part of its records' keys: status plans them alike."""
    from board_records import HEAD, write_track

    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission

    track = write_track(
        tmp_path / "tracks",
        "keys",
        HEAD + "tasks:\n  - {task: rte, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
        "measurement: {measure: [params, size]}\n",
    )
    write_tiny_submission(tmp_path / "subs" / "tiny", ["rte"], mirror / VOCAB_FILE)
    where = ["--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "r"), "--limit", LIMIT]
    flags = ["--dtype", "bfloat16", "--skip-measure", "size"]
    run = ["run", str(track), *where, "--data-dir", str(mirror), "--executor", "inline", "--no-progress"]
    assert main([*run, *flags]) == 0
    capsys.readouterr()
    assert main(["status", str(track), *where]) == 0
    assert "0 done, 0 failed, 1 pending" in capsys.readouterr().out  # another key: a plain run would run it
    assert main(["status", str(track), *where, *flags, "--device", "cpu"]) == 0
    assert "1 done, 0 failed, 0 pending" in capsys.readouterr().out


def test_an_onnx_graph_takes_a_dtype_naming_its_own_type(tmp_path, mirror):
    from harness.backends.onnx_export import export_onnx

    onnx_folder = export_onnx(save_tiny_bert(tmp_path / "m", head="cosine"), tmp_path / "onnx", "cosine")
    model = load_model(onnx_folder, "cosine", LoadOptions(dtype="float32"), backend="onnxruntime")
    assert model.hardware == "cpu"  # a float32 graph asked for float32: the run it would make anyway


def test_a_run_refuses_up_front_a_dtype_a_submissions_backend_cannot_run_it_in(tmp_path, mirror, capsys):
    """No worker starts and no failed record is written for a job whose model cannot run in the asked dtype."""
    from board_records import HEAD, write_track

    from harness.backends import check_placement
    from harness.backends.onnx_export import export_onnx

    onnx_folder = export_onnx(save_tiny_bert(tmp_path / "m", head="cosine"), tmp_path / "onnx", "cosine")
    with pytest.raises(UserError, match="--dtype float16"):
        check_placement("onnxruntime", onnx_folder, "cpu", "float16")
    check_placement("onnxruntime", onnx_folder, "cpu", "float32")
    subs = tmp_path / "subs"
    (subs / "onnx").mkdir(parents=True)
    import shutil

    shutil.copytree(onnx_folder, subs / "onnx" / "model")
    (subs / "onnx" / "submission.yaml").write_text(
        "name: tiny onnx\nteam: tests\ncontact: tests@example.org\nmethods: [other]\nbackend: onnxruntime\n"
        "tasks:\n  stsb: {model: model, head: cosine}\n",
        encoding="utf-8",
    )
    track = write_track(
        tmp_path / "tracks",
        "sts",
        HEAD + "tasks:\n  - {task: stsb, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
        "measurement: {measure: []}\n",
    )
    results = tmp_path / "results"
    args = ["run", str(track), "--submissions", str(subs), "--results", str(results), "--data-dir", str(mirror)]
    assert main([*args, "--limit", LIMIT, "--no-progress", "--dtype", "float16"]) == 1
    out = capsys.readouterr().out
    assert "SKIPPED onnx / stsb" in out and "--dtype float16" in out
    assert not (results / "records").exists() or records_of(results) == []


def test_an_onnx_graphs_type_is_its_weights_even_behind_float32_inputs_and_outputs():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from harness.backends.onnx_rt import graph_dtype

    def graph(weights: np.ndarray):
        out = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])  # float32 outward, as keep_io_types does
        node = helper.make_node("Identity", ["w"], ["y"])
        return helper.make_model(helper.make_graph([node], "g", [], [out], [numpy_helper.from_array(weights, "w")]))

    assert graph_dtype(graph(np.zeros(4, dtype=np.float16))) == "float16"
    assert graph_dtype(graph(np.zeros(4, dtype=np.float32))) == "float32"


def test_the_onnx_placement_check_reads_no_graph_when_no_dtype_is_asked_for(tmp_path, monkeypatch):
    """The organizer's process checks every job: a stranger's graph is parsed there only when a --dtype needs it."""
    import onnx

    from harness.backends import check_placement

    (tmp_path / "model.onnx").write_bytes(b"\x08\x07")
    calls: list = []
    monkeypatch.setattr(onnx, "load", lambda *args, **kwargs: calls.append(args) or onnx.ModelProto())
    check_placement("onnxruntime", tmp_path, "cpu", "auto")
    assert calls == []
    with pytest.raises(UserError, match="--dtype float16"):
        check_placement("onnxruntime", tmp_path, "cpu", "float16")  # an empty graph: no type of its own
    assert len(calls) == 1
