"""The GPU path of issue 14, checked in one short run on a lent GPU machine (no internet there): a tiny BERT built in
code, evaluated with --device cuda in float32, float16 and bfloat16, its latency (on the CUDA clock), allocator
peak and NVML energy; one PASS/FAIL line per check, then the `gpu`-marked tests. Exit status 1 on any FAIL.

python benchmarks/gpu_check.py [--data-dir DIR]   (DIR: the data mirror; default $HARNESS_DATA_DIR, ../shared/data)

Without the mirror, each dtype runs a built-in sentence through the model directly instead of a task's rows.
Runs in about a minute (latency budgets are cut to LATENCY_BUDGET_S).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DTYPES = ("float32", "float16", "bfloat16")
TASK = "sst2"
ROWS = 8  # rows of the mirror task each dtype evaluates
LATENCY_BUDGET_S = 2.0  # per latency phase: enough for a stable median of a tiny model on a GPU
ENERGY_S = 2.0  # seconds of forward passes under the NVML energy tracker
SENTENCE = "the harness runs this sentence on the gpu"
# a WordPiece vocabulary for when the mirror (and its BERT vocabulary) is absent
FALLBACK_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *SENTENCE.split(), "."]
PYTEST_TIMEOUT_S = 180

results: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str = "") -> bool:
    """Print and keep one check's PASS/FAIL line."""
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    return ok


def vocab_file(data: Path | None, tmp: Path) -> Path:
    """The mirror's BERT vocabulary, else a small one written here."""
    from harness.testing.tiny import VOCAB_FILE

    if data is not None and (data / VOCAB_FILE).is_file():
        return data / VOCAB_FILE
    path = tmp / "vocab.txt"
    path.write_text("\n".join(FALLBACK_VOCAB) + "\n", encoding="utf-8")
    return path


def evaluate_on_task(model: Path, data: Path, dtype: str, results_dir: Path) -> None:
    """`harness evaluate` on the mirror task's first rows with --device cuda --dtype; checks its record."""
    from harness.cli import main

    argv = ["evaluate", str(model), "--task", TASK, "--limit", str(ROWS), "--device", "cuda", "--dtype", dtype]
    code = main([*argv, "--data-dir", str(data), "--results", str(results_dir), "--no-progress"])
    found = [json.loads(p.read_text()) for p in (results_dir / "records").rglob("*.record.json")]
    records = [r for r in found if (r.get("settings") or {}).get("dtype") == dtype]
    if not check(f"{dtype}: evaluate --device cuda on {TASK}", code == 0 and len(records) == 1, f"exit {code}"):
        return
    r = records[0]
    dtypes = set(r["measurements"]["params"]["params_by_dtype"])
    check(
        f"{dtype}: record is gpu, on cuda, in {dtype}",
        r["status"] == "ok" and r["hardware"] == "gpu" and r["settings"]["device"] == "cuda:0" and dtypes == {dtype},
        f"hardware {r['hardware']}, params_by_dtype {sorted(dtypes)}, score {r.get('score')}",
    )
    env = r["environment"]
    check(f"{dtype}: record names the GPU", env.get("processor") in env.get("gpu", []), str(env.get("processor")))


def run_directly(model: Any, dtype: str) -> None:
    """Without the mirror: the built-in sentence through the model on the GPU; its logits are finite."""
    batch = dict(model.tokenizer([SENTENCE], return_tensors="np"))
    logits = model.forward(batch)["logits"]
    check(f"{dtype}: forward on cuda (built-in sentence)", bool(all(math.isfinite(x) for x in logits.ravel())))


def measure(model: Any, dtype: str) -> None:
    """Latency on the CUDA clock, the allocator's peak, and (if pynvml imports) NVML energy of forward passes."""
    from harness.backends.torch_run import CudaClock
    from harness.measure import measure_loaded

    got = measure_loaded(model, ["latency", "memory"], options={"latency": {"budget_s": LATENCY_BUDGET_S}})
    lat, mem = got["latency"], got["memory"]
    clock = lat.get("clock")
    check(f"{dtype}: latency clock is the CUDA clock", clock == CudaClock.name, f"{clock}, p50 {lat.get('p50_ms')} ms")
    peak = mem.get("gpu_peak_allocated_bytes")
    check(f"{dtype}: allocator peak > 0", isinstance(peak, int) and peak > 0, f"{peak} bytes")
    try:
        import pynvml  # noqa: F401 - the `gpu` extra's nvidia-ml-py
    except ImportError:
        print(f"SKIP {dtype}: NVML energy (pynvml does not import: pip install nvidia-ml-py)")
        return
    from harness.measure.energy import EnergyTracker

    call = model.prepare(model.synthetic_batch(32, 128))
    tracker = EnergyTracker(backend="counters", interval_s=0.2)
    with model.measuring(), tracker:
        end = time.perf_counter() + ENERGY_S
        while time.perf_counter() < end:
            call()
        model.clock.now()
    energy = tracker.result().to_dict()
    check(
        f"{dtype}: NVML energy measured",
        "NVML" in energy["method"] and energy["energy_kwh"] > 0,
        f"{energy['energy_kwh']:.3g} kWh by {energy['method']}",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="the data mirror (default: $HARNESS_DATA_DIR, ../shared/data)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    import torch

    if not check("torch sees a GPU", torch.cuda.is_available(), f"torch {torch.__version__}"):
        return 1
    print(f"GPU: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} device(s))")
    from harness.backends import LoadOptions, load_model
    from harness.backends.devices import require_device
    from harness.errors import UserError
    from harness.testing.tiny import save_tiny_bert

    root = Path(__file__).resolve().parents[1]
    # the mirror beside the checkout (this project's machines), or inside it (a device machine's copy of shared/)
    found = [p for p in (root.parent / "shared" / "data", root / "shared" / "data") if (p / "MANIFEST.md").is_file()]
    default = Path(os.environ.get("HARNESS_DATA_DIR") or (found or [root.parent / "shared" / "data"])[0])
    data = args.data_dir or default
    have_mirror = (data / "MANIFEST.md").is_file()
    print(f"mirror: {data if have_mirror else 'absent (built-in sentence instead)'}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        folder = save_tiny_bert(tmp / "tiny", vocab_file(data if have_mirror else None, tmp))
        for dtype in DTYPES:
            try:
                if have_mirror:
                    evaluate_on_task(folder, data, dtype, tmp / "results")
                model = load_model(folder, "sequence_classification", LoadOptions(device="cuda", dtype=dtype))
                if not have_mirror:
                    run_directly(model, dtype)
                measure(model, dtype)
            except Exception as e:  # noqa: BLE001 - one dtype's failure is its FAIL line; the others still run
                check(f"{dtype}: ran", False, f"{type(e).__name__}: {e}")
        count = torch.cuda.device_count()
        try:
            require_device(f"cuda:{count}")
            check(f"--device cuda:{count} refused", False, "accepted")
        except UserError as e:
            check(f"--device cuda:{count} refused", f"cuda:{count}" in str(e), str(e))
    env = dict(os.environ, HARNESS_DATA_DIR=str(data)) if have_mirror else dict(os.environ)
    marks = "gpu" if have_mirror else "gpu and not mirror"  # without the mirror, its tests would fail, not skip
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", marks, "-q", "tests"]
    print("$", " ".join(cmd), flush=True)
    try:
        code = subprocess.run(cmd, cwd=root, env=env, timeout=PYTEST_TIMEOUT_S, check=False).returncode
    except subprocess.TimeoutExpired:
        code = -1
    check("pytest -m gpu", code == 0, f"exit {code}")
    failed = [name for name, ok, _ in results if not ok]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed in {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
