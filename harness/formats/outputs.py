"""Per-example model outputs beside a record (`<record stem>.outputs.npz`), so that a student's agreement with its
teacher is computed from records alone, without running either model again (harness.scoring.agreement).

One compact `.npz` (no pickle): `ids` (the examples' uids, unicode, in row order), `values` (float16, one row per
example: (n, classes) logits in the task's label order, (n, 1) scores, or (n, options) option scores padded with
NaN) and `kind`. float16 keeps about three significant digits, ample for agreement measures; a value beyond its
range is stored as the largest float16 of its sign, never as infinity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from harness.errors import UserError

OUTPUTS_SUFFIX = ".outputs.npz"
KINDS = ("logits", "scores", "option_scores")  # classification logits; regression or cosine scores; choice options
FIELDS = ("ids", "values", "kind", "version")
FORMAT_VERSION = 1
STORED_DTYPE = np.float16
FLOAT16_MAX = float(np.finfo(np.float16).max)
FIX = "re-run the evaluation that wrote it (`harness evaluate`); an outputs file is never edited by hand"


@dataclass(frozen=True)
class Outputs:
    """A model's per-example outputs as read back: uids in row order, float32 values (n, columns), their kind."""

    ids: tuple[str, ...]
    values: np.ndarray
    kind: str


def outputs_path(record_stem: Path) -> Path:
    """Where the outputs file goes, next to a record with the given stem (as `harness.formats.predictions_path`)."""
    return record_stem.with_name(record_stem.name + OUTPUTS_SUFFIX)


def write_outputs(path: Path, ids: Sequence[str], values: np.ndarray, kind: str) -> None:
    """Write one model's outputs (one row per id) as a compressed `.npz`; a bad argument is a ValueError (a bug)."""
    array = np.asarray(values, dtype=np.float64)
    if kind not in KINDS:
        raise ValueError(f"outputs kind {kind!r}: expected one of {', '.join(KINDS)}")
    if array.ndim != 2 or len(array) != len(ids):
        raise ValueError(f"outputs: {len(ids)} ids need a ({len(ids)}, columns) array, got shape {array.shape}")
    stored = np.clip(array, -FLOAT16_MAX, FLOAT16_MAX).astype(STORED_DTYPE)  # NaN (padding) stays NaN
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:  # a file object: numpy appends no second .npz to the name
        np.savez_compressed(
            fh,
            ids=np.array([str(i) for i in ids], dtype=np.str_),
            values=stored,
            kind=np.array(kind, dtype=np.str_),
            version=np.array(FORMAT_VERSION),
        )


def read_outputs(path: Path | str) -> Outputs:
    """Read an outputs file back; anything but what `write_outputs` writes is a UserError naming the file and fix."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such outputs file", fix=FIX)
    try:
        with np.load(path, allow_pickle=False) as data:
            found = {name: data[name] for name in data.files}
    except Exception as e:  # noqa: BLE001 - a zip, pickle or format error: each one means the file is not ours
        raise UserError(f"{path}: not a readable outputs file ({type(e).__name__}: {e})", fix=FIX) from e
    if set(found) != set(FIELDS):
        odd = sorted(set(found) ^ set(FIELDS))[0]
        raise UserError(f"{path}: {'missing' if odd in FIELDS else 'unknown'} array {odd!r}", fix=FIX)
    if found["version"].shape != () or int(found["version"]) != FORMAT_VERSION:
        raise UserError(f"{path}: outputs format version {found['version']!r}, expected {FORMAT_VERSION}", fix=FIX)
    ids, values, kind = found["ids"], found["values"], found["kind"]
    if kind.dtype.kind != "U" or kind.shape != () or str(kind) not in KINDS:
        raise UserError(f"{path}: kind is {kind!r}, expected one of {', '.join(KINDS)}", fix=FIX)
    if ids.dtype.kind != "U" or ids.ndim != 1:
        raise UserError(f"{path}: ids must be a 1-D unicode array, got {ids.dtype} of shape {ids.shape}", fix=FIX)
    if values.dtype != STORED_DTYPE or values.ndim != 2 or len(values) != len(ids) or not values.shape[1]:
        raise UserError(
            f"{path}: values must be a float16 ({len(ids)}, columns) array for its {len(ids)} ids, got "
            f"{values.dtype} of shape {values.shape}",
            fix=FIX,
        )
    if len(set(ids.tolist())) != len(ids):
        raise UserError(f"{path}: {len(ids) - len(set(ids.tolist()))} repeated example ids", fix=FIX)
    return Outputs(tuple(ids.tolist()), values.astype(np.float32), str(kind))
