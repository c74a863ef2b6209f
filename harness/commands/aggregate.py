"""`harness aggregate BENCHMARK`: the official GLUE / SuperGLUE score from records or a metrics file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("aggregate", help="official GLUE/SuperGLUE score from per-task metrics")
    p.add_argument("benchmark", help="glue or superglue")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--records", type=Path, help="a folder of result records (one submission's)")
    src.add_argument("--metrics", type=Path, help='a JSON file {"task": {"metric": fraction}}')
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the aggregate; with tasks missing, `k of n tasks` and the components, but no score."""
    from harness.errors import UserError
    from harness.scoring.aggregate import BENCHMARKS, benchmark_score
    from harness.tasks import get_task

    spec = BENCHMARKS.get(args.benchmark)
    members = spec.members
    if args.metrics:
        try:
            metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"{args.metrics}: not a readable JSON file ({e})") from e
        if not isinstance(metrics, dict) or not all(isinstance(v, dict) for v in metrics.values()):
            raise UserError(f'{args.metrics}: expected {{"task": {{"metric": fraction}}}}')
        for task in set(metrics) & members:  # a task outside the benchmark is refused by benchmark_score
            get_task(task).check_metrics(metrics[task], f"{args.metrics}: {task}")
    else:
        from harness.records import read_records

        if not args.records.is_dir():
            raise UserError(
                f"{args.records}: no such folder",
                fix="give the folder of one submission's records, e.g. results/records/NAME",
            )
        records = read_records(args.records)
        if not records:
            raise UserError(
                f"{args.records}: no result records (*.record.json) in this folder",
                fix="run `harness evaluate` or `harness run` first",
            )
        from harness.records import is_stale
        from harness.scoring.values import choose_records

        subs = sorted({r.submission.id for r in records})
        if len(subs) > 1:
            raise UserError(
                f"{args.records}: records of {len(subs)} submissions ({', '.join(subs[:3])}"
                f"{', ...' if len(subs) > 3 else ''})",
                fix="aggregate one submission's folder at a time",
            )
        chosen, _ = choose_records(records, sorted(members), ("cpu", "gpu", "self-reported"), None)
        metrics = {}
        for (_, name), r in sorted(chosen.items()):
            limit = (r.settings or {}).get("limit")
            if not r.ok:
                continue
            if limit:  # a partial run is no official result: the task counts as missing
                print(f"{name}: a --limit run ({r.num_examples} examples), not counted", file=sys.stderr)
                continue
            if is_stale(r):  # scored under an older version of the task's rules
                print(
                    f"{name}: scored under task version {r.task.version}, not the current one: not counted "
                    "until re-scored (harness rescore)",
                    file=sys.stderr,
                )
                continue
            metrics[name] = r.metrics
    result = benchmark_score(args.benchmark, metrics)
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": result.benchmark,
                    "score": result.score,
                    "partial": result.partial,
                    "scored": result.scored,
                    "of": result.of,
                    "missing": list(result.missing),
                    "components": result.components,
                    "diagnostics": result.diagnostics,
                },
                sort_keys=True,
            )
        )
    else:
        print(result.label())
        for name, value in result.components.items():
            print(f"  {name:16} {value:6.1f}")
        for name, values in result.diagnostics.items():
            print(
                f"  {name:16} " + ", ".join(f"{k} {v:.1f}" for k, v in values.items()) + " (diagnostic, not averaged)"
            )
    return 0
