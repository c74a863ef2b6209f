"""`harness tasks`: list every task with its benchmark, kind, data source and metrics."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tasks", help="list the tasks, their data and metrics")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per registered task."""
    from harness.data import hub_id
    from harness.tasks import get_task, task_names

    for name in task_names():
        t = get_task(name)
        metrics = ", ".join(m.name for m in t.metrics)
        print(f"{name:18} {t.benchmark:10} {t.kind:16} {metrics:32} hub {hub_id(t)}; mirror {t.source.mirror_file}")
    return 0
