"""`harness distill TEACHER STUDENT --task T -o submissions/NEW`: knowledge distillation into a submission.

TEACHER is a fine-tuned submission folder (or a model folder with a trained head for the task); STUDENT a smaller
model folder (e.g. a layer-dropped copy of an encoder) whose head is created for the task. Logit KD (Hinton et al.
2015), optionally with hidden-state KD (--hidden-kd); the student's submission names its teacher.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import add_training_arguments, fraction, positive_float, run_training


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `distill` subcommand."""
    from harness.training import distill

    p = sub.add_parser(
        "distill",
        help="distill a fine-tuned teacher into a smaller student, written as a submission folder",
        description="Train STUDENT on a task's train rows to match TEACHER's outputs (logit KD: alpha * T^2 * KL at "
        "temperature T + (1 - alpha) * gold loss; MSE for regression), optionally its hidden states too, and write "
        "a complete submission folder that names the teacher.",
    )
    p.add_argument("teacher", type=Path, metavar="TEACHER", help="fine-tuned submission folder or model folder")
    p.add_argument("student", type=Path, metavar="STUDENT", help="student model folder (its head is created)")
    add_training_arguments(p)
    p.add_argument(
        "--temperature",
        type=positive_float,
        default=distill.DEFAULT_TEMPERATURE,
        help="softmax temperature T > 0 (default: %(default)g)",
    )
    p.add_argument(
        "--alpha",
        type=fraction(),
        default=distill.DEFAULT_ALPHA,
        help="share of the soft (teacher) loss in [0, 1]; the rest is the gold loss (default: %(default)g)",
    )
    p.add_argument(
        "--hidden-kd",
        action="store_true",
        help="also match hidden states: student layer i to teacher layer round(i * Lt / Ls), projected if widths differ",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Distill, write the submission, print one line on it."""
    from harness.training.distill import KDSettings, distill

    kd = KDSettings(temperature=args.temperature, alpha=args.alpha, hidden_kd=args.hidden_kd)
    return run_training(distill, args, args.teacher, args.student, kd=kd)
