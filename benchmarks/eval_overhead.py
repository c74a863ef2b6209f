"""How much the harness costs over bare inference, and what dynamic padding saves.

Evaluates one 6-layer, 384-wide BERT (random weights, real uncased vocab) on SST-2 and QNLI dev from
the mirror and prints two ratios measured in this run:
  harness / bare   wall time of `harness.evaluation.evaluate.evaluate` (data, tokenization, inference under the
                   energy tracker, metrics, files; the static measurements, timed by
                   benchmarks/measure_overhead.py, are off) over a bare loop of forward passes on
                   the same, already padded batches (goal <= 1.05);
  pad128 / harness wall time of a pad-everything-to-128 evaluation over the harness's (goal >= 2).

    HARNESS_DATA_DIR=../shared/data python benchmarks/eval_overhead.py [--limit N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from harness.backends import load_model
from harness.evaluation.evaluate import ModelRef, evaluate
from harness.inference.batching import pad
from harness.inference.formulations import EvalSettings
from harness.inference.formulations.classify import encode
from harness.tasks import get_task
from harness.tasks.data import load_rows
from harness.testing import tiny

TASKS = ("sst2", "qnli")
SHAPE = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
BATCH = 32
PAD_TO = 128


def bare_loop(model, batches) -> float:
    """Seconds for forward passes alone over pre-built tensors."""
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in batches:
            model.module(**b).logits.argmax(-1)
    return time.perf_counter() - t0


def pad128(model, task, rows) -> float:
    """Seconds for the naive evaluation: tokenize every pair padded to 128, unsorted, then infer."""
    t0 = time.perf_counter()
    preds = []
    with torch.inference_mode():
        for start in range(0, len(rows), BATCH):
            texts = [task.texts(r) for r in rows[start : start + BATCH]]
            a = [t[0] for t in texts]
            b = [t[1] for t in texts] if len(texts[0]) > 1 else None
            enc = model.tokenizer(a, b, padding="max_length", truncation=True, max_length=PAD_TO, return_tensors="pt")
            preds.extend(model.module(**enc).logits.argmax(-1).tolist())
    assert len(preds) == len(rows)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N examples of each task")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(os.environ.get("HARNESS_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        # a random 6-layer, 384-wide BERT classifier with the real vocabulary
        folder = tiny.save_tiny_bert(Path(tmp) / "bert-6l-384", data / tiny.VOCAB_FILE, **SHAPE)
        model = load_model(folder, "sequence_classification")
        print(f"model: BERT 6 layers x 384, threads {args.threads}, batch {BATCH}, data {data}")
        totals = {"harness": 0.0, "bare": 0.0, "pad128": 0.0}
        for name in TASKS:
            task = get_task(name)
            rows = load_rows(task, data, args.limit)
            # warm-up so no path pays first-call costs
            evaluate(
                ModelRef("bench", folder),
                name,
                EvalSettings(batch_size=BATCH),
                data_dir=data,
                results_dir=Path(tmp) / "warm",
                limit=BATCH,
                model=model,
                measure=(),
            )
            t0 = time.perf_counter()
            record = evaluate(
                ModelRef("bench", folder),
                name,
                EvalSettings(batch_size=BATCH),
                data_dir=data,
                results_dir=Path(tmp) / "results",
                limit=args.limit,
                model=model,
                measure=(),
            )
            harness_s = time.perf_counter() - t0
            assert record.ok, record.error
            enc = encode(model, [task.texts(r) for r in rows], task.max_length)
            order = sorted(range(len(enc)), key=lambda i: len(enc[i]["input_ids"]))
            batches = [
                {k: torch.as_tensor(v) for k, v in pad([enc[i] for i in order[s : s + BATCH]], model.tokenizer).items()}
                for s in range(0, len(order), BATCH)
            ]
            bare_s = bare_loop(model, batches)
            naive_s = pad128(model, task, rows)
            lengths = np.array([len(e["input_ids"]) for e in enc])
            print(
                f"{name}: {len(rows)} examples, mean length {lengths.mean():.1f} tokens | harness {harness_s:.2f} s, "
                f"bare loop {bare_s:.2f} s, pad-to-128 {naive_s:.2f} s | harness/bare {harness_s / bare_s:.3f}, "
                f"pad128/harness {naive_s / harness_s:.2f}"
            )
            totals["harness"] += harness_s
            totals["bare"] += bare_s
            totals["pad128"] += naive_s
        print(
            f"both tasks: harness/bare {totals['harness'] / totals['bare']:.3f} (goal <= 1.05), "
            f"pad128/harness {totals['pad128'] / totals['harness']:.2f} (goal >= 2)"
        )


if __name__ == "__main__":
    main()
