"""Extractive QA (SQuAD v1.1 / v2.0): a question-answering head picks an answer span in the context.

Each (question, context) pair is tokenized question first, the context cut into windows of
`max_length` tokens that overlap by `doc_stride` tokens; every window runs through the model once.
Span rules (`best_span`), applied per example over all its windows:
- candidates are the `n_best` highest start logits and the `n_best` highest end logits of each window;
- a span must lie inside the context (no question, special or padding token), end >= start, and be
  at most `max_answer_length` tokens long;
- the best span has the highest start + end logit over all windows (ties: the earlier window, then
  the higher-ranked start); its text is the context characters from its first token's start offset
  to its last token's end offset, so it is always a substring of the context;
- SQuAD v2.0 only: the null score is start[CLS] + end[CLS], the minimum over the windows; the answer
  is "" (no answer) when null score - best span score > `null_threshold`, or when no span is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from harness.backends.base import Model
from harness.backends.heads import heads_for
from harness.errors import UserError
from harness.inference.batching import run_batched
from harness.inference.formulations import EvalSettings
from harness.tasks.base import Prediction, Row, Task

HEADS = heads_for("extractive_qa")
NO_ANSWER_TASKS = ("squad_v2",)  # tasks whose questions may have no answer: the null score competes
NO_ANSWER = ""
CONTEXT_SEQUENCE = 1  # the tokenizer's sequence id of the context (the question is 0)
MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class Window:
    """One tokenized window of a context with the model's logits for its tokens."""

    start_logits: np.ndarray  # [length]
    end_logits: np.ndarray  # [length]
    offsets: np.ndarray  # [length, 2]: each token's (start, end) character span in the context
    in_context: np.ndarray  # [length] bool: the token is part of the context
    cls_index: int = 0  # the token whose start + end logit scores "no answer"


@dataclass(frozen=True)
class Answer:
    """The chosen answer of one example; `window` is -1 and the span (0, 0) when none was chosen."""

    text: str
    start_char: int
    end_char: int
    score: float  # start + end logit of the best span; -inf when no span was valid
    window: int
    null_score: float | None = None  # v2.0 only


def best_span(
    context: str,
    windows: Sequence[Window],
    n_best: int = 20,
    max_answer_length: int = 30,
    allow_null: bool = False,
    null_threshold: float = 0.0,
) -> Answer:
    """The best answer span of one example over all its windows, by the rules of the module docstring."""
    best = Answer(NO_ANSWER, 0, 0, float("-inf"), -1)
    null_score = float("inf")
    for w, win in enumerate(windows):
        start, end = np.asarray(win.start_logits, dtype=np.float64), np.asarray(win.end_logits, dtype=np.float64)
        in_context = np.asarray(win.in_context, dtype=bool)
        null_score = min(null_score, float(start[win.cls_index] + end[win.cls_index]))
        starts = np.argsort(-start, kind="stable")[:n_best]
        ends = np.argsort(-end, kind="stable")[:n_best]
        length = ends[None, :] - starts[:, None] + 1
        valid = in_context[starts][:, None] & in_context[ends][None, :] & (length >= 1) & (length <= max_answer_length)
        if not valid.any():
            continue
        scores = np.where(valid, start[starts][:, None] + end[ends][None, :], -np.inf)
        i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
        if scores[i, j] > best.score:
            first, last = int(win.offsets[starts[i]][0]), int(win.offsets[ends[j]][1])
            best = Answer(context[first:last], first, last, float(scores[i, j]), w)
    if not allow_null:
        return best
    if not windows:
        return Answer(NO_ANSWER, 0, 0, float("-inf"), -1, None)
    if best.window < 0 or null_score - best.score > null_threshold:
        return Answer(NO_ANSWER, 0, 0, best.score, -1, null_score)
    return Answer(best.text, best.start_char, best.end_char, best.score, best.window, null_score)


def tokenize_windows(
    model: Model, questions: Sequence[str], contexts: Sequence[str], max_length: int, doc_stride: int
) -> dict[str, Any]:
    """Tokenize (question, context) pairs into overlapping context windows, with character offsets."""
    tok = model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise UserError(
            "extractive QA needs a fast (Rust) tokenizer for character offsets",
            fix="save the model folder "
            "with a tokenizer.json (AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained)",
        )
    try:
        return tok(
            [q.lstrip() for q in questions],
            list(contexts),
            truncation="only_second",
            max_length=max_length,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
    except Exception as e:  # the Rust tokenizer raises bare Exceptions for impossible windows
        raise UserError(
            f"cannot cut contexts into windows of {max_length} tokens overlapping by {doc_stride} "
            f"({type(e).__name__}: {e})",
            fix="raise --max-length or lower --doc-stride so that every question plus doc_stride context tokens fit",
        ) from e


def predict(
    task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings, *, outputs: dict[str, Any] | None = None
) -> dict[str, Prediction]:
    """Predict an answer text (a substring of the context, or "" for no answer) for every row; `outputs` is left as
    it is: answers are compared as texts, from the predictions file (harness.scoring.agreement)."""
    if model.head not in HEADS:
        raise UserError(f"task {task.name} needs a question_answering head, the model is {model.head}")
    texts = [task.texts(r) for r in rows]
    answers = answer_spans(
        model,
        [t[0] for t in texts],
        [t[1] for t in texts],
        settings,
        task.max_length,
        task.name in NO_ANSWER_TASKS,
        task.name,
    )
    return {task.uid(row): a.text for row, a in zip(rows, answers)}


def answer_spans(
    model: Model,
    questions: Sequence[str],
    contexts: Sequence[str],
    settings: EvalSettings,
    default_length: int,
    allow_null: bool = False,
    desc: str = "",
) -> list[Answer]:
    """The best span of each (question, context) pair, all windows batched through the model together."""
    enc = tokenize_windows(model, questions, contexts, settings.max_length or default_length, settings.doc_stride)
    cls_id = model.tokenizer.cls_token_id
    features, windows_of = [], [[] for _ in questions]
    for f, example in enumerate(enc["overflow_to_sample_mapping"]):
        features.append({k: list(enc[k][f]) for k in MODEL_INPUTS if k in enc})
        windows_of[example].append(f)
    outs = run_batched(model, features, settings.batch_size, settings.sort_by_length, desc, settings.progress)
    answers = []
    for n, context in enumerate(contexts):
        windows = []
        for f in windows_of[n]:
            ids = features[f]["input_ids"]
            sequence_ids = enc.sequence_ids(f)
            windows.append(
                Window(
                    start_logits=outs[f]["start_logits"],
                    end_logits=outs[f]["end_logits"],
                    offsets=np.asarray(enc["offset_mapping"][f], dtype=np.int64).reshape(-1, 2),
                    in_context=np.array([s == CONTEXT_SEQUENCE for s in sequence_ids], dtype=bool),
                    cls_index=ids.index(cls_id) if cls_id in ids else 0,
                )
            )
        answers.append(
            best_span(
                context, windows, settings.n_best, settings.max_answer_length, allow_null, settings.null_threshold
            )
        )
    return answers
