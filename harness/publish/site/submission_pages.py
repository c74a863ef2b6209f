"""One page per submission: metadata, placement on each track, every task result, every measurement with its
method, settings and environment, the per-module FLOPs breakdown, and the sha256 of the evaluated files.

Cheap string templates: a site may hold a thousand of these. Identical blocks (a model measured once and
recorded with each task) are shown once, with the tasks they belong to. Absolute paths of the machine that ran
a task (in error texts, record paths, measurement notes) are shortened by `strip_paths` before they are shown.
"""

from __future__ import annotations

import re
from typing import Any, Collection, Mapping, Sequence

from harness.measure.spec import RECORDED_MEASUREMENTS, title
from harness.publish import cells
from harness.publish.site.markup import badge, esc, external, facts, page, table
from harness.publish.site.paths import track_folder
from harness.records.record import Record, as_record
from harness.scoring.board import Leaderboard, Row
from harness.scoring.values import display_path, partial_text, short_cause, strip_paths

PROSE = ("method", "definition", "convention", "counter", "note", "reason", "power_model", "error")
META_KEYS = ("name", "team", "authors", "methods", "base_model", "teacher_model", "paper", "code", "description")
NO_ENVIRONMENT = "No environment fingerprint recorded (self-reported numbers)."
INLINE_ENTRIES = 12  # dicts with more entries than this fold into <details>


def _scalar(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e18:
            return f"{int(v):,}"
        return f"{v:,.0f}" if 1e4 <= abs(v) < 1e18 else f"{v:.6g}"
    if isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v):
        return ", ".join(_scalar(x) for x in v) or "none"
    return strip_paths(str(v))


def _natural(key: str) -> list[Any]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", key)]


def _groups(items: Sequence[tuple[str, Any]]) -> list[tuple[Any, list[str]]]:
    """[(value, [tasks])] with equal values merged, in first-seen order."""
    out: list[tuple[Any, list[str]]] = []
    for task, value in items:
        for seen, tasks in out:
            if seen == value:
                tasks.append(task)
                break
        else:
            out.append((value, [task]))
    return out


def _tasks_line(tasks: list[str], total: int) -> str:
    if total <= 1:
        return ""
    which = "all tasks" if len(tasks) == total else ", ".join(tasks)
    return f'<p class="for">For {esc(which)}.</p>'


def _dict_table(d: Mapping[str, Any], key: str, value: str) -> str:
    rows = [[esc(strip_paths(str(k))), esc(_scalar(d[k]))] for k in sorted(d, key=lambda k: _natural(str(k)))]
    return table([esc(key), esc(value)], rows, "plain kv")


def _render(m: Mapping[str, Any], depth: int = 0) -> str:
    """A measurement (or any record block) as prose, a facts list and folded sub-tables; all text escaped."""
    prose = "".join(
        f"<p><strong>{esc(k.replace('_', ' '))}</strong>: {esc(strip_paths(m[k]))}</p>"
        for k in PROSE
        if isinstance(m.get(k), str) and m[k]
    )
    scalars = [
        (esc(k), esc(_scalar(v)))
        for k, v in m.items()
        if k not in PROSE and not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))
    ]
    parts = [facts(scalars) if scalars else "", prose]
    for k, v in m.items():
        if isinstance(v, dict) and v and k != "by_module":
            inner = (
                _render(v, depth + 1)
                if any(isinstance(x, dict) for x in v.values())
                or depth == 0
                and any(isinstance(x, str) and len(x) > 60 for x in v.values())
                else _dict_table(v, k, "value")
            )
            opened = " open" if len(v) <= INLINE_ENTRIES and depth == 0 else ""
            parts.append(f"<details{opened}><summary>{esc(k.replace('_', ' '))} ({len(v)})</summary>{inner}</details>")
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            keys = list(dict.fromkeys(x for item in v if isinstance(item, dict) for x in item))
            rows = [[esc(_scalar(item.get(x))) for x in keys] for item in v if isinstance(item, dict)]
            parts.append(
                f"<details><summary>{esc(k.replace('_', ' '))} ({len(v)})</summary>"
                f"{table([esc(x) for x in keys], rows, 'plain')}</details>"
            )
    return "".join(parts)


