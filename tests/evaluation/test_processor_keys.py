"""A timed job's key holds the processor that ran it, which on a Ray cluster is the node's, not the organizer's: the
record a worker hands back on another processor is still its job's, a Ray run started again finds it done, and
`harness status` on another machine says where the job was done instead of showing it as never run (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from board_records import HEAD, write_track

from harness.cli import main
from harness.records import read_record, read_records, store_record
from harness.records.store import beside
from harness.testing import tiny
from harness.tracks.definitions import load_track

TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
    "measurement: {measure: [latency]}\n"
)
LIMIT = 4
OTHER = "Some Other CPU @ 1.00GHz"
_KEYS: dict[Path, dict] = {}  # the first record's key, before _elsewhere moved it


def _elsewhere(path: Path) -> Path:
    """Store the record at `path` again as if a machine with another processor had made it; remove the first."""
    record = json.loads(path.read_text(encoding="utf-8"))
    record["environment"]["processor"] = OTHER
    del record["key"]
    moved = Path(store_record(record, path.parents[2]).path)
    path.unlink()
    return moved


@pytest.fixture(scope="module")
def timed(tmp_path_factory, mirror):
    """One tiny submission's timed job, run once (latency takes seconds), its record moved to another processor."""
    root = tmp_path_factory.mktemp("timed")
    subs, results = root / "subs", root / "results"
    tiny.write_tiny_submission(subs / "a", ["sst2"], mirror / tiny.VOCAB_FILE)
    track = write_track(root / "tracks", "timed", TRACK)
    args = ["run", str(track), "--submissions", str(subs), "--results", str(results), "--data-dir", str(mirror)]
    assert main([*args, "--executor", "inline", "--limit", str(LIMIT), "--no-progress"]) == 0
    [here] = read_records(results / "records")
    assert "processor" in (here.key or {})
    _KEYS[Path(here.path)] = here.key
    return subs, track, results, Path(here.path), read_record(_elsewhere(Path(here.path)))


def test_a_record_made_on_another_processor_is_found_beside_the_key_of_this_one(timed):
    _, _, _, here, there = timed
    planned = dict(there.key or {}, processor="This Machine's CPU")
    assert [r.path for r in beside(here, planned, "processor")] == [there.path]
    assert beside(here, dict(planned, task="rte"), "processor") == []


def test_the_record_a_worker_hands_back_from_another_processor_is_its_jobs(timed):
    from harness.evaluation.workers import _its_own

    _, _, results, _, there = timed
    planned = dict(there.key or {}, processor="The Organizer's CPU")
    handed = Path(str(there.path))
    assert _its_own(there, handed, planned, results, any_processor=True)  # a Ray node's record
    assert not _its_own(there, handed, planned, results, any_processor=False)  # this machine's worker: not its own
    assert _its_own(there, handed, dict(there.key or {}), results, any_processor=False)
    assert not _its_own(there, handed, dict(planned, task="rte"), results, any_processor=True)
    assert not _its_own(there, handed, dict(planned, content="0" * 64), results, any_processor=True)


def test_status_on_another_machine_says_where_the_job_was_done(timed, capsys):
    subs, track, results, _, there = timed
    args = ["status", str(track), "--submissions", str(subs), "--results", str(results), "--limit", str(LIMIT)]
    assert main(args) == 0
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("a ")]
    assert " pending " in line and f"done on {OTHER}" in line and str(there.path) in line


def test_a_ray_run_started_again_finds_a_job_its_cluster_did_on_another_processor(timed):
    from harness.evaluation.jobs import plan_submission

    subs, track, results, _, there = timed
    plan = (load_track(track), subs / "a", results, LIMIT, False, ())
    _, jobs, done, _ = plan_submission(*plan, report=lambda _: None)
    assert len(jobs) == 1 and done == []  # on this machine, its processor's latency is still to measure
    _, jobs, done, _ = plan_submission(*plan, report=lambda _: None, any_processor=True)
    assert jobs == [] and [r.path for r in done] == [there.path]


def test_a_ray_run_started_again_counts_a_nodes_record_done_over_the_failure_the_organizer_wrote(timed, capsys):
    """A job whose first try failed where the organizer wrote its record (its own processor in the key), then
    succeeded on a node with another processor."""
    from harness.evaluation.jobs import plan_submission

    subs, track, results, here, there = timed
    failed = json.loads(Path(str(there.path)).read_text(encoding="utf-8"))
    failed.update(status="failed", error="the Ray task failed: node lost", metrics={})
    failed["environment"]["processor"] = (read_record_key(here) or {}).get("processor")
    for name in ("key", "score", "predictions_file", "outputs_file", "confidence"):
        failed.pop(name, None)
    written = Path(store_record(failed, results).path)
    try:
        plan = (load_track(track), subs / "a", results, LIMIT, False, ())
        _, jobs, done, _ = plan_submission(*plan, report=lambda _: None, any_processor=True)
        assert jobs == [] and [r.path for r in done] == [there.path]
        args = ["status", str(track), "--submissions", str(subs), "--results", str(results), "--limit", str(LIMIT)]
        assert main(args) == 0
        [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("a ")]
        assert " failed " in line and "node lost" in line and f"done on {OTHER}" in line
    finally:
        written.unlink()


def read_record_key(path: Path) -> dict | None:
    """The key the record at `path` had before it was moved (kept by the fixture's first read)."""
    return _KEYS.get(path)
