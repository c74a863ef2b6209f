"""Seeded, paired bootstrap confidence intervals for task scores, and tie marks between ranked neighbours (issue 15).

Method and sources:

- The nonparametric bootstrap (Efron 1979, "Bootstrap methods: another look at the jackknife"; Efron & Tibshirani
  1993, "An Introduction to the Bootstrap", ch. 13 for the percentile interval): resample the examples with
  replacement, recompute the metric on each resample, and take the (1 - level) / 2 and (1 + level) / 2
  percentiles of the resampled scores.
- Paired: the resample indices depend only on (task, split, example ids) (the issue's Clarifications), so every
  submission scored on the same examples gets the same resamples, and two submissions are compared on the
  per-resample difference of their scores (the paired bootstrap test of Koehn 2004, "Statistical significance
  tests for machine translation evaluation", and Berg-Kirkpatrick et al. 2012, "An empirical investigation of
  statistical significance in NLP"): they are tied when the percentile interval of the difference covers 0.
- Metrics that are not averages are recomputed per resample from their definitions: binary F1 from confusion
  counts (van Rijsbergen 1979, as scikit-learn's `f1_score`, 0 when there are no positives), the Matthews
  correlation in its multiclass form from the confusion matrix (Gorodkin 2004, as scikit-learn's
  `matthews_corrcoef`, 0 when the denominator is 0), Pearson's r, and Spearman's rho as Pearson's r of average
  ranks (scipy.stats.spearmanr's definition).

The seed: the first SEED_BYTES bytes of sha256 over a JSON list [task, split, [ids as strings]] (never Python's
`hash()`, which is salted per process). The indices are drawn from the raw 64-bit stream of numpy's PCG64 bit
generator, reduced modulo n: that stream is fixed by the PCG64 algorithm (O'Neill 2014), while NumPy's policy
(NEP 19) lets `Generator.integers` change between numpy versions, which would silently unpair records written
under different versions. The modulo bias is at most n / 2**64 (under 1e-13 for a million examples).

Cost (measured once with time.perf_counter in a scratch script, on this project's 2-core AMD EPYC CPU machine,
numpy 2.4, mean of 50 calls): for 1,000 resamples of an RTE-sized split (277 examples), drawing the indices takes
3.9 ms; the resampled scores of an accuracy (a mean) 0.3 ms, binary F1 0.6 ms, the Matthews correlation 3.0 ms,
Pearson 6.5 ms and Spearman 38 ms (the row-wise ranking). The per-resample loop over scikit-learn's
`matthews_corrcoef` (the callable fallback) takes 1.07 s for the same MCC, 350 times the vectorised one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Callable, Hashable, Iterator, Sequence

import numpy as np

from harness.metrics import PER_EXAMPLE_METRICS

__all__ = [
    "N_RESAMPLES",
    "LEVEL",
    "MEAN_METRICS",
    "PAIRED_METRICS",
    "resample_seed",
    "resample_indices",
    "seeded_indices",
    "resampled_scores",
    "interval",
    "tied",
    "pack",
    "packed_length",
    "unpack",
    "median_interval",
]

N_RESAMPLES = 1000
"""Resamples per score: the issue's figure; Efron & Tibshirani (1993, ch. 19) advise ~1,000 for percentile intervals."""
LEVEL = 0.95
"""The issue's 95% confidence intervals."""
SEED_BYTES = 16
"""PCG64 takes a 128-bit seed: the first 16 bytes of the sha256 digest."""
BLOCK_ELEMENTS = 4_000_000
"""Resample rows are processed in blocks of at most this many indexed values (32 MB of float64), so a large split
(IMDb's 25,000 examples x 1,000 resamples) does not build a 200 MB array at once."""

MEAN_METRICS = frozenset({"mean"}) | PER_EXAMPLE_METRICS
"""Metrics that are the mean of a per-example vector (correctness, or the example's EM/F1): pass that vector."""
PAIRED_METRICS = frozenset({"f1_binary", "multirc_f1a", "matthews_correlation", "pearson", "spearmanr"})
"""Metrics that are not averages: pass (predictions, references); each is recomputed on every resample."""


def resample_seed(task: str, split: str, example_ids: Sequence[Hashable]) -> int:
    """The 128-bit seed of (task, split, example ids in their order): sha256, the same in every process and machine.

    >>> resample_seed("rte", "validation", [0, 1, 2]) == resample_seed("rte", "validation", ["0", "1", "2"])
    True
    """
    payload = json.dumps([task, split, [str(i) for i in example_ids]], ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(payload.encode("utf-8")).digest()[:SEED_BYTES], "big")


