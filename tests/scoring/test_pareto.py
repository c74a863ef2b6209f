"""Pareto fronts on hand-made point sets: directions, ties, duplicates, missing values."""

from harness.scoring.pareto import pareto_front

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


def _dominated_by_definition(p, others, signs):
    """docs/design.md's definition, pairwise: at least as good on both axes and strictly better on one."""
    a = (signs[0] * p[0], signs[1] * p[1])
    for q in others:
        b = (signs[0] * q[0], signs[1] * q[1])
        if b[0] >= a[0] and b[1] >= a[1] and (b[0] > a[0] or b[1] > a[1]):
            return True
    return False


def test_sweep_agrees_with_the_pairwise_definition_on_random_sets_full_of_ties():
    import random

    rnd = random.Random(7)
    for trial in range(300):
        n = rnd.randint(0, 25)
        pts = [None if rnd.random() < 0.1 else (float(rnd.randint(0, 6)), float(rnd.randint(0, 6))) for _ in range(n)]
        for better in ((True, False), (True, True), (False, False), (False, True)):
            signs = tuple(1.0 if b else -1.0 for b in better)
            present = [p for p in pts if p is not None]
            expected = [None if p is None else not _dominated_by_definition(p, present, signs) for p in pts]
            assert pareto_front(pts, better) == expected, (trial, pts, better)
