"""`harness tasks`: list every task with its benchmark, kind, data source, metrics and label order."""

from __future__ import annotations

import argparse

from harness.tasks.base import Task


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the tasks, their data, metrics and label order")
    p.set_defaults(func=run)


def label_order(task: Task) -> str:
    """`labels 0=entailment 1=not_entailment`: the index of each label, as prediction files may write it.

    The order is the dataset's (the hub's ClassLabel order, 0 = entailment for the NLI tasks), in which
    `harness evaluate` predicts and GLUE TSV files read an index; "" for tasks without labels.
    """
    if not task.labels:
        return ""
    return "labels " + " ".join(f"{index}={label}" for index, label in enumerate(task.labels))


def run(args: argparse.Namespace) -> int:
    """Print one line per registered task."""
    from harness.tasks import get_task, task_names
    from harness.tasks.data import hub_id

    names = task_names()
    width = max(map(len, names), default=0)  # the longest name keeps every line's columns aligned
    for name in names:
        t = get_task(name)
        metrics = ", ".join(m.name for m in t.metrics)
        labels = label_order(t)
        print(
            f"{name:{width}} {t.benchmark:10} {t.kind:16} {metrics:32} hub {hub_id(t)}; mirror {t.source.mirror_file}"
            + (f"; {labels}" if labels else "")
        )
    return 0
