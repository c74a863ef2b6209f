"""Load a task's train rows from the local mirror: the file beside its evaluation file, read by the same reader.

GLUE's train sets keep the layout of their dev sets (glue/RTE/train.tsv beside glue/RTE/dev.tsv), so the task's
own reader gives rows in the same hub schema the evaluation split has. Training reads the mirror only.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from harness.errors import DataNotFound, UserError
from harness.tasks.base import Row, Task
from harness.tasks.data import DATA_DIR_ENV, check_rows, first, go_offline, resolve_data_dir

TRAIN_STEM = "train"  # the official train files' name in every GLUE-style layout (train.tsv, train.jsonl)


def train_file(task: Task) -> str:
    """The mirror path of a task's train file: `train` with the evaluation file's suffix, in the same folder."""
    dev = PurePosixPath(task.source.mirror_file)
    return str(dev.with_name(TRAIN_STEM + dev.suffix))


def trainable_tasks(root: Path) -> list[str]:
    """The tasks whose train file the mirror at `root` holds, in registry order."""
    from harness.tasks import get_task, task_names

    return [name for name in task_names() if (root / train_file(get_task(name))).is_file()]


def train_rows(task: Task, data_dir: str | Path | None, limit: int | None = None) -> list[Row]:
    """The task's train rows in the hub schema, read from the mirror; the first `limit` rows when one is given."""
    root = resolve_data_dir(data_dir)
    if root is None:
        raise UserError(
            f"task {task.name}: training reads the train file from a local mirror, and no data dir is set",
            fix=f"pass --data-dir DIR or set {DATA_DIR_ENV} to a mirror folder",
        )
    go_offline()
    path = root / train_file(task)
    if not path.is_file():
        have = trainable_tasks(root)
        raise DataNotFound(
            f"task {task.name}: no train file at {path}",
            fix=f"the mirror has train files for {', '.join(have) if have else 'no task'}; "
            f"put the official {train_file(task)} there to train on {task.name}",
        )
    rows = task.source.reader(path)
    if not rows:
        raise UserError(f"task {task.name}: {path} has no rows", fix="use the official train file")
    check_rows(task, rows, str(path))
    return first(task, rows, limit)
