"""Backends that misbehave the way a stranger's model can, for the worker tests: one crashes the interpreter
(os.abort), one hangs, one allocates until memory runs out, one prints without end, one hands back another's record,
one leaves a process behind that escapes its process group (`escape`), one dies halfway through writing a file
(`partial`), one tries to write where no job may (`scribble`), one fails only while $HOSTILE_FAIL is set (`flaky`).
Importing this module registers
them, so a worker started with HARNESS_PLUGINS=hostile_backend has them too. Never used outside a worker: run
inline, `hog` would take the test machine's memory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.backends import BACKENDS

HARDWARE = "cpu"
HOG_CHUNK_BYTES = 64 << 20
SCRIBBLED = "SCRIBBLED "  # the line of stdout where `scribble` tells what each write did


def load(folder: Path, head: str, options: Any) -> Any:
    """Misbehave as the folder's name says: abort, hang or hog."""
    kind = Path(folder).parent.name.split("-")[0]
    if kind == "abort":
        os.abort()
    if kind == "hang":
        time.sleep(3600)
    if kind == "hog":
        chunks = []
        while True:
            chunks.append(bytearray(HOG_CHUNK_BYTES))
    if kind == "zforge":  # a task job's worker that hands back another submission's record as its own
        import json

        spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
        organizers = Path(spec["result"]).parents[3]  # RESULTS/.jobs/<run>/<job>/result.json
        [theirs, *_] = sorted(Path(organizers, "records", "good").glob("*.record.json"))
        Path(spec["result"]).write_text(json.dumps({"record": str(theirs), "ok": True}), encoding="utf-8")
        os._exit(0)
    if kind == "escape":  # a daemon in a session of its own, which no signal to the worker's group reaches
        _escape()
        if Path(folder).parent.name.endswith("-hang"):
            time.sleep(3600)
        raise RuntimeError("left a daemon behind")
    if kind == "partial":  # killed while writing a record: its temporary file stays behind
        import json

        from harness.records.store import partial_path

        spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
        tmp = partial_path(Path(spec["results"], "records", "partial", "rte.cpu.000000000000.record.json"))
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text("{half")
        print(f"PARTIAL {tmp.name}", flush=True)
        os._exit(3)
    if kind == "scribble":
        _scribble()
    if kind == "flaky":
        if os.environ.get("HOSTILE_FAIL"):
            raise RuntimeError("failed on purpose")
        from harness.backends.torch_hf import load as load_torch

        return load_torch(folder, head, options)
    if kind == "chatty":
        line = "x" * 1000 + "\n"
        while True:
            sys.stdout.write(line)
    raise AssertionError(f"no hostile behaviour for {folder}")


def _scribble() -> None:
    """Append a line to each file $HOSTILE_TARGETS names (a JSON map: name -> path), to a note in its own record
    folder, to a new file in /tmp and to one in its temporary folder; print what each write did (as JSON after SCRIBBLED), then fail."""
    import json

    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    own = Path(spec["results"], "records", "scribble", "note.txt")  # its own results folder (in its job folder)
    own.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    scratch = Path(tempfile.gettempdir(), f"hostile-scribble-{time.time_ns()}")
    targets = {
        **json.loads(os.environ.get("HOSTILE_TARGETS", "{}")),
        "its own record folder": own,
        "/tmp": Path("/tmp", scratch.name),
        "a temporary file": scratch,
        "shared memory": Path("/dev/shm", scratch.name),
    }
    told = {}
    for name, path in targets.items():
        try:
            with open(path, "ab") as fh:
                fh.write(b"scribbled\n")
            told[name] = "written"
        except OSError as e:
            told[name] = str(e.strerror)
    told["temporary file"] = str(scratch)
    told.update(_undo(spec))
    print(SCRIBBLED + json.dumps(told), flush=True)
    raise RuntimeError("scribbled where it could")


