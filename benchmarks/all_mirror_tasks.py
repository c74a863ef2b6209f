"""Wall time of a tiny-model run over every task the data mirror holds, with example counts.

HARNESS_DATA_DIR=../shared/data python benchmarks/all_mirror_tasks.py [--limit N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from harness.evaluation.evaluate import evaluate
from harness.evaluation.refs import model_refs
from harness.inference.formulations import EvalSettings
from harness.tasks import get_task, task_names
from harness.testing.tiny import VOCAB_FILE, write_tiny_submission


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="first N examples of each task")
    args = parser.parse_args()
    data = Path(os.environ.get("HARNESS_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
    tasks = [t for t in task_names() if (data / get_task(t).source.mirror_file).is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        sub = write_tiny_submission(Path(tmp) / "tiny-all", tasks, data / VOCAB_FILE)
        t_all = time.perf_counter()
        for task, ref in model_refs(sub, tasks, None, False):
            record = evaluate(ref, task, EvalSettings(), data_dir=data, results_dir=Path(tmp) / "r", limit=args.limit)
            status = "ok" if record.ok else f"FAILED: {record.error}"
            print(f"{task:15} {record.num_examples or 0:6d} examples {record.duration_s or 0.0:8.1f} s  {status}")
        print(f"all {len(tasks)} mirror tasks: {time.perf_counter() - t_all:.1f} s wall time")


if __name__ == "__main__":
    main()
