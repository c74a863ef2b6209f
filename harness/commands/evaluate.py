"""`harness evaluate PATH --task T [--task ...]`: official split -> predictions file + result record per task.

PATH is a submission folder (submission.yaml names a model folder and head per task) or a bare
model folder (then `--head` may choose the head).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.commands import add_device_flags, positive_int, summary
from harness.measure import DEFAULT_MEASUREMENTS
from harness.measure.spec import Names


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a submission (or model folder) on tasks, writing records")
    p.add_argument("path", type=Path, help="submission folder (with submission.yaml) or a model folder")
    p.add_argument(
        "--task",
        action="append",
        dest="tasks",
        metavar="TASK",
        help="task id (repeatable); default: every task the submission declares",
    )
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--head", help="model head for a bare model folder (e.g. cosine)")
    p.add_argument("--max-length", type=positive_int, help="truncation length (default: 128; SQuAD 384)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--doc-stride", type=positive_int, default=128, help="SQuAD window overlap")
    p.add_argument(
        "--limit", type=positive_int, help="evaluate only the first N examples (quick checks; marked in the record)"
    )
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads")
    add_device_flags(p)
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="organizer's opt-in to pickle weights (the submission must opt in too)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--measure",
        default=",".join(DEFAULT_MEASUREMENTS),
        help="measurements taken after inference, comma-separated (default: %(default)s; also "
        f"{', '.join(Names(lambda m: m.evaluate == 'optional'))})",
    )
    p.add_argument("--no-measure", action="store_true", help="no measurements and no energy tracking")
    p.add_argument(
        "--skip-measure",
        default="",
        metavar="NAMES",
        help="leave these measurements out, comma-separated (e.g. flops; energy: no energy tracking)",
    )
    p.add_argument(
        "--perturb",
        metavar="KINDS",
        help="also score each classification task under the seeded perturbation suite, comma-separated kinds of "
        "typo, word_swap, case, punctuation (or all); the record's robustness block holds each score and its drop",
    )
    p.add_argument("--perturb-rate", type=float, help="share of eligible words each kind perturbs (default 0.1)")
    p.add_argument("--perturb-seed", type=int, help="seed of the perturbations (default 0)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate each task, print its key figures; exit 1 if any task failed."""
    from harness.backends.devices import require_device
    from harness.evaluation.evaluate import evaluate
    from harness.evaluation.refs import model_refs
    from harness.inference.formulations import EvalSettings
    from harness.inference.robustness import without_suite
    from harness.measure import parse_skip

    require_device(args.device)  # refused before anything runs: a record per task would only repeat it
    skip = parse_skip(args.skip_measure)
    measure = () if args.no_measure else tuple(n for n in parse_measurements(args.measure) if n not in skip)
    energy = {"off": True} if args.no_measure or "energy" in skip else None
    settings = EvalSettings(
        max_length=args.max_length,
        batch_size=args.batch_size,
        doc_stride=args.doc_stride,
        progress=not args.no_progress,
        device=args.device,
        dtype=args.dtype,
        **perturbation(args),
    )
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    failed = 0
    refs = model_refs(args.path, args.tasks, args.head, args.allow_pickle)
    perturbed = perturbed_tasks([task for task, _ in refs], named=bool(args.tasks)) if settings.perturb else set()
    for task, ref in refs:
        record = evaluate(
            ref,
            task,
            settings if task in perturbed else without_suite(settings),
            data_dir=args.data_dir,
            results_dir=args.results,
            limit=args.limit,
            measure=measure,
            energy=energy,
        )
        print(summary(record))
        failed += not record.ok
    return 1 if failed else 0


def parse_measurements(text: str) -> tuple[str, ...]:
    """`params,flops` -> ("params", "flops"): what the measurement table lets `harness evaluate` take (default or
    optional ones); an unknown name is refused with the known ones."""
    from harness.errors import UserError

    known = Names(lambda m: m.evaluate in ("default", "optional"))
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown:
        tracked = " and ".join(Names(lambda m: m.evaluate == "tracked"))
        raise UserError(
            f"--measure: unknown measurement {', '.join(unknown)}",
            fix=f"known: {', '.join(known)} ({tracked} are recorded with every evaluation)",
        )
    return names


def perturbation(args: argparse.Namespace) -> dict[str, Any]:
    """The EvalSettings fields of --perturb, --perturb-rate and --perturb-seed (none without --perturb: a rate or
    seed alone is refused, since it would change the record's key and nothing else)."""
    from harness.errors import UserError
    from harness.inference.perturb import KINDS
    from harness.inference.robustness import DEFAULT_RATE, DEFAULT_SEED, check_suite

    if args.perturb is None:
        if args.perturb_rate is not None or args.perturb_seed is not None:
            raise UserError("--perturb-rate and --perturb-seed need --perturb", fix=f"add --perturb {','.join(KINDS)}")
        return {}
    named = [k.strip() for k in args.perturb.split(",") if k.strip()]
    kinds = KINDS if named == ["all"] else tuple(named)
    rate = DEFAULT_RATE if args.perturb_rate is None else args.perturb_rate
    seed = DEFAULT_SEED if args.perturb_seed is None else args.perturb_seed
    return {"perturb": check_suite(kinds, rate, seed), "perturb_rate": rate, "perturb_seed": seed}


def perturbed_tasks(tasks: list[str], named: bool) -> set[str]:
    """The tasks --perturb runs the suite on: those it is offered on (the text fields of classification tasks). One
    named with --task that it is not offered on is refused before anything runs; of a submission's every task, the
    others are evaluated without it, as printed."""
    from harness.errors import UserError
    from harness.inference.robustness import offered
    from harness.tasks import get_task

    refused = [t for t in tasks if not offered(get_task(t))]
    if refused and named:
        raise UserError(
            f"--perturb: the perturbation suite is not offered on {', '.join(refused)} (it perturbs the text fields "
            "of classification tasks)",
            fix="evaluate those tasks without --perturb",
        )
    if refused:
        print(f"--perturb: not offered on {', '.join(refused)} (not classification tasks); evaluated without it")
    return {t for t in tasks if t not in refused}
