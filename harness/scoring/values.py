"""From result records to one board row's values: records grouped per submission, score, task and ELUE values.

Pure functions over record dicts (as `harness.records.read_records` returns them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from harness.records import SELF_REPORTED, UNKEYED_MEASUREMENT, Record, hardware_of, is_stale
from harness.records.record import as_record
from harness.tasks import get_task
from harness.tracks.columns import PARTIAL, Column, Value
from harness.tracks.definitions import Track

STATUS_CHARS = 80  # a failed task's one-line status in a table cell; the whole cause is on the submission page
RESULTS_FOLDER = "records"  # record paths are RESULTS/records/<submission>/<task>.<hardware>.record.json
ELLIPSIS = "…"
# An absolute path of the machine that wrote a record, as error texts and records carry them: POSIX with two parts
# or more (not inside a URL, a relative path or a word: "and/or"), or Windows (C:\ or C:/). A quoted one may hold
# spaces; a bare one ends at a space or punctuation.
_PART = r"[^\s'\"<>|;,()\[\]{}\\/]"
_ROOT = r"(?:/|\\\\|[A-Za-z]:[\\/])"  # POSIX, Windows UNC (\\server\share), a drive
_QUOTED_PATH = re.compile(r"""(['"])(""" + _ROOT + r"""[^'"\n]*)\1""")
_FILE_URL = re.compile(r"file://(?=/)")  # file:///home/a/x is the path /home/a/x
_BARE_PATH = re.compile(r"(?<![\w.~/\\-])" + _ROOT + r"(?:" + _PART + r"+[\\/])+" + _PART + r"*")
_PREPOSITION = re.compile(r"\s+(?:at|in|from|under|to|of|for|on)$")


@dataclass
class Entry:
    """A submission's records for one track: ok records and failures per task, the tasks it lacks."""

    id: str
    ok: dict[str, Record] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # task -> one-line cause, without paths
    partial: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # --limit: (rows, split rows)
    missing: list[str] = field(default_factory=list)
    kind: str = "measured"
    hardware: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    last_run: str | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Chosen = dict[tuple[str, str], Record]  # (submission, task) -> record


def choose_records(
    records: Sequence[Record | Mapping[str, Any]],
    tasks: Sequence[str],
    preferred: Sequence[str],
    measurement: Mapping[str, Any] | None,
) -> tuple[Chosen, Chosen]:
    """The record of each (submission, task) a result stands on, and the latest failed run of each.

    Records made with other measurement settings than `measurement` are left out (those made without any are
    kept; None keeps every record). Preference: hardware in `preferred`, a good record over a failed one, one made
    with the track's own settings over one made without (a later plain `harness evaluate` does not replace a track
    run), a whole split over a `--limit` run, the task's current version over a stale one, then the latest.
    """
    wanted = set(tasks)
    own = None if measurement is None else _unkeyed(measurement)
    best: dict[tuple[str, str], tuple[tuple, Record]] = {}
    latest_failure: Chosen = {}
    for r in map(as_record, records):
        task = r.task.name
        if task not in wanted or (r.settings or {}).get("model_of"):
            continue  # an out-of-distribution run (a track's `ood`) is no result of a model for its task
        measured_with = (r.track_run or {}).get("measurement")
        if own is not None and measured_with is not None and _unkeyed(measured_with) != own:
            continue
        key = (r.submission.id, task)
        rank_key = (
            hardware_of(r) in preferred,
            r.ok,
            measured_with is not None,
            not (r.settings or {}).get("limit"),
            not is_stale(r),
            r.started_at,
        )
        old = best.get(key)
        if old is None or rank_key > old[0]:
            best[key] = (rank_key, r)
        if not r.ok:
            seen = latest_failure.get(key)
            if seen is None or r.started_at > seen.started_at:
                latest_failure[key] = r
    return {k: r for k, (_, r) in best.items()}, latest_failure


def group_records(records: Sequence[Record | Mapping[str, Any]], track: Track) -> dict[str, Entry]:
    """Per submission taking part (a record for one of the track's tasks), the record chosen per task.

    A board reads the records made with its own track's measurement settings, and those made without any (plain
    `harness evaluate`, self-reported); records made with another track's settings are not its results. Which one
    stands per task is `choose_records`' preference. A run that failed after the chosen good record is kept as a
    note, never in its place.
    """
    wanted = track.task_names()
    position = {t: i for i, t in enumerate(wanted)}
    chosen, latest_failure = choose_records(records, wanted, (track.hardware, SELF_REPORTED), track.measurement.plain())
    entries: dict[str, Entry] = {}
    for (sub, task), r in sorted(chosen.items(), key=lambda item: (item[0][0], position[item[0][1]])):
        e = entries.setdefault(sub, Entry(sub))
        e.meta = e.meta or dict(r.submission.meta or {})
        e.kind = SELF_REPORTED if r.kind == SELF_REPORTED else e.kind
        e.last_run = max(filter(None, [e.last_run, r.started_at]))
        limit = (r.settings or {}).get("limit")
        error = r.error
        e.tasks[task] = {
            "status": r.status,
            "examples": r.num_examples,
            "limit": limit,
            "error": strip_paths(str(error)) if error is not None else None,
            "record": display_path(str(r.path)) if r.path else None,
        }
        if r.ok:
            e.ok[task] = r
        else:
            e.failed[task] = short_cause(str(error or "failed"), sub, task)
        hardware = hardware_of(r)
        if hardware != SELF_REPORTED and hardware not in e.hardware:
            e.hardware = sorted([*e.hardware, hardware])
        if limit:
            rows, split = limit if r.num_examples is None else r.num_examples, r.task.split_examples
            if isinstance(split, int) and isinstance(rows, int) and rows >= split:
                e.notes.append(f"{task}: --limit {limit} covered the whole split ({split:,} examples)")
            elif r.ok:
                e.partial[task] = (rows if isinstance(rows, int) else None, split if isinstance(split, int) else None)
        track_run = r.track_run or {}
        if track_run.get("skipped"):
            e.notes.append(f"measurements skipped in the run (--skip-measure): {', '.join(track_run['skipped'])}")
        failure = latest_failure.get((sub, task))
        if r.ok and failure is not None and failure.started_at >= r.started_at:
            e.tasks[task]["later_failure"] = strip_paths(str(failure.error or "failed"))[:200]
            e.notes.append(
                f"{task}: a later run ({failure.started_at}) failed; the good record of {r.started_at} is shown"
            )
        if is_stale(r):
            e.tasks[task]["stale"] = True
            e.notes.append(
                f"{task}: scored under task version {r.task.version}, the current one is "
                f"{get_task(task).version} (a scoring-rule fix): stale until re-scored from its "
                "predictions file"
            )
    for e in entries.values():
        e.missing = [t for t in wanted if t not in e.ok and t not in e.failed]
    return entries


def partial_text(partial: Mapping[str, tuple[int | None, int | None]], tasks: int) -> str:
    """`partial: 100 of 872 examples`: what a --limit run evaluated (summed over its tasks when several were
    limited; the task named when one of a track's `tasks` was); M is left out where a record lacks the split size.

    >>> partial_text({"sst2": (100, 872)}, 1), partial_text({"sst2": (100, 872), "rte": (100, 277)}, 2)
    ('partial: 100 of 872 examples', 'partial: 200 of 1,149 examples over 2 tasks')
    >>> partial_text({"rte": (50, None)}, 2)
    'partial: rte 50 examples (--limit)'
    """
    rows = [n for n, _ in partial.values()]
    splits = [m for _, m in partial.values()]
    n = f"{sum(rows):,}" if None not in rows else "some"  # type: ignore[arg-type]
    of = f" of {sum(splits):,} examples" if None not in splits else " examples"  # type: ignore[arg-type]
    where = f" over {len(partial)} tasks" if len(partial) > 1 else ""
    name = f"{next(iter(partial))} " if len(partial) == 1 and tasks > 1 else ""
    return f"partial: {name}{n}{of}{where}" + ("" if None not in splits else " (--limit)")


def display_path(path: str) -> str:
    """A path as pages show it: a relative one as it is; an absolute one from its results' records folder on, else
    its last two parts: a page never shows where on the machine that ran it a file lay.

    >>> display_path("/home/a/results/records/s/sst2.cpu.record.json"), display_path("C:/Users/a/m/x.bin")
    ('records/s/sst2.cpu.record.json', '…/m/x.bin')
    """
    if not re.match(_ROOT, path):
        return path
    parts = [p for p in re.split(r"[\\/]+", path) if p]
    ends = [i for i, p in enumerate(parts[:-2]) if p == RESULTS_FOLDER]
    if ends:
        return "/".join(parts[ends[-1] :])
    return f"{ELLIPSIS}/" + "/".join(parts[-2:] if len(parts) > 2 else parts[-1:])  # never the whole path


def strip_paths(text: str) -> str:
    """Text with every absolute path in it shortened by `display_path` (error texts, measurement notes).

    >>> strip_paths("no data at /home/a/mirror/glue/qqp.tsv; see https://x.org/a/b and '/data/my dir/f'")
    "no data at …/glue/qqp.tsv; see https://x.org/a/b and '…/my dir/f'"
    >>> strip_paths("folder:/home/alice/a/b, file:///home/alice/x/y and /home/alice")
    'folder:…/a/b, …/x/y and …/alice'
    """
    if "/" not in text and "\\" not in text:
        return text
    text = _FILE_URL.sub("", text)
    text = _QUOTED_PATH.sub(lambda m: m.group(1) + display_path(m.group(2)) + m.group(1), text)

    def short(m: re.Match) -> str:  # a sentence's full stop is not part of the path
        path = m.group()
        return display_path(path.rstrip(".")) + ("." if path.endswith(".") else "")

    return _BARE_PATH.sub(short, text)


def short_cause(error: str, submission: str, task: str) -> str:
    """A failed task's cause in one line for a table cell, without the runner's prefix, paths or the advice after
    the first `;`: "no data at /x/glue/qqp.tsv; the mirror needs ..." -> "no data".

    >>> short_cause("submission s, task qqp: task qqp: no data at /m/glue/qqp.tsv; the mirror needs it", "s", "qqp")
    'no data'
    """
    text = (error.strip().splitlines() or ["failed"])[0]
    for prefix in (f"submission {submission}, task {task}: ", f"task {task}: "):
        text = text[len(prefix) :] if text.startswith(prefix) else text
    text = text.split("; ", 1)[0]
    text = _BARE_PATH.sub("", _QUOTED_PATH.sub("", text))
    text = re.sub(r"\s{2,}", " ", text).strip(" :;,")
    text = _PREPOSITION.sub("", text).strip(" :;,") or "failed"
    return text if len(text) <= STATUS_CHARS else text[: STATUS_CHARS - 1] + ELLIPSIS


def _unkeyed(measurement: Mapping[str, Any]) -> dict[str, Any]:
    """Measurement settings without what they list to measure: a record with more measurements serves a track
    that asks for fewer."""
    return {k: v for k, v in measurement.items() if k not in UNKEYED_MEASUREMENT}


def provenance_of(entry: Entry) -> str:
    """Provenance of a submission's scores: scored here from its predictions (self-reported) or measured."""
    return "predictions" if entry.kind == SELF_REPORTED else "measured"


def task_value(track: Track, record: Record, provenance: str) -> Value:
    """A task column: the task's score x100 (for a `metric` track, that metric), with its metrics in the detail and
    the record's 95% bootstrap interval where it has one."""
    from harness.scoring.confidence import record_interval

    metrics = record.metrics
    detail = ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items())
    if track.score.rule == "metric" and record.task.name == track.score.task:
        name = track.score.metric or ""
        return Value(100 * metrics[name], provenance, detail, record_interval(record, name))
    return Value(
        100 * float(record.score),  # type: ignore[arg-type]
        provenance,
        f"mean of its metrics: {detail}",
        record_interval(record),
    )


