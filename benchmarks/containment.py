"""What a worker's PID namespace costs at start: a Python process that enters its limits as a worker does, with the
job's processes contained (new PID namespace, an init of the harness's own, two forks) and without, interleaved
in one run so that the VM's drift falls on both alike. Prints the median start-to-exit time of each and the ratio.

    python benchmarks/containment.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

# a worker's first steps: its limits (memory, network; then, contained, the PID namespace and its init), then exit;
# the record store, which a worker imports anyway, imported first in both
CONTAINED = (
    "import harness.records.store\n"
    "from harness.evaluation.limits import enter_limits\n"
    "applied = enter_limits(1 << 31, None, False)\n"
    "assert applied['processes'].startswith('contained'), applied\n"
)
UNCONTAINED = CONTAINED.replace(
    "from harness.evaluation.limits import enter_limits\n",
    "import harness.evaluation.limits as limits\nlimits.contain_processes = lambda: 'contained: skipped here'\n"
    "from harness.evaluation.limits import enter_limits\n",
)


def _time(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="starts of each kind, interleaved")
    args = p.parse_args()
    with_ns, without = [], []
    for _ in range(args.runs):
        with_ns.append(_time(CONTAINED))
        without.append(_time(UNCONTAINED))
    a, b = statistics.median(with_ns), statistics.median(without)
    print(f"contained start: median {1000 * a:.1f} ms over {args.runs} runs")
    print(f"without PID namespace: median {1000 * b:.1f} ms over {args.runs} runs")
    print(f"ratio contained / not: {a / b:.3f} (+{1000 * (a - b):.1f} ms per worker; interleaved in one run)")


if __name__ == "__main__":
    main()
