"""`harness finetune BASE --task T -o submissions/NEW`: fine-tune an encoder on a task's train rows into a submission.

BASE is a model folder (save_pretrained layout, safetensors) or a submission folder; the result is a complete
submission folder (model/, submission.yaml, training_log.jsonl) that `harness check` accepts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import add_training_arguments, run_training


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `finetune` subcommand."""
    p = sub.add_parser(
        "finetune",
        help="fine-tune an encoder on a task's train set, written as a submission folder",
        description="Fine-tune a model folder into a task classifier (or regressor, STS-B) on the mirror's train "
        "rows (AdamW, linear decay, seeded), and write a complete submission folder.",
    )
    p.add_argument("base", type=Path, metavar="BASE", help="encoder model folder, or a submission folder")
    add_training_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Fine-tune, write the submission, print one line on it."""
    from harness.training.finetune import finetune

    return run_training(finetune, args, args.base)
