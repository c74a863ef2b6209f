"""Score-against-cost plots with the Pareto front drawn, as deterministic SVG and PNG (matplotlib, Agg).

One figure per Pareto pair of a board (plus the ELUE operating points on ELUE tracks), never one per
submission: figures are the costly part of a site build. Output bytes depend only on the board.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from harness.publish import cells
from harness.scoring.board import Leaderboard, ParetoPair, Row
from harness.tracks.columns import Value

# Cost columns a site plots the score against, whenever the track shows them.
PLOT_X = ("flops", "latency_ms", "size_bytes", "system_bytes", "energy_kwh")
LABEL_ALL_UP_TO = 20  # label every eligible point up to this many; beyond, only the front
MAX_LABELS = 12
LOG_RATIO = 30.0  # a log x axis when the largest x is this many times the smallest
RC = {
    "svg.hashsalt": "harness-leaderboard",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.axisbelow": True,
}
SVG_META = {"Date": None, "Creator": "harness leaderboard (matplotlib)"}
PNG_META = {"Software": None}
PNG_DPI = 100
STYLE = {  # legend label, marker, face colour, edge colour, size
    "measured": ("measured, eligible", "o", "#1f77b4", "#1f77b4", 4.5),
    "estimated": ("estimated energy, eligible (ranked apart)", "s", "none", "#8a6d00", 4.5),
    "self-reported": ("self-reported, eligible", "^", "none", "#d95f02", 5.5),
    "ineligible": ("ineligible", "x", "#9a9a9a", "#9a9a9a", 4.0),
    "reference": ("published (literature)", "D", "#444444", "#444444", 4.5),
}


@dataclass(frozen=True)
class Plot:
    """One figure of a track page: file stem, title, image bytes (None: nothing to plot) and a caption note."""

    name: str
    title: str
    svg: bytes | None
    png: bytes | None
    note: str
    pair: str = ""


def import_matplotlib() -> Any:
    """matplotlib on its file-only Agg backend, with what drawing and saving a figure imports."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401

    return matplotlib


def _value(row: Row, column: str) -> float | None:
    v = row.values.get(column, Value(None, "not measured")).value
    return None if v is None else float(v)


def _save(fig: Any) -> tuple[bytes, bytes]:
    svg, png = io.BytesIO(), io.BytesIO()
    fig.savefig(svg, format="svg", metadata=SVG_META)
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata=PNG_META)
    return svg.getvalue(), png.getvalue()


def _short(text: str, n: int = 28) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _spread(points: list[tuple[float, float, str]], log: bool) -> list[tuple[float, float, str]]:
    """Up to MAX_LABELS points to label, best score first, skipping any too close to one already chosen."""
    if not points:
        return []
    import math

    fx = (lambda v: math.log10(v)) if log else (lambda v: v)
    xs, ys = [fx(p[0]) for p in points], [p[1] for p in points]
    wx, wy = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    chosen: list[tuple[float, float, str]] = []
    near: list[tuple[float, float]] = []
    for p in sorted(points, key=lambda p: (-p[1], p[0], p[2])):
        u, v = (fx(p[0]) - min(xs)) / wx, (p[1] - min(ys)) / wy
        u += 0.1 if u <= 0.8 else -0.1  # the label's middle: labels run right, or left near the right edge
        if all(abs(u - a) > 0.2 or abs(v - b) > 0.05 for a, b in near):
            chosen.append(p)
            near.append((u, v))
        if len(chosen) == MAX_LABELS:
            break
    return chosen


def _right_edge(xs: list[float], log: bool) -> float:
    """The x beyond which a label would run off the axes (the rightmost fifth of the data range)."""
    import math

    lo, hi = min(xs), max(xs)
    if log:
        return 10 ** (math.log10(lo) + 0.8 * (math.log10(hi) - math.log10(lo)))
    return lo + 0.8 * (hi - lo)


