"""A backend is one file and one registry line, a measurement too (issue 12): a numpy-only toy backend
(tests/toy_backend.py) gets complete records from `harness evaluate` and `harness run`, every measurement going
through the backend protocol; a toy measurement (tests/toy_measurement.py) shows in records, on the board and on
the submission page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toy_backend

from harness.backends import BACKENDS
from harness.cli import main
from harness.measure.spec import MEASUREMENTS, Measurement, add_measurement
from harness.records import read_records
from harness.testing import tiny
from harness.tracks.columns import EFFICIENCY, Column

LIMIT = 8
TRACK = """\
name: Toy numpy track
description: a numpy backend measured end to end
source: tests/backends/test_toy_backend.py
hardware: cpu
tasks:
  - {{task: sst2, split: validation}}
score: {{rule: mean}}
measurement:
  measure: [{measure}]
  latency_budget_s: 0.5
columns: [{columns}]
ranking: {{by: score}}
"""
EVERY = "params, size, system_size, flops, latency, memory, energy"
EVERY_COLUMN = "params, size_bytes, system_bytes, flops, latency_ms, throughput, memory_bytes, energy_kwh"


@pytest.fixture
def toy():
    """The toy backend, registered for the test only."""
    BACKENDS.add("toy", "toy_backend:load")
    yield
    BACKENDS.remove("toy")


OUTPUTS = Measurement("outputs", "toy_measurement:take", "model", "forward", "Output values", "values")
OUTPUTS_COLUMN = Column(
    "outputs",
    "Output values",
    "values",
    False,
    "output values per example of one forward pass",
    measurement="outputs",
    field="values_per_example",
    combine="max",
    integer=True,
)


@pytest.fixture
def outputs(monkeypatch):
    """The toy measurement (one registry line) and its board column (one line), for the test only."""
    add_measurement(OUTPUTS)
    monkeypatch.setitem(EFFICIENCY, "outputs", OUTPUTS_COLUMN)
    yield
    MEASUREMENTS.remove("outputs")


def submission(root: Path, mirror: Path) -> Path:
    """A submission folder whose sst2 model is a toy folder run by the toy backend."""
    toy_backend.save_toy(root / "model", mirror / tiny.VOCAB_FILE)
    (root / "submission.yaml").write_text(
        "name: toy numpy model\nteam: tests\ncontact: tests@example.org\nmethods: [other]\nbackend: toy\n"
        "tasks:\n  sst2: {model: model}\n",
        encoding="utf-8",
    )
    return root


def evaluated(tmp_path: Path, mirror: Path, measure: str, capsys) -> dict:
    """The record `harness evaluate --measure MEASURE` writes for the toy submission on sst2."""
    sub = submission(tmp_path / "subs" / "toy-sub", mirror)
    results = tmp_path / "results"
    code = main(
        [
            "evaluate",
            str(sub),
            "--task",
            "sst2",
            "--limit",
            str(LIMIT),
            "--measure",
            measure,
            "--data-dir",
            str(mirror),
            "--results",
            str(results),
            "--no-progress",
        ]
    )
    assert code == 0, capsys.readouterr()
    (record,) = read_records(results / "records")
    return record


def assert_complete(m: dict, folder: Path) -> None:
    """Every measurement of a toy model's record, each taken through the backend (none failed)."""
    arrays = toy_backend.WIDTH * (30522 + 2) + 2  # embedding, weight, bias
    assert m["params"]["total_params"] == arrays and m["params"]["embedding_params"] == 30522 * toy_backend.WIDTH
    assert "numpy arrays" in m["params"]["method"]
    assert m["size"]["total_bytes"] == sum(p.stat().st_size for p in folder.iterdir())
    assert m["size"]["weights_files"] == ["weights.npz"]
    flops = m["flops"]
    assert flops["status"] == "not_counted" and flops["reason"] == toy_backend.NOT_COUNTED
    assert "flops" not in flops and "flops_per_example" not in flops  # no number, never 0
    lat = m["latency"]
    assert 0 < lat["p50_ms"] <= lat["p99_ms"] and lat["throughput_examples_per_s"] > 0
    assert lat["clock"].startswith("cpu") and lat["machine_speed"]["median_ms"] > 0
    mem = m["memory"]
    assert mem["peak_rss_bytes"] >= mem["rss_before_bytes"] > 0 and mem["gpu_peak_allocated_bytes"] is None
    assert "VmHWM" in mem["method"] or "sampled" in mem["method"]
    assert m["energy"]["label"] in ("measured", "estimated") and m["energy"]["examples"] == LIMIT
    assert not [name for name, entry in m.items() if "status" in entry and name != "flops"]


