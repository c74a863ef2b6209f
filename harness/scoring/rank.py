"""`rank(records, track) -> Leaderboard`: score, judge and order a track's submissions from their records.

Pure: reads only its arguments. Every submission with a record for one of the track's tasks appears;
one that breaks a cutoff is listed as ineligible with the rule and the measured value, never dropped.
Eligible rows are ranked by the track's rule (optionally by a Dynascore); equal keys share a rank. Rows whose
ranking value is estimated (energy without counters) are ranked in a group of their own, never against
measured values; a --limit run is never ranked and forms a group apart.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Mapping, Sequence

from harness.records.record import as_record
from harness.scoring.board import GROUPS, Leaderboard, ParetoPair, Row
from harness.scoring.confidence import (
    TIE_METHOD,
    elue_resamples,
    leader_gap,
    paired_on,
    tied,
    with_resamples,
    without_resamples,
)
from harness.scoring.dynascore import dynascore
from harness.scoring.eligibility import CUTOFF_COLUMNS, broken_rules
from harness.scoring.elue_score import elue_score
from harness.scoring.pareto import pareto_front
from harness.scoring.values import (
    Entry,
    display_path,
    elue_points,
    group_records,
    provenance_of,
    reference_values,
    score_value,
    task_value,
)
from harness.tasks import get_task
from harness.tracks.columns import EFFICIENCY, FAILED, PARTIAL, Column, Value, column_value, estimates_of
from harness.tracks.definitions import Track

RULES = {
    "glue": "official GLUE score: mean over CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI; a two-metric "
    "task scores their mean, MNLI the mean of matched and mismatched; AX reported apart",
    "superglue": "official SuperGLUE score: mean over BoolQ, CB, COPA, MultiRC, ReCoRD, RTE, WiC, WSC; two-metric "
    "tasks averaged first; AX-b and AX-g reported apart",
    "mean": "unweighted mean of the track's task scores (a two-metric task scores their mean)",
}
ELUE_RULE = (
    "ELUE score: mean over tasks of mean over the submission's points of perf - perf_ref(FLOPs), perf_ref "
    "piecewise linear in FLOPs through the reference curve; outside its range: {outside}"
)
ESTIMATED_NOTE = "is estimated, not measured"  # the board note on estimated values begins so (pages find it)
MCC = "matthews_correlation"
MCC_NOTE = "Matthews correlation is 0 for constant predictions, as in the official scorers (scikit-learn)"
DYNASCORE_RULE = (
    "Dynascore (Ma et al. 2021): sum of normalised weights x metric (signed so higher is better) / AMRS, "
    "the metric's average marginal rate of substitution with the score over adjacent submissions"
)


def board_columns(track: Track, weights: Mapping[str, float]) -> list[Column]:
    """The board's columns in display order: score, ELUE score, tasks, efficiency (and cutoff) columns, Dynascore."""
    rule = RULES.get(track.score.rule, f"{track.score.metric} on {track.score.task}, x100")
    cols = [Column("score", track.score.label, "points (0-100)", True, rule, group="score")]
    if track.reference_curve is not None:
        cols.append(
            Column(
                "elue_score",
                "ELUE score",
                "points above the reference curve",
                True,
                ELUE_RULE.format(outside=track.reference_curve.outside),
                group="score",
            )
        )
    diagnostics = _diagnostics(track)
    for t in track.task_names():
        convention = "diagnostic, not in the score" if t in diagnostics else "task score x100"
        if MCC in get_task(t).metric_names:
            convention += f"; {MCC_NOTE}"
        cols.append(
            Column(
                f"task:{t}", t, "points (0-100)", True, convention, group="diagnostic" if t in diagnostics else "task"
            )
        )
    needed = [col for rule_key, (col, _) in CUTOFF_COLUMNS.items() if getattr(track.cutoffs, rule_key) is not None]
    for cid in dict.fromkeys([*track.columns, *needed]):
        cols.append(EFFICIENCY[cid])
    if weights:
        cols.append(Column("dynascore", "Dynascore", "score points", True, DYNASCORE_RULE, group="utility"))
    return cols


def _diagnostics(track: Track) -> set[str]:
    if track.score.rule not in ("glue", "superglue"):
        return set()
    from harness.tasks.benchmarks import BENCHMARKS

    return set(BENCHMARKS.get(track.score.rule).diagnostics)


