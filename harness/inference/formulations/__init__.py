"""Formulations: how a task's rows become model inputs and model outputs become predictions.

One module per task kind, each exposing `predict(task, model, rows, settings, *, outputs=None) -> {uid: prediction}`
and `HEADS`, the model heads it can use (first is the default). A dict passed as `outputs` is filled with the
per-example outputs the predictions came from (`capture`), for records to keep (harness.formats.outputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

from harness.backends.devices import DEFAULT_DEVICE, DEFAULT_DTYPE
from harness.backends.heads import COSINE, heads_for
from harness.errors import UserError
from harness.inference.perturb import DEFAULT_RATE, DEFAULT_SEED
from harness.registry import Registry
from harness.tasks.base import Task

FORMULATIONS: Registry[ModuleType] = Registry("task kind")
FORMULATIONS.add("classification", "harness.inference.formulations.classify")
FORMULATIONS.add("regression", "harness.inference.formulations.classify")
FORMULATIONS.add("multiple_choice", "harness.inference.formulations.choice")
FORMULATIONS.add("extractive_qa", "harness.inference.formulations.extractive")
FORMULATIONS.add("generative_qa", "harness.inference.formulations.generative")


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
    device: str = DEFAULT_DEVICE  # where the model runs (--device): cpu, cuda, cuda:N
    dtype: str = DEFAULT_DTYPE  # the precision it runs in (--dtype): float32, float16, bfloat16; auto: as saved
    perturb: tuple[str, ...] = ()  # the perturbation suite's kinds (harness.inference.robustness); (): none
    perturb_rate: float = DEFAULT_RATE  # ... the share of eligible words each kind perturbs
    perturb_seed: int = DEFAULT_SEED  # ... and the seed of its random streams
    model_of: str | None = None  # a track's OOD pair: the task whose declared model runs here; None: this task's

    def length_for(self, task: Task) -> int:
        """The truncation length for a task: the setting if given, else the task's default."""
        return self.max_length or task.max_length


def capture(outputs: dict[str, Any] | None, kind: str, ids: Sequence[str], values: Any) -> None:
    """Fill `outputs` (when a dict is passed) with a formulation's per-example outputs: `kind` (logits, scores or
    option_scores), the uids in row order and the (n, columns) array they came from."""
    if outputs is not None:
        import numpy as np

        outputs.update(kind=kind, ids=list(ids), values=np.asarray(values))


def formulation(task: Task) -> ModuleType:
    """The formulation module for a task's kind."""
    return FORMULATIONS.get(task.kind, f"task {task.name}")


def task_head(task: str | Task, head: str | None = None) -> str:
    """The head a model runs `task` with, for every command alike: `head` (declared or --head), else the task
    kind's default (its formulation's first head); a head that cannot do the task is refused."""
    from harness.tasks import get_task

    task = get_task(task) if isinstance(task, str) else task
    heads = heads_for(task.kind)
    chosen = head or heads[0]
    if chosen not in heads:
        raise UserError(f"head {chosen!r} cannot do a {task.kind} task", fix=f"use one of {', '.join(heads)}")
    if chosen == COSINE and task.kind != "regression":  # a similarity score is no class label
        raise UserError(
            f"head {chosen!r} gives a similarity score, which task {task.name} ({task.kind}) cannot use",
            fix=f"use {heads[0]!r}",
        )
    return chosen
