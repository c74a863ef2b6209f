"""Write a folder whole or not at all: build it under a hidden temporary name beside the target, check it there, then
swap it into place (old -> backup, temporary -> target, delete the backup), so a failure never loses either."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import UserError


def staging_folder(path: Path) -> Path:
    """Where `path` is built: a folder of its own name (so checks see its id) inside a hidden one beside it (one per
    process, on the same disk so the rename is one step)."""
    return path.parent / f".{path.name}.partial-{os.getpid()}" / path.name


def write_folder(
    path: Path,
    fill: Callable[[Path], Any],
    check: Callable[[Path], list[Any]] | None = None,
    keep_failed: bool = True,
) -> Path:
    """Build `path` with `fill(temporary folder)`, refuse it if `check(temporary folder)` finds problems, then swap
    it into place; on a failure the temporary folder is kept and named (removed instead when not `keep_failed`)."""
    tmp = staging_folder(path)
    shutil.rmtree(tmp.parent, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        fill(tmp)
        problems = check(tmp) if check is not None else []
    except BaseException as e:
        if not keep_failed or not isinstance(e, Exception):
            shutil.rmtree(tmp.parent, ignore_errors=True)
            raise
        raise _kept(path, tmp, f"writing it failed ({type(e).__name__}: {e})") from e
    if problems:
        lines = "\n".join(f"  {p}" for p in problems)
        raise _kept(path, tmp, f"the written folder has {len(problems)} problem(s):\n{lines}")
    swap(tmp, path)
    shutil.rmtree(tmp.parent, ignore_errors=True)
    return path


def swap(tmp: Path, path: Path) -> None:
    """Put the folder `tmp` at `path`: an existing `path` is renamed to a backup first and deleted only after."""
    backup = path.parent / f".{path.name}.old-{os.getpid()}"
    shutil.rmtree(backup, ignore_errors=True)
    had_old = path.exists()
    try:
        if had_old:
            path.rename(backup)
        tmp.rename(path)
    except OSError as e:
        if had_old and backup.exists() and not path.exists():
            backup.rename(path)  # put the old folder back
        raise _kept(path, tmp, f"moving it into place failed ({e})") from e
    shutil.rmtree(backup, ignore_errors=True)


def _kept(path: Path, tmp: Path, why: str) -> UserError:
    """The error of a write that failed, naming the temporary folder it left (when there is one)."""
    if tmp.exists():
        return UserError(
            f"{path}: {why}; what was written is kept in {tmp}",
            fix=f"fix the cause, then move {tmp} to {path} yourself or rerun (the old {path.name}, if any, is intact)",
        )
    return UserError(f"{path}: {why}", fix="fix the cause and rerun")
