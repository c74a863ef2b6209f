"""Efficiency measurements of a model: params, size, FLOPs, latency, memory, energy, environment.

The table of them, and what each needs, is harness.measure.spec; every measurement reaches the model only through
its backend (harness.backends.base.Model): batches the backend builds, calls it prepares, counts it makes. A
measurement that is not taken says why in one shape (harness.measure.result).

Importing this package is light: neither numpy nor torch is imported until a measurement runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.measure.result import NOT_COUNTED, not_measured, status_of
from harness.measure.spec import (
    DEFAULT_MEASUREMENTS,
    MEASUREMENTS,
    RECORDED_MEASUREMENTS,
    Inputs,
    Measurement,
    measurement,
)

__all__ = [
    "DEFAULT_MEASUREMENTS",
    "MEASUREMENTS",
    "RECORDED_MEASUREMENTS",
    "Inputs",
    "count_rows",
    "length_batches",
    "load_measurement",
    "measure_loaded",
    "measure_model",
    "parse_skip",
    "take",
]

THROUGHPUT_BATCH_SIZE = 8


def load_measurement(name: str) -> Callable[..., Any]:
    """The function of the measurement `name` in the table, imported on first use."""
    return measurement(name).load()


def count_rows(inputs: Any) -> int:
    """Rows in a batch: the first dimension of its first array (dict value, tuple item or the array itself)."""
    first = (
        next(iter(inputs.values()))
        if isinstance(inputs, dict)
        else (inputs[0] if isinstance(inputs, (tuple, list)) else inputs)
    )
    return int(first.shape[0])


def length_batches(model: Any, token_lengths: list[int], batch_size: int) -> list[dict[str, Any]]:
    """Batches of the model's synthetic inputs with the given real lengths, in order, each padded to its longest
    row (its mask 0 past each row's length); batch k's ids are seeded with its first row's index."""
    batches = []
    for start in range(0, len(token_lengths), batch_size):
        lengths = token_lengths[start : start + batch_size]
        batch = model.synthetic_batch(len(lengths), max(lengths), seed=start)
        for row, n in enumerate(lengths):
            batch["attention_mask"][row, n:] = 0
        batches.append(batch)
    return batches


def _missing(spec: Measurement, model: Any, folder: Any, submission: Any) -> str | None:
    """Why the measurement cannot be taken with what was given, or None."""
    if spec.needs == "folder" and folder is None:
        return f"measurement {spec.name!r} needs folder=<model folder>; pass the folder the model was loaded from"
    if spec.needs == "submission" and submission is None:
        return f"measurement {spec.name!r} needs submission=<submission folder>; pass the folder of submission.yaml"
    if spec.needs in ("count", "forward") and model is None:
        return f"measurement {spec.name!r} needs a model loaded by harness.backends.load_model"
    return None


def take(name: str, inputs: Inputs, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Take one measurement of the table with its function, as a JSON-able dict."""
    result = load_measurement(name)(inputs, **(options or {}))
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def measure_model(
    model: Any,
    *,
    folder: str | Path | None = None,
    submission: str | Path | None = None,
    reference_length: int = 128,
    token_lengths: list[int] | None = None,
    examples: int | None = None,
    threads: int = 1,
    which: Sequence[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Take the named measurements of a model loaded by its backend (default: every one that what was given
    allows: size needs `folder`, system_size `submission`) and return one JSON-able dict; a failure raises.

    `token_lengths` are the real lengths of the sequences a task ran, `examples` how many examples they came from.
    `options` adds keyword arguments per measurement, e.g. `{"latency": {"budget_s": 5}}`.
    """
    if which is None:
        names = [n for n in MEASUREMENTS if _missing(measurement(n), model, folder, submission) is None]
    else:
        names = list(which)
    specs = [measurement(n) for n in names]  # fail on a bad name before any long measurement starts
    for spec in specs:
        problem = _missing(spec, model, folder, submission)
        if problem:
            raise UserError(problem)
    single: dict[str, Any] | None = None
    batches: list[dict[str, Any]] = []
    if any(spec.needs == "forward" for spec in specs):  # built only for measurements that run the model
        single = model.synthetic_batch(1, reference_length)
        batches = (
            length_batches(model, token_lengths, THROUGHPUT_BATCH_SIZE)
            if token_lengths
            else [model.synthetic_batch(THROUGHPUT_BATCH_SIZE, reference_length)]
        )
    inputs = Inputs(
        model=model,
        folder=None if folder is None else Path(folder),
        submission=None if submission is None else Path(submission),
        reference_length=reference_length,
        token_lengths=token_lengths,
        examples=examples,
        threads=threads,
        single=single,
        batches=batches,
    )
    opts = options or {}
    return {name: take(name, inputs, opts.get(name)) for name in names}


def measure_loaded(
    model: Any,
    names: Sequence[str],
    *,
    folder: str | Path | None = None,
    submission: str | Path | None = None,
    token_lengths: list[int] | None = None,
    examples: int | None = None,
    reference_length: int = 128,
    threads: int = 1,
    options: dict[str, dict[str, Any]] | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure a model loaded by harness.backends.load_model as its head runs it: the one path of `harness measure`,
    `harness evaluate` and `harness run`.

    A measurement that fails says why ({"status": "not_measured", "reason": ...}, harness.measure.result) instead
    of failing the caller. `report` gets a line as each one starts and ends (e.g. print to stderr).
    """
    names = list(names)
    for name in names:
        problem = _missing(measurement(name), model, folder, submission)
        if problem and measurement(name).needs in ("folder", "submission"):
            raise UserError(problem)
    say = report or (lambda line: None)
    out: dict[str, Any] = {}
    for i, name in enumerate(names, 1):
        say(f"measuring {name} ({i}/{len(names)})")
        started = time.perf_counter()
        try:
            result = measure_model(
                model,
                folder=folder,
                submission=submission,
                reference_length=reference_length,
                token_lengths=token_lengths,
                examples=examples,
                threads=threads,
                which=[name],
                options=options,
            )[name]
        except Exception as e:  # noqa: BLE001 - a measurement's failure must not lose the task's predictions and metrics
            out[name] = not_measured(f"{type(e).__name__}: {e}").to_dict()
            say(f"{name} not measured: {out[name]['reason']}")
            continue
        out[name] = result
        if status_of(result) == NOT_COUNTED:
            say(f"{name} not counted: {result['reason']}")
        else:
            say(f"measured {name} in {time.perf_counter() - started:.1f} s")
    return out


def parse_skip(text: str, flag: str = "--skip-measure") -> tuple[str, ...]:
    """`latency, size` -> ("latency", "size"): the measurements a command leaves out, one name list for every
    command (RECORDED_MEASUREMENTS); an unknown name is refused with the known ones."""
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    unknown = [n for n in names if n not in RECORDED_MEASUREMENTS]
    if unknown:
        raise UserError(
            f"{flag}: unknown measurement {', '.join(unknown)}", fix=f"known: {', '.join(RECORDED_MEASUREMENTS)}"
        )
    return names
