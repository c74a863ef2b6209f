"""What measuring costs (a benchmark script, not a test).

1. Wall time that counting parameters and FLOPs adds for a 6-layer, 384-wide BERT (goal < 2 s), with and
   without the fvcore cross-check.
2. Wall-time overhead of energy tracking on a ~20 s inference loop (goal < 2%): the same fixed number of
   calls timed bare, tracked, bare again; overhead = tracked / mean(bare) - 1.

Run: python benchmarks/measure_overhead.py [--loop-seconds 20] [--codecarbon]
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import BertConfig, BertModel

from harness.measure import call_model, synthetic_inputs
from harness.measure.energy import EnergyTracker
from harness.measure.flops import measure_flops
from harness.measure.latency import LoadProbe, fixed_threads
from harness.measure.params import count_params


def counting_time(model: torch.nn.Module) -> None:
    for cross_check in (False, True):
        start = time.perf_counter()
        params = count_params(model)
        flops = measure_flops(model, reference_length=128, cross_check=cross_check)
        took = time.perf_counter() - start
        print(f"[count] BERT 6x384: params {params.total_params:,} + FLOPs {flops.flops:,} at 128 "
              f"(fvcore cross-check {'on' if cross_check else 'off'}): {took:.2f} s (goal < 2 s)")


def loop(model: torch.nn.Module, inputs: dict, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call_model(model, inputs)
    return time.perf_counter() - start


def energy_overhead(model: torch.nn.Module, loop_seconds: float, backends: list[str]) -> None:
    inputs = synthetic_inputs(model, 1, 128)
    with fixed_threads(1), torch.inference_mode():
        loop(model, inputs, 3)
        per_call = loop(model, inputs, 5) / 5
        calls = max(1, int(loop_seconds / per_call))
        for backend in backends:
            probe = LoadProbe()
            bare1 = loop(model, inputs, calls)
            with EnergyTracker(backend=backend) as tracker:
                tracked = loop(model, inputs, calls)
            total = tracker.duration_s
            bare2 = loop(model, inputs, calls)
            bare = (bare1 + bare2) / 2
            result = tracker.result(calls)
            print(f"[energy] backend {backend}: {calls} calls; bare {bare1:.2f} s / {bare2:.2f} s, tracked loop "
                  f"{tracked:.2f} s (tracker block incl. start/stop {total:.2f} s): overhead "
                  f"{(tracked / bare - 1) * 100:+.2f}% loop, {(total / bare - 1) * 100:+.2f}% block "
                  f"(goal < 2%); {result.label} via {result.method}, {result.energy_kwh:.3g} kWh, "
                  f"{result.samples} samples; other load {probe.other_cores():.2f} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-seconds", type=float, default=20.0)
    parser.add_argument("--codecarbon", action="store_true", help="also time codecarbon's offline tracker")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    model = BertModel(cfg).eval()
    counting_time(model)
    energy_overhead(model, args.loop_seconds, ["auto"] + (["codecarbon"] if args.codecarbon else []))


if __name__ == "__main__":
    main()