def _flops_modules(m: Mapping[str, Any]) -> str:
    by_module = m.get("by_module") or {}
    if not by_module:
        return ""
    total = m.get("flops") or 0
    rows = [
        [
            f"<code>{esc(k)}</code>",
            f"{by_module[k]:,}" if isinstance(by_module[k], int) else esc(by_module[k]),
            f"{100 * by_module[k] / total:.1f}%" if total and isinstance(by_module[k], (int, float)) else "",
        ]
        for k in sorted(by_module, key=_natural)
    ]
    length = m.get("reference_length")
    return (
        f'<details class="modules"><summary>FLOPs per module{f" (one example of {length} tokens)" if length else ""}'
        f" ({len(rows)} modules)</summary>"
        + table(["Module", "FLOPs", "Share of total"], rows, "plain modules")
        + "</details>"
    )


def _meta(records: Sequence[Record], rows: Sequence[Row]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for row in rows:
        meta.update(name=row.name, team=row.team, methods=list(row.methods))
    for r in sorted(records, key=lambda r: str(r.started_at)):
        meta.update({k: v for k, v in (r.submission.meta or {}).items() if v not in (None, "", [])})
    return meta


def _reading(board: Leaderboard, column_id: str, row: Row) -> str:
    """`Energy (total_power): 28.8 J`, or what a cell without a number reads (`7 of 8 tasks`)."""
    col = board.column(column_id)
    v = row.values.get(col.id)
    if v is None or v.value is None:
        return f"{esc(col.label)}: {esc(cells.absent(v))}"
    return f"{esc(col.label)}: {esc(cells.reading(col, v.value))}"


def _placements(placed: Sequence[tuple[Leaderboard, Row]]) -> str:
    if not placed:
        return "<p>Not on any track: its tasks belong to none.</p>"
    lines = []
    for board, row in placed:
        by = board.ranking["by"]
        status = "eligible" if row.eligible else "ineligible: " + "; ".join(b.message for b in row.broken)
        rank = (
            "not ranked"
            if row.rank is None
            else f"{row.rank} among estimated values"
            if row.group == "estimated"
            else str(row.rank)
        )
        lines.append(
            [
                f'<a href="../{esc(track_folder(board))}/index.html">{esc(board.track["name"])}</a>',
                esc(rank),
                _reading(board, "score", row),
                _reading(board, by, row) if by != "score" else "the score",
                esc(status) + "".join(f"<br><small>{esc(n)}</small>" for n in row.notes),
            ]
        )
    return table(["Track", "Rank", "Score", "Ranked by", "Eligibility"], lines, "plain")


def ranked_groups(board: Leaderboard) -> dict[str, tuple[int, Row]]:
    """Per row group of the board: how many rows are ranked in it, and its first (the leader)."""
    counts: dict[str, tuple[int, Row]] = {}
    for r in board.rows:
        if r.rank is not None:
            n, first = counts.get(r.group, (0, r))
            counts[r.group] = (n + 1, first)
    return counts


def _card(placed: Sequence[tuple[Leaderboard, Row]], groups: Mapping[int, Mapping[str, tuple[int, Row]]]) -> str:
    """Per track: rank N of M (within its row group), the score and the gap to the leader; `groups`: each board's
    ranked_groups by id(board), counted once for every page of a site (else here)."""
    lines = []
    for board, row in placed:
        col = board.column(board.ranking["by"])
        counts = groups[id(board)] if id(board) in groups else ranked_groups(board)
        count, leader = counts.get(row.group, (0, None))
        where = f'<a href="../{esc(track_folder(board))}/index.html">{esc(board.track["name"])}</a>'
        v = row.values.get(col.id)
        reading = f"{esc(col.label)} {esc(cells.reading(col, v.value if v else None))}"
        if row.rank is None:
            lines.append(f"<p>{where}: not ranked ({'eligible' if row.eligible else 'ineligible'}); {reading}</p>")
            continue
        among = " among estimated values" if row.group == "estimated" else ""
        text = f"<p>{where}: rank <strong>{row.rank}</strong> of {count}{among}; {reading}"
        lead = leader.values.get(col.id) if leader is not None else None
        if row.rank != 1 and lead is not None and lead.value is not None and v is not None and v.value is not None:
            gap = esc(cells.gap(col, float(lead.value) - float(v.value)))
            text += f"; {gap} behind the leader ({esc(leader.name if leader else '')})"
        elif row.rank == 1:
            text += "; the leader"
        lines.append(text + "</p>")
    return f'<section class="card" aria-label="summary">{"".join(lines)}</section>' if lines else ""


def _benchmark_order(records: Sequence[Record], placed: Sequence[tuple[Leaderboard, Row]]) -> list[Record]:
    """Records in the order of the tracks' task lists (benchmark order), then any other task by name."""
    order: dict[str, int] = {}
    for board, _ in placed:
        for t in board.track.get("tasks", []):
            order.setdefault(str(t["task"]), len(order))
    return sorted(records, key=lambda r: (order.get(str(r.task.name), len(order)), str(r.task.name)))


def _interval_cell(record: Record) -> str:
    """The task score's 95% bootstrap interval (0-100), or why the record has none."""
    from harness.scoring.confidence import record_interval

    block = record.confidence
    if not record.ok:
        return "-"
    if not block:
        return f'<span class="nm" title="{esc(NO_INTERVAL)}">not measured</span>'
    if "not_measured" in block:
        return f'<span class="nm" title="{esc(block["not_measured"])}">not measured</span>'
    low, high = record_interval(record) or (0.0, 0.0)
    return f'<span title="{esc(block.get("method", ""))}">[{low:.2f}, {high:.2f}]</span>'


def _task_results(records: Sequence[Record]) -> str:
    lines, points = [], []
    for r in records:
        task = r.task
        metrics = " · ".join(
            f"{esc(k)} {100 * v:.2f}" for k, v in (r.metrics or {}).items() if isinstance(v, (int, float))
        )
        limit = (r.settings or {}).get("limit")
        if r.ok:
            rows, split = limit if r.num_examples is None else r.num_examples, task.split_examples
            part = (
                {task.name: (rows, split)}
                if limit and not (isinstance(split, int) and isinstance(rows, int) and rows >= split)
                else {}
            )
            status = "ok" + (f" ({esc(partial_text(part, 1))}: never ranked)" if part else "")
        else:
            error = str(r.error or "failed")
            cause = short_cause(error, str(r.submission.id), task.name)
            status = (
                f'<span class="failed">failed: {esc(cause)}</span><details><summary>the whole cause</summary>'
                f"{esc(strip_paths(error))}</details>"
            )
        score = r.score
        hardware = r.kind or r.hardware or ""
        backend = str((r.model or {}).get("backend") or "")
        model_of = (r.settings or {}).get("model_of")
        ood = f" <small>(out of distribution: the model for {esc(model_of)})</small>" if model_of else ""
        lines.append(
            [
                f"<code>{esc(task.name)}</code>{ood}",
                esc("" if task.split is None else task.split),
                esc(hardware),
                esc(backend) or "-",
                status,
                esc(_scalar(r.num_examples)),
                metrics or "-",
                f"{100 * score:.2f}" if isinstance(score, (int, float)) else "-",
                _interval_cell(r),
                _date(r.started_at),
                f"<small>{esc(display_path(str(r.path or '')))}</small>",
            ]
        )
        for p in r.operating_points or ():
            flops = p.get("flops")
            points.append(
                [
                    f"<code>{esc(task.name)}</code>",
                    esc(p.get("label")),
                    f"{flops / 1e9:.3f}" if isinstance(flops, (int, float)) else cells.NOT_MEASURED,
                    " · ".join(f"{esc(k)} {100 * v:.2f}" for k, v in (p.get("metrics") or {}).items()),
                    esc(p.get("predictions_file")),
                ]
            )
    out = table(
        [
            "Task",
            "Split",
            "Hardware",
            "Backend",
            "Status",
            "Examples",
            "Metrics (x100)",
            "Task score (0-100)",
            "95% interval",
            "Run",
            "Record",
        ],
        lines,
        "plain results",
    )
    out = f'<div class="scroll">{out}</div>'
    if points:
        out += "<h3>Operating points (self-reported FLOPs)</h3>" + table(
            ["Task", "Point", "GFLOPs per example", "Metrics (x100)", "Predictions"], points, "plain"
        )
    return out


def _date(stamp: Any) -> str:
    return f'<time datetime="{esc(stamp)}">{esc(str(stamp)[:16].replace("T", " "))}</time>' if stamp else ""


def _split(items: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[dict[str, Any], list[str]]:
    """The entries equal in every task's dict (shown once) and the keys whose values differ (shown per task)."""
    first = items[0][1]
    if all(d == first for _, d in items):
        return dict(first), []
    keys = list(dict.fromkeys(k for _, d in items for k in d))
    common = {k: first[k] for k in keys if all(k in d and d[k] == first[k] for _, d in items)}
    return common, [k for k in keys if k not in common]


def _compact(v: Any) -> str:
    if isinstance(v, dict):
        text = ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items())
        return f"<details><summary>{len(v)} entries</summary>{esc(text)}</details>" if len(v) > 4 else esc(text)
    return esc(_scalar(v))


def _per_task(items: Sequence[tuple[str, Any]], render_common: Any = None) -> str:
    """Dicts recorded with each task: what they share, rendered once, then a table of what differs per task."""
    dicts = [(t, v) for t, v in items if isinstance(v, dict)]
    if not dicts:
        return "".join(f"<p>{esc(t)}: {esc(_scalar(v))}</p>" for t, v in items)
    common, varying = _split(dicts)
    out = (render_common or _render)(common) if common else ""
    if varying and len(dicts) > 1:
        rows = [[f"<code>{esc(t)}</code>"] + [_compact(d.get(k)) if k in d else "-" for k in varying] for t, d in dicts]
        out += "<h4>Per task</h4>" + table(["Task"] + [esc(k) for k in varying], rows, "plain pertask")
    elif varying:
        out += _render({k: dicts[0][1][k] for k in varying})
    return out


def _measurements(records: Sequence[Record]) -> str:
    ok = [r for r in records if r.ok]
    names = {k for r in ok for k in (r.measurements or {})}
    table = list(RECORDED_MEASUREMENTS)  # the measurement table's order and titles (harness.measure.spec)
    order = [n for n in table if n in names] + sorted(names - set(table))
    if not order:
        return "<p>No measurement recorded.</p>"
    out = []
    for name in order:
        items = [(r.task.name, r.measurements[name]) for r in ok if r.measurements and name in r.measurements]
        render = (lambda m: _flops_modules(m) + _render(m)) if name == "flops" else None
        missing = [r.task.name for r in ok if name not in (r.measurements or {})]
        gap = f'<p class="nm">Not measured for {esc(", ".join(missing))}.</p>' if missing else ""
        out.append(
            f'<section class="measure" id="m-{esc(name)}"><h3>{esc(title(name))}</h3>'
            f"{_tasks_line([t for t, _ in items], len(ok))}{_per_task(items, render)}{gap}</section>"
        )
    return "".join(out)


def _grouped(records: Sequence[Record], get: Any, empty: str) -> str:
    items = [(r.task.name, get(r)) for r in records]
    items = [(t, v) for t, v in items if v]
    if not items:
        return f"<p>{empty}</p>"
    return _tasks_line([t for t, _ in items], len(records)) + _per_task(items)


def _files(records: Sequence[Record]) -> str:
    items = [(r.task.name, (r.submission.sha256 or "", r.submission.files or {})) for r in records]
    items = [(t, v) for t, v in items if v[0] or v[1]]
    if not items:
        return "<p>No file digests recorded.</p>"
    out = []
    for (combined, files), tasks in _groups(items):
        rows = [
            [f"<code>{esc(strip_paths(str(p)))}</code>", f'<code class="sha">{esc(files[p])}</code>']
            for p in sorted(files)
        ]
        digest = f'<p>Combined sha256: <code class="sha">{esc(combined)}</code></p>' if combined else ""
        out.append(
            f'<div class="block">{_tasks_line(tasks, len(records))}{digest}'
            f"{table(['File', 'sha256'], rows, 'plain files')}</div>"
        )
    return "".join(out)


def _settings(record: Record) -> dict[str, Any]:
    return {**(record.settings or {}), **(record.track_run or {})}


def submission_page(
    sid: str,
    records: Sequence[Record | Mapping[str, Any]],
    placed: Sequence[tuple[Leaderboard, Row]],
    meta: Mapping[str, Any],
    *,
    teacher_records: Sequence[Record | Mapping[str, Any]] = (),
    teacher_page: str | None = None,
    groups: Mapping[int, Mapping[str, tuple[int, Row]]] | None = None,
) -> str:
    """The page of one submission; `teacher_records`: those of the submission its `teacher:` names (agreement),
    whose page is `teacher_page`; `groups`: the boards' ranked_groups by id(board), when the caller has them."""
    ordered = sorted(map(as_record, records), key=lambda r: (str(r.task.name), str(r.hardware), str(r.started_at)))
    m = _meta(ordered, [row for _, row in placed])
    kinds = {row.kind for _, row in placed} | {str(r.kind or "measured") for r in ordered}
    mark = badge("self-reported") if "self-reported" in kinds else ""
    authors = m.get("authors")
    backends = sorted({str((r.model or {}).get("backend")) for r in ordered if (r.model or {}).get("backend")})
    info = facts(
        [
            ("Submission id", f"<code>{esc(sid)}</code>"),
            ("Team", esc(m.get("team"))),
            ("Authors", esc(", ".join(map(str, authors)) if isinstance(authors, list) else authors)),
            ("Method family", esc(", ".join(map(str, m.get("methods") or ())))),
            ("Base model", esc(m.get("base_model"))),
            ("Teacher model", esc(m.get("teacher_model"))),
            ("Paper", external(m.get("paper"))),
            ("Code", external(m.get("code"))),
            ("Description", esc(m.get("description"))),
            ("Backend", esc(", ".join(backends))),
        ]
    )
    agreement = _agreement(ordered, str(m["teacher"]), teacher_records, teacher_page) if m.get("teacher") else ""
    body = (
        f"<h1>{esc(m.get('name') or sid)}{mark}</h1>{_card(placed, groups or {})}{info}"
        f'<section><h2>Tracks</h2><div class="scroll">{_placements(placed)}</div></section>'
        f"<section><h2>Task results</h2>{_task_results(_benchmark_order(ordered, placed))}</section>"
        f"{agreement}"
        f"{_robustness_section(ordered)}"
        f"<section><h2>Measurements</h2>{_measurements(ordered)}</section>"
        f"<section><h2>Evaluation settings</h2>"
        f"{_grouped(ordered, _settings, 'No settings recorded.')}"
        f"</section><section><h2>Environment</h2>"
        f"{_grouped(ordered, lambda r: r.environment, NO_ENVIRONMENT)}"
        f"</section><section><h2>Declared numbers (self-reported)</h2>"
        f"{_grouped(ordered, lambda r: r.declared, 'None declared.')}</section>"
        f"<section><h2>Evaluated files</h2>{_files(ordered)}</section>"
    )
    return page(str(m.get("name") or sid), body, "..", meta)


def submission_pages(
    boards: Sequence[Leaderboard],
    records: Sequence[Record | Mapping[str, Any]],
    names: Mapping[str, str],
    meta: Mapping[str, Any],
    only: Collection[str],
) -> dict[str, str]:
    """{submission id: page} for the submissions of `only` (ids with a page name in `names`)."""
    wanted = set(only)
    by_sub: dict[str, list[Record]] = {}  # every submission's: a teacher's records serve its students' pages
    for r in map(as_record, records):
        by_sub.setdefault(str(r.submission.id), []).append(r)
    placed: dict[str, list[tuple[Leaderboard, Row]]] = {sid: [] for sid in wanted}
    for b in boards:
        for row in b.rows:
            if row.submission in wanted:
                placed[row.submission].append((b, row))
    groups = {id(b): ranked_groups(b) for b in boards}
    teachers = {sid: _teacher_of(by_sub.get(sid, [])) for sid in wanted}  # only these read outputs files
    return {
        sid: submission_page(
            sid,
            by_sub.get(sid, []),
            placed[sid],
            meta,
            teacher_records=by_sub.get(teachers[sid] or "", ()),
            teacher_page=_page_of(teachers[sid], names),
            groups=groups,
        )
        for sid in names
        if sid in wanted
    }


def _page_of(sid: str | None, names: Mapping[str, str]) -> str | None:
    """The page file of submission `sid` beside this one, None when it has none."""
    return f"{names[sid]}.html" if sid is not None and sid in names else None


def _teacher_of(records: Sequence[Record]) -> str | None:
    """The teacher's submission id that the latest record naming one keeps in its metadata (`teacher:`)."""
    named = [r for r in records if (r.submission.meta or {}).get("teacher")]
    return str(max(named, key=lambda r: str(r.started_at)).submission.meta["teacher"]) if named else None


AGREEMENT_CELLS = (  # (result key, label, as a percentage): the order a task's agreement reads in
    ("label_loyalty", "label loyalty", True),
    ("probability_loyalty", "probability loyalty", False),
    ("top1_agreement", "fidelity top-1", True),
    ("kl_teacher_student", "fidelity KL (nats)", False),
    ("pearson", "Pearson", False),
    ("spearman", "Spearman", False),
    ("exact_match", "EM vs teacher", True),
    ("f1", "F1 vs teacher", True),
)
NO_TEACHER_RECORD = "no teacher record"
NO_INTERVAL = "recorded before records kept bootstrap resamples (schema 3): re-run the evaluation for an interval"


def _agreement_cell(result: Mapping[str, Any]) -> str:
    """One task's agreement numbers (shares as percentages with two decimals, the others to four significant
    digits), or why they were not measured."""
    from harness.scoring.agreement import NOT_MEASURED

    if NOT_MEASURED in result:
        return f'<span class="nm">not measured: {esc(strip_paths(str(result[NOT_MEASURED])))}</span>'
    parts = [
        f"{esc(label)} {100 * result[key]:.2f}%" if percent else f"{esc(label)} {result[key]:.4g}"
        for key, label, percent in AGREEMENT_CELLS
        if isinstance(result.get(key), (int, float))
    ]
    return " · ".join(parts) or "-"


def _agreement(
    records: Sequence[Record],
    teacher: str,
    teacher_records: Sequence[Record | Mapping[str, Any]],
    teacher_page: str | None,
) -> str:
    """Per ok task result, its agreement with the teacher's ok record of the same task, split and examples (read
    from the outputs or predictions files beside both), then each measure's definition and source, once."""
    from harness.scoring.agreement import DEFINITIONS, NOT_MEASURED, record_agreement, teacher_record

    theirs = [*map(as_record, teacher_records)]
    name = f"<code>{esc(teacher)}</code>"
    who = f'<a href="{esc(teacher_page)}">{name}</a>' if teacher_page else name
    lines = []
    for r in (r for r in records if r.ok):
        match = teacher_record(r, theirs)
        result = record_agreement(r, match) if match is not None else {NOT_MEASURED: NO_TEACHER_RECORD}
        lines.append(
            [
                f"<code>{esc(r.task.name)}</code>",
                esc("" if r.task.split is None else r.task.split),
                esc(r.kind or r.hardware or ""),
                esc(_scalar(r.num_examples)),
                _agreement_cell(result),
            ]
        )
    rows = (
        f'<div class="scroll">{table(["Task", "Split", "Hardware", "Examples", "Agreement"], lines, "plain")}</div>'
        if lines
        else "<p>No task result to compare.</p>"
    )
    definitions = "".join(
        f"<dt>{esc(term)}</dt><dd>{esc(meaning)}. Source: {esc(source)}.</dd>" for term, meaning, source in DEFINITIONS
    )
    return (
        f'<section id="agreement"><h2>Agreement with the teacher</h2><p>Teacher: {who}. Each task is compared '
        "with the teacher's record of the same task, split and number of examples, from the per-example outputs "
        f'(or answers) kept beside both records.</p>{rows}<dl class="definitions">{definitions}</dl></section>'
    )


def _points(value: Any) -> str:
    """A fraction as points on the 0-100 scale, two decimals; '-' for none."""
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "-"


def _in_distribution(ood: Record, records: Sequence[Record]) -> Record | None:
    """The ok record of the task whose model an OOD record ran, by that model: of the same track run if any, then the
    latest."""
    task = (ood.settings or {}).get("model_of")
    mine = [r for r in records if r.ok and r.task.name == task and not (r.settings or {}).get("model_of")]
    track = (ood.track_run or {}).get("track")
    return max(mine, key=lambda r: ((r.track_run or {}).get("track") == track, str(r.started_at)), default=None)


def _robustness_section(records: Sequence[Record]) -> str:
    """Out-of-distribution scores beside the in-distribution ones with the drop, and each record's perturbation
    suite (per kind: score, drop, share of inputs changed, the casing note); nothing when no record has either."""
    ood = [r for r in records if r.ok and (r.settings or {}).get("model_of")]
    suites = [r for r in records if r.ok and isinstance(r.robustness, Mapping)]
    if not ood and not suites:
        return ""
    parts = ['<section id="robustness"><h2>Robustness</h2>']
    if ood:
        lines = []
        for r in ood:
            home = _in_distribution(r, records)
            clean = home.score if home is not None else None
            drop = clean - r.score if isinstance(clean, (int, float)) and isinstance(r.score, (int, float)) else None
            lines.append(
                [
                    f"<code>{esc((r.settings or {}).get('model_of'))}</code>",
                    _points(clean),
                    f"<code>{esc(r.task.name)}</code>",
                    _points(r.score),
                    _points(drop),
                    esc(_scalar(r.num_examples)),
                ]
            )
        head = ["Model of", "In-distribution score", "Scored on", "Out-of-distribution score", "Drop", "Examples"]
        parts.append(
            "<h3>Out of distribution</h3><p>The submission's model for one task scored on another task's data, its "
            "labels mapped as the track declares; drop = in-distribution score - out-of-distribution score "
            "(points of 100).</p>" + f'<div class="scroll">{table(head, lines, "plain")}</div>'
        )
    for r in suites:
        block = r.robustness or {}
        lines = [
            [
                esc(kind),
                _points(entry.get("score")),
                _points(entry.get("drop")),
                f"{100 * entry['changed']:.1f}%" if isinstance(entry.get("changed"), (int, float)) else "-",
                esc(_scalar(entry.get("examples"))),
                esc(entry.get("note") or ""),
            ]
            for kind, entry in (block.get("kinds") or {}).items()
            if isinstance(entry, Mapping)
        ]
        head = ["Perturbation", "Score (0-100)", "Drop (points)", "Inputs changed", "Examples", "Note"]
        sources = "".join(f"<li>{esc(s)}</li>" for s in block.get("sources") or ())
        parts.append(
            f"<h3>Perturbation suite: <code>{esc(r.task.name)}</code></h3><p>Clean score "
            f"{_points(block.get('clean_score'))}; rate {esc(_scalar(block.get('rate')))}, seed "
            f"{esc(_scalar(block.get('seed')))}.</p>"
            + f'<div class="scroll">{table(head, lines, "plain")}</div>'
            + f"<details><summary>Method and sources</summary><p>{esc(block.get('method') or '')}</p>"
            + f"<ul>{sources}</ul></details>"
        )
    return "".join(parts) + "</section>"
