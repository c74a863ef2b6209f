"""The `harness` subcommands, one module each; `harness.cli` registers them."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse type for counts and lengths: a whole number > 0 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return value
