"""Peak RSS of an inference call: the peak covers the call's working memory, and the method is stated."""

from __future__ import annotations

import numpy as np
import torch

from harness.backends.torch_hf import wrap
from harness.measure.memory import measure_memory


class Hungry(torch.nn.Module):
    def forward(self, x):
        big = torch.ones(64, 1024, 1024)  # 256 MiB, freed before the call returns
        return x + big.sum()


def test_peak_rss_sees_transient_allocation():
    result = measure_memory(wrap(Hungry()), torch.zeros(1))
    assert result.peak_increase_bytes >= 200 * 2**20
    assert result.peak_rss_bytes >= result.rss_before_bytes
    assert result.gpu_peak_allocated_bytes is None
    assert "VmHWM" in result.method or "sampled" in result.method
    assert result.to_dict()["unit"] == "bytes"
    assert np.isfinite(result.peak_rss_bytes)


CHILD = """
import ctypes, torch
from harness.backends.torch_hf import wrap
from harness.measure.memory import measure_memory
libc = ctypes.CDLL(None)
M_MMAP_THRESHOLD, M_TRIM_THRESHOLD = -3, -1  # mallopt parameters (glibc malloc.h)
libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)  # big blocks from the heap, as after a long run has raised the threshold
libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)  # and freed heap memory kept resident
spare = torch.ones(80, 1024, 1024)  # 320 MiB on the heap, then freed: resident, ready to serve the next block
del spare

class Hungry(torch.nn.Module):
    def forward(self, x):
        return x + torch.ones(64, 1024, 1024).sum()

print(measure_memory(wrap(Hungry()), torch.zeros(1)).peak_increase_bytes)
"""


def test_peak_rss_sees_an_allocation_served_from_memory_an_earlier_job_freed():
    """Earlier work in the process (the demo measures eight models in one) leaves freed heap memory resident: a call
    served from it must still show its peak."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True).stdout
    assert int(out.strip().splitlines()[-1]) >= 200 * 2**20