def elue_mean_curve(board: Leaderboard) -> list[tuple[float, float]]:
    """The reference curve averaged over the track's tasks, at the FLOPs every task's curve covers."""
    from harness.scoring.elue_score import reference_perf

    curve = board.reference_curve or {}
    tasks = [t["task"] for t in board.track.get("tasks", [])]
    curves = {t: [tuple(p) for p in (curve.get("points") or {}).get(t) or ()] for t in tasks}
    if not tasks or not all(curves.values()):
        return []
    lo = max(c[0][0] for c in curves.values())
    hi = min(c[-1][0] for c in curves.values())
    xs = sorted({x for c in curves.values() for x, _ in c if lo <= x <= hi})
    return [(x, sum(reference_perf(c, x, "clamp")[0] or 0.0 for c in curves.values()) / len(curves)) for x in xs]


def plot_pair(board: Leaderboard, pair: ParetoPair) -> Plot:
    """Score (y) against a cost column (x): eligible points by kind, ineligible ones grey, the front as a staircase."""
    ycol, xcol = board.column(pair.y), board.column(pair.x)
    name = f"{pair.y}-vs-{pair.x}"
    title = f"{ycol.label} against {xcol.label}"
    groups: dict[str, list[tuple[float, float, str]]] = {k: [] for k in STYLE}
    front: list[tuple[float, float, str]] = []
    estimated_front: list[tuple[float, float, str]] = []
    apart = set(pair.estimated_front)
    labelled = [c for c in (ycol, xcol) if c.labelled]
    for row in board.rows:
        y, x = _value(row, pair.y), _value(row, pair.x)
        if y is None or x is None:
            continue
        point = (cells.scaled(xcol, x), y, row.name)
        estimated = any(row.values[c.id].provenance == "estimated" for c in labelled)
        kind = (
            "ineligible"
            if not row.eligible
            else "estimated"
            if estimated
            else "self-reported"
            if row.kind == "self-reported"
            else "measured"
        )
        groups[kind].append(point)  # type: ignore[arg-type]
        if row.pareto.get(pair.id):
            (estimated_front if row.submission in apart else front).append(point)  # type: ignore[arg-type]
    for row in board.reference_rows:
        y, x = _value(row, pair.y), _value(row, pair.x)
        if y is not None and x is not None:
            groups["reference"].append((cells.scaled(xcol, x), y, row.name))  # type: ignore[arg-type]
    eligible = groups["measured"] + groups["estimated"] + groups["self-reported"]
    if not eligible:
        return Plot(name, title, None, None, "no eligible submission has both values yet: nothing to plot", pair.id)
    curve = elue_mean_curve(board) if pair.x == "flops" and board.reference_curve else []
    mpl = import_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    with mpl.rc_context(RC):
        fig = Figure(figsize=(7.2, 4.4))
        fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.12)
        ax = fig.add_subplot()
        for kind, (label, marker, face, edge, size) in STYLE.items():
            pts = groups[kind]
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    linestyle="none",
                    marker=marker,
                    markersize=size,
                    markerfacecolor=face,
                    markeredgecolor=edge,
                    alpha=0.8 if kind != "ineligible" else 0.6,
                    label=f"{label} ({len(pts)})",
                )
        step = "steps-post" if not xcol.higher_is_better else "steps-pre"
        for points, colour, dashes, what in (
            (front, "#2ca02c", "-", "Pareto front"),
            (estimated_front, "#8a6d00", ":", "Pareto front of estimated energy"),
        ):
            points.sort()
            if points:
                ax.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    color=colour,
                    linewidth=1.4,
                    linestyle=dashes,
                    drawstyle=step,
                    marker="o",
                    markersize=6,
                    markerfacecolor="none",
                    markeredgecolor=colour,
                    label=f"{what} ({len(points)})",
                )
        if curve:
            ax.plot(
                [cells.scaled(xcol, x) for x, _ in curve],
                [y for _, y in curve],
                color="#7b3294",
                linestyle="--",
                linewidth=1.2,
                label=_short(f"ELUE reference: {board.reference_curve['model']}", 60) + " (mean over tasks)",
            )
        xs = [p[0] for g in groups.values() for p in g] + [cells.scaled(xcol, x) for x, _ in curve]
        log = min(xs) > 0 and max(xs) / min(xs) >= LOG_RATIO
        named = eligible if len(eligible) <= LABEL_ALL_UP_TO else _spread(front + estimated_front, log)
        right = _right_edge(xs, log)
        for x, y, text in sorted(named) + sorted(groups["reference"]):
            left = x > right  # near the right edge: the label goes to the left of its point
            ax.annotate(
                _short(text),
                (x, y),
                xytext=(-4 if left else 4, 3),
                textcoords="offset points",
                ha="right" if left else "left",
                fontsize=6.5,
                color="#333333",
                parse_math=False,
            )
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_locator(NullLocator())
            scale = ", log scale"
        else:
            scale = ""
        better = "higher" if xcol.higher_is_better else "lower"
        ax.set_xlabel(f"{xcol.label} ({cells.display_unit(xcol)}{scale}; {better} is better)", parse_math=False)
        ax.set_ylabel(f"{ycol.label} ({cells.display_unit(ycol)})", parse_math=False)
        ax.set_title(title, parse_math=False)
        legend = ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
        for t in legend.get_texts():
            t.set_parse_math(False)
        svg, png = _save(fig)
    shown = (
        "every eligible point is labelled"
        if named is eligible
        else (
            "labels on the Pareto front"
            + (" (where they do not overlap)" if len(named) < len(front) + len(estimated_front) else "")
        )
    )
    if groups["estimated"]:
        shown += "; estimated energy (hollow squares) is never compared with measured energy: its own front, dotted"
    return Plot(name, title, svg, png, shown, pair.id)


