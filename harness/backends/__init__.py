"""Inference backends: one module each, registered here by name."""

from __future__ import annotations

from pathlib import Path

from harness.backends.base import LoadOptions, Model
from harness.registry import Registry

BACKENDS: Registry = Registry("backend")
BACKENDS.add("torch", "harness.backends.torch_hf:load")


def load_model(folder: str | Path, head: str, options: LoadOptions = LoadOptions(), backend: str = "torch") -> Model:
    """Load a model folder for `head` with the named backend."""
    return BACKENDS.get(backend)(folder, head, options)
