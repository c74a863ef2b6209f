"""Load a task's evaluation rows: from a local mirror in the original layout, or from the hub.

With a data dir (argument or HARNESS_DATA_DIR) nothing touches the network: the hub's offline flags are
set and a missing file fails at once, naming the file the mirror needs and the hub id it mirrors. Without one,
a track run's organizer fetches each task's rows into the hub's cache (fetch_from_hub) before its jobs, which
have no network, read them from there.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

from harness.errors import DataNotFound, UserError
from harness.tasks.base import Row, Task

DATA_DIR_ENV = "HARNESS_DATA_DIR"
OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """The data dir from the argument or HARNESS_DATA_DIR; None means the hub."""
    value = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise UserError(
            f"data dir {path} does not exist", fix=f"pass --data-dir DIR or set {DATA_DIR_ENV} to a mirror folder"
        )
    return path


def task_block(task: Task, data_dir: str | Path | None) -> dict[str, str | None]:
    """The `task` block of a result record: the task, its version and split, and where its rows came from."""
    s = task.source
    hub = f"hub:{s.hub_path}" + (f"/{s.hub_config}" if s.hub_config else "")  # a dataset without configs names none
    source = f"mirror:{s.mirror_file}" if resolve_data_dir(data_dir) else hub
    return {
        "name": task.name,
        "benchmark": task.benchmark,
        "version": task.version,
        "kind": task.kind,
        "split": s.split,
        "source": source,
    }


def task_header(task_name: str) -> dict[str, Any]:
    """The task block known before anything runs (name, benchmark, version, kind, split), so that a failed run's
    record keys like a successful one; an unknown task keeps only its name (the run then fails saying so)."""
    from harness.tasks import get_task

    try:
        task = get_task(task_name)
    except UserError:
        return {"name": task_name}
    return {
        "name": task.name,
        "benchmark": task.benchmark,
        "version": task.version,
        "kind": task.kind,
        "split": task.source.split,
    }


def go_offline() -> None:
    """Make transformers, datasets and the hub client fail fast instead of waiting on the network."""
    for flag in OFFLINE_FLAGS:
        os.environ[flag] = "1"


def hub_id(task: Task) -> str:
    """The hub dataset, config and split a task reads, as one readable string."""
    s = task.source
    if s.hub_path is None:
        return "(none: this split is not on the hub)"
    return f"{s.hub_path}" + (f" (config {s.hub_config})" if s.hub_config else "") + f", split {s.split}"


def load_rows(task: Task, data_dir: str | Path | None = None, limit: int | None = None) -> list[Row]:
    """The task's evaluation rows in the hub schema; the first `limit` rows when a limit is given."""
    check_limit(task, limit)
    root = resolve_data_dir(data_dir)
    if root is not None:
        go_offline()
        path = root / task.source.mirror_file
        if not path.is_file():
            raise DataNotFound(
                f"task {task.name}: no data at {path}",
                fix=f"the mirror needs {task.source.mirror_file} "
                f"(the official file of hub dataset {hub_id(task)}), or drop --data-dir/{DATA_DIR_ENV} to use the hub",
            )
        rows = task.source.reader(path)
        where = str(path)
    else:
        rows = _hub_rows(task)
        where = f"hub dataset {hub_id(task)}"
    if not rows:
        raise UserError(f"task {task.name}: {where} has no rows")
    check_rows(task, rows, where)
    return first(task, rows, limit)


def fetch_from_hub(names: Sequence[str]) -> dict[str, str]:
    """Load each named task's rows from the hub once, into the hub's cache, for jobs that run off the network and
    read that cache; the tasks whose rows could not be fetched, each with why (their jobs then fail offline)."""
    from harness.tasks import get_task

    failed = {}
    for name in dict.fromkeys(names):
        try:
            load_rows(get_task(name))
        except Exception as e:  # noqa: BLE001 - the network, a missing config, a bad row: each job says it again
            failed[name] = f"{type(e).__name__}: {e}"
    return failed


def check_limit(task: Task, limit: int | None) -> None:
    """Refuse a limit that is not None or a whole number > 0: rows[:-5] or rows[:0] would keep the wrong rows."""
    if limit is not None and (type(limit) is not int or limit < 1):
        raise UserError(
            f"task {task.name}: limit {limit!r} is not a whole number > 0",
            fix="give a positive limit, or none for the whole split",
        )


def first(task: Task, rows: list[Row], limit: int | None) -> list[Row]:
    """The first `limit` rows (all for None), the limit checked first."""
    check_limit(task, limit)
    return rows if limit is None else rows[:limit]


def check_rows(task: Task, rows: list[Row], where: str) -> None:
    """Refuse a split that would score wrongly without a word: repeated example ids (predictions are matched by
    id), gold labels outside the task's labels, gold scores off its scale, questions without gold answers."""
    golds = [task.gold_of(r) for r in rows]
    if task.kind in ("classification", "regression", "multiple_choice"):
        unlabelled = sum(1 for gold in golds if gold in (-1, None))
        if unlabelled:
            raise UserError(
                f"task {task.name}: {unlabelled} rows of {where} have no gold label (-1)",
                fix="this split's labels are not public: use a labelled file in the mirror",
            )
    seen: dict[str, int] = {}
    for n, (row, gold) in enumerate(zip(rows, golds)):
        uid = task.uid(row)
        if uid in seen:
            raise UserError(
                f"task {task.name}: {where}: example id {uid!r} appears at rows {seen[uid]} and {n}; "
                "predictions are matched by id, so use the official file"
            )
        seen[uid] = n
        if task.labels:
            if type(gold) is not int or not 0 <= gold < len(task.labels):
                raise UserError(
                    f"task {task.name}: {where}: row {n} (id {uid!r}) has gold label {gold!r}, not one "
                    f"of 0..{len(task.labels) - 1} ({', '.join(task.labels)})",
                    fix="use the official file",
                )
        elif task.kind == "regression":
            low, high = task.gold_range or (-math.inf, math.inf)
            if type(gold) not in (int, float) or not low <= gold <= high:
                raise UserError(
                    f"task {task.name}: {where}: row {n} (id {uid!r}) has gold score {gold!r}, outside "
                    f"{low:g}..{high:g}",
                    fix="use the official file",
                )
        elif not task.answerless and not (isinstance(gold, list) and gold):
            raise UserError(
                f"task {task.name}: {where}: row {n} (id {uid!r}) has no gold answer; this is not the "
                "official labelled evaluation file"
            )


def _hub_rows(task: Task) -> list[Row]:
    """Rows of the task's split from the Hugging Face hub through `datasets`."""
    try:
        import datasets
    except ImportError as e:
        raise UserError("the `datasets` package is needed to load from the hub: pip install datasets") from e
    s = task.source
    if s.hub_path is None:
        raise DataNotFound(
            f"task {task.name}: this split has no copy on the Hugging Face hub",
            fix=f"put {s.mirror_file} under a mirror folder and pass --data-dir or set {DATA_DIR_ENV}",
        )
    try:
        ds = datasets.load_dataset(s.hub_path, s.hub_config, split=s.split)
    except Exception as e:  # network, missing config, offline mode: all end the same way for the user
        raise DataNotFound(
            f"task {task.name}: could not load hub dataset {hub_id(task)} ({type(e).__name__}: {e})",
            fix=f"offline, put {s.mirror_file} under a mirror folder and pass --data-dir or set {DATA_DIR_ENV}",
        ) from e
    if s.hub_rows is not None:
        return s.hub_rows(ds)
    return [dict(r) for r in ds]
