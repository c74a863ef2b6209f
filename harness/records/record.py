"""The typed result record: what one evaluation (or one self-reported task) produced, as readers see it.

`new_record` is the one constructor every writer uses (the runner, the self-reported path, track runs,
benchmarks and test helpers); `Record.from_dict` reads the JSON form (after migration), `Record.to_dict` writes it
back with exactly the fields it was given, so a record on disk keeps its schema. Optional fields that a record
does not hold are None and are not written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from harness.errors import UserError


@dataclass(frozen=True, slots=True)
class SubmissionInfo:
    """Whose result it is: the submission id, the sha256 of its files (and of each), its metadata for pages."""

    id: str
    sha256: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """Which task, at which version of its rules, on which split; where its rows came from and how many it has."""

    name: str
    benchmark: str | None = None
    version: int | None = None
    kind: str | None = None
    split: str | None = None
    source: str | None = None
    split_examples: int | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """One result record. Field names are the JSON field names (harness.records.store.FIELDS)."""

    schema_version: int
    harness_version: str
    started_at: str
    status: str  # ok | failed
    submission: SubmissionInfo
    task: TaskInfo
    key: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    score: float | None = None
    kind: str | None = None  # "self-reported" for a prediction-only record
    hardware: str | None = None
    model: Mapping[str, Any] | None = None
    settings: Mapping[str, Any] | None = None
    environment: Mapping[str, Any] | None = None
    measurements: Mapping[str, Mapping[str, Any]] | None = None
    declared: Mapping[str, Any] | None = None
    track_run: Mapping[str, Any] | None = None
    num_examples: int | None = None
    predictions_file: str | None = None
    confidence: Mapping[str, Any] | None = None  # bootstrap interval and resampled scores (harness.tasks.confidence)
    outputs_file: str | None = None  # per-example model outputs beside the record (harness.formats.outputs)
    robustness: Mapping[str, Any] | None = None  # scores under the seeded perturbation suite
    inference_s: float | None = None
    examples_per_s: float | None = None
    operating_points: list[Mapping[str, Any]] | None = None
    error: str | None = None
    traceback: str | None = None
    duration_s: float | None = None
    path: str | None = None  # where it was read from or written to; not part of the JSON

    @property
    def ok(self) -> bool:
        """Whether the run succeeded (a failed record says why in `error`)."""
        return self.status == "ok"

    def measurement(self, name: str) -> Mapping[str, Any] | None:
        """The named measurement's result, None when the record holds none."""
        return (self.measurements or {}).get(name)

    def with_(self, **changes: Any) -> Record:
        """A copy with some fields changed (records are immutable)."""
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str | None = None) -> Record:
        """The record of a JSON object that harness.records.store.validate has checked."""
        values = dict(data)
        values.pop("path", None)
        if not values.keys() <= _RECORD_FIELDS:
            first = sorted(values.keys() - _RECORD_FIELDS)[0]
            raise UserError(f"{path or 'record'}: unknown field {first!r}", fix="re-run the evaluation that wrote it")
        values["submission"] = block(SubmissionInfo, data["submission"], "submission", path)
        values["task"] = block(TaskInfo, data["task"], "task", path)
        values["path"] = None if path is None else str(path)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field the record holds, nested blocks as mappings; `path` left out."""
        out: dict[str, Any] = {}
        for name in RECORD_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            if name in ("submission", "task"):
                value = _block_dict(value)
            out[name] = value
        return out


def as_record(record: Record | Mapping[str, Any]) -> Record:
    """A Record as it is, or one read from a record mapping (a test's hand-made record, a JSON object)."""
    if isinstance(record, Record):
        return record
    path = record.get("path")
    return Record.from_dict(record, None if path is None else str(path))


def block(cls: type, data: Any, name: str, path: str | None) -> Any:
    """A nested block (submission, task) as its dataclass; a key it does not know is refused, never dropped."""
    if isinstance(data, (SubmissionInfo, TaskInfo)):
        return data
    known = _BLOCK_FIELDS[cls]  # type: ignore[index]
    if not data.keys() <= known:
        unknown = sorted(data.keys() - known)
        raise UserError(
            f"{path or 'record'}: unknown field {name}.{unknown[0]!r}; known: {', '.join(sorted(known))}",
            fix="re-run the evaluation that wrote it",
        )
    return cls(**data)


def _block_dict(block: Any) -> dict[str, Any]:
    """A nested block's JSON form: the fields it holds (None ones left out)."""
    out = {}
    for f in fields(block):
        value = getattr(block, f.name)
        if value is not None:
            out[f.name] = dict(value) if isinstance(value, Mapping) else value
    return out


# The JSON fields of a record, in order (`path` is where it lies, not part of it); harness.records.store checks them.
RECORD_FIELDS = tuple(f.name for f in fields(Record) if f.name != "path")
_RECORD_FIELDS = frozenset(RECORD_FIELDS)
_BLOCK_FIELDS = {cls: frozenset(f.name for f in fields(cls)) for cls in (SubmissionInfo, TaskInfo)}
