"""Pareto fronts over two board columns: which submissions no other submission beats on both axes.

A point is on the front when no other point is at least as good on both axes and strictly better on
one (DESIGN.md). Duplicated points do not dominate each other, so all copies of a front point are on it.
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
    present = [p for p in oriented if p is not None]
    out: list[bool | None] = []
    for p in oriented:
        if p is None:
            out.append(None)
            continue
        dominated = any(q[0] >= p[0] and q[1] >= p[1] and (q[0] > p[0] or q[1] > p[1]) for q in present)
        out.append(not dominated)
    return out
