"""Backends that misbehave the way a stranger's model can, for the worker tests: one crashes the interpreter
(os.abort), one hangs, one allocates until memory runs out, one prints without end, one hands back another's record. Importing this module registers
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
    if kind == "chatty":
        line = "x" * 1000 + "\n"
        while True:
            sys.stdout.write(line)
    raise AssertionError(f"no hostile behaviour for {folder}")


for _name in ("abort", "hang", "hog", "chatty", "zforge"):
    if _name not in BACKENDS:
        BACKENDS.add(_name, "hostile_backend:load")
