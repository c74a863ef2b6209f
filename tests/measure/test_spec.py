"""One Measurement spec per measurement (issue 12): the CLI flags, the track schema, the board's measurement names,
the submission page and the record checks all read the one table, and measure/ reaches the model only through the
backend protocol."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from harness.commands import evaluate as evaluate_command
from harness.commands import measure as measure_command
from harness.errors import UserError
from harness.measure import DEFAULT_MEASUREMENTS, RECORDED_MEASUREMENTS, load_measurement, parse_skip
from harness.measure.spec import MEASUREMENTS, NEEDS, SCOPES, Measurement, add_measurement, measurement

BUILT_IN = ("params", "size", "system_size", "flops", "latency", "memory", "energy", "environment")
MEASURE_DIR = Path(__file__).resolve().parents[2] / "harness" / "measure"


@pytest.fixture
def extra():
    """A measurement added with one line, gone after the test."""
    add_measurement(Measurement("extra", "harness.measure.size:take", "model", "folder", "Extra", "bytes"))
    yield
    MEASUREMENTS.remove("extra")


def test_the_table_holds_every_measurement_with_its_facts():
    assert tuple(MEASUREMENTS) == BUILT_IN
    for name in MEASUREMENTS:
        spec = measurement(name)
        assert spec.name == name and spec.scope in SCOPES and spec.needs in NEEDS and spec.title and spec.unit
        assert callable(load_measurement(name))
    assert measurement("system_size").scope == "submission" and measurement("flops").scope == "task"
    assert [measurement(n).title for n in ("params", "latency", "energy")] == [
        "Parameters",
        "Latency and throughput",
        "Energy",
    ]
    assert DEFAULT_MEASUREMENTS == ("params", "size", "flops")
    assert tuple(RECORDED_MEASUREMENTS) == BUILT_IN[:-1]  # the environment is its own record field
    with pytest.raises(UserError, match="unknown measurement 'speed'"):
        measurement("speed")


def test_a_bad_spec_is_refused():
    with pytest.raises(ValueError, match="scope"):
        add_measurement(Measurement("bad", "x:y", "galaxy", "folder", "Bad", "-"))
    with pytest.raises(ValueError, match="module:attr"):
        add_measurement(Measurement("bad", "not_a_path", "model", "folder", "Bad", "-"))
    with pytest.raises(ValueError, match="default"):  # DEFAULT_MEASUREMENTS is the built-in table's
        add_measurement(Measurement("bad", "x:y", "model", "folder", "Bad", "-", evaluate="default"))
    assert "bad" not in MEASUREMENTS


def test_every_reader_takes_a_measurement_added_to_the_table(extra):
    from harness.records import validate
    from harness.tracks.columns import MEASUREMENTS as TRACK_MEASUREMENTS
    from harness.tracks.schema import _measurement
    from harness.yamlcheck import Checker

    assert "extra" in RECORDED_MEASUREMENTS and "extra" in TRACK_MEASUREMENTS
    assert parse_skip("latency, extra") == ("latency", "extra")
    assert evaluate_command.parse_measurements("params,extra") == ("params", "extra")
    c = Checker("track.yaml")
    assert _measurement(c, {"measure": ["params", "extra"]})["measure"] == ("params", "extra") and not c.problems
    with pytest.raises(UserError, match="known: params, size, system_size, flops, latency, memory, energy, extra"):
        parse_skip("nope")
    add_measurement(Measurement("positive", "x:y", "model", "folder", "Positive", "-", positive=("value",)))
    try:
        record = _record({"positive": {"value": 0}})
        with pytest.raises(UserError, match=r"measurements\.positive\.value is 0"):
            validate(record, "r.json")
    finally:
        MEASUREMENTS.remove("positive")
    validate(record, "r.json")  # no longer a known positive field


def _record(measurements: dict) -> dict:
    from harness.records import SCHEMA_VERSION, record_key

    record = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": "0",
        "submission": {"id": "s"},
        "task": {"name": "rte"},
        "status": "failed",
        "error": "x",
        "metrics": {},
        "started_at": "2025-01-01T00:00:00+00:00",
        "measurements": measurements,
    }
    record["key"] = record_key(record)
    return record


def test_the_commands_flags_read_the_table():
    parser = argparse.ArgumentParser()
    subs = parser.add_subparsers()
    evaluate_command.add_parser(subs)
    measure_command.add_parser(subs)
    args = parser.parse_args(["evaluate", "x"])
    assert args.measure == ",".join(DEFAULT_MEASUREMENTS)
    assert measure_command.measured() == ("params", "size", "flops", "latency", "environment")
    with pytest.raises(UserError, match=r"known: params, size, flops, latency, memory \(energy and environment"):
        evaluate_command.parse_measurements("energy")


def test_the_submission_page_shows_measurements_in_table_order_with_their_titles(extra):
    from harness.publish.site.submission_pages import _measurements
    from harness.records import new_record

    record = new_record(
        schema_version=2,
        harness_version="test",
        started_at="2026-01-01T00:00:00+00:00",
        submission={"id": "s"},
        status="ok",
        task={"name": "rte"},
        measurements={"zeta": {"v": 1}, "extra": {"v": 2}, "energy": {"v": 3}, "params": {"v": 4}},
    )
    html = _measurements([record])
    titles = [html.index(f"<h3>{t}</h3>") for t in ("Parameters", "Energy", "Extra", "zeta")]
    assert titles == sorted(titles)  # the table's order, then names it does not know, by name


def test_measure_reaches_the_model_only_through_the_backend_protocol():
    """No module of harness/measure reads a torch module (`.module`), and none imports torch but the machine's own
    probes: the speed probe (a fixed fp32 matmul, the same for every backend) and the fingerprint's GPU names."""
    for path in sorted(MEASURE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        imported = {
            alias.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for alias in (n.names if isinstance(n, ast.Import) else [ast.alias(n.module or "")])
        }
        assert "module" not in attributes, path.name
        assert "torch" not in imported or path.name in ("machine_speed.py", "environment.py"), path.name
