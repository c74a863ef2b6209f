"""Data a track file refers to: its ELUE reference curve (inline or a file) and its published reference rows.

Checked with the same `Checker` as the track, so a problem in `data/reference_rows.yaml` names that file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.yamlcheck import Checker, Problem, known, read_yaml, shown

OUTSIDE = ("clamp", "linear", "exclude")  # the `outside` rules of a curve (harness.scoring.elue_score)
CURVE_KEYS = ("model", "source", "outside", "points")
ROW_KEYS = ("id", "model", "params_m", "split", "scores", "avg_reported", "avg_rule", "source")
MILLION = 1_000_000


def check_curve_block(c: Checker, value: Any, path: Path, tasks: list[str]) -> dict[str, Any] | None:
    entry = c.mapping(value, "elue", ("reference_curve",), ("reference_curve",))
    if entry is None:
        return None
    curve, where, file = entry.get("reference_curve"), "elue.reference_curve", None
    if isinstance(curve, str):
        file = (path.parent / curve).resolve()
        if not file.is_file():
            c.fail(where, f"no curve file {curve!r} (looked at {file})", "give a path relative to the track file")
            return None
        curve, inner = read_yaml(file), Checker(str(file))
        out = check_curve(inner, curve, "", tasks)
        c.problems += inner.problems
        return out | {"file": str(file)}
    return check_curve(c, curve, where, tasks)


def check_curve(c: Checker, value: Any, where: str, tasks: list[str]) -> dict[str, Any] | None:
    prefix = f"{where}." if where else ""
    entry = c.mapping(value, where, CURVE_KEYS, ("model", "source", "points"))
    if entry is None:
        return None
    points: dict[str, tuple[tuple[float, float], ...]] = {}
    block = entry.get("points")
    if not isinstance(block, dict):
        c.fail(
            f"{prefix}points", f"expected a mapping task: [[flops, perf], ...] (may be empty: {{}}), got {shown(block)}"
        )
        block = {}
    for task, pairs in block.items():
        at = f"{prefix}points.{task}"
        if known(c, task, at, tasks, "track task") is None:
            continue
        got = []
        for i, pair in enumerate(c.sequence(pairs or [], at) or []):
            if not isinstance(pair, list) or len(pair) != 2:
                c.fail(f"{at}[{i}]", f"expected [flops, perf], got {shown(pair)}")
                continue
            flops, perf = c.number(pair[0], f"{at}[{i}][0]", 0, above=True), c.number(pair[1], f"{at}[{i}][1]", 0, 100)
            if flops is not None and perf is not None:
                got.append((flops, perf))
        if len({f for f, _ in got}) != len(got):
            c.fail(at, "two points share one FLOPs value", "keep one perf per FLOPs")
        points[task] = tuple(sorted(got))
    outside = entry.get("outside", "clamp")
    return {
        "model": c.text(entry.get("model"), f"{prefix}model"),
        "source": c.text(entry.get("source"), f"{prefix}source"),
        "outside": c.text(outside, f"{prefix}outside", OUTSIDE),
        "points": points,
    }


def check_reference_rows(c: Checker, value: Any, path: Path) -> list[dict[str, Any]]:
    entry = c.mapping(value, "reference_rows", ("file", "ids"), ("file", "ids"))
    rel = c.text(entry.get("file"), "reference_rows.file") if entry else None
    if rel is None:
        return []
    file = (path.parent / rel).resolve()
    if not file.is_file():
        c.fail("reference_rows.file", f"no file {rel!r} (looked at {file})")
        return []
    stat = file.stat()
    rows, problems = _reference_rows_file(str(file), stat.st_mtime_ns, stat.st_size)
    c.problems += problems
    ids = c.sequence(entry.get("ids"), "reference_rows.ids") or []
    return [
        rows[x] | {"scores": dict(rows[x]["scores"])}  # copies: the parsed file is shared by every track
        for i, x in enumerate(ids)
        if known(c, x, f"reference_rows.ids[{i}]", list(rows), "reference row")
    ]


@lru_cache(maxsize=16)
def _reference_rows_file(file: str, mtime_ns: int, size: int) -> tuple[dict[str, dict[str, Any]], tuple[Problem, ...]]:
    """{id: row} of a reference-rows file and its problems, parsed once however many tracks share the file
    (keyed by modification time and size too, so an edited file is read again)."""
    inner = Checker(file)
    doc = inner.mapping(read_yaml(Path(file)), "", ("rows",), ("rows",)) or {}
    rows: dict[Any, dict[str, Any]] = {}  # by id; None for a row without one (reported)
    for i, row in enumerate(inner.sequence(doc.get("rows"), "rows") or []):
        r = inner.mapping(row, f"rows[{i}]", ROW_KEYS, ("id", "model", "split", "scores", "avg_rule", "source"))
        if r is None:
            continue
        params_m = r.get("params_m")
        scores = (
            r.get("scores")
            if isinstance(r.get("scores"), dict)
            else inner.fail(f"rows[{i}].scores", "expected a mapping")
        )
        rows[r.get("id")] = {
            "id": inner.text(r.get("id"), f"rows[{i}].id"),
            "model": inner.text(r.get("model"), f"rows[{i}].model"),
            "params": None
            if params_m is None
            else round((inner.number(params_m, f"rows[{i}].params_m", 0) or 0) * MILLION),
            "split": inner.text(r.get("split"), f"rows[{i}].split"),
            "scores": {str(k): inner.number(v, f"rows[{i}].scores.{k}", 0, 100) for k, v in (scores or {}).items()},
            "avg_reported": None
            if r.get("avg_reported") is None
            else inner.number(r["avg_reported"], f"rows[{i}].avg_reported", 0, 100),
            "avg_rule": inner.text(r.get("avg_rule"), f"rows[{i}].avg_rule"),
            "source": inner.text(r.get("source"), f"rows[{i}].source"),
        }
    return rows, tuple(inner.problems)
