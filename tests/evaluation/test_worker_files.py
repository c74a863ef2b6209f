"""A job's worker writes only its own places (issue 14): in a mount namespace of its own, every file system is
read-only to it, /tmp included, but for its submission's record and history folders, its job folder and a
temporary folder of its own ($TMPDIR). Another
submission's records and model, the results folder, the task data and the harness's own files stay as they were,
whatever the job's code tries; the organizer's view of the file systems is untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import hostile_backend  # noqa: F401 - registers the hostile backends in this process too
import pytest
from board_records import HEAD, write_track
from conftest import write_hostile_submission

from harness.cli import main
from harness.records import read_record, read_records

TRACK = HEAD + (
    "tasks:\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: []}\n"
)
LIMIT = 4


def _run(tmp_path: Path, mirror: Path, *extra: str) -> int:
    track = write_track(tmp_path / "tracks", "files", TRACK)
    args = ["run", str(track), "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "results")]
    return main([*args, "--data-dir", str(mirror), "--limit", str(LIMIT), "--timeout", "300", "--no-progress", *extra])


def _read_only_here() -> str:
    """How a worker's files are held on this machine (skips the test where the kernel gives no mount namespace)."""
    code = "from harness.evaluation.limits import files_read_only\nprint(files_read_only({}, None))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    how = out.stdout.strip()
    if not how.startswith("read-only"):
        pytest.skip(f"no mount namespace here: {how}")
    return how


def test_a_job_cannot_write_over_other_submissions_the_results_or_anything_else(tmp_path, mirror, plugins, monkeypatch):
    _read_only_here()
    subs = tmp_path / "subs"
    good = write_hostile_submission(subs, "good", mirror, tasks=("rte",))
    write_hostile_submission(subs, "scribble", mirror, backend="scribble", tasks=("rte",))
    assert _run(tmp_path, mirror) == 1
    results = tmp_path / "results"
    [theirs] = sorted((results / "records" / "good").glob("*.record.json"))
    outside = tmp_path / "outside" / "notes.txt"
    outside.parent.mkdir()
    outside.write_text("the organizer's\n")
    [config] = good.glob("*/config.json")
    targets = {
        "another submission's record": theirs,
        "another submission's model": config,
        "a new record of another submission": results / "records" / "good" / "forged.record.json",
        "the results folder": results / "planted.txt",
        "a file outside the results": outside,
        "the harness's own code": Path(sys.modules["harness"].__file__).with_name("planted.py"),
    }
    before = {name: path.read_bytes() if path.exists() else None for name, path in targets.items()}
    monkeypatch.setenv("HOSTILE_TARGETS", json.dumps({k: str(v) for k, v in targets.items()}))
    try:
        assert _run(tmp_path, mirror) == 1  # the failed job runs again; the good one is done
        after = {name: path.read_bytes() if path.exists() else None for name, path in targets.items()}
        reached = [*Path("/tmp").glob("hostile-scribble-*"), *Path("/dev/shm").glob("hostile-scribble-*")]
    finally:
        targets["the harness's own code"].unlink(missing_ok=True)  # were it written, it must not stay
        for left in [*Path("/tmp").glob("hostile-scribble-*"), *Path("/dev/shm").glob("hostile-scribble-*")]:
            left.unlink(missing_ok=True)  # written only where the job's writes reached the machine's folders
    [failed] = [r for r in read_records(results / "records") if r.submission.id == "scribble"]
    assert "scribbled" in str(failed.error)
    [log] = (results / "records" / "scribble").glob("*.stdout.txt")
    told = json.loads(log.read_text().split(hostile_backend.SCRIBBLED, 1)[1].splitlines()[0])
    for name, path in targets.items():
        assert after[name] == before[name], f"{name} ({path}) was written: {told}"
        assert "Read-only file system" in told[name], told
    assert told["its own record folder"] == "written", told
    assert "Read-only file system" in told["/tmp"], told
    assert told["a temporary file"] == "written", told
    assert not Path(told["temporary file"]).exists(), "the job's temporary folder outlived it"
    assert Path(told["temporary file"]).parent.name == "tmp", told
    assert told["shared memory"] == "written", told  # in a /dev/shm of its own, gone with it
    assert reached == [], "the job's /tmp or /dev/shm is the machine's"
    assert read_record(theirs).ok
    # undoing the mounts or going around them fails too
    assert told["remount"] == "Operation not permitted", told
    assert told["through /proc"] == "No such file or directory", told
    assert told["device node"] == "Operation not permitted", told
    assert not (results / "planted-through-proc.txt").exists()


def test_a_retry_in_a_worker_moves_the_failed_attempt_to_history(tmp_path, mirror, plugins, monkeypatch):
    """The job's record folder and its history folder are two mounts in the worker: the failed attempt crosses."""
    _read_only_here()
    write_hostile_submission(tmp_path / "subs", "flaky", mirror, backend="flaky", tasks=("rte",))
    monkeypatch.setenv("HOSTILE_FAIL", "1")
    assert _run(tmp_path, mirror) == 1
    monkeypatch.delenv("HOSTILE_FAIL")
    assert _run(tmp_path, mirror) == 0
    results = tmp_path / "results"
    [record] = read_records(results / "records")
    assert record.ok
    [kept] = sorted((results / "history" / "flaky").glob("*.failed.json"))
    assert "failed on purpose" in str(read_record(kept).error)
    logs = sorted(p.name.rsplit(".", 2)[-2] for p in (results / "history" / "flaky").glob("*.txt"))
    assert logs == ["stderr", "stdout"]


def test_the_organizers_mounts_are_untouched_and_the_writable_folder_stays_writable(tmp_path):
    own, other = tmp_path / "own", tmp_path / "other"
    other.mkdir()
    code = (
        "import sys\nfrom pathlib import Path\nfrom harness.evaluation.limits import files_read_only\n"
        f"how = files_read_only({{'own': Path({str(own)!r})}}, Path({str(tmp_path / 'scratch')!r}))\n"
        "print(how)\n"
        "if how.startswith('read-only'):\n"
        f"    Path({str(own / 'a.txt')!r}).write_text('mine')\n"
        "    import tempfile\n"
        "    Path(tempfile.gettempdir(), 'inside.txt').write_text('private')\n"
        "    try:\n"
        f"        Path({str(other / 'b.txt')!r}).write_text('not mine')\n"
        "    except OSError as e:\n"
        "        print(e.strerror)\n"
    )
    before = Path("/proc/self/mountinfo").read_text()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    how, *rest = out.stdout.splitlines()
    if not how.startswith("read-only"):
        pytest.skip(f"no mount namespace here: {how}")
    assert rest == ["Read-only file system"], out.stdout
    assert (own / "a.txt").read_text() == "mine" and not (other / "b.txt").exists()
    assert (tmp_path / "scratch" / "inside.txt").read_text() == "private"
    assert Path("/proc/self/mountinfo").read_text() == before
    (other / "c.txt").write_text("the organizer still writes here")
