"""Errors a user can fix: the CLI prints their message and exits 2, with no traceback."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """Bad input from a user (file, field, flag); the message names what and how to fix it."""


class ConfigError(UserError):
    """A declarative file (submission.yaml, track file, task spec) is malformed."""


class DataNotFound(UserError):
    """A task's data is neither in the local mirror nor reachable on the hub."""


def did_you_mean(word: str, known: Iterable[str], what: str) -> str:
    """A fix for an unknown word: the closest known one, else all of them (`what: a, b, c`)."""
    import difflib

    known = list(known)
    close = difflib.get_close_matches(word, known, n=1)
    return f"did you mean {close[0]!r}?" if close else f"{what}: {', '.join(known)}"
