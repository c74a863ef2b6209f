"""Inference backends: one module each, registered here by name."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.backends.base import LoadOptions, Model
from harness.errors import UserError
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.tasks.base import Task

BACKENDS: Registry = Registry("backend")
BACKENDS.add("torch", "harness.backends.torch_hf:load")


def load_model(folder: str | Path, head: str, options: LoadOptions = LoadOptions(), backend: str = "torch") -> Model:
    """Load a model folder for `head` with the named backend."""
    return BACKENDS.get(backend)(folder, head, options)


COSINE = "cosine"


def task_head(task: str | Task, head: str | None = None) -> str:
    """The head a model runs `task` with, for every command alike: `head` (declared or --head), else the task
    kind's default (its formulation's first head); a head that cannot do the task is refused."""
    from harness.formulations import formulation
    from harness.tasks import get_task

    task = get_task(task) if isinstance(task, str) else task
    heads = formulation(task).HEADS
    chosen = head or heads[0]
    if chosen not in heads:
        raise UserError(f"head {chosen!r} cannot do a {task.kind} task; use one of {', '.join(heads)}")
    if chosen == COSINE and task.kind != "regression":  # a similarity score is no class label
        raise UserError(f"head {chosen!r} gives a similarity score, which task {task.name} ({task.kind}) cannot use; "
                        f"use {heads[0]!r}")
    return chosen
