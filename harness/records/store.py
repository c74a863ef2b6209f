"""Result records: one JSON file per result, keyed by everything that makes it a different result; versioned and
checked on read.

A record's key (`record_key`) is the submission and the hash of its model files, the task and its version, the
split, `--limit`, the settings that change a number (inference settings, threads, the track's measurement
settings) and the hardware. Its file is `records/<submission>/<task>.<hardware>.<key digest>.record.json`, so two
runs with different settings keep both records, and a failed run of a key that already has a good record is
written beside it (`...<digest>.failed.record.json`), never over it. A failed attempt that a later run replaces,
and a file at a record's place that is no readable record, move to `history/<submission>/` with their logs: no
attempt is lost.

A record that fails to load stops whatever reads it: a skipped record would silently reorder a board.
Older schemas are migrated step by step; a newer schema is refused with the fix.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import glob
import hashlib
import json
import math
import os
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from harness.errors import UserError, did_you_mean
from harness.measure.result import NOT_MEASURED, normalized, status_of
from harness.measure.spec import MEASUREMENTS, measurement
from harness.records import record as _record
from harness.records.record import RECORD_FIELDS, Record, SubmissionInfo, TaskInfo
from harness.tasks import get_task
from harness.tasks.base import METRIC_RANGE

# 2: records carry their `key` and are stored under its digest; 3: they may carry `confidence` (the bootstrap),
# `outputs_file` (per-example outputs) and `robustness` (the perturbation suite), which a schema-2 reader refuses
SCHEMA_VERSION = 3
RECORD_SUFFIX = ".record.json"
FAILED_SUFFIX = ".failed" + RECORD_SUFFIX  # a failed run beside the good record of the same key
HISTORY_DIR = "history"  # results/history/<submission>/: the attempts a later record replaced, with their logs
KEPT_FAILED, KEPT_UNREADABLE = "failed", "unreadable"  # why a file is in history: its name ends .<why>.json
KEY_DIGEST_CHARS = 12  # hex characters of the key's sha256 in a record's file name (48 bits)
# Settings that never change a number (a progress bar), left out of the key; every other setting is in it.
UNKEYED_SETTINGS = frozenset({"progress"})
# Settings that every record made before they existed ran with: at these values they are left out of the key, so
# those records keep their keys; a cuda or float16 run's key holds them.
# "auto": the model's own saved types; then no perturbation suite (its rate and seed at EvalSettings' defaults,
# harness.inference.perturb.DEFAULT_RATE and DEFAULT_SEED; the kinds as the JSON form lists them), each task its
# own model
IMPLIED_SETTINGS: dict[str, Any] = {
    "device": "cpu",
    "dtype": "auto",
    "perturb": [],
    "perturb_rate": 0.1,
    "perturb_seed": 0,
    "model_of": None,
}
# Measurements whose numbers depend on the processor that ran them (the CPU model, or the GPU's on CUDA): the key of
# a run that takes them holds the processor; accuracy-only records stay comparable across machines.
TIMED_MEASUREMENTS = frozenset({"latency", "energy"})
# Track measurement settings that say what was measured, not how: a record may carry more measurements than a
# track asks for and still serve it.
UNKEYED_MEASUREMENT = frozenset({"measure"})
# Clock difference tolerated between the machine that wrote a record and the one reading it.
CLOCK_SKEW = timedelta(minutes=5)
REQUIRED = ("schema_version", "harness_version", "submission", "task", "status", "metrics", "started_at", "key")
# Every top-level field a record may have: the typed Record's fields (harness.records.record), in their order
# after the required ones. A misspelt field would otherwise be read as absent, e.g. `hardwre: gpu` ranked as a
# CPU record.
FIELDS = REQUIRED + tuple(name for name in RECORD_FIELDS if name not in REQUIRED)
_FIELD_SET = frozenset(FIELDS)
_REQUIRED_SET = frozenset(REQUIRED)
# UTC with the offset written out, as harness.evaluation.evaluate writes it: in this one form, text order is time order, which
# is how the latest record of a task is picked (harness.scoring.values).
STARTED_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00")
STATUSES = ("ok", "failed")
SELF_REPORTED = "self-reported"  # the kind, and the hardware class, of a prediction-only record
# the hardware class of a record that names none (a measured record's is its backend's HARDWARE)
DEFAULT_HARDWARE = "cpu"
READ_CHUNK = 1 << 20


def _migrate_1(record: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: the record gains its key, computed from what it holds (its file keeps its old name)."""
    out = dict(record)
    out["key"] = record_key(record)
    out["schema_version"] = 2
    return out


