"""Prediction-file formats, one module each: the benchmarks' own submission formats.

`harness evaluate` writes a task's predictions in its format and `harness score` reads them back, so
both go through one scoring path. A format module defines `SUFFIX`, `write(task, predictions, path)`
and `read(task, path) -> {uid: prediction}`. Beside them, `outputs.py` keeps a model's per-example outputs
(`<record stem>.outputs.npz`), which teacher agreement reads.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Mapping

from harness.registry import Registry
from harness.tasks.base import Prediction, Task

FORMATS: Registry[ModuleType] = Registry("prediction format")
FORMATS.add("glue_tsv", "harness.formats.glue_tsv")
FORMATS.add("superglue_jsonl", "harness.formats.superglue_jsonl")
FORMATS.add("squad_json", "harness.formats.squad_json")
FORMATS.add("efficientqa_jsonl", "harness.formats.efficientqa_jsonl")


def format_module(task: Task) -> ModuleType:
    """The module implementing the task's prediction format."""
    return FORMATS.get(task.format, f"task {task.name}")


def predictions_path(task: Task, stem: Path) -> Path:
    """Where a task's predictions file goes, next to a record with the given stem."""
    return stem.with_name(stem.name + ".predictions" + format_module(task).SUFFIX)


def write_predictions(task: Task, predictions: Mapping[str, Prediction], path: Path) -> None:
    """Write predictions (keyed by uid) in the task's benchmark format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    format_module(task).write(task, predictions, path)


def read_predictions(task: Task, path: Path) -> dict[str, Prediction]:
    """Read a predictions file in the task's benchmark format into {uid: prediction}."""
    from harness.errors import UserError

    if not Path(path).is_file():
        raise UserError(f"{path}: no such predictions file")
    return format_module(task).read(task, Path(path))
