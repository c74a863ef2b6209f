"""Inference energy: hardware counters (RAPL, NVML) where present, else a labelled estimate; CO2 from it."""

from __future__ import annotations

import importlib.util
import inspect
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.measure.spec import Inputs

DEFAULT_PUE = 1.58  # SustaiNLP 2020 / experiment-impact-tracker default
DEFAULT_GRID_GCO2_PER_KWH = 475.0  # world-average grid carbon intensity (IEA 2019)
WATTS_PER_CPU = 4.0  # assumed TDP share of one logical CPU when none is given (codecarbon's fallback figure)
RAPL_ROOT = Path("/sys/class/powercap")
BACKENDS = ("auto", "counters", "tdp", "codecarbon", "experiment_impact_tracker")


@dataclass(frozen=True)
class Energy:
    """Energy of a tracked block, how it was obtained (measured or estimated) and the CO2 it implies."""

    method: str
    label: str
    energy_kwh: float
    total_power_kwh: float
    energy_per_1000_examples_kwh: float | None
    examples: int | None
    duration_s: float
    pue: float
    grid_gco2_per_kwh: float
    co2_g: float
    power_model: str
    samples: int
    backends: dict[str, str] = field(default_factory=dict)
    definition: str = (
        "energy_kwh: attributable CPU (+GPU) energy, sum over samples of power x interval; "
        "total_power_kwh: PUE x energy_kwh (SustaiNLP 2020 'total_power'); co2_g: energy_kwh x "
        "grid intensity x PUE"
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with method, label, settings and units in the key names."""
        return asdict(self)


class _Rapl:
    """Package energy counters under /sys/class/powercap (Intel and AMD RAPL), with wrap-around handled."""

    def __init__(self) -> None:
        zones = sorted(p for p in RAPL_ROOT.glob("*-rapl:*") if p.name.count(":") == 1)
        if not zones:
            raise RuntimeError(f"no RAPL package zones under {RAPL_ROOT}")
        self._zones = [(z / "energy_uj", int((z / "max_energy_range_uj").read_text())) for z in zones]
        self._last = [int(f.read_text()) for f, _ in self._zones]  # PermissionError when not readable

    def joules(self, share: float) -> float:
        """Package energy since the last call times this process's share of busy CPU time."""
        now = [int(f.read_text()) for f, _ in self._zones]
        total = sum(
            (n - last) if n >= last else (n + top - last) for n, last, (_, top) in zip(now, self._last, self._zones)
        )
        self._last = now
        return total / 1e6 * share


class _Nvml:
    """Board power of every NVIDIA GPU via pynvml, integrated over the sampling interval (whole devices)."""

    def __init__(self) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        if not self._handles:
            raise RuntimeError("NVML found no NVIDIA device")

    def joules(self, seconds: float) -> float:
        return sum(self._nvml.nvmlDeviceGetPowerUsage(h) for h in self._handles) / 1000.0 * seconds


def _probe(kind: type) -> tuple[Any, str]:
    try:
        return kind(), "available"
    except Exception as exc:  # noqa: BLE001 - any failure means: no such counter here, and we say why
        return None, f"unavailable: {type(exc).__name__}: {exc}"


def _eit_status() -> str:
    if importlib.util.find_spec("experiment_impact_tracker") is None:
        return "unavailable: experiment_impact_tracker is not installed"
    try:
        import experiment_impact_tracker.compute_tracker  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure makes it unavailable
        return f"unavailable: import failed: {type(exc).__name__}: {exc}"
    return "available"


class EnergyTracker:
    """Context manager: samples attributable power every `interval_s` while its block runs; `result()` after."""

    def __init__(
        self,
        *,
        backend: str = "auto",
        pue: float = DEFAULT_PUE,
        grid_gco2_per_kwh: float = DEFAULT_GRID_GCO2_PER_KWH,
        tdp_w: float | None = None,
        interval_s: float = 1.0,
        country_iso_code: str = "USA",
    ) -> None:
        if backend not in BACKENDS:
            raise UserError(f"energy backend {backend!r} is unknown; use one of: {', '.join(BACKENDS)}")
        import psutil

        self.backend, self.pue, self.grid, self.interval_s = backend, pue, grid_gco2_per_kwh, interval_s
        self.country, self._cpus = country_iso_code, psutil.cpu_count() or 1
        self.tdp_w = tdp_w if tdp_w is not None else WATTS_PER_CPU * self._cpus
        self._samples: list[tuple[float, float, float]] = []  # (seconds, CPU joules, GPU joules)
        self._stop, self._rapl, self._nvml, self._external = threading.Event(), None, None, None

    def _cpu(self) -> tuple[float, float, float]:
        from harness.measure.latency import busy_cpu_seconds, process_cpu_seconds

        return time.perf_counter(), process_cpu_seconds(), busy_cpu_seconds()

    def _sample(self) -> None:
        (w0, o0, b0), (w1, o1, b1) = self._last, self._cpu()
        self._last = (w1, o1, b1)
        own, busy = max(o1 - o0, 0.0), max(b1 - b0, 0.0)
        share = min(own / busy, 1.0) if busy else 0.0
        cpu_j = self._rapl.joules(share) if self._rapl else self.tdp_w * own / self._cpus
        self._samples.append((w1 - w0, cpu_j, self._nvml.joules(w1 - w0) if self._nvml else 0.0))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def __enter__(self) -> EnergyTracker:
        self.status = {
            "experiment_impact_tracker": _eit_status(),
            "codecarbon": "available" if importlib.util.find_spec("codecarbon") else "unavailable: not installed",
        }
        if self.backend in ("auto", "counters"):
            self._rapl, self.status["rapl"] = _probe(_Rapl)
            self._nvml, self.status["nvml"] = _probe(_Nvml)
            if self.backend == "counters" and not (self._rapl or self._nvml):
                raise UserError(
                    f"energy backend 'counters': no RAPL or NVML counters here ({self.status}); "
                    "use backend='auto' to fall back to a labelled estimate"
                )
        if self.backend in EXTERNAL:
            if self.status[self.backend] != "available":
                raise UserError(f"energy backend {self.backend!r} is {self.status[self.backend]}; choose another")
            self._external = EXTERNAL[self.backend](self)
        self._start_wall = time.perf_counter()
        self._last = self._cpu()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.duration_s = time.perf_counter() - self._start_wall
        self._external_result = self._external.stop() if self._external else None

    def result(self, examples: int | None = None) -> Energy:
        """The Energy record of the finished block; `examples` gives energy per 1,000 examples."""
        if self._external_result is not None:
            kwh, label, method, model = self._external_result
        else:
            kwh = sum(c + g for _, c, g in self._samples) / 3.6e6
            parts = (["RAPL package counters x process share of busy CPU time"] if self._rapl else []) + (
                ["NVML board power x interval (whole GPUs)"] if self._nvml else []
            )
            label = "measured" if parts else "estimated"
            method = " + ".join(parts) if parts else "harness CPU-TDP x utilisation estimate"
            model = (
                f"sampled every {self.interval_s:g} s"
                if parts
                else f"power = tdp_w {self.tdp_w:g} W x "
                f"(process CPU seconds / (wall seconds x {self._cpus} logical CPUs))"
            )
        status = {"rapl": "not probed (backend chosen)", "nvml": "not probed (backend chosen)", **self.status}
        return Energy(
            method=method,
            label=label,
            energy_kwh=kwh,
            total_power_kwh=self.pue * kwh,
            energy_per_1000_examples_kwh=kwh * 1000 / examples if examples else None,
            examples=examples,
            duration_s=self.duration_s,
            pue=self.pue,
            grid_gco2_per_kwh=self.grid,
            co2_g=kwh * self.grid * self.pue,
            power_model=model,
            samples=len(self._samples),
            backends=dict(sorted(status.items())),
        )


class _CodeCarbon:
    """codecarbon's OfflineEmissionsTracker (never the online one): no network, no output files."""

    def __init__(self, tracker: EnergyTracker) -> None:
        import logging

        from codecarbon import OfflineEmissionsTracker

        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        # codecarbon >= 3 spells save_to_file=False as output_methods=[] (the flag is deprecated there)
        new_api = any(
            "output_methods" in inspect.signature(k.__init__).parameters
            for k in OfflineEmissionsTracker.__mro__
            if "__init__" in vars(k)
        )
        quiet: dict[str, Any] = {"output_methods": []} if new_api else {"save_to_file": False}
        self._cc = OfflineEmissionsTracker(
            country_iso_code=tracker.country,
            log_level="error",
            tracking_mode="process",
            measure_power_secs=max(tracker.interval_s, 1),
            **quiet,
        )
        self._cc.start()

    def stop(self) -> tuple[float, str, str, str]:
        """(kWh of CPU + GPU without PUE, label, method, power model)."""
        self._cc.stop()
        data = self._cc.final_emissions_data
        modes = {str(getattr(h, "_mode", "")) for h in getattr(self._cc, "_hardware", [])} - {"", "None"}
        label = "measured" if modes & {"intel_rapl", "intel_power_gadget", "apple_powermetrics"} else "estimated"
        model = (
            f"codecarbon {getattr(data, 'codecarbon_version', '?')} CPU mode(s) {sorted(modes)}; "
            f"RAM energy {float(data.ram_energy):.3g} kWh excluded"
        )
        return float(data.cpu_energy) + float(data.gpu_energy), label, "codecarbon OfflineEmissionsTracker", model


class _ImpactTracker:
    """experiment-impact-tracker (optional): its `total_power` already includes its PUE of 1.58."""

    def __init__(self, tracker: EnergyTracker) -> None:
        from experiment_impact_tracker.compute_tracker import ImpactTracker

        self._logdir = tempfile.mkdtemp(prefix="harness-eit-")
        self._eit = ImpactTracker(self._logdir)
        self._eit.launch_impact_monitor()

    def stop(self) -> tuple[float, str, str, str]:
        from experiment_impact_tracker.data_interface import DataInterface

        getattr(self._eit, "stop", lambda: None)()
        total = float(DataInterface([self._logdir]).total_power)
        return (
            total / DEFAULT_PUE,
            "measured",
            "experiment-impact-tracker",
            f"its total_power / {DEFAULT_PUE}; logs in {self._logdir}",
        )


EXTERNAL: dict[str, Any] = {"codecarbon": _CodeCarbon, "experiment_impact_tracker": _ImpactTracker}


def measure_energy(
    model: Any, batches: list[Any], *, threads: int = 1, min_seconds: float = 2.0, **tracker_settings: Any
) -> Energy:
    """Run inference passes of a model loaded by its backend over `batches` (calls it prepared, in its measuring
    mode at `threads` threads) for at least `min_seconds` under an EnergyTracker."""
    from harness.measure import count_rows

    calls = [(model.prepare(batch), count_rows(batch)) for batch in batches]
    examples = 0
    with model.measuring(threads), EnergyTracker(**tracker_settings) as tracker:
        start = time.perf_counter()
        while examples == 0 or time.perf_counter() - start < min_seconds:
            for call, rows in calls:
                call()
                examples += rows
    return tracker.result(examples)


def take(inputs: Inputs, **options: Any) -> Energy:
    """The measurement `energy` of the table, outside a task run: passes over the throughput batches (`harness
    evaluate` tracks the energy of the task's own inference instead)."""
    return measure_energy(inputs.model, inputs.batches, threads=inputs.threads, **options)
