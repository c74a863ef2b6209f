"""A run started again finishes only what is left: a job whose ok record exists for its key is not run again,
a failed one is retried, --force re-runs everything, and changed weights re-run that submission (issue 14)."""

from pathlib import Path

import pytest
from board_records import HEAD, tiny_pair

from harness.cli import main
from harness.records import read_records
from harness.testing import tiny
from harness.tracks.definitions import load_track

TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: [params]}\n"
)
LIMIT = 4


@pytest.fixture
def world(tmp_path, mirror):
    return tiny_pair(tmp_path, mirror, "resume", TRACK)


def _run(world, mirror, *extra):
    subs, track, results = world
    from harness.evaluation.track import run_track

    return run_track(
        load_track(track), subs, data_dir=mirror, results_dir=results, limit=LIMIT, report=lambda _: None, **dict(extra)
    )


def _files(results: Path) -> dict[str, float]:
    """The records of the results folder (not those a worker left in its job folder, which no board reads)."""
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in (results / "records").rglob("*.record.json")}


def test_a_second_run_runs_nothing_and_returns_the_records_it_found(world, mirror, monkeypatch):
    import harness.evaluation.evaluate as evaluate_module

    first, _ = _run(world, mirror)
    assert len(first) == 4 and all(r.ok for r in first)
    before = _files(world[2])
    calls = []
    real = evaluate_module.evaluate
    monkeypatch.setattr(evaluate_module, "evaluate", lambda *a, **k: calls.append(a) or real(*a, **k))
    second, _ = _run(world, mirror)
    assert calls == [] and _files(world[2]) == before
    assert sorted(r.path for r in second) == sorted(r.path for r in first)


def test_force_re_runs_every_job_and_changed_weights_re_run_that_submission(world, mirror):
    subs, _, results = world
    _run(world, mirror)
    before = _files(results)
    again, _ = _run(world, mirror, ("force", True))
    assert len(again) == 4 and all(_files(results)[k] != v for k, v in before.items())
    weights = next((subs / "b").rglob("model.safetensors"))
    weights.write_bytes(weights.read_bytes() + b" ")  # new content: a new key for b's jobs
    third, _ = _run(world, mirror)
    assert {r.submission.id for r in third} == {"a", "b"}
    assert len(read_records(results)) == 6  # a's two records, b's old two and b's two new ones


def test_a_failed_job_is_retried_and_its_failure_kept(world, mirror):
    subs, _, results = world
    model = next((subs / "a").glob("sequence_classification-2"))
    (model / "config.json").rename(model / "config.moved")
    failed, _ = _run(world, mirror)
    assert sorted(r.ok for r in failed if r.submission.id == "a") == [False, False]
    (model / "config.moved").rename(model / "config.json")
    retried, _ = _run(world, mirror)
    assert all(r.ok for r in retried)


def test_harness_run_takes_force(world, mirror, capsys):
    subs, track, results = world
    args = ["run", str(track), "--submissions", str(subs), "--results", str(results), "--data-dir", str(mirror)]
    args += ["--executor", "inline"]
    assert main([*args, "--limit", str(LIMIT), "--no-progress"]) == 0
    assert main([*args, "--limit", str(LIMIT), "--no-progress"]) == 0
    assert "done already" in capsys.readouterr().out
    assert main([*args, "--limit", str(LIMIT), "--no-progress", "--force"]) == 0


def test_a_run_killed_midway_and_started_again_ends_with_one_record_per_job(world, mirror):
    """kill -9 in the middle of `harness run`, then the same command again: every job has exactly one record, no
    partial file is left, and the jobs done before the kill are not run again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    subs, track, results = world
    args = [sys.executable, "-m", "harness", "run", str(track), "--submissions", str(subs), "--results", str(results)]
    args += ["--data-dir", str(mirror), "--limit", str(LIMIT), "--no-progress"]
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _files(results) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    (results / "records" / "a").mkdir(parents=True, exist_ok=True)
    (results / "records" / "a" / f".sst2.cpu.0123.record.json.{child.pid}.deadbeef.tmp").write_text("{half")
    survived = _files(results)
    assert 1 <= len(survived) < 4  # killed in the middle
    assert subprocess.run(args, capture_output=True, text=True).returncode == 0
    after = _files(results)
    assert len(after) == 4 and all(after[k] == v for k, v in survived.items())  # done jobs were not run again
    assert not [p for p in results.rglob("*") if p.name.endswith(".tmp")]  # the killed writer's partial file is gone
    assert sorted((r.submission.id, r.task.name) for r in read_records(results)) == [
        (s, t) for s in ("a", "b") for t in ("rte", "sst2")
    ]


def test_a_live_writers_partial_file_is_left_alone(tmp_path):
    import os

    from harness.records.store import remove_partials

    folder = tmp_path / "records" / "a"
    folder.mkdir(parents=True)
    live = folder / f".x.record.json.{os.getppid()}.abcd1234.tmp"  # a running process: maybe still writing
    gone = folder / ".x.record.json.999999999.abcd1234.tmp"  # no process has this id
    live.write_text("{")
    gone.write_text("{")
    assert remove_partials(tmp_path) == [gone] and live.is_file() and not gone.exists()


def test_status_shows_done_failed_pending_and_stale_jobs(world, mirror, capsys):
    subs, track, results = world
    _run(world, mirror)
    model = next((subs / "a").glob("sequence_classification-2"))
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes() + b" ")  # a's sst2 and rte model: both of a's jobs are stale
    tiny.write_tiny_submission(subs / "c", ["sst2"], mirror / tiny.VOCAB_FILE)  # never run: pending
    args = ["status", str(track), "--submissions", str(subs), "--results", str(results), "--limit", str(LIMIT)]
    assert main(args) == 0
    out = capsys.readouterr().out
    lines = {tuple(line.split()[:3]) for line in out.splitlines() if line.startswith(("a ", "b ", "c "))}
    assert {("a", "sst2", "stale"), ("a", "rte", "stale"), ("b", "sst2", "done"), ("c", "sst2", "pending")} <= lines
    assert "2 done, 0 failed, 1 pending, 2 stale" in out


def test_a_writer_killed_before_renaming_its_predictions_leaves_nothing_once_a_run_starts_again(mirror, tmp_path):
    """The predictions file a worker writes under a temporary name, then is killed (os._exit) before renaming."""
    import subprocess
    import sys

    from harness.records.store import remove_partials
    from harness.testing import tiny

    folder = tiny.write_tiny_submission(tmp_path / "subs" / "a", ["sst2"], mirror / tiny.VOCAB_FILE)
    results = tmp_path / "results"
    killed = (
        "import os, sys, harness.tasks.confidence as e\n"
        "e.score_confidence = lambda *a, **k: os._exit(9)\n"
        "from harness.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = [str(folder), "--task", "sst2", "--limit", "4", "--no-measure", "--no-progress"]
    done = subprocess.run(
        [sys.executable, "-c", killed, "evaluate", *argv, "--data-dir", str(mirror), "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 9, done.stderr
    left = [p for p in results.rglob(".*") if p.is_file()]
    assert left, "the killed writer left its temporary predictions file"
    assert sorted(remove_partials(results)) == sorted(left)
    assert not [p for p in results.rglob(".*") if p.is_file()]
