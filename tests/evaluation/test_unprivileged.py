"""The worker's isolation as an unprivileged user sees it (issue 14): a laptop's organizer is not root, so the
network, file and process containment go through a user namespace of their own, a path that root (this suite's
machine and CI) never takes. The real limits module runs as `nobody` under the system's Python, which needs
nothing but the standard library for it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from conftest import JOBS_DEV, processes_holding

import harness.errors
import harness.evaluation.limits
from harness.records.store import WRITER_PID_ENV

SYSTEM_PYTHON = Path("/usr/bin/python3")
USER = "nobody"
# As `nobody`: leave the network, make the files read-only but for `own`, contain the processes and seal the files,
# then try each write, a remount, a path through the organizer's /proc entry, and leave a daemon behind (a double
# fork into a session of its own) that holds a file open and sleeps.
SCRIPT = """
import ctypes, json, os, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from harness.evaluation import limits
own, other = Path(sys.argv[2]), Path(sys.argv[3])
outside = os.getpid()
sockets = limits.machine_sockets()  # as the worker does: listed before it leaves the machine's network
told = {"network": limits.network_off(), "files": limits.files_read_only({"own": own}, own / "tmp", sockets=sockets)}
told["processes"] = limits.contain_processes()
told["files"] += limits.seal_files(told["processes"].startswith("contained"))[1]
told["syscalls"] = limits.filter_syscalls()
told["pid"] = os.getpid()
told["/dev"] = sorted(os.listdir("/dev"))
import socket
try:
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(sys.argv[4])
        told["unix socket"] = "connected"
except OSError as e:
    told["unix socket"] = e.strerror
libc = ctypes.CDLL(None, use_errno=True)
remounted = libc.mount(None, str(other).encode(), None, ctypes.c_ulong(limits.MS_BIND | limits.MS_REMOUNT), None)
told["remount"] = "done" if remounted == 0 else os.strerror(ctypes.get_errno())
for name, path in {"own": own / "a.txt", "other": other / "b.txt", "tmpdir": Path(tempfile.gettempdir(), "c.txt"),
                   "/tmp": Path("/tmp", own.parent.name + ".d.txt"),
                   "via /proc": Path(f"/proc/{outside}/root{other}/e.txt")}.items():
    try:
        path.write_text("x")
        told[name] = "written"
    except OSError as e:
        told[name] = e.strerror
(own / "daemons").mkdir()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        held = os.open(own / "daemons" / "daemon", os.O_CREAT | os.O_WRONLY, 0o644)
        time.sleep(3600)
    os._exit(0)
while not (own / "daemons" / "daemon").exists():
    time.sleep(0.05)
print(json.dumps(told))
"""


@pytest.fixture
def unprivileged():
    """A folder `nobody` can reach (a test's tmp_path is root's own), holding a copy of the limits module and what
    it imports, a folder `nobody` owns and one it does not; removed afterwards."""
    if os.getuid() != 0 or not SYSTEM_PYTHON.is_file() or shutil.which("runuser") is None:
        pytest.skip("needs root, runuser and the system's Python to run as an unprivileged user")
    root = Path(tempfile.mkdtemp(prefix="harness-unprivileged-", dir="/tmp"))
    try:
        package = root / "code" / "harness"
        (package / "evaluation").mkdir(parents=True)
        (package / "records").mkdir()
        for folder in (package, package / "evaluation", package / "records"):
            (folder / "__init__.py").write_text("")
        shutil.copy(harness.errors.__file__, package / "errors.py")
        shutil.copy(harness.evaluation.limits.__file__, package / "evaluation" / "limits.py")
        # the one name limits takes from the record store (which needs the harness's dependencies)
        (package / "records" / "store.py").write_text(f"WRITER_PID_ENV = {WRITER_PID_ENV!r}\n")
        own, other = root / "own", root / "other"
        own.mkdir()
        other.mkdir()
        shutil.chown(own, USER)
        shutil.chown(other, USER)  # writable to nobody on disk: only the mount namespace stops the write
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
        Path("/tmp", root.name + ".d.txt").unlink(missing_ok=True)  # written only were /tmp writable to the job


def test_an_unprivileged_worker_is_off_the_network_writes_only_its_own_folders_and_leaves_no_process(unprivileged):
    own, other = unprivileged / "own", unprivileged / "other"
    cmd = [
        "runuser",
        "-u",
        USER,
        "--",
        str(SYSTEM_PYTHON),
        "-c",
        SCRIPT,
        str(unprivileged / "code"),
        str(own),
        str(other),
        str(unprivileged / "organizer.sock"),
    ]
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(str(unprivileged / "organizer.sock"))  # a daemon's socket that anyone may connect to
    os.chmod(unprivileged / "organizer.sock", 0o777)
    listening.listen(1)
    with listening:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    told = json.loads(out.stdout)
    if not told["network"].startswith("none"):
        pytest.skip(f"no unprivileged user namespaces here: {told['network']}")
    assert told["network"] == "none (own user and network namespace)", told
    assert told["files"].startswith("read-only but for own, a temporary folder of its own"), told
    assert "a /dev/shm of its own" in told["files"], told
    assert "left writable" not in told["files"], told
    assert told["processes"].startswith("contained") and told["pid"] == 2, told
    assert "a /proc of its own" in told["files"] and "no capability to undo it" in told["files"], told
    assert "not sealed" not in told["files"], told
    assert (told["own"], told["tmpdir"]) == ("written", "written"), told
    assert told["other"] == told["/tmp"] == "Read-only file system", told
    assert told["remount"] == "Operation not permitted", told
    assert told["via /proc"] == "No such file or directory", told
    assert set(told["/dev"]) <= set(JOBS_DEV) and {"null", "urandom", "shm"} <= set(told["/dev"]), told["/dev"]
    assert told["syscalls"].startswith("filtered") and told["unix socket"] == "Connection refused", told
    assert not (other / "b.txt").exists() and not (other / "e.txt").exists() and (own / "tmp" / "c.txt").is_file()
    assert processes_holding(own / "daemons") == [] or _waited_out(own / "daemons"), "the job's daemon outlived it"


def _waited_out(folder: Path, seconds: float = 10) -> bool:
    """Whether the processes holding a file of `folder` end within `seconds` (those left are killed)."""
    deadline = time.monotonic() + seconds
    while processes_holding(folder) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes_holding(folder)
    for pid in left:
        os.kill(pid, 9)
    return not left
