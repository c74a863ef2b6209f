"""A stand-in for the Hugging Face hub, for the tests of a run without --data-dir (there is no internet here):
importing it (HARNESS_PLUGINS=fake_hub) with $FAKE_HUB_SOURCE set makes a task's hub rows come from $FAKE_HUB_SOURCE, a data mirror, through
a cache in $HF_DATASETS_CACHE that works as `datasets` does: a lock file written at every load, offline ones
included, and with $HF_DATASETS_OFFLINE=1 only what is cached already."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import harness.tasks.data as data

OFFLINE = "offline and not cached"


def _hub_rows(task: Any) -> list[dict[str, Any]]:
    cache = Path(os.environ["HF_DATASETS_CACHE"])
    cache.mkdir(parents=True, exist_ok=True)
    offline = os.environ.get("HF_DATASETS_OFFLINE") == "1"
    (cache / f"{task.name}.lock").write_text(f"{os.getpid()} {'offline' if offline else 'online'}\n")
    cached = cache / f"{task.name}.json"
    if not cached.exists():
        if offline:
            raise ConnectionError(f"{OFFLINE}: {cached}")
        rows = task.source.reader(Path(os.environ["FAKE_HUB_SOURCE"]) / task.source.mirror_file)
        cached.write_text(json.dumps(rows))
    return json.loads(cached.read_text())


if os.environ.get("FAKE_HUB_SOURCE"):  # a worker's plugin; not when pytest imports every module for doctests
    data._hub_rows = _hub_rows
