"""Failed attempts are kept as history, never overwritten by the retry that succeeds or fails again, and a record
the harness cannot read is never replaced by a run: the run refuses that job, naming the file (issue 14)."""

from pathlib import Path

import pytest
from board_records import HEAD, tiny_pair

from harness.cli import main
from harness.records import read_record, read_records, store_record
from harness.records.store import HISTORY_DIR, failed_path, log_paths

# written by the harness at 2a1c041 (`harness run glue`, evaluate)
SCHEMA1 = Path(__file__).parents[1] / "data" / "schema1"
TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: [params]}\n"
)
LIMIT = 4


def _record() -> dict:
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    return {k: v for k, v in record.items() if k != "path"}


def _failed(record: dict, error: str, when: str) -> dict:
    out = {k: v for k, v in record.items() if k not in ("metrics", "score")}
    return out | {"status": "failed", "error": error, "metrics": {}, "started_at": when}


def _history(results: Path) -> list[Path]:
    return sorted((results / HISTORY_DIR).rglob("*")) if (results / HISTORY_DIR).exists() else []


def test_a_failed_attempt_and_its_logs_go_to_history_when_the_retry_succeeds(tmp_path):
    record = _record()
    first = store_record(_failed(record, "first cause", "2026-12-01T00:00:00+00:00"), tmp_path)
    out, err = log_paths(Path(first.path))
    out.write_text("first stdout")
    err.write_text("first stderr")
    good = store_record(record, tmp_path)
    assert good.path == first.path and read_record(good.path).ok  # the good one takes the key's place
    assert not out.exists() and not err.exists()  # the failure's logs went with it
    kept = [p for p in _history(tmp_path) if p.is_file()]
    records = [p for p in kept if p.name.endswith(".failed.json")]
    assert len(records) == 1 and read_record(records[0]).error == "first cause"
    assert records[0].parent == tmp_path / HISTORY_DIR / "tiny-old"
    texts = sorted(p.read_text() for p in kept if p.suffix == ".txt")
    assert texts == ["first stderr", "first stdout"]
    assert [r.ok for r in read_records(tmp_path / "records")] == [True]  # history is not on any board


def test_every_failed_attempt_is_kept_beside_a_good_record_too(tmp_path):
    record = _record()
    good = store_record(record, tmp_path)
    second = store_record(_failed(record, "second cause", "2026-12-01T01:00:00+00:00"), tmp_path)
    third = store_record(_failed(record, "third cause", "2026-12-01T02:00:00+00:00"), tmp_path)
    assert second.path == third.path == str(failed_path(Path(good.path)))
    assert read_record(third.path).error == "third cause" and read_record(good.path).ok
    kept = [read_record(p).error for p in _history(tmp_path) if p.name.endswith(".failed.json")]
    assert kept == ["second cause"]


def test_two_attempts_with_one_content_never_take_one_name_and_nothing_is_lost(tmp_path):
    record = _record()
    failed = _failed(record, "same cause", "2026-12-01T00:00:00+00:00")
    for _ in range(3):
        store_record(dict(failed), tmp_path)
    store_record(record, tmp_path)
    assert len([p for p in _history(tmp_path) if p.name.endswith(".failed.json")]) == 3


def test_an_unreadable_record_is_moved_to_history_not_written_over(tmp_path):
    record = _record()
    path = Path(store_record(record, tmp_path).path)
    path.write_text('{"half": ')
    store_record(record, tmp_path)
    assert read_record(path).ok
    kept = [p for p in _history(tmp_path) if p.name.endswith(".unreadable.json")]
    assert len(kept) == 1 and kept[0].read_text() == '{"half": '


@pytest.fixture
def world(tmp_path, mirror):
    return tiny_pair(tmp_path, mirror, "attempts", TRACK)


def _args(world, mirror, *extra: str) -> list[str]:
    subs, track, results = world
    args = ["run", str(track), "--submissions", str(subs), "--results", str(results), "--data-dir", str(mirror)]
    return [*args, "--executor", "inline", "--limit", str(LIMIT), "--no-progress", *extra]


def test_a_run_keeps_the_failed_attempts_of_a_job_it_retries_and_status_counts_them(world, mirror, capsys, monkeypatch):
    import harness.formats as formats

    subs, track, results = world
    real = formats.write_predictions

    def fill_the_disk(task, preds, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(formats, "write_predictions", fill_the_disk)
    assert main(_args(world, mirror)) == 1
    monkeypatch.setattr(formats, "write_predictions", real)
    assert main(_args(world, mirror)) == 0
    kept = [p for p in _history(results) if p.name.endswith(".failed.json")]
    assert sorted((read_record(p).submission.id, read_record(p).task.name) for p in kept) == [
        (s, t) for s in ("a", "b") for t in ("rte", "sst2")
    ]
    assert all("No space left" in read_record(p).error for p in kept)
    assert all(r.ok for r in read_records(results / "records"))
    capsys.readouterr()
    args = ["status", str(track), "--submissions", str(subs), "--results", str(results), "--limit", str(LIMIT)]
    assert main(args) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("a ")]
    assert len(lines) == 2 and all(" done " in line and "1 failed attempt kept" in line for line in lines)


@pytest.mark.parametrize("force", [False, True])
def test_a_run_refuses_the_job_of_a_record_it_cannot_read_and_runs_the_others(world, mirror, capsys, force):
    subs, track, results = world
    assert main(_args(world, mirror)) == 0
    broken = next((results / "records" / "a").glob("sst2.*.record.json"))
    broken.write_text('{"half": ')
    capsys.readouterr()
    code = main(_args(world, mirror, *(["--force"] if force else [])))
    out = capsys.readouterr().out
    assert code == 1 and broken.read_text() == '{"half": '  # nothing written over it
    assert str(broken) in out and "not a readable JSON record" in out and "move the file away" in out
    assert "a / rte" in out and "b / sst2" in out  # the other jobs were still run or found
    assert not _history(results)


def test_an_attempt_another_writer_moved_first_is_already_kept(tmp_path):
    from harness.records.store import keep_attempt

    gone = tmp_path / "records" / "a" / "rte.cpu.000000000000.record.json"
    gone.parent.mkdir(parents=True)
    assert keep_attempt(gone, tmp_path, "failed") is None
