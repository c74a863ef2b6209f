"""From result records to one board row's values: records grouped per submission, score, task and ELUE values.

Pure functions over record dicts (as `harness.records.read_records` returns them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from harness.columns import Column, Value
from harness.tracks import Track

SELF_REPORTED = "self-reported"
DEFAULT_HARDWARE = "cpu"  # harness.runner writes every measured record from the CPU backend


@dataclass
class Entry:
    """A submission's records for one track: ok records and failures per task, the tasks it lacks."""

    id: str
    ok: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    kind: str = "measured"
    hardware: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    last_run: str | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def hardware_of(record: Mapping[str, Any]) -> str:
    """The hardware class a record was produced on ("self-reported" for prediction-only records)."""
    if record.get("kind") == SELF_REPORTED:
        return SELF_REPORTED
    return str(record.get("hardware") or DEFAULT_HARDWARE)


def group_records(records: Sequence[Mapping[str, Any]], track: Track) -> dict[str, Entry]:
    """Per submission taking part (a record for one of the track's tasks), the record chosen per task.

    Preference: the track's hardware (or self-reported), then the latest `started_at`.
    """
    wanted = track.task_names()
    position = {t: i for i, t in enumerate(wanted)}
    preferred = (track.hardware, SELF_REPORTED)
    chosen: dict[tuple[str, str], Mapping[str, Any]] = {}
    for r in records:
        task = r["task"]["name"]
        if task not in position:
            continue
        key = (r["submission"]["id"], task)
        old = chosen.get(key)
        if old is None or ((hardware_of(r) in preferred, r["started_at"])
                           > (hardware_of(old) in preferred, old["started_at"])):
            chosen[key] = r
    settings = track.measurement.plain()
    entries: dict[str, Entry] = {}
    for (sub, task), r in sorted(chosen.items(), key=lambda item: (item[0][0], position[item[0][1]])):
        e = entries.setdefault(sub, Entry(sub))
        e.meta = e.meta or dict(r["submission"].get("meta") or {})
        e.kind = SELF_REPORTED if r.get("kind") == SELF_REPORTED else e.kind
        e.last_run = max(filter(None, [e.last_run, r["started_at"]]))
        limit = (r.get("settings") or {}).get("limit")
        e.tasks[task] = {"status": r["status"], "examples": r.get("num_examples"), "limit": limit,
                         "error": r.get("error"), "record": r.get("path")}
        if r["status"] == "ok":
            e.ok[task] = r
        else:
            e.failed[task] = str(r.get("error", "failed"))[:200]
        hardware = hardware_of(r)
        if hardware != SELF_REPORTED and hardware not in e.hardware:
            e.hardware = sorted([*e.hardware, hardware])
        if limit:
            e.notes.append(f"evaluated on the first {limit} examples per task only (--limit): not an official result")
        track_run = r.get("track_run") or {}
        if track_run.get("skipped"):
            e.notes.append(f"measurements skipped in the run (--skip-measure): {', '.join(track_run['skipped'])}")
        if track_run.get("measurement") is not None and track_run["measurement"] != settings:
            e.notes.append(f"{task}: measured with the settings of track {track_run.get('track')!r}, not this one's")
    for e in entries.values():
        e.missing = [t for t in wanted if t not in e.ok and t not in e.failed]
    return entries


def provenance_of(entry: Entry) -> str:
    """Provenance of a submission's scores: scored here from its predictions (self-reported) or measured."""
    return "predictions" if entry.kind == SELF_REPORTED else "measured"


def task_value(track: Track, record: Mapping[str, Any], provenance: str) -> Value:
    """A task column: the task's score x100 (for a `metric` track, that metric), with its metrics in the detail."""
    metrics = record["metrics"]
    detail = ", ".join(f"{k} {100 * v:.2f}" for k, v in metrics.items())
    if track.score.rule == "metric" and record["task"]["name"] == track.score.task:
        return Value(100 * metrics[track.score.metric], provenance, detail)
    return Value(100 * float(record["score"]), provenance, f"mean of its metrics: {detail}")


def score_value(track: Track, entry: Entry) -> Value:
    """The track's score (0-100) by its rule; partial aggregates say what they lack."""
    prov = provenance_of(entry)
    rule = track.score.rule
    if rule in ("glue", "superglue"):
        from harness.scoring import benchmark_score

        result = benchmark_score(rule, {t: r["metrics"] for t, r in entry.ok.items()})
        if result.score is None:
            return Value(None, "not measured", "no task of the aggregate scored")
        return Value(result.score, prov, result.label())
    if rule == "metric":
        record = entry.ok.get(track.score.task or "")
        if record is None:
            return Value(None, "not measured", f"{track.score.task} not scored")
        return Value(100 * record["metrics"][track.score.metric], prov, track.score.label)
    scores = [100 * float(r["score"]) for r in entry.ok.values()]
    if not scores:
        return Value(None, "not measured", "no task scored")
    lacking = [t for t in track.task_names() if t not in entry.ok]
    detail = f"mean of {len(scores)} task scores" + (f" (partial: missing {', '.join(lacking)})" if lacking else "")
    return Value(sum(scores) / len(scores), prov, detail)


def elue_points(entry: Entry) -> tuple[dict[str, list[tuple[str, float, float]]], bool, list[str]]:
    """{task: [(label, flops, perf 0-100)]}, whether any FLOPs are self-reported, tasks without FLOPs."""
    points: dict[str, list[tuple[str, float, float]]] = {}
    reported, lacking = False, []
    for task, r in entry.ok.items():
        ops = r.get("operating_points")
        if ops:
            points[task] = [(p.get("label", ""), float(p["flops"]), 100 * float(p["score"])) for p in ops]
            reported = True
            continue
        flops = ((r.get("measurements") or {}).get("flops") or {}).get("flops_per_example")
        if isinstance(flops, (int, float)):
            points[task] = [("", float(flops), 100 * float(r["score"]))]
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