def _row_values(track: Track, entry: Entry, columns: Sequence[Column]) -> tuple[dict[str, Value], tuple[dict, ...]]:
    prov = provenance_of(entry)
    values = {"score": score_value(track, entry)}
    for t, record in entry.ok.items():
        values[f"task:{t}"] = task_value(track, record, prov)
    for t, cause in entry.failed.items():
        values[f"task:{t}"] = Value(None, FAILED, cause)
    for col in columns:
        if col.id in EFFICIENCY:
            values[col.id] = column_value(col, entry.ok)
    points: tuple[dict, ...] = ()
    curve = track.reference_curve
    if curve is not None:
        pts, reported, lacking = elue_points(entry)
        result = elue_score(pts, curve.points, curve.outside)
        points = tuple(dict(vars(p)) for p in result.points)
        note = "; ".join(filter(None, [result.note, f"no FLOPs measured for {', '.join(lacking)}" if lacking else ""]))
        score = result.score if not lacking else None
        value = Value(
            score,
            ("self-reported" if reported else "computed") if score is not None else "not measured",
            note or ("from self-reported FLOPs" if reported else ""),
        )
        resamples = elue_resamples(result, entry.ok) if score is not None else None
        values["elue_score"] = with_resamples(value, resamples, paired_on(entry.ok))
    return values, points


def _sort_key(row: Row, keys: Sequence[tuple[str, bool]]) -> tuple:
    out = []
    for cid, descending in keys:
        v = row.values.get(cid, Value(None, "not measured")).value
        out.append((v is None, 0.0 if v is None else (-v if descending else v)))
    return tuple(out)


def grouping_key(track: Track) -> tuple[Any, ...]:
    """What grouping a track's records depends on: tracks with equal keys group the same records alike."""
    return tuple(track.task_names()), track.hardware, repr(track.measurement)


def rank(
    records: Sequence[Any],
    track: Track,
    submissions_meta: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    dynascore_weights: Mapping[str, float] | None = None,
    rank_by_dynascore: bool = False,
    pareto_pairs: Sequence[tuple[str, str]] = (),
    reuse: dict[Any, Any] | None = None,
) -> Leaderboard:
    """The track's leaderboard from result records (read_records output) and optional submission metadata.

    `reuse`: one dict passed to several rank calls over the same records; tracks with the same tasks,
    hardware and measurement settings then group the records once, and those that also score alike (the
    ELUE tracks, which differ only in their cutoffs) compute each row's values once.
    """
    weights = dict(dynascore_weights or track.dynascore)
    columns = board_columns(track, weights)
    by_id = {c.id: c for c in columns}
    memo = reuse if reuse is not None else {}
    grouping = grouping_key(track)
    if grouping not in memo:
        memo[grouping] = group_records(records, track)
    entries: dict[str, Entry] = memo[grouping]
    scoring = (grouping, repr(track.score), repr(track.reference_curve), tuple(c.id for c in columns))
    if scoring not in memo:
        memo[scoring] = {sub: _row_values(track, entry, columns) for sub, entry in entries.items()}
    row_values: dict[str, tuple[dict[str, Value], tuple[dict, ...]]] = memo[scoring]
    by = "dynascore" if rank_by_dynascore and weights else track.ranking.by
    # the labelled column (energy) whose estimated values rank apart: the ranking column, or one a Dynascore weighs
    split = by if by_id[by].labelled else next((c for c in weights if by == "dynascore" and by_id[c].labelled), None)
    rows = []
    estimated_by: dict[str, list[str]] = {}
    for sub, entry in entries.items():
        values, points = row_values[sub]
        stale = [t for t, info in entry.tasks.items() if info.get("stale") and t in entry.ok]
        broken = broken_rules(track, values, entry.missing, entry.failed, entry.hardware, entry.partial, stale)
        meta = {**entry.meta, **dict((submissions_meta or {}).get(sub, {}))}
        group = "partial" if entry.partial else "estimated" if split and _estimated(values, split) else "main"
        if group == "estimated":
            estimated_by[sub] = estimates_of(by_id[split], entry.ok)  # type: ignore[index]
        rows.append(
            Row(
                sub,
                str(meta.get("name") or sub),
                entry.kind,
                values,
                str(meta.get("team") or ""),
                tuple(meta.get("methods") or ()),
                not broken,
                broken,
                points=points,
                tasks=entry.tasks,
                notes=tuple(dict.fromkeys(entry.notes)),
                last_run=entry.last_run,
                group=group,
            )
        )
    dyn = None
    if weights:
        rows, dyn = _with_dynascore(rows, weights, by_id)
    order = (
        track.ranking.order
        if by == track.ranking.by and track.ranking.order
        else ("descending" if by_id[by].higher_is_better else "ascending")
    )
    keys = [(by, order == "descending")] + [(c, by_id[c].higher_is_better) for c in track.ranking.then if c != by]
    rows = [row for group in GROUPS for row in _ranked([r for r in rows if r.group == group], keys)]
    ties, gap = _ties(rows, by), leader_gap(rows, by, order == "descending")
    rows = without_resamples(rows)
    pairs = list(dict.fromkeys([*track.pareto, *pareto_pairs]))
    rows, fronts = _with_pareto(rows, pairs, by_id)
    refs = tuple(
        Row(ref.id, ref.model, "reference", vals, source=ref.source) for ref, vals in reference_values(track, columns)
    )
    notes = []
    if track.reference_curve is not None and not any(track.reference_curve.points.values()):
        notes.append(
            "the ELUE reference curve has no points yet: fill it from a reference submission with "
            "`harness reference-curve`; until then no ELUE score is computed"
        )
    if estimated_by:
        how = "; ".join(dict.fromkeys(m for models in estimated_by.values() for m in models)) or "how: not recorded"
        label = by_id[split].label  # type: ignore[index]
        notes.append(
            f"{label} {ESTIMATED_NOTE}, for {len(estimated_by)} submission(s): ranked among themselves, "
            f"never against measured values; estimated by {how}"
        )
    tasks = set(track.task_names())
    used = [r for r in map(as_record, records) if r.task.name in tasks and r.submission.id in entries]
    return Leaderboard(
        track=_track_meta(track),
        columns=tuple(columns),
        rows=tuple(rows),
        reference_rows=refs,
        ranking={
            "by": by,
            "order": order,
            "then": list(track.ranking.then),
            "dynascore": by == "dynascore",
            "groups_by": split,
            "ties": ties,
            "leader_gap_interval": gap,
            "rule": (
                track.ranking.rule
                if by == track.ranking.by and track.ranking.rule
                else f"eligible submissions by {by_id[by].label}, {order}"
            ),
        },
        pareto=tuple(fronts),
        dynascore=dyn,
        reference_curve=_curve_meta(track),
        last_run=max((r.started_at for r in used), default=None),
        generated_from=len(used),
        notes=tuple(notes),
    )


