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
