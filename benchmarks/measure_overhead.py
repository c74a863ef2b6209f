"""What measuring costs (a benchmark script, not a test).

1. Wall time that counting parameters and FLOPs adds for a 6-layer, 384-wide BERT (goal < 2 s), with and
   without the fvcore cross-check.
2. Wall-time overhead of energy tracking on an inference loop (goal < 2%): the same fixed number of calls
   (about --loop-seconds) timed bare and inside the tracker, in many short pairs of alternating order, so
   that the machine's own drift (several % over tens of seconds on this VM) falls on both alike; overhead =
   total tracked time / total bare time - 1, with the median and quartiles of the per-pair ratios beside it.
   The sampler's own cost is timed too, free of the machine's noise.

Run: python benchmarks/measure_overhead.py [--loop-seconds 4] [--pairs 12] [--codecarbon]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from transformers import BertConfig, BertModel

from harness.backends.torch_hf import wrap
from harness.backends.torch_run import call_model, fixed_threads, synthetic_inputs
from harness.measure.energy import EnergyTracker
from harness.measure.flops import measure_flops
from harness.measure.latency import LoadProbe
from harness.measure.params import count_params


def counting_time(model: torch.nn.Module) -> None:
    for cross_check in (False, True):
        start = time.perf_counter()
        params = count_params(wrap(model))
        flops = measure_flops(wrap(model), reference_length=128, cross_check=cross_check)
        took = time.perf_counter() - start
        print(
            f"[count] BERT 6x384: params {params.total_params:,} + FLOPs {flops.flops:,} at 128 "
            f"(fvcore cross-check {'on' if cross_check else 'off'}): {took:.2f} s (goal < 2 s)"
        )


def loop(model: torch.nn.Module, inputs: dict, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call_model(model, inputs)
    return time.perf_counter() - start


def tracked_loop(model: torch.nn.Module, inputs: dict, calls: int, backend: str) -> tuple[float, float, object]:
    """(seconds of the loop inside the tracker, seconds of the whole `with` block, tracker)."""
    start = time.perf_counter()
    with EnergyTracker(backend=backend) as tracker:
        inner = loop(model, inputs, calls)
    return inner, time.perf_counter() - start, tracker


def energy_overhead(model: torch.nn.Module, loop_seconds: float, backend: str, pairs: int) -> None:
    inputs = synthetic_inputs(model, 1, 128)
    with fixed_threads(1), torch.inference_mode():
        loop(model, inputs, 3)
        calls = max(1, int(loop_seconds / (loop(model, inputs, 5) / 5)))
        probe = LoadProbe()
        rows = []
        for i in range(pairs):  # bare/tracked pairs, order alternated
            if i % 2 == 0:
                bare = loop(model, inputs, calls)
                inner, block, tracker = tracked_loop(model, inputs, calls, backend)
            else:
                inner, block, tracker = tracked_loop(model, inputs, calls, backend)
                bare = loop(model, inputs, calls)
            rows.append((bare, inner, block))
        other = probe.cores()[0]
    ratios = [block / bare - 1 for bare, _, block in rows]
    q1, median, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    total = sum(r[2] for r in rows) / sum(r[0] for r in rows) - 1
    print(
        f"[energy] {backend}: {pairs} pair(s) of {calls} calls (~{statistics.median(r[0] for r in rows):.1f} s "
        f"each); per-pair overhead " + " ".join(f"{100 * x:+.1f}%" for x in ratios)
    )
    print(
        f"[energy] {backend}: overhead {total * 100:+.2f}% (total tracked / total bare); per pair median "
        f"{median * 100:+.2f}%, quartiles {q1 * 100:+.2f}% to {q3 * 100:+.2f}% (goal < 2%; other processes used "
        f"{other:.2f} cores meanwhile)"
    )
    result = tracker.result(calls)
    print(
        f"[energy] {backend}: {result.label} via {result.method}, {result.energy_kwh:.3g} kWh in the last tracked "
        f"block, {result.samples} samples"
    )
    if backend == "auto":  # the sampler's own cost, free of the machine's noise
        n, t0 = 200, time.perf_counter()
        for _ in range(n):
            tracker._sample()
        per_sample = (time.perf_counter() - t0) / n
        bare = statistics.median(r[0] for r in rows)
        print(
            f"[energy] sampler cost: {per_sample * 1e3:.3f} ms per sample x {result.samples} samples = "
            f"{per_sample * result.samples / bare * 100:.4f}% of the loop; start+stop "
            f"{statistics.median(r[2] - r[1] for r in rows) * 1e3:.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-seconds", type=float, default=4.0, help="length of each timed block (default 4)")
    parser.add_argument("--pairs", type=int, default=12, help="bare/tracked pairs for the harness tracker (default 12)")
    parser.add_argument("--codecarbon", action="store_true", help="also time codecarbon's offline tracker (1 pair)")
    args = parser.parse_args()
    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    model = BertModel(cfg).eval()
    counting_time(model)
    energy_overhead(model, args.loop_seconds, "auto", args.pairs)
    if args.codecarbon:
        energy_overhead(model, args.loop_seconds, "codecarbon", 2)


if __name__ == "__main__":
    main()
