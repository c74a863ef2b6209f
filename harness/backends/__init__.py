"""Inference backends: one module each, registered here by name (one line: `BACKENDS.add(name, "module:load")`).

A backend module offers `load(folder, head, options)`, returning a harness.backends.base.Model, and HARDWARE, the
hardware class its records are ranked in; it may offer `check_placement(folder, device, dtype)`, which refuses a
device or dtype it cannot run the folder in without loading it (a run then refuses the job before it starts).
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.backends.base import LoadOptions, Model
from harness.registry import Registry

BACKENDS: Registry = Registry("backend")
BACKENDS.add("torch", "harness.backends.torch_hf:load")
BACKENDS.add("onnxruntime", "harness.backends.onnx_rt:load")


def load_model(folder: str | Path, head: str, options: LoadOptions = LoadOptions(), backend: str = "torch") -> Model:
    """Load a model folder for `head` with the named backend."""
    return BACKENDS.get(backend)(folder, head, options)


def backend_hardware(backend: str) -> str:
    """The hardware class of the named backend's records (its module's HARDWARE), known before any model loads:
    a record's key holds it."""
    from harness.errors import UserError

    load = BACKENDS.get(backend)
    module = sys.modules[load.__module__]
    hardware = getattr(module, "HARDWARE", None)
    if not isinstance(hardware, str) or not hardware:
        raise UserError(
            f"backend {backend!r} ({module.__name__}) names no hardware class: its module has no HARDWARE string",
            fix=f'add HARDWARE = "cpu" (or "gpu") to {module.__name__}: the class its records are ranked in',
        )
    return hardware


def check_placement(backend: str, folder: str | Path, device: str, dtype: str) -> None:
    """Refuse (UserError), before anything loads, a device or dtype the named backend cannot run `folder` in: what
    its module's check_placement says; a backend without one is judged when it loads."""
    load = BACKENDS.get(backend)
    check = getattr(sys.modules[load.__module__], "check_placement", None)
    if check is not None and Path(folder).exists():
        check(Path(folder), device, dtype)
