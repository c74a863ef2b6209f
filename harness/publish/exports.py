"""Per-track exports: CSV and JSON built with pandas (raw values, stored units), and Markdown and LaTeX
tables (display units, best value per column in bold, booktabs rules) for papers.

`read_csv_export` reads a CSV export back into the DataFrame `board_frame` built it from. Everything a
submitter wrote stays data: CSV text cells cannot start a spreadsheet formula, and Markdown and LaTeX cells
escape their table syntax, line breaks and special characters (a newline in a name cannot forge a row).
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness.publish import cells
from harness.scoring.board import Leaderboard, Row
from harness.tracks.columns import Column, mark

TEXT_COLUMNS = (
    "group",
    "submission",
    "name",
    "team",
    "kind",
    "methods",
    "broken",
    "notes",
    "provenance",
    "source",
    "last_run",
)
DTYPES = {"rank": "Int64", "eligible": "boolean", "tied": "boolean", **{c: "string" for c in TEXT_COLUMNS}}
INTERVAL_COLUMNS = ("score_low", "score_high")  # the score's 95% bootstrap interval (NaN: none)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, "CSV Injection"); CSV text cells
# that start with one, or with the apostrophe that neutralises them, get an apostrophe in front.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_QUOTE = "'"
LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_LATEX_SPECIAL = re.compile("[" + re.escape("".join(LATEX_SPECIALS)) + "]")
# What str.splitlines breaks lines at; other control characters read as a space.
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
LATEX_MARKS = {"*": r"$^{*}$", "~": r"$^{\sim}$", "^": r"$^{\dagger}$"}
MARKDOWN_MARKS = {"*": r"\*", "~": r"\~", "^": "^"}
ESTIMATED_RANK = "~"  # after a rank: a place among the estimated values only
LEGEND = (
    "* self-reported by the submitter; ~ estimated (no energy counters), and after a rank: ranked among the "
    "estimated values only; ^ published in the literature (not measured here); not measured = no value "
    "(never 0); k of n tasks = an aggregate over missing tasks, no score. Bold: best among eligible "
    "submissions (estimated values apart)."
)


def _text(value: str) -> str | None:
    return value if value else None


def _provenance(row: Row, columns: list[Column]) -> str:
    return "; ".join(
        f"{c.id}: {row.values[c.id].provenance}"
        for c in columns
        if c.id in row.values and row.values[c.id].value is not None and row.values[c.id].provenance != "measured"
    )


def board_frame(board: Leaderboard) -> Any:
    """One line per submission, then the published reference rows; values in their stored units (NaN: not measured)."""
    import pandas as pd

    columns = cells.ordered_columns(board.columns)
    lines = []
    for row in (*board.rows, *board.reference_rows):
        line: dict[str, Any] = {
            "rank": row.rank,
            "group": None if row.kind == "reference" else row.group,
            "submission": row.submission,
            "name": _text(row.name),
            "team": _text(row.team),
            "kind": row.kind,
            "methods": _text(";".join(row.methods)),
            "eligible": row.eligible,
            "broken": _text("; ".join(b.message for b in row.broken)),
            "notes": _text("; ".join(row.notes)),
        }
        for c in columns:
            v = row.values.get(c.id)
            line[c.id] = None if v is None or v.value is None else float(v.value)
        ci = getattr(row.values.get("score"), "interval", None)
        line.update(zip(INTERVAL_COLUMNS, ci or (None, None)))
        line["tied"] = row.tied if row.rank is not None else None
        line.update(provenance=_text(_provenance(row, columns)), source=_text(row.source), last_run=row.last_run)
        lines.append(line)
    order = [
        "rank",
        "group",
        "submission",
        "name",
        "team",
        "kind",
        "methods",
        "eligible",
        "broken",
        "notes",
        *(c.id for c in columns),
        *INTERVAL_COLUMNS,
        "tied",
        "provenance",
        "source",
        "last_run",
    ]
    frame = pd.DataFrame(lines, columns=order)
    for name in (*(c.id for c in columns), *INTERVAL_COLUMNS):
        frame[name] = frame[name].astype("float64")
    return frame.astype(DTYPES)


def csv_safe(frame: Any) -> Any:
    """The frame with every text cell that starts with a formula character (= + - @ tab CR), or with an
    apostrophe, prefixed by an apostrophe, which a spreadsheet shows as text; numeric columns (a negative score
    included) are left alone, so they stay numbers. `read_csv_export` removes the apostrophe again."""
    out = frame.copy()
    for c in TEXT_COLUMNS:
        hit = out[c].str.startswith((*FORMULA_STARTS, CSV_QUOTE)).fillna(False)
        if hit.any():
            out.loc[hit, c] = CSV_QUOTE + out.loc[hit, c]
    return out


def read_csv_export(source: Any) -> Any:
    """A CSV export as the DataFrame it was written from (nullable ints, booleans and strings; floats exact)."""
    import pandas as pd

    frame = pd.read_csv(source, dtype=DTYPES, keep_default_na=False, na_values=[""])
    for c in TEXT_COLUMNS:
        quoted = frame[c].str.startswith(CSV_QUOTE).fillna(False)
        if quoted.any():
            frame.loc[quoted, c] = frame.loc[quoted, c].str.slice(1)
    return frame


def latex_escape(text: str) -> str:
    r"""Text safe inside a LaTeX table cell: special characters as commands, line breaks and control characters as
    spaces (a blank line would end the table's paragraph).

    >>> latex_escape("a_b & 50% ~$x^2$ |<>|")
    'a\\_b \\& 50\\% \\textasciitilde{}\\$x\\textasciicircum{}2\\$ \\textbar{}\\textless{}\\textgreater{}\\textbar{}'
    """
    text = _CONTROL.sub(" ", _LINE_BREAK.sub(" ", text))
    return _LATEX_SPECIAL.sub(lambda m: LATEX_SPECIALS[m.group()], text)


def markdown_escape(text: str) -> str:
    r"""Text safe inside a Markdown table cell: pipes, emphasis, math and raw HTML neutralised, line breaks as
    `<br>` (a newline would end the row and start a forged one), other control characters as spaces.

    >>> markdown_escape("<b>a|b_c</b>\n| x |")
    '&lt;b&gt;a\\|b\\_c&lt;/b&gt;<br>\\| x \\|'
    """
    out = text.replace("\\", "\\\\")
    for ch in "`*_[]#~|$":
        out = out.replace(ch, "\\" + ch)
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(" ", _LINE_BREAK.sub("<br>", out))


def _best(board: Leaderboard, column: Column, estimated: bool) -> float | None:
    """The best eligible value of a column; on a labelled column (energy), among the estimated or the measured."""
    values = [
        r.values[column.id].value
        for r in board.rows
        if r.eligible
        and column.id in r.values
        and r.values[column.id].value is not None
        and (not column.labelled or (r.values[column.id].provenance == "estimated") == estimated)
    ]
    if not values:
        return None
    return max(values) if column.higher_is_better else min(values)  # type: ignore[type-var]


def _grid(board: Leaderboard) -> tuple[list[str], list[list[tuple[str, bool, str]]], list[Row]]:
    """Headers and, per row, (text, best?, mark) per value column: what both paper tables show."""
    columns = [(c, _best(board, c, False), _best(board, c, True)) for c in cells.ordered_columns(board.columns)]
    grid, rows = [], [*board.rows, *board.reference_rows]
    for row in rows:
        line = []
        for c, best, best_estimated in columns:
            v = row.values.get(c.id)
            if v is None or v.value is None:
                line.append((cells.absent(v), False, ""))
            else:  # digits, sign, comma and point: nothing to escape
                top = best_estimated if c.labelled and v.provenance == "estimated" else best
                line.append((cells.text(c, v.value), bool(row.eligible) and v.value == top, mark(v)))
        grid.append(line)
    return [cells.header(c) for c, _, _ in columns], grid, rows


def _eligible_text(row: Row) -> str:
    if row.eligible is None:
        return "reference"
    if row.eligible:
        return "yes"
    return "no: " + "; ".join(f"partial, {b.value}" if b.rule == "limit" else b.rule for b in row.broken)


def display_table(board: Leaderboard, style: str, grid: Any = None) -> tuple[list[str], list[list[str]]]:
    """The table for papers as strings (`style` latex or markdown): header and lines, in display units, with
    marks and bold best values."""
    escape = latex_escape if style == "latex" else markdown_escape
    marks = LATEX_MARKS if style == "latex" else MARKDOWN_MARKS
    bold = (lambda s: r"\textbf{" + s + "}") if style == "latex" else (lambda s: f"**{s}**")
    heads, cells_grid, rows = grid or _grid(board)
    lines = []
    for row, values in zip(rows, cells_grid):
        eligible = escape(_eligible_text(row))
        rank = "-" if row.rank is None else str(row.rank) + (marks[ESTIMATED_RANK] if row.group == "estimated" else "")
        lines.append(
            [
                rank,
                escape(
                    row.name
                    + (
                        " (self-reported)"
                        if row.kind == "self-reported" and "self-reported" not in row.name.lower()
                        else ""
                    )
                ),
                escape(", ".join(row.methods) or ("published" if row.kind == "reference" else "")),
            ]
            + [(bold(text) if best else text) + marks.get(sign, "") for text, best, sign in values]
            + [eligible]
        )
    header = [escape(h) for h in ["Rank", "Submission", "Method", *heads, "Eligible"]]
    return header, lines


def to_latex(board: Leaderboard, grid: Any = None) -> str:
    """A booktabs table (\\toprule, \\midrule, \\bottomrule) in a table float, reference rows below their own rule.

    Rows are joined as plain strings: `DataFrame.to_latex` (via Styler) takes seconds on 1,000 rows.
    """
    header, table = display_table(board, "latex", grid)
    t = board.track
    caption = latex_escape(f"{t['name']} (track {t['id']}, {t['hardware']}): {board.ranking['rule']}. {LEGEND}")
    lines = [" & ".join(line) + r" \\" for line in table]
    if board.rows and board.reference_rows:
        lines.insert(len(board.rows), r"\midrule")
    starts = [i for i in range(1, len(board.rows)) if board.rows[i].group != board.rows[i - 1].group]
    for i in reversed(starts):  # a rule between row groups: ranks restart in each
        lines.insert(i, r"\midrule")
    spec = "r" + "l" * 2 + "r" * (len(header) - 4) + "l"
    return "\n".join(
        [
            r"\begin{table}",
            r"\centering",
            rf"\caption{{{caption}}}",
            rf"\label{{tab:{_label(t['id'])}}}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(header) + r" \\",
            r"\midrule",
            *lines,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
            "",
        ]
    )


def _label(track_id: str) -> str:
    """A LaTeX label from a track id (letters, digits, hyphens)."""
    return "".join(ch if ch.isalnum() else "-" for ch in track_id)


def to_markdown(board: Leaderboard, grid: Any = None) -> str:
    """A Markdown (GitHub) table with a title line, the ranking rule and the legend."""
    header, table = display_table(board, "markdown", grid)
    t = board.track
    head = "| " + " | ".join(header) + " |"
    rule = "|" + "|".join("---:" if i == 0 or 3 <= i < len(header) - 1 else ":---" for i in range(len(header))) + "|"
    body = ["| " + " | ".join(line) + " |" for line in table]
    return "\n".join(
        [
            f"### {markdown_escape(t['name'])} (track {markdown_escape(t['id'])})",
            "",
            markdown_escape(board.ranking["rule"]),
            "",
            head,
            rule,
            *body,
            "",
            markdown_escape(LEGEND),
            "",
        ]
    )


def to_json(board: Leaderboard, frame: Any = None) -> str:
    """Track, columns (with units and conventions) and rows (the CSV's content, via pandas) as one JSON document."""
    frame = board_frame(board) if frame is None else frame
    columns = [
        {
            "id": c.id,
            "label": c.label,
            "unit": c.unit,
            "higher_is_better": c.higher_is_better,
            "convention": c.convention,
        }
        for c in cells.ordered_columns(board.columns)
    ]
    head = {
        "track": {k: board.track[k] for k in ("id", "name", "hardware", "source")},
        "ranking": board.ranking,
        "last_run": board.last_run,
        "columns": columns,
    }
    text = json.dumps(head, indent=1, ensure_ascii=False)
    return text[:-2] + ',\n "rows": ' + frame.to_json(orient="records", force_ascii=False) + "\n}\n"


def export_board(board: Leaderboard) -> dict[str, str]:
    """The four exports of one track: {"csv": ..., "json": ..., "md": ..., "tex": ...}."""
    frame, grid = board_frame(board), _grid(board)
    return {
        "csv": csv_safe(frame).to_csv(index=False, lineterminator="\n"),
        "json": to_json(board, frame),
        "md": to_markdown(board, grid),
        "tex": to_latex(board, grid),
    }
