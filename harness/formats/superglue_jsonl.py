"""SuperGLUE server files: JSON lines, one `{"idx": ..., "label": ...}` object per example.

Labels are written as the server expects: BoolQ/WiC "true"/"false", WSC "True"/"False", CB/RTE/AX-b/AX-g
label names, COPA the choice index 0/1, ReCoRD the entity text (keyed by query idx). MultiRC nests one
line per passage: `{"idx": p, "passage": {"questions": [{"idx": q, "answers": [{"idx": a, "label": 0|1}]}]}}`;
its uids are "p-q-a".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

from harness.errors import UserError
from harness.tasks.base import Prediction, Task
from harness.tasks.files import json_lines

SUFFIX = ".jsonl"
MULTIRC = "multirc"
UID_SEPARATOR = "-"  # MultiRC uids join paragraph, question and answer idx: "p-q-a"
YES_NO_LABELS = ("False", "True")  # dataset labels of the yes/no tasks, which may also be written as JSON booleans
MULTIRC_ID_PARTS = 3  # paragraph, question, answer
MULTIRC_ANSWER_LABELS = (0, 1)


def write(task: Task, predictions: Mapping[str, Prediction], path: Path) -> None:
    """Write the predictions (keyed by uid) as the SuperGLUE server's JSONL, in idx order."""
    objects = (
        _multirc_objects(predictions)
        if task.name == MULTIRC
        else [
            {"idx": _idx_value(uid), "label": _file_label(task, predictions[uid])}
            for uid in sorted(predictions, key=_uid_key)
        ]
    )
    with open(path, "w", encoding="utf-8") as f:
        for obj in objects:
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


def read(task: Task, path: Path) -> dict[str, Prediction]:
    """Parse a SuperGLUE server file into {uid: prediction}; errors name file:line and the fix."""
    out: dict[str, Prediction] = {}
    seen: dict[str, str] = {}  # uid -> where it was first given
    for where, obj in _objects(path):
        if task.name == MULTIRC:
            items = _multirc_items(obj, where)
        else:
            items = [(_uid(_field(obj, "idx", where), where), _parse_label(task, _field(obj, "label", where), where))]
        for uid, prediction in items:
            if uid in seen:
                raise UserError(
                    f"{where}: idx {uid} was already given at {seen[uid]}", fix="write one prediction per example"
                )
            seen[uid] = where
            out[uid] = prediction
    return out


def _objects(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    return json_lines(path, 'one JSON object such as {"idx": 0, "label": "entailment"}')


def _field(obj: Any, name: str, where: str) -> Any:
    if not isinstance(obj, dict) or name not in obj:
        raise UserError(f"{where}: missing field {name!r}", fix="the SuperGLUE server format needs it")
    return obj[name]


def _uid(idx: Any, where: str) -> str:
    if isinstance(idx, bool) or not isinstance(idx, (int, str)) or str(idx) == "":
        raise UserError(f"{where}: idx {idx!r} is not an integer", fix="use the example's idx from the dataset")
    return str(idx)


def _idx_value(uid: str) -> int | str:
    return int(uid) if uid.isdigit() else uid


def _uid_key(uid: str) -> tuple[int, ...] | tuple[int, str]:
    parts = uid.split(UID_SEPARATOR)
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (1 << 62, uid)


def _file_label(task: Task, prediction: Prediction) -> Any:
    if task.kind == "multiple_choice":
        return int(prediction) if task.labels else str(prediction)
    return task.label_strings()[int(prediction)]


def _parse_label(task: Task, value: Any, where: str) -> Prediction:
    """A prediction from a file label: index (classification, COPA) or entity text (ReCoRD)."""
    if task.kind == "multiple_choice" and not task.labels:
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: label {value!r} must be the chosen entity's text (task {task.name})")
        return value
    if task.kind == "multiple_choice":
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(task.labels):
            return value
        raise UserError(f"{where}: label {value!r} must be a choice index 0..{len(task.labels) - 1} (task {task.name})")
    for names in (task.label_strings(), task.labels):
        if isinstance(value, str) and value in names:
            return names.index(value)
    if isinstance(value, bool) and task.labels == YES_NO_LABELS:
        return int(value)  # a JSON true/false for a yes/no task
    raise UserError(
        f"{where}: label {value!r} is not one of {', '.join(task.label_strings())} (task {task.name})",
        fix="write the label as the SuperGLUE server expects",
    )


def _multirc_items(obj: dict[str, Any], where: str) -> list[tuple[str, int]]:
    p = _uid(_field(obj, "idx", where), where)
    questions = _field(_field(obj, "passage", where), "questions", f"{where} passage")
    if not isinstance(questions, list):
        raise UserError(f'{where}: passage.questions must be a list of {{"idx": q, "answers": [...]}}')
    items = []
    for question in questions:
        q = _uid(_field(question, "idx", f"{where} question"), where)
        answers = _field(question, "answers", f"{where} question {q}")
        if not isinstance(answers, list):
            raise UserError(
                f'{where}: question {q}: answers must be a list of {{"idx": a, "label": 0|1}}, '
                f"got {json.dumps(answers)}"
            )
        for answer in answers:
            a = _uid(_field(answer, "idx", f"{where} question {q} answer"), where)
            label = _field(answer, "label", f"{where} question {q} answer {a}")
            if label not in MULTIRC_ANSWER_LABELS or isinstance(label, str):
                raise UserError(f"{where}: question {q} answer {a}: label {label!r} must be 0 or 1 (MultiRC)")
            items.append((UID_SEPARATOR.join((p, q, a)), int(label)))
    return items


def _multirc_objects(predictions: Mapping[str, Prediction]) -> list[dict[str, Any]]:
    """Nest "p-q-a" uids into one object per passage, questions and answers in idx order."""
    passages: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for uid in sorted(predictions, key=_uid_key):
        parts = uid.split(UID_SEPARATOR)
        if len(parts) != MULTIRC_ID_PARTS:
            raise ValueError(f"MultiRC uid {uid!r} is not 'paragraph-question-answer'")
        p, q, a = parts
        passages.setdefault(p, {}).setdefault(q, []).append({"idx": _idx_value(a), "label": int(predictions[uid])})
    return [
        {
            "idx": _idx_value(p),
            "passage": {"questions": [{"idx": _idx_value(q), "answers": answers} for q, answers in questions.items()]},
        }
        for p, questions in passages.items()
    ]