def _undo(spec: dict[str, Any]) -> dict[str, str]:
    """Try to undo or go around the read-only mounts: remount / writable, write into the organizer's results
    through the organizer's /proc entry (its root is the organizer's mounts), and make a device node of a disk in
    its own folder. What each did, by name."""
    import ctypes
    import stat

    from harness.evaluation.limits import MS_BIND, MS_REMOUNT

    libc = ctypes.CDLL(None, use_errno=True)
    results = spec["results"]
    organizers = Path(spec["result"]).parents[3]  # RESULTS/.jobs/<run>/<job>/result.json
    told = {}
    code = libc.mount(None, b"/", None, ctypes.c_ulong(MS_BIND | MS_REMOUNT), None)  # writable again, were it let
    told["remount"] = "done" if code == 0 else os.strerror(ctypes.get_errno())
    around = Path(f"/proc/{spec['parent']}/root{organizers}/planted-through-proc.txt")
    try:
        around.write_text("scribbled\n")
        told["through /proc"] = "written"
    except OSError as e:
        told["through /proc"] = str(e.strerror)
    node = Path(results, "records", "scribble", "disk")
    try:
        os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(8, 0))
        told["device node"] = "made"
        node.unlink()
    except OSError as e:
        told["device node"] = str(e.strerror)
    told.update(_around())
    return told


IO_URING_PARAMS_BYTES = 120  # sizeof(struct io_uring_params)


def _around() -> dict[str, Any]:
    """Try the ways past read-only mounts that are not file writes: open each device node $HOSTILE_DEVICES names
    (read-only: a disk or loop device written raw would change any file), connect to the Unix socket
    $HOSTILE_SOCKET names (a daemon's socket on a read-only file system still answers), and set up an io_uring
    (which makes sockets without the socket syscall). Also what /dev holds, and whether /dev/null and
    /dev/urandom still work. What each did, by name."""
    import ctypes
    import json
    import socket

    told: dict[str, Any] = {}
    for path in json.loads(os.environ.get("HOSTILE_DEVICES", "[]")):
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            told[path] = "opened"
        except OSError as e:
            told[path] = str(e.strerror)
    for path in json.loads(os.environ.get("HOSTILE_SECRETS", "[]")):  # files only the organizer should read
        try:
            told[path] = Path(path).read_text()
        except OSError as e:
            told[path] = str(e.strerror)
    told["/dev"] = sorted(os.listdir("/dev"))
    told["/run"] = sorted(os.listdir("/run")) if os.path.isdir("/run") else []  # daemons' sockets and state
    told["environment"] = {name: os.environ.get(name) for name in json.loads(os.environ.get("HOSTILE_ENV", "[]"))}
    with open("/dev/null", "wb") as null, open("/dev/urandom", "rb") as noise:
        told["/dev/null and /dev/urandom"] = "work" if null.write(b"x") == 1 and len(noise.read(8)) == 8 else "fail"
    if os.environ.get("HOSTILE_SOCKET"):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(os.environ["HOSTILE_SOCKET"])
                told["unix socket"] = "connected"
        except OSError as e:
            told["unix socket"] = str(e.strerror)
    for name in json.loads(os.environ.get("HOSTILE_CACHES", "[]")):  # each a cache folder's variable
        if not os.environ.get(name):
            told[name] = "unset"
            continue
        try:
            Path(os.environ[name]).mkdir(parents=True, exist_ok=True)
            Path(os.environ[name], "entry").write_text("cached")
            told[name] = os.environ[name]
        except OSError as e:
            told[name] = str(e.strerror)
    from harness.evaluation.limits import SYS_IO_URING_SETUP

    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(IO_URING_PARAMS_BYTES)
    ring = libc.syscall(ctypes.c_long(SYS_IO_URING_SETUP), ctypes.c_uint(4), params)
    told["io_uring"] = os.strerror(ctypes.get_errno()) if ring < 0 else "set up"
    if ring >= 0:
        os.close(ring)
    return told


def _escape() -> None:
    """Fork twice, the daemon in a new session; it creates a file in its job folder's `daemons` and keeps it open
    while it sleeps (a test finds the daemon, as the machine numbers it, by that open file)."""
    import json

    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    folder = Path(spec["result"]).parent / "daemons"
    folder.mkdir(exist_ok=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            held = os.open(folder / f"daemon-{time.time_ns()}", os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(held, b"sleeping")
            time.sleep(3600)
        os._exit(0)
    deadline = time.monotonic() + 30
    while not any(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)


for _name in ("abort", "hang", "hog", "chatty", "zforge", "escape", "partial", "scribble", "flaky"):
    if _name not in BACKENDS:
        BACKENDS.add(_name, "hostile_backend:load")
