"""Per-track exports: the CSV reads back into the same DataFrame; JSON, Markdown and LaTeX (booktabs, best value
per column in bold among eligible rows) carry the same rows, in rank order, with submitter text escaped."""

from __future__ import annotations

import io
import json
import math

import pandas as pd
import pytest
from site_records import ORDER, XSS, built_site

from harness.publish.exports import board_frame, latex_escape, read_csv_export

ROWS = ORDER + ["paper-bert"]  # submissions in rank order, then the published reference row


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_site(tmp_path_factory)


@pytest.fixture(scope="module")
def board(built):
    return next(b for b in built.boards if b.track["id"] == "fixture")


def export(built, ext):
    return built.files[f"tracks/fixture/fixture.{ext}"]


def test_csv_reads_back_into_the_same_dataframe(built, board):
    frame = board_frame(board)
    back = read_csv_export(io.StringIO(export(built, "csv")))
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert list(back["submission"]) == ROWS
    plain = pd.read_csv(io.StringIO(export(built, "csv")))  # a reader without our dtypes gets the same numbers
    pd.testing.assert_series_equal(plain["score"], frame["score"])


def test_csv_values_are_raw_in_stored_units_with_provenance(board):
    frame = board_frame(board).set_index("submission")
    assert frame.loc["alpha", "params"] == 30_000_000 and frame.loc["alpha", "score"] == pytest.approx(90.5)
    assert frame.loc["alpha", "task:sst2"] == pytest.approx(92.0) and frame.loc["alpha", "rank"] == 1
    assert math.isnan(frame.loc["gamma", "latency_ms"])  # not measured: empty, never 0
    assert not frame.loc["big", "eligible"] and frame.loc["alpha", "eligible"]
    assert "max_params" not in str(frame.loc["alpha", "broken"]) and "50,000,000" in frame.loc["big", "broken"]
    assert pd.isna(frame.loc["paper-bert", "eligible"]) and frame.loc["paper-bert", "kind"] == "reference"
    assert "energy_kwh: estimated" in frame.loc["beta", "provenance"]
    assert "params: self-reported" in frame.loc["selfrep", "provenance"]
    assert frame.loc["xss", "name"] == XSS  # data stays data in CSV; pages and tables escape it


def test_json_export_has_units_conventions_and_the_rows(built):
    doc = json.loads(export(built, "json"))
    assert [r["submission"] for r in doc["rows"]] == ROWS
    columns = {c["id"]: c for c in doc["columns"]}
    assert columns["params"]["unit"] == "parameters" and "unique parameter tensors" in columns["params"]["convention"]
    gamma = next(r for r in doc["rows"] if r["submission"] == "gamma")
    assert gamma["latency_ms"] is None and gamma["rank"] == 4
    assert doc["track"]["id"] == "fixture" and doc["ranking"]["by"] == "score"


def test_latex_is_booktabs_with_best_eligible_values_bold_and_text_escaped(built):
    tex = export(built, "tex")
    assert tex.count(r"\toprule") == 1 and tex.count(r"\midrule") == 2 and tex.count(r"\bottomrule") == 1
    lines = {line.split(" & ")[1]: line for line in tex.splitlines() if line.count(" & ") > 5}
    assert r"\textbf{90.50}" in lines["Alpha-6L"]  # best eligible score: Big teacher (94.50) is ineligible
    xss = latex_escape(XSS)  # \textless{}script\textgreater{}...
    assert r"\textbf{5.00}" in lines[xss] and r"\textbf{2.00}" in lines[xss]  # fewest parameters, lowest latency
    assert r"\textbf" not in lines["Big teacher"]
    assert r"Gamma\_pruned 50\%" in lines and "not measured" in lines[r"Gamma\_pruned 50\%"]
    assert r"15.0$^{*}$" in lines["Exits (self-reported)"]
    assert r"$^{\sim}$" in lines[r"Beta\textbar{}int8"]
    assert "Parameters (M)" in tex and "Model size (MiB)" in tex and r"\caption{" in tex
    assert latex_escape(r"50% of {x}_1 & \n") == r"50\% of \{x\}\_1 \& \textbackslash{}n"


def test_markdown_table_escapes_pipes_and_html(built):
    md = export(built, "md")
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| Rank | Submission | Method | Mean score (0-100) | Parameters (M)")
    names = [row.split(" | ")[1] for row in rows[1:]]
    assert names == [
        "Alpha-6L",
        r"Beta\|int8",
        "Exits (self-reported)",
        r"Gamma\_pruned 50%",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "Big teacher",
        "Paper BERT",
    ]
    assert "**90.50**" in rows[1] and XSS not in md
