"""The static site from a fixture set of records: index, track tables (contents and order), submission pages,
plots, escaping of everything a submitter wrote, determinism, writing, the CLI and --serve."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from site_records import META, ORDER, XSS, built_site

from harness.publish.site.build import build_site, write_site

REPO = Path(__file__).resolve().parents[3]
STAMP = "2026-03-01T12:00:00+00:00"
EPOCH = "1772366400"  # STAMP as seconds since 1970


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return built_site(tmp_path_factory)


def text(built, path: str) -> str:
    content = built.files[path]
    return content if isinstance(content, str) else content.decode("utf-8")


def board_rows(html: str) -> list[str]:
    """The submission rows of a track page's ranking table, in page order."""
    table = html.split('id="board"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr class="r [^"]*"[^>]*>.*?</tr>', table)


def row_id(row: str) -> str:
    return re.search(r"<small><code>(.*?)</code>", row).group(1)


def test_index_lists_every_track_with_leader_submissions_and_last_run(built):
    index = text(built, "index.html")
    assert '<a class="track" href="tracks/fixture/index.html">Fixture track</a>' in index
    assert "ELUE fixture track" in index
    line = index.split("Fixture track</a>", 1)[1].split("</tr>", 1)[0]
    assert '<a href="submissions/alpha.html">Alpha-6L</a>' in line and "Mean score 90.50 (of 100)" in line
    assert ">6</span><small> (5 eligible)</small>" in line
    assert '<time datetime="2026-01-01T00:00:00+00:00">2026-01-01' in line
    assert STAMP in index  # the build timestamp, in the footer


def test_track_table_rows_in_rank_order_with_units_and_kinds(built):
    page = text(built, "tracks/fixture/index.html")
    rows = board_rows(page)
    assert [row_id(r) for r in rows] == ORDER
    ranks = [re.search(r'data-col="rank"[^>]*>([^<]*)<', r).group(1) for r in rows]
    assert ranks == ["1", "2", "3", "4", "5", "-"]
    by_id = dict(zip(ORDER, rows))
    alpha = by_id["alpha"]
    assert ">90.50<" in alpha and ">30.0<" in alpha  # score, params (M); sst2 x100 is in the per-task view's data
    assert '"92.00"' in page.split('id="board-data">', 1)[1]
    assert "92,000,000" not in alpha and "distillation" in alpha and "b-ineligible" not in alpha
    assert '<td class="nm" data-col="latency_ms"' in by_id["gamma"] and ">not measured<" in by_id["gamma"]  # never 0
    assert "<sup>~</sup>" in by_id["beta"]  # estimated energy
    selfrep = by_id["selfrep"]
    assert 'class="r kind-self-reported"' in selfrep and "b-self-reported" in selfrep and ">15.0<sup>*</sup>" in selfrep
    big = by_id["big"]
    assert "ineligible" in big.split(">", 1)[0] and "parameters 50,000,000 &gt; 40,000,000" in big
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    for label, unit in (
        ("Parameters", "M"),
        ("Model size", "MiB"),
        ("FLOPs per example", "GFLOPs"),
        ("Latency p50, batch 1", "ms"),
        ("Energy (total_power)", "J"),
        ("Mean score", "0-100"),
    ):
        assert f'{label}<span class="unit">{unit}</span>' in head, label
    assert "unique parameter tensors" in head  # measurement convention in the header tooltip
    assert '<option value="quantization">quantization</option>' in page and 'name="max-params"' in page
    reference = page.split('id="reference"', 1)[1]
    assert "Paper BERT" in reference and "b-reference" in reference and ">110<sup>^</sup>" in reference
    for ext in ("csv", "json", "md", "tex"):
        assert f'href="fixture.{ext}"' in page and f"tracks/fixture/fixture.{ext}" in built.files


def test_submitter_text_is_escaped_and_only_http_links_are_links(built):
    pages = {k: text(built, k) for k in built.files if k.endswith(".html")}
    for path, html in pages.items():
        assert XSS not in html, path
        assert not re.search(r'href="\s*javascript:', html, re.IGNORECASE), path
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escaped in pages["tracks/fixture/index.html"] and escaped in pages["index.html"]
    xss = pages["submissions/xss.html"]
    assert f"<h1>{escaped}</h1>" in xss and "javascript:alert(1)" in xss  # the bad link shows as text only
    assert '<a href="https://example.org/code?a=1&amp;b=2" rel="nofollow noopener noreferrer">' in xss
    assert "Gamma_pruned 50%" in pages["tracks/fixture/index.html"] and "Beta|int8" in pages["index.html"]
    for path, content in built.files.items():
        if path.endswith(".svg"):
            assert b"<script" not in content, path


