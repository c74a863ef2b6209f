"""GLUE test-server files: a header `index<TAB>prediction`, then one row per example.

Classification tasks write their label string (0/1 for CoLA, SST-2, MRPC, QQP, WNLI; names for the NLI
tasks); STS-B writes the predicted score as a number. Reading accepts, for every classification task, the label
string, the label name, or the label's index in the task's label order (the hub's, as `harness tasks` prints it:
0 = entailment for the NLI tasks).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Mapping

from harness.errors import UserError
from harness.tasks.base import Prediction, Task

SUFFIX = ".tsv"
HEADER = ("index", "prediction")


def write(task: Task, predictions: Mapping[str, Prediction], path: Path) -> None:
    """One `index<TAB>prediction` row per example, in index order."""
    labels = task.label_strings()
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        for uid in sorted(predictions, key=_index_key):
            p = predictions[uid]
            w.writerow((uid, labels[int(p)] if labels else repr(float(p))))


def read(task: Task, path: Path) -> dict[str, Prediction]:
    """Parse a GLUE prediction TSV; labels may be written as strings, names or indices. Errors name file and line."""
    labels = task.label_strings()
    out: dict[str, Prediction] = {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save the predictions file as UTF-8") from e
    except csv.Error as e:
        raise UserError(f"{path}: not a readable TSV ({e})", fix="write plain `index<TAB>prediction` lines") from e
    if not rows or [c.strip().lower() for c in rows[0][:2]] != list(HEADER):
        raise UserError(f"{path}: first line must be the header 'index<TAB>prediction' (GLUE test-server format)")
    for n, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise UserError(f"{path}:{n}: expected 2 tab-separated columns (index, prediction), got {len(row)}")
        uid, value = row[0].strip(), row[1].strip()
        if uid in out:
            raise UserError(f"{path}:{n}: index {uid} appears twice", fix="write one prediction per example")
        out[uid] = _parse(task, value, labels, f"{path}:{n}")
    return out


def _parse(task: Task, value: str, labels: tuple[str, ...], where: str) -> Prediction:
    """A prediction cell: a finite score (regression), or a label string, label name or index into `task.labels`."""
    if not labels:
        try:
            x = float(value)
        except ValueError:
            raise UserError(f"{where}: prediction {value!r} is not a number; {task.name} predicts a score") from None
        if not math.isfinite(x):
            raise UserError(f"{where}: prediction {value!r} is not finite", fix="write the predicted score as a number")
        return x
    for names in (labels, task.labels):
        if value in names:
            return names.index(value)
    if value.isascii() and value.isdigit() and int(value) < len(task.labels):
        return int(value)
    names = list(dict.fromkeys((*labels, *task.labels)))
    raise UserError(
        f"{where}: prediction {value!r} is not one of {', '.join(names)} or an index "
        f"0..{len(task.labels) - 1} (task {task.name}; `harness tasks` prints its label order)"
    )


def _index_key(uid: str) -> tuple[int, str]:
    return (int(uid), "") if uid.isdigit() else (1 << 62, uid)
