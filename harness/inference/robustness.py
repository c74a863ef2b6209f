"""Robustness (issue 15): the seeded perturbation suite as an evaluation option, and a model run on another
task's data (a track's out-of-distribution pairs).

The suite runs a classification task's own formulation again on each kind's perturbed rows (harness.inference.
perturb: only the task's text fields change, gold labels stay) and records, per kind, the score under perturbation,
its drop from the clean score (clean - perturbed, fractions, as scores are stored), the measured share of inputs
that changed and the examples scored. The perturbed inputs are reproducible from the record alone: kind, `rate`
and `seed` are in it, and each text field is perturbed with the example id `<uid>/<field>` (`perturbed_rows`).
A case perturbation on a model whose tokenizer lowercases is still measured (its drop reads 0 up to the tokenizer's
other normalisation), and its entry says that casing does nothing to an uncased model.

OOD pairs: a model trained for task A scored on task B's data (SST-2 -> IMDb) needs A's outputs named by B's
labels; `relabelled` gives a copy of the loaded model whose `id2label` names them, through a declared label map,
one to one or many to one (MNLI's three labels onto HANS's two: the model's argmax, then mapped).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import ModuleType
from typing import Any

from harness.errors import UserError
from harness.inference.formulations import EvalSettings
from harness.inference.perturb import DEFAULT_RATE, DEFAULT_SEED, KINDS, perturb_rows
from harness.tasks.base import Row, Task

__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_SEED",
    "UNCASED_NOTE",
    "check_suite",
    "offered",
    "perturbed_rows",
    "relabelled",
    "robustness",
    "uncased",
    "without_suite",
]

CASE_PROBE = "The Quick Brown Fox Jumps Over The Lazy Dog"
"""A cased sentence: a tokenizer that gives it and its lowercase the same ids lowercases its input."""
UNCASED_NOTE = (
    "casing does nothing to an uncased model: its tokenizer lowercases every input, so the case-flipped texts "
    "reach it as the clean ones did (measured all the same)"
)
METHOD = (
    "Each kind of perturbation is applied to the task's text fields of every evaluated example (gold labels "
    "unchanged), each eligible word picked independently with probability `rate` (harness.inference.perturb); the "
    "task's own formulation predicts the perturbed rows and the task's own metrics score them. drop = clean score - "
    "perturbed score (fractions); changed = the share of examples whose input text changed, counted on the rows. "
    "Each text field's random stream is seeded from sha256 over (seed, '<uid>/<field>', kind, rate), so the "
    "perturbed inputs are reproduced from this block alone (harness.inference.robustness.perturbed_rows)."
)
SOURCES = (
    "Ribeiro et al. 2020, Beyond Accuracy: Behavioral Testing of NLP Models with CheckList (ACL): typos and "
    "punctuation as invariance tests",
    "Belinkov and Bisk 2018, Synthetic and Natural Noise Both Break Neural Machine Translation (ICLR): letter "
    "swaps, drops and duplications",
    "Xu et al. 2021, Beyond Preserved Accuracy: Evaluating Loyalty and Robustness of BERT Compression (EMNLP)",
)


def check_suite(kinds: Sequence[str], rate: Any, seed: Any, where: str = "--perturb") -> tuple[str, ...]:
    """The suite's kinds in their table order, once each; a UserError naming `where` for an unknown kind, a rate
    outside [0, 1] or a seed that is no whole number."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UserError(f"{where}: unknown perturbation {unknown[0]!r}", fix=f"use some of {', '.join(KINDS)}")
    if not kinds:
        raise UserError(f"{where}: no perturbation kinds", fix=f"name some of {', '.join(KINDS)}")
    if type(rate) not in (int, float) or not (math.isfinite(rate) and 0 < rate <= 1):
        raise UserError(f"{where}: rate {rate!r} is not a share of words in (0, 1]", fix="e.g. 0.1: one word in ten")
    if type(seed) is not int or seed < 0:
        raise UserError(f"{where}: seed {seed!r} is not a whole number >= 0", fix="e.g. 0")
    return tuple(k for k in KINDS if k in kinds)


def offered(task: Task) -> bool:
    """Whether the suite can run on `task`: a classification task whose model inputs are its text fields."""
    return task.kind == "classification" and task.inputs is None and bool(task.text_fields)


def _require(task: Task) -> None:
    if not offered(task):
        why = "it builds its inputs itself" if task.kind == "classification" else f"it is a {task.kind} task"
        raise UserError(
            f"task {task.name}: the perturbation suite is not offered ({why}); it perturbs the text fields of "
            "classification tasks",
            fix="leave --perturb out for this task",
        )


