"""Seeded, paired bootstrap: the same indices for the same examples everywhere, vectorised metrics equal to the
official ones per resample, intervals that cover a known accuracy and narrow with n, and tie marks.

Cost (measured once with time.perf_counter in a scratch script, 2-core AMD EPYC, not in a test): 1,000 resamples x
277 examples take 3.9 ms to draw and 0.3 ms (accuracy) to 38 ms (Spearman) to score; see harness/metrics/bootstrap.py.
"""

import base64
import hashlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef

from harness.metrics.bootstrap import interval, resample_indices, resampled_scores, tied

RTE_SIZE = 277  # GLUE RTE dev examples
IDS = [f"rte-{i}" for i in range(RTE_SIZE)]


def digest(indices: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()


def test_same_examples_give_the_same_indices_in_two_calls_and_in_a_subprocess():
    first = resample_indices("rte", "validation", IDS)
    assert first.shape == (1000, RTE_SIZE)
    assert first.min() >= 0 and first.max() < RTE_SIZE
    assert np.array_equal(first, resample_indices("rte", "validation", list(IDS)))
    code = (
        "import hashlib, numpy as np; from harness.metrics.bootstrap import resample_indices; "
        f"i = resample_indices('rte', 'validation', [f'rte-{{k}}' for k in range({RTE_SIZE})]); "
        "print(hashlib.sha256(np.ascontiguousarray(i, dtype=np.int64).tobytes()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different str hash() salt: the seed must not depend on it
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == digest(first)


def test_different_examples_task_or_split_give_different_indices():
    base = resample_indices("rte", "validation", IDS, n_resamples=50)
    other_ids = IDS[:-1] + ["rte-other"]
    assert not np.array_equal(base, resample_indices("rte", "validation", other_ids, n_resamples=50))
    assert not np.array_equal(base, resample_indices("rte", "test", IDS, n_resamples=50))
    assert not np.array_equal(base, resample_indices("wnli", "validation", IDS, n_resamples=50))
    assert not np.array_equal(base, resample_indices("rte", "validation", IDS[::-1], n_resamples=50))


def test_bad_inputs_refused():
    with pytest.raises(ValueError, match="no example ids"):
        resample_indices("rte", "validation", [])
    with pytest.raises(ValueError, match="repeated"):
        resample_indices("rte", "validation", ["a", "a"])
    idx = resample_indices("rte", "validation", IDS[:10], n_resamples=5)
    with pytest.raises(ValueError, match="do not fit 9 examples"):
        resampled_scores("accuracy", np.ones(9), idx)
    with pytest.raises(ValueError, match="no vectorised bootstrap"):
        resampled_scores("bleu", np.ones(10), idx)
    with pytest.raises(ValueError, match="0/1"):
        resampled_scores("f1_binary", (np.full(10, 2), np.ones(10)), idx)
    with pytest.raises(ValueError, match="not finite"):
        interval([0.5, math.nan])
    with pytest.raises(ValueError, match="level"):
        interval([0.5, 0.6], level=95)
    with pytest.raises(ValueError, match="same resamples"):
        tied(np.ones(5), np.ones(4))


def exact_accuracy(n: int, accuracy: float = 0.8) -> np.ndarray:
    """A correctness vector with exactly `accuracy` of n correct, in a seeded order."""
    correct = np.zeros(n)
    correct[: round(accuracy * n)] = 1.0
    return np.random.default_rng(n).permutation(correct)


def accuracy_interval(correct: np.ndarray) -> tuple[float, float]:
    ids = [str(i) for i in range(len(correct))]
    return interval(resampled_scores("accuracy", correct, resample_indices("toy", "dev", ids)))


def test_interval_of_a_known_accuracy_covers_it_and_narrows_as_n_grows():
    widths = {}
    for n in (100, 500, 2000):
        low, high = accuracy_interval(exact_accuracy(n))
        assert low < 0.8 < high
        widths[n] = high - low
    assert widths[2000] < widths[500] < widths[100]
    # width ~ 2 * 1.96 * sqrt(0.8 * 0.2 / n): 0.157 at n = 100, 0.035 at n = 2,000
    assert widths[100] == pytest.approx(2 * 1.96 * math.sqrt(0.16 / 100), rel=0.15)
    assert widths[2000] == pytest.approx(2 * 1.96 * math.sqrt(0.16 / 2000), rel=0.15)


def test_seeded_bernoulli_intervals_contain_the_rate_and_shrink_as_one_over_sqrt_n():
    # the Clarifications: Bernoulli(0.8) data at n = 100, 1,000, 10,000
    rng = np.random.default_rng(20260415)
    scaled = []
    for n in (100, 1000, 10000):
        correct = (rng.random(n) < 0.8).astype(float)
        low, high = accuracy_interval(correct)
        assert low <= 0.8 <= high, (n, low, high)
        scaled.append((high - low) * math.sqrt(n))
    # width * sqrt(n) stays near 2 * 1.96 * sqrt(0.8 * 0.2) = 1.568 for every n
    assert scaled == pytest.approx([2 * 1.96 * 0.4] * 3, rel=0.15)


@pytest.fixture(scope="module")
def paired_data():
    rng = np.random.default_rng(7)
    n = 300
    references = rng.integers(0, 2, n)
    predictions = np.where(rng.random(n) < 0.75, references, 1 - references)
    three_refs = rng.integers(0, 3, n)
    three_preds = np.where(rng.random(n) < 0.6, three_refs, rng.integers(0, 3, n))
    gold = rng.normal(size=n).round(1)  # rounded: ties, as STS-B's scores have
    scores = (gold + rng.normal(scale=0.7, size=n)).round(1)
    indices = resample_indices("toy", "dev", [str(i) for i in range(n)], n_resamples=50)
    return {
        "binary": (predictions, references),
        "three": (three_preds, three_refs),
        "regression": (scores, gold),
        "indices": indices,
    }


def loop(fn, columns, indices):
    """The per-resample reference: the official function on each resampled (predictions, references)."""
    predictions, references = columns
    return np.array([fn(predictions[row], references[row]) for row in indices])


def test_vectorised_metrics_equal_a_loop_over_the_official_functions(paired_data):
    idx = paired_data["indices"]
    binary, three, regression = paired_data["binary"], paired_data["three"], paired_data["regression"]
    cases = [
        ("f1_binary", binary, lambda p, r: f1_score(r, p, pos_label=1, average="binary", zero_division=0.0)),
        ("matthews_correlation", binary, lambda p, r: matthews_corrcoef(r, p)),
        ("matthews_correlation", three, lambda p, r: matthews_corrcoef(r, p)),
        ("pearson", regression, lambda p, r: pearsonr(p, r)[0]),
        ("spearmanr", regression, lambda p, r: spearmanr(p, r)[0]),
    ]
    for metric, columns, official in cases:
        vectorised = resampled_scores(metric, columns, idx)
        assert vectorised.shape == (50,)
        assert vectorised == pytest.approx(loop(official, columns, idx), abs=1e-9), metric
    correct = (binary[0] == binary[1]).astype(float)
    assert resampled_scores("accuracy", correct, idx) == pytest.approx(
        [np.mean(correct[row]) for row in idx], abs=1e-12
    )


def test_degenerate_resamples_score_zero_as_scikit_learn():
    idx = np.zeros((3, 4), dtype=int)  # every resample is example 0 four times: no positive, constant labels
    columns = (np.array([0, 1, 1, 0]), np.array([0, 1, 0, 1]))
    assert resampled_scores("f1_binary", columns, idx).tolist() == [0.0, 0.0, 0.0]
    assert resampled_scores("matthews_correlation", columns, idx).tolist() == [0.0, 0.0, 0.0]


def test_callable_fallback_matches_the_vectorised_mean(paired_data):
    idx = paired_data["indices"]
    predictions, references = paired_data["binary"]
    fallback = resampled_scores(lambda p, r: float(np.mean(p == r)), (predictions, references), idx)
    assert fallback == pytest.approx(resampled_scores("accuracy", (predictions == references).astype(float), idx))


def test_submissions_differing_on_one_rte_example_are_tied():
    indices = resample_indices("rte", "validation", IDS)
    a = exact_accuracy(RTE_SIZE, 0.7)
    b = a.copy()
    b[np.flatnonzero(a)[0]] = 0.0  # b gets one example wrong that a gets right
    a_scores = resampled_scores("accuracy", a, indices)
    b_scores = resampled_scores("accuracy", b, indices)
    assert a_scores.mean() > b_scores.mean()
    assert tied(a_scores, b_scores)


def test_very_different_submissions_are_not_tied():
    indices = resample_indices("rte", "validation", IDS)
    strong = resampled_scores("accuracy", exact_accuracy(RTE_SIZE, 0.85), indices)
    middle = resampled_scores("accuracy", exact_accuracy(RTE_SIZE, 0.845), indices)
    weak = resampled_scores("accuracy", exact_accuracy(RTE_SIZE, 0.55), indices)
    assert not tied(strong, weak) and tied(strong, middle) and not tied(middle, weak)


def test_pairing_detects_a_small_consistent_gain_that_unpaired_intervals_overlap():
    # b is a plus ten more correct examples: the intervals overlap, but on every resample b >= a
    indices = resample_indices("rte", "validation", IDS)
    a = exact_accuracy(RTE_SIZE, 0.6)
    b = a.copy()
    b[np.flatnonzero(a == 0)[:10]] = 1.0
    a_scores = resampled_scores("accuracy", a, indices)
    b_scores = resampled_scores("accuracy", b, indices)
    assert interval(b_scores)[0] < interval(a_scores)[1]  # overlapping intervals
    assert not tied(b_scores, a_scores)


def test_packed_resamples_round_trip_within_half_a_step_and_refuse_what_is_not_them():
    from harness.metrics.bootstrap import PACKED_STEP, pack, packed_length, unpack

    values = np.random.default_rng(0).uniform(-1.0, 1.0, 1000)
    text = pack(values)
    assert len(text) == packed_length(1000) == 2668
    assert np.abs(unpack(text, 1000) - values).max() <= PACKED_STEP / 2
    exact = np.array([-1.0, 0.0, 0.25, 0.5, 0.8, 1.0])
    assert unpack(pack(exact), 6).tolist() == exact.tolist()
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        pack([1.5])
    with pytest.raises(ValueError, match="not base64"):
        unpack("!" * len(text), 1000)
    with pytest.raises(ValueError, match="expected 999 int16 values"):
        unpack(text, 999)
    with pytest.raises(ValueError, match=r"outside \[-1, 1\]"):
        unpack(base64.b64encode(np.array([32001], dtype="<i2").tobytes()).decode(), 1)
