"""Result records: one JSON file per submission x task x hardware, versioned and checked on read.

A record that fails to load stops whatever reads it: a skipped record would silently reorder a board.
Older schemas are migrated step by step; a newer schema is refused with the fix.
"""

from __future__ import annotations

import gc
import json
import math
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from harness.errors import UserError, did_you_mean
from harness.tasks import get_task

SCHEMA_VERSION = 1
RECORD_SUFFIX = ".record.json"
REQUIRED = ("schema_version", "harness_version", "submission", "task", "status", "metrics", "started_at")
# Every top-level field a record may have (harness.runner, harness.trackrun, harness.selfreport write them): a
# misspelt field would otherwise be read as absent, e.g. `hardwre: gpu` ranked as a CPU record.
FIELDS = REQUIRED + ("score", "kind", "hardware", "model", "settings", "environment", "measurements", "declared",
                     "track_run", "num_examples", "predictions_file", "inference_s", "examples_per_s",
                     "operating_points", "error", "traceback", "duration_s")
_FIELD_SET = frozenset(FIELDS)
_REQUIRED_SET = frozenset(REQUIRED)
# UTC with the offset written out, as harness.runner writes it: in this one form, text order is time order, which
# is how the latest record of a task is picked (harness.rowvalues).
STARTED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")
STATUSES = ("ok", "failed")
READ_CHUNK = 1 << 20

# migrations[n] turns a schema-n record into schema n+1; add one per schema bump.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def safe_name(text: str) -> str:
    """A file-name-safe form of a task or submission id (`superglue/rte` -> `superglue-rte`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def record_path(results_dir: Path, submission_id: str, task: str, hardware: str) -> Path:
    """Where a record goes: results/records/<submission>/<task>.<hardware>.record.json."""
    return Path(results_dir) / "records" / safe_name(submission_id) / f"{safe_name(task)}.{safe_name(hardware)}{RECORD_SUFFIX}"


def write_record(record: dict[str, Any], path: Path) -> Path:
    """Write a record as stable, sorted JSON (atomic rename, so a crash never leaves half a file)."""
    validate(record, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise UserError(f"{path}: {non_finite(record)} is not a finite number; a record is strict JSON "
                        "(fix the code that produced it, or store None for 'not measured')") from e
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_record(path: Path | str) -> dict[str, Any]:
    """Load, migrate and validate one record; any problem raises UserError naming the file."""
    import orjson  # strict JSON, and about 2.5x faster than json here, which a 20,000-record board build feels

    try:
        data = orjson.loads(_read_bytes(path))
    except (OSError, orjson.JSONDecodeError) as e:
        raise UserError(f"{path}: not a readable JSON record ({e}); re-run the evaluation that wrote it") from e
    if not isinstance(data, dict):
        raise UserError(f"{path}: a record is a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if type(version) is not int:
        raise UserError(f"{path}: schema_version missing or not an integer")
    if version > SCHEMA_VERSION:
        raise UserError(f"{path} uses schema {version}; this harness reads up to {SCHEMA_VERSION}: upgrade the harness")
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise UserError(f"{path}: no migration from schema {version} to {version + 1}; re-run the evaluation")
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    validate(data, str(path))
    return data


def _read_bytes(path: Path | str) -> bytes:
    """The file's bytes, through the OS directly: a buffered file object costs a third of a 20,000-record read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, READ_CHUNK):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every record under a folder, sorted by path, each with its `path`; one bad record stops the read."""
    records = []
    collecting = gc.isenabled()
    gc.disable()  # records hold no cycles; full collections over the growing list would add a third to the read
    try:
        for path in record_files(folder):
            record = read_record(path)
            record["path"] = path
            records.append(record)
    finally:
        if collecting:
            gc.enable()
    return records


