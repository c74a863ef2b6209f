"""SQuAD prediction files: one JSON object `{question_id: answer_text}`; "" means no answer (v2.0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from harness.errors import UserError
from harness.tasks.base import Prediction, Task

SUFFIX = ".json"
INDENT = 1  # one entry per line: diffs and error line numbers stay readable


def write(task: Task, predictions: Mapping[str, Prediction], path: Path) -> None:
    """Write the predictions as the JSON object the official SQuAD evaluation reads (values as given)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({str(k): v for k, v in predictions.items()}, f, ensure_ascii=False, indent=INDENT)
        f.write("\n")


def read(task: Task, path: Path) -> dict[str, Prediction]:
    """Parse a SQuAD predictions JSON; errors name the file, the question id and the fix."""
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    try:
        with open(path, encoding="utf-8-sig") as f:
            doc = json.load(f, object_pairs_hook=pairs)
    except json.JSONDecodeError as e:
        raise UserError(
            f"{path}:{e.lineno}: not valid JSON ({e.msg})",
            fix='a SQuAD predictions file is one object {"question_id": "answer text", ...}',
        ) from e
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})", fix="save the predictions file as UTF-8") from e
    if not isinstance(doc, dict):
        raise UserError(
            f"{path}: the top level is a {type(doc).__name__}, not an object",
            fix='write {"question_id": "answer text", ...} (task ' + task.name + ")",
        )
    if duplicates:
        raise UserError(f"{path}: question id {duplicates[0]!r} appears twice", fix="write one answer per question")
    for uid, value in doc.items():
        if not isinstance(value, str):
            raise UserError(
                f"{path}: the answer to question {uid!r} is {json.dumps(value)}, not a string",
                fix='write the answer text, or "" for no answer',
            )
    return dict(doc)
