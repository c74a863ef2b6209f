"""The `harness` subcommands, one module each; `harness.cli` registers them."""

from __future__ import annotations

import argparse
from typing import Any


def positive_int(text: str) -> int:
    """argparse type for counts and lengths: a whole number > 0 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return value


def summary(record: Any) -> str:
    """One line of a record's key figures (a harness.records.Record), metrics x100 as pages show them."""
    task = record.task.name
    if not record.ok:
        return f"FAILED {task}: {record.error}\n  record: {record.path}"
    metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in record.metrics.items())
    return (
        f"{record.submission.id} / {task}: {metrics} | {record.num_examples} examples in "
        f"{record.duration_s:.1f} s ({record.examples_per_s} ex/s inference)\n  record: {record.path}"
    )