def _migrate_2(record: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 -> 3: nothing to change; a schema-2 record holds no interval, outputs or robustness block."""
    return dict(record) | {"schema_version": 3}


# migrations[n] turns a schema-n record into schema n+1; add one per schema bump.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _migrate_1, 2: _migrate_2}


def safe_name(text: str) -> str:
    """A file-name-safe form of a task or submission id (`superglue/rte` -> `superglue-rte`)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "unnamed"


def hardware_of(record: Record | Mapping[str, Any]) -> str:
    """The hardware class a record was produced on ("self-reported" for prediction-only records); a Record or its
    JSON form."""
    if isinstance(record, Record):
        kind, hardware = record.kind, record.hardware
    else:
        kind, hardware = record.get("kind"), record.get("hardware")
    if kind == SELF_REPORTED:
        return SELF_REPORTED
    return str(hardware or DEFAULT_HARDWARE)


def is_stale(record: Record | Mapping[str, Any]) -> bool:
    """Scored under an older version of its task's rules than the current one (a record without a version, a
    synthetic one, is not): a scoring-rule fix bumps the version. A Record or its JSON form."""
    if isinstance(record, Record):
        version, name = record.task.version, record.task.name
    else:
        version, name = record["task"].get("version"), record["task"]["name"]
    return version is not None and version != get_task(name).version


def record_key(record: Record | Mapping[str, Any], timed: bool | None = None) -> dict[str, Any]:
    """What makes a record's result a different result: submission and model-file hash, the model folder inside it
    and its backend, task, task version, split, limit, the settings that change a number (device and dtype
    included), the track's measurement settings, hardware, and the processor when the run is `timed` (takes
    latency or energy; None: when its track run measures them). A Record or its JSON form (which validation and
    migration read)."""
    from harness.submissions import SUBMISSION_FILE, combined_sha256

    data = record.to_dict() if isinstance(record, Record) else record  # one path: the JSON form
    sub, task = data["submission"], data["task"]
    # submission.yaml's prose and metadata do not change a result; the model files do
    files = {p: h for p, h in (sub.get("files") or {}).items() if p != SUBMISSION_FILE}
    content = combined_sha256(files) if files else str(sub.get("sha256") or "")
    model = data.get("model") or {}
    settings = {
        k: v
        for k, v in ((k, list(v) if isinstance(v, tuple) else v) for k, v in (data.get("settings") or {}).items())
        if k not in UNKEYED_SETTINGS and not (k in IMPLIED_SETTINGS and IMPLIED_SETTINGS[k] == v)
    }
    key = {
        "submission": sub["id"],
        "content": content,
        "task": task["name"],
        "task_version": task.get("version"),
        "split": task.get("split"),
        "head": model.get("declared_head"),
        "model": [model.get("within"), model.get("backend")],
        "settings": settings,
        "threads": (data.get("environment") or {}).get("threads"),
        "measurement": {
            k: v
            for k, v in ((data.get("track_run") or {}).get("measurement") or {}).items()
            if k not in UNKEYED_MEASUREMENT
        },
        "hardware": hardware_of(data),
    }
    if timed if timed is not None else _track_run_timed(data.get("track_run")):
        environment = data.get("environment") or {}
        key["processor"] = environment.get("processor") or environment.get("cpu_model")
    return key


def _track_run_timed(track_run: Mapping[str, Any] | None) -> bool:
    """Whether a track run takes a measurement of TIMED_MEASUREMENTS (not skipped)."""
    if not track_run:
        return False
    measure = set((track_run.get("measurement") or {}).get("measure") or ()) - set(track_run.get("skipped") or ())
    return bool(measure & TIMED_MEASUREMENTS)


def key_digest(key: Mapping[str, Any]) -> str:
    """A short, stable digest of a record key, for its file name."""
    text = json.dumps(key, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_DIGEST_CHARS]


def record_path(results_dir: Path, record: Record | Mapping[str, Any]) -> Path:
    """Where a record goes: results/records/<submission>/<task>.<hardware>.<key digest>.record.json."""
    key = (record.key if isinstance(record, Record) else record.get("key")) or record_key(record)
    name = f"{safe_name(key['task'])}.{safe_name(key['hardware'])}.{key_digest(key)}{RECORD_SUFFIX}"
    return Path(results_dir) / "records" / safe_name(key["submission"]) / name


def record_stem(path: Path) -> Path:
    """A record's path without its suffix: the name its companion files (predictions, outputs) are made from."""
    return path.with_name(path.name[: -len(RECORD_SUFFIX)])


def failed_path(path: Path) -> Path:
    """Where a failed run of the key whose good record is at `path` goes: beside it, never over it."""
    return path.with_name(record_stem(path).name + FAILED_SUFFIX)


def store_record(record: Record | dict[str, Any], results_dir: Path) -> Record:
    """Write a record under its key and return it as written (with its path); a failed run of a key that has a good
    record goes beside it, not over it, and a good re-run keeps the measurements it did not take from the old one.
    Whatever else sits at the place written (a failed attempt, a file that is no readable record) goes to history."""
    if not isinstance(record, Record):
        record = Record.from_dict(_keyed(record))
    path = record_path(results_dir, record)
    old = _make_room(path, results_dir)
    if old is not None:
        if not record.ok:
            path = failed_path(path)
            _make_room(path, results_dir, keep_ok=False)
        else:
            record = record.with_(measurements=kept_measurements(old.measurements, record.measurements))
    write_record(record, path)
    return record.with_(path=str(path))


def _make_room(path: Path, results_dir: Path, keep_ok: bool = True) -> Record | None:
    """The ok record at `path` when there is one (and `keep_ok`); anything else there goes to history first."""
    if not path.is_file():
        return None
    try:
        old = read_record(path)
    except UserError:
        keep_attempt(path, results_dir, KEPT_UNREADABLE)
        return None
    if old.ok and keep_ok:
        return old
    keep_attempt(path, results_dir, KEPT_FAILED)
    return None


def log_paths(path: Path) -> tuple[Path, Path]:
    """Where a failed job's stdout and stderr are kept: beside its record, <record stem>.stdout.txt, .stderr.txt."""
    stem = record_stem(path).name if path.name.endswith(RECORD_SUFFIX) else path.stem
    return path.with_name(f"{stem}.stdout.txt"), path.with_name(f"{stem}.stderr.txt")


def keep_attempt(path: Path, results_dir: Path, why: str) -> Path | None:
    """Move the file at a record's `path` and its logs to results/history/<submission>/, under a name no other
    attempt takes (the file's time, then a random part); returns where the file went (None: another writer moved it
    first)."""
    base = path.name.removesuffix(FAILED_SUFFIX).removesuffix(RECORD_SUFFIX)
    folder = Path(results_dir) / HISTORY_DIR / path.parent.name
    try:
        stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        dest = folder / f"{base}.{stamp}.{uuid.uuid4().hex[:8]}.{why}.json"
        folder.mkdir(parents=True, exist_ok=True)
        for log, kept in zip(log_paths(path), log_paths(dest)):
            if log.is_file():
                os.replace(log, kept)
        os.replace(path, dest)
    except FileNotFoundError:
        if not path.exists():
            return None  # moved by another writer of the same key meanwhile: nothing is left to keep
        raise
    except OSError as e:
        raise UserError(
            f"{path}: cannot move it to {folder} ({e.strerror or e}) before its key's new record is written; "
            "make the results folder writable or free disk space"
        ) from e
    return dest


def kept_attempts(results_dir: Path, path: Path) -> list[Path]:
    """The failed attempts in history of the key whose record is at `path`, oldest first."""
    base = glob.escape(path.name.removesuffix(FAILED_SUFFIX).removesuffix(RECORD_SUFFIX))
    folder = Path(results_dir) / HISTORY_DIR / path.parent.name
    return sorted(folder.glob(f"{base}.*.{KEPT_FAILED}.json"))


def but_for(key: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A key without one of its fields: what two records that differ only there share."""
    return {k: v for k, v in key.items() if k != field}


def beside(path: Path, key: Mapping[str, Any], field: str) -> list[Record]:
    """The readable ok records beside a record's `path` whose key is `key` but for `field`, where theirs differs
    (another content of the submission's files, another processor), each with its path; in path order."""
    same, out = but_for(key, field), []
    for other in sorted(path.parent.glob(f"*{RECORD_SUFFIX}")):
        try:
            found = read_record(other)
        except UserError:
            continue
        theirs = found.key or {}
        if found.ok and theirs.get(field) != key.get(field) and but_for(theirs, field) == same:
            out.append(found.with_(path=str(other)))
    return out


def _keyed(record: dict[str, Any]) -> dict[str, Any]:
    """A record mapping with its key (the one its fields give, when it has none)."""
    return record if "key" in record else {**record, "key": record_key(record)}


def kept_measurements(old: Any, new: Any) -> dict[str, Any]:
    """A re-run's measurements with those it did not take (or could not) kept from the good record of the same key:
    the key fixes the model and settings, so a run with fewer measurements loses none."""
    out = dict(new or {})
    for name, value in (old or {}).items():
        taken = out.get(name)
        if taken is None or status_of(taken) == NOT_MEASURED:
            out[name] = value
    return out


def write_record(record: Record | dict[str, Any], path: Path) -> Path:
    """Write a record as stable, sorted JSON: to a temporary file unique to this writer, fsynced, then renamed,
    so a crash never leaves half a file and two writers or a reader never see each other's partial file.
    A record without a `key` gets the one its fields give."""
    record = record.to_dict() if isinstance(record, Record) else _keyed(dict(record))
    record.pop("path", None)
    validate(record, str(path))
    try:
        text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise UserError(
            f"{path}: {non_finite(record)} is not a finite number; a record is strict JSON "
            "(fix the code that produced it, or store None for 'not measured')"
        ) from e
    write_atomic(path, (text + "\n").encode("utf-8"))
    return path


PARTIAL_SUFFIX = ".tmp"  # write_atomic's temporary files: .<name>.<pid>.<random>.tmp beside their target


def other_processors(path: Path, key: Mapping[str, Any]) -> list[Record]:
    """The ok records beside `path` of this key made on another processor (none when the key holds no processor:
    an untimed job's record serves every machine)."""
    return beside(path, key, "processor") if "processor" in key else []


# A worker's process id as the machine sees it, given to its job's process, whose own id is its PID namespace's
# (harness.evaluation.limits): the id a temporary file is named after must be one a later run can check is gone.
WRITER_PID_ENV = "HARNESS_WRITER_PID"


def writer_pid() -> int:
    """The process id this writer's temporary files carry: its worker's, in a worker's job; else its own."""
    told = os.environ.get(WRITER_PID_ENV, "")
    return int(told) if told.isdigit() else os.getpid()


def remove_partials(results_dir: Path) -> list[Path]:
    """Delete the temporary files of writers that are gone (a run killed while writing), so that a run started
    again leaves no partial file; a live writer's file is left alone. Returns what was removed."""
    removed = []
    for tmp in sorted(Path(results_dir).rglob(f".*{PARTIAL_SUFFIX}")):
        parts = tmp.name.split(".")
        pid = int(parts[-3]) if len(parts) > 3 and parts[-3].isdigit() else None
        if pid is not None and pid != writer_pid() and process_alive(pid):
            continue
        tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    return True


def partial_path(path: Path) -> Path:
    """The temporary name a writer of `path` uses until it renames it into place; remove_partials finds it again."""
    return path.with_name(f".{path.name}.{writer_pid()}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically; a file-system error ends as a UserError naming the path and the fix."""
    tmp = partial_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise UserError(
            f"{path}: cannot write ({e.strerror or e}); make the results folder writable, free disk space "
            "or pass another --results folder"
        ) from e


def read_record(path: Path | str, content: bytes | None = None) -> Record:
    """Load, migrate and validate one record (its `content` when the caller read it already); any problem raises
    UserError naming the file."""
    import orjson  # strict JSON, and about 2.5x faster than json here, which a 20,000-record board build feels

    try:
        data = orjson.loads(content if content is not None else _read_bytes(path))
    except (OSError, orjson.JSONDecodeError) as e:
        raise UserError(f"{path}: not a readable JSON record ({e}); re-run the evaluation that wrote it") from e
    if not isinstance(data, dict):
        raise UserError(f"{path}: a record is a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if type(version) is not int:
        raise UserError(f"{path}: schema_version missing or not an integer")
    if version > SCHEMA_VERSION:
        raise UserError(f"{path} uses schema {version}; this harness reads up to {SCHEMA_VERSION}: upgrade the harness")
    if version < SCHEMA_VERSION:
        _check_identity(data, str(path))  # what a migration reads to compute the key
    while version < SCHEMA_VERSION:
        if version not in MIGRATIONS:
            raise UserError(f"{path}: no migration from schema {version} to {version + 1}; re-run the evaluation")
        data = MIGRATIONS[version](data)
        version = data["schema_version"]
    _normalize_measurements(data)
    validate(data, str(path))
    return Record.from_dict(data, str(path))


def _normalize_measurements(record: dict[str, Any]) -> None:
    """Measurements not taken, in the shapes records had before issue 12 ({"measured": false}; FLOPs with
    "counted": false), rewritten in the one shape of harness.measure.result; the schema is unchanged, the
    rest of the record too."""
    measurements = record.get("measurements")
    if type(measurements) is dict:
        for name, entry in measurements.items():
            if type(entry) is dict and (entry.get("measured") is False or entry.get("counted") is False):
                measurements[name] = normalized(entry)


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


def read_results(results: Path, track_id: str = "TRACK") -> list[Record]:
    """Every record under RESULTS/records, sorted by path, each with its `path`; one bad record stops the read."""

    folder = results / "records"
    if not folder.is_dir():
        raise UserError(f"{folder}: no records folder; run `harness run {track_id} --results {results}` first")
    return read_records(folder)


def read_records(folder: Path) -> list[Record]:
    """Every record under a folder, sorted by path, each with its `path`; one bad record stops the read."""
    records = []
    collecting = gc.isenabled()
    gc.disable()  # records hold no cycles; full collections over the growing list would add a third to the read
    try:
        for path in record_files(folder):
            record = read_record(path)
            check_place(record, path)
            records.append(record)
    finally:
        if collecting:
            gc.enable()
    return records


def check_place(record: Record | Mapping[str, Any], path: str) -> None:
    """Refuse a record whose submission or task disagrees with the folder and file it sits in: a record copied or
    linked under another submission's folder would otherwise take that submission's place on a board."""
    folder, name = os.path.split(path)
    sub_id, task_name = (
        (record.submission.id, record.task.name)
        if isinstance(record, Record)
        else (record["submission"]["id"], record["task"]["name"])
    )
    sub, task = safe_name(sub_id), safe_name(task_name)
    if os.path.basename(folder) != sub or not name.startswith(task + "."):
        raise UserError(
            f"{path}: holds submission {sub_id!r}, task {task_name!r}, "
            f"but sits at {os.path.basename(folder)}/{name}; a record belongs at "
            f"records/{sub}/{task}.<hardware>.<key>{RECORD_SUFFIX}: move it there or re-run the evaluation"
        )


def record_files(folder: Path) -> list[str]:
    """The record files under a folder, in path order (component by component, as pathlib sorts)."""
    found = []
    for d, _, names in os.walk(folder):
        for name in names:
            if name.endswith(RECORD_SUFFIX):
                found.append(os.path.join(d, name))
            elif name.lower().endswith(RECORD_SUFFIX):  # read as "not a record", it would drop out of every board
                raise UserError(
                    f"{os.path.join(d, name)}: a record file must end in {RECORD_SUFFIX!r} exactly; rename it"
                )
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
    _check_identity(record, where)
    started = record["started_at"]
    try:
        valid = type(started) is str and STARTED_AT.fullmatch(started) and datetime.fromisoformat(started)
    except ValueError:  # a well-formed but impossible date, e.g. month 13
        valid = False
    if not valid:
        raise UserError(
            f"{where}: started_at is {started!r}, expected an ISO 8601 time in UTC as the harness writes "
            "it, e.g. 2026-01-31T12:00:00+00:00 (it decides which of two records of a task is the latest)"
        )
    if valid > datetime.now(timezone.utc) + CLOCK_SKEW:
        raise UserError(
            f"{where}: started_at {started} is in the future; a record's start time is when it ran "
            "(check the clock of the machine that wrote it and re-run the evaluation)"
        )
    if type(record["key"]) is not dict or type(record["key"].get("task")) is not str:
        raise UserError(
            f"{where}: key is {record['key']!r}, expected the mapping harness.records.record_key writes; "
            "re-run the evaluation that wrote it"
        )
    for name in ("predictions_file", "outputs_file"):
        value = record.get(name)
        if value is not None and (type(value) is not str or not COMPANION_NAME.fullmatch(value)):
            raise UserError(
                f"{where}: {name} is {value!r}, expected the plain name of a file beside the record",
                fix="re-run the evaluation that wrote it",
            )
    _check_measured(record.get("measurements"), where)
    _check_declared(record.get("declared"), where)
    examples = record.get("num_examples")
    if examples is not None and (type(examples) is not int or examples < 1):
        raise UserError(f"{where}: num_examples is {examples!r}, expected a whole number > 0; re-run the evaluation")
    status = record["status"]
    if status == "ok":
        task = get_task(record["task"]["name"], f"{where}: task.name")
        _check_scored(task, record, where, "")
        _check_confidence(task, record.get("confidence"), where)
        _check_robustness(task, record.get("robustness"), record, where)
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


def _check_identity(record: dict[str, Any], where: str) -> None:
    """The blocks a record's key is made of have their shape: submission.id and task.name as text, mappings where
    the key reads mappings."""
    for key in ("submission", "task"):
        if key not in record:
            raise UserError(f"{where}: record has no {key!r} field")
    for block, key in (("submission", "id"), ("task", "name")):
        if type(record[block]) is not dict or type(record[block].get(key)) is not str:
            raise UserError(f"{where}: {block}.{key} missing or not text; re-run the evaluation that wrote it")
    for block, key in (
        ("submission", "files"),
        ("task", None),
        ("settings", None),
        ("track_run", None),
        ("model", None),
        ("environment", None),
    ):
        value = record.get(block) if key is None else record[block].get(key)
        if value is not None and type(value) is not dict:
            raise UserError(
                f"{where}: {block}{'.' + key if key else ''} is {type(value).__name__}, expected a "
                "mapping; re-run the evaluation that wrote it"
            )


def _check_declared(declared: Any, where: str) -> None:
    """A submitter's declared numbers (parameters, sizes, FLOPs) are counts of something that exists: > 0."""
    if declared is None:
        return
    if type(declared) is not dict:
        raise UserError(f"{where}: declared is {type(declared).__name__}, expected a mapping")
    for name, value in declared.items():
        if type(value) in (int, float) and not value > 0:
            raise UserError(
                f"{where}: declared.{name} is {value!r}, impossible for a count or size (expected > 0); "
                "fix the submission's declared numbers"
            )


def _check_measured(measurements: Any, where: str) -> None:
    """Refuse measured values that cannot be: zero or negative parameters, sizes, FLOPs, latency; negative energy."""
    if not measurements:
        return
    if type(measurements) is not dict:
        raise UserError(f"{where}: measurements is {type(measurements).__name__}, expected a mapping")
    bounds = _bounds(tuple(MEASUREMENTS))
    for name, block in measurements.items():
        if type(block) is not dict:
            continue
        for field, strict in bounds.get(name, ()):
            value = block.get(field)
            if type(value) in (int, float) and not (value > 0 if strict else value >= 0):
                raise UserError(
                    f"{where}: measurements.{name}.{field} is {value!r}, impossible for a measured value "
                    f"(expected {'> 0' if strict else '>= 0'}); re-run the measurement"
                )


@functools.lru_cache(maxsize=4)
def _bounds(names: tuple[str, ...]) -> dict[str, tuple[tuple[str, bool], ...]]:
    """Per measurement, (field, strictly positive?) for each bounded field: the table says which fields are counts,
    sizes, times (> 0) and which may be zero (>= 0); cached per table, read once per record."""
    return {
        name: tuple((f, True) for f in measurement(name).positive)
        + tuple((f, False) for f in measurement(name).non_negative)
        for name in names
    }


CONFIDENCE_FIELDS = frozenset({"method", "level", "resamples", "unit", "seed", "score", "metrics"})
CONFIDENCE_UNITS = ("examples", "groups")  # harness.tasks.confidence: what a resample draws
SEED_HEX = re.compile(r"[0-9a-f]{32}")  # harness.metrics.bootstrap.resample_seed: 128 bits as 32 hex digits
# a companion file's name beside its record (or, self-reported, in the submission folder): one plain name, never a
# path (a slash, a backslash, `..`) or a hidden file
COMPANION_NAME = re.compile(r"[^./\\\x00][^/\\\x00]*")


def _check_confidence(task: Any, block: Any, where: str) -> None:
    """A `confidence` block is `{"not_measured": why}` or holds an interval in the metric range and the packed
    resampled values (by length: they are decoded where a board reads them) for the score and each task metric."""
    if block is None:
        return
    from harness.metrics.bootstrap import packed_length

    fix = "re-run the evaluation that wrote it (an interval is never edited by hand)"
    if type(block) is not dict:
        raise UserError(f"{where}: confidence is {type(block).__name__}, expected a mapping", fix=fix)
    if block.keys() == {"not_measured"} and type(block["not_measured"]) is str:
        return
    if block.keys() != CONFIDENCE_FIELDS:
        odd = sorted(block.keys() ^ CONFIDENCE_FIELDS)[0]
        raise UserError(f"{where}: confidence.{odd}: {'missing' if odd in CONFIDENCE_FIELDS else 'unknown'}", fix=fix)
    count = block["resamples"]
    if type(count) is not int or count < 1:
        raise UserError(f"{where}: confidence.resamples is {count!r}, expected a whole number > 0", fix=fix)
    level, seed, unit = block["level"], block["seed"], block["unit"]
    if type(level) is not float or not 0.0 < level < 1.0 or type(block["method"]) is not str:
        raise UserError(f"{where}: confidence.level is {level!r}, expected a fraction such as 0.95", fix=fix)
    if type(seed) is not str or not SEED_HEX.fullmatch(seed):
        raise UserError(f"{where}: confidence.seed is {seed!r}, expected 32 hex digits", fix=fix)
    if unit not in CONFIDENCE_UNITS:
        raise UserError(f"{where}: confidence.unit is {unit!r}, expected one of {', '.join(CONFIDENCE_UNITS)}", fix=fix)
    metrics = block["metrics"]
    if type(metrics) is not dict or metrics.keys() != set(task.metric_names):
        raise UserError(
            f"{where}: confidence.metrics must hold task {task.name}'s metrics ({', '.join(task.metric_names)})",
            fix=fix,
        )
    packed = packed_length(count)
    low_bound, high_bound = METRIC_RANGE
    for name, item in [("score", block["score"]), *((f"metrics.{k}", v) for k, v in metrics.items())]:
        ci = item.get("interval") if type(item) is dict else None
        if not (
            type(ci) is list
            and len(ci) == 2
            and all(type(x) in (float, int) and low_bound <= x <= high_bound for x in ci)
            and ci[0] <= ci[1]
        ):
            raise UserError(
                f"{where}: confidence.{name}.interval is {ci!r}, expected [low, high] fractions in "
                f"[{low_bound:g}, {high_bound:g}]",
                fix=fix,
            )
        if name != "score" and len(metrics) == 1 and item.keys() == {"interval"}:
            continue  # a lone metric is the score: its resamples are the score's
        text = item.get("resampled")
        if type(text) is not str or len(text) != packed or item.keys() != {"interval", "resampled"}:
            raise UserError(f"{where}: confidence.{name}.resampled is not {count} packed resampled scores", fix=fix)


ROBUSTNESS_FIELDS = frozenset({"seed", "rate", "clean_score", "kinds", "method", "sources"})
ROBUSTNESS_KIND_FIELDS = frozenset({"score", "drop", "changed", "examples", "metrics"})


def _check_robustness(task: Any, block: Any, record: dict[str, Any], where: str) -> None:
    """A `robustness` block (harness.inference.robustness) holds its seed and rate, the record's own score as the
    clean one, and per known kind the task's score of its metrics, its drop from the clean score, a share of inputs
    changed in [0, 1] and the record's examples; or `{"not_measured": why}` when the suite could not run."""
    if block is None:
        return
    from harness.inference.perturb import KINDS

    fix = "re-run the evaluation that wrote it (a robustness block is never edited by hand)"
    if type(block) is dict and block.keys() == {"not_measured"} and type(block["not_measured"]) is str:
        return
    if type(block) is not dict or block.keys() != ROBUSTNESS_FIELDS:
        odd = sorted(block.keys() ^ ROBUSTNESS_FIELDS)[0] if type(block) is dict else "(block)"
        raise UserError(f"{where}: robustness.{odd}: missing, unknown or not a mapping", fix=fix)
    rate, seed, kinds = block["rate"], block["seed"], block["kinds"]
    if type(rate) not in (int, float) or not 0 < rate <= 1:
        raise UserError(f"{where}: robustness.rate is {rate!r}, expected a share of words in (0, 1]", fix=fix)
    if type(seed) is not int or seed < 0:
        raise UserError(f"{where}: robustness.seed is {seed!r}, expected a whole number >= 0", fix=fix)
    if type(kinds) is not dict or not kinds:
        raise UserError(f"{where}: robustness.kinds is {kinds!r}, expected a mapping of kind: result", fix=fix)
    clean = block["clean_score"]
    if type(clean) not in (int, float) or not math.isclose(clean, record.get("score") or 0.0, abs_tol=1e-12):
        raise UserError(f"{where}: robustness.clean_score is {clean!r}, expected the record's score", fix=fix)
    if type(block["method"]) is not str or type(block["sources"]) is not list:
        raise UserError(f"{where}: robustness.method must be text and robustness.sources a list", fix=fix)
    for kind, entry in kinds.items():
        at = f"robustness.kinds.{kind}"
        if kind not in KINDS:
            raise UserError(f"{where}: {at}: not a perturbation kind (known: {', '.join(KINDS)})", fix=fix)
        if type(entry) is dict and "note" in entry and type(entry["note"]) is not str:
            raise UserError(f"{where}: {at}.note must be text", fix=fix)
        if type(entry) is not dict or not ROBUSTNESS_KIND_FIELDS <= entry.keys() <= ROBUSTNESS_KIND_FIELDS | {"note"}:
            raise UserError(f"{where}: {at} must hold {', '.join(sorted(ROBUSTNESS_KIND_FIELDS))}", fix=fix)
        _check_scored(task, entry, where, f"{at}.")
        drop = entry["drop"]
        if type(drop) not in (int, float) or not math.isclose(drop, clean - entry["score"], abs_tol=1e-9):
            raise UserError(f"{where}: {at}.drop is {drop!r}, expected clean_score - score", fix=fix)
        changed, examples = entry["changed"], entry["examples"]
        if type(changed) not in (int, float) or not 0 <= changed <= 1:
            raise UserError(f"{where}: {at}.changed is {changed!r}, expected a share in [0, 1]", fix=fix)
        if type(examples) is not int or examples != record.get("num_examples"):
            raise UserError(f"{where}: {at}.examples is {examples!r}, expected the record's num_examples", fix=fix)


def _check_scored(task: Any, block: dict[str, Any], where: str, prefix: str) -> None:
    """`block`'s metrics are the task's, and its `score` is the task's score of them."""
    metrics = block.get("metrics")
    task.check_metrics(metrics, f"{where}: {prefix}metrics")
    score, expected = block.get("score"), task.score(metrics)
    if type(score) not in (float, int) or not (
        score == expected or math.isclose(score, expected, rel_tol=1e-9, abs_tol=1e-12)
    ):
        raise UserError(
            f"{where}: {prefix}score is {score!r}, but task {task.name}'s score of its metrics is "
            f"{expected!r}; re-run the evaluation that wrote it (a score is never edited by hand)"
        )


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


def new_record(
    *,
    schema_version: int,
    harness_version: str,
    started_at: str,
    submission: SubmissionInfo | Mapping[str, Any],
    task: TaskInfo | Mapping[str, Any],
    key: Mapping[str, Any] | None = None,
    status: str = "failed",
    **values: Any,
) -> Record:
    """The one way to make a record: the runner, the self-reported path, track runs, benchmarks and test helpers
    call it, so every record has the same shape. Without `key`, the key its fields give (harness.records.store)."""
    record = Record(
        schema_version=schema_version,
        harness_version=harness_version,
        started_at=started_at,
        status=status,
        submission=_record.block(SubmissionInfo, submission, "submission", None),
        task=_record.block(TaskInfo, task, "task", None),
        key=key or {},
        **values,
    )
    if key is None:
        record = record.with_(key=record_key(record))
    return record
