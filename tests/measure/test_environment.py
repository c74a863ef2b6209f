"""Environment fingerprint: every key present and JSON-able."""

from __future__ import annotations

import json

import harness
from harness.measure.environment import fingerprint, git_commit


def test_fingerprint_keys():
    d = fingerprint(threads=3).to_dict()
    assert set(d) == {
        "cpu_model",
        "physical_cores",
        "logical_cpus",
        "threads",
        "gpu",
        "memory_bytes",
        "os",
        "python",
        "torch",
        "quantized_engine",
        "transformers",
        "harness_version",
        "harness_commit",
        "onnxruntime",
        "processor",
    }
    assert d["threads"] == 3 and d["harness_version"] == harness.__version__
    assert d["cpu_model"] and d["memory_bytes"] > 0 and d["torch"]
    json.dumps(d)


def test_git_commit_outside_a_checkout(tmp_path):
    assert git_commit(tmp_path) is None


def test_the_quantized_engine_is_recorded_once_torch_is_loaded():
    import torch

    assert fingerprint().to_dict()["quantized_engine"] == torch.backends.quantized.engine


def test_the_environment_names_the_onnxruntime_that_ran_onnx_models():
    """An ONNX model's latency depends on its runtime's version as a torch model's does on torch's."""
    from importlib import metadata

    from harness.measure.environment import fingerprint

    assert fingerprint().to_dict()["onnxruntime"] == metadata.version("onnxruntime")
