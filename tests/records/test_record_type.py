"""The typed Record: one constructor for writers, a JSON round trip that keeps the schema, refusals of unknown
fields, readers by attribute, and a track run that writes each record once."""

import json

import pytest

from harness.errors import UserError
from harness.records import (
    SCHEMA_VERSION,
    Record,
    SubmissionInfo,
    TaskInfo,
    new_record,
    read_record,
    record_key,
    store_record,
)
from harness.records import store as record_store

BASE = dict(
    schema_version=SCHEMA_VERSION,
    harness_version="0.1.0",
    started_at="2026-11-30T10:00:00+00:00",
    status="ok",
    submission={"id": "s", "sha256": "0" * 64, "files": {"m/config.json": "1" * 64}, "meta": {"name": "S"}},
    task={"name": "sst2", "benchmark": "glue", "version": 1, "split": "validation"},
    metrics={"accuracy": 0.5},
    score=0.5,
    hardware="cpu",
    settings={"limit": None, "batch_size": 32},
    num_examples=872,
)


def test_new_record_is_typed_and_keyed_like_the_json_form():
    record = new_record(**BASE)
    assert isinstance(record.submission, SubmissionInfo) and record.submission.id == "s"
    assert isinstance(record.task, TaskInfo) and record.task.version == 1 and record.ok
    assert record.key == record_key(record.to_dict())
    assert record.measurement("flops") is None and record.error is None


def test_a_record_is_read_by_attribute_never_by_key():
    record = new_record(**BASE)
    for value, name in ((record, "task"), (record.submission, "id"), (record.task, "name")):
        with pytest.raises(TypeError):
            value[name]
        assert not hasattr(value, "get")
        with pytest.raises(TypeError):
            name in value  # noqa: B015 - the membership test is what is checked
    assert record.task.name == "sst2" and record.submission.id == "s" and record.status == "ok"


def test_the_json_form_round_trips_with_exactly_the_fields_it_was_given(tmp_path):
    stored = store_record(new_record(**BASE), tmp_path)
    on_disk = json.loads(open(stored.path, encoding="utf-8").read())
    assert set(on_disk) == set(BASE) | {"key"}  # no None fields written, no path
    again = read_record(stored.path)
    assert again == stored and again.to_dict() == on_disk


@pytest.mark.parametrize(
    "change, field",
    [({"hardwre": "gpu"}, "'hardwre'"), ({"task": {**BASE["task"], "splt": "test"}}, "task.'splt'")],
)
def test_an_unknown_field_is_refused_never_dropped(change, field):
    with pytest.raises(UserError, match=field):
        Record.from_dict({**BASE, "key": {"task": "sst2"}, **change})


def test_a_track_run_writes_each_record_once(tmp_path, mirror, monkeypatch):
    from harness.cli import main
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission

    write_tiny_submission(tmp_path / "subs" / "once", ["rte", "wnli"], mirror / VOCAB_FILE)
    writes = []
    real = record_store.write_atomic
    monkeypatch.setattr(record_store, "write_atomic", lambda path, data: (writes.append(path), real(path, data)))
    code = main(
        ["run", "glue", "--executor", "inline", "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "r"), "--limit", "8",
         "--data-dir", str(mirror), "--no-progress", "--skip-measure", "latency,memory,energy"]
    )  # fmt: skip
    records = sorted(w for w in writes if w.name.endswith(".record.json"))
    assert code == 0 and len(records) == 2 and len(set(records)) == 2  # rte and wnli, one write each
    assert all(read_record(p).declared == {} and read_record(p).track_run for p in records)
