"""`build_site(boards, records, meta)`: the static leaderboard site as {relative path: text or bytes}.

Pure: it reads only its arguments (and the package's CSS and JS), so the same records give the same
bytes; the one varying input is `meta["generated_at"]`, shown in page footers. `write_site` does the I/O.
Layout: index.html, assets/, tracks/<track>/ (page, plots, exports), submissions/<submission>.html.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from harness.publish import cells
from harness.publish.site.board_page import (
    INTERVALS_FILE,
    PAGE_ROWS,
    board_data,
    data_script,
    first_rows,
    hardware_line,
    head_html,
    interval,
    interval_data,
    interval_script,
    plot_html,
    summary_html,
    td_html,
    view_columns,
)
from harness.publish.site.markup import badge, esc, facts, page, submission_link, table
from harness.publish.site.paths import track_folder
from harness.records import safe_name
from harness.records.record import Record, as_record
from harness.scoring.board import Leaderboard, Row
from harness.scoring.rank import ESTIMATED_NOTE
from harness.tracks.columns import MARKS, Column

Files = dict[str, "str | bytes"]
MANIFEST = ".site-files"  # what the last write_site wrote, so a rebuild removes only its own stale files
SIZE_COLUMNS = ("size_bytes", "system_bytes", "weights_zstd_bytes")


@lru_cache(maxsize=None)
def static(name: str) -> str:
    """A file of harness/site/static (site.css, site.js)."""
    return resources.files("harness.publish.site").joinpath("static", name).read_text(encoding="utf-8")


def page_names(ids: Sequence[str]) -> dict[str, str]:
    """Submission id -> page file stem: the id itself when it is file-safe, else a safe form plus a hash."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for sid in sorted(set(ids)):
        base = safe_name(sid)
        if base != sid or base.lower() in seen:
            base = f"{base}-{hashlib.sha256(sid.encode('utf-8')).hexdigest()[:8]}"
        seen.add(base.lower())
        out[sid] = base
    return out


