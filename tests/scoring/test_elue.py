"""The ELUE score on a hand-made reference curve: inside the range, at its ends, outside it."""

import pytest

from harness.scoring.elue_score import elue_score, reference_perf

CURVE = [(1.0e9, 80.0), (2.0e9, 84.0), (4.0e9, 88.0)]


@pytest.mark.parametrize(
    "flops,expected",
    [
        (1.0e9, 80.0),
        (1.5e9, 82.0),
        (2.0e9, 84.0),
        (3.0e9, 86.0),
        (4.0e9, 88.0),  # inside and at both ends
    ],
)
def test_interpolation_inside_and_at_the_ends(flops, expected):
    assert reference_perf(CURVE, flops) == (pytest.approx(expected), False)


def test_outside_the_range():
    assert reference_perf(CURVE, 0.5e9, "clamp") == (80.0, True)
    assert reference_perf(CURVE, 8.0e9, "clamp") == (88.0, True)
    assert reference_perf(CURVE, 0.5e9, "linear") == (pytest.approx(78.0), True)  # first segment extended
    assert reference_perf(CURVE, 6.0e9, "linear") == (pytest.approx(92.0), True)  # last segment extended
    assert reference_perf(CURVE, 0.5e9, "exclude") == (None, True)
    assert reference_perf([(1.0e9, 80.0)], 3.0e9, "linear") == (80.0, True)  # one point: held flat
    assert reference_perf([], 1.0e9) == (None, False)


def test_score_is_the_mean_over_points_then_tasks():
    points = {
        "sst2": [("exit 1", 1.5e9, 85.0), ("exit 2", 4.0e9, 90.0)],  # +3 and +2 -> 2.5
        "mrpc": [("", 3.0e9, 80.0)],
    }  # 80 - 86 -> -6
    result = elue_score(points, {"sst2": CURVE, "mrpc": CURVE})
    assert result.tasks == {"sst2": pytest.approx(2.5), "mrpc": pytest.approx(-6.0)}
    assert result.score == pytest.approx(-1.75) and result.note == ""
    assert [p.delta for p in result.points] == [pytest.approx(3.0), pytest.approx(2.0), pytest.approx(-6.0)]


def test_points_outside_the_range_under_each_rule():
    points = {"sst2": [("", 0.5e9, 81.0), ("", 2.0e9, 85.0)]}
    assert elue_score(points, {"sst2": CURVE}, "clamp").score == pytest.approx((1.0 + 1.0) / 2)
    assert elue_score(points, {"sst2": CURVE}, "linear").score == pytest.approx((3.0 + 1.0) / 2)
    excluded = elue_score(points, {"sst2": CURVE}, "exclude")
    assert excluded.score == pytest.approx(1.0) and excluded.points[0].outside_range
    only_outside = elue_score({"sst2": [("", 9e9, 90.0)]}, {"sst2": CURVE}, "exclude")
    assert only_outside.score is None and "no point inside" in only_outside.note


def test_a_task_without_a_curve_gives_no_score():
    result = elue_score({"sst2": [("", 2.0e9, 85.0)], "imdb": [("", 2.0e9, 85.0)]}, {"sst2": CURVE})
    assert result.score is None and "imdb: the reference curve has no points" in result.note
    assert result.tasks["sst2"] == pytest.approx(1.0)
