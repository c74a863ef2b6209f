"""The one table of measurements: each one's name, the function that takes it, over what it is taken, what it needs
from the backend, how pages title it, and whether `harness evaluate` takes it.

Every place that names measurements reads this table: the --measure and --skip-measure flags, a track's
`measurement.measure` (tracks.columns.MEASUREMENTS), the submission page, the record checks and `harness run`.
A new measurement is one module with a `take(inputs: Inputs, **options)` function returning a JSON-able dict (or an
object with `to_dict()`) and one `add_measurement(Measurement(...))` line; a board column for it is one more line,
a Column in harness.tracks.columns.EFFICIENCY.

Light on purpose (the CLI imports it to build its flags): functions are "module:attr" strings imported on first
use, so a worker process sees the same table without importing any measurement.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.registry import Registry

# model: once per loaded model and head; task: with each task's evaluation, at its real token lengths;
# submission: once per submission folder, by a track run; machine: the record's own `environment` field
SCOPES = ("model", "task", "submission", "machine")
# count: the backend counts it (Model.count_params, Model.count_flops); forward: synthetic batches run through
# the backend (Model.synthetic_batch, Model.prepare); folder: the model folder; submission: the submission folder;
# nothing: the machine alone
NEEDS = ("count", "forward", "folder", "submission", "nothing")
# default: taken unless --measure leaves it out; optional: taken when --measure names it; tracked: taken while the
# task's inference runs, unless --skip-measure (energy) or always (the environment); never: only a track run
EVALUATE = ("default", "optional", "tracked", "never")


@dataclass(frozen=True)
class Measurement:
    """One measurement: what it is called and titled, the function that takes it, and where it applies."""

    name: str  # its key under record["measurements"] and on the command line
    function: str  # "module:attr" of `take(inputs, **options)`, imported on first use
    scope: str  # SCOPES
    needs: str  # NEEDS
    title: str  # its section's heading on the submission page
    unit: str  # the unit its result states
    evaluate: str = "optional"  # EVALUATE: how `harness evaluate` takes it
    command: bool = False  # `harness measure` takes it unless --skip-measure leaves it out
    positive: tuple[str, ...] = ()  # result fields that are counts or sizes of something that exists: > 0
    non_negative: tuple[str, ...] = ()  # result fields that are >= 0

    def load(self) -> Callable[..., Any]:
        """The function that takes the measurement, imported now."""
        module, _, attr = self.function.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class Inputs:
    """What a measurement's function is given: the model loaded by its backend and what its `needs` asks for."""

    model: Any = None  # a harness.backends.base.Model (count, forward)
    folder: Path | None = None  # the model folder (folder)
    submission: Path | None = None  # the submission folder (submission)
    reference_length: int = 128  # tokens of the synthetic sequences
    token_lengths: list[int] | None = None  # real lengths of the sequences a task ran
    examples: int | None = None  # the examples those sequences came from
    threads: int = 1  # intra-op threads while timing
    single: dict[str, Any] | None = None  # forward: a batch of 1 synthetic sequence at the reference length
    batches: list[dict[str, Any]] = field(default_factory=list)  # forward: the throughput batches


MEASUREMENTS: Registry[Measurement] = Registry("measurement")


def _add(spec: Measurement) -> None:
    for value, allowed, what in (
        (spec.scope, SCOPES, "scope"),
        (spec.needs, NEEDS, "needs"),
        (spec.evaluate, EVALUATE, "evaluate"),
    ):
        if value not in allowed:
            raise ValueError(f"measurement {spec.name!r}: {what} {value!r} is not one of {', '.join(allowed)}")
    if not all(spec.function.partition(":")):
        raise ValueError(f"measurement {spec.name!r}: function {spec.function!r} is not a 'module:attr' path")
    MEASUREMENTS.add(spec.name, spec)


def add_measurement(spec: Measurement) -> None:
    """Add a measurement to the table: every command, track, board and page takes it from then on.

    Defaults and tracked measurements are the built-in table's (DEFAULT_MEASUREMENTS is read when harness.measure
    is imported; energy and the environment have their own code in `harness evaluate`): an added one is taken
    when named (evaluate "optional") or by track runs only ("never").
    """
    if spec.evaluate not in ("optional", "never"):
        raise ValueError(
            f"measurement {spec.name!r}: evaluate {spec.evaluate!r} is the built-in table's (default, tracked); "
            "an added measurement is 'optional' (taken when --measure or a track names it) or 'never'"
        )
    _add(spec)


def measurement(name: str) -> Measurement:
    """The table's entry for `name`; an unknown name raises UserError with the known ones."""
    return MEASUREMENTS.get(name)


class Names:
    """The names of the table's measurements that `keep` accepts, in table order, read each time they are asked
    for: a measurement added later is among them."""

    def __init__(self, keep: Callable[[Measurement], bool]) -> None:
        self._keep = keep

    def __iter__(self) -> Iterator[str]:
        return (name for name in MEASUREMENTS if self._keep(MEASUREMENTS.get(name)))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in MEASUREMENTS and self._keep(MEASUREMENTS.get(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return repr(tuple(self))


for _spec in (
    Measurement(
        "params",
        "harness.measure.params:take",
        "model",
        "count",
        "Parameters",
        "parameters (tensor elements)",
        evaluate="default",
        command=True,
        positive=("total_params",),
    ),
    Measurement(
        "size",
        "harness.measure.size:take",
        "model",
        "folder",
        "Model size",
        "bytes",
        evaluate="default",
        command=True,
        positive=("total_bytes",),
    ),
    Measurement(
        "system_size",
        "harness.measure.size:take_system",
        "submission",
        "submission",
        "System size",
        "bytes",
        evaluate="never",
        positive=("total_bytes",),
    ),
    Measurement(
        "flops",
        "harness.measure.flops:take",
        "task",
        "count",
        "FLOPs",
        "FLOPs per example",
        evaluate="default",
        command=True,
        positive=("flops_per_example", "flops", "mean_flops"),
    ),
    Measurement(
        "latency",
        "harness.measure.latency:take",
        "model",
        "forward",
        "Latency and throughput",
        "ms (latency), examples/s (throughput)",
        command=True,
        positive=("p50_ms", "throughput_examples_per_s"),
    ),
    Measurement(
        "memory",
        "harness.measure.memory:take",
        "model",
        "forward",
        "Peak memory",
        "bytes",
        positive=("peak_rss_bytes",),
    ),
    Measurement(
        "energy",
        "harness.measure.energy:take",
        "task",
        "forward",
        "Energy",
        "kWh",
        evaluate="tracked",
        non_negative=("total_power_kwh",),
    ),
    Measurement(
        "environment",
        "harness.measure.environment:take",
        "machine",
        "nothing",
        "Environment",
        "a description (CPU, memory, threads, library versions)",
        evaluate="tracked",
        command=True,
    ),
):
    _add(_spec)
del _spec

# Names a track's `measurement.measure` and --skip-measure take, each the key of its result under
# record["measurements"]: all but the environment, which is a record field of its own.
RECORDED_MEASUREMENTS = Names(lambda m: m.scope != "machine")
# Taken by every `harness evaluate` unless told otherwise, and by a track that lists none: static and cheap (under
# 2 s for a 6-layer model).
DEFAULT_MEASUREMENTS = tuple(Names(lambda m: m.evaluate == "default"))


def title(name: str) -> str:
    """How pages title the measurement `name` (the name itself when the table lacks it)."""
    return MEASUREMENTS.get(name).title if name in MEASUREMENTS else name
