"""`harness measure` measures the model as `harness evaluate` runs it: same loading, same head, FLOPs for every
head, progress on stderr and one --skip-measure flag for every command (issue 11)."""

from __future__ import annotations

import json

import pytest
from conftest import VOCAB, save_tiny_bert, save_tiny_t5

from harness.cli import main
from harness.commands.measure import measure_target
from harness.errors import UserError
from harness.records import Record, read_record
from harness.testing import tiny

FAST = ["--time-budget", "0.5", "--reference-length", "16"]
TINY = tiny.TINY_BERT


def measure_json(capsys, *argv: str) -> tuple[dict, str]:
    """`harness measure ... --json` through the CLI: the parsed stdout and the stderr text."""
    code = main(["measure", *argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out), out.err


def evaluate_record(capsys, path, task: str, results, mirror, *extra: str) -> Record:
    """The record `harness evaluate PATH --task TASK` writes (a few rows)."""
    code = main(
        [
            "evaluate",
            str(path),
            "--task",
            task,
            "--limit",
            "4",
            "--data-dir",
            str(mirror),
            "--results",
            str(results),
            "--no-progress",
            *extra,
        ]
    )
    capsys.readouterr()
    assert code == 0
    (record,) = results.glob("records/**/*.record.json")
    return read_record(record)


def test_measure_counts_the_params_a_record_of_evaluate_holds(tmp_path, mirror, capsys):
    from transformers import AutoModel

    folder = save_tiny_bert(tmp_path / "classifier")
    measured, _ = measure_json(
        capsys, str(folder), "--task", "sst2", "--data-dir", str(mirror), "--limit", "4", "--skip-measure", "latency"
    )
    record = evaluate_record(capsys, folder, "sst2", tmp_path / "results", mirror)
    params = measured["params"]["total_params"]
    assert params == record.measurements["params"]["total_params"]
    assert measured["head"] == record.model["head"] == "sequence_classification"
    bare = sum(p.numel() for p in AutoModel.from_pretrained(folder).parameters())
    assert params - bare == TINY["hidden_size"] * 2 + 2  # the classifier: a [2, hidden] weight and 2 biases


def test_measure_takes_the_submissions_model_and_head_for_the_task(tmp_path, mirror, capsys):
    sub = tiny.write_tiny_submission(tmp_path / "sub", ["sst2", "copa"], VOCAB)
    for task, folder, head in (
        ("sst2", "sequence_classification-2", "sequence_classification"),
        ("copa", "multiple_choice-1", "multiple_choice"),
    ):
        measured, _ = measure_json(
            capsys,
            str(sub),
            "--task",
            task,
            "--data-dir",
            str(mirror),
            "--limit",
            "4",
            "--skip-measure",
            "latency,size",
        )
        assert measured["model_folder"] == str(sub / folder) and measured["head"] == head
        record = evaluate_record(capsys, sub, task, tmp_path / f"results-{task}", mirror)
        assert measured["params"] == record.measurements["params"]
        flops = record.measurements["flops"]
        assert measured["flops"]["flops_per_example"] == pytest.approx(flops["flops_per_example"])
    with pytest.raises(UserError, match="not declared"):
        measure_target(sub, "rte", None)


@pytest.mark.parametrize(
    "task,head,saved", [("stsb", "cosine", "cosine"), ("squad", "question_answering", "question_answering")]
)
def test_measure_counts_the_flops_per_example_a_record_holds_for_pairs_and_windows(
    tmp_path, mirror, capsys, task, head, saved
):
    """A cosine head runs each text of a pair alone and SQuAD runs windows: measure runs the task as evaluate does."""
    folder = save_tiny_bert(tmp_path / "model", head=saved)
    measured, _ = measure_json(
        capsys,
        str(folder),
        "--task",
        task,
        "--head",
        head,
        "--data-dir",
        str(mirror),
        "--limit",
        "4",
        "--skip-measure",
        "latency,size",
    )
    record = evaluate_record(capsys, folder, task, tmp_path / "results", mirror, "--head", head)
    flops = record.measurements["flops"]
    assert measured["flops"]["flops_per_example"] == pytest.approx(flops["flops_per_example"])
    assert measured["flops"]["sequences"] == flops["sequences"]


def test_measure_without_a_task_takes_the_head_the_folder_was_saved_with(tmp_path, capsys):
    folder = save_tiny_bert(tmp_path / "qa", head="question_answering")
    measured, _ = measure_json(capsys, str(folder), "--skip-measure", "latency", *FAST)
    assert measured["head"] == "question_answering"
    assert measured["flops"]["by_module"]["qa_outputs"] > 0
    measured, _ = measure_json(capsys, str(folder), "--head", "cosine", "--skip-measure", "latency", *FAST)
    assert measured["head"] == "cosine" and "qa_outputs" not in measured["flops"]["by_module"]
    config = json.loads((folder / "config.json").read_text())
    del config["architectures"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=r"config.json.*architectures.*--task"):
        measure_target(folder, None, None)


def _flops(folder, head: str, lengths: list[int], examples: int) -> dict:
    from harness.backends import load_model
    from harness.measure import measure_loaded

    model = load_model(folder, head)
    return measure_loaded(
        model,
        ["flops"],
        folder=folder,
        token_lengths=lengths,
        examples=examples,
        reference_length=16,
        options={"flops": {"cross_check": False}},
    )["flops"]


@pytest.mark.parametrize(
    "head", ["sequence_classification", "cosine", "multiple_choice", "question_answering", "retriever_reader"]
)
def test_flops_are_counted_for_every_encoder_head(tmp_path, head):
    from transformers import BertConfig

    from harness.measure.flops import bert_flops

    labels = 1 if head == "multiple_choice" else 2
    folder = save_tiny_bert(tmp_path / head, head=head, num_labels=labels)
    cfg = BertConfig(**TINY)
    h = cfg.hidden_size
    expected = {  # the encoder plus what each head's module runs after it
        "sequence_classification": lambda n: bert_flops(cfg, n, num_labels=2),
        "cosine": lambda n: bert_flops(cfg, n),
        "multiple_choice": lambda n: bert_flops(cfg, n, num_labels=1),
        "question_answering": lambda n: bert_flops(cfg, n, pooler=False) + 2 * n * h * 2,  # start, end per token
        "retriever_reader": lambda n: bert_flops(cfg, n, pooler=False) + 2 * n * h * 2,
    }[head]
    result = _flops(folder, head, [8, 8, 32, 32], examples=2)
    assert result["counted"], result
    assert result["flops"] == pytest.approx(expected(16), rel=0.005)
    assert result["flops_by_length"]["32"] == pytest.approx(expected(32), rel=0.005)
    assert result["flops_by_length"]["32"] > 2 * result["flops_by_length"]["8"]  # attention grows faster than n
    assert result["flops_per_example"] == pytest.approx(2 * result["mean_flops"])  # 4 sequences, 2 examples


def test_multiple_choice_flops_scale_with_the_number_of_options(tmp_path):
    folder = save_tiny_bert(tmp_path / "mc", head="multiple_choice", num_labels=1)
    two = _flops(folder, "multiple_choice", [12] * 2, examples=1)
    five = _flops(folder, "multiple_choice", [12] * 5, examples=1)
    assert two["counted"] and five["counted"]
    assert five["flops_per_example"] == pytest.approx(2.5 * two["flops_per_example"])


def test_copa_record_counts_flops_of_both_options(tmp_path, mirror, capsys):
    folder = save_tiny_bert(tmp_path / "mc", head="multiple_choice", num_labels=1)
    record = evaluate_record(capsys, folder, "copa", tmp_path / "results", mirror, "--measure", "flops")
    flops = record.measurements["flops"]
    assert flops["counted"], flops
    assert flops["examples"] == 4 and flops["sequences"] == 8  # COPA: two options per example
    assert flops["flops_per_example"] == pytest.approx(2 * flops["mean_flops"])


def test_seq2seq_flops_say_why_they_are_not_counted(tmp_path):
    folder = save_tiny_t5(tmp_path / "t5")
    result = _flops(folder, "seq2seq", [8], examples=1)
    assert result["status"] == "not_counted" and "generation" in result["reason"]
    assert "flops" not in result and "flops_per_example" not in result  # no number, never 0


def test_measure_reports_progress_on_stderr_and_skips_what_it_is_told(tmp_path, capsys):
    folder = save_tiny_bert(tmp_path / "m")
    measured, err = measure_json(capsys, str(folder), "--skip-measure", "latency, size", *FAST)
    assert "latency" not in measured and "size" not in measured
    assert measured["skipped"] == ["size", "latency"]  # in the order measure takes them
    assert {"params", "flops", "environment"} <= set(measured)
    for name in ("params", "flops", "environment"):
        assert f"measuring {name}" in err
    assert "measuring latency" not in err


@pytest.mark.parametrize("command", ["measure", "evaluate"])
def test_an_unknown_measurement_to_skip_is_refused_with_the_known_ones(tmp_path, capsys, command):
    folder = save_tiny_bert(tmp_path / "m")
    argv = [command, str(folder), "--skip-measure", "latency,speed"]
    argv += ["--task", "sst2"] if command == "evaluate" else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--skip-measure" in err and "speed" in err and "known: " in err and "flops" in err


def test_evaluate_skips_measurements_and_keeps_its_older_flags(tmp_path, mirror, capsys):
    folder = save_tiny_bert(tmp_path / "m")
    m = evaluate_record(capsys, folder, "sst2", tmp_path / "r1", mirror, "--skip-measure", "flops,energy").measurements
    assert set(m) == {"params", "size"}
    m = evaluate_record(
        capsys, folder, "sst2", tmp_path / "r2", mirror, "--measure", "params,flops", "--skip-measure", "flops"
    ).measurements
    assert set(m) == {"params", "energy"}
    m = evaluate_record(capsys, folder, "sst2", tmp_path / "r3", mirror, "--no-measure").measurements
    assert m == {}
