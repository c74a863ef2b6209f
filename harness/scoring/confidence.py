"""Board values' 95% intervals from the bootstrap resamples records keep, and tie marks between ranked neighbours.

A record's `confidence` block (harness.tasks.confidence) holds the interval and the 1,000 resampled values of its
task score and of each metric, drawn on resamples seeded by (task, split, example ids). A task cell shows the
record's interval; an aggregate (the mean of task scores, the GLUE or SuperGLUE score) combines its tasks'
resamples row for row, the same rule as the aggregate applied to each resample, and takes the percentile interval of
that. Two values are paired, and may be tested against each other, only when they were drawn on the same resamples:
`paired_on` names them (the records' seeds).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from harness.errors import UserError
from harness.records import Record
from harness.scoring.board import Row
from harness.tracks.columns import Value

TIE_METHOD = (
    "paired bootstrap test (Koehn 2004; Berg-Kirkpatrick et al. 2012): a ranked row is tied with the row above when "
    "the 95% percentile interval of the per-resample difference of their scores covers 0; both drawn on the same "
    "1,000 resamples of the same examples"
)
"""How the board marks ties, as its pages state it."""
PERCENT = 100.0
"""Board values of scores are percentages; records keep fractions."""
SAME_POINT = 1e-9
"""An operating point is the record's own score when their percentages agree to this (float rounding)."""


def _block(record: Record) -> Mapping | None:
    """The record's bootstrap block, None when it has none (an older record) or its interval was not measured."""
    block = record.confidence
    return None if not block or "not_measured" in block else block


def _item(block: Mapping, metric: str | None, resampled: bool = False) -> Mapping:
    """The score's or the metric's entry of a bootstrap block; for its resamples, a lone metric's are the score's."""
    item = block["score"] if metric is None else block["metrics"][metric]
    return block["score"] if resampled and "resampled" not in item else item


def record_interval(record: Record, metric: str | None = None) -> tuple[float, float] | None:
    """The 95% interval of the record's task score (or of `metric`) as percentages, None where it has none."""
    block = _block(record)
    if block is None:
        return None
    low, high = _item(block, metric)["interval"]
    return PERCENT * low, PERCENT * high


def record_resamples(record: Record, metric: str | None = None) -> np.ndarray | None:
    """The record's resampled task scores (or `metric`'s) as percentages, None where it has none; a packed text that
    does not decode is refused naming the record."""
    from harness.metrics.bootstrap import unpack

    block = _block(record)
    if block is None:
        return None
    try:
        return PERCENT * unpack(_item(block, metric, resampled=True)["resampled"], block["resamples"])
    except ValueError as e:
        field = "score" if metric is None else f"metrics.{metric}"
        raise UserError(
            f"{record.path or 'record'}: confidence.{field}.resampled: {e}",
            fix="re-run the evaluation that wrote it (resampled scores are never edited by hand)",
        ) from None


def paired_on(records: Mapping[str, Record]) -> str:
    """What a value over these records ({task: record}) was resampled on: each task's resample seed, in task order;
    '' when one of them has no resamples."""
    blocks = {task: _block(records[task]) for task in sorted(records)}
    if any(block is None for block in blocks.values()):
        return ""
    return "|".join(f"{task}:{block['seed']}" for task, block in blocks.items())  # type: ignore[index]


def with_resamples(value: Value, resamples: np.ndarray | None, on: str) -> Value:
    """`value` with its resamples, their paired_on and their 95% percentile interval; unchanged without resamples."""
    from harness.metrics.bootstrap import interval

    if resamples is None or value.value is None:
        return value
    return replace(value, interval=interval(resamples), resamples=resamples, paired_on=on)


def mean_resamples(records: Mapping[str, Record], metric: Mapping[str, str | None] | None = None) -> np.ndarray | None:
    """The mean over records of their resampled task scores (or of each one's metric), row for row; None unless
    every record has them, on as many resamples."""
    parts = []
    for task, record in records.items():
        resampled = record_resamples(record, (metric or {}).get(task))
        if resampled is None:
            return None
        parts.append(resampled)
    return _row_mean(parts)


def components_resamples(components: Sequence[Sequence[str]], records: Mapping[str, Record]) -> np.ndarray | None:
    """An aggregate's resamples: per component the mean of its tasks' resampled scores (MNLI: matched and
    mismatched), then the mean over components, as harness.scoring.aggregate.benchmark_score takes the score."""
    parts = []
    for component in components:
        part = mean_resamples({t: records[t] for t in component})
        if part is None:
            return None
        parts.append(part)
    return _row_mean(parts)


def _row_mean(parts: list[np.ndarray]) -> np.ndarray | None:
    """The mean of equally long resample arrays, resample for resample; None for none or for unequal lengths."""
    if not parts or len({len(p) for p in parts}) != 1:
        return None
    return np.mean(parts, axis=0)


def tied(above: Value | None, below: Value | None) -> bool:
    """Whether two ranked values are not significantly different (TIE_METHOD); False unless both have resamples
    drawn on the same examples."""
    from harness.metrics.bootstrap import tied as paired_tied

    return _paired(above, below) and paired_tied(above.resamples, below.resamples)  # type: ignore[union-attr]


def _paired(a: Value | None, b: Value | None) -> bool:
    """Whether two values have resamples drawn on the same examples, so that they compare resample for resample."""
    if a is None or b is None or a.resamples is None or b.resamples is None or not a.paired_on:
        return False
    return a.paired_on == b.paired_on and len(a.resamples) == len(b.resamples)


def leader_gap(rows: Sequence[Row], column: str, descending: bool) -> list[float] | None:
    """The 95% paired interval of the main group's leader's lead over the next ranked row (the first of another
    rank), on `column`'s scale; None unless both have resamples drawn on the same examples."""
    from harness.metrics.bootstrap import interval

    ranked = [r for r in rows if r.group == "main" and r.rank is not None]
    if not ranked:
        return None
    following = next((r for r in ranked if r.rank != ranked[0].rank), None)
    a = ranked[0].values.get(column)
    b = following.values.get(column) if following is not None else None
    if not _paired(a, b):
        return None
    assert a is not None and b is not None  # _paired says so
    low, high = interval((a.resamples - b.resamples) if descending else (b.resamples - a.resamples))
    return [low, high]


def without_resamples(rows: Sequence[Row]) -> list[Row]:
    """The rows with their values' resamples dropped (intervals and paired_on kept): once ties and the leader's gap
    are marked, a board has no use for them, and it is copied between processes."""
    out = []
    for row in rows:
        if any(v.resamples is not None for v in row.values.values()):
            row = replace(
                row,
                values={k: replace(v, resamples=None) if v.resamples is not None else v for k, v in row.values.items()},
            )
        out.append(row)
    return out


def elue_resamples(result: Any, records: Mapping[str, Record]) -> np.ndarray | None:
    """An ELUE score's resamples (Liu et al. 2022: the mean over tasks of perf - perf_ref(FLOPs)) where every scored
    task has one operating point, the record's own score at its measured FLOPs: each task's resampled score minus
    its fixed reference, averaged row for row. None for several points (early exits: only one point's predictions
    are resampled) or a point that is not the record's score."""
    parts = []
    for task, per_task in result.tasks.items():
        points = [p for p in result.points if p.task == task]
        record = records.get(task)
        if per_task is None or len(points) != 1 or points[0].perf_ref is None or record is None or record.score is None:
            return None
        if abs(points[0].perf - PERCENT * record.score) > SAME_POINT:
            return None
        resampled = record_resamples(record)
        if resampled is None:
            return None
        parts.append(resampled - points[0].perf_ref)
    return _row_mean(parts)
