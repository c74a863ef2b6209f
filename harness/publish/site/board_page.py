"""A track page that works at 1,000 rows: the rows as compact JSON that site.js pages, sorts, filters, plots and
compares, plus the first page of rows in HTML so that the page reads without JavaScript.

Everything a submitter wrote is escaped twice over: in the HTML by `esc`, in the JSON by `data_script`, whose
text cannot close its <script> element (no `<`, `>` or `&` in it). site.js escapes again when it renders.

Intervals and ties: a cell's `Value` may carry `interval` ((low, high), on the value's scale) and `resamples`
(paired bootstrap scores), and a `Row` may carry `tied` (not significantly different from the row above (paired bootstrap)). The page
shows an interval, a gap interval, a tie marker or a significance only where these exist: never a placeholder.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from harness.publish import cells
from harness.publish.site.markup import badge, esc, submission_link
from harness.scoring.board import GROUPS, Leaderboard, Row
from harness.tasks import get_task
from harness.tracks.columns import MARKS, Column, Value, mark

PAGE_ROWS = 50  # rows per page of a ranking table
INLINE_INTERVALS = frozenset({"score"})  # column groups whose intervals are in the page's data; the rest load later
INTERVALS_FILE = "intervals.js"  # beside a track page: its per-task intervals (interval_data)
VIEWS = {"eff": ("score", "efficiency", "utility"), "tasks": ("score", "task", "diagnostic")}
TASK_NAMES = {
    "cola": "CoLA",
    "sst2": "SST-2",
    "mrpc": "MRPC",
    "qqp": "QQP",
    "stsb": "STS-B",
    "mnli": "MNLI",
    "mnli_matched": "MNLI-m",
    "mnli_mismatched": "MNLI-mm",
    "qnli": "QNLI",
    "rte": "RTE",
    "wnli": "WNLI",
    "ax": "AX",
    "boolq": "BoolQ",
    "cb": "CB",
    "copa": "COPA",
    "multirc": "MultiRC",
    "record": "ReCoRD",
    "superglue/rte": "RTE (SG)",
    "wic": "WiC",
    "wsc": "WSC",
    "squad": "SQuAD",
    "squad_v2": "SQuAD2",
}
METRICS = {
    "accuracy": "Acc",
    "f1": "F1",
    "f1_a": "F1a",
    "matthews_correlation": "MCC",
    "pearson": "P",
    "spearmanr": "S",
    "exact_match": "EM",
}
FIRST = ("f1", "pearson", "exact_match")  # GLUE's order of a two-metric task: F1/Acc, P/S, EM/F1


def task_of(column: Column) -> str | None:
    return column.id.split(":", 1)[1] if column.id.startswith("task:") else None


def compact_label(column: Column) -> str:
    """`CoLA MCC`, `MRPC F1/Acc`, `STS-B P/S` for a task column; the column's label otherwise."""
    task = task_of(column)
    if task is None:
        return cells.label(column)
    try:
        names = list(get_task(task).metric_names)
    except Exception:  # noqa: BLE001 - a task unknown here still gets a header
        names = []
    names.sort(key=lambda m: 0 if m in FIRST else 1)
    metric = "/".join(METRICS.get(m, m) for m in names)
    name = TASK_NAMES.get(task, task)
    return f"{name} {metric}".strip() + (" (diagnostic)" if column.group == "diagnostic" else "")


def tip(column: Column) -> str:
    better = "higher" if column.higher_is_better else "lower"
    return f"{column.label}: {cells.display_unit(column)}, {better} is better. {column.convention}"


def interval(value: Value | None) -> tuple[float, float] | None:
    """A value's 95% interval where the record has one (the hook for the bootstrap), else None."""
    ci = getattr(value, "interval", None)
    if ci is None or len(ci) != 2 or any(not isinstance(x, (int, float)) or not math.isfinite(x) for x in ci):
        return None
    return float(ci[0]), float(ci[1])


def _num(v: Any) -> Any:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, int):
        return v
    return float(f"{v:.8g}") if math.isfinite(v) else None


