"""How much this machine's own speed drifts, and how much of it the machine-speed probe divides out (a benchmark
script, not a test).

Times a 6-layer, 384-wide BERT (batch 1, one thread, length 128) in rounds of 3 calls, each followed by a round of
the machine-speed probe (harness.measure.machine_speed), for `--seconds`. Prints per-window medians of the model,
the probe and their ratio (the p50 in probe units), the spread of each over the windows, and, for five
back-to-back measurements of T seconds cut from the trace, how often the five model medians agree within 3%
(the latency-stability goal of benchmarks/latency_stability.py) for several T.

    python benchmarks/machine_drift.py [--seconds 300] [--window 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import BertConfig, BertModel

from harness.backends.base import CpuClock
from harness.backends.torch_run import call_model, synthetic_inputs
from harness.measure.latency import interleaved_rounds, relative_spread
from harness.measure.machine_speed import CALLS_PER_ROUND, SpeedProbe

GOAL = 0.03  # the latency-stability goal: five medians within 3%
SEQ_LEN = 128
MODEL_CALLS = 3  # model calls per round


def trace(seconds: float) -> list[tuple[float, float, float]]:
    """(seconds of timed calls so far, model round median ms, probe round median ms without its first call), per
    round, from the harness's own interleaved rounds (tolerance 0: they run until the deadline)."""
    torch.manual_seed(0)
    model = BertModel(
        BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    ).eval()
    inputs, probe = synthetic_inputs(model, 1, SEQ_LEN), SpeedProbe()
    with torch.inference_mode():
        for _ in range(10):
            call_model(model, inputs)
            probe()
        rounds, _, _ = interleaved_rounds(
            [lambda: call_model(model, inputs), probe],
            CpuClock(),
            per_round=[MODEL_CALLS, CALLS_PER_ROUND],
            tolerance=0.0,
            deadline=time.perf_counter() + seconds,
        )
    out, elapsed = [], 0.0
    for m, p in zip(*rounds):
        elapsed += sum(m) + sum(p)
        out.append((elapsed, statistics.median(m) * 1e3, statistics.median(p[1:]) * 1e3))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--window", type=float, default=10.0, help="seconds per window of the printed trace")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rounds = trace(args.seconds)
    windows: dict[int, list[tuple[float, float]]] = {}
    for t, m, p in rounds:
        windows.setdefault(int(t // args.window), []).append((m, p))
    model = [statistics.median(m for m, _ in w) for w in windows.values()]
    probe = [statistics.median(p for _, p in w) for w in windows.values()]
    ratio = [m / p for m, p in zip(model, probe)]
    print(
        f"[drift] BERT 6x384, batch 1, 1 thread, length {SEQ_LEN}: {len(rounds)} rounds over {args.seconds:.0f} s; "
        f"medians per {args.window:.0f} s window"
    )
    print("  model ms:    " + " ".join(f"{x:.1f}" for x in model))
    print("  probe ms:    " + " ".join(f"{x:.2f}" for x in probe))
    print("  probe units: " + " ".join(f"{x:.2f}" for x in ratio))
    print(
        "  spread over the windows: "
        + ", ".join(
            f"{name} {relative_spread(values) * 100:.2f}%"
            for name, values in (("model", model), ("probe", probe), ("probe units", ratio))
        )
    )
    for length in (5, 10, 20, 30):
        met, starts, offset = 0, 0, 0.0
        while offset + 5 * length <= rounds[-1][0]:
            medians = [
                statistics.median(m for t, m, _ in rounds if offset + k * length <= t < offset + (k + 1) * length)
                for k in range(5)
            ]
            met += relative_spread(medians) < GOAL
            starts += 1
            offset += 5.0
        if starts:
            print(
                f"  five back-to-back {length} s measurements (cut at {starts} starting points 5 s apart): the five "
                f"model medians agree within {GOAL:.0%} at {met} ({met / starts:.0%})"
            )


if __name__ == "__main__":
    main()
