"""Errors a user can fix: the CLI prints their message and exits 2, with no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user (file, field, flag); the message names what and how to fix it."""


class ConfigError(UserError):
    """A declarative file (submission.yaml, track file, task spec) is malformed."""


class DataNotFound(UserError):
    """A task's data is neither in the local mirror nor reachable on the hub."""
