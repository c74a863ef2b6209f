"""Prediction-only submissions: predictions files plus self-reported numbers, as ELUE accepts them.

A folder `submissions/ID/` holding `predictions.yaml` (instead of submission.yaml and a model):

    name: ElasticBERT exits (self-reported)   # required
    team: Example Lab                         # team or authors
    contact: someone@example.org              # required
    methods: [other]                          # required; harness.submissions.METHODS
    paper: https://arxiv.org/abs/0000.00000   # optional
    description: early exits 1..12            # optional
    declared:                                 # self-reported; shown marked as such
      parameters: 109482240                   # exact count (cutoffs compare it exactly)
      size_bytes: 438000000                   # optional
      system_bytes: 440000000                 # optional
    tasks:                                    # task id -> operating points; a static model lists one
      sst2:
        - {predictions: sst2-exit1.tsv, flops: 1.1e9, label: exit 1}   # file in the task's benchmark format
        - {predictions: sst2-exit12.tsv, flops: 11.2e9, label: exit 12} # flops: per example, 2 x MACs

`harness run` scores every point's file against the gold data and writes one record per task
(kind "self-reported"): metrics of the first point, all points under `operating_points`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.records import SCHEMA_VERSION, Record
from harness.yamlcheck import Checker, read_yaml

PREDICTIONS_FILE = "predictions.yaml"
HARDWARE = "self-reported"
TOP_KEYS = ("name", "team", "authors", "contact", "paper", "code", "methods", "description", "declared", "tasks")
DECLARED_KEYS = ("parameters", "size_bytes", "system_bytes")
POINT_KEYS = ("predictions", "flops", "label")


@dataclass(frozen=True)
class Point:
    """One operating point: a predictions file and its self-reported FLOPs per example."""

    predictions: Path
    flops: float | None
    label: str


@dataclass(frozen=True)
class SelfReport:
    """A validated predictions.yaml."""

    id: str
    path: Path
    meta: dict[str, Any]
    declared: dict[str, int]
    tasks: dict[str, tuple[Point, ...]]


def load_self_report(folder: str | Path) -> SelfReport:
    """Parse and validate `folder/predictions.yaml`; every problem raises one ConfigError naming file and key."""
    from harness.submissions import METHODS
    from harness.submissions.schema import EMAIL_PATTERN
    from harness.tasks import task_names

    folder = Path(folder)
    file = folder / PREDICTIONS_FILE
    c = Checker(str(file))
    top = c.mapping(read_yaml(file), "", TOP_KEYS, ("name", "contact", "methods", "tasks")) or {}
    meta: dict[str, Any] = {k: c.text(top[k], k) for k in ("name", "team", "paper", "code", "description") if k in top}
    if "team" not in top and "authors" not in top:
        c.fail("team", "missing: give a team or authors")
    meta["authors"] = [
        c.text(a, f"authors[{i}]") for i, a in enumerate(c.sequence(top.get("authors", []), "authors") or [])
    ]
    contact = c.text(top.get("contact"), "contact")
    if contact and not EMAIL_PATTERN.match(contact):
        c.fail("contact", f"not an email address: {contact!r}")
    meta["methods"] = [
        c.text(m, f"methods[{i}]", METHODS)
        for i, m in enumerate(c.sequence(top.get("methods"), "methods", non_empty=True) or [])
    ]
    block = c.mapping(top.get("declared", {}), "declared", DECLARED_KEYS) or {}
    declared = {k: c.integer(v, f"declared.{k}") for k, v in block.items() if k in DECLARED_KEYS}
    tasks: dict[str, tuple[Point, ...]] = {}
    for name, points in (c.mapping(top.get("tasks"), "tasks", task_names()) or {}).items():
        got = []
        for i, item in enumerate(c.sequence(points, f"tasks.{name}", non_empty=True) or []):
            where = f"tasks.{name}[{i}]"
            p = c.mapping(item, where, POINT_KEYS, ("predictions",))
            if p is None:
                continue
            rel = c.text(p.get("predictions"), f"{where}.predictions")
            file_path = (folder / rel).resolve() if rel else None
            if file_path is not None and (not file_path.is_relative_to(folder.resolve()) or not file_path.is_file()):
                c.fail(f"{where}.predictions", f"no file {rel!r} inside the submission folder")
            flops = c.number(p["flops"], f"{where}.flops", 0, above=True) if "flops" in p else None
            label = c.text(p["label"], f"{where}.label") if "label" in p else f"point {i + 1}"
            got.append(Point(file_path, flops, label or ""))  # type: ignore[arg-type]
        tasks[name] = tuple(got)
    c.raise_if_any(str(file))
    return SelfReport(folder.resolve().name, folder, meta, declared, tasks)


def score_points(report: SelfReport, task_name: str, data_dir: Any, limit: int | None) -> dict[str, Any]:
    """Score each operating point's file on the task's split; returns the record fields of a self-reported record."""
    from harness.errors import UserError
    from harness.formats import read_predictions
    from harness.tasks import get_task
    from harness.tasks.data import first, load_rows, task_block

    task = get_task(task_name)
    split = load_rows(task, data_dir)
    rows = first(task, split, limit)
    uids = {task.uid(r) for r in rows}
    every = {task.uid(r) for r in split}  # with a limit, ids are still checked against the whole split
    from harness.tasks.confidence import score_confidence

    points, confidence = [], None
    for point in report.tasks[task_name]:
        predictions = read_predictions(task, point.predictions)
        extra = sorted(set(predictions) - every)
        if extra:
            raise UserError(
                f"{point.predictions}: {len(extra)} predictions name examples outside the {task.name} split "
                f"(first: {extra[:3]})",
                fix="is this the right task?",
            )
        scored = {u: predictions[u] for u in uids if u in predictions}
        metrics = task.compute_metrics(rows, scored, predictions_file=point.predictions)
        if confidence is None:  # the record's interval is its first point's, the one it is ranked by
            confidence = score_confidence(task, rows, scored)
        points.append(
            {
                "label": point.label,
                "predictions_file": point.predictions.name,
                "flops": point.flops,
                "metrics": metrics,
                "score": task.score(metrics),
            }
        )
    return {
        "task": task_block(task, data_dir),
        "num_examples": len(rows),
        "metrics": points[0]["metrics"],
        "score": points[0]["score"],
        "operating_points": points,
        "confidence": confidence,
        "declared": {**report.declared, "flops": points[0]["flops"]},
    }


def write_self_reported(
    report: SelfReport,
    task_name: str,
    track_id: str,
    *,
    data_dir: Any = None,
    results_dir: str | Path = "results",
    limit: int | None = None,
    files: dict[str, str] | None = None,
) -> Record:
    """Score one task of a prediction-only submission and write its record (failed, with the cause, on error).

    `files`: the folder's sha256 per file, when the caller already hashed it (for several tasks).
    """
    from harness.errors import UserError
    from harness.records import new_record, record_key, store_record
    from harness.submissions.hashing import combined_sha256, sha256_files
    from harness.tasks.data import task_header

    files = sha256_files(report.path) if files is None else files
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": __version__,
        "kind": "self-reported",
        "hardware": HARDWARE,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "submission": {"id": report.id, "sha256": combined_sha256(files), "files": files, "meta": report.meta},
        "task": task_header(task_name),
        "metrics": {},
        "status": "failed",
        "settings": {"limit": limit},
        "track_run": {"track": track_id},
    }
    try:
        record.update(score_points(report, task_name, data_dir, limit))
        record["status"] = "ok"
    except UserError as e:
        record["error"] = f"submission {report.id}, task {task_name}: {e}"
    return store_record(new_record(**record, key=record_key(record)), Path(results_dir))
