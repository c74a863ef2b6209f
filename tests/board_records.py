"""Hand-written result records and track files for ranking tests (no model runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.records import SCHEMA_VERSION, Record, new_record
from harness.tasks import get_task
from harness.tasks.confidence import score_confidence
from harness.tracks.definitions import load_track

STARTED = "2026-01-01T00:00:00+00:00"


# SuperGLUE's scored tasks and their metrics, as harness.tasks.superglue declares them (tests/scoring, tests/publish)
SUPERGLUE_METRICS = {
    "boolq": ("accuracy",),
    "cb": ("accuracy", "f1"),
    "copa": ("accuracy",),
    "multirc": ("exact_match", "f1_a"),
    "record": ("exact_match", "f1"),
    "superglue/rte": ("accuracy",),
    "wic": ("accuracy",),
    "wsc": ("accuracy",),
}


def record(
    sub: str,
    task: str,
    metrics: dict[str, float],
    score: float | None = None,
    *,
    params: int | None = None,
    flops: float | None = None,
    energy_kwh: float | None = None,
    system_bytes: int | None = None,
    status: str = "ok",
    kind: str | None = None,
    declared: dict | None = None,
    points: list | None = None,
    hardware: str = "cpu",
    name: str | None = None,
    started: str = STARTED,
    energy_label: str = "measured",
    limit: int | None = None,
    examples: int | None = None,
    split_examples: int | None = None,
    error: str = "boom",
) -> Record:
    """One result record as harness.evaluation.evaluate / harness.evaluation.track write it (by the one constructor,
    harness.records.new_record), with only the fields ranking reads.

    `limit`: a --limit run of `examples` rows; `split_examples`: the full split's rows, as new records carry it.
    """
    measurements: dict[str, Any] = {}
    if params is not None:
        measurements["params"] = {"total_params": params}
    if flops is not None:
        measurements["flops"] = {"flops_per_example": flops, "flops": flops}
    if energy_kwh is not None:
        measurements["energy"] = {"total_power_kwh": energy_kwh, "label": energy_label}
    if system_bytes is not None:
        measurements["system_size"] = {"total_bytes": system_bytes}
    task_block: dict[str, Any] = {"name": task}
    if split_examples is not None:
        task_block["split_examples"] = split_examples
    ok = status == "ok"
    return new_record(
        schema_version=1,
        harness_version="test",
        started_at=started,
        status=status,
        submission={"id": sub, "meta": {"name": name or sub.upper(), "team": "t", "methods": ["distillation"]}},
        task=task_block,
        metrics=metrics if ok else {},
        measurements=measurements,
        hardware=kind or hardware,
        settings={"limit": limit},
        num_examples=examples,
        score=(score if score is not None else sum(metrics.values()) / len(metrics)) if ok else None,
        error=None if ok else error,
        kind=kind or None,
        declared=declared or None,
        operating_points=points or None,
    )


def write_track(folder: Path, name: str, text: str) -> Path:
    """Write a track file under `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def tiny_pair(root: Path, mirror: Path, name: str, text: str) -> tuple[Path, Path, Path]:
    """Two tiny submissions (a, b) declaring sst2 and rte under root/subs, the track `name` written from `text`
    under root/tracks, and the results folder root/results: (submissions, track file, results)."""
    from harness.testing import tiny

    subs = root / "subs"
    for sub in ("a", "b"):
        tiny.write_tiny_submission(subs / sub, ["sst2", "rte"], mirror / tiny.VOCAB_FILE)
    return subs, write_track(root / "tracks", name, text), root / "results"


def track(folder: Path, name: str, text: str):
    """Write and load a track file."""
    return load_track(write_track(folder, name, text))


HEAD = "name: test track\ndescription: a track for tests\nsource: tests\nhardware: cpu\n"


def scored(sub, task_name, rows, predictions):
    """A record of `predictions` on `rows` as evaluation writes one: metrics, score and the bootstrap block."""
    task = get_task(task_name)
    metrics = task.compute_metrics(rows, predictions)
    return new_record(
        schema_version=SCHEMA_VERSION,
        harness_version="test",
        started_at=STARTED,
        status="ok",
        submission={"id": sub, "meta": {"name": sub.upper()}},
        task={"name": task_name, "split": task.source.split},
        metrics=metrics,
        score=task.score(metrics),
        hardware="cpu",
        settings={"limit": None},
        num_examples=len(rows),
        confidence=score_confidence(task, rows, predictions),
    )


def guesses(task, rows, right, seed=0):
    """Predictions that are right on a seeded share `right` of the rows, wrong (the other label) elsewhere."""
    rng = np.random.default_rng(seed)
    hits = rng.random(len(rows)) < right
    return {task.uid(r): task.gold_of(r) if hit else 1 - task.gold_of(r) for r, hit in zip(rows, hits)}


def one_apart(mirror, tasks, right: float, far: float, far_seed: int, extra=None) -> list:
    """Records of three submissions on `tasks` (mirror rows): a right on a seeded share `right`, b as a except one
    example of the first task (tied with a), c right on a share `far` (seed `far_seed`); `extra(record)` may add to
    each record."""
    from harness.tasks.data import load_rows

    records = []
    for name in tasks:
        task = get_task(name)
        rows = load_rows(task, mirror)
        a = guesses(task, rows, right)
        b = dict(a)
        if name == tasks[0]:
            b[next(u for u in a if a[u] == 1)] = 0
        for sub, predictions in (("a", a), ("b", b), ("c", guesses(task, rows, far, far_seed))):
            record = scored(sub, name, rows, predictions)
            records.append(extra(record) if extra else record)
    return records