def resample_indices(
    task: str, split: str, example_ids: Sequence[Hashable], n_resamples: int = N_RESAMPLES
) -> np.ndarray:
    """Bootstrap resample indices (n_resamples, n) into the examples, in the order `example_ids` lists them.

    Every submission scored on the same (task, split, ids) gets the same indices, so its resampled scores are
    paired with every other's; per-example vectors must be in the same order as the ids.
    """
    return seeded_indices(task, split, example_ids, n_resamples)[1]


def seeded_indices(
    task: str, split: str, example_ids: Sequence[Hashable], n_resamples: int = N_RESAMPLES
) -> tuple[int, np.ndarray]:
    """(resample_seed, resample_indices) of the same examples, the ids hashed once: a record keeps both."""
    n = len(example_ids)
    if n == 0:
        raise ValueError(f"{task} {split}: no example ids; a bootstrap over zero examples is undefined")
    if len(set(map(str, example_ids))) != n:
        raise ValueError(f"{task} {split}: repeated example ids among {n}; ids must be unique within a split")
    if type(n_resamples) is not int or n_resamples < 1:
        raise ValueError(f"n_resamples {n_resamples!r}: expected a whole number > 0")
    seed = resample_seed(task, split, example_ids)
    return seed, _draw(seed, n, n_resamples)


def _draw(seed: int, n: int, n_resamples: int) -> np.ndarray:
    """(n_resamples, n) indices in [0, n) from the raw PCG64 stream of `seed` (see the module's note on the seed),
    drawn BLOCK_ELEMENTS at a time into int32 (int64 past 2**31 examples): IMDb's 25,000 x 1,000 take 100 MB, not
    the 600 MB of drawing all 64-bit values at once."""
    bits = np.random.PCG64(seed)
    out = np.empty((n_resamples, n), dtype=np.int32 if n < 2**31 else np.int64)
    for start, stop in _row_ranges(n_resamples, n):
        raw = np.asarray(bits.random_raw((stop - start) * n), dtype=np.uint64)  # the stream continues block to block
        np.remainder(raw, np.uint64(n), out=raw)
        out[start:stop] = raw.reshape(stop - start, n)
    return out


def _row_ranges(rows: int, width: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive row blocks of a (rows, width) array, at most BLOCK_ELEMENTS values each."""
    step = max(1, BLOCK_ELEMENTS // width)
    for start in range(0, rows, step):
        yield start, min(rows, start + step)


def _blocks(indices: np.ndarray) -> Iterator[np.ndarray]:
    """Row blocks of `indices` of at most BLOCK_ELEMENTS values each (a loop over blocks, not resamples)."""
    for start, stop in _row_ranges(*indices.shape):
        yield indices[start:stop]


def _check_indices(indices: np.ndarray, n: int) -> None:
    """Raise ValueError unless `indices` is (resamples, n) with values in [0, n)."""
    if indices.ndim != 2 or indices.shape[1] != n:
        raise ValueError(
            f"resample indices of shape {indices.shape} do not fit {n} examples; draw them with resample_indices "
            "over the same example ids as the per-example values"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"resample indices outside [0, {n}); draw them with resample_indices over these examples")


def _resampled_mean(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Mean of the per-example values in each resample row."""
    return np.concatenate([values[block].mean(axis=1) for block in _blocks(indices)])


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0 for F1 and MCC)."""
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def _resampled_f1(predictions: np.ndarray, references: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Binary F1 of class 1 per resample: 2 tp / (2 tp + fp + fn) from per-resample confusion counts."""
    for name, column in (("predictions", predictions), ("references", references)):
        if not np.isin(column, (0, 1)).all():
            raise ValueError(f"f1_binary: {name} must be 0/1 labels")
    pred, ref = predictions.astype(bool), references.astype(bool)
    out = []
    for block in _blocks(indices):
        p, r = pred[block], ref[block]
        tp = (p & r).sum(axis=1)
        wrong = (p ^ r).sum(axis=1)  # fp + fn
        out.append(_ratio(2.0 * tp, 2.0 * tp + wrong))
    return np.concatenate(out)


