"""The organizer takes a worker's record from the worker's own results folder (issue 14): a stranger's code wrote
it, so a link, a FIFO, a file named outside the record's folder or a record that is not the job's is refused,
nothing is followed or opened that would hang the run, and nothing lands in the results folder but the record and
the files it names."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from board_records import record

from harness.evaluation.adopt import Refused, adopt_record, staged_results
from harness.records import read_record, record_path
from harness.records.store import write_record


def _staged(tmp_path: Path, predictions: str | None = None) -> tuple[Path, Path, Path]:
    """A job folder's results with one ok record naming its predictions file (or `predictions`), that file, and
    the organizer's results."""
    staged = staged_results(tmp_path / "job")
    made = record("a", "rte", {"accuracy": 0.5})
    path = record_path(staged, made)
    made = made.with_(predictions_file=_predictions(path))
    write_record(made, path)
    if predictions is not None:  # written as a stranger's code would: the record store never writes such a name
        document = json.loads(path.read_text())
        path.write_text(json.dumps({**document, "predictions_file": predictions}))
    (path.parent / _predictions(path)).write_text("index\tprediction\n0\t1\n")
    return staged, path, tmp_path / "results"


def _predictions(path: Path) -> str:
    """The predictions file name a record at `path` has (harness.evaluation.evaluate names it so)."""
    from harness.formats import predictions_path
    from harness.records.store import record_stem
    from harness.tasks import get_task

    return predictions_path(get_task("rte"), record_stem(path)).name


def _anyone(record, path) -> bool:
    return True


def test_a_record_and_the_file_it_names_are_taken_into_the_results(tmp_path):
    staged, path, results = _staged(tmp_path)
    stored = adopt_record(path, staged, results, _anyone)
    assert Path(str(stored.path)) == record_path(results, stored) and read_record(stored.path).ok
    assert (Path(str(stored.path)).parent / _predictions(path)).read_text().startswith("index")
    assert sorted(p.name for p in Path(str(stored.path)).parent.iterdir()) == sorted(
        [_predictions(path), Path(str(stored.path)).name]
    )


def test_a_predictions_file_that_is_a_link_is_refused_and_not_followed(tmp_path):
    staged, path, results = _staged(tmp_path)
    secret = tmp_path / "organizers-credentials"
    secret.write_text("token")
    (path.parent / _predictions(path)).unlink()
    (path.parent / _predictions(path)).symlink_to(secret)
    with pytest.raises(Refused, match="reached through a link|not a regular file"):
        adopt_record(path, staged, results, _anyone)
    assert not results.exists()


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    staged, path, results = _staged(tmp_path)
    (path.parent / _predictions(path)).unlink()
    os.mkfifo(path.parent / _predictions(path))  # opened, it would block until a writer came
    with pytest.raises(Refused, match="not a regular file"):
        adopt_record(path, staged, results, _anyone)


@pytest.mark.parametrize("name", ["../../records/b/rte.predictions.tsv", "/etc/passwd", ".hidden"])
def test_a_record_naming_a_file_outside_its_folder_is_refused(tmp_path, name):
    staged, path, results = _staged(tmp_path, predictions=name)
    with pytest.raises(Refused, match="plain name of a file beside the record|not a file name beside the record"):
        adopt_record(path, staged, results, _anyone)
    assert not results.exists()


def test_a_record_outside_the_workers_folder_or_not_its_own_is_refused(tmp_path):
    staged, path, results = _staged(tmp_path)
    elsewhere = tmp_path / "elsewhere.record.json"
    elsewhere.write_bytes(path.read_bytes())
    with pytest.raises(Refused, match="not this job's"):
        adopt_record(elsewhere, staged, results, _anyone)
    with pytest.raises(Refused, match="not this job's"):
        adopt_record(path, staged, results, lambda r, p: False)
    link = path.with_name("link.record.json")
    link.symlink_to(path)
    with pytest.raises(Refused, match="reached through a link|not a regular file"):
        adopt_record(link, staged, results, _anyone)
    path.write_text("{half")
    with pytest.raises(Refused, match="not a readable JSON record"):
        adopt_record(path, staged, results, _anyone)
    assert not results.exists()


def test_a_record_naming_another_record_as_its_predictions_is_refused(tmp_path):
    """The name is plain and beside the record, but not the one a record of this key has: a forged sst2 record
    shipped as rte's predictions would be written over the organizer's."""
    staged, path, results = _staged(tmp_path)
    forged = "sst2.cpu.0123456789ab.record.json"
    (path.parent / forged).write_text('{"forged": true}')
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "predictions_file": forged}))
    with pytest.raises(Refused, match="a record of its key names"):
        adopt_record(path, staged, results, _anyone)
    assert not results.exists()


def test_a_record_with_another_submissions_fields_is_not_this_jobs(tmp_path):
    """Its key is made from its fields, so a record rewritten as another submission's no longer has the job's."""
    from harness.records.store import key_digest

    staged, path, results = _staged(tmp_path)
    planned = key_digest(read_record(path).key or {})
    document = json.loads(path.read_text())
    document["submission"]["id"] = "someone-else"  # the key written in the file still says "a"
    path.write_text(json.dumps(document))
    with pytest.raises(Refused, match="not this job's"):
        adopt_record(path, staged, results, lambda r, p: key_digest(r.key or {}) == planned)
    assert not results.exists()


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    import harness.evaluation.adopt as adopt

    staged, path, results = _staged(tmp_path)
    monkeypatch.setattr(adopt, "MAX_HANDED_BYTES", 64)
    with open(path.parent / _predictions(path), "r+b") as fh:
        fh.truncate(1 << 40)  # a terabyte, sparse: read whole, it would take the organizer's memory
    with pytest.raises(Refused, match="over the"):
        adopt_record(path, staged, results, _anyone)


@pytest.mark.parametrize("handed", ["rte\0.record.json", 7, None])
def test_a_record_path_that_is_no_path_is_refused(tmp_path, handed):
    staged, _, results = _staged(tmp_path)
    with pytest.raises(Refused, match="no record path"):
        adopt_record(handed, staged, results, _anyone)


def test_a_failed_record_naming_its_keys_predictions_is_refused(tmp_path):
    """A failed run goes beside its key's good record: the files it named would land over the good record's."""
    staged, path, results = _staged(tmp_path)
    good = adopt_record(path, staged, results, _anyone)
    kept = (Path(str(good.path)).parent / _predictions(path)).read_bytes()
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "status": "failed", "error": "boom", "metrics": {}, "score": None}))
    (path.parent / _predictions(path)).write_text("index\tprediction\n0\tFORGED\n")
    with pytest.raises(Refused, match="a failed record names predictions_file"):
        adopt_record(path, staged, results, _anyone)
    assert (Path(str(good.path)).parent / _predictions(path)).read_bytes() == kept
