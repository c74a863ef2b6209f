"""Sentence and sentence-pair classification and regression (GLUE, most of SuperGLUE).

A classification head's outputs are mapped to the task's labels by the model's `id2label` when it
names them, else taken in the dataset's label order. A `cosine` head (sentence encoders) scores a
pair by the cosine of the two mean-pooled embeddings: the prediction is that cosine, for
regression tasks such as STS-B, whose correlation metrics need no rescaling.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np

from harness.backends.base import Model
from harness.backends.heads import heads_for
from harness.errors import UserError
from harness.inference.batching import run_batched
from harness.inference.formulations import EvalSettings, capture
from harness.tasks.base import Prediction, Row, Task

HEADS = heads_for("classification")
GENERIC_LABEL = re.compile(r"^label_?\d+$", re.IGNORECASE)
LOGITS, SCORES = "logits", "scores"  # the kinds of outputs it captures (harness.formats.outputs.KINDS)


def label_mapping(task: Task, id2label: dict[int, str], num_outputs: int) -> list[int]:
    """For each model output index, the task label index it predicts."""
    if not task.labels:
        if num_outputs != 1:
            raise UserError(
                f"task {task.name} is a regression task: the model needs 1 output (num_labels=1), has {num_outputs}"
            )
        return [0]
    if num_outputs != len(task.labels):
        raise UserError(
            f"task {task.name} has {len(task.labels)} labels ({', '.join(task.labels)}), "
            f"the model has {num_outputs} outputs",
            fix=f"set num_labels={len(task.labels)} in config.json",
        )
    names = [id2label.get(i, "") for i in range(num_outputs)]
    if all(GENERIC_LABEL.match(n) or not n for n in names):
        return list(range(num_outputs))
    for vocabulary in (task.labels, task.label_strings()):
        lowered = [v.lower() for v in vocabulary]
        if sorted(n.lower() for n in names) == sorted(lowered):
            return [lowered.index(n.lower()) for n in names]
    raise UserError(
        f"task {task.name}: the model's id2label {dict(enumerate(names))} does not name the task's labels "
        f"({', '.join(task.labels)})",
        fix="rename them in config.json, or use LABEL_0.. for dataset order",
    )


def encode(model: Model, texts: Sequence[Sequence[str]], max_length: int) -> list[dict[str, list[int]]]:
    """Tokenize single texts or pairs with truncation (longest-first, as GLUE fine-tuning does)."""
    tok = model.tokenizer
    out = []
    for t in texts:
        enc = tok(*t[:2], truncation=True, max_length=max_length)
        out.append({k: list(v) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")})
    return out


def predict(
    task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings, *, outputs: dict[str, Any] | None = None
) -> dict[str, Prediction]:
    """Predict a label index (or a score, for regression) for every row; `outputs`, when a dict, receives the logits
    with column j = task label j (kind logits), or the (n, 1) scores of a regression or cosine head (kind scores)."""
    length = settings.length_for(task)
    texts = [task.texts(r) for r in rows]
    uids = [task.uid(r) for r in rows]
    if model.head == "cosine":
        scores = cosine_scores(model, texts, length, settings, task.name)
        capture(outputs, SCORES, uids, scores[:, None])
        return dict(zip(uids, (float(c) for c in scores)))
    if model.head != "sequence_classification":
        raise UserError(f"task {task.name} needs a sequence_classification or cosine head, the model is {model.head}")
    outs = run_batched(
        model, encode(model, texts, length), settings.batch_size, settings.sort_by_length, task.name, settings.progress
    )
    logits = finite(np.stack([o["logits"] for o in outs]), model, task.name)
    if not task.labels:
        label_mapping(task, model.id2label, logits.shape[1])
        capture(outputs, SCORES, uids, logits[:, :1])
        return {u: float(x) for u, x in zip(uids, logits[:, 0])}
    mapping = label_mapping(task, model.id2label, logits.shape[1])
    if outputs is not None:
        capture(outputs, LOGITS, uids, in_label_order(logits, mapping))
    return {u: mapping[int(i)] for u, i in zip(uids, logits.argmax(axis=1))}


def in_label_order(logits: np.ndarray, mapping: Sequence[int]) -> np.ndarray:
    """The model's logits with columns moved into the task's label order: column mapping[i] holds output i."""
    ordered = np.empty_like(logits)
    ordered[:, list(mapping)] = logits
    return ordered


def finite(outputs: np.ndarray, model: Model, task_name: str) -> np.ndarray:
    """`outputs` (one row per example) unchanged; a UserError naming the model and the count of rows with NaN or
    infinite values (a NaN row would argmax to label 0 and score as a guess)."""
    bad = int((~np.isfinite(outputs)).reshape(len(outputs), -1).any(axis=1).sum())
    if bad:
        raise UserError(
            f"task {task_name}: the model {model.folder} gave non-finite outputs (NaN or infinity) for "
            f"{bad} of {len(outputs)} examples",
            fix="check the weights for NaN or infinite values (a failed fine-tuning or compression step)",
        )
    return outputs


def cosine_scores(
    model: Model, texts: Sequence[Sequence[str]], max_length: int, settings: EvalSettings, desc: str = "cosine"
) -> np.ndarray:
    """Cosine similarity of the mean-pooled embeddings of each pair's two texts."""
    if any(len(t) != 2 for t in texts):
        raise UserError("a cosine head scores sentence pairs; this task has single sentences")
    singles = [(t[0],) for t in texts] + [(t[1],) for t in texts]
    outs = run_batched(
        model, encode(model, singles, max_length), settings.batch_size, settings.sort_by_length, desc, settings.progress
    )
    emb = finite(np.stack([o["embedding"] for o in outs]).astype(np.float64), model, desc)
    a, b = emb[: len(texts)], emb[len(texts) :]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return (a * b).sum(axis=1) / np.maximum(norms, np.finfo(np.float64).tiny)