def test_submission_page_has_metadata_results_measurements_environment_and_digests(built):
    page = text(built, "submissions/alpha.html")
    for expected in (
        "<h1>Alpha-6L</h1>",
        "bert-base-uncased",
        "bert-large-uncased",
        "Lab &amp; Co",
        '<a href="https://arxiv.org/abs/1234.5678"',
        "Alpha-6L: a compressed BERT",
        '<a href="../tracks/fixture/index.html">Fixture track</a>',
        "92.00",
        "accuracy 88.00 · f1 90.00",
        "FLOPs per module (one example of 128 tokens)",
        "RAPL package counters",
        "unique parameter tensors",
        "Test CPU 9000",
        "ab" * 32,
        "cd" * 32,
        "model/model.safetensors",
        "batch_size",
    ):
        assert expected in page, expected
    modules = re.findall(r"<code>(bert\.encoder\.layer\.\d+)</code>", page)
    assert modules == ["bert.encoder.layer.0", "bert.encoder.layer.1", "bert.encoder.layer.10"]  # natural order
    selfrep = text(built, "submissions/selfrep.html")
    assert "b-self-reported" in selfrep and "Operating points" in selfrep and "exit 2" in selfrep
    assert "15,000,000" in selfrep and "No environment fingerprint recorded" in selfrep


def test_plots_are_svg_and_png_embedded_with_the_front_and_the_elue_curve(built):
    files = built.files
    for name in (
        "score-vs-params",
        "score-vs-flops",
        "score-vs-latency_ms",
        "score-vs-size_bytes",
        "score-vs-energy_kwh",
    ):
        assert files[f"tracks/fixture/{name}.svg"].startswith(b"<?xml")
        assert files[f"tracks/fixture/{name}.png"].startswith(b"\x89PNG")
    page = text(built, "tracks/fixture/index.html")
    assert '<img src="score-vs-params.svg"' in page and 'href="score-vs-params.png"' in page
    assert "Pareto front: &lt;script&gt;alert(1)&lt;/script&gt;, Beta|int8, Alpha-6L" in page
    elue = files["tracks/elue-fixture/score-vs-flops.svg"]
    assert b"ELUE reference: hand-made curve (mean over tasks)" in elue
    assert "tracks/elue-fixture/elue-points.svg" in files
    assert b"<dc:date>" not in elue  # no date in the metadata


def test_same_records_give_the_same_bytes_but_the_timestamp(built):
    again = build_site(built.boards, built.records, META)
    assert again == built.files
    later = build_site(built.boards, built.records, {**META, "generated_at": "2027-12-31T23:59:59+00:00"})
    assert later.keys() == built.files.keys()
    changed = [k for k in later if later[k] != built.files[k]]
    assert changed and all(k.endswith(".html") for k in changed)
    for k in changed:
        assert later[k].replace("2027-12-31T23:59:59+00:00", STAMP) == built.files[k]


def test_forked_workers_rank_and_build_the_same_site(built):
    from harness.publish.boards import build_boards

    boards, records = build_boards(built.results, str(built.tracks), workers=2)
    assert boards == built.boards and records == built.records
    assert build_site(built.boards, built.records, META, workers=2) == built.files


def test_write_site_removes_only_its_own_stale_files(tmp_path):
    out = tmp_path / "site"
    write_site({"a.html": "a", "tracks/t/b.csv": "b"}, out)
    (out / "mine.txt").write_text("a user's file")
    write_site({"a.html": "A"}, out)
    assert (out / "a.html").read_text() == "A" and not (out / "tracks/t/b.csv").exists()
    assert (out / "mine.txt").exists()