def board_data(board: Leaderboard, names: Mapping[str, str], ci_file: str | None = None) -> dict[str, Any]:
    """What site.js needs of a board, compact: columns, rows (values, texts, provenance), reference rows, plots;
    `ci_file`: the file beside the page that holds the rest of its intervals (interval_data), if any."""
    columns = cells.ordered_columns(board.columns)
    provs: list[str] = []
    index: dict[str, int] = {}

    def prov(v: Value) -> int:
        if v.provenance not in index:
            index[v.provenance] = len(provs)
            provs.append(v.provenance)
        return index[v.provenance]

    def values(row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {"v": [], "x": [], "p": []}
        detail, cis = {}, {}
        for i, c in enumerate(columns):
            v = row.values.get(c.id)
            present = v is not None and v.value is not None
            out["v"].append(_num(v.value) if present else None)  # type: ignore[union-attr]
            out["x"].append(cells.text(c, v.value) if present else cells.absent(v))  # type: ignore[union-attr]
            out["p"].append(prov(v) if v is not None else None)
            if v is not None and v.detail:
                detail[str(i)] = v.detail
            ci = interval(v) if c.group in INLINE_INTERVALS else None
            if ci is not None:
                cis[str(i)] = _ci(c, ci)
        if detail:
            out["d"] = detail
        if cis:
            out["ci"] = cis
        return out

    rows = []
    for r in board.rows:
        item: dict[str, Any] = {
            "id": r.submission,
            "n": r.name,
            "u": names[r.submission],
            "t": r.team,
            "m": list(r.methods),
            "k": r.kind,
            "g": r.group,
            "r": r.rank,
            "e": 1 if r.eligible else 0,
            **values(r),
        }
        if r.broken:
            item["b"] = "; ".join(b.message for b in r.broken)
        if r.notes:
            item["o"] = list(r.notes)
        if r.tied:
            item["tie"] = 1
        rows.append(item)
    position = {r.submission: i for i, r in enumerate(board.rows)}
    col_index = {c.id: i for i, c in enumerate(columns)}
    pairs = [
        {
            "id": p.id,
            "x": col_index[p.x],
            "y": col_index[p.y],
            "front": [position[s] for s in p.front if s in position],
            "efront": [position[s] for s in p.estimated_front if s in position],
        }
        for p in board.pareto
        if p.x in col_index and p.y in col_index
    ]
    refs = [{"n": r.name, "s": r.source, **values(r)} for r in board.reference_rows]
    size = next((c for c in ("size_bytes", "system_bytes", "weights_zstd_bytes") if c in col_index), None)
    return {
        "by": board.ranking["by"],
        "pageRows": PAGE_ROWS,
        "cols": [
            {
                "id": c.id,
                "l": compact_label(c),
                "u": cells.display_unit(c),
                "su": c.unit,
                "int": c.integer,
                "hi": c.higher_is_better,
                "g": c.group,
                "tip": tip(c),
            }
            for c in columns
        ],
        "provs": [[p, MARKS.get(p, ("", ""))[0]] for p in provs],
        "rows": rows,
        "refs": refs,
        "pairs": pairs,
        "size": size,
        "families": sorted({m for r in board.rows for m in r.methods}),
        "ciFile": ci_file,
    }


def _ci(column: Column, ci: tuple[float, float]) -> list[Any]:
    """A cell's interval as site.js reads it: the two numbers, then the two as the cell shows them."""
    return [_num(ci[0]), _num(ci[1]), cells.text(column, ci[0]), cells.text(column, ci[1])]


def interval_data(board: Leaderboard) -> dict[str, Any] | None:
    """The per-task intervals that site.js loads when a reader opens the compare view (INTERVALS_FILE): 20,000 of
    them would double a 1,000-row page's first load. {"rows": [[row index, {column index: interval}]]}; None when
    the board has none."""
    columns = cells.ordered_columns(board.columns)
    out = []
    for i, row in enumerate(board.rows):
        cis = {}
        for k, c in enumerate(columns):
            ci = interval(row.values.get(c.id)) if c.group not in INLINE_INTERVALS else None
            if ci is not None:
                cis[str(k)] = _ci(c, ci)
        if cis:
            out.append([i, cis])
    return {"rows": out} if out else None


def interval_script(data: Mapping[str, Any]) -> str:
    """INTERVALS_FILE's text: a script that hands site.js the data (a <script src> loads over file:// too, where a
    fetch of a JSON file is refused)."""
    return f"window.boardIntervals = {_json(data)};\n"


def _json(data: Mapping[str, Any]) -> str:
    """Compact JSON whose text cannot close a <script> element or be read as markup (no `<`, `>` or `&`)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def data_script(data: Mapping[str, Any], element_id: str = "board-data") -> str:
    """The data as a JSON <script> element whose text can never end it early or be read as markup."""
    return f'<script type="application/json" id="{element_id}">{_json(data)}</script>'


# ---------------------------------------------------------------- the first page of rows, in HTML


def view_columns(columns: Sequence[Column], view: str = "eff") -> list[Column]:
    return [c for c in columns if c.group in VIEWS[view]]


def _keep(board: Leaderboard, column_id: str) -> str:
    """Columns a phone still shows: rank, name, the score and what the track ranks by."""
    return " keep" if column_id in ("score", board.ranking["by"]) else ""


def head_html(board: Leaderboard, columns: Sequence[Column]) -> str:
    def fixed(label: str, kind: str, col: str, text: str, better: str = "", cls: str = "") -> str:
        extra = f' data-better="{better}"' if better else ""
        return (
            f'<th scope="col" class="{cls}" data-type="{kind}" data-col="{col}"{extra} title="{esc(text)}">'
            f'<button type="button">{esc(label)}</button></th>'
        )

    out = fixed("Rank", "num", "rank", "rank by the track's rule; ties share a rank", "lower", "keep")
    out += fixed(
        "Submission", "text", "submission", "display name, id and team; badges: notes and eligibility", "", "c-sub keep"
    )
    out += fixed("Method", "text", "method", "compression method family")
    for c in columns:
        better = "higher" if c.higher_is_better else "lower"
        cls = ("t" if task_of(c) else "") + _keep(board, c.id)
        out += (
            f'<th scope="col" class="{cls.strip()}" data-type="num" data-better="{better}" data-col="{esc(c.id)}" '
            f'title="{esc(tip(c))}"><button type="button">{esc(compact_label(c))}'
            f'<span class="unit">{esc(cells.display_unit(c))}</span></button></th>'
        )
    return out


def td_html(board: Leaderboard, col: Column, v: Value | None) -> str:
    keep = _keep(board, col.id)
    if v is None or v.value is None:
        text = cells.absent(v)
        why = f"{v.provenance}: {v.detail}" if v is not None and v.detail else text
        return f'<td class="nm{keep}" data-col="{esc(col.id)}" title="{esc(why)}">{esc(text)}</td>'
    sign = mark(v)
    prov = esc(v.provenance)
    ci = interval(v) if col.group in INLINE_INTERVALS else None  # as site.js draws it: the rest load later
    tip_text = (
        f"{cells.exact(col, v.value)}; {prov}"
        + (f" ({esc(v.detail)})" if v.detail else "")
        + (f"; {cells.interval_text(col, ci)}" if ci else "")
    )
    sup = f"<sup>{sign}</sup>" if sign else ""
    return (
        f'<td class="num p-{prov.replace(" ", "-")}{keep}" data-col="{esc(col.id)}" title="{tip_text}">'
        f"{cells.text(col, v.value)}{sup}</td>"
    )


def badges(row: Row) -> str:
    """Kind, eligibility and notes as badges after the name; the reasons in their titles."""
    out = badge(row.kind)
    if not row.eligible:
        why = "; ".join(b.message for b in row.broken) or "not eligible"
        out += f' <span class="badge b-ineligible" title="{esc(why)}">ineligible</span>'
    if row.notes:
        label = "note" if len(row.notes) == 1 else f"{len(row.notes)} notes"
        out += f' <span class="badge b-note" title="{esc(" | ".join(row.notes))}">{label}</span>'
    return out


def row_html(board: Leaderboard, row: Row, columns: Sequence[Column], names: Mapping[str, str]) -> str:
    classes = ["r", f"kind-{row.kind}"] + ([] if row.eligible else ["ineligible"])
    tie = '<sup title="not significantly different from the row above (paired bootstrap)">=</sup>' if row.tied else ""
    rank = (
        f'<td class="num rank keep" data-col="rank">{row.rank}{tie}</td>'
        if row.rank is not None
        else '<td class="num rank keep" data-col="rank" title="not ranked">-</td>'
    )
    team = f" · {esc(row.team)}" if row.team else ""
    sub = (
        f'<td class="c-sub keep" data-col="submission">{submission_link(row.submission, row.name, names, "../../")}'
        f"{badges(row)}<br><small><code>{esc(row.submission)}</code>{team}</small></td>"
    )
    method = f'<td data-col="method">{esc(", ".join(row.methods)) or "-"}</td>'
    values = "".join(td_html(board, c, row.values.get(c.id)) for c in columns)
    return f'<tr class="{" ".join(classes)}" data-id="{esc(row.submission)}">{rank}{sub}{method}{values}</tr>'


def first_rows(board: Leaderboard, names: Mapping[str, str]) -> dict[str, str]:
    """Per row group, the first page of rows in rank order, in the efficiency view."""
    columns = view_columns(cells.ordered_columns(board.columns))
    out = {}
    for group in GROUPS:
        rows = [r for r in board.rows if r.group == group]
        if rows:
            out[group] = "\n".join(row_html(board, r, columns, names) for r in rows[:PAGE_ROWS])
    return out


# ---------------------------------------------------------------- above the table


def hardware_line(environments: Iterable[Mapping[str, Any]]) -> str:
    """`CPU · 1 thread · torch 2.x · harness 0.1` from the records' environments (the most common one)."""
    seen: Counter[tuple[str, ...]] = Counter()
    for env in environments:
        if not env:
            continue
        threads = env.get("threads")
        seen[
            (
                str(env.get("cpu_model") or "unknown CPU"),
                f"{threads} thread{'' if threads == 1 else 's'}" if threads is not None else "threads not recorded",
                f"torch {env['torch']}" if env.get("torch") else "",
                f"harness {env['harness_version']}" if env.get("harness_version") else "",
            )
        ] += 1
    if not seen:
        return ""
    (top, count), others = seen.most_common(1)[0], len(seen) - 1
    line = " · ".join(p for p in top if p)
    if others:
        line += f" (for {count} of {sum(seen.values())} records; {others} other environment{'s' if others > 1 else ''})"
    return line


def summary_html(board: Leaderboard, names: Mapping[str, str], hardware: str) -> str:
    """The leader and the gap to the next, the hardware line, the counts and the in-page links."""
    col = board.column(board.ranking["by"])
    main = [r for r in board.rows if r.group == "main" and r.rank is not None]
    link = lambda r: submission_link(r.submission, r.name, names, "../../")  # noqa: E731
    lines = []
    if main:
        lead, lv = main[0], main[0].values.get(col.id)
        ci = interval(lv)
        text = f"Leader: {link(lead)}, {esc(col.label)} {esc(cells.reading(col, lv.value if lv else None))}"
        text += f" ({cells.interval_text(col, ci)})" if ci else ""
        nxt = next((r for r in main[1:] if r.rank != lead.rank), None)
        if nxt is not None:
            nv = nxt.values.get(col.id)
            if lv is not None and nv is not None and lv.value is not None and nv.value is not None:
                gap = abs(float(lv.value) - float(nv.value))
                g_ci = board.ranking.get("leader_gap_interval")
                text += f"; gap to the next ({link(nxt)}): {esc(cells.gap(col, gap))}"
                if g_ci is not None:
                    lo, hi = g_ci
                    verdict = "not significant: it covers 0" if lo <= 0.0 <= hi else "significant"
                    text += f" (95% paired interval [{lo:.2f}, {hi:.2f}], {verdict})"
        ties = [r for r in main if r.rank == lead.rank]
        if len(ties) > 1:
            text += f"; {len(ties)} submissions share rank 1"
        lines.append(f'<p class="leader">{text}</p>')
    else:
        lines.append('<p class="leader">No ranked submission yet.</p>' if board.rows else "")
    if hardware:
        lines.append(f'<p class="hw"><strong>Hardware</strong>: {esc(hardware)}</p>')
    ranked = sum(1 for r in board.rows if r.rank is not None)
    ineligible = sum(1 for r in board.rows if not r.eligible)
    partial = sum(1 for r in board.rows if r.group == "partial")
    lines.append(
        f'<p class="counts">{len(board.rows)} submissions: {ranked} ranked · {ineligible} ineligible · '
        f"{partial} partial</p>"
    )
    jumps = [("#plot", "plot"), ("#ranking", "ranking"), ("#plots", "all plots")]
    if board.reference_rows:
        jumps.append(("#reference", "reference rows"))
    jumps.append(("#exports", "exports"))
    nav = " · ".join(f'<a href="{h}">{t}</a>' for h, t in jumps)
    lines.append(f'<nav class="jump" aria-label="On this page">{nav}</nav>')
    return '<section id="summary">' + "".join(lines) + "</section>"


def plot_html(board: Leaderboard, plots: Sequence[Any]) -> str:
    """The main plot's place: site.js draws it inline (SVG, one path per style); without JS, the static image."""
    if not board.pareto or not board.rows:
        return ""
    by_id = {p.pair: p for p in plots if getattr(p, "svg", None) is not None}
    first = next((by_id[p.id] for p in board.pareto if p.id in by_id), None)
    options = "".join(
        f'<option value="{i}">{esc(board.column(p.y).label)} against {esc(board.column(p.x).label.lower())}</option>'
        for i, p in enumerate(board.pareto)
    )
    static = (
        f'<noscript><img src="{esc(first.name)}.svg" alt="{esc(first.title)}" width="720" height="440"></noscript>'
        if first is not None
        else ""
    )
    return (
        f'<section id="plot"><h2>Score against cost</h2><label>Plot <select name="pair">{options}</select></label>'
        f'<div class="chart" aria-label="score against cost: hover a point for its details, click to open it">'
        f'</div>{static}<p class="hint">The points follow the table\'s filters and search; the line is the '
        f"Pareto front. Colour: method family; marker: measured (circle), estimated (square), self-reported "
        f"(triangle), published (diamond); hollow: ineligible. Cost axes that span more than a decade are "
        f"logarithmic.</p></section>"
    )
