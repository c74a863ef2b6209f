"""A run without --data-dir takes each task's data from the hub (issue 14): the organizer fetches it into the hub's
cache once, before any job starts, and the jobs run off the network, each reading the cache through a copy of its
own (an overlay), so that no job changes what another reads. The hub here is tests/fake_hub.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import hostile_backend
from board_records import HEAD, write_track
from conftest import write_hostile_submission

from harness.cli import main
from harness.records import read_records
from harness.tasks.data import OFFLINE_FLAGS

TRACK = HEAD + (
    "tasks:\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: []}\n"
)


def _hub(monkeypatch, tmp_path: Path, mirror: Path) -> Path:
    """The fake hub's cache, with the workers and this process importing it; no mirror through the environment."""
    import fake_hub  # before $FAKE_HUB_SOURCE is set: this process patches through monkeypatch, undone after

    import harness.tasks.data as data

    cache = tmp_path / "hub-cache"
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    for flag in OFFLINE_FLAGS:  # set for good by an earlier test's load from a mirror (go_offline)
        monkeypatch.delenv(flag, raising=False)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    monkeypatch.setenv("FAKE_HUB_SOURCE", str(mirror))
    monkeypatch.setenv("HARNESS_PLUGINS", "hostile_backend,fake_hub")
    monkeypatch.setattr(data, "_hub_rows", fake_hub._hub_rows)  # this process is the organizer: it fetches too
    return cache


def _run(tmp_path: Path, *extra: str) -> int:
    track = write_track(tmp_path / "tracks", "hub", TRACK)
    args = ["run", str(track), "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "results")]
    return main([*args, "--limit", "4", "--timeout", "300", "--no-progress", *extra])


def test_the_organizer_fetches_the_data_and_the_jobs_run_off_the_network_on_a_copy_of_the_cache(
    tmp_path, mirror, plugins, monkeypatch
):
    cache = _hub(monkeypatch, tmp_path, mirror)
    token = tmp_path / "hf-home" / "token"  # the organizer's hub token: a job reads it empty
    token.parent.mkdir()
    token.write_text("hf_secret")
    monkeypatch.setenv("HF_HOME", str(token.parent))
    elsewhere = tmp_path / "secrets" / "hub-token"  # a token file the organizer links to from HF_TOKEN_PATH
    elsewhere.parent.mkdir()
    elsewhere.write_text("hf_other")
    (tmp_path / "token-link").symlink_to(elsewhere)
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "token-link"))
    monkeypatch.setenv("HOSTILE_SECRETS", json.dumps([str(token), str(tmp_path / "token-link")]))
    write_hostile_submission(tmp_path / "subs", "a", mirror, tasks=("rte",))
    write_hostile_submission(tmp_path / "subs", "b", mirror, tasks=("rte",))
    write_hostile_submission(tmp_path / "subs", "scribble", mirror, backend="scribble", tasks=("rte",))
    assert _run(tmp_path) == 1  # scribble fails, on purpose
    records = [r for r in read_records(tmp_path / "results" / "records") if r.submission.id != "scribble"]
    assert len(records) == 2 and all(r.ok for r in records), [r.error for r in records]
    [log] = (tmp_path / "results" / "records" / "scribble").glob("*.stdout.txt")
    told = json.loads(log.read_text().split(hostile_backend.SCRIBBLED, 1)[1].splitlines()[0])
    assert told[str(token)] == told[str(tmp_path / "token-link")] == "", told
    for record in records:
        worker = dict(record.environment or {})["worker"]
        assert worker["network"].startswith(("none", "not isolated")), worker["network"]
        if worker["files"].startswith("read-only"):
            assert "the hub's cache (HF_DATASETS_CACHE) as a copy of its own" in worker["files"], worker["files"]
    # the cache holds what the organizer fetched; each job's own lock went with its copy
    assert (cache / "rte.lock").read_text() == f"{os.getpid()} online\n"
    assert token.read_text() == "hf_secret"
    assert json.loads((cache / "rte.json").read_text())


def test_each_hub_cache_folder_is_copied_once(tmp_path, monkeypatch):
    """HF_HOME holds the hub's and the datasets' caches by default: one overlay of it serves both (overlays stack
    only so deep), and a variable naming the same folder again adds none."""
    from harness.evaluation.worker import own_folders

    home, other = tmp_path / "hf", tmp_path / "datasets"
    (home / "hub").mkdir(parents=True)
    other.mkdir()
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(other))
    _, _, overlaid = own_folders({"result": str(tmp_path / "job" / "result.json"), "data_dir": None})
    assert sorted(map(str, overlaid.values())) == [str(other), str(home)], overlaid
    assert own_folders({"result": str(tmp_path / "job" / "result.json"), "data_dir": "/data"})[2] == {}
