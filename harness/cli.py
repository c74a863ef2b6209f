"""The `harness` command line: each subcommand lives in harness/commands/<name>.py.

Start-up stays light: no subcommand module imports torch or transformers at import time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from harness import __version__
from harness.errors import UserError

# One line per subcommand module; each defines add_parser(subparsers) and sets func=run.
COMMANDS = (
    "harness.commands.demo",
    "harness.commands.check",
    "harness.commands.unpack",
    "harness.commands.compress",
    "harness.commands.finetune",
    "harness.commands.distill",
    "harness.commands.evaluate",
    "harness.commands.score",
    "harness.commands.rescore",
    "harness.commands.aggregate",
    "harness.commands.measure",
    "harness.commands.tasks",
    "harness.commands.tracks",
    "harness.commands.run",
    "harness.commands.status",
    "harness.commands.rank",
    "harness.commands.reference_curve",
    "harness.commands.leaderboard",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate, measure and rank compressed NLP models on GLUE, SuperGLUE, SQuAD and NQ-open.",
    )
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a UserError or a file-system error prints one line and exits 2, with no traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        from harness.registry import import_plugins

        import_plugins()
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `harness rank | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except OSError as e:  # read-only results folder, disk full, an --out that cannot be written
        where = e.filename if e.filename is not None else "a file"
        print(
            f"error: {where}: {e.strerror or e}; check that the path exists and is writable (or pass another "
            "folder) and that the disk has space",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush into the closed pipe raises nothing."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def entry() -> None:
    """The `harness` executable: main(), then exit without a last garbage collection over the whole heap.

    A leaderboard build leaves tens of thousands of records and pages alive; collecting them all at exit took
    about 0.3 s of nothing, so everything left is frozen (the memory goes back with the process anyway).
    """
    import gc

    code = main()
    gc.freeze()
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
