"""One shape for a measurement that was not taken (issue 12): {"status": "not_measured" | "not_counted",
"reason": ...} plus the fields that still apply, from every measurement, read by every reader; records on disk in
the older shapes read in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toy_backend

from harness.measure import measure_loaded
from harness.records import kept_measurements, read_record, read_records
from harness.testing import tiny
from harness.tracks.columns import EFFICIENCY, column_value

SCHEMA1 = Path(__file__).parents[1] / "data" / "schema1" / "records"
GENERATION = "generation: FLOPs of autoregressive decoding are not counted yet"
OLD_NOT_COUNTED = {  # harness.measure.flops.Flops.not_counted(...).to_dict() before issue 12
    "counted": False,
    "reason": GENERATION,
    "reference_length": 128,
    "flops": None,
    "int8_macs": 0,
    "by_module": {},
    "by_op": {},
    "uncounted_ops": {},
    "mean_flops": None,
    "token_length_counts": {},
    "flops_by_length": {},
    "fvcore": {},
    "counter": "torch.utils.flop_counter.FlopCounterMode + harness op table + int8 Linear hooks",
    "convention": "FLOPs = 2 x MACs per example",
    "unit": "FLOPs per example",
}


@pytest.fixture
def old_records(tmp_path):
    """The schema-1 records of `tiny-two`, the rte one rewritten with a flops result that was not counted and a
    latency that failed, in the shapes the harness wrote before issue 12."""
    folder = tmp_path / "records" / "tiny-two"
    folder.mkdir(parents=True)
    for path in (SCHEMA1 / "tiny-two").glob("*.record.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["task"]["name"] == "rte":
            data["measurements"].update(
                flops=OLD_NOT_COUNTED, latency={"measured": False, "reason": "RuntimeError: boom"}
            )
        (folder / path.name).write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_old_shapes_read_in_the_one_shape(old_records):
    rte = read_record(next(old_records.glob("rte.*")))
    assert rte.measurements["latency"] == {"status": "not_measured", "reason": "RuntimeError: boom"}
    assert rte.measurements["flops"] == {
        "status": "not_counted",
        "reason": GENERATION,
        "reference_length": 128,
        "uncounted_ops": {},
        "counter": OLD_NOT_COUNTED["counter"],
        "convention": OLD_NOT_COUNTED["convention"],
        "unit": "FLOPs per example",
    }
    sst2 = next(old_records.glob("sst2.*"))
    assert read_record(sst2).measurements["flops"] == json.loads(sst2.read_text())["measurements"]["flops"]


def test_every_reader_reads_the_one_shape(old_records):
    records = {r.task.name: r for r in read_records(old_records.parent)}
    value = column_value(EFFICIENCY["flops"], records)
    assert value.value is None and value.provenance == "not measured"
    assert f"rte: not counted: {GENERATION}" in value.detail
    latency = column_value(EFFICIENCY["latency_ms"], records)
    assert latency.value is None and "rte: not measured: RuntimeError: boom" in latency.detail
    assert column_value(EFFICIENCY["params"], records).value > 0
    good = records["sst2"].measurements
    for failed in ({"status": "not_measured", "reason": "x"}, {"measured": False, "reason": "x"}):
        assert kept_measurements(good, {"flops": failed})["flops"] == good["flops"]  # a failure keeps the old value
    assert kept_measurements(good, {"flops": {"flops": 7}})["flops"] == {"flops": 7}


def test_a_measurement_that_fails_or_cannot_count_says_why_in_the_one_shape(tmp_path, mirror):
    folder = toy_backend.save_toy(tmp_path / "toy", mirror / tiny.VOCAB_FILE)
    model = toy_backend.load(folder, "sequence_classification")

    def broken(batch):
        raise RuntimeError("no such kernel")

    model.prepare = broken
    got = measure_loaded(model, ["latency", "flops", "params"], folder=folder, reference_length=8)
    assert got["latency"] == {"status": "not_measured", "reason": "RuntimeError: no such kernel"}
    assert got["flops"]["status"] == "not_counted" and got["flops"]["reason"] == toy_backend.NOT_COUNTED
    assert got["flops"]["reference_length"] == 8 and "flops" not in got["flops"]
    assert "status" not in got["params"] and got["params"]["total_params"] > 0
