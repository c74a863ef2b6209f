"""End to end: a submission folder -> evaluate -> record + predictions file -> score gives the same metrics."""

import json
import subprocess
import sys

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.records import SCHEMA_VERSION, read_record, read_records, write_record

YAML = """\
name: tiny test model
team: tests
contact: tests@example.org
methods: [other]
tasks:
  rte: {{model: model}}
  wnli: {{model: {wnli_model}}}
"""


@pytest.fixture
def submission(tmp_path, tiny_bert):
    folder = tmp_path / "subs" / "tiny-sub"
    folder.mkdir(parents=True)
    tiny_bert().rename(folder / "model")
    tiny_bert(num_labels=3).rename(folder / "bad")  # 3 outputs: cannot predict WNLI's 2 labels
    (folder / "submission.yaml").write_text(YAML.format(wnli_model="model"))
    return folder


def test_evaluate_writes_record_and_predictions_that_score_the_same(submission, mirror, tmp_path, capsys):
    results = tmp_path / "results"
    code = main(
        [
            "evaluate",
            str(submission),
            "--task",
            "rte",
            "--limit",
            "24",
            "--batch-size",
            "5",
            "--data-dir",
            str(mirror),
            "--results",
            str(results),
            "--no-progress",
        ]
    )
    assert code == 0
    (path,) = (results / "records" / "tiny-sub").glob("*.record.json")
    record = read_record(path)
    assert record.status == "ok" and record.num_examples == 24
    assert record.to_dict()["task"] == {
        "name": "rte",
        "benchmark": "glue",
        "version": 1,
        "kind": "classification",
        "split": "validation",
        "source": "mirror:glue/RTE/dev.tsv",
        "split_examples": 277,
    }
    assert record.settings["limit"] == 24 and record.settings["batch_size"] == 5
    assert set(record.metrics) == {"accuracy"} and 0 <= record.score <= 1
    assert record.submission.sha256 and "model/model.safetensors" in record.submission.files
    assert record.submission.meta["methods"] == ["other"] and record.submission.meta["team"] == "tests"
    assert record.environment["python"] and record.duration_s > 0
    m = record.measurements
    assert m["energy"]["label"] == "estimated" and m["energy"]["examples"] == 24 and m["energy"]["method"]
    assert m["params"]["total_params"] > 0 and m["size"]["total_bytes"] > 0
    flops = m["flops"]
    assert flops["counted"] and flops["sequences"] == 24 and flops["examples"] == 24
    assert 0 < flops["flops_per_example"] < flops["flops"]  # RTE pairs are shorter than the 128 reference
    predictions = path.with_name(record.predictions_file)
    assert predictions.read_text().startswith("index\tprediction\n")
    # the whole split is needed to score a file: check the 24 rows through the task directly
    from harness.formats import read_predictions
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    task = get_task("rte")
    rows = load_rows(task, mirror, limit=24)
    assert task.compute_metrics(rows, read_predictions(task, predictions)) == record.metrics
    assert "accuracy" in capsys.readouterr().out


