"""`harness check PATH...`: report every problem of one or more submission folders, before a pull request.

Exit status 0 only when every folder is valid, 1 when any has problems (printed one per line).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `check` subcommand."""
    p = subparsers.add_parser(
        "check",
        help="check submission folders: submission.yaml, model folders, labels, declared numbers",
        description="Check submission folders and print every problem at once, each with its file, "
        "field and fix. Exit status 0 only when all are valid.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="a submission folder (submissions/NAME)")
    add_check_flags(p)
    p.set_defaults(func=run)


def add_check_flags(p: argparse.ArgumentParser) -> None:
    """The flags of how a folder is checked, shared by `check` and `unpack`."""
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="organizer's opt-in to pickle weights (the submission must opt in too)",
    )
    p.add_argument(
        "--no-load",
        action="store_true",
        help="check the schema and files only; do not load the models (fast, no torch)",
    )


def run(args: argparse.Namespace) -> int:
    """Check each folder, print its problems, then one summary line; 0 when all are valid, else 1."""
    from harness.submissions import check_submission

    if not args.no_load:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # one "Loading weights" bar per model drowns the problem lines
    invalid = total = 0
    for path in args.paths:
        problems = check_submission(path, allow_pickle=args.allow_pickle, load_models=not args.no_load)
        for problem in problems:
            print(problem)
        invalid += bool(problems)
        total += len(problems)
    checked = len(args.paths)
    scope = "schema and files" if args.no_load else "schema, files and models"
    if invalid:
        print(
            f"checked {checked} submission(s) ({scope}): {checked - invalid} valid, {invalid} with problems "
            f"({total} problem(s))"
        )
        return 1
    print(f"checked {checked} submission(s) ({scope}): all valid")
    return 0
