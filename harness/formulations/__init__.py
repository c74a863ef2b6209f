"""Formulations: how a task's rows become model inputs and model outputs become predictions.

One module per task kind, each exposing `predict(task, model, rows, settings) -> {uid: prediction}`
and `HEADS`, the model heads it can use (first is the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from harness.registry import Registry
from harness.tasks.base import Task

FORMULATIONS: Registry[ModuleType] = Registry("task kind")
FORMULATIONS.add("classification", "harness.formulations.classify")
FORMULATIONS.add("regression", "harness.formulations.classify")
FORMULATIONS.add("multiple_choice", "harness.formulations.choice")
FORMULATIONS.add("extractive_qa", "harness.formulations.extractive")
FORMULATIONS.add("generative_qa", "harness.formulations.generative")


@dataclass(frozen=True)
class EvalSettings:
    """Inference settings; recorded with every result so a run can be repeated."""

    max_length: int | None = None  # None: the task's own default (128 classification, 384 SQuAD)
    batch_size: int = 32
    doc_stride: int = 128  # SQuAD: overlap between windows of a long context
    max_answer_length: int = 30  # SQuAD: longest answer span in tokens
    n_best: int = 20  # SQuAD: start and end candidates searched
    null_threshold: float = 0.0  # SQuAD v2.0: predict no answer when null score - best span > this
    max_new_tokens: int = 32  # generative QA
    retrieval_top_k: int = 5  # retriever + reader QA: passages read per question
    sort_by_length: bool = True
    progress: bool = False

    def length_for(self, task: Task) -> int:
        """The truncation length for a task: the setting if given, else the task's default."""
        return self.max_length or task.max_length


def formulation(task: Task) -> ModuleType:
    """The formulation module for a task's kind."""
    return FORMULATIONS.get(task.kind, f"task {task.name}")