def test_cli_builds_the_same_site_in_another_process_and_serves_it(built, tmp_path):
    out = tmp_path / "site"
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONHASHSEED": "123"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "leaderboard",
            "--results",
            str(built.results),
            "--tracks",
            str(built.tracks),
            "--out",
            str(out),
            "--serve",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a user sends it: a suite started in the background (`cmd &` without job
        # control) passes SIGINT ignored to its children, and the server would never hear it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("wrote ") and "2 tracks and 6 submissions" in lines[0], lines
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", lines[1]).group(1)
        with urllib.request.urlopen(url + "tracks/fixture/index.html", timeout=10) as response:
            served = response.read()
        assert served == (out / "tracks/fixture/index.html").read_bytes()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()
    from harness import __version__

    expected = build_site(built.boards, built.records, {**META, "harness_version": __version__})
    written = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert written.pop(".site-files").decode().split() == list(expected)
    assert written == {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in expected.items()}


def test_help_imports_neither_matplotlib_nor_pandas():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "harness", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0 and "leaderboard" in out.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines() if "|" in line}
    assert not imported & {"matplotlib", "pandas", "torch"}


def test_a_board_without_rows_still_gets_a_page(built):
    empty = replace(built.boards[0], rows=(), pareto=(), last_run=None)
    files = build_site([empty], [], META)
    page = files[f"tracks/{empty.track['id']}/index.html"]
    assert "No records for this track yet" in page and "no submissions yet" in files["index.html"]


def test_esc_gives_what_html_escape_gives():
    import html

    from harness.publish.site.markup import esc

    texts = ["plain", "", "a & b", "<script>alert('x')</script>", 'say "hi"', "Ünïcode → ∑ &amp;", "'\"<>&" * 3]
    for text in texts:
        assert esc(text) == html.escape(text, quote=True)
    assert esc(None) == "" and esc(3.5) == "3.5"


def test_write_site_with_two_processes_writes_the_same_files(tmp_path):
    files = {f"submissions/s{i}.html": f"<p>{i} é</p>" for i in range(30)}
    files.update({"tracks/t/plot.png": b"\x89PNG\x00\xff", "index.html": "<h1>x</h1>"})
    for workers in (1, 2):
        out = tmp_path / f"site{workers}"
        written = write_site(files, out, workers=workers)
        assert sorted(written) == sorted(out / rel for rel in files)
        for rel, content in files.items():
            raw = (out / rel).read_bytes()
            assert raw == (content if isinstance(content, bytes) else content.encode("utf-8"))


# ---------------------------------------------------------------- track pages at 1,000 rows (issue 15)


class _Elements(__import__("html.parser").parser.HTMLParser):
    """Counts the elements of a page as a browser's first render has them (before any script runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.count += 1

    def handle_startendtag(self, tag, attrs) -> None:
        self.count += 1


def elements(html: str) -> int:
    parser = _Elements()
    parser.feed(html)
    return parser.count


def loaded_gzip(files: dict, page: str) -> int:
    """gzip bytes of a page plus the scripts, styles and data files it loads (relative src/href of script/link)."""
    import gzip
    import posixpath

    html = files[page] if isinstance(files[page], str) else files[page].decode("utf-8")
    total = len(gzip.compress(html.encode("utf-8"), 9))
    for ref in re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"', html):
        path = posixpath.normpath(posixpath.join(posixpath.dirname(page), ref))
        content = files[path]
        total += len(gzip.compress(content if isinstance(content, bytes) else content.encode("utf-8"), 9))
    return total


@pytest.fixture(scope="module")
def thousand():
    """The GLUE track's page for 1,000 synthetic submissions (benchmarks/site_build.py's records)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import site_build
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    import random

    from harness.records import new_record
    from harness.scoring.rank import rank
    from harness.tracks.definitions import get_track

    rnd = random.Random(0)
    records = [new_record(**r) for i in range(1000) for r in site_build.submission_records(i, rnd)]
    board = rank(records, get_track("glue"))
    return board, build_site([board], records, META)


def test_a_track_page_of_1000_rows_renders_under_2000_elements_and_300_kb_gzip(thousand):
    board, files = thousand
    page = "tracks/glue/index.html"
    assert len(board.rows) == 1000
    html = files[page]
    assert elements(html) < 2000, elements(html)
    assert loaded_gzip(files, page) < 300_000, loaded_gzip(files, page)
    rows = re.findall(r'<tr class="r ', html)
    assert 50 <= len(rows) <= 100  # the first page of rows, readable without JS; the rest come as data
    assert html.count('<script type="application/json"') == 1


