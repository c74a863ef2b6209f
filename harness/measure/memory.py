"""Peak resident memory of an inference call (process RSS high-water mark), and the device allocator's peak where the
backend has one (the CUDA allocator)."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.measure.spec import Inputs

_STATUS = Path("/proc/self/status")
_STATM = Path("/proc/self/statm")  # its second field: resident pages
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Memory:
    """Process RSS before and at peak during the call, how the peak was obtained, and the GPU peak if any."""

    rss_before_bytes: int
    peak_rss_bytes: int
    peak_increase_bytes: int
    method: str
    gpu_peak_allocated_bytes: int | None
    unit: str = "bytes"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form with the method and unit."""
        return asdict(self)


def _status_kb(field: str) -> int | None:
    """A `VmHWM`/`VmRSS` line of /proc/self/status in kB, or None where there is no procfs."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    """This process's resident memory: from /proc/self, which names the caller wherever it runs (inside a worker's
    PID namespace os.getpid() is not the id /proc knows it by, so psutil.Process() would read another process);
    psutil where there is no procfs."""
    import os

    try:
        return int(_STATM.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        import psutil

        return int(psutil.Process().memory_info().rss)


def _release_freed_heap() -> bool:
    """Hand memory the process freed back to the OS (glibc's malloc_trim), so that a call served from freed, still
    resident heap pages (left by earlier work in this process) shows in RSS; False where there is no glibc."""
    import ctypes

    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return True


def _reset_hwm() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0: write 5 to clear_refs); False where not allowed."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    before, hwm = _status_kb("VmRSS"), _status_kb("VmHWM")
    return before is not None and hwm is not None and hwm <= before + 64  # reset took effect


class _RssSampler(threading.Thread):
    """Polls this process's RSS every `interval_s` and keeps the maximum (misses spikes shorter than the interval)."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(daemon=True)
        self._interval = interval_s
        self._stop_event = threading.Event()
        self.peak = rss_bytes()

    def run(self) -> None:
        while not self._stop_event.wait(self._interval):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, rss_bytes())


def measure_memory(model: Any, inputs: Any, *, interval_s: float = 0.002) -> Memory:
    """Run a model loaded by its backend once on the batch `inputs` (a call the backend prepared, in its measuring
    mode) and report the process's peak RSS during it, and the device allocator's peak where it has one."""
    call = model.prepare(inputs)
    model.device_peak_bytes(reset=True)
    trimmed = _release_freed_heap()
    before = rss_bytes()
    exact = _reset_hwm()
    sampler = None if exact else _RssSampler(interval_s)
    if sampler is not None:
        sampler.start()
    with model.measuring():
        call()
    gpu = model.device_peak_bytes()  # waits for the device's queued work
    if exact:
        peak = (_status_kb("VmHWM") or 0) * 1024
        method = "kernel RSS high-water mark (VmHWM reset via /proc/self/clear_refs, read after the call): exact"
    else:
        peak = sampler.stop() if sampler else before
        method = f"RSS sampled by a thread every {interval_s * 1000:g} ms: a lower bound, short spikes can be missed"
    peak = max(peak, before)
    if trimmed:
        method += "; freed heap memory handed back to the OS first (glibc malloc_trim)"
    return Memory(
        rss_before_bytes=before,
        peak_rss_bytes=peak,
        peak_increase_bytes=peak - before,
        method=method,
        gpu_peak_allocated_bytes=gpu,
    )


def take(inputs: Inputs, **options: Any) -> Memory:
    """The measurement `memory` of the table: peak memory of one throughput batch."""
    return measure_memory(inputs.model, inputs.batches[0], **options)
