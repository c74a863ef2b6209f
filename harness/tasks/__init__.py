"""The task registry: every benchmark module registers its tasks here on first use.

A new benchmark is one module plus one line in TASK_MODULES.
"""

from __future__ import annotations

import importlib

from harness.registry import Registry
from harness.tasks.base import Task

TASKS: Registry[Task] = Registry("task")

TASK_MODULES = (
    "harness.tasks.glue",
    "harness.tasks.superglue",
    "harness.tasks.squad",
    "harness.tasks.nq_open",
    "harness.tasks.elue",
    "harness.tasks.ood",
)

_loaded = False


def _load_all() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in TASK_MODULES:
            importlib.import_module(module)


def register_task(task: Task) -> Task:
    """Add a task to the registry under its name."""
    TASKS.add(task.name, task)
    return task


def get_task(name: str, where: str = "") -> Task:
    """The task called `name`; an unknown name raises UserError with the known names."""
    _load_all()
    return TASKS.get(name, where)


def task_names() -> list[str]:
    """All registered task names, in benchmark order."""
    _load_all()
    return TASKS.names()