def _resampled_mcc(predictions: np.ndarray, references: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Matthews correlation per resample, multiclass (Gorodkin 2004): (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t))."""
    classes = np.union1d(predictions, references)
    pred = np.searchsorted(classes, predictions)
    ref = np.searchsorted(classes, references)
    s = float(indices.shape[1])
    out = []
    for block in _blocks(indices):
        p, r = pred[block], ref[block]
        correct = (p == r).sum(axis=1).astype(np.float64)
        p_counts = np.stack([(p == k).sum(axis=1) for k in range(len(classes))], axis=1).astype(np.float64)
        t_counts = np.stack([(r == k).sum(axis=1) for k in range(len(classes))], axis=1).astype(np.float64)
        numerator = correct * s - (t_counts * p_counts).sum(axis=1)
        squared = (s * s - (p_counts**2).sum(axis=1)) * (s * s - (t_counts**2).sum(axis=1))
        out.append(_ratio(numerator, np.sqrt(squared)))
    return np.concatenate(out)


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of each row of x with the same row of y; nan where a row is constant (as scipy)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc).sum(axis=1) / np.sqrt((xc * xc).sum(axis=1) * (yc * yc).sum(axis=1))
    return np.clip(r, -1.0, 1.0)


def _resampled_correlation(
    predictions: np.ndarray, references: np.ndarray, indices: np.ndarray, ranks: bool
) -> np.ndarray:
    """Pearson's r per resample, or Spearman's rho (Pearson of average ranks computed per resample row)."""
    x, y = predictions.astype(np.float64), references.astype(np.float64)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("correlation: non-finite predictions or references")
    from scipy.stats import rankdata

    out = []
    for block in _blocks(indices):
        xb, yb = x[block], y[block]
        if ranks:
            xb, yb = rankdata(xb, axis=1), rankdata(yb, axis=1)
        out.append(_rowwise_pearson(xb, yb))
    return np.concatenate(out)


def _columns(metric: str, per_example: Any) -> tuple[np.ndarray, np.ndarray]:
    """(predictions, references) of a paired metric as two equally long 1-D arrays."""
    if not (isinstance(per_example, (tuple, list)) and len(per_example) == 2):
        raise ValueError(f"{metric}: pass per_example as (predictions, references), one entry per example in each")
    predictions, references = (np.asarray(column) for column in per_example)
    if predictions.ndim != 1 or predictions.shape != references.shape:
        raise ValueError(
            f"{metric}: {len(predictions)} predictions and {len(references)} references; pass one of each per example"
        )
    return predictions, references


def resampled_scores(metric: str | Callable[..., float], per_example: Any, indices: np.ndarray) -> np.ndarray:
    """The metric on every resample, shape (n_resamples,), vectorised for the MEAN_METRICS and PAIRED_METRICS.

    A mean metric takes the per-example vector (e.g. 0/1 correctness, per-example F1); a paired metric takes
    (predictions, references). A callable is the slow fallback: one Python call per resample, given the
    resampled per-example vector, or the resampled columns when `per_example` is a tuple of them.

    >>> idx = np.array([[0, 0, 1], [1, 2, 2]])
    >>> resampled_scores("accuracy", np.array([1.0, 0.0, 1.0]), idx).tolist()
    [0.6666666666666666, 0.6666666666666666]
    """
    indices = np.asarray(indices)
    if callable(metric):
        columns = [np.asarray(c) for c in per_example] if isinstance(per_example, tuple) else [np.asarray(per_example)]
        _check_indices(indices, len(columns[0]))
        if any(len(c) != len(columns[0]) for c in columns):
            raise ValueError(f"per-example columns of lengths {[len(c) for c in columns]}; they must be equally long")
        return np.array([metric(*(c[row] for c in columns)) for row in indices], dtype=np.float64)
    if metric in MEAN_METRICS:
        values = np.asarray(per_example, dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"{metric}: expected one value per example (a 1-D vector), got shape {values.shape}")
        if not np.isfinite(values).all():
            raise ValueError(f"{metric}: non-finite per-example values")
        _check_indices(indices, len(values))
        return _resampled_mean(values, indices)
    if metric in PAIRED_METRICS:
        predictions, references = _columns(metric, per_example)
        _check_indices(indices, len(predictions))
        if metric in ("f1_binary", "multirc_f1a"):
            return _resampled_f1(predictions, references, indices)
        if metric == "matthews_correlation":
            return _resampled_mcc(predictions, references, indices)
        return _resampled_correlation(predictions, references, indices, ranks=metric == "spearmanr")
    raise ValueError(
        f"metric {metric!r} has no vectorised bootstrap (known: {sorted(MEAN_METRICS | PAIRED_METRICS)}); pass a "
        "callable for the slow per-resample fallback (MultiRC EM: the mean of per-question correctness, resampled "
        "over question ids)"
    )


def _finite(name: str, resampled: Any) -> np.ndarray:
    """`resampled` as a non-empty 1-D float array of finite values; ValueError otherwise."""
    values = np.asarray(resampled, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of resampled scores, got shape {values.shape}")
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ValueError(
            f"{name}: {bad} of {values.size} resampled scores are not finite (a correlation on a resample with "
            "constant outputs is undefined); no interval"
        )
    return values


def _check_level(level: float) -> None:
    """Raise ValueError unless 0 < level < 1."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level!r}: expected a confidence level strictly between 0 and 1, e.g. 0.95")


