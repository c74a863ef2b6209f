"""Dynascore on hand-computed cases: weights normalised, metrics converted by their AMRS."""

import pytest

from harness.scoring.dynascore import dynascore

DIRECTIONS = {"score": True, "latency_ms": False, "throughput": True}


def test_hand_computed_three_models():
    rows = [
        {"score": 80.0, "latency_ms": 10.0},
        {"score": 90.0, "latency_ms": 30.0},
        {"score": 85.0, "latency_ms": 15.0},
    ]
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
    same = dynascore(
        [{"score": 80.0, "latency_ms": 1.0}, {"score": 80.0, "latency_ms": 2.0}],
        {"score": 1, "latency_ms": 1},
        DIRECTIONS,
    )
    assert same.scores == (None, None) and "distinct performance" in same.note
    flat = dynascore(
        [{"score": 80.0, "latency_ms": 1.0}, {"score": 90.0, "latency_ms": 1.0}],
        {"score": 1, "latency_ms": 1},
        DIRECTIONS,
    )
    assert flat.scores == pytest.approx((40.0, 45.0)) and "latency_ms" in flat.note


@pytest.mark.parametrize(
    "text,message",
    [
        ("score=4,params=-1", "weight '-1' of params is not a number > 0"),  # would reward the larger model
        ("score=inf,params=1", "weight 'inf' of score is not a number > 0"),
        ("score=nan,params=1", "weight 'nan' of score"),
        ("score=0,params=0", "weight '0' of score"),
        ("score=4,params=1,score=2", "score is weighted twice"),
        (",", "no COLUMN=WEIGHT given"),
        ("score=lots", "weight 'lots' of score"),
    ],
)
def test_cli_weights_are_refused_unless_finite_positive_and_once_each(text, message):
    from harness.commands.rank import dynascore_weights
    from harness.errors import UserError

    with pytest.raises(UserError, match=message):
        dynascore_weights(text)


def test_cli_weights_read_as_a_track_file_would():
    from harness.commands.rank import dynascore_weights

    assert dynascore_weights("score=4, latency_ms=1") == {"score": 4.0, "latency_ms": 1.0}
    assert dynascore_weights(None) == {}
