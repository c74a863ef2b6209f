"""EfficientQA prediction files: JSON lines, one `{"question": ..., "prediction": ...}` per question."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from harness.errors import UserError
from harness.tasks.base import Prediction, Task
from harness.tasks.files import json_lines

SUFFIX = ".jsonl"
FIELDS = ("question", "prediction")


def write(task: Task, predictions: Mapping[str, Prediction], path: Path) -> None:
    """One JSON object per line, keyed by the question text, in the order given."""
    with open(path, "w", encoding="utf-8") as f:
        for question, answer in predictions.items():
            f.write(json.dumps({"question": str(question), "prediction": answer}, ensure_ascii=False) + "\n")


def read(task: Task, path: Path) -> dict[str, Prediction]:
    """Parse an EfficientQA predictions file; errors name the file, the line and the fix."""
    out: dict[str, Prediction] = {}
    for where, obj in json_lines(path, '{"question": ..., "prediction": ...}'):
        for name in FIELDS:
            if not isinstance(obj.get(name), str):
                got = "missing" if name not in obj else f"{json.dumps(obj[name])}, not a string"
                raise UserError(
                    f"{where}: field {name!r} is {got}",
                    fix=f"each line needs the question text and the predicted answer as strings (task {task.name})",
                )
        if obj["question"] in out:
            raise UserError(
                f"{where}: question {obj['question']!r} appears twice", fix="write one prediction per question"
            )
        out[obj["question"]] = obj["prediction"]
    return out