def interval(resampled: Any, level: float = LEVEL) -> tuple[float, float]:
    """The bootstrap percentile interval (Efron & Tibshirani 1993, ch. 13): the (1 -/+ level) / 2 percentiles.

    >>> interval(np.arange(101.0), 0.5)
    (25.0, 75.0)
    """
    _check_level(level)
    values = _finite("interval", resampled)
    low, high = np.percentile(values, [50.0 * (1.0 - level), 50.0 * (1.0 + level)])
    return float(low), float(high)


def tied(a_resampled: Any, b_resampled: Any, level: float = LEVEL) -> bool:
    """Paired bootstrap test: True when the percentile interval of the per-resample difference a - b covers 0.

    Both arrays must come from the same resample indices (the same task, split and example ids), row for row.
    """
    a = _finite("tied: a", a_resampled)
    b = _finite("tied: b", b_resampled)
    if a.shape != b.shape:
        raise ValueError(
            f"tied: {a.size} and {b.size} resampled scores; a paired test needs both on the same resamples"
        )
    low, high = interval(a - b, level)
    return low <= 0.0 <= high


PACKED_DTYPE = np.dtype("<i2")
"""Resampled scores are kept as little-endian int16 steps of PACKED_STEP over [-1, 1] (scores are fractions in
METRIC_RANGE), in base64 text: 1,000 of them take 2,668 characters in a JSON record, and read back without parsing
1,000 numbers. The rounding error, at most PACKED_STEP / 2 (1.6e-5), is a sixth of one example in 10,000."""
PACKED_STEPS = 32000
"""Steps per unit: [-1, 1] onto [-32000, 32000], inside int16; a round number, so that 0.5, 0.8 or 1 stay exact."""
PACKED_STEP = 1.0 / PACKED_STEPS


def packed_length(count: int) -> int:
    """Characters of the base64 text of `count` packed values (4 per started 3 bytes)."""
    return 4 * -(-count * PACKED_DTYPE.itemsize // 3)


def pack(resampled: Any) -> str:
    """Resampled scores (fractions in [-1, 1]) as base64 of int16 steps, the form records keep them in."""
    values = _finite("pack", resampled)  # says why a value is not finite: a metric undefined on some resample
    if (np.abs(values) > 1.0).any():
        raise ValueError("pack: expected a 1-D array of finite resampled scores in [-1, 1]")
    steps = np.rint(values * PACKED_STEPS).astype(PACKED_DTYPE)
    return base64.b64encode(steps.tobytes()).decode("ascii")


def unpack(text: Any, count: int) -> np.ndarray:
    """The `count` resampled scores of `pack`'s text as float64; ValueError when the text is not that."""
    if type(text) is not str:
        raise ValueError(f"expected base64 text of {count} packed values, got {type(text).__name__}")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as e:
        raise ValueError(f"not base64 text ({e})") from None
    if len(raw) != count * PACKED_DTYPE.itemsize:
        raise ValueError(f"{len(raw)} bytes, expected {count} int16 values ({count * PACKED_DTYPE.itemsize} bytes)")
    steps = np.frombuffer(raw, dtype=PACKED_DTYPE)
    if (np.abs(steps.astype(np.int32)) > PACKED_STEPS).any():
        raise ValueError("holds a value outside [-1, 1]")
    return steps / PACKED_STEPS


def median_interval(
    values: Any, what: str, level: float = LEVEL, n_resamples: int = N_RESAMPLES
) -> tuple[float, float]:
    """The percentile bootstrap interval of the median of `values` (e.g. one run's timed calls), resampled over their
    positions with a seed of (`what`, their count): within one run only, so it says how stable that run's median
    is, not how two runs or machines compare."""
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or data.size == 0 or not np.isfinite(data).all():
        raise ValueError(f"{what}: expected a non-empty 1-D array of finite values")
    indices = _draw(resample_seed(what, "median", [data.size]), data.size, n_resamples)
    medians = np.concatenate([np.median(data[block], axis=1) for block in _blocks(indices)])
    return interval(medians, level)
