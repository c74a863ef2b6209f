"""Two checkouts of the harness timed against each other: site_build.py and eval_overhead.py, alternated.

Each round runs both benchmarks once in the old checkout and once in the new one, in alternating order (old
first in odd rounds, new first in even ones), so the VM's drift of 9-21% over minutes falls on both alike;
it prints each round's new/old ratio and the median over the rounds (issue 12's goal: at most 1.05 each).
The times compared are the ones the benchmarks print for the harness's own work: site_build's in-process
total (read, rank, build, write) and eval_overhead's harness evaluation time summed over its tasks.

    HARNESS_DATA_DIR=../shared/data python benchmarks/compare_checkouts.py --old ../base --new . [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

SITE_TOTAL = re.compile(r"in this process: .*; total (?P<s>[0-9.]+) s")
EVAL_HARNESS = re.compile(r"\| harness (?P<s>[0-9.]+) s,")
GOAL = 1.05


def run(checkout: Path, script: str, args: list[str]) -> str:
    """The output of benchmarks/<script> run by this Python with `checkout` first on the import path."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    out = subprocess.run(
        [sys.executable, str(checkout / "benchmarks" / script), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"{checkout}/benchmarks/{script} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out.stdout


def seconds(script: str, output: str) -> float:
    """The harness's own time that `script` printed."""
    if script == "site_build.py":
        m = SITE_TOTAL.search(output)
        if not m:
            sys.exit(f"site_build.py printed no in-process total:\n{output}")
        return float(m["s"])
    found = [float(m["s"]) for m in EVAL_HARNESS.finditer(output)]
    if not found:
        sys.exit(f"eval_overhead.py printed no harness time:\n{output}")
    return sum(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the checkout before the change")
    parser.add_argument("--new", type=Path, required=True, help="the checkout after it")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--limit", type=int, default=800, help="eval_overhead.py: first N examples of each task")
    args = parser.parse_args()
    benches = {"site_build.py": ["--repeat", "1"], "eval_overhead.py": ["--limit", str(args.limit)]}
    checkouts = {"old": args.old.resolve(), "new": args.new.resolve()}
    ratios: dict[str, list[float]] = {b: [] for b in benches}
    for r in range(1, args.rounds + 1):
        order = ("old", "new") if r % 2 else ("new", "old")
        for script, extra in benches.items():
            t = {side: seconds(script, run(checkouts[side], script, extra)) for side in order}
            ratios[script].append(t["new"] / t["old"])
            print(
                f"round {r} ({order[0]} first) {script}: old {t['old']:.2f} s, new {t['new']:.2f} s, "
                f"new/old {ratios[script][-1]:.3f}",
                flush=True,
            )
    for script, values in ratios.items():
        median = statistics.median(values)
        verdict = "within" if median <= GOAL else "ABOVE"
        print(
            f"{script}: median new/old {median:.3f} over {len(values)} rounds "
            f"({', '.join(f'{v:.3f}' for v in values)}); {verdict} the goal {GOAL}"
        )


if __name__ == "__main__":
    main()
