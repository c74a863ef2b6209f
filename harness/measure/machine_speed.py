"""Machine-speed probe: a fixed fp32 matmul timed between latency rounds, so a record shows how fast the machine ran.

A VM's speed can drift by several % over minutes with no load of its own (traced in
benchmarks/latency_stability.py); the probe times that drift inside the measurement, and a latency divided by the
probe's median (probe units) cancels most of it, as a speed-up measured in interleaved rounds does.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

# One feed-forward matmul of a 384-wide BERT (MiniLM-L6 shape: hidden 384, intermediate 1536) at 128 tokens:
# the dense fp32 work that dominates a small encoder's batch-1 latency. About 5 ms at one thread here.
PROBE_SHAPE = (128, 384, 1536)  # (tokens, in features, out features)
PROBE_SEED = 0
# Probe calls timed after each round of the model (the first is left out): ~50 ms here against a model round of
# ~300 ms.
CALLS_PER_ROUND = 11
PROBE = "fp32 matmul ({0}x{1}) @ ({1}x{2}) on the model's device, at the latency's thread count".format(*PROBE_SHAPE)


def relative_spread(values: Sequence[float]) -> float:
    """(max - min) / median: how far apart repeated measurements of one quantity lie, as a share of it."""
    return (max(values) - min(values)) / statistics.median(values)


class SpeedProbe:
    """The probe's operands, made once (fixed seed) on `device`; calling it runs the matmul once."""

    def __init__(self, device: Any = "cpu") -> None:
        import torch

        tokens, inner, outer = PROBE_SHAPE
        gen = torch.Generator().manual_seed(PROBE_SEED)
        self.a = torch.randn(tokens, inner, generator=gen).to(device)
        self.b = torch.randn(inner, outer, generator=gen).to(device)

    def __call__(self) -> Any:
        import torch

        return torch.mm(self.a, self.b)


def speed_summary(rounds: list[list[float]], tolerance: float) -> dict[str, Any]:
    """The probe's median (ms) over its rounds, and its drift: the spread of the medians of the first, middle and
    last third of the rounds, which is flagged when over `tolerance` (the machine changed speed while measuring).

    Each round's first call is left out: it refills the caches the model's round evicted (~8% slower here), by an
    amount that depends on the model, and the probe must not.
    """
    kept = [[t * 1000.0 for t in r[1:]] for r in rounds]
    thirds = [kept[i * len(kept) // 3 : (i + 1) * len(kept) // 3] for i in range(3)]
    medians = [statistics.median(t for r in part for t in r) for part in thirds if part]
    drift = relative_spread(medians) if len(medians) == 3 else None
    calls = [t for r in kept for t in r]
    return {
        "probe": PROBE,
        "median_ms": statistics.median(calls),
        "calls": len(calls),
        "drift": None if drift is None else round(drift, 5),
        "drifted": drift is not None and drift > tolerance,
        "method": "median of the probe's calls after the first of each round; drift = (max - min) / median of "
        "the medians of the first, middle and last third of the rounds (None: fewer than 3 rounds)",
    }