def test_task_headers_name_their_metric(thousand):
    _, files = thousand
    head = files["tracks/glue/index.html"].split("<thead>", 1)[1].split("</thead>", 1)[0]
    data = files["tracks/glue/index.html"].split('<script type="application/json" id="board-data">', 1)[1]
    for label in ("CoLA MCC", "MRPC F1/Acc", "STS-B P/S", "MNLI-m Acc", "QQP F1/Acc"):
        assert label in data, label
    assert "GLUE score" in head  # the efficiency view is the one rendered first


def test_board_has_leader_gap_hardware_counts_and_in_page_links(built):
    page = text(built, "tracks/fixture/index.html")
    summary = page.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    assert "Alpha-6L" in summary and "gap to the next" in summary and "4.00" in summary  # 90.50 - 86.50
    assert "Test CPU 9000" in summary and "1 thread" in summary and "torch 2.13.0+cpu" in summary
    assert "harness test" in summary
    assert "5 ranked" in summary and "1 ineligible" in summary and "0 partial" in summary
    for anchor in ("#plot", "#plots", "#reference", "#exports"):
        assert f'href="{anchor}"' in page, anchor
    assert "95%" not in page and "interval" not in summary  # no interval in these records: nothing shown


def test_notes_and_eligibility_are_badges_beside_the_name(built):
    rows = dict((row_id(r), r) for r in board_rows(text(built, "tracks/fixture/index.html")))
    big = rows["big"]
    assert 'class="badge b-ineligible"' in big and "parameters 50,000,000 &gt; 40,000,000" in big
    assert "b-ineligible" not in rows["alpha"] and "b-self-reported" in rows["selfrep"]
    assert "<ul" not in big  # no list of rules in the cell: a badge with its reason


