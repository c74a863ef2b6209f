"""Pareto fronts over two board columns: which submissions no other submission beats on both axes.

A point is on the front when no other point is at least as good on both axes and strictly better on
one (docs/design.md). Duplicated points do not dominate each other, so all copies of a front point are on it.
"""

from __future__ import annotations

from typing import Sequence

Point = tuple[float, float]


def pareto_front(points: Sequence[Point | None], higher_is_better: tuple[bool, bool]) -> list[bool | None]:
    """For each point, whether it is on the front; None where a coordinate is missing (not compared).

    >>> pareto_front([(80.0, 5.0), (80.0, 3.0), (70.0, 1.0), (60.0, 2.0), None], (True, False))
    [False, True, True, False, None]
    """
    signs = tuple(1.0 if better else -1.0 for better in higher_is_better)
    oriented = [None if p is None or None in p else (signs[0] * p[0], signs[1] * p[1]) for p in points]
    # Sweep from the best first coordinate down: a point is dominated by a strictly better first
    # coordinate whose second is at least as good, or by an equal first with a strictly better second.
    best_second = {}  # first coordinate -> best second among points sharing it
    for p in oriented:
        if p is not None and (p[0] not in best_second or p[1] > best_second[p[0]]):
            best_second[p[0]] = p[1]
    best_above: dict[float, float] = {}  # first coordinate -> best second among strictly greater firsts
    running = float("-inf")
    for first in sorted(best_second, reverse=True):
        best_above[first] = running
        running = max(running, best_second[first])
    return [None if p is None else not (best_above[p[0]] >= p[1] or best_second[p[0]] > p[1]) for p in oriented]
