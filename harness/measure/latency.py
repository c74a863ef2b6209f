"""Single-stream latency percentiles and offline throughput, repeated until the median is stable: calls the
model's backend prepared (harness.backends.base.Model.prepare), timed by its clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.backends.base import Clock
from harness.errors import UserError
from harness.measure.machine_speed import relative_spread
from harness.measure.spec import Inputs

# Seconds of timed batch-1 calls a latency takes at least. This VM's speed moves by several % for seconds at a
# time (benchmarks/latency_stability.py); a median over 5 s of calls outvotes such a burst, one over 1 s need not.
MIN_TIME_S = 5.0


def busy_cpu_seconds(times: Any = None) -> float:
    """CPU seconds the whole machine spent busy since boot (user, nice, system, irq; not idle, iowait, steal),
    from `psutil.cpu_times()` read now or given."""
    import psutil

    t = psutil.cpu_times() if times is None else times
    idle = sum(getattr(t, k, 0.0) for k in ("idle", "iowait", "steal", "guest", "guest_nice"))  # guest is in user
    return sum(t) - idle


def process_cpu_seconds() -> float:
    """CPU seconds this process (all its threads) has used, user and system: from getrusage, which needs no process
    id (inside a worker's PID namespace, os.getpid() is not the id /proc knows it by)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoadProbe:
    """CPU time other processes used during a window, in cores: (machine busy - this process) / wall; and on a
    virtual machine, the steal time: cores' worth of time the hypervisor ran other guests instead of this one."""

    def __init__(self) -> None:
        self._start = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        import psutil

        machine = psutil.cpu_times()
        return (
            time.perf_counter(),
            busy_cpu_seconds(machine),
            process_cpu_seconds(),
            getattr(machine, "steal", 0.0),
        )

    def cores(self) -> tuple[float, float]:
        """Since the probe started, from one reading: (average cores kept busy by other processes, average cores'
        time stolen by the hypervisor, 0 off a VM)."""
        (w0, b0, o0, s0), (w1, b1, o1, s1) = self._start, self._sample()
        wall = max(w1 - w0, 1e-9)
        return max(0.0, ((b1 - b0) - (o1 - o0)) / wall), max(0.0, (s1 - s0) / wall)


def timed_rounds(
    call: Callable[[], Any],
    clock: Clock,
    *,
    per_round: int,
    tolerance: float,
    deadline: float,
    min_rounds: int = 3,
    window: int = 3,
    min_time_s: float = 0.0,
) -> tuple[list[list[float]], bool, float]:
    """Rounds of `per_round` timed calls until the last `window` round medians agree within `tolerance`
    (and the calls took `min_time_s` in all).

    Returns (rounds of call seconds, stable, spread); stops unstable when `deadline` (perf_counter) passes.
    """
    rounds, stable, spreads = interleaved_rounds(
        [call],
        clock,
        per_round=[per_round],
        tolerance=tolerance,
        deadline=deadline,
        min_rounds=min_rounds,
        window=window,
        min_time_s=min_time_s,
    )
    return rounds[0], stable, spreads[0]


def interleaved_rounds(
    calls: Sequence[Callable[[], Any]],
    clock: Clock,
    *,
    per_round: Sequence[int],
    tolerance: float,
    deadline: float,
    min_rounds: int = 3,
    window: int = 3,
    min_time_s: float = 0.0,
    judged: int | None = None,
) -> tuple[list[list[list[float]]], bool, list[float]]:
    """Rounds of each call in turn (a round of the first, of the second, ..., repeat) until, for each of the first
    `judged` calls (default all), the last `window` round medians agree within `tolerance` and its timed calls took
    `min_time_s` in all; so calls compared with each other see the same machine, even when its speed drifts meanwhile.

    Returns (per call: rounds of call seconds), stable, per call: spread; stops unstable at `deadline`.
    """
    import statistics

    rounds: list[list[list[float]]] = [[] for _ in calls]
    spreads = [float("inf")] * len(calls)
    judged = len(calls) if judged is None else judged
    while True:
        for k, call in enumerate(calls):
            times = []
            for _ in range(per_round[k]):
                start = clock.now()
                call()
                times.append(clock.now() - start)
            rounds[k].append(times)
        if len(rounds[0]) >= max(min_rounds, window):
            for k, done in enumerate(rounds):
                medians = [statistics.median(r) for r in done[-window:]]
                spreads[k] = relative_spread(medians)
            if all(spread < tolerance for spread in spreads[:judged]) and all(
                sum(map(sum, done)) >= min_time_s for done in rounds[:judged]
            ):
                return rounds, True, spreads
        if time.perf_counter() > deadline:
            return rounds, False, spreads


@dataclass(frozen=True)
class Latency:
    """Batch-1 latency percentiles (ms) and offline throughput (examples/s), with settings and load."""

    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    samples: int
    rounds: int
    stable: bool
    spread_of_round_medians: float | None  # None: fewer rounds than the window before the budget ended
    tolerance: float
    threads: int
    warmup_calls: int
    throughput_examples_per_s: float | None
    throughput_batch_size: int | None
    throughput_examples: int | None
    throughput_stable: bool | None
    other_load_cores: float
    loadavg_1m: float
    noisy: bool  # other processes' load or the hypervisor's steal above noise_threshold cores
    clock: str
    budget_s: float
    min_time_s: float = 0.0
    steal_cores: float | None = None
    # The machine-speed probe timed between the rounds (harness.measure.machine_speed); None: not measured.
    machine_speed: dict[str, Any] | None = None
    p50_probe_units: float | None = None  # p50_ms / the probe's median: the machine's drift divided out
    # 95% bootstrap interval of p50_ms over this run's timed calls: within the run only, never a latency tie mark
    p50_interval_ms: list[float] | None = None
    method: str = (
        "batch 1: percentiles over every timed call after warm-up, once the last 3 round medians agree "
        "within tolerance and the calls took min_time_s in all (or the budget ends: stable=False), so a "
        "burst of machine speed shorter than half the calls cannot move the median; throughput: "
        "examples / wall time of one pass over the batches, median of rounds; "
        "other_load_cores = machine busy CPU minus ours, per second; "
        "steal_cores = hypervisor steal time per second; "
        "p50_probe_units = p50_ms / median of the machine-speed probe (machine_speed.probe) timed after "
        "each round; p50_interval_ms = 95% percentile bootstrap interval of the median over this run's timed "
        "calls (1,000 resamples; within this run only: it does not cover another run's or machine's drift)"
    )
    unit: dict[str, str] = field(default_factory=lambda: {"latency": "ms", "throughput": "examples/s"})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with method, settings and units."""
        return asdict(self)


def _check(threads: int, budget_s: float, tolerance: float) -> None:
    if threads < 1 or budget_s <= 0 or tolerance <= 0:
        raise UserError(f"latency: threads ({threads}), budget_s ({budget_s}) and tolerance ({tolerance}) must be > 0")


def _calls_per_round(call: Callable[[], Any], clock: Clock, warmup_calls: int, round_s: float) -> int:
    """Warm the model up; the number of calls that fill about `round_s` seconds (at least 5)."""
    start = clock.now()
    for _ in range(warmup_calls):
        call()
    per_call = max((clock.now() - start) / max(warmup_calls, 1), 1e-6)
    return max(5, int(round_s / per_call))


def _latency(
    rounds: list[list[float]],
    stable: bool,
    spread: float,
    load: LoadProbe,
    clock: Clock,
    *,
    threads: int,
    warmup_calls: int,
    tolerance: float,
    budget_s: float,
    noise_threshold: float,
    min_time_s: float,
    throughput: tuple[float | None, int | None, int | None, bool | None] = (None, None, None, None),
    machine_speed: dict[str, Any] | None = None,
) -> Latency:
    """The Latency record of timed rounds: percentiles over all their calls."""
    import numpy as np
    import psutil

    other, steal = load.cores()
    from harness.metrics.bootstrap import median_interval

    kept = np.array([t for r in rounds for t in r]) * 1000.0
    p50, p90, p99 = (float(np.percentile(kept, q)) for q in (50, 90, 99))
    p50_interval = [float(x) for x in median_interval(kept, "latency p50_ms")]
    per_s, size, examples, t_stable = throughput
    return Latency(
        p50_ms=p50,
        p90_ms=p90,
        p99_ms=p99,
        mean_ms=float(kept.mean()),
        samples=int(kept.size),
        rounds=len(rounds),
        stable=stable,
        spread_of_round_medians=round(spread, 5) if spread != float("inf") else None,
        tolerance=tolerance,
        threads=threads,
        warmup_calls=warmup_calls,
        throughput_examples_per_s=per_s,
        throughput_batch_size=size,
        throughput_examples=examples,
        throughput_stable=t_stable,
        other_load_cores=round(other, 3),
        loadavg_1m=psutil.getloadavg()[0],
        noisy=max(other, steal) > noise_threshold,
        clock=clock.name,
        steal_cores=round(steal, 3),
        budget_s=budget_s,
        min_time_s=min_time_s,
        machine_speed=machine_speed,
        p50_probe_units=None if machine_speed is None else round(p50 / machine_speed["median_ms"], 5),
        p50_interval_ms=p50_interval,
    )


def measure_latency(
    model: Any,
    inputs: Any,
    *,
    batch_inputs: list[Any] | None = None,
    threads: int = 1,
    warmup_calls: int = 5,
    round_s: float = 0.3,
    tolerance: float = 0.03,
    budget_s: float = 30.0,
    noise_threshold: float = 0.25,
    min_time_s: float = MIN_TIME_S,
    speed_probe: bool = True,
) -> Latency:
    """Time a model loaded by its backend on the batch `inputs` (batch 1) and, given `batch_inputs`, offline
    throughput over them, at `threads` threads: the backend prepares each call (Model.prepare) and sets the mode
    and threads (Model.measuring); its clock times them.

    `speed_probe`: time the machine-speed probe after each round of the model, for `machine_speed` and
    `p50_probe_units` (otherwise both are None, not measured).
    """
    import numpy as np

    from harness.measure import count_rows
    from harness.measure.machine_speed import CALLS_PER_ROUND, SpeedProbe, speed_summary

    _check(threads, budget_s, tolerance)
    clock = model.clock
    single = model.prepare(inputs)
    prepared = [model.prepare(b) for b in batch_inputs or []]
    with model.measuring(threads):
        load = LoadProbe()
        deadline = time.perf_counter() + budget_s
        calls: list[Callable[[], Any]] = [single]
        per_round = [_calls_per_round(single, clock, warmup_calls, round_s)]
        if speed_probe:
            speed = SpeedProbe(model.device)
            speed()  # its first call allocates the output
            calls.append(speed)
            per_round.append(CALLS_PER_ROUND)
        timed, stable, spreads = interleaved_rounds(
            calls, clock, per_round=per_round, tolerance=tolerance, deadline=deadline, min_time_s=min_time_s, judged=1
        )
        rounds, spread = timed[0], spreads[0]
        machine_speed = speed_summary(timed[1], tolerance) if speed_probe else None
        throughput: tuple[float | None, int | None, int | None, bool | None] = (None, None, None, None)
        if batch_inputs:
            examples, size = sum(count_rows(b) for b in batch_inputs), count_rows(batch_inputs[0])
            prepared[0]()  # warm-up at the larger batch shape
            passes, t_stable, _ = timed_rounds(
                lambda: [call() for call in prepared],
                clock,
                per_round=1,
                tolerance=tolerance,
                deadline=time.perf_counter() + budget_s,
            )
            throughput = (examples / float(np.median([p[0] for p in passes])), size, examples, t_stable)
        return _latency(
            rounds,
            stable,
            spread,
            load,
            clock,
            threads=threads,
            warmup_calls=warmup_calls,
            tolerance=tolerance,
            budget_s=budget_s,
            noise_threshold=noise_threshold,
            min_time_s=min_time_s,
            throughput=throughput,
            machine_speed=machine_speed,
        )


def take(inputs: Inputs, **options: Any) -> Latency:
    """The measurement `latency` of the table: batch-1 latency at the reference length, throughput over the
    throughput batches."""
    return measure_latency(inputs.model, inputs.single, batch_inputs=inputs.batches, threads=inputs.threads, **options)


@dataclass(frozen=True)
class Speedup:
    """Latency ratio reference / candidate (p50, batch 1), both measured in one call with one set of settings."""

    speedup: float
    reference: dict[str, Any]
    candidate: dict[str, Any]
    spread_of_round_ratios: float | None  # over the kept rounds: (max - min) / median of reference/candidate medians
    method: str = (
        "p50_ms(reference) / p50_ms(candidate), batch 1, same inputs and settings; rounds of the two "
        "interleaved (reference, candidate, reference, ...) until both medians are stable, so a drift "
        "of the machine's speed during the measurement moves both alike"
    )
    unit: str = "x (ratio)"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with both latency records."""
        return asdict(self)


def measure_speedup(
    reference: Any,
    candidate: Any,
    inputs: Any,
    *,
    threads: int = 1,
    warmup_calls: int = 5,
    round_s: float = 0.3,
    tolerance: float = 0.03,
    budget_s: float = 30.0,
    noise_threshold: float = 0.25,
    min_time_s: float = MIN_TIME_S,
    candidate_inputs: Any = None,
) -> Speedup:
    """Batch-1 latency of both models, measured in interleaved rounds, and the p50 ratio reference / candidate.

    `candidate_inputs`: the candidate's own inputs when its tokenizer differs (default: `inputs`).
    """
    import statistics

    _check(threads, budget_s, tolerance)
    models = (reference, candidate)
    feeds = (inputs, inputs if candidate_inputs is None else candidate_inputs)
    clock = candidate.clock
    calls = [m.prepare(x) for m, x in zip(models, feeds)]
    with ExitStack() as modes:
        for m in models:
            modes.enter_context(m.measuring(threads))
        load = LoadProbe()
        deadline = time.perf_counter() + budget_s
        per_round = [_calls_per_round(call, clock, warmup_calls, round_s) for call in calls]
        rounds, stable, spreads = interleaved_rounds(
            calls, clock, per_round=per_round, tolerance=tolerance, deadline=deadline, min_time_s=min_time_s
        )
        ref, cand = (
            _latency(
                r,
                stable,
                spread,
                load,
                clock,
                threads=threads,
                warmup_calls=warmup_calls,
                tolerance=tolerance,
                budget_s=budget_s,
                noise_threshold=noise_threshold,
                min_time_s=min_time_s,
            )
            for r, spread in zip(rounds, spreads)
        )
    ratios = [statistics.median(a) / statistics.median(b) for a, b in zip(rounds[0][-3:], rounds[1][-3:])]
    ratio_spread = relative_spread(ratios) if len(ratios) > 1 else None
    return Speedup(
        speedup=ref.p50_ms / cand.p50_ms,
        reference=ref.to_dict(),
        candidate=cand.to_dict(),
        spread_of_round_ratios=None if ratio_spread is None else round(ratio_spread, 5),
    )
