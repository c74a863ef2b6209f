"""A task score's 95% bootstrap interval and its 1,000 resampled scores, taken when the task is scored (issue 15).

The resamples of a record depend only on (task, split, example ids) (`harness.metrics.bootstrap.resample_indices`),
so any two records scored on the same examples are paired resample for resample, and a board can test whether
two neighbours differ without re-running anything. Every metric of the task is recomputed on each resample by its
own rule: a mean metric from its per-example vector, F1, MCC and the correlations vectorised from the
predictions, any other (macro F1) by calling the metric once per resample. The task score of a resample is the
mean of its score metrics on that resample, as `Task.score` takes it.

A grouped task (MultiRC's answer options of one question, AX-g's minimal pairs) resamples whole groups: its
examples are not independent, and a grouped metric needs every member of a drawn group. Such a task is seeded by
(task, split, group ids), and each draw of a group counts as a group of its own.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from harness.tasks.base import Prediction, Row, Task

METHOD = (
    "percentile bootstrap, 1,000 resamples of the examples (whole groups for a grouped task), seeded by sha256 of "
    "(task, split, example ids, or group ids for a grouped task): the same resamples for every submission scored "
    "on those examples (paired)"
)
"""What the record says of how its interval was made (harness.metrics.bootstrap gives the sources)."""
GROUPS_UNIT = "groups"
EXAMPLES_UNIT = "examples"


def score_confidence(task: Task, rows: Sequence[Row], predictions: Mapping[str, Prediction]) -> dict[str, Any]:
    """The record's `confidence` block: method, level, resample count, unit and seed, and per metric and for the
    score the 95% interval (fractions) and the packed resampled values (a lone metric's are the score's);
    `{"not_measured": why}` where no interval exists (a correlation on a resample of constant outputs)."""
    from harness.metrics.bootstrap import LEVEL, N_RESAMPLES, interval, pack, unpack

    try:
        unit, seed, exact = _resampled(task, rows, predictions, N_RESAMPLES)
        packed = {name: pack(values) for name, values in exact.items()}
        # the interval of the values as stored, so that a reader recomputing it from them finds the same one
        intervals = {name: interval(unpack(text, N_RESAMPLES), LEVEL) for name, text in packed.items()}
    except ValueError as e:
        return {"not_measured": f"no bootstrap interval: {e}"}
    return {
        "method": METHOD,
        "level": LEVEL,
        "resamples": N_RESAMPLES,
        "unit": unit,
        "seed": f"{seed:032x}",
        "score": {"interval": list(intervals["score"]), "resampled": packed["score"]},
        "metrics": {  # a task of one metric scores that metric: its resamples are the score's, kept once
            name: {"interval": list(intervals[name])}
            | ({"resampled": packed[name]} if len(task.metric_names) > 1 else {})
            for name in task.metric_names
        },
    }


def _resampled(
    task: Task, rows: Sequence[Row], predictions: Mapping[str, Prediction], n_resamples: int
) -> tuple[str, int, dict[str, np.ndarray]]:
    """(unit, seed, {metric name and "score": resampled values}) of the task's metrics on `rows`."""
    from harness.metrics.bootstrap import seeded_indices

    split = task.source.split
    columns = {
        "predictions": [predictions[task.uid(r)] for r in rows],
        "references": [task.gold_of(r) for r in rows],
    }
    if task.groups is not None:
        groups = [task.groups(r) for r in rows]
        ids = list(dict.fromkeys(map(str, groups)))
        seed, draws = seeded_indices(task.name, split, ids, n_resamples)
        resampled = _grouped(task, columns, groups, ids, draws)
        unit = GROUPS_UNIT
    else:
        seed, indices = seeded_indices(task.name, split, [task.uid(r) for r in rows], n_resamples)
        resampled = {spec.name: _metric_resamples(spec.fn, columns, indices) for spec in task.metrics}
        unit = EXAMPLES_UNIT
    resampled["score"] = np.mean([resampled[name] for name in task.score_names], axis=0)
    return unit, seed, resampled


def _metric_resamples(fn_id: str, columns: Mapping[str, list[Any]], indices: np.ndarray) -> np.ndarray:
    """One metric on every row of `indices`: vectorised where harness.metrics.bootstrap can, else one call a row."""
    from harness.metrics import get_metric, per_example
    from harness.metrics.bootstrap import MEAN_METRICS, PAIRED_METRICS, resampled_scores

    predictions, references = columns["predictions"], columns["references"]
    if fn_id in MEAN_METRICS:
        return resampled_scores(fn_id, np.asarray(per_example(fn_id, predictions, references)), indices)
    if fn_id in PAIRED_METRICS:
        return resampled_scores(fn_id, (np.asarray(predictions), np.asarray(references)), indices)
    metric = get_metric(fn_id)
    pred, ref = np.asarray(predictions, dtype=object), np.asarray(references, dtype=object)
    return np.array(
        [metric.of({"predictions": pred[row].tolist(), "references": ref[row].tolist()}) for row in indices],
        dtype=np.float64,
    )


def _grouped(
    task: Task, columns: Mapping[str, list[Any]], groups: list[Any], ids: list[str], draws: np.ndarray
) -> dict[str, np.ndarray]:
    """Every metric on every resample of whole groups; a group drawn twice counts as two groups."""
    from harness.metrics import get_metric

    position = {group: i for i, group in enumerate(ids)}
    members: list[list[int]] = [[] for _ in ids]
    for index, group in enumerate(groups):
        members[position[str(group)]].append(index)
    member_arrays = [np.asarray(m, dtype=np.intp) for m in members]
    sizes = np.array([len(m) for m in members], dtype=np.intp)
    pred, ref = np.asarray(columns["predictions"], dtype=object), np.asarray(columns["references"], dtype=object)
    metrics = [(spec.name, get_metric(spec.fn)) for spec in task.metrics]
    out: dict[str, list[float]] = {name: [] for name, _ in metrics}
    for draw in draws:
        rows = np.concatenate([member_arrays[g] for g in draw])
        labels = np.repeat(np.arange(len(draw)), sizes[draw]).tolist()  # each draw its own group
        p, r = pred[rows].tolist(), ref[rows].tolist()
        for name, metric in metrics:
            out[name].append(metric.of({"predictions": p, "references": r, "groups": labels}))
    return {name: np.asarray(values, dtype=np.float64) for name, values in out.items()}
