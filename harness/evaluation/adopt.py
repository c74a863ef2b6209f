"""Taking a worker's record into the results folder: the organizer's side of every executor.

A job's worker writes its record and the files the record names under a results folder of its own, in its job
folder (the only place it may write); the organizer then takes them, after checking that the record is the job's
own (its key, which the record store makes from its fields, is the job's planned key), and that it names only the
files a record of its key has.
A worker runs a stranger's code, so nothing it leaves is followed (a link), opened in a way that could hang the run
(a FIFO), read past a size limit, or taken that the record does not name; it is taken into the organizer's own
record store, which keeps what it replaces as history.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from harness.errors import UserError

if TYPE_CHECKING:
    from harness.records.record import Record


class Refused(UserError):
    """A worker's record or file that is not taken: the job fails with this cause."""


STAGED = "results"  # under a job folder: the worker's own results folder
# The most the organizer reads of a file a worker hands back: SQuAD's and NQ-open's predictions take a few MB, and
# per-example outputs of IMDb's 25,000 reviews under 1 MB; a record is a few KB.
MAX_HANDED_BYTES = 256 << 20
MAX_RESULT_BYTES = 1 << 20  # the worker's result.json (a record's path, or an error)
NAMED_FILES = ("predictions_file", "outputs_file")  # the fields of a record that name files beside it


def staged_results(job_folder: Path) -> Path:
    """Where a job's worker writes its record and predictions: a results folder in its job folder."""
    return Path(job_folder) / STAGED


def adopt_record(handed: Any, staged: Path, results: Path, its_own: Callable[[Record, Path], bool]) -> Record:
    """Store the record at `handed`, which a worker wrote under `staged`, into `results` with the files it names;
    returns it as stored. `its_own(record, path)` says whether a record at `path` under `staged` is the job's.
    Raises Refused naming what is wrong (the caller writes the job's failed record), UserError when the record
    cannot be stored."""
    from harness.records import read_record, record_path, store_record
    from harness.records.store import check_place, write_atomic

    if isinstance(handed, os.PathLike):
        handed = os.fspath(handed)
    if not isinstance(handed, str) or "\0" in handed:
        raise Refused(f"its worker handed back no record path ({str(handed)[:80]!r})")
    path = Path(handed)
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(staged))
    except ValueError:
        raise Refused(f"its worker handed back a record that is not this job's ({path})") from None
    real = Path(os.path.realpath(staged)) / rel  # where the file is when no link is on its way
    try:
        record = read_record(path, read_plain(path, real, MAX_HANDED_BYTES))
    except Refused:
        raise
    except UserError as e:
        raise Refused(e.message, fix=e.fix) from e
    if not its_own(record, path):
        raise Refused(f"its worker handed back a record that is not this job's ({path})")
    target = record_path(results, record)
    try:
        check_place(record, str(target))
    except UserError as e:
        raise Refused(e.message) from e
    beside = target.parent
    named: dict[str, str] = {f: str(getattr(record, f)) for f in NAMED_FILES if getattr(record, f, None)}
    if named and not record.ok:  # it would land over its key's good record's files
        raise Refused(f"{path}: a failed record names {', '.join(named)}; a failed run has no such files")
    expected_names = companions(record, path) if named else {}
    for field, name in named.items():
        expected = expected_names[field]
        if name != expected:
            raise Refused(f"{path}: {field} is {name[:80]!r}; a record of its key names {expected!r}")
        write_atomic(beside / name, read_plain(path.with_name(name), real.with_name(name), MAX_HANDED_BYTES))
    return store_record(record, results)


def companions(record: Record, path: Path) -> dict[str, str]:
    """The names of the files a record at `path` may name, by field: its predictions and outputs files, as
    harness.evaluation.evaluate names them beside it."""
    from harness.formats import predictions_path
    from harness.formats.outputs import outputs_path
    from harness.records.store import record_stem
    from harness.tasks import get_task

    stem = record_stem(path)
    try:
        task = get_task(record.task.name)
    except UserError as e:
        raise Refused(e.message) from e
    return {"predictions_file": predictions_path(task, stem).name, "outputs_file": outputs_path(stem).name}


def read_plain(path: Path, real: Path, limit: int) -> bytes:
    """The bytes of a regular file a worker left, at most `limit` of them; refused when it is a link, a FIFO or a
    device, is reached through a link (its real path is not `real`), or is larger. Opened without following a
    link and without waiting (a FIFO never hangs the reader), and checked on what was opened."""
    try:
        if Path(os.path.realpath(path)) != real:
            raise Refused(f"{path}: reached through a link; not read")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (OSError, ValueError) as e:
        raise Refused(f"{path}: not a regular file the worker left, or none ({_why(e)}); not read") from e
    with os.fdopen(fd, "rb") as fh:
        opened = os.readlink(f"/proc/self/fd/{fh.fileno()}") if os.path.isdir("/proc/self/fd") else str(real)
        if Path(opened) != real:  # a folder on its way was swapped for a link since the check
            raise Refused(f"{path}: reached through a link; not read")
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{path}: not a regular file (a FIFO or a device); not read")
        if info.st_size > limit:
            raise Refused(f"{path}: {info.st_size:,} bytes, over the {limit:,} a worker may hand back; not read")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise Refused(f"{path}: over the {limit:,} bytes a worker may hand back; not read")
    return data


def _why(error: BaseException) -> str:
    return error.strerror or str(error) if isinstance(error, OSError) else str(error)
