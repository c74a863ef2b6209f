"""Prediction-only submissions: predictions.yaml schema errors name the key; points are scored into one record."""

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.evaluation.selfreported import load_self_report, write_self_reported
from harness.records import read_record

GOOD = (
    "name: exits\nteam: t\ncontact: a@b.org\nmethods: [other]\ndeclared: {parameters: 66955010}\n"
    "tasks:\n  sst2:\n    - {predictions: p1.tsv, flops: 1.0e9, label: exit 1}\n    - {predictions: p2.tsv, flops: '3e9'}\n"
)


def _folder(tmp_path: Path, yaml_text: str) -> Path:
    folder = tmp_path / "exits"
    folder.mkdir(exist_ok=True)
    (folder / "predictions.yaml").write_text(yaml_text, encoding="utf-8")
    (folder / "p1.tsv").write_text("index\tprediction\n0\t1\n1\t0\n2\t1\n", encoding="utf-8")
    (folder / "p2.tsv").write_text("index\tprediction\n0\t0\n1\t0\n2\t1\n", encoding="utf-8")
    return folder


def test_points_are_scored_into_a_self_reported_record(tmp_path, mirror):
    report = load_self_report(_folder(tmp_path, GOOD))
    assert [p.flops for p in report.tasks["sst2"]] == [1.0e9, 3.0e9] and report.tasks["sst2"][1].label == "point 2"
    record = write_self_reported(report, "sst2", "elue-40m", data_dir=mirror, results_dir=tmp_path / "r", limit=3)
    stored = read_record(Path(record.path))
    assert stored.kind == "self-reported" and stored.status == "ok" and stored.num_examples == 3
    assert [p["label"] for p in stored.operating_points] == ["exit 1", "point 2"]
    assert stored.declared == {"parameters": 66955010, "flops": 1.0e9}
    assert stored.metrics == stored.operating_points[0]["metrics"]
    assert stored.submission.meta["name"] == "exits"
    assert stored.task.source == "mirror:glue/SST-2/dev.tsv"


def test_the_data_dir_from_the_environment_is_named_as_the_source(tmp_path, mirror, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(mirror))
    report = load_self_report(_folder(tmp_path, GOOD))
    record = write_self_reported(report, "sst2", "t", results_dir=tmp_path / "r", limit=3)
    assert record.task.source == "mirror:glue/SST-2/dev.tsv"


def test_a_file_missing_predictions_gives_a_failed_record(tmp_path, mirror):
    report = load_self_report(_folder(tmp_path, GOOD))
    record = write_self_reported(report, "sst2", "t", data_dir=mirror, results_dir=tmp_path / "r", limit=5)
    assert record.status == "failed" and "have no prediction" in record.error


def test_with_a_limit_prediction_ids_are_still_checked_against_the_whole_split(tmp_path, mirror):
    folder = _folder(tmp_path, GOOD)
    (folder / "p1.tsv").write_text("index\tprediction\n0\t1\n1\t0\n2\t1\n99999\t1\n", encoding="utf-8")
    report = load_self_report(folder)
    record = write_self_reported(report, "sst2", "t", data_dir=mirror, results_dir=tmp_path / "r", limit=3)
    assert record.status == "failed" and "1 predictions name examples outside the sst2 split" in record.error
    assert "99999" in record.error


@pytest.mark.parametrize(
    "change,expected",
    [
        (("flops: 1.0e9", "flops: lots"), 'tasks.sst2[0].flops: expected a number > 0, got "lots"'),
        (("p1.tsv", "nope.tsv"), "tasks.sst2[0].predictions: no file 'nope.tsv' inside the submission folder"),
        (("parameters: 66955010", "parametres: 1"), "declared: unknown key 'parametres' (did you mean 'parameters'?)"),
        (("sst2:", "sst-2:"), "tasks: unknown key 'sst-2' (did you mean 'sst2'?)"),
        (("methods: [other]", "methods: [magic]"), "methods[0]: expected one of"),
        (("contact: a@b.org", "contact: nobody"), "contact: not an email address"),
        (("contact: a@b.org", "contact: a@b.org\ncontact: c@d.org"), "duplicate key 'contact'; keep one copy"),
    ],
)
def test_schema_errors_name_the_key(tmp_path, change, expected):
    with pytest.raises(ConfigError) as info:
        load_self_report(_folder(tmp_path, GOOD.replace(*change)))
    assert expected in str(info.value) and "predictions.yaml" in str(info.value)