def test_full_split_predictions_score_identically_through_the_cli(submission, mirror, tmp_path, capsys):
    results = tmp_path / "results"
    assert (
        main(
            [
                "evaluate",
                str(submission),
                "--task",
                "wnli",
                "--data-dir",
                str(mirror),
                "--results",
                str(results),
                "--no-progress",
            ]
        )
        == 0
    )
    (path,) = (results / "records" / "tiny-sub").glob("wnli*.record.json")
    record = read_record(path)
    capsys.readouterr()
    assert (
        main(
            [
                "score",
                "--task",
                "wnli",
                str(path.with_name(record.predictions_file)),
                "--data-dir",
                str(mirror),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out) == record.metrics


def test_a_failing_task_writes_a_failed_record_naming_submission_task_and_cause(submission, mirror, tmp_path, capsys):
    (submission / "submission.yaml").write_text(YAML.format(wnli_model="bad"))
    results = tmp_path / "results"
    code = main(["evaluate", str(submission), "--data-dir", str(mirror), "--results", str(results), "--no-progress"])
    assert code == 1
    records = {r.task.name: r for r in read_records(results)}
    assert records["rte"].status == "ok"  # the good task is kept
    failed = records["wnli"]
    assert failed.status == "failed"
    assert "tiny-sub" in failed.error and "wnli" in failed.error and "3 outputs" in failed.error
    assert "FAILED wnli" in capsys.readouterr().out


def test_missing_data_fails_at_once_naming_the_file(submission, tmp_path, capsys):
    code = main(
        [
            "evaluate",
            str(submission),
            "--task",
            "rte",
            "--data-dir",
            str(tmp_path),
            "--results",
            str(tmp_path / "r"),
            "--no-progress",
        ]
    )
    assert code == 1
    assert "glue/RTE/dev.tsv" in capsys.readouterr().out


def test_cosine_pairs_count_two_sequences_per_example(tmp_path, tiny_bert, mirror):
    from harness.evaluation.evaluate import ModelRef, evaluate
    from harness.inference.formulations import EvalSettings

    record = evaluate(
        ModelRef("cos", tiny_bert("cosine"), head="cosine"),
        "stsb",
        EvalSettings(),
        data_dir=mirror,
        results_dir=tmp_path,
        limit=10,
        measure=("flops",),
        energy={"off": True},
    )
    flops = record.measurements["flops"]
    assert flops["sequences"] == 20 and flops["examples"] == 10
    assert flops["flops_per_example"] == 2 * flops["mean_flops"]
    assert "energy" not in record.measurements


def test_unknown_measurement_is_refused(submission, capsys):
    assert main(["evaluate", str(submission), "--task", "rte", "--measure", "params,flop"]) == 2
    assert "unknown measurement flop" in capsys.readouterr().err


def test_undeclared_task_is_refused(submission, capsys):
    assert main(["evaluate", str(submission), "--task", "sst2"]) == 2
    assert "not declared" in capsys.readouterr().err


def _record(**over):
    base = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": "0",
        "submission": {"id": "x"},
        "task": {"name": "rte"},
        "status": "ok",
        "metrics": {"accuracy": 0.5},
        "score": 0.5,
        "started_at": "2026-01-01T00:00:00+00:00",
        "key": {"submission": "x", "task": "rte"},
    }
    return {**base, **over}


@pytest.mark.parametrize(
    "record,message",
    [
        (_record(schema_version=SCHEMA_VERSION + 1), "upgrade the harness"),
        (_record(schema_version=0), "no migration"),
        (_record(metrics={"accuracy": "high"}), "metrics.accuracy"),
        (_record(status="failed"), "must say why"),
        ({k: v for k, v in _record().items() if k != "task"}, "'task'"),
        # each of these would have moved a ranking without a word
        (_record(score=True), "score is True, but task rte's score of its metrics is 0.5; re-run"),
        (_record(score=0.95), "score is 0.95, but"),
        (
            _record(metrics={"accuracy": 95.0}, score=95.0),
            r"metrics.accuracy is 95.0, outside \[-1, 1\].*divide a percentage",
        ),
        (_record(metrics={"acuracy": 0.5}), "metrics.acuracy: not a metric of task rte; did you mean 'accuracy'"),
        (_record(metrics={}), "has no 'accuracy', which the score of task rte averages"),
        (_record(started_at="yesterday"), "started_at is 'yesterday', expected an ISO 8601 time in UTC"),
        (_record(started_at="2026-01-01T00:00:00"), "started_at"),
        (
            _record(started_at="2026-01-01T02:00:00+02:00"),
            "expected an ISO 8601 time in UTC",
        ),  # would sort after 01:00Z
        (_record(started_at="2026-13-01T00:00:00+00:00"), "started_at"),
        (_record(task={"name": "RTE"}), "unknown task 'RTE'"),
        (_record(hardwre="gpu"), "unknown field 'hardwre'; did you mean 'hardware'"),
        (_record(schema_version=True), "schema_version"),
        (
            _record(operating_points=[{"flops": "5e6", "metrics": {"accuracy": 0.5}, "score": 0.5}]),
            r"operating_points\[0\].flops is '5e6', expected a number > 0",
        ),
        (
            _record(operating_points=[{"flops": 5e6, "metrics": {"accuracy": 0.5}, "score": True}]),
            r"operating_points\[0\].score is True",
        ),
    ],
)
def test_bad_records_are_refused_with_the_file_named(tmp_path, record, message):
    path = tmp_path / "x.record.json"
    path.write_text(json.dumps(record))
    with pytest.raises(UserError, match=message) as e:
        read_record(path)
    assert str(path) in str(e.value)


def test_a_nan_in_a_record_file_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "x.record.json"
    path.write_text(json.dumps(_record(metrics={"accuracy": float("nan")})))  # json writes a bare NaN
    with pytest.raises(UserError, match="not a readable JSON record") as e:
        read_record(path)
    assert str(path) in str(e.value)


def test_writing_a_non_finite_number_is_refused_naming_the_field(tmp_path):
    record = _record(measurements={"latency": {"p50_ms": float("inf")}})
    path = tmp_path / "x.record.json"
    with pytest.raises(UserError, match=r"record\.measurements\.latency\.p50_ms is not a finite number"):
        write_record(record, path)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_records_are_read_in_path_order_component_by_component(tmp_path):
    for sub in ("a-b", "a", "a.b"):
        write_record(_record(submission={"id": sub}), tmp_path / sub / "rte.cpu.record.json")
    assert [r.submission.id for r in read_records(tmp_path)] == ["a", "a-b", "a.b"]


def test_a_record_file_with_a_differently_cased_suffix_is_refused_not_skipped(tmp_path):
    write_record(_record(), tmp_path / "a" / "rte.cpu.record.json")
    write_record(_record(), tmp_path / "b" / "rte.cpu.record.JSON")
    (tmp_path / "a" / "rte.cpu.tsv").write_text("predictions are not records\n")  # other files stay ignored
    with pytest.raises(UserError, match=r"b/rte.cpu.record.JSON: a record file must end in '.record.json' exactly"):
        read_records(tmp_path)


def test_a_limit_that_is_not_positive_is_refused(mirror, capsys):
    from harness.cli import main
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    for bad in (-5, 0):
        with pytest.raises(UserError, match=f"limit {bad} is not a whole number > 0"):
            load_rows(get_task("rte"), mirror, limit=bad)  # rows[:-5] would have kept all but five
    assert len(load_rows(get_task("rte"), mirror, limit=3)) == 3
    for argv in (
        ["evaluate", "x", "--limit", "-5"],
        ["measure", "x", "--limit", "0"],
        ["run", "glue", "--limit", "-1"],
        ["evaluate", "x", "--batch-size", "0"],
        ["measure", "x", "--threads", "two"],
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and "expected a whole number > 0" in capsys.readouterr().err


def test_help_does_not_import_torch_or_transformers():
    code = (
        "import sys; from harness.cli import build_parser; build_parser().format_help(); "
        "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
