"""A Leaderboard as plain text for the terminal: ranked table, per-task table, fronts, reference rows, notes."""

from __future__ import annotations

import re

from harness.scoring.board import Leaderboard, Row
from harness.tracks.columns import JOULES_PER_KWH, Column, Value, absent_text, mark

LEGEND = (
    "* self-reported   ~ estimated (no energy counters; after a rank: ranked among the estimated only)   "
    "^ published   n/m not measured"
)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # line breaks and terminal escapes (C0, DEL, C1) from submitter text


def _si(x: float) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= factor:
            return f"{x / factor:.3g}{prefix}"
    return f"{x:.3g}"


def cell(column: Column, value: Value | None) -> str:
    """A value as a table cell, with its provenance mark; `n/m` when not measured."""
    if value is None or value.value is None:
        return absent_text(value, "n/m")
    v = value.value
    if column.unit.startswith("points") or column.unit.startswith("score"):
        text = f"{v:.2f}"
    elif column.unit == "ms":
        text = f"{v:.2f}"
    elif column.unit == "kWh":
        text = _si(v * JOULES_PER_KWH) + "J"
    else:
        text = _si(v) + ("B" if column.unit == "bytes" else "")
    return text + mark(value)


def _table(header: list[str], lines: list[list[str]]) -> list[str]:
    lines = [[_CONTROL.sub(" ", c) for c in line] for line in lines]
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    fmt = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return [fmt(header)] + [fmt(line) for line in lines]


def _rank(row: Row) -> str:
    tie = "=" if row.tied else ""
    return "-" if row.rank is None else f"{row.rank}~{tie}" if row.group == "estimated" else f"{row.rank}{tie}"


def _interval(row: Row) -> str:
    ci = getattr(row.values.get("score"), "interval", None)
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"


def _status(row: Row) -> str:
    if row.eligible is False:
        return "ineligible: " + "; ".join(b.message for b in row.broken)
    return "; ".join(row.notes)


def render(board: Leaderboard) -> str:
    """The board as text: the ranked table first, then per-task scores, fronts, reference rows and notes."""
    t, r = board.track, board.ranking
    main = [c for c in board.columns if c.group in ("score", "efficiency", "utility")]
    tasks = [c for c in board.columns if c.group in ("task", "diagnostic")]
    out = [
        f"{t['name']} [track {t['id']}, {t['hardware']}] - {r['rule']}",
        f"last run {board.last_run or 'never'}; {board.generated_from} record(s)",
    ]
    if board.band():
        out.append(f"minimum score (accuracy band): {board.band()}")
    out.append("")
    if not board.rows:
        out.append("no records for this track yet: run `harness run " + t["id"] + "`")
    else:
        intervals = any(getattr(row.values.get("score"), "interval", None) for row in board.rows)
        lines = [
            [_rank(row), row.submission, row.kind]
            + [cell(c, row.values.get(c.id)) for c in main]
            + ([_interval(row)] if intervals else [])
            + [_status(row)]
            for row in board.rows
        ]
        ci_head = ["score 95% interval"] if intervals else []
        out += _table(
            ["rank", "submission", "kind"] + [c.label for c in main] + ci_head + ["eligibility / notes"], lines
        )
        if any(row.tied for row in board.rows):
            out.append(f"= after a rank: {r.get('ties', '')}")
        out += ["", "per-task scores (x100):"]
        out += _table(
            ["submission"] + [c.label for c in tasks],
            [[row.submission] + [cell(c, row.values.get(c.id)) for c in tasks] for row in board.rows],
        )
    for pair in board.pareto:
        apart = f"; of the estimated values, apart: {', '.join(pair.estimated_front)}" if pair.estimated_front else ""
        out.append(f"Pareto front {pair.y} vs {pair.x}: {', '.join(pair.front) or '(no eligible point)'}{apart}")
    if board.dynascore:
        amrs = ", ".join(f"{k} {v:.4g}" for k, v in board.dynascore["amrs"].items() if v is not None)
        out.append(f"Dynascore weights {board.dynascore['weights']}; AMRS {amrs or '-'} {board.dynascore['note']}")
    if board.reference_rows:
        out += ["", "published reference rows (not measured here, not ranked):"]
        shown = [c for c in board.columns if any(c.id in ref.values for ref in board.reference_rows)]
        out += _table(
            ["model"] + [c.label for c in shown] + ["source"],
            [
                [ref.name] + [cell(c, ref.values.get(c.id)) for c in shown] + [ref.source]
                for ref in board.reference_rows
            ],
        )
    out += [""] + [f"note: {n}" for n in board.notes] + [LEGEND]
    return "\n".join(out)