def perturbed_rows(task: Task, rows: Sequence[Row], kind: str, rate: float, seed: int) -> tuple[list[Row], float]:
    """The rows with each text field perturbed (example id `<uid>/<field>`), and the share of rows that changed."""
    _require(task)
    out = [dict(r) for r in rows]
    changed = [False] * len(rows)
    uids = [task.uid(r) for r in rows]
    for field in task.text_fields:
        texts = [str(r[field]) for r in rows]
        new, _ = perturb_rows(texts, kind, rate, seed, [f"{u}/{field}" for u in uids])  # type: ignore[arg-type]
        for i, (old, text) in enumerate(zip(texts, new)):
            out[i][field] = text
            changed[i] = changed[i] or text != old
    return out, sum(changed) / len(rows)


def uncased(tokenizer: Any) -> bool:
    """Whether a tokenizer lowercases its input: a cased probe sentence and its lowercase give the same ids."""
    if tokenizer is None:
        return False
    return list(tokenizer(CASE_PROBE)["input_ids"]) == list(tokenizer(CASE_PROBE.lower())["input_ids"])


def robustness(
    task: Task,
    form: ModuleType,
    model: Any,
    rows: Sequence[Row],
    settings: EvalSettings,
    clean_score: float,
) -> dict[str, Any]:
    """The record's `robustness` block: the task's formulation run on each kind's perturbed rows, scored by the
    task, with the drop from `clean_score`, the measured share of inputs changed, and the method with its sources."""
    _require(task)
    kinds = check_suite(settings.perturb, settings.perturb_rate, settings.perturb_seed)
    lowercases = uncased(getattr(model, "tokenizer", None))
    out: dict[str, Any] = {}
    for kind in kinds:
        noisy, changed = perturbed_rows(task, rows, kind, settings.perturb_rate, settings.perturb_seed)
        predictions = form.predict(task, model, noisy, settings)
        metrics = task.compute_metrics(noisy, predictions)
        score = task.score(metrics)
        entry: dict[str, Any] = {
            "score": score,
            "drop": clean_score - score,
            "changed": changed,
            "examples": len(rows),
            "metrics": metrics,
        }
        if kind == "case" and lowercases:
            entry["note"] = UNCASED_NOTE
        out[kind] = entry
    return {
        "seed": settings.perturb_seed,
        "rate": settings.perturb_rate,
        "clean_score": clean_score,
        "kinds": out,
        "method": METHOD,
        "sources": list(SOURCES),
    }


def without_suite(settings: EvalSettings) -> EvalSettings:
    """`settings` with no perturbation suite (its rate and seed at their defaults, which the record key leaves out)."""
    return replace(settings, perturb=(), perturb_rate=DEFAULT_RATE, perturb_seed=DEFAULT_SEED)


def relabelled(model: Any, source: Task, target: Task, labels: Mapping[str, str]) -> Any:
    """A shallow copy of `model`, loaded for `source`, whose outputs are named by `target`'s labels through `labels`
    (source label -> target label), so that `target`'s formulation maps them; the weights are shared.

    One to one: the copy's `id2label` names the target labels, its outputs unchanged. Many to one (several source
    labels onto one target label, MNLI onto HANS): the copy's `forward` gives one logit per target label, in the
    target's order, the max of the logits of the source labels mapped onto it, so that its argmax is the target
    label of the model's own argmax (argmax, then map: McCoy et al. 2019); exact ties between outputs of different
    target labels go to the first target label. The per-example logits a record stores are these merged ones."""
    from harness.inference.formulations.classify import label_mapping

    n = len(model.id2label) or len(source.labels)
    order = label_mapping(source, model.id2label, n)  # model output i predicts source label order[i]
    if sorted(labels) != sorted(source.labels) or set(labels.values()) != set(target.labels):
        raise UserError(
            f"labels {dict(labels)} do not map each of task {source.name}'s labels ({', '.join(source.labels)}) "
            f"onto one of task {target.name}'s ({', '.join(target.labels)}), reaching each: one to one, or many to one",
            fix="name each source label once, with the target label it counts as",
        )
    out = copy.copy(model)
    if len(source.labels) == len(target.labels):  # a map onto every target label from as many: one to one
        out.id2label = {i: labels[source.labels[order[i]]] for i in range(n)}
        return out
    members = [[i for i in range(n) if labels[source.labels[order[i]]] == name] for name in target.labels]
    out.forward = _merged(out.forward, members)
    out.id2label = dict(enumerate(target.labels))
    return out


def _merged(forward: Callable[[dict[str, Any]], dict[str, Any]], members: Sequence[Sequence[int]]) -> Callable:
    """`forward` with its `logits` (examples x model outputs) replaced by one column per target label: the max over
    that label's `members` (model output indices); every other output is passed on as it is."""
    import numpy as np

    def merged(batch: dict[str, Any]) -> dict[str, Any]:
        outputs = dict(forward(batch))
        logits = np.asarray(outputs["logits"])
        outputs["logits"] = np.stack([logits[:, list(m)].max(axis=1) for m in members], axis=1)
        return outputs

    return merged
