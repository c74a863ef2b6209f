"""What isolation costs and what parallel workers give back: 40 tiny jobs through each executor, in one run.

Builds 10 tiny-BERT submissions on 4 GLUE tasks (40 (submission, task) jobs, plus one per-model measuring job per
submission: params only, so no job is exclusive), and runs the track with `--executor inline` (every job in this
process: no isolation, the baseline), `local --jobs 1`, `local --jobs 2` and `ray` (a local instance with 2 CPUs;
skipped when Ray is not installed), each into a results folder of its own. Prints each executor's wall time, the
speed-up of 2 jobs over 1, and the per-job overhead of a worker: its start (interpreter, torch and transformers
imports, as each record's environment.worker.startup_s states it), the imports and loads a fresh process makes on
its first job (a record's duration_s in a worker against inline, where one process runs every job), and the tiny
model's load once warm (timed here, mean of 20 loads). Absolute times drift 9-21% on the project's VM; the ratios come from runs made one after another in this
one process, so compare them, not the seconds, across machines.

    HARNESS_DATA_DIR=../shared/data python benchmarks/workers.py [--submissions 10] [--limit 4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

TASKS = ["sst2", "rte", "mrpc", "qnli"]
TRACK = (
    "name: worker overhead\ndescription: tiny jobs through each executor\nsource: benchmarks/workers.py\n"
    "hardware: cpu\ntasks:\n"
    + "".join(f"  - {{task: {t}, split: validation}}\n" for t in TASKS)
    + "score: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: [params]}\ncolumns: [params]\n"
)


def main() -> int:
    from harness.backends import load_model
    from harness.evaluation.limits import Limits, default_memory
    from harness.evaluation.track import run_track
    from harness.records import read_records
    from harness.tasks.data import resolve_data_dir
    from harness.testing import tiny
    from harness.tracks.definitions import load_track

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--submissions", type=int, default=10, help="tiny submissions (x 4 tasks = the jobs)")
    p.add_argument("--limit", type=int, default=4, help="examples per task")
    args = p.parse_args()
    mirror = resolve_data_dir(None)
    if mirror is None:
        raise SystemExit("set HARNESS_DATA_DIR to the data mirror")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i in range(args.submissions):
            tiny.write_tiny_submission(root / "subs" / f"s{i:02d}", TASKS, mirror / tiny.VOCAB_FILE, seed=i)
        (root / "tracks").mkdir()
        track = load_track(_write(root / "tracks" / "overhead.yaml", TRACK))
        jobs = args.submissions * len(TASKS)
        runs = [("inline", "inline", 1), ("local --jobs 1", "local", 1), ("local --jobs 2", "local", 2)]
        try:
            import ray

            runs.append(("ray (local, 2 CPUs)", "ray", 2))
        except ImportError:
            ray = None
            print("ray: not installed, not measured (pip install '.[ray]')")
        walls: dict[str, float] = {}
        startups: dict[str, list[float]] = {}
        durations: dict[str, list[float]] = {}
        for label, executor, parallel in runs:
            results = root / f"results-{executor}-{parallel}"
            limits = Limits(memory_bytes=default_memory(parallel), jobs=parallel)
            if executor == "ray":
                assert ray is not None
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            t0 = time.perf_counter()
            try:
                with contextlib.redirect_stderr(io.StringIO()):
                    records, skipped = run_track(
                        track,
                        root / "subs",
                        data_dir=mirror,
                        results_dir=results,
                        limit=args.limit,
                        report=lambda _: None,
                        executor=executor,
                        limits=limits,
                    )
            finally:
                walls[label] = time.perf_counter() - t0
                if executor == "ray":
                    ray.shutdown()
            ok = sum(r.ok for r in records)
            if ok != jobs or skipped:
                raise SystemExit(f"{label}: {ok} of {jobs} jobs ok, skipped {skipped}: not a fair comparison")
            written = read_records(results / "records")
            startups[label] = [
                float(r.environment["worker"]["startup_s"])
                for r in written
                if r.environment and r.environment.get("worker", {}).get("startup_s") is not None
            ]
            durations[label] = [float(r.duration_s) for r in written if r.duration_s is not None]
            print(f"{label:22s} {walls[label]:7.1f} s for {jobs} jobs ({walls[label] / jobs:.2f} s a job)")
        folder = next((root / "subs" / "s00").glob("sequence_classification-2"))
        loads = []
        for _ in range(20):
            t = time.perf_counter()
            load_model(folder, "sequence_classification")
            loads.append(time.perf_counter() - t)
    one, two = walls["local --jobs 1"], walls["local --jobs 2"]
    print(f"\nspeed-up of --jobs 2 over --jobs 1: {one / two:.2f}x")
    print(f"isolation's cost, --jobs 1 over inline: {one / walls['inline']:.2f}x "
          f"({(one - walls['inline']) / jobs:.2f} s a job)")  # fmt: skip
    if "ray (local, 2 CPUs)" in walls:
        print(f"ray (2 CPUs) against local --jobs 2: {walls['ray (local, 2 CPUs)'] / two:.2f}x the wall time")
    warm = statistics.median(durations["inline"])
    print(f"\none job evaluated in a process that has run one before (inline): median {warm:.2f} s")
    for label, values in startups.items():
        if values:
            cold = statistics.median(durations[label])
            print(
                f"{label}: worker start (interpreter, torch, transformers) median {statistics.median(values):.2f} s; "
                f"the job in a fresh worker median {cold:.2f} s, of which {cold - warm:.2f} s are first-use imports "
                "(the model's class, the metrics) and first loads"
            )
    print(
        f"tiny model load, warm (in this process): mean {statistics.mean(loads) * 1000:.0f} ms over {len(loads)} loads"
    )
    print("(times from one run on this machine, one after another: compare the ratios, not the seconds)")
    return 0


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
