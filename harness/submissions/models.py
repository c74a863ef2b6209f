"""Checks that need each submission model loaded (once per folder, head and outputs): labels and declared parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.submissions.folders import declared_origin
from harness.submissions.submission import SUBMISSION_FILE, Submission, TaskEntry
from harness.yamlcheck import Problem

# The fixes when a harness error carries none of its own
RESAVE = "re-save it with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)"
RELABEL = "fine-tune the model for the task's labels, or fix num_labels and id2label in config.json"


def check_models(
    sub: Submission, usable: dict[tuple[Path, str], list[str]], allow_pickle: bool, problems: list[Problem]
) -> None:
    """Load each distinct (folder, head, declared outputs) once, then check labels and declared parameters of its
    tasks; problems are appended to `problems`."""
    from harness.backends import load_model
    from harness.backends.base import LoadOptions

    yaml_file = str(sub.path / SUBMISSION_FILE)
    loads: dict[tuple[Path, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for (folder, head), tasks in usable.items():
        for name in tasks:
            loads.setdefault((folder, head, sub.tasks[name].outputs), []).append(name)
    for (folder, head, outputs), names in loads.items():
        try:
            options = LoadOptions(allow_pickle=allow_pickle, outputs=outputs)
            model = load_model(folder, head, options, backend=sub.backend)
        except UserError as e:
            problems.append(
                Problem(str(folder), f"tasks.{names[0]}.model", e.message.removeprefix(f"{folder}: "), e.fix or RESAVE)
            )
            continue
        measured = _parameters(model)
        wrong: dict[tuple[str, int], list[str]] = {}  # (yaml key path, declared) -> tasks: one problem each
        for name in names:
            problems += _label_problems(sub.tasks[name], model, str(folder))
            declared = sub.tasks[name].declared.parameters
            if declared is not None and measured is not None and declared != measured:
                wrong.setdefault((declared_origin(sub.tasks[name], "parameters"), declared), []).append(name)
        for (origin, declared), tasks in wrong.items():
            problems.append(
                Problem(
                    yaml_file,
                    origin,
                    f"declared {declared} parameters, measured {measured} "
                    f"(unique tensors of {folder} loaded as {head}, for {', '.join(tasks)})",
                    f"set {origin}: {measured}, or remove it",
                )
            )
        del model


def _label_problems(entry: TaskEntry, model: Any, folder: str) -> list[Problem]:
    """Whether the model's outputs fit the task's labels (classification and regression tasks)."""
    from harness.inference.formulations.classify import label_mapping
    from harness.tasks import get_task

    task = get_task(entry.task)
    where = f"tasks.{entry.task}"
    if task.kind not in ("classification", "regression"):
        return []
    if entry.head == "cosine":  # no outputs to map: the schema checked that the task is a pair regression
        return []
    try:
        label_mapping(task, model.id2label, len(model.id2label))
    except UserError as e:
        return [Problem(str(Path(folder) / "config.json"), f"{where}.model", e.message, e.fix or RELABEL)]
    return []


def _parameters(model: Any) -> int | None:
    """The parameters of a loaded model as its backend counts them (None where it counts none)."""
    total = model.count_params().get("total_params")
    return total if type(total) is int else None
