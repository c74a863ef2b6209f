"""Leaderboard columns: what each efficiency column reads from result records, its unit and its direction.

A track names the columns it shows; `column_value` turns a submission's records (one per task) into one
value with its provenance. A value missing from any of the track's records is "not measured" (None),
never 0; a number the submitter declared is used only when nothing was measured, marked self-reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from harness.errors import UserError
from harness.measure import RECORDED_MEASUREMENTS
from harness.measure.flops import CONVENTION as FLOPS_CONVENTION
from harness.measure.result import why_not
from harness.records import Record

# names a track's `measurement.measure` may list: the measurement table's (harness.measure.spec), read live
MEASUREMENTS = RECORDED_MEASUREMENTS
COMBINE = ("max", "mean", "sum")
LABELS = ("measured", "estimated")  # how a measurement was obtained (docs/design.md, Energy); none written = measured
PARTIAL = "partial"  # provenance of an aggregate over missing tasks: no number, the detail says `k of n tasks`
FAILED = "failed"  # provenance of a failed task's column: no number, the detail is its one-line cause
JOULES_PER_KWH = 3.6e6  # 1 kWh = 1,000 W x 3,600 s
EXAMPLES_PER = 1000  # energy per this many examples, shown beside the total


@dataclass(frozen=True)
class Column:
    """One column of a board: id, label, unit, direction and the convention a page must state."""

    id: str
    label: str
    unit: str
    higher_is_better: bool
    convention: str
    group: str = "efficiency"  # score | task | diagnostic | efficiency | utility
    measurement: str | None = None  # key under record.measurements
    field: str | None = None  # key inside that measurement's dict
    combine: str = "mean"  # how the values of the track's tasks combine: max, mean or sum
    declared: str | None = None  # key under record.declared used when nothing was measured
    integer: bool = False  # exact integer values (cutoffs compare them exactly)
    labelled: bool = False  # values labelled measured or estimated: the two are never ranked against each other


EFFICIENCY: dict[str, Column] = {
    c.id: c
    for c in (
        Column(
            "params",
            "Parameters",
            "parameters",
            False,
            "unique parameter tensors (shared or tied weights once), the largest model over the track's tasks",
            measurement="params",
            field="total_params",
            combine="max",
            declared="parameters",
            integer=True,
        ),
        Column(
            "size_bytes",
            "Model size",
            "bytes",
            False,
            "bytes of every file in the model folder, the largest over the track's tasks",
            measurement="size",
            field="total_bytes",
            combine="max",
            declared="size_bytes",
            integer=True,
        ),
        Column(
            "weights_zstd_bytes",
            "Weights (zstd)",
            "bytes",
            False,
            "bytes of the model folder's weight files concatenated and compressed with zstd (what the zeros of a "
            "pruned model save), the largest over the track's tasks",
            measurement="size",
            field="weights_zstd_bytes",
            combine="max",
            integer=True,
        ),
        Column(
            "system_bytes",
            "System size",
            "bytes",
            False,
            "bytes of every file in the submission folder (weights, tokenizer, any index or data it reads)",
            measurement="system_size",
            field="total_bytes",
            combine="max",
            declared="system_bytes",
            integer=True,
        ),
        Column(
            "flops",
            "FLOPs per example",
            "FLOPs",
            False,
            "per example at the real lengths of the sequences evaluation ran (all sequences of an example: pairs, "
            f"choices, windows), mean over the track's tasks; {FLOPS_CONVENTION}",
            measurement="flops",
            field="flops_per_example",
            combine="mean",
            declared="flops",
        ),
        Column(
            "flops_ref",
            "FLOPs at reference length",
            "FLOPs",
            False,
            f"one sequence at the record's reference length (flops.reference_length), mean over tasks; {FLOPS_CONVENTION}",
            measurement="flops",
            field="flops",
            combine="mean",
        ),
        Column(
            "latency_ms",
            "Latency p50, batch 1",
            "ms",
            False,
            "median single-example latency at the reference length after warm-up, fixed threads; mean over tasks",
            measurement="latency",
            field="p50_ms",
            combine="mean",
        ),
        Column(
            "latency_probe_units",
            "Latency p50 in probe units",
            "probe units",
            False,
            "p50 batch-1 latency divided by the median of the machine-speed probe (a fixed fp32 matmul) timed in the "
            "same rounds, which divides out most of a drift of the machine's speed; mean over tasks",
            measurement="latency",
            field="p50_probe_units",
            combine="mean",
        ),
        Column(
            "throughput",
            "Throughput",
            "examples/s",
            True,
            "examples per second at the throughput batch size; mean over tasks",
            measurement="latency",
            field="throughput_examples_per_s",
            combine="mean",
        ),
        Column(
            "memory_bytes",
            "Peak memory",
            "bytes",
            False,
            "peak process RSS during one batch, the largest over the track's tasks",
            measurement="memory",
            field="peak_rss_bytes",
            combine="max",
            integer=True,
        ),
        Column(
            "energy_kwh",
            "Energy (total_power)",
            "kWh",
            False,
            "SustaiNLP total_power: PUE x energy of the inference over the whole evaluation split (harness.runner "
            "tracks the forward passes), summed over the track's tasks; labelled measured or estimated",
            measurement="energy",
            field="total_power_kwh",
            combine="sum",
            labelled=True,
        ),
    )
}


@dataclass(frozen=True)
class Value:
    """One cell: the number (None = not measured), where it came from, and how."""

    value: float | int | None
    provenance: str  # measured | estimated | self-reported | published | computed | partial | failed | not measured
    detail: str = ""
    interval: tuple[float, float] | None = None  # 95% bootstrap interval, on the value's scale (issue 15)
    # the value's paired bootstrap resamples (a numpy array on its scale) and what they were drawn on (the records'
    # resample seeds): two values are compared resample for resample only when `paired_on` is the same
    resamples: Any = field(default=None, repr=False, compare=False)
    paired_on: str = ""


# provenance -> (mark after the number, what the mark means); measured values carry no mark
MARKS = {
    "self-reported": ("*", "self-reported by the submitter, not measured here"),
    "estimated": ("~", "estimated (no hardware energy counters)"),
    "published": ("^", "published number from the literature, not measured here"),
    "predictions": ("", "scored here from predictions the submitter supplied"),
    "computed": ("", "computed here from other values"),
}


def mark(value: Value | None) -> str:
    """The provenance mark of a cell ('' for measured values and for no value)."""
    return MARKS.get(value.provenance, ("", ""))[0] if value is not None and value.value is not None else ""


def _combine(values: Sequence[float], how: str) -> float:
    if how == "max":
        return max(values)
    if how == "sum":
        return sum(values)
    return sum(values) / len(values)


def column_value(column: Column, records: Mapping[str, Record]) -> Value:
    """The column's value over a submission's ok records {task: record}; None when any task lacks it."""
    if not records:
        return Value(None, "not measured", "no evaluated task")
    numbers: list[float] = []
    missing: list[str] = []
    why: list[str] = []  # `task: not counted: reason` for a task whose measurement was not taken
    estimated = False
    for task, record in records.items():
        measurements = record.measurements
        entry = measurements.get(column.measurement or "") if measurements else None
        number = entry.get(column.field) if type(entry) is dict else None
        if type(number) is int or type(number) is float and not column.integer:  # a bool is not a measurement
            numbers.append(number)
            label = entry.get("label", "measured")  # type: ignore[union-attr]
            if label not in LABELS:
                raise UserError(
                    f"{record.path or task}: measurements.{column.measurement}.label is {label!r}, "
                    f"expected one of {', '.join(LABELS)}; re-run the measurement that wrote it"
                )
            estimated = estimated or label == "estimated"
        elif number is not None or entry is not None and type(entry) is not dict:
            # present but not a number: falling back to a declared number (or to "not measured") would rank a value
            # the harness never measured
            where = f"measurements.{column.measurement}" + (f".{column.field}" if type(entry) is dict else "")
            got = number if type(entry) is dict else entry
            raise UserError(
                f"{record.path or task}: {where} is {got!r}, expected "
                f"{'a whole number' if column.integer else 'a number'} ({column.unit}) or null for not "
                "measured; re-run the measurement that wrote it"
            )
        else:
            missing.append(task)
            if (reason := why_not(entry)) is not None:
                why.append(f"{task}: {reason}")
    if not missing:
        value = _combine(numbers, column.combine)
        detail = (
            f"{column.combine} over {len(records)} task(s): record measurements.{column.measurement}.{column.field}"
        )
        examples = [r.num_examples for r in records.values()]
        if column.unit == "kWh" and column.combine == "sum" and all(type(n) is int and n > 0 for n in examples):
            total = sum(examples)  # type: ignore[arg-type]
            detail += (
                f"; {value * JOULES_PER_KWH * EXAMPLES_PER / total:.3g} J per {EXAMPLES_PER:,} examples "
                f"({total:,} examples)"
            )
        if estimated:
            detail += "; estimated: " + "; ".join(estimates_of(column, records))
        return Value(value, "estimated" if estimated else "measured", detail)
    if not numbers and column.declared:
        declared = [(record.declared or {}).get(column.declared) for record in records.values()]
        if all(isinstance(d, (int, float)) and not isinstance(d, bool) for d in declared):
            return Value(
                _combine(declared, column.combine),
                "self-reported",
                f"declared {column.declared}, not measured by the harness",
            )
    detail = f"no measurements.{column.measurement}.{column.field} for {', '.join(sorted(missing))}"
    return Value(None, "not measured", "; ".join([detail, *sorted(why)]))


def absent_text(value: Value | None, not_measured: str) -> str:
    """What a cell without a number reads: `7 of 8 tasks` for an aggregate over missing tasks, `failed` for a failed
    task (its cause in the detail), else `not_measured` (the page's or the terminal's wording)."""
    if value is not None and value.provenance == PARTIAL:
        return value.detail.split(" (", 1)[0]
    if value is not None and value.provenance == FAILED:
        return FAILED
    return not_measured


def estimates_of(column: Column, records: Mapping[str, Record]) -> list[str]:
    """How the records' estimated values of a labelled column were made: each distinct method and power model."""
    out: dict[str, None] = {}
    for record in records.values():
        entry = record.measurement(column.measurement or "")
        if type(entry) is dict and entry.get("label") == "estimated":
            method, model = entry.get("method"), entry.get("power_model")
            out[
                " ".join(
                    filter(
                        None,
                        [
                            str(method or "method not recorded"),
                            f"(power model: {model})" if model else "(no power model recorded)",
                        ],
                    )
                )
            ] = None
    return list(out)
