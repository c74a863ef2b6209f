"""Pareto fronts on hand-made point sets: directions, ties, duplicates, missing values."""

from harness.pareto import pareto_front

UP_DOWN = (True, False)  # score: higher is better; cost: lower is better


def test_front_of_a_plain_trade_off():
    points = [(90.0, 10.0), (85.0, 5.0), (80.0, 6.0), (70.0, 1.0), (60.0, 1.0)]
    assert pareto_front(points, UP_DOWN) == [True, True, False, True, False]


def test_a_tie_on_one_axis_is_broken_by_the_other():
    # same score, different cost: the cheaper one dominates; same cost, different score: the better one dominates
    assert pareto_front([(80.0, 2.0), (80.0, 3.0)], UP_DOWN) == [True, False]
    assert pareto_front([(80.0, 2.0), (75.0, 2.0)], UP_DOWN) == [True, False]


def test_duplicates_do_not_dominate_each_other():
    assert pareto_front([(80.0, 2.0), (80.0, 2.0), (70.0, 3.0)], UP_DOWN) == [True, True, False]
    assert pareto_front([(70.0, 3.0), (70.0, 3.0)], UP_DOWN) == [True, True]


def test_missing_values_are_not_plotted_and_do_not_dominate():
    assert pareto_front([(80.0, 2.0), None, (90.0, None), (70.0, 1.0)], UP_DOWN) == [True, None, None, True]


def test_directions():
    points = [(1.0, 1.0), (2.0, 2.0)]
    assert pareto_front(points, (True, True)) == [False, True]
    assert pareto_front(points, (False, False)) == [True, False]
    assert pareto_front(points, (True, False)) == [True, True]
    assert pareto_front([], UP_DOWN) == []
    assert pareto_front([(5.0, 5.0)], UP_DOWN) == [True]
