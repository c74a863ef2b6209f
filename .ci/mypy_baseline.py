#!/usr/bin/env python3
"""mypy on harness/ against a baseline: fail on any error the baseline does not hold, so no new error lands.

The baseline (.ci/mypy-baseline.txt) lists the errors of the tree when the check was added, line numbers
left out so that moving code keeps them matched. `--update` rewrites it after errors were fixed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

BASELINE = Path(__file__).with_name("mypy-baseline.txt")
ERROR = re.compile(r"^(?P<file>[^:]+):\d+: error: (?P<message>.*)$")


def current() -> Counter[str]:
    """The errors mypy reports now, as 'file: message' with their counts."""
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context"], capture_output=True, text=True
    )
    if out.returncode not in (0, 1) or "error:" not in out.stdout and out.returncode == 1:
        sys.exit(f"mypy did not run: {out.stdout}{out.stderr}")
    found = Counter()
    for line in out.stdout.splitlines():
        m = ERROR.match(line)
        if m:
            found[f"{m['file']}: {m['message']}"] += 1
    return found


def main() -> int:
    found = current()
    if "--update" in sys.argv:
        BASELINE.write_text("".join(f"{k}\n" * n for k, n in sorted(found.items())), encoding="utf-8")
        print(f"{BASELINE}: {sum(found.values())} errors")
        return 0
    known = Counter(BASELINE.read_text(encoding="utf-8").splitlines()) if BASELINE.exists() else Counter()
    new = found - known
    fixed = known - found
    for k, n in sorted(new.items()):
        print(f"new mypy error ({n}x): {k}")
    if fixed:
        print(f"{sum(fixed.values())} baseline error(s) fixed: run `python .ci/mypy_baseline.py --update`")
    print(f"mypy: {sum(found.values())} errors, {sum(new.values())} new (baseline {sum(known.values())})")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
