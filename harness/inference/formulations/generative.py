"""Open-domain QA (NQ-open / EfficientQA): no context is given with the question.

Two kinds of system:
- `seq2seq` (closed book): the question is encoded as is, questions are batched shortest first, decoded
  with the backend's `generate`; the answer is the decoded text stripped of surrounding whitespace.
- `retriever_reader`: the model folder packages its passages (harness.inference.retrieval, counted in its size);
  a TF-IDF retriever picks the `retrieval_top_k` best passages per question, an extractive QA head reads
  each (question, passage) pair, and the answer is the best-scoring span over those passages.
"""

from __future__ import annotations

from typing import Any, Sequence

from harness.backends.base import Model
from harness.backends.heads import heads_for
from harness.errors import UserError
from harness.inference.batching import map_batches
from harness.inference.formulations import EvalSettings
from harness.tasks.base import Prediction, Row, Task

HEADS = heads_for("generative_qa")
ENCODER_INPUTS = ("input_ids", "attention_mask")  # no token_type_ids: seq2seq models do not take them


def encode_questions(model: Model, questions: Sequence[str], max_length: int) -> list[dict[str, list[int]]]:
    """Tokenize each question on its own, truncated to `max_length` tokens."""
    out = []
    for q in questions:
        enc = model.tokenizer(q, truncation=True, max_length=max_length)
        out.append({k: list(enc[k]) for k in ENCODER_INPUTS if k in enc})
    return out


def predict(
    task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings, *, outputs: dict[str, Any] | None = None
) -> dict[str, Prediction]:
    """Generate an answer string for every row's question; `outputs` is left as it is: answers are
    compared as texts, from the predictions file (harness.scoring.agreement)."""
    if model.head not in HEADS:
        raise UserError(f"task {task.name} needs a seq2seq or retriever_reader model, the model is {model.head}")
    if model.head == "retriever_reader":
        return retrieve_and_read(task, model, rows, settings)
    features = encode_questions(model, [task.texts(r)[0] for r in rows], settings.length_for(task))
    answers = map_batches(
        model,
        features,
        lambda batch, _: model.generate(batch, settings.max_new_tokens),
        settings.batch_size,
        settings.sort_by_length,
        task.name,
        settings.progress,
        unit="q",
    )
    return {task.uid(r): a.strip() for r, a in zip(rows, answers)}


def retrieve_and_read(task: Task, model: Model, rows: Sequence[Row], settings: EvalSettings) -> dict[str, Prediction]:
    """Answer each question with the best span of its top-k retrieved passages."""
    from harness.inference.formulations.extractive import answer_spans
    from harness.inference.retrieval import TfidfRetriever, read_passages
    from harness.tasks.squad import MAX_LENGTH as SQUAD_MAX_LENGTH  # the reader's window, as for SQuAD

    passages = read_passages(model.folder)
    questions = [task.texts(r)[0] for r in rows]
    top = TfidfRetriever(passages).top_k(questions, settings.retrieval_top_k)
    pairs = [(q, passages[p]) for q, hits in zip(questions, top) for p in hits]
    answers = answer_spans(
        model, [q for q, _ in pairs], [c for _, c in pairs], settings, SQUAD_MAX_LENGTH, desc=task.name
    )
    preds: dict[str, Prediction] = {}
    at = 0
    for row, hits in zip(rows, top):
        best = max(answers[at : at + len(hits)], key=lambda a: a.score)
        preds[task.uid(row)] = best.text
        at += len(hits)
    return preds
