"""How long the leaderboard site takes to build for 1,000 submissions x 20 tasks (goal: under 10 s on 2 cores), with
and without bootstrap intervals (issue 15: within 1.5x).

Writes 20,000 synthetic result records (GLUE's 11 tasks, SuperGLUE's 8, SQuAD; shaped like the records
`harness run` writes: metrics, params, size, FLOPs with a per-module breakdown, latency, energy,
environment, file digests) to a temporary results folder, and the same records again with the bootstrap block
evaluation writes (1,000 resampled scores per record and metric, seeded per task, so every submission's are paired)
to a second one. It times what `harness leaderboard` does over the shipped tracks for the records with intervals,
in its phases (read the records and rank every track; build the site: figures, exports, pages; write it), and then
the command itself, end to end in a fresh process, over both folders in turn (without, with, with, without, ...),
so the VM's drift falls on both alike; it prints each time and the median ratio.

    python benchmarks/site_build.py [--submissions 1000] [--workers N] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from harness.metrics.bootstrap import LEVEL, N_RESAMPLES, interval, pack
from harness.records import SCHEMA_VERSION, new_record, store_record
from harness.tasks import get_task
from harness.tasks.confidence import EXAMPLES_UNIT, METHOD

TASKS = (
    "cola",
    "sst2",
    "mrpc",
    "qqp",
    "stsb",
    "mnli_matched",
    "mnli_mismatched",
    "qnli",
    "rte",
    "wnli",
    "ax",
    "boolq",
    "cb",
    "copa",
    "multirc",
    "record",
    "superglue/rte",
    "wic",
    "wsc",
    "squad",
)
METHODS = ("distillation", "pruning", "quantization", "weight-sharing", "low-rank")
ENVIRONMENT = {
    "cpu_model": "AMD EPYC",
    "physical_cores": 2,
    "logical_cpus": 2,
    "threads": 1,
    "gpu": [],
    "memory_bytes": 25276063744,
    "os": "Linux",
    "python": "3.11.7",
    "torch": "2.13.0+cpu",
    "transformers": "5.24.0",
    "harness_version": "0.1.0",
    "harness_commit": "0" * 40,
}


def submission_records(i: int, rnd: random.Random) -> list[dict]:
    """The 20 records of synthetic submission i: quality and cost drawn once, per-task noise."""
    layers = rnd.choice((2, 3, 4, 6, 8, 12))
    hidden = rnd.choice((128, 256, 384, 512, 768))
    params = layers * 12 * hidden * hidden + 30522 * hidden
    quality = min(0.93, 0.55 + 0.04 * layers**0.5 + hidden / 6000 + rnd.uniform(-0.04, 0.04))
    flops = 2.0 * params * 128
    by_module = {
        "bert.embeddings": 5 * 128 * hidden,
        **{f"bert.encoder.layer.{k}": int(flops / layers) for k in range(layers)},
        "classifier": 2 * hidden * 2,
    }
    sub = f"team{i:04d}/model-{layers}l-{hidden}"
    meta = {
        "name": f"Model {i:04d} ({layers}L-{hidden}H)",
        "team": f"Team {i % 97}",
        "methods": [rnd.choice(METHODS)],
        "paper": f"https://arxiv.org/abs/2401.{i:05d}",
        "code": None,
        "base_model": "bert-base-uncased",
        "teacher_model": "bert-large-uncased",
        "description": "synthetic benchmark submission",
    }
    files = {
        "model/config.json": f"{i:064x}",
        "model/model.safetensors": f"{i + 1:064x}",
        "model/vocab.txt": f"{i + 2:064x}",
        "submission.yaml": f"{i + 3:064x}",
    }
    latency = params / 2e6 * rnd.uniform(0.9, 1.1)
    energy_label = "measured" if i % 3 else "estimated"
    out = []
    for t in TASKS:
        task = get_task(t)
        metrics = {m.name: max(0.0, min(1.0, quality + rnd.uniform(-0.05, 0.05))) for m in task.metrics}
        failed = i % 50 == 7 and t == "wnli"  # a few submissions fail a task: ineligible rows
        out.append(
            {
                "schema_version": SCHEMA_VERSION,
                "harness_version": "0.1.0",
                "started_at": f"2026-02-{1 + i % 28:02d}T10:00:00+00:00",
                "status": "failed" if failed else "ok",
                "error": "RuntimeError: out of memory" if failed else None,
                "submission": {"id": sub, "meta": meta, "sha256": f"{i:064x}", "files": files},
                "task": {"name": t, "benchmark": task.benchmark, "version": task.version, "split": task.source.split},
                "metrics": {} if failed else metrics,
                "score": None if failed else task.score(metrics),
                "num_examples": 1000,
                "hardware": "cpu",
                "environment": ENVIRONMENT,
                "settings": {"batch_size": 32, "limit": None, "max_length": None},
                "measurements": {
                    "params": {"total_params": params, "embedding_params": 30522 * hidden, "method": "unique tensors"},
                    "size": {"total_bytes": 4 * params + 700_000, "method": "sum of file sizes", "unit": "bytes"},
                    "flops": {
                        "flops": flops,
                        "flops_per_example": flops * rnd.uniform(0.4, 0.6),
                        "reference_length": 128,
                        "by_module": by_module,
                        "by_op": {"aten.addmm": int(flops * 0.9), "aten.bmm": int(flops * 0.1)},
                        "convention": "FLOPs = 2 x MACs",
                    },
                    "latency": {
                        "p50_ms": latency,
                        "p90_ms": latency * 1.1,
                        "p99_ms": latency * 1.3,
                        "throughput_examples_per_s": 1000 / latency,
                        "threads": 1,
                        "method": "batch 1 percentiles",
                    },
                    "energy": {
                        "total_power_kwh": params * 2e-13,
                        "energy_kwh": params * 1.3e-13,
                        "label": energy_label,
                        "method": "RAPL" if energy_label == "measured" else "CPU time x TDP",
                        "pue": 1.58,
                    },
                },
            }
        )
    return out


RESAMPLE_SPREAD = 0.02
"""Standard deviation of the synthetic resampled scores: about a 277-example split's (RTE) at accuracy 0.7."""


