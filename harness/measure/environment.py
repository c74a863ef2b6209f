"""Fingerprint of the machine and software a measurement ran on, so records from different runs can be compared."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from harness.measure.spec import Inputs

NO_GPU = "no such GPU here"  # the processor named for a cuda device torch cannot see
CPUINFO = Path("/proc/cpuinfo")  # Linux procfs: the CPU model name (absent elsewhere: platform then answers)


@dataclass(frozen=True)
class Environment:
    """CPU, cores, threads used, GPU, memory, OS and library versions, and the harness checkout's commit."""

    cpu_model: str
    physical_cores: int | None
    logical_cpus: int | None
    threads: int
    gpu: list[str]
    memory_bytes: int
    os: str
    python: str
    torch: str | None
    quantized_engine: str | None  # kernels of int8 layers: fbgemm, x86, onednn or qnnpack; None without torch loaded
    transformers: str | None
    harness_version: str
    harness_commit: str | None
    onnxruntime: str | None = None  # the runtime of ONNX models (backend onnxruntime); None where not installed
    # what ran the measured numbers: the CPU model, or the GPU's name on a cuda device (a timed record's key holds it)
    processor: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in CPUINFO.read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: Path | None = None) -> str | None:
    """The commit checked out at the harness source tree (read-only `git rev-parse`), None outside a checkout."""
    root = path or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def _gpus() -> list[str]:
    try:
        import torch
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def quantized_engine() -> str | None:
    """The kernel library torch runs quantized layers on; it alone moves int8 latency by 10-40% on one CPU.

    None when torch is not loaded: the fingerprint does not import it just to ask.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        return str(torch.backends.quantized.engine)
    except (AttributeError, RuntimeError):
        return None


def processor(device: str = "cpu") -> str:
    """The processor a run on `device` measures: the GPU's name (torch.cuda.get_device_name) on cuda or cuda:N
    (NO_GPU where torch sees no such GPU: `harness status` of a gpu track on another machine), else the CPU model."""
    kind, _, index = device.partition(":")
    if kind != "cuda":
        return cpu_model()
    import torch

    number = int(index) if index else 0
    if not torch.cuda.is_available() or number >= torch.cuda.device_count():
        return NO_GPU
    return str(torch.cuda.get_device_name(number))


def fingerprint(*, threads: int = 1, device: str = "cpu") -> Environment:
    """Describe this machine and software; `threads` is the intra-op thread count the measurements used, `device`
    where the model ran (its processor is named)."""
    import psutil

    import harness

    cpu = cpu_model()
    return Environment(
        cpu_model=cpu,
        physical_cores=psutil.cpu_count(logical=False),
        logical_cpus=psutil.cpu_count(logical=True) or os.cpu_count(),
        threads=threads,
        gpu=_gpus(),
        memory_bytes=int(psutil.virtual_memory().total),
        os=platform.platform(),
        python=platform.python_version(),
        torch=_version("torch"),
        quantized_engine=quantized_engine(),
        transformers=_version("transformers"),
        harness_version=harness.__version__,
        harness_commit=git_commit(),
        onnxruntime=_version("onnxruntime"),
        processor=processor(device) if device != "cpu" else cpu,
    )


def take(inputs: Inputs, **options: Any) -> Environment:
    """The measurement `environment` of the table: this machine and software, at the measurements' threads."""
    return fingerprint(threads=inputs.threads, **options)
