"""What a worker's containment costs at start: a Python process that enters its limits as a worker does, with its
files read-only but for its own folders (a mount namespace) and its processes contained (a PID namespace, an init of
the harness's own, two forks); the same without the read-only files; and without either. The three are interleaved
in one run so that the VM's drift falls on all alike. Prints the median start-to-exit time of each and the ratios.

    python benchmarks/containment.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

# a worker's first steps: its limits (memory, network; then the mount namespace and the PID namespace with its
# init), then exit; the record store, which a worker imports anyway, imported first in every variant
FULL = (
    "import sys\nfrom pathlib import Path\nimport harness.records.store\n"
    "from harness.evaluation.limits import enter_limits\n"
    "own = Path(sys.argv[1])\n"
    "applied = enter_limits(1 << 31, None, None, {'its job folder': own}, own / 'tmp')\n"
    "assert applied['files'].startswith('read-only'), applied\n"
    "assert applied['processes'].startswith('contained'), applied\n"
)
NO_FILES = FULL.replace("{'its job folder': own}, own / 'tmp'", "None, None").replace(
    "assert applied['files'].startswith('read-only'), applied\n", ""
)
NEITHER = NO_FILES.replace(
    "from harness.evaluation.limits import enter_limits\n",
    "import harness.evaluation.limits as limits\nlimits.contain_processes = lambda: 'contained: skipped here'\n"
    "from harness.evaluation.limits import enter_limits\n",
)
VARIANTS = {
    "read-only files and PID namespace": FULL,
    "PID namespace only": NO_FILES,
    "neither": NEITHER,
}


def _time(code: str, folder: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, folder], check=True)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="starts of each kind, interleaved")
    args = p.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.runs):
            for name, code in VARIANTS.items():
                times[name].append(_time(code, folder))
    median = {name: statistics.median(t) for name, t in times.items()}
    for name, m in median.items():
        print(f"{name}: median {1000 * m:.1f} ms over {args.runs} starts")
    names = list(VARIANTS)
    for more, less in zip(names, names[1:]):
        a, b = median[more], median[less]
        print(f"ratio {more} / {less}: {a / b:.3f} (+{1000 * (a - b):.1f} ms per worker; interleaved in one run)")


if __name__ == "__main__":
    main()