def test_board_data_is_escaped_json_that_cannot_close_its_script(built):
    import json

    page = text(built, "tracks/fixture/index.html")
    raw = page.split('<script type="application/json" id="board-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw
    data = json.loads(raw)
    assert XSS in [r["n"] for r in data["rows"]]
    assert all(not str(r.get("u", "")).startswith("/") for r in data["rows"])


def test_intervals_show_only_where_a_value_has_one(built):
    from dataclasses import dataclass

    from harness.tracks.columns import Value

    @dataclass(frozen=True)
    class WithInterval(Value):
        interval: tuple | None = None

    board = built.boards[0] if built.boards[0].track["id"] == "fixture" else built.boards[1]
    rows = []
    for r in board.rows:
        v = r.values["score"]
        lo, hi = (v.value - 1.25, v.value + 0.75) if v.value is not None else (None, None)
        rows.append(replace(r, values={**r.values, "score": WithInterval(v.value, v.provenance, v.detail, (lo, hi))}))
    page = build_site([replace(board, rows=tuple(rows))], built.records, META)["tracks/fixture/index.html"]
    summary = page.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    assert "95% interval [89.25, 91.25]" in summary
    assert '"ci"' in page  # the rows' data carry the intervals, for the compare view


# ---------------------------------------------------------------- the index at 1,000 submissions, units, submission pages


def test_the_index_of_1000_submissions_renders_under_2000_elements_with_the_first_page_in_html(thousand):
    import json

    _, files = thousand
    html = files["index.html"]
    assert elements(html) < 2000, elements(html)
    table = html.split('<table class="plain subs" id="subs"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<tr data-id=", table)) == 50  # the first page, readable without JS
    assert "1-50 of 1000" in html and 'name="q"' in html
    raw = html.split('<script type="application/json" id="subs-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw
    data = json.loads(raw)
    assert len(data["rows"]) == 1000 and data["pageRows"] == 50
    assert all(not str(r["u"]).startswith("/") for r in data["rows"])


def test_the_index_data_keeps_hostile_names_as_escaped_text(built):
    import json

    html = text(built, "index.html")
    raw = html.split('<script type="application/json" id="subs-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in raw and ">" not in raw and "&" not in raw
    rows = {r["id"]: r for r in json.loads(raw)["rows"]}
    assert rows["xss"]["n"] == XSS and rows["alpha"]["u"] == "alpha" and rows["alpha"]["k"] == 2
    assert '<a href="submissions/xss.html">&lt;script&gt;alert(1)&lt;/script&gt;</a>' in html


def test_scores_in_the_summary_read_as_the_cells_do(built):
    page = text(built, "tracks/fixture/index.html")
    summary = page.split('<section id="summary"', 1)[1].split("</section>", 1)[0]
    assert "Alpha-6L</a>, Mean score 90.50 (of 100);" in summary, summary
    assert "gap to the next" in summary and ": 4.00 points" in summary, summary
    assert "0-100" not in summary
    index = text(built, "index.html")
    assert "Mean score 90.50 (of 100)" in index and "90.50 0-100" not in index


def test_units_of_a_reading_and_a_gap():
    from harness.publish import cells
    from harness.tracks.columns import Column

    def col(unit: str) -> Column:
        return Column("c", "C", unit, True, "convention", group="score")

    assert cells.reading(col("points (0-100)"), 86.1) == "86.10 (of 100)"
    assert cells.reading(col("points above the reference curve"), 1.2) == "+1.20 points"
    assert cells.reading(col("parameters"), 30_000_000) == "30.0 M"
    assert cells.reading(col("points (0-100)"), None) == "not measured"
    assert cells.gap(col("points (0-100)"), -1.224) == "1.22 points"
    assert cells.gap(col("points (0-100)"), 1.0) == "1.00 point"
    assert cells.gap(col("bytes"), 2 * 2**20) == "2.00 MiB"


def _card(page: str) -> str:
    return page.split('<section class="card" aria-label="summary">', 1)[1].split("</section>", 1)[0]


def test_submission_page_summary_card_gives_rank_of_ranked_and_gap_to_the_leader(built):
    alpha = _card(text(built, "submissions/alpha.html"))
    line = alpha.split("Fixture track</a>", 1)[1].split("</p>", 1)[0]
    assert ": rank <strong>1</strong> of 5;" in line and "Mean score 90.50 (of 100)" in line and "the leader" in line
    beta = _card(text(built, "submissions/beta.html"))
    line = beta.split("Fixture track</a>", 1)[1].split("</p>", 1)[0]
    assert "rank <strong>2</strong> of 5;" in line and "4.00 points behind the leader (Alpha-6L)" in line, line
    big = _card(text(built, "submissions/big.html")).split("Fixture track</a>", 1)[1].split("</p>", 1)[0]
    assert "not ranked (ineligible)" in big
    assert "ELUE fixture track</a>: rank <strong>" in alpha  # one line per track


def test_submission_page_names_the_backend(built):
    assert "<dt>Backend</dt><dd>torch</dd>" in text(built, "submissions/alpha.html")
    assert "<dt>Backend</dt><dd>onnxruntime</dd>" in text(built, "submissions/beta.html")
    assert "<dt>Backend</dt>" not in text(built, "submissions/selfrep.html")  # no model block: nothing claimed
    results = text(built, "submissions/beta.html").split('class="plain results"', 1)[1].split("</table>", 1)[0]
    assert "<td>onnxruntime</td>" in results


def test_ranked_by_is_never_empty_on_a_submission_page(built):
    for path in (k for k in built.files if k.startswith("submissions/")):
        html = text(built, path)
        tracks = html.split("<h2>Tracks</h2>", 1)[1].split("</table>", 1)[0]
        head = re.findall(r"<th[^>]*>(.*?)</th>", tracks)
        at = head.index("Ranked by")
        for row in re.findall(r"<tr><td>.*?</tr>", tracks):
            cells_ = re.findall(r"<td>(.*?)</td>", row)
            assert cells_[at].strip(), (path, row)


def test_flops_per_module_are_folded_in_details(built):
    page = text(built, "submissions/alpha.html")
    folded = re.search(r"<details([^>]*)><summary>FLOPs per module[^<]*</summary>(.*?)</details>", page, re.S)
    assert folded is not None and 'class="modules"' in folded.group(1)
    assert "open" not in folded.group(1)  # closed until the reader opens it
    assert '<table class="plain modules">' in folded.group(2) and "bert.encoder.layer.10" in folded.group(2)
    assert page.count("bert.encoder.layer.10") == 1  # not dumped a second time outside the fold
