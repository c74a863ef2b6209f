"""Dynascore (Ma et al. 2021, Dynaboard): a weighted utility that puts compute, memory or energy in units of performance.

Each metric is signed so that higher is better, then divided by its average marginal rate of
substitution (AMRS) with performance: the mean of |delta metric| / delta perf over the submissions
taken in order of performance, adjacent pairs only. Weights are normalised to sum to 1 and the
Dynascore is the weighted sum. Performance itself has AMRS 1. The AMRS depends on the submissions
on the board, so Dynascores compare within one board only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

# Adjacent pairs whose performance differs by at most this share of the best performance are skipped:
# their ratio would explode (Dynaboard's implementation skips them with the same proportion, 1e-4).
DELTA_CUTOFF_PROPORTION = 1e-4


@dataclass(frozen=True)
class DynascoreResult:
    """Per-row Dynascores (None: a weighted value missing), the normalised weights and each metric's AMRS."""

    scores: tuple[float | None, ...]
    weights: dict[str, float] = field(default_factory=dict)
    amrs: dict[str, float | None] = field(default_factory=dict)
    note: str = ""


def dynascore(
    rows: Sequence[Mapping[str, float | None]],
    weights: Mapping[str, float],
    higher_is_better: Mapping[str, bool],
    perf: str = "score",
) -> DynascoreResult:
    """Dynascore of each row {column: value}; `perf` names the performance column the AMRS is taken against.

    >>> r = dynascore([{"score": 80, "ms": 10}, {"score": 90, "ms": 30}], {"score": 2, "ms": 1},
    ...               {"score": True, "ms": False})
    >>> [round(s, 2) for s in r.scores], r.amrs["ms"]
    ([51.67, 55.0], 2.0)
    """
    total = sum(weights.values())
    norm = {k: w / total for k, w in weights.items()} if total > 0 else {}
    needed = list(dict.fromkeys([perf, *norm]))
    complete = [i for i, r in enumerate(rows) if all(r.get(k) is not None for k in needed)]
    order = sorted(complete, key=lambda i: rows[i][perf])  # type: ignore[arg-type, return-value]
    best = max((abs(float(rows[i][perf])) for i in complete), default=0.0)  # type: ignore[arg-type]
    pairs = [
        (a, b)
        for a, b in zip(order, order[1:])
        if float(rows[b][perf]) - float(rows[a][perf]) > DELTA_CUTOFF_PROPORTION * best
    ]  # type: ignore[arg-type]
    if not norm or not pairs:
        why = (
            "no weights"
            if not norm
            else "fewer than two submissions with distinct performance and every weighted value"
        )
        return DynascoreResult(tuple(None for _ in rows), norm, {k: None for k in norm}, f"no Dynascore: {why}")
    amrs: dict[str, float | None] = {}
    for k in norm:
        ratios = [
            abs(float(rows[b][k]) - float(rows[a][k])) / (float(rows[b][perf]) - float(rows[a][perf]))  # type: ignore[arg-type]
            for a, b in pairs
        ]
        amrs[k] = sum(ratios) / len(ratios)
    flat = [k for k, v in amrs.items() if not v]
    scores: list[float | None] = []
    for i, r in enumerate(rows):
        if i not in complete:
            scores.append(None)
            continue
        sign = {k: 1.0 if higher_is_better.get(k, True) else -1.0 for k in norm}
        scores.append(sum(norm[k] * sign[k] * float(r[k]) / amrs[k] for k in norm if amrs[k]))  # type: ignore[arg-type, operator]
    note = f"metrics with no variation contribute nothing: {', '.join(flat)}" if flat else ""
    return DynascoreResult(tuple(scores), norm, amrs, note)
