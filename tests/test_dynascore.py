"""Dynascore on hand-computed cases: weights normalised, metrics converted by their AMRS."""

import pytest

from harness.dynascore import dynascore

DIRECTIONS = {"score": True, "latency_ms": False, "throughput": True}


def test_hand_computed_three_models():
    rows = [{"score": 80.0, "latency_ms": 10.0}, {"score": 90.0, "latency_ms": 30.0}, {"score": 85.0, "latency_ms": 15.0}]
    # by score: 80 -> 85 -> 90; |d latency| / d score = 5/5 = 1 and 15/5 = 3: AMRS = 2
    result = dynascore(rows, {"score": 3, "latency_ms": 1}, DIRECTIONS)
    assert result.amrs == {"score": pytest.approx(1.0), "latency_ms": pytest.approx(2.0)}
    assert result.weights == {"score": 0.75, "latency_ms": 0.25}
    expected = [0.75 * s - 0.25 * lat / 2 for s, lat in ((80, 10), (90, 30), (85, 15))]
    assert result.scores == pytest.approx(tuple(expected))


def test_higher_is_better_metrics_keep_their_sign():
    rows = [{"score": 80.0, "throughput": 100.0}, {"score": 90.0, "throughput": 50.0}]
    result = dynascore(rows, {"score": 1, "throughput": 1}, DIRECTIONS)
    assert result.amrs["throughput"] == pytest.approx(5.0)
    assert result.scores == pytest.approx((0.5 * 80 + 0.5 * 100 / 5, 0.5 * 90 + 0.5 * 50 / 5))


def test_missing_values_and_degenerate_boards():
    rows = [{"score": 80.0, "latency_ms": None}, {"score": 90.0, "latency_ms": 5.0}, {"score": 70.0, "latency_ms": 2.0}]
    result = dynascore(rows, {"score": 1, "latency_ms": 1}, DIRECTIONS)
    assert result.scores[0] is None and result.scores[1] is not None
    same = dynascore([{"score": 80.0, "latency_ms": 1.0}, {"score": 80.0, "latency_ms": 2.0}],
                     {"score": 1, "latency_ms": 1}, DIRECTIONS)
    assert same.scores == (None, None) and "distinct performance" in same.note
    flat = dynascore([{"score": 80.0, "latency_ms": 1.0}, {"score": 90.0, "latency_ms": 1.0}],
                     {"score": 1, "latency_ms": 1}, DIRECTIONS)
    assert flat.scores == pytest.approx((40.0, 45.0)) and "latency_ms" in flat.note