def test_evaluate_measures_a_numpy_backend_through_its_protocol(tmp_path, mirror, toy, monkeypatch, capsys):
    monkeypatch.setattr(toy_backend, "HARDWARE", "numpy-cpu")  # the hardware class is the backend's
    monkeypatch.setattr(toy_backend.ToyModel, "hardware", "numpy-cpu")
    record = evaluated(tmp_path, mirror, "params,size,flops,latency,memory", capsys)
    assert record.status == "ok" and record.model["backend"] == "toy"
    assert record.hardware == record.key["hardware"] == "numpy-cpu"
    assert set(record.metrics) == {"accuracy"} and record.num_examples == LIMIT
    assert set(record.measurements) == {"params", "size", "flops", "latency", "memory", "energy"}
    assert_complete(record.measurements, tmp_path / "subs" / "toy-sub" / "model")


def run_track(tmp_path: Path, mirror: Path, measure: str, columns: str, capsys) -> tuple[Path, Path, list[dict]]:
    """`harness run` of a one-task track (a file in a tracks folder of its own) on the toy submission."""
    submission(tmp_path / "subs" / "toy-sub", mirror)
    tracks = tmp_path / "tracks"
    tracks.mkdir()
    (tracks / "toy.yaml").write_text(TRACK.format(measure=measure, columns=columns), encoding="utf-8")
    results = tmp_path / "results"
    argv = ["--tracks", str(tracks), "--submissions", str(tmp_path / "subs"), "--results", str(results)]
    code = main(
        ["run", "toy", "--executor", "inline", *argv, "--data-dir", str(mirror), "--limit", str(LIMIT), "--no-progress"]
    )
    assert code == 0, capsys.readouterr()
    capsys.readouterr()
    return tracks, results, read_records(results / "records")


def test_harness_run_measures_a_numpy_backend_through_its_protocol(tmp_path, mirror, toy, capsys):
    tracks, results, (record,) = run_track(tmp_path, mirror, EVERY, EVERY_COLUMN, capsys)
    assert record.status == "ok" and record.hardware == "cpu" and record.track_run["track"] == "toy"
    m = record.measurements
    assert set(m) == {"params", "size", "system_size", "flops", "latency", "memory", "energy"}
    assert_complete(m, tmp_path / "subs" / "toy-sub" / "model")
    yaml_bytes = (tmp_path / "subs" / "toy-sub" / "submission.yaml").stat().st_size
    assert m["system_size"]["total_bytes"] == m["size"]["total_bytes"] + yaml_bytes  # the model folder and the yaml
    assert main(["rank", "toy", "--tracks", str(tracks), "--results", str(results), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert row["values"]["params"]["value"] == m["params"]["total_params"]
    assert row["values"]["flops"]["value"] is None
    assert toy_backend.NOT_COUNTED in row["values"]["flops"]["detail"]  # the board says why there is no number


def test_a_new_measurement_is_one_file_and_one_registry_line(tmp_path, mirror, toy, outputs, capsys):
    record = evaluated(tmp_path / "evaluate", mirror, "params,outputs", capsys)
    assert record.measurements["outputs"] == {
        "values_per_example": 2,
        "reference_length": 128,
        "method": "values of every output of one forward pass of a batch of 1 synthetic sequence at the "
        "reference length",
    }
    tracks, results, (record,) = run_track(tmp_path, mirror, "params, outputs", "params, outputs", capsys)
    assert record.measurements["outputs"]["values_per_example"] == 2
    assert main(["rank", "toy", "--tracks", str(tracks), "--results", str(results)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if line.startswith("rank "))
    row = next(line for line in lines if " toy-sub " in line)
    start = header.index("Output values")  # cells are right-aligned under their header
    assert row[start : start + len("Output values")].strip() == "2"
    site = tmp_path / "site"
    assert main(["leaderboard", "--tracks", str(tracks), "--results", str(results), "--out", str(site)]) == 0
    (page,) = [p.read_text(encoding="utf-8") for p in (site / "submissions").glob("*.html")]
    assert '<section class="measure" id="m-outputs"><h3>Output values</h3>' in page
    assert page.index('id="m-params"') < page.index('id="m-outputs"')  # in the table's order
    again = ["--tracks", str(tracks), "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "r2")]
    code = main(
        [
            "run",
            "toy",
            "--executor",
            "inline",
            *again,
            "--skip-measure",
            "outputs",
            "--data-dir",
            str(mirror),
            "--limit",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    (skipped,) = read_records(tmp_path / "r2" / "records")
    assert "outputs" not in skipped.measurements and skipped.track_run["skipped"] == ["outputs"]


def test_a_backend_module_without_its_hardware_class_is_named_with_the_fix(monkeypatch):
    """Its records' key holds the class, so nothing can run for it: a clear refusal, not an AttributeError."""
    from harness.backends import backend_hardware
    from harness.errors import UserError

    monkeypatch.setattr(BACKENDS, "_entries", dict(BACKENDS._entries))
    BACKENDS.add("nohw", "json:loads")  # a module with no HARDWARE
    with pytest.raises(UserError, match="backend 'nohw' \\(json\\) names no hardware class") as err:
        backend_hardware("nohw")
    assert 'HARDWARE = "cpu"' in str(err.value.fix)
