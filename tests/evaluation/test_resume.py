"""A run started again finishes only what is left: a job whose ok record exists for its key is not run again,
a failed one is retried, --force re-runs everything, and changed weights re-run that submission (issue 14)."""

from pathlib import Path

import pytest
from board_records import HEAD, write_track

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
    subs = tmp_path / "subs"
    for name in ("a", "b"):
        tiny.write_tiny_submission(subs / name, ["sst2", "rte"], mirror / tiny.VOCAB_FILE)
    return subs, write_track(tmp_path / "tracks", "resume", TRACK), tmp_path / "results"


def _run(world, mirror, *extra):
    subs, track, results = world
    from harness.evaluation.track import run_track

    return run_track(
        load_track(track), subs, data_dir=mirror, results_dir=results, limit=LIMIT, report=lambda _: None, **dict(extra)
    )


def _files(results: Path) -> dict[str, float]:
    return {str(p.relative_to(results)): p.stat().st_mtime_ns for p in results.rglob("*.record.json")}


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
    assert main([*args, "--limit", str(LIMIT), "--no-progress"]) == 0
    assert main([*args, "--limit", str(LIMIT), "--no-progress"]) == 0
    assert "done already" in capsys.readouterr().out
    assert main([*args, "--limit", str(LIMIT), "--no-progress", "--force"]) == 0