def confidence(record: dict, rng: np.random.Generator) -> dict:
    """A bootstrap block shaped like harness.tasks.confidence's: the seed is the task's, as for real records on the
    same examples; the resampled values are the score plus noise (the board's cost does not depend on their law)."""
    task = get_task(record["task"]["name"])

    def item(value: float, resampled: bool = True) -> dict:
        values = np.clip(value + rng.normal(0.0, RESAMPLE_SPREAD, N_RESAMPLES), -1.0, 1.0)
        low, high = interval(values, LEVEL)
        return {"interval": [low, high]} | ({"resampled": pack(values)} if resampled else {})

    several = len(task.metric_names) > 1
    return {
        "method": METHOD,
        "level": LEVEL,
        "resamples": N_RESAMPLES,
        "unit": EXAMPLES_UNIT,
        "seed": hashlib.sha256(task.name.encode()).hexdigest()[:32],
        "score": item(record["score"]),
        "metrics": {name: item(value, several) for name, value in record["metrics"].items()},
    }


def write_records(results: Path, n: int, intervals: bool = False) -> int:
    """Write n submissions x 20 task records under results/records (with bootstrap blocks when `intervals`); returns
    the number of records. The same records either way: the same seeds."""
    rnd = random.Random(0)
    rng = np.random.default_rng(0)
    count = 0
    for i in range(n):
        for r in submission_records(i, rnd):
            if intervals and r["status"] == "ok":
                r["confidence"] = confidence(r, rng)
            store_record(new_record(**r), results)  # the one constructor; a None field is not written
            count += 1
    return count


def largest_page(files: dict) -> tuple[str, int, int]:
    """The track page whose gzip size, with the scripts, styles and data files it loads, is largest:
    (path, that size, the HTML's own gzip size)."""
    import posixpath
    import re

    gz = _gz
    best = ("", 0, 0)
    for path, content in files.items():
        if not (path.startswith("tracks/") and path.endswith("/index.html")):
            continue
        html = content if isinstance(content, str) else content.decode("utf-8")
        own = gz(html)
        total = own
        for ref in re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="([^"]+)"', html):
            loaded = posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))
            total += gz(files[loaded]) if loaded in files else 0
        best = max(best, (path, total, own), key=lambda b: b[1])
    return best


