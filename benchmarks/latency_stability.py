"""Latency stability and int8 speed-up, measured by harness.measure.latency (a benchmark script, not a test).

1. A 6-layer, 384-wide BERT (MiniLM-L6 shape, random weights) measured five times in one run at batch 1,
   one thread, sequence length 128: prints each p50 and the relative spread of the five medians (goal < 3%
   on an idle machine).
   Each run also times the machine-speed probe (a fixed matmul) between its rounds: prints how far the machine's
   own speed moved over the five runs, and the spread of the p50 divided by the probe (probe units).
2. The same model's speed-up over its 12-layer parent shape, measured five times (each in interleaved
   rounds): prints the spread of the five parent medians (the machine's drift over the run) beside the
   spread of the five speed-ups (what is left of it in a ratio).
3. A BERT-base-shaped model (random weights), fp32 versus dynamic int8, in interleaved rounds with the
   same settings (batch 1, one thread, length 128): prints the speed-up under each of torch's quantized
   engines (fbgemm, x86, onednn, qnnpack), since the engine alone moves it.

Run: python benchmarks/latency_stability.py [--int8-only | --no-int8]
"""

from __future__ import annotations

import warnings

import torch
from transformers import BertConfig, BertModel

from harness.backends.torch_hf import TorchModel, wrap
from harness.measure.latency import measure_latency, measure_speedup, relative_spread

SEQ_LEN = 128
SETTINGS = {"threads": 1, "tolerance": 0.03, "budget_s": 20.0}


def minilm_shape(layers: int) -> TorchModel:
    torch.manual_seed(0)
    cfg = BertConfig(hidden_size=384, num_hidden_layers=layers, num_attention_heads=12, intermediate_size=1536)
    return wrap(BertModel(cfg).eval())


def stability() -> None:
    model = minilm_shape(6)
    inputs = model.synthetic_batch(1, SEQ_LEN)
    runs = [measure_latency(model, inputs, **SETTINGS) for _ in range(5)]
    medians = [r.p50_ms for r in runs]
    spread = relative_spread(medians)
    print(f"[stability] BERT 6x384, batch 1, 1 thread, length {SEQ_LEN}: five runs")
    for i, r in enumerate(runs, 1):
        speed = r.machine_speed
        print(
            f"  run {i}: p50 {r.p50_ms:.2f} ms  p90 {r.p90_ms:.2f}  p99 {r.p99_ms:.2f}  rounds {r.rounds}  "
            f"stable {r.stable}  other load {r.other_load_cores:.2f} cores  steal {r.steal_cores:.3f}  noisy {r.noisy}  | "
            f"speed probe "
            f"{speed['median_ms']:.3f} ms (drift within the run {speed['drift'] * 100:.2f}%)  "
            f"p50 {r.p50_probe_units:.3f} probe units"
        )
    print(f"  relative spread of the five medians: {spread * 100:.2f}% (goal < 3% on an idle machine)")
    machine = relative_spread([r.machine_speed["median_ms"] for r in runs])
    units = relative_spread([r.p50_probe_units for r in runs])
    print(
        f"  the machine's own speed (probe medians) moved {machine * 100:.2f}% over the five runs; "
        f"the p50 in probe units {units * 100:.2f}%"
    )


def ratio_stability() -> None:
    model, parent = minilm_shape(6), minilm_shape(12)
    inputs = model.synthetic_batch(1, SEQ_LEN)
    results = [measure_speedup(parent, model, inputs, **{**SETTINGS, "budget_s": 40.0}) for _ in range(5)]
    print(
        f"[ratio] speed-up of BERT 6x384 over BERT 12x384, batch 1, 1 thread, length {SEQ_LEN}: five measurements, "
        "each in interleaved rounds"
    )
    for i, r in enumerate(results, 1):
        print(
            f"  run {i}: 12-layer p50 {r.reference['p50_ms']:.2f} ms, 6-layer p50 {r.candidate['p50_ms']:.2f} ms, "
            f"speed-up {r.speedup:.3f}x  (stable {r.reference['stable']}/{r.candidate['stable']}, other load "
            f"{max(r.reference['other_load_cores'], r.candidate['other_load_cores']):.2f} cores)"
        )
    print(
        f"  spread of the five 12-layer medians: {relative_spread([r.reference['p50_ms'] for r in results]) * 100:.2f}%; "
        f"of the five 6-layer medians: {relative_spread([r.candidate['p50_ms'] for r in results]) * 100:.2f}%; "
        f"of the five speed-ups: {relative_spread([r.speedup for r in results]) * 100:.2f}%"
    )


def int8_speedup() -> None:
    torch.manual_seed(0)
    fp32 = wrap(BertModel(BertConfig()).eval())
    inputs = fp32.synthetic_batch(1, SEQ_LEN)
    default = torch.backends.quantized.engine
    engines = [default] + [e for e in torch.backends.quantized.supported_engines if e not in ("none", default)]
    print(
        f"[int8] BERT-base shape, batch 1, 1 thread, length {SEQ_LEN}; int8 kernels per quantized engine "
        f"(default here: {default}); each engine packs its own weights, so each is quantized afresh"
    )
    for engine in engines:
        torch.backends.quantized.engine = engine
        with warnings.catch_warnings():  # torch.ao deprecation notices
            warnings.simplefilter("ignore")
            int8 = wrap(
                torch.ao.quantization.quantize_dynamic(fp32.module, {torch.nn.Linear}, dtype=torch.qint8, inplace=False)
            )
        result = measure_speedup(fp32, int8, inputs, **{**SETTINGS, "budget_s": 90.0})  # ~7 s per pair of rounds here
        ref, cand = result.reference, result.candidate
        print(
            f"  {engine:8s} fp32 p50 {ref['p50_ms']:.1f} ms, int8 p50 {cand['p50_ms']:.1f} ms: "
            f"speed-up {result.speedup:.2f}x (stable {ref['stable']}/{cand['stable']}, other load "
            f"{max(ref['other_load_cores'], cand['other_load_cores']):.2f} cores)"
        )
    torch.backends.quantized.engine = default


if __name__ == "__main__":
    import sys

    if "--int8-only" not in sys.argv:
        stability()
        ratio_stability()
    if "--no-int8" not in sys.argv:
        int8_speedup()
