"""`harness score --task TASK PREDICTIONS`: score a benchmark-format predictions file against gold.

Serves prediction-only submissions and lets anyone check the harness against the official scorers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score a predictions file in the benchmark's own format")
    p.add_argument("predictions", type=Path, help="GLUE TSV, SuperGLUE JSONL, SQuAD JSON or EfficientQA JSONL")
    p.add_argument("--task", required=True, help="task id, e.g. sst2, boolq, squad, nq_open")
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object (fractions)")
    p.set_defaults(func=run)


def score_file(task_name: str, predictions: Path, data_dir: str | None = None) -> dict[str, float]:
    """Metrics (fractions) of a predictions file for a task, against the task's gold data.

    A file that misses examples of the split is refused (UserError naming it), where the official SQuAD v1.1 and
    ReCoRD scripts would score the missing predictions as wrong: a leaderboard must not rank a partial file.
    """
    from harness.formats import read_predictions
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    task = get_task(task_name)
    rows = load_rows(task, data_dir)
    preds = read_predictions(task, predictions)
    uids = {task.uid(r) for r in rows}
    extra = sorted(set(preds) - uids)
    if extra:
        from harness.errors import UserError

        raise UserError(
            f"{predictions}: {len(extra)} predictions name examples that are not in the "
            f"{task.name} split (first: {extra[:3]})",
            fix="is this the right task?",
        )
    return task.compute_metrics(rows, preds, predictions_file=predictions)


def run(args: argparse.Namespace) -> int:
    """Print the metrics of the predictions file."""
    metrics = score_file(args.task, args.predictions, args.data_dir)
    if args.json:
        print(json.dumps(metrics, sort_keys=True))
    else:
        for name, value in metrics.items():
            print(f"{args.task} {name}: {100 * value:.2f}")
    return 0
