"""`harness rescore --results DIR`: re-score stale records (scored under an older version of their task's rules)
from the predictions file saved beside each one.

A scoring-rule fix bumps a task's version; its old records then show as stale on the boards. Re-scoring reads
the record's own predictions and the task's gold data, applies the current rules and writes a new record
(the task version is part of the key, so the old record stays as it was, beside the new one).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

RESCORED_ROBUSTNESS = (
    "re-scored from the predictions file: the perturbation suite needs the model, so it was not run again; re-run "
    "the evaluation with --perturb for it"
)

if TYPE_CHECKING:
    from harness.records import Record


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rescore", help="re-score stale records from their saved predictions files")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument(
        "--submission",
        action="append",
        dest="submissions",
        metavar="ID",
        help="only this submission's records (repeatable)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Re-score every stale ok record under the results folder; print one line per record."""
    from harness.errors import UserError
    from harness.records import is_stale, key_digest, read_records

    folder = args.results / "records"
    if not folder.is_dir():
        raise UserError(f"{folder}: no records folder", fix="pass the --results folder that `harness evaluate` wrote")
    records = read_records(folder)
    have = {key_digest(r.key) for r in records if r.ok}  # a failed re-run re-scored nothing
    stale = [
        r
        for r in records
        if r.ok
        and is_stale(r)
        and key_digest(current_key(r)) not in have
        and (not args.submissions or r.submission.id in args.submissions)
    ]
    failed = 0
    for record in stale:
        where = f"{record.submission.id} / {record.task.name}"
        try:
            new = rescore(record, args.data_dir, args.results)
        except UserError as e:  # one record that cannot be re-scored must not stop the others
            print(f"NOT RESCORED {where}: {e}")
            failed += 1
            continue
        print(
            f"{where}: task version {record.task.version} -> {new.task.version}, score "
            f"{100 * (record.score or 0.0):.2f} -> {100 * (new.score or 0.0):.2f}\n  record: {new.path}"
        )
    if not stale:
        print(f"no stale records under {folder}")
    return 1 if failed else 0


def current_key(record: Record) -> dict[str, Any]:
    """The key `record` has once re-scored: the same, under its task's current version."""
    from dataclasses import replace

    from harness.records import record_key
    from harness.tasks import get_task

    version = get_task(record.task.name).version
    return record_key(record.with_(task=replace(record.task, version=version)))


def rescore(record: Record, data_dir: Any, results: Path) -> Record:
    """A copy of `record` scored by the task's current rules from its predictions file, written under its key."""
    from datetime import datetime, timezone

    from harness.errors import UserError
    from harness.formats import predictions_path, read_predictions
    from harness.formats.outputs import outputs_path
    from harness.records import record_key, record_path, store_record, validate
    from harness.records.store import record_stem
    from harness.tasks import get_task
    from harness.tasks.confidence import score_confidence
    from harness.tasks.data import first, load_rows, task_block

    task = get_task(record.task.name)
    if not record.predictions_file:
        raise UserError(f"{record.path}: no predictions_file to re-score from", fix="re-run the evaluation")
    predictions_file = Path(str(record.path)).with_name(record.predictions_file)
    predictions = read_predictions(task, predictions_file)
    rows = first(task, load_rows(task, data_dir), (record.settings or {}).get("limit"))
    if len(rows) != record.num_examples:
        raise UserError(
            f"{record.path}: scored {record.num_examples} examples, the data gives {len(rows)}",
            fix="pass the --data-dir it was evaluated on, or re-run the evaluation",
        )
    metrics = task.compute_metrics(rows, predictions, predictions_file=predictions_file)
    new = {k: v for k, v in record.to_dict().items() if k != "key"}
    new.update(
        task=task_block(task, data_dir) | {"split_examples": record.task.split_examples},
        metrics=metrics,
        score=task.score(metrics),
        confidence=score_confidence(task, rows, predictions),  # resampled under the current rules too
        started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    if record.robustness is not None:
        new["robustness"] = {"not_measured": RESCORED_ROBUSTNESS}
    new["task"] = {k: v for k, v in new["task"].items() if v is not None}
    new["key"] = record_key(new)
    path = record_path(results, new)
    copy = predictions_path(task, record_stem(path))
    new["predictions_file"] = copy.name
    outputs = Path(str(record.path)).with_name(record.outputs_file) if record.outputs_file else None
    if outputs is not None and outputs.is_file():  # the per-example outputs follow the predictions (agreement)
        new["outputs_file"] = outputs_path(record_stem(path)).name
    else:
        new.pop("outputs_file", None)
    validate(new, str(path))  # before anything is written: a refused record leaves no file behind
    copy.write_bytes(predictions_file.read_bytes())  # the new record's predictions, under its own name
    if outputs is not None and "outputs_file" in new:
        path.with_name(new["outputs_file"]).write_bytes(outputs.read_bytes())
    return store_record(new, results)