def _estimated(values: Mapping[str, Value], column: str) -> bool:
    v = values.get(column)
    return v is not None and v.value is not None and v.provenance == "estimated"


def _partial_score(row: Row) -> bool:
    return row.values.get("score", Value(None, "")).provenance == PARTIAL


def _ranked(rows: list[Row], keys: list[tuple[str, bool]]) -> list[Row]:
    """One group's rows: the rankable ones by rank, then the eligible unranked, then the ineligible; a score over
    missing tasks sorts below complete ones."""
    rankable = sorted(
        (
            r
            for r in rows
            if r.eligible and not _partial_score(r) and r.values.get(keys[0][0], Value(None, "")).value is not None
        ),
        key=lambda r: _sort_key(r, keys),
    )
    out: list[Row] = []
    previous, position = None, 0
    column = keys[0][0]
    for i, row in enumerate(rankable, start=1):
        key = _sort_key(row, keys)
        position = position if key == previous else i
        previous = key
        above = out[-1].values.get(column) if out else None
        out.append(replace(row, rank=position, tied=tied(above, row.values.get(column))))
    ranked_ids = {r.submission for r in rankable}
    rest = sorted(
        (r for r in rows if r.submission not in ranked_ids),
        key=lambda r: (not r.eligible, _partial_score(r), _sort_key(r, keys), r.name),
    )
    unranked = [replace(r, notes=r.notes + (_why_unranked(r, keys[0][0]),)) if r.eligible else r for r in rest]
    return out + unranked


def _ties(rows: Sequence[Row], column: str) -> str:
    """How ties are marked on this board, or why they are not: only a ranking column with resamples has them."""
    ranked = [r for r in rows if r.rank is not None]
    if any(column in r.values and r.values[column].resamples is not None for r in ranked):
        return TIE_METHOD
    return (
        f"not marked: no ranked {column} has bootstrap resamples (records from before schema 3, or a ranking column "
        "such as energy, size or ELUE score that is not resampled)"
        if ranked
        else ""
    )