def score_value(track: Track, entry: Entry) -> Value:
    """The track's score (0-100) by its rule; an aggregate over missing tasks is no number but `k of n tasks`. The
    value carries its bootstrap resamples and 95% interval where every record it is made of has resamples."""
    from harness.scoring import confidence

    prov = provenance_of(entry)
    rule = track.score.rule
    if rule in ("glue", "superglue"):
        from harness.scoring.aggregate import benchmark_score
        from harness.tasks.benchmarks import BENCHMARKS

        result = benchmark_score(rule, {t: r.metrics for t, r in entry.ok.items()})
        if not result.components:
            return Value(None, "not measured", "no task of the aggregate scored")
        if result.partial:
            return Value(None, PARTIAL, result.tasks_text())
        components = BENCHMARKS.get(rule).components
        used = {t: entry.ok[t] for component in components for t in component}
        resamples = confidence.components_resamples(components, used)
        value = Value(result.score, prov, result.label())
        return confidence.with_resamples(value, resamples, confidence.paired_on(used))
    if rule == "metric":
        record = entry.ok.get(track.score.task or "")
        if record is None:
            return Value(None, "not measured", f"{track.score.task} not scored")
        metric = track.score.metric or ""
        value = Value(100 * record.metrics[metric], prov, track.score.label)
        resamples = confidence.record_resamples(record, metric)
        return confidence.with_resamples(value, resamples, confidence.paired_on({record.task.name: record}))
    scores = [100 * float(r.score) for r in entry.ok.values() if r.score is not None]
    if not scores:
        return Value(None, "not measured", "no task scored")
    lacking = [t for t in track.task_names() if t not in entry.ok]
    if lacking:
        done = f"{len(scores)} of {len(scores) + len(lacking)} tasks"
        return Value(None, PARTIAL, f"{done} (missing {', '.join(lacking)})")
    value = Value(sum(scores) / len(scores), prov, f"mean of {len(scores)} task scores")
    resamples = confidence.mean_resamples(entry.ok)
    return confidence.with_resamples(value, resamples, confidence.paired_on(entry.ok))


