"""The ELUE score (Liu et al. 2022): how far a submission's (FLOPs, perf) points lie above a reference curve.

Per task, score = mean over the submission's points of perf - perf_ref(FLOPs), perf on 0-100 and
perf_ref interpolated piecewise-linearly in FLOPs through the reference model's points; the overall
score is the mean over tasks. A static model has one point per task, an early-exit model several.
Outside the curve's FLOPs range the track chooses (`outside`): `clamp` (default) holds the end
point's perf flat, `linear` extends the end segment, `exclude` leaves the point unscored.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Mapping, Sequence

Curve = Sequence[tuple[float, float]]  # (FLOPs, perf 0-100), sorted by FLOPs, FLOPs distinct


@dataclass(frozen=True)
class ScoredPoint:
    """One operating point of a submission on one task, against the reference curve."""

    task: str
    label: str
    flops: float
    perf: float
    perf_ref: float | None  # None: not scored (outside the range under `exclude`, or no curve for the task)
    delta: float | None
    outside_range: bool


@dataclass(frozen=True)
class ELUEResult:
    """Overall ELUE score (None when a task cannot be scored), per-task scores and every point."""

    score: float | None
    tasks: dict[str, float | None] = field(default_factory=dict)
    points: tuple[ScoredPoint, ...] = ()
    note: str = ""


def reference_perf(curve: Curve, flops: float, outside: str = "clamp") -> tuple[float | None, bool]:
    """(perf_ref at `flops`, whether `flops` lies outside the curve's range).

    >>> reference_perf([(1.0, 80.0), (3.0, 90.0)], 2.0)
    (85.0, False)
    >>> reference_perf([(1.0, 80.0), (3.0, 90.0)], 5.0, "linear")
    (100.0, True)
    """
    if not curve:
        return None, False
    xs = [x for x, _ in curve]
    lo, hi = xs[0], xs[-1]
    out = flops < lo or flops > hi
    if out and outside == "exclude":
        return None, True
    if out and (outside == "clamp" or len(curve) == 1):
        return (curve[0][1] if flops < lo else curve[-1][1]), True
    if len(curve) == 1:
        return curve[0][1], False
    i = min(max(bisect_left(xs, flops), 1), len(xs) - 1)  # segment [i-1, i]; the end segments extend outside
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    return y0 + (y1 - y0) * (flops - x0) / (x1 - x0), out


def elue_score(
    points: Mapping[str, Sequence[tuple[str, float, float]]], curves: Mapping[str, Curve], outside: str = "clamp"
) -> ELUEResult:
    """Score {task: [(label, flops, perf), ...]} against {task: curve}; every task needs a curve and a point."""
    scored: list[ScoredPoint] = []
    per_task: dict[str, float | None] = {}
    problems = []
    for task, task_points in points.items():
        curve = curves.get(task) or ()
        deltas = []
        for label, flops, perf in task_points:
            ref, out = reference_perf(curve, flops, outside)
            delta = None if ref is None else perf - ref
            scored.append(ScoredPoint(task, label, flops, perf, ref, delta, out))
            if delta is not None:
                deltas.append(delta)
        per_task[task] = sum(deltas) / len(deltas) if deltas else None
        if not curve:
            problems.append(f"{task}: the reference curve has no points")
        elif not deltas:
            problems.append(f"{task}: no point inside the reference range (outside: {outside})")
    if not points:
        problems.append("no task has a point")
    score = None if problems else sum(per_task.values()) / len(per_task)  # type: ignore[arg-type]
    return ELUEResult(score, per_task, tuple(scored), "; ".join(problems))