def _why_unranked(row: Row, column: str) -> str:
    if _partial_score(row):
        return f"not ranked: its score is over {row.values['score'].detail}"
    value = row.values.get(column, Value(None, "not measured", "no value"))
    return f"not ranked: no {column} ({value.detail or value.provenance})"


def _with_dynascore(
    rows: list[Row], weights: Mapping[str, float], by_id: Mapping[str, Column]
) -> tuple[list[Row], dict]:
    """Dynascores of the eligible rows, computed within each row group (a --limit run is ineligible: it never weighs
    in an AMRS; estimated energy is never traded against measured energy). The board's AMRS is the main group's."""
    scores: dict[str, float | None] = {}
    results = {}
    for group in GROUPS:
        eligible = [r for r in rows if r.eligible and r.group == group]
        if not eligible:
            continue
        table = [{k: r.values.get(k, Value(None, "")).value for k in ["score", *weights]} for r in eligible]
        results[group] = dynascore(table, weights, {k: by_id[k].higher_is_better for k in weights})
        scores.update({r.submission: s for r, s in zip(eligible, results[group].scores)})
    first = results.get("main") or next(iter(results.values()), None)
    out = []
    for r in rows:
        s = scores.get(r.submission)
        note = results[r.group].note if r.group in results else ""
        detail = (
            ""
            if s is not None
            else ("ineligible rows get no Dynascore" if not r.eligible else note or "a weighted value is missing")
        )
        out.append(
            replace(
                r, values={**r.values, "dynascore": Value(s, "computed" if s is not None else "not measured", detail)}
            )
        )
    if first is None:
        return out, {"weights": dict(weights), "amrs": {}, "note": "no eligible row"}
    apart = {g: res.amrs for g, res in results.items() if res is not first}
    note = first.note + (
        f"; AMRS of the {', '.join(apart)} row(s), computed among them: "
        + "; ".join(f"{g} {a}" for g, a in apart.items())
        if apart
        else ""
    )
    return out, {"weights": first.weights, "amrs": first.amrs, "note": note.strip("; ")}


def _with_pareto(
    rows: list[Row], pairs: Sequence[tuple[str, str]], by_id: Mapping[str, Column]
) -> tuple[list[Row], list[ParetoPair]]:
    """Front flags per pair over the eligible rows; on a pair with a labelled column, measured and estimated
    values form two fronts, never compared with each other."""
    flags: dict[str, dict[str, bool | None]] = {r.submission: {} for r in rows}
    fronts = []
    for y, x in pairs:
        pid = f"{y}~{x}"
        split = [c for c in (y, x) if by_id[c].labelled]
        apart = [any(_estimated(r.values, c) for c in split) for r in rows]
        found: dict[bool, tuple[str, ...]] = {}
        for estimated in (False, True):
            if estimated and not any(apart):
                found[True] = ()
                continue
            pts = [
                (r.values.get(y, Value(None, "")).value, r.values.get(x, Value(None, "")).value)
                if r.eligible and a == estimated
                else None
                for r, a in zip(rows, apart)
            ]
            on = pareto_front(pts, (by_id[y].higher_is_better, by_id[x].higher_is_better))  # type: ignore[arg-type]
            for r, flag, a in zip(rows, on, apart):
                if a == estimated:
                    flags[r.submission][pid] = flag
            front = sorted((r for r, f in zip(rows, on) if f), key=lambda r: r.values[x].value)
            found[estimated] = tuple(r.submission for r in front)
        fronts.append(ParetoPair(pid, y, x, found[False], found[True]))
    return [replace(r, pareto=flags[r.submission]) for r in rows], fronts


def _curve_meta(track: Track) -> dict[str, Any] | None:
    """The reference curve as a board shows it, its file without the machine's path."""
    if track.reference_curve is None:
        return None
    curve = asdict(track.reference_curve)
    if curve.get("file"):
        curve["file"] = display_path(str(curve["file"]))
    return curve


def _track_meta(track: Track) -> dict[str, Any]:
    return {
        "id": track.id,
        "name": track.name,
        "description": track.description,
        "source": track.source,
        "hardware": track.hardware,
        "path": display_path(str(track.path)),
        "tasks": [{"task": t.task, "split": t.split, "benchmark": get_task(t.task).benchmark} for t in track.tasks],
        "score": asdict(track.score),
        "cutoffs": asdict(track.cutoffs),
        "measurement": track.measurement.plain(),
    }
