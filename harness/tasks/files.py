"""Readers for the benchmarks' original file layouts (TSV with or without header, JSON lines)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from harness.errors import UserError

csv.field_size_limit(1 << 24)  # SQuAD/ReCoRD-size passages exceed the csv default of 128 KiB


def read_tsv(path: Path, header: bool = True) -> list[dict[str, str]] | list[list[str]]:
    """Rows of a GLUE-style TSV, unquoted as the official loaders read them; dicts when there is a header."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        lines = [line for line in reader if line]
    if not header:
        return lines
    if not lines:
        raise UserError(f"{path}: empty file; expected a header line")
    names = lines[0]
    out = []
    for n, line in enumerate(lines[1:], start=2):
        if len(line) != len(names):  # more: a tab inside a field, whose text after it would be lost
            raise UserError(
                f"{path}:{n}: {len(line)} columns, header has {len(names)}",
                fix=f"{'is the file truncated?' if len(line) < len(names) else 'a field contains a tab?'} "
                "Use the official file",
            )
        out.append(dict(zip(names, line)))
    return out


def json_lines(path: Path, expected: str = "one JSON object") -> Iterator[tuple[str, dict[str, Any]]]:
    """('file:line', object) for each non-blank line; bad text, bad JSON or a non-object names the line.

    `expected` describes what a line should hold, for the error message (e.g. '{"idx": 0, "label": ...}').
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = list(f)
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save the file as UTF-8") from e
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not valid JSON ({e.msg})", fix=f"each line must be {expected}") from e
        if not isinstance(obj, dict):
            raise UserError(f"{where}: a JSON {type(obj).__name__}, not an object", fix=f"each line must be {expected}")
        yield where, obj


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Objects of a JSON-lines file; a bad line is an error naming the file and line."""
    return [obj for _, obj in json_lines(path)]


def column(row: dict[str, str], name: str, path: Path) -> str:
    """A named column of a TSV row, or an error naming the file and the missing column."""
    try:
        return row[name]
    except KeyError:
        raise UserError(
            f"{path}: no column {name!r} (columns: {', '.join(row)})", fix="is this the official layout?"
        ) from None


def label_index(value: str, labels: tuple[str, ...], path: Path) -> int:
    """Index of a label string in `labels` (also accepts the index itself as a string)."""
    if value in labels:
        return labels.index(value)
    if value.isdigit() and int(value) < len(labels):
        return int(value)
    raise UserError(f"{path}: label {value!r} is not one of {labels}")
