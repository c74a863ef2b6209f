"""Errors a user can fix: the CLI prints their message and exits 2, with no traceback."""

from __future__ import annotations

from collections.abc import Iterable

# difflib's own default ratio: from it on, a word reads as a misspelling of a known one
CLOSE = 0.6


class UserError(Exception):
    """Bad input from a user (file, field, flag): `message` says what is wrong, `fix` how to fix it.

    It prints as `message; fix` (the message alone without a fix), so callers that collect problems read the
    fix from the field instead of parsing the text."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message


class ConfigError(UserError):
    """A declarative file (submission.yaml, track file, task spec) is malformed."""


class DataNotFound(UserError):
    """A task's data is neither in the local mirror nor reachable on the hub."""


def closest_match(word: str, known: Iterable[str], cutoff: float = CLOSE) -> str | None:
    """The known word closest to `word` (difflib ratio >= `cutoff`), or None: every did-you-mean asks here."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: str, known: Iterable[str], what: str = "", cutoff: float = CLOSE) -> str:
    """A fix for an unknown word: `did you mean 'x'?` for the closest known one, else all of them
    (`what: a, b, c`), or "" when nothing is close and `what` is empty."""
    known = list(known)
    close = closest_match(word, known, cutoff)
    if close is not None:
        return f"did you mean {close!r}?"
    return f"{what}: {', '.join(known)}" if what else ""