def record_files(folder: Path) -> list[str]:
    """The record files under a folder, in path order (component by component, as pathlib sorts)."""
    found = []
    for d, _, names in os.walk(folder):
        for name in names:
            if name.endswith(RECORD_SUFFIX):
                found.append(os.path.join(d, name))
            elif name.lower().endswith(RECORD_SUFFIX):  # read as "not a record", it would drop out of every board
                raise UserError(f"{os.path.join(d, name)}: a record file must end in {RECORD_SUFFIX!r} exactly; "
                                "rename it")
    return sorted(found, key=lambda p: p.split(os.sep))


def validate(record: dict[str, Any], where: str) -> None:
    """Check a record's fields; raise UserError naming the first missing or bad one and the fix.

    Whatever ranks reads is checked here: the task is known, its metrics are its own finite fractions, `score` is
    the task's score of those metrics (as are each operating point's), `started_at` is a UTC timestamp.
    """
    keys = record.keys()
    if not (_REQUIRED_SET <= keys <= _FIELD_SET):
        for key in REQUIRED:
            if key not in record:
                raise UserError(f"{where}: record has no {key!r} field")
        first = sorted(map(str, keys - _FIELD_SET))[0]
        raise UserError(f"{where}: unknown field {first!r}; {did_you_mean(first, FIELDS, 'known fields')}")
    if type(record["schema_version"]) is not int:
        raise UserError(f"{where}: schema_version is {record['schema_version']!r}, expected an integer")
    for block, key in (("submission", "id"), ("task", "name")):
        if type(record[block]) is not dict or type(record[block].get(key)) is not str:
            raise UserError(f"{where}: {block}.{key} missing or not text; re-run the evaluation that wrote it")
    started = record["started_at"]
    try:
        valid = type(started) is str and STARTED_AT.fullmatch(started) and datetime.fromisoformat(started)
    except ValueError:  # a well-formed but impossible date, e.g. month 13
        valid = False
    if not valid:
        raise UserError(f"{where}: started_at is {started!r}, expected an ISO 8601 time in UTC as the harness writes "
                        "it, e.g. 2026-01-31T12:00:00+00:00 (it decides which of two records of a task is the latest)")
    status = record["status"]
    if status == "ok":
        task = get_task(record["task"]["name"], f"{where}: task.name")
        _check_scored(task, record, where, "")
        points = record.get("operating_points")
        if points is not None:
            if type(points) is not list or not all(type(p) is dict for p in points):
                raise UserError(f"{where}: operating_points is not a list of mappings")
            for i, point in enumerate(points):
                _check_scored(task, point, where, f"operating_points[{i}].")
                flops = point.get("flops")
                if type(flops) not in (int, float) or not 0 < flops < math.inf:
                    raise UserError(f"{where}: operating_points[{i}].flops is {flops!r}, expected a number > 0")
    elif status != "failed":
        raise UserError(f"{where}: status {status!r} is not one of {STATUSES}")
    elif not record.get("error"):
        raise UserError(f"{where}: a failed record must say why in 'error'")


def _check_scored(task: Any, block: dict[str, Any], where: str, prefix: str) -> None:
    """`block`'s metrics are the task's, and its `score` is the task's score of them."""
    metrics = block.get("metrics")
    task.check_metrics(metrics, f"{where}: {prefix}metrics")
    score, expected = block.get("score"), task.score(metrics)
    if type(score) not in (float, int) or not (score == expected or math.isclose(score, expected, rel_tol=1e-9,
                                                                                    abs_tol=1e-12)):
        raise UserError(f"{where}: {prefix}score is {score!r}, but task {task.name}'s score of its metrics is "
                        f"{expected!r}; re-run the evaluation that wrote it (a score is never edited by hand)")


def non_finite(value: Any, where: str = "record") -> str | None:
    """The dotted path of the first NaN or infinity inside a JSON-like value, or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return where
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, (list, tuple)) else ()
    for key, item in items:
        found = non_finite(item, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]")
        if found:
            return found
    return None