def build_site(
    boards: Sequence[Leaderboard],
    records: Sequence[Record | Mapping[str, Any]],
    meta: Mapping[str, Any],
    *,
    workers: int = 1,
) -> Files:
    """Every file of the site; `meta`: generated_at (the build timestamp) and harness_version.

    `workers` > 1 renders figures, exports, tables and submission pages in that many processes (forked);
    the output is the same.
    """
    from harness.forkpool import shared_map

    typed = [*map(as_record, records)]
    ids = [str(r.submission.id) for r in typed] + [r.submission for b in boards for r in b.rows]
    names = page_names(ids)
    ordered = list(names)
    chunk = max(1, -(-len(ordered) // 8))
    jobs: list[tuple[Any, ...]] = [("figure", i, j) for i, b in enumerate(boards) for j in range(len(b.pareto) + 1)]
    jobs += [(kind, i) for i in range(len(boards)) for kind in ("exports", "rows")]
    jobs += [("pages", tuple(ordered[k : k + chunk])) for k in range(0, len(ordered), chunk)]
    done = dict(zip(jobs, shared_map(_site_job, (boards, typed, names, meta), jobs, workers)))
    hardware = _hardware_lines(boards, typed)
    files: Files = {
        "assets/site.css": static("site.css"),
        "assets/site.js": static("site.js"),
        "index.html": index_page(boards, typed, names, meta),
    }
    for i, board in enumerate(boards):
        folder, stem = track_folder(board), safe_name(board.track["id"])
        plots = [p for p in (done[("figure", i, j)] for j in range(len(board.pareto) + 1)) if p is not None]
        for p in plots:
            if p.svg is not None and p.png is not None:
                files[f"{folder}/{p.name}.svg"] = p.svg
                files[f"{folder}/{p.name}.png"] = p.png
        files[f"{folder}/index.html"] = track_page(board, done[("rows", i)], plots, meta, names, hardware[i])
        if done[("rows", i)]["intervals"] is not None:
            files[f"{folder}/{INTERVALS_FILE}"] = done[("rows", i)]["intervals"]
        for ext, text in done[("exports", i)].items():
            files[f"{folder}/{stem}.{ext}"] = text
    for job, pages in done.items():
        if job[0] == "pages":
            files.update((f"submissions/{names[sid]}.html", text) for sid, text in pages.items())
    return dict(sorted(files.items()))


def _hardware_lines(boards: Sequence[Leaderboard], records: Sequence[Record]) -> list[str]:
    """Per board, the hardware line of its records' environments (CPU model, threads, torch, harness)."""
    by_sub: dict[str, list[Record]] = {}
    for r in records:
        if r.environment:
            by_sub.setdefault(str(r.submission.id), []).append(r)
    out = []
    for b in boards:
        tasks = {t["task"] for t in b.track.get("tasks", [])}
        out.append(
            hardware_line(
                r.environment or {} for row in b.rows for r in by_sub.get(row.submission, ()) if r.task.name in tasks
            )
        )
    return out


def _site_job(
    shared: tuple[Sequence[Leaderboard], Sequence[Record], Mapping[str, str], Mapping[str, Any]],
    job: tuple[Any, ...],
) -> Any:
    """One piece of the site: a figure of a board, its exports or table rows, or a batch of submission pages."""
    boards, records, names, meta = shared
    if job[0] == "figure":
        from harness.publish.plots import figure

        return figure(boards[job[1]], job[2])
    if job[0] == "exports":
        from harness.publish.exports import export_board

        return export_board(boards[job[1]])
    if job[0] == "rows":
        return table_rows(boards[job[1]], names)
    from harness.publish.site.submission_pages import submission_pages

    return submission_pages(boards, records, names, meta, only=job[1])


def write_site(files: Mapping[str, str | bytes], out: Path, *, workers: int = 1) -> list[Path]:
    """Write the files under `out` and delete files an earlier build wrote there that this one no longer has.

    `workers` > 1 splits the writing between that many processes (forked): opening a thousand files is most
    of the time, and it overlaps.
    """
    from harness.forkpool import shared_map

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    old = set(manifest.read_text(encoding="utf-8").split("\n")) if manifest.is_file() else set()
    names = list(files)
    for folder in sorted({str(Path(rel).parent) for rel in names} - {"."}):
        (out / folder).mkdir(parents=True, exist_ok=True)
    share = max(1, -(-len(names) // max(1, workers)))
    shared_map(_write_files, (files, out), [names[k : k + share] for k in range(0, len(names), share)], workers)
    for rel in sorted(old - set(files) - {""}):
        stale = out / rel
        if stale.is_file() and stale.resolve().is_relative_to(out.resolve()):
            stale.unlink()
    manifest.write_text("\n".join(files) + "\n", encoding="utf-8")
    return [out / rel for rel in names]


def _write_files(shared: tuple[Mapping[str, str | bytes], Path], names: Sequence[str]) -> None:
    files, out = shared
    for rel in names:
        content = files[rel]
        with open(out / rel, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode("utf-8"))


# ---------------------------------------------------------------- index


def _date(stamp: str | None) -> str:
    return f'<time datetime="{esc(stamp)}">{esc(stamp[:10])}</time>' if stamp else "never"


def _leaders(board: Leaderboard, names: Mapping[str, str], root: str) -> str:
    """The main group's first (a --limit run never leads), then, apart, the first by an estimated value."""
    col = board.column(board.ranking["by"])

    def first(group: str) -> str:
        top = [r for r in board.rows if r.rank == 1 and r.group == group]
        if not top:
            return ""
        v = top[0].values.get(col.id)
        ci = interval(v)
        reading = cells.reading(col, v.value if v else None) + (f", {cells.interval_text(col, ci)}" if ci else "")
        ranked = [r for r in board.rows if r.group == group and r.rank is not None]
        runner = ranked[len(top)] if len(ranked) > len(top) else None
        tie = (
            f"; not significantly ahead of {_sub_link(runner, names, root)} (paired bootstrap)"
            if runner is not None and runner.tied
            else ""
        )
        return ", ".join(_sub_link(r, names, root) for r in top) + f" ({esc(col.label)} {esc(reading)}{tie})"

    main, estimated = first("main"), first("estimated")
    if estimated:
        apart = board.column(board.ranking.get("groups_by") or col.id).label.lower()
        estimated = f"<br><small>among estimated {esc(apart)}: {estimated}</small>"
    if not main:
        main = "no ranked submission yet" if board.rows else "no submissions yet"
    return main + estimated


def _sub_link(row: Row, names: Mapping[str, str], root: str) -> str:
    return submission_link(row.submission, row.name, names, root)


def index_page(
    boards: Sequence[Leaderboard],
    records: Sequence[Record | Mapping[str, Any]],
    names: Mapping[str, str],
    meta: Mapping[str, Any],
) -> str:
    """Every track with its leader, number of submissions and last run; then every submission."""
    lines = []
    for b in boards:
        t = b.track
        eligible = sum(1 for r in b.rows if r.eligible)
        name = (
            f'<a class="track" href="{esc(track_folder(b))}/index.html">{esc(t["name"])}</a>'
            f"<br><small><code>{esc(t['id'])}</code> · {esc(t['hardware'])}</small>"
        )
        count = f'<span data-v="{len(b.rows)}">{len(b.rows)}</span><small> ({eligible} eligible)</small>'
        lines.append([name, _leaders(b, names, ""), count, _date(b.last_run)])
    tracks = table(["Track", "Leader", "Submissions", "Last run"], lines, "plain tracks")
    subs: dict[str, dict[str, Any]] = {}
    for b in boards:
        for r in b.rows:
            s = subs.setdefault(r.submission, {"name": r.name, "team": r.team, "methods": r.methods, "tracks": []})
            s["tracks"].append(r)
    for rec in map(as_record, records):
        sid = str(rec.submission.id)
        m = rec.submission.meta or {}
        subs.setdefault(
            sid,
            {
                "name": str(m.get("name") or sid),
                "team": str(m.get("team") or ""),
                "methods": tuple(m.get("methods") or ()),
                "tracks": [],
            },
        )
    ordered = sorted(subs.items(), key=lambda kv: (kv[1]["name"].lower(), kv[0]))
    rows: list[dict[str, Any]] = [
        {
            "id": sid,
            "n": s["name"],
            "u": names[sid],
            "t": s["team"],
            "m": ", ".join(s["methods"]),
            "k": len(s["tracks"]),
        }
        for sid, s in ordered
    ]
    data = {"pageRows": PAGE_ROWS, "rows": rows}
    body = (
        f'<h1>Which compressed model fits your budget?</h1>\n<p class="lead">Every track ranks compressed NLP '
        f"models by its own official rule; each track page has the table (sortable, filterable by method and "
        f"by a parameter or size budget), score-against-cost plots with the Pareto front, and exports for "
        f"papers. Numbers come from result records: measured here unless marked.</p>\n"
        f"<h2>Tracks</h2>\n{tracks}\n<h2>Submissions ({len(subs)})</h2>\n{_submissions_table(rows)}"
        f"{data_script(data, 'subs-data')}"
    )
    return page("Leaderboard", body, "", meta)


def _submission_line(row: Mapping[str, Any]) -> str:
    """One row of the index's submissions table; site.js draws the same row from the same data."""
    return (
        f'<tr data-id="{esc(row["id"])}"><td><a href="submissions/{esc(row["u"])}.html">{esc(row["n"])}</a>'
        f"<br><small><code>{esc(row['id'])}</code></small></td><td>{esc(row['t'])}</td><td>{esc(row['m'])}</td>"
        f'<td class="num">{row["k"]}</td></tr>'
    )


def _submissions_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """Every submission, drawn 50 at a time by site.js with a search and pages; without JS, the first page."""
    shown = min(len(rows), PAGE_ROWS)
    rest = "" if shown == len(rows) else " (the others need JavaScript; each track page links its own)"
    search = (
        '<form class="subs-filter" data-table="subs" autocomplete="off" role="search">'
        '<label>Search <input type="search" name="q" placeholder="name, id, team or method" '
        'aria-label="search submissions by name, id, team or method"></label>'
        '<output class="count" aria-live="polite"></output></form>'
    )
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Submission", "Team", "Methods", "Tracks"))
    body = "\n".join(_submission_line(r) for r in rows[:PAGE_ROWS])
    return (
        f'{search}<table class="plain subs" id="subs"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody>'
        f'</table><nav class="pager" id="subs-pager" aria-label="pages of submissions"><span class="where">'
        f"{'1' if rows else '0'}-{shown} of {len(rows)}</span>{rest}</nav>"
    )


# ---------------------------------------------------------------- track page


def _filters(board: Leaderboard, size_col: str | None, tables: Sequence[str]) -> str:
    methods = sorted({m for r in board.rows for m in r.methods})
    options = "".join(f'<option value="{esc(m)}">{esc(m)}</option>' for m in methods)
    parts = [
        '<label>Search <input type="search" name="q" placeholder="name, id or team" aria-label="search by name, '
        'id or team"></label>',
        f'<label>Method family <select name="method"><option value="">all</option>{options}</select></label>',
    ]
    if any(c.id == "params" for c in board.columns):
        parts.append(
            '<label>At most <input type="number" name="max-params" min="0" step="any" '
            'placeholder="any"> M parameters</label>'
        )
    if size_col:
        label = board.column(size_col).label.lower()
        parts.append(
            f'<label>At most <input type="number" name="max-size" min="0" step="any" placeholder="any"> '
            f"MiB {esc(label)}</label>"
        )
    parts.append('<label><input type="checkbox" name="hide-ineligible"> hide ineligible</label>')
    parts.append(
        '<span class="views" role="group" aria-label="columns shown">'
        '<button type="button" data-view="eff" aria-pressed="true">Efficiency</button>'
        '<button type="button" data-view="tasks" aria-pressed="false">Per task</button></span>'
    )
    return (
        f'<form class="filters" data-table="{" ".join(tables)}" autocomplete="off">{"".join(parts)}'
        f'<output class="count" aria-live="polite"></output></form>'
        '<p class="hint">Click a column header to sort; tick up to four rows to compare them. A budget compares '
        "the value as shown (rounded) and hides rows whose value was not measured. Hover a header for its unit "
        "and measurement convention, a cell for the exact value and its source. The view, filters, sort and "
        "comparison are kept in the address, so a view can be shared.</p>"
    )


def _legend(columns: list[Column], ties: str = "", intervals: bool = False) -> str:
    marks = "".join(f"<li><sup>{esc(m)}</sup> {esc(why)}</li>" for m, why in (v for v in MARKS.values() if v[0]))
    marks += f"<li><sup>=</sup> tie marks: {esc(ties)}</li>" if ties and intervals else ""
    marks += (
        ""
        if not intervals
        else (
            "<li>95% intervals (hover a cell): percentile bootstrap over the task's examples, 1,000 resamples seeded by "
            "the task, split and example ids, so every submission on the same examples is resampled alike; an "
            "aggregate's interval comes from its tasks' resamples</li>"
        )
    )
    kinds = (
        '<li><span class="swatch kind-measured"></span> measured here by the organizers</li>'
        '<li><span class="swatch kind-self-reported"></span> self-reported submission: scored here from its '
        "predictions, other numbers as declared</li>"
        '<li><span class="swatch ineligible"></span> <span class="badge b-ineligible">ineligible</span> greyed, '
        "the broken rule in the badge's tooltip (a --limit run breaks rule limit: it is never ranked and shows "
        'apart)</li><li><span class="badge b-note">note</span> notes on the row, in its tooltip</li>'
        '<li><span class="swatch kind-reference"></span> published reference rows, apart and never ranked</li>'
    )
    conv = "".join(
        f'<dt>{esc(c.label)} <span class="unit">{esc(cells.display_unit(c))}</span></dt>'
        f"<dd>{esc(c.convention)}; {'higher' if c.higher_is_better else 'lower'} is better</dd>"
        for c in columns
        if c.group != "task"
    )
    return (
        f'<div class="legend"><ul class="marks">{marks}<li>not measured: no value (never shown as 0)</li></ul>'
        f'<ul class="kinds">{kinds}</ul></div>'
        f'<details class="conventions"><summary>Units and measurement conventions</summary>'
        f'<dl>{conv}<dt>task columns <span class="unit">0-100</span></dt><dd>each task\'s score x100 (a two-'
        f"metric task scores their mean); hover a cell for its metrics</dd></dl></details>"
    )


def _reference_table(board: Leaderboard) -> str:
    if not board.reference_rows:
        return ""
    shown = [c for c in cells.ordered_columns(board.columns) if any(c.id in r.values for r in board.reference_rows)]
    head = "".join(
        f'<th scope="col" title="{esc(c.convention)}">{esc(c.label)}<span class="unit">'
        f"{esc(cells.display_unit(c))}</span></th>"
        for c in shown
    )
    rows = "".join(
        f'<tr class="kind-reference"><td>{esc(r.name)}{badge("reference")}</td>'
        + "".join(td_html(board, c, r.values.get(c.id)) for c in shown)
        + f"<td><small>{esc(r.source)}</small></td></tr>"
        for r in board.reference_rows
    )
    return (
        f'<section id="reference"><h2>Published reference rows</h2><p>Numbers from the literature, as printed; '
        f"not measured here and never ranked. Their averaging rules differ (see each cell).</p>"
        f'<div class="scroll"><table class="reference"><thead><tr><th scope="col">Model</th>{head}'
        f'<th scope="col">Source</th></tr></thead><tbody>{rows}</tbody></table></div></section>'
    )


def _plots(board: Leaderboard, plots: Sequence[Any]) -> str:
    if not plots:
        return ""
    by_id = {r.submission: r for r in board.rows}
    out = []
    for p in plots:
        pair = next((q for q in board.pareto if q.id == p.pair), None)
        front = ", ".join(esc(by_id[s].name) for s in pair.front) if pair and pair.front else ""
        front_text = (
            f"<br>Pareto front: {front}" if pair and front else ("<br>Pareto front: no eligible point" if pair else "")
        )
        if pair and pair.estimated_front:
            front_text += "<br>Pareto front of the estimated values (apart): " + ", ".join(
                esc(by_id[s].name) for s in pair.estimated_front
            )
        if p.svg is None:
            out.append(
                f'<figure class="plot empty"><figcaption><strong>{esc(p.title)}</strong>: {esc(p.note)}'
                f"{front_text}</figcaption></figure>"
            )
            continue
        out.append(
            f'<figure class="plot"><img src="{esc(p.name)}.svg" loading="lazy" alt="{esc(p.title)}" width="720" height="440">'
            f"<figcaption><strong>{esc(p.title)}</strong>: {esc(p.note)}.{front_text}<br>"
            f'<a href="{esc(p.name)}.svg">SVG</a> · <a href="{esc(p.name)}.png">PNG</a></figcaption></figure>'
        )
    return (
        '<section id="plots"><h2>All plots (static figures for papers)</h2><div class="plots">'
        + "\n".join(out)
        + "</div></section>"
    )


def _track_facts(board: Leaderboard) -> str:
    t, c = board.track, board.track.get("cutoffs") or {}
    rules = []
    if c.get("max_params") is not None:
        rules.append(f"at most {c['max_params']:,} parameters")
    if c.get("max_bytes") is not None:
        rules.append(f"system size at most {c['max_bytes']:,} bytes")
    if c.get("min_score") is not None:
        rules.append(f"score at least {c['min_score']:g}")
    if c.get("require_all_tasks"):
        rules.append("every task evaluated")
    rules.append(f"{t['hardware']} hardware")
    tasks = ", ".join(f"{x['task']} ({x['split']})" for x in t.get("tasks", []))
    note = (t.get("measurement") or {}).get("note")
    return facts(
        [
            ("Ranking", esc(board.ranking["rule"])),
            ("Eligibility", esc("; ".join(rules))),
            ("Minimum score (accuracy band)", esc(board.band())),
            ("Tasks", esc(tasks)),
            *([("Measurement note", esc(note))] if note else []),
            ("Source", esc(t.get("source"))),
            ("Last run", _date(board.last_run)),
            ("Records read", str(board.generated_from)),
        ]
    )


def table_rows(board: Leaderboard, names: Mapping[str, str]) -> dict[str, Any]:
    """A track's rows: `data`, the JSON <script> site.js renders from, and `groups`, the first page of each row
    group's table in HTML (the costly part of its page)."""
    intervals = interval_data(board)
    return {
        "data": data_script(board_data(board, names, INTERVALS_FILE if intervals is not None else None)),
        "groups": first_rows(board, names),
        "intervals": interval_script(intervals) if intervals is not None else None,
    }


def _size_column(board: Leaderboard) -> str | None:
    return next((c for c in SIZE_COLUMNS if any(col.id == c for col in board.columns)), None)


GROUP_TABLES = {  # row group -> (table id, heading, what the reader is told about it)
    "main": ("board", "", ""),
    "estimated": (
        "board-estimated",
        "Estimated {by}, ranked among themselves",
        "These submissions' {by} was estimated, not measured (no hardware counters), so they are ranked "
        "among themselves, never against measured values.",
    ),
    "partial": (
        "board-partial",
        "Partial evaluations (--limit), never ranked",
        "Evaluated on the first examples of each split only: not an official result, never ranked and never "
        "a track's leader.",
    ),
}


def _groups_html(board: Leaderboard, rows: Mapping[str, str], head: str) -> str:
    by = board.column(board.ranking.get("groups_by") or board.ranking["by"]).label.lower()
    counts = {g: sum(1 for r in board.rows if r.group == g) for g in rows}
    out = []
    for group, lines in rows.items():
        table_id, title, intro = GROUP_TABLES[group]
        shown = min(counts[group], PAGE_ROWS)
        pager = (
            f'<nav class="pager" id="{table_id}-pager" aria-label="pages of rows"><span class="where">1-{shown} of '
            f"{counts[group]}</span>"
            + ("" if shown == counts[group] else " (the others need JavaScript; every row is in the exports)")
            + "</nav>"
        )
        grid = (
            f'<div class="grid"><table class="board" id="{table_id}" data-group="{group}"><thead><tr>{head}</tr>'
            f"</thead><tbody>\n{lines}\n</tbody></table></div>{pager}"
        )
        if not title:
            out.append(grid)
            continue
        how = ""
        if group == "estimated":
            how = "".join(f"<li>{esc(n)}</li>" for n in board.notes if ESTIMATED_NOTE in n)
            how = f'<ul class="board-notes">{how}</ul>' if how else ""
        out.append(
            f'<section id="{table_id}-section" class="group-{group}"><h3>{esc(title.format(by=by))}</h3>'
            f'<p class="hint">{esc(intro.format(by=by))}</p>{how}{grid}</section>'
        )
    return "".join(out)


def track_page(
    board: Leaderboard,
    rows: Mapping[str, Any],
    plots: Sequence[Any],
    meta: Mapping[str, Any],
    names: Mapping[str, str],
    hardware: str = "",
) -> str:
    """One track: the leader, hardware and counts, the legend and the main plot above the ranking tables
    (`rows` from `table_rows`: one table per row group, paged by site.js), then the facts, every plot,
    reference rows and exports."""
    t = board.track
    stem = safe_name(t["id"])
    columns = cells.ordered_columns(board.columns)
    size_col = _size_column(board)
    groups = rows["groups"]
    head = head_html(board, view_columns(columns))
    notes = "".join(f"<li>{esc(n)}</li>" for n in board.notes if not (ESTIMATED_NOTE in n and "estimated" in groups))
    board_html = (
        _groups_html(board, groups, head)
        if board.rows
        else f'<p class="empty">No records for this track yet: run <code>harness run {esc(t["id"])}</code>.</p>'
    )
    tables = [GROUP_TABLES[g][0] for g in groups]
    exports = " · ".join(
        f'<a href="{esc(stem)}.{ext}">{label}</a>'
        for ext, label in (("csv", "CSV"), ("json", "JSON"), ("md", "Markdown"), ("tex", "LaTeX (booktabs)"))
    )
    body = (
        f'<h1>{esc(t["name"])}</h1><p class="lead">{esc(t.get("description"))}</p>'
        + summary_html(board, names, hardware)
        + f'<details class="rules"><summary>Track rules and facts</summary>{_track_facts(board)}</details>'
        + (f'<ul class="board-notes">{notes}</ul>' if notes else "")
        + _legend(
            columns,
            board.ranking.get("ties", ""),
            any(interval(v) is not None for r in board.rows for v in r.values.values()),
        )
        + plot_html(board, plots)
        + f'<section id="ranking"><h2>Ranking</h2>{_filters(board, size_col, tables) if board.rows else ""}'
        f'{board_html}<section id="compare" hidden aria-live="polite"></section></section>'
        + _plots(board, plots)
        + _reference_table(board)
        + f'<section id="exports"><h2>Exports</h2><p>{exports}</p><p class="hint">CSV and JSON keep raw values '
        f"in stored units (parameters, bytes, FLOPs, ms, kWh; scores 0-100) and a group column (main, estimated, "
        f"partial); Markdown and LaTeX use the display units above (energy in J), best eligible value per column "
        f"in bold. CSV text cells that a spreadsheet would run as a formula start with an apostrophe.</p>"
        f"</section>" + (rows["data"] if board.rows else "")
    )
    return page(t["name"], body, "../..", meta)
