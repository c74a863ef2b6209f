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
        [theirs, *_] = sorted(Path(spec["results"], "records", "good").glob("*.record.json"))
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
    own = Path(spec["results"], "records", "scribble", "note.txt")
    import tempfile

    scratch = Path(tempfile.gettempdir(), f"hostile-scribble-{time.time_ns()}")
    targets = {
        **json.loads(os.environ.get("HOSTILE_TARGETS", "{}")),
        "its own record folder": own,
        "/tmp": Path("/tmp", scratch.name),
        "a temporary file": scratch,
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
    print(SCRIBBLED + json.dumps(told), flush=True)
    raise RuntimeError("scribbled where it could")


def _escape() -> None:
    """Fork twice, the daemon in a new session; it writes its process id as the machine sees it (procfs's own view,
    not its namespace's) as a file in the folder $HOSTILE_PID_DIR, then sleeps."""
    folder = Path(os.environ["HOSTILE_PID_DIR"])
    before = set(folder.iterdir())
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            pid = os.readlink("/proc/self")
            (folder / f".{pid}").write_text(pid)
            os.replace(folder / f".{pid}", folder / pid)
            time.sleep(3600)
        os._exit(0)
    deadline = time.monotonic() + 30
    while set(folder.iterdir()) == before and time.monotonic() < deadline:
        time.sleep(0.05)


for _name in ("abort", "hang", "hog", "chatty", "zforge", "escape", "partial", "scribble", "flaky"):
    if _name not in BACKENDS:
        BACKENDS.add(_name, "hostile_backend:load")
