"""A job's worker writes only its own places (issue 14): in a mount namespace of its own, every file system is
read-only to it, /tmp included, but for its submission's record and history folders, its job folder and a
temporary folder of its own ($TMPDIR). Another
submission's records and model, the results folder, the task data and the harness's own files stay as they were,
whatever the job's code tries; the organizer's view of the file systems is untouched."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import hostile_backend  # noqa: F401 - registers the hostile backends in this process too
import pytest
from board_records import HEAD, write_track
from conftest import JOBS_DEV, OTHER_DEVICES, write_hostile_submission

from harness.cli import main
from harness.records import read_record, read_records

TRACK = HEAD + (
    "tasks:\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: []}\n"
)
LIMIT = 4
# Where a job's compilers and loaders cache what they make: Triton's and TorchInductor's kernels, CUDA's JIT, and
# transformers' copy of a model's own code. The machine's defaults are under ~, read-only to a job.
CACHES = ["TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "CUDA_CACHE_PATH", "HF_MODULES_CACHE"]


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
    devices = [p for p in OTHER_DEVICES if os.path.exists(p)]
    node = tmp_path / "null-node"  # a device node outside /dev (the machine's null), made by the organizer
    if os.getuid() == 0:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    monkeypatch.setenv("HOSTILE_DEVICES", json.dumps([*devices, *([str(node)] if node.exists() else [])]))
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(str(tmp_path / "organizer.sock"))  # a daemon's socket, in a folder the job can read
    listening.listen(1)
    os.chmod(tmp_path / "organizer.sock", 0o777)
    monkeypatch.setenv("HOSTILE_SOCKET", str(tmp_path / "organizer.sock"))
    monkeypatch.setenv("HOSTILE_CACHES", json.dumps(CACHES))
    key = tmp_path / "home" / ".ssh" / "id_ed25519"  # the organizer's home (a private place): not the job's
    key.parent.mkdir(parents=True)
    key.write_text("the organizer's key")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOSTILE_SECRETS", json.dumps([str(key)]))
    secrets = {"HF_TOKEN": "hf_secret", "AWS_SECRET_ACCESS_KEY": "aws", "GITHUB_TOKEN": "gh", "DB_PASSWORD": "pw"}
    for name, value in secrets.items():  # the organizer's credentials in its environment: none reaches a job
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOSTILE_ENV", json.dumps([*secrets, "HARNESS_PLUGINS"]))
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
    # nor through a device or a socket
    assert {p: told[p] for p in devices} == {p: "No such file or directory" for p in devices}, told
    assert set(told["/dev"]) <= set(JOBS_DEV) and {"null", "urandom", "shm"} <= set(told["/dev"]), told["/dev"]
    assert told["/dev/null and /dev/urandom"] == "work", told
    if node.exists():
        assert told[str(node)] == "Permission denied", told  # no device node opens outside its /dev
    assert told["unix socket"] == "Connection refused", told  # the machine's sockets are covered
    listening.setblocking(False)
    with pytest.raises(BlockingIOError):
        listening.accept()  # no connection came
    listening.close()
    assert told["io_uring"] == "Permission denied", told
    assert told[str(key)] == "No such file or directory", told
    assert told["environment"] == {**dict.fromkeys(secrets), "HARNESS_PLUGINS": "hostile_backend"}, told
    assert told["/run"] == [], told["/run"]
    # the caches a GPU job writes (compiled kernels) are in its temporary folder, gone with it
    temporary = Path(told["temporary file"]).parent
    assert all(Path(told[name]).parent == temporary for name in CACHES), {name: told[name] for name in CACHES}


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


def test_the_syscall_filter_refuses_io_uring_and_other_abis_and_lets_the_rest_through():
    """What the seccomp filter lets a job do: internet and Unix sockets (its own: multiprocessing's), socket
    pairs, a fork pool (the harness's tokenization); what it refuses: an io_uring, a call of x86_64's x32 ABI."""
    code = (
        "import ctypes, os, socket, multiprocessing\n"
        "from harness.evaluation import limits\n"
        "print(limits.filter_syscalls())\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def tried(make):\n"
        "    try:\n"
        "        make().close()\n"
        "        return 'made'\n"
        "    except OSError as e:\n"
        "        return e.strerror\n"
        "print(tried(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)))\n"
        "print(tried(lambda: socket.socketpair()[0]))\n"
        "print(tried(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)))\n"
        "x32 = libc.syscall(ctypes.c_long(limits.X32_SYSCALL_BIT | 41), 1, 1, 0)\n"
        "print(os.strerror(ctypes.get_errno()) if x32 < 0 else 'made')\n"
        "ring = libc.syscall(ctypes.c_long(limits.SYS_IO_URING_SETUP), 4, ctypes.create_string_buffer(120))\n"
        "print(os.strerror(ctypes.get_errno()) if ring < 0 else 'set up')\n"
        "with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "    print(sum(pool.map(abs, [-1, -2, -3])))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    how, *rest = out.stdout.splitlines()
    if not how.startswith("filtered"):
        pytest.skip(f"no seccomp filter here: {how}")
    import platform

    x32 = "Permission denied" if platform.machine() == "x86_64" else rest[3]  # the bit means nothing elsewhere
    assert rest == ["made", "made", "made", x32, "Permission denied", "6"], out.stdout


def test_a_dataloader_with_worker_processes_runs_in_the_sandbox(tmp_path):
    """torch passes a worker process's batches through multiprocessing, over a Unix socket of the job's own."""
    own = tmp_path / "own"
    code = (
        "import sys, torch\nfrom pathlib import Path\nfrom harness.evaluation.limits import enter_limits\n"
        "own = Path(sys.argv[1])\n"
        "applied = enter_limits(None, None, None, {'own': own}, own / 'tmp')\n"
        "print(applied['files'].split(';')[0][:9], applied['syscalls'][:8])\n"
        "data = torch.utils.data.TensorDataset(torch.arange(64.0))\n"
        "loader = torch.utils.data.DataLoader(data, batch_size=8, num_workers=2)\n"
        "print(int(sum(batch[0].sum() for batch in loader)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(own)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    how, total = out.stdout.splitlines()
    if how != "read-only filtered":
        pytest.skip(f"no sandbox here: {how}")
    assert total == str(sum(range(64)))


def test_without_a_dev_of_its_own_the_job_says_its_files_are_not_read_only(tmp_path):
    """Should the job's /dev not be built, the machine's stays, writable: no claim of read-only files is made,
    and the job still has a /dev/shm of its own."""
    code = (
        "import os, sys\nfrom pathlib import Path\nfrom harness.evaluation import limits\n"
        "limits.JOB_DEVICES = (*limits.JOB_DEVICES, 'no-such-node')\n"
        "applied = limits.enter_limits(None, None, None, {'own': Path(sys.argv[1])}, None)\n"
        "if os.getpid() == 2 or not applied['processes'].startswith('contained'):\n"
        "    print(applied['files'])\n"
        "    print('loop-control' in os.listdir('/dev') or len(os.listdir('/dev')) > 12)\n"
        "    Path('/dev/shm', Path(sys.argv[1]).parent.name).write_text('the job')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "own")], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    how, machines = out.stdout.splitlines()
    if "mount namespace" not in how:
        pytest.skip(f"no mount namespace here: {how}")
    assert how.startswith("not read-only: "), how
    assert "the machine's /dev (its own not built: the machine has no /dev/no-such-node)" in how, how
    assert "a /proc of its own" in how and "no capability to undo it" in how, how  # sealed all the same
    assert machines == "True"
    assert not Path("/dev/shm", tmp_path.name).exists(), "the job's /dev/shm was the machine's"


@pytest.mark.gpu
def test_a_job_on_a_gpu_runs_in_its_sandbox_with_the_gpus_device_nodes(tmp_path, mirror, plugins):
    """A worker on cuda binds the GPU's nodes into its own /dev and writes its kernel caches in its $TMPDIR."""
    write_hostile_submission(tmp_path / "subs", "good", mirror, tasks=("rte",))
    assert _run(tmp_path, mirror, "--device", "cuda") == 0
    [record] = read_records(tmp_path / "results" / "records")
    assert record.ok and record.hardware == "gpu", record.error
    files = dict(record.environment or {})["worker"]["files"]
    assert files.startswith("read-only") and "nvidia" in files.split("a /dev of its own", 1)[1], files


def test_a_job_sees_nothing_of_a_private_place_but_the_paths_it_needs(tmp_path):
    """A home folder holds the organizer's keys and tokens: the job sees an empty one, with only its own folders,
    the paths it reads (by the name it was given, a link's included) and Python's own bound back in."""
    place = tmp_path / "home"
    (place / ".ssh").mkdir(parents=True)
    (place / ".ssh" / "id_ed25519").write_text("the organizer's key")
    (place / "project" / "data").mkdir(parents=True)
    (place / "project" / "data" / "rows.txt").write_text("rows")
    (place / "project" / "notes.txt").write_text("not read by the job")
    (place / "data-link").symlink_to(place / "project" / "data")
    own = place / "results" / "job"
    code = (
        "import json, os, sys\nfrom pathlib import Path\nfrom harness.evaluation.limits import files_read_only\n"
        "place, own = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "how = files_read_only({'own': own}, own / 'tmp', [str(place / 'data-link')], hidden=[str(place)])\n"
        "told = {'how': how, 'listed': sorted(os.listdir(place))}\n"
        "for name, path in {'key': place / '.ssh' / 'id_ed25519', 'by its link': place / 'data-link' / 'rows.txt',\n"
        "                   'by its own name': place / 'project' / 'data' / 'rows.txt',\n"
        "                   'beside it': place / 'project' / 'notes.txt',\n"
        "                   'from its working folder': Path('..', '.ssh', 'id_ed25519'),\n"
        "                   'beside its working folder': Path('notes.txt')}.items():\n"
        "    try:\n"
        "        told[name] = path.read_text()\n"
        "    except OSError as e:\n"
        "        told[name] = e.strerror\n"
        "for name, path in {'own': own / 'a.txt', 'data': place / 'project' / 'data' / 'b.txt'}.items():\n"
        "    try:\n"
        "        path.write_text('x')\n"
        "        told['write ' + name] = 'written'\n"
        "    except OSError as e:\n"
        "        told['write ' + name] = e.strerror\n"
        "print(json.dumps(told))\n"
    )
    cwd = place / "project"  # the organizer's working folder, in the place: the job's starts there
    command = [sys.executable, "-c", code, str(place), str(own)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)
    assert out.returncode == 0, out.stderr
    told = json.loads(out.stdout)
    if not told["how"].startswith("read-only"):
        pytest.skip(f"no mount namespace here: {told['how']}")
    assert told["how"].endswith(f"; empty but for the paths it needs: {place}"), told["how"]
    assert told["listed"] == ["data-link", "project", "results"], told
    assert told["key"] == told["beside it"] == "No such file or directory", told
    assert told["from its working folder"] == told["beside its working folder"] == "No such file or directory", told
    assert told["by its link"] == told["by its own name"] == "rows", told
    assert (told["write own"], told["write data"]) == ("written", "Read-only file system"), told
    assert (own / "a.txt").read_text() == "x" and (place / ".ssh" / "id_ed25519").is_file()