def elue_points(entry: Entry) -> tuple[dict[str, list[tuple[str, float, float]]], bool, list[str]]:
    """{task: [(label, flops, perf 0-100)]}, whether any FLOPs are self-reported, tasks without FLOPs."""
    points: dict[str, list[tuple[str, float, float]]] = {}
    reported, lacking = False, []
    for task, r in entry.ok.items():
        ops = r.operating_points
        if ops:
            points[task] = [(p.get("label", ""), float(p["flops"]), 100 * float(p["score"])) for p in ops]
            reported = True
            continue
        flops = (r.measurement("flops") or {}).get("flops_per_example")
        if isinstance(flops, (int, float)):
            points[task] = [("", float(flops), 100 * float(r.score or 0.0))]
        else:
            lacking.append(task)
    return points, reported, lacking


def reference_values(track: Track, columns: Sequence[Column]) -> list[tuple[Any, dict[str, Value]]]:
    """Values of the track's published reference rows: parameters, task scores and, on GLUE tracks, the average."""
    out = []
    ids = {c.id for c in columns}
    for ref in track.reference_rows:
        note = f"as published ({ref.split}); metric and averaging per the source: {ref.avg_rule}"
        values = {"params": Value(ref.params, "published", "as published, rounded to millions")}
        if track.score.rule == "glue" and ref.avg_reported is not None:
            values["score"] = Value(ref.avg_reported, "published", note)
        for task, score in ref.scores.items():
            if f"task:{task}" in ids:
                values[f"task:{task}"] = Value(score, "published", note)
        out.append((ref, values))
    return out