def plot_elue_points(board: Leaderboard) -> Plot | None:
    """ELUE tracks: per task, every eligible submission's (FLOPs, perf) points against the reference curve."""
    curve = board.reference_curve
    if not curve or not any((curve.get("points") or {}).values()):
        return None
    tasks = [t["task"] for t in board.track.get("tasks", [])]
    per_task: dict[str, dict[str, list[tuple[float, float]]]] = {t: {} for t in tasks}
    for row in board.rows:
        if not row.eligible:
            continue
        for p in row.points:
            if p.get("task") in per_task:
                per_task[p["task"]].setdefault(row.name, []).append((p["flops"] / 1e9, p["perf"]))
    title = "ELUE operating points against the reference curve"
    if not any(per_task.values()):
        return Plot("elue-points", title, None, None, "no eligible submission has operating points yet")
    mpl = import_matplotlib()
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    cols = min(3, len(tasks))
    rows_n = (len(tasks) + cols - 1) // cols
    height = 2.5 * rows_n + 0.9
    with mpl.rc_context(RC):
        fig = Figure(figsize=(7.2, height))
        fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.5 / height, bottom=0.5 / height, hspace=0.55, wspace=0.25)
        fig.suptitle(title, parse_math=False)
        for i, task in enumerate(tasks):
            ax = fig.add_subplot(rows_n, cols, i + 1)
            ax.set_title(task, fontsize=8, parse_math=False)
            ref = (curve.get("points") or {}).get(task) or ()
            if ref:
                ax.plot([x / 1e9 for x, _ in ref], [y for _, y in ref], color="#7b3294", linestyle="--", linewidth=1.1)
            subs = per_task[task]
            lines = [sorted(pts) for _, pts in sorted(subs.items()) if len(pts) > 1]
            if lines:
                ax.add_collection(LineCollection(lines, colors="#1f77b4", linewidths=0.7, alpha=0.6))
            pts = [p for _, group in sorted(subs.items()) for p in group]
            if pts:
                ax.plot(
                    [p[0] for p in pts],
                    [p[1] for p in pts],
                    linestyle="none",
                    marker="o",
                    markersize=3,
                    color="#1f77b4",
                    alpha=0.8,
                )
            ax.set_xlabel("GFLOPs per example", fontsize=7)
            ax.tick_params(labelsize=6.5)
        svg, png = _save(fig)
    note = (
        f"dashed: the reference curve ({curve.get('model', '')}); dots: eligible submissions' points, "
        "joined per submission when it has several (early exits)"
    )
    return Plot("elue-points", title, svg, png, note)


def figure(board: Leaderboard, index: int) -> Plot | None:
    """Figure `index` of a board: its Pareto pairs in order, then (index len(pareto)) the ELUE points figure."""
    return plot_pair(board, board.pareto[index]) if index < len(board.pareto) else plot_elue_points(board)