def _gz(content: str | bytes) -> int:
    """Bytes of `content` gzipped at level 9, as a server would send it."""
    import gzip

    return len(gzip.compress(content.encode("utf-8") if isinstance(content, str) else content, 9))


def _folder_bytes(folder: Path) -> int:
    """Bytes of every file under `folder`."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for ranking and rendering (default: all cores)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="end-to-end runs of the command (default: 3)")
    parser.add_argument("--keep", type=Path, help="build the site here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="site-bench-"))
    try:
        plain, results = root / "plain", root / "results"
        write_records(plain, args.submissions)
        n = write_records(results, args.submissions, intervals=True)
        out = args.keep or root / "site"
        from harness import __version__
        from harness.publish.boards import build_boards
        from harness.publish.site.board_page import INTERVALS_FILE
        from harness.publish.site.build import build_site, write_site

        t0 = time.perf_counter()
        boards, records = build_boards(results, None, args.workers)
        t1 = time.perf_counter()
        files = build_site(
            boards, records, {"generated_at": "benchmark", "harness_version": __version__}, workers=args.workers
        )
        t2 = time.perf_counter()
        write_site(files, out, workers=args.workers)
        t3 = time.perf_counter()
        size = sum(len(v) for v in files.values())
        tied = sum(1 for b in boards for r in b.rows if r.tied)
        print(
            f"{n} records, {args.submissions} submissions, {len(boards)} tracks -> {len(files)} files, "
            f"{size / 2**20:.1f} MiB, {args.workers} process(es); records with intervals: "
            f"{_folder_bytes(results) / 2**20:.0f} MiB on disk, without: {_folder_bytes(plain) / 2**20:.0f} MiB"
            + f"; {tied} ranked rows marked tied with the row above"
        )
        print(
            f"with intervals, in this process: read the records and rank every track {t1 - t0:.2f} s; build the site "
            f"(figures, exports, pages) {t2 - t1:.2f} s; write it {t3 - t2:.2f} s; total {t3 - t0:.2f} s"
        )
        name, weight, html_gz = largest_page(files)
        lazy = files.get(name.replace("index.html", INTERVALS_FILE))
        print(
            f"largest track page: {name}, {weight / 1000:.0f} KB gzip with the scripts, styles and data it loads "
            f"(HTML alone {html_gz / 1000:.0f} KB; goal < 300 KB)"
            + (
                f"; its per-task intervals, loaded when the compare view opens: {_gz(lazy) / 1000:.0f} KB gzip"
                if lazy is not None
                else ""
            )
        )
        import gzip

        index = files["index.html"]
        index_bytes = index.encode("utf-8") if isinstance(index, str) else index
        print(
            f"index.html: {len(gzip.compress(index_bytes, 9)) / 1000:.0f} KB gzip (HTML alone), "
            f"{index_bytes.count(b'<tr')} table rows in its HTML"
        )
        walls: dict[str, list[float]] = {"without": [], "with": []}
        for round_ in range(args.repeat):
            order = [("without", plain), ("with", results)]
            for label, folder in order if round_ % 2 == 0 else order[::-1]:
                command = [sys.executable, "-m", "harness.cli", "leaderboard", "--results", str(folder)]
                start = time.perf_counter()
                subprocess.run([*command, "--out", str(root / f"site-{label}")], check=True, capture_output=True)
                walls[label].append(time.perf_counter() - start)
        ratio = statistics.median(w / p for w, p in zip(walls["with"], walls["without"]))
        for label in ("without", "with"):
            print(
                f"`harness leaderboard` end to end {label} intervals (a fresh process, startup included), "
                f"{args.repeat} run(s): " + ", ".join(f"{w:.2f} s" for w in walls[label]) + " (goal < 10 s)"
            )
        print(
            f"with / without intervals, median of the {args.repeat} interleaved pairs: {ratio:.2f}x (goal: within "
            "1.5x; ratios measured in one run, since this VM's speed drifts by 9-21% over minutes)"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
