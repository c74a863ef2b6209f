"""Multiple choice (COPA, ReCoRD): every (context, option) pair is scored on its own; the best option wins.

A multiple-choice head gives each option one score before any softmax across options, so scoring all
rows' options as one flat list of sequences equals scoring each row's options together, and lets rows
with different numbers of options (ReCoRD) share batches. Options come from `Task.choices`: per option
its input texts and the prediction it stands for (COPA: the choice index; ReCoRD: the entity text).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from harness.backends.base import Model
from harness.backends.heads import heads_for
from harness.errors import UserError
from harness.inference.batching import run_batched
from harness.inference.formulations import EvalSettings, capture
from harness.inference.formulations.classify import encode
from harness.tasks.base import Prediction, Row, Task

HEADS = heads_for("multiple_choice")
SCORE_SHAPE = (1,)  # a multiple_choice head returns one logit per (context, option) sequence
OPTION_SCORES = "option_scores"  # the kind of outputs it captures (harness.formats.outputs.KINDS)


def option_scores(
    task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings
) -> list[tuple[np.ndarray, list[Prediction]]]:
    """For each row, the score of every option and the prediction each option stands for."""
    if task.choices is None:
        raise UserError(
            f"task {task.name} is multiple choice but declares no `choices`",
            fix="give its Task a choices(row) -> [(texts, prediction), ...] callable",
        )
    if model.head != "multiple_choice":
        raise UserError(
            f"task {task.name} needs a multiple_choice head, the model is loaded as {model.head}",
            fix="save it as a *ForMultipleChoice model",
        )
    if not rows:
        return []
    texts: list[Sequence[str]] = []
    values: list[list[Prediction]] = []
    for row in rows:
        options = list(task.choices(row))
        if not options:
            raise UserError(
                f"task {task.name}: example {task.uid(row)} has no options; every example needs at least one"
            )
        texts.extend(t for t, _ in options)
        values.append([v for _, v in options])
    outs = run_batched(
        model,
        encode(model, texts, settings.length_for(task)),
        settings.batch_size,
        settings.sort_by_length,
        task.name,
        settings.progress,
    )
    shapes = {o["logits"].shape for o in outs}
    if shapes != {SCORE_SHAPE}:
        raise UserError(
            f"task {task.name}: a multiple_choice model must return one logit per option, got shapes {sorted(shapes)}",
            fix="use a *ForMultipleChoice model",
        )
    flat = np.array([float(o["logits"][0]) for o in outs])
    result, start = [], 0
    for vals in values:
        result.append((flat[start : start + len(vals)], vals))
        start += len(vals)
    return result


def predict(
    task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings, *, outputs: dict[str, Any] | None = None
) -> dict[str, Prediction]:
    """The highest-scoring option's prediction for every row (the first option on a tie); `outputs`, when a dict,
    receives every row's option scores (kind option_scores), NaN past a row's last option (ReCoRD)."""
    scored = option_scores(task, model, rows, settings)
    uids = [task.uid(row) for row in rows]
    if outputs is not None:
        capture(outputs, OPTION_SCORES, uids, padded([scores for scores, _ in scored]))
    return {uid: vals[int(np.argmax(scores))] for uid, (scores, vals) in zip(uids, scored)}


def padded(scores: Sequence[np.ndarray]) -> np.ndarray:
    """Rows of option scores as one (rows, most options) array, NaN where a row has fewer options."""
    out = np.full((len(scores), max((len(s) for s in scores), default=1)), np.nan)
    for i, row in enumerate(scores):
        out[i, : len(row)] = row
    return out
