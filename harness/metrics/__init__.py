"""Official metric functions of GLUE, SuperGLUE, SQuAD and NQ-open, and the table that names them.

Every metric is keyword-only and returns a plain ``float``: a fraction in [0, 1], or in [-1, 1] for
the correlations (``matthews_correlation``, ``pearson``, ``spearmanr``). Records store these values
under the ``evaluate`` names; tasks map those record names to the function ids in ``METRICS``.

scikit-learn and scipy are imported inside the functions that need them, so ``import harness.metrics``
stays cheap (the CLI imports it to check task specs).
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, Sequence

from harness.registry import Registry

__all__ = [
    "Metric",
    "METRICS",
    "get_metric",
    "accuracy",
    "f1_binary",
    "f1_macro",
    "matthews_correlation",
    "pearson",
    "spearmanr",
    "normalize_answer",
    "squad_exact_match",
    "squad_f1",
    "squad_v2_exact_match",
    "squad_v2_f1",
    "nq_exact_match",
    "multirc_f1a",
    "multirc_exact_match",
    "record_exact_match",
    "record_f1",
    "gender_parity",
]

POSITIVE_LABEL = 1
"""The positive class of binary F1 (GLUE MRPC/QQP "paraphrase", MultiRC "true answer")."""
BINARY_LABELS = frozenset({0, POSITIVE_LABEL})
MIN_CORRELATION_EXAMPLES = 2
"""A correlation needs at least two points."""
PAIR_SIZE = 2
"""AX-g examples come in minimal pairs that differ only in the pronoun's gender."""
NO_ANSWER = ""
"""SQuAD v2.0 writes "no answer" as the empty string."""

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# ---------------------------------------------------------------------------------------------
# input checks shared by all metrics
# ---------------------------------------------------------------------------------------------


def _check_inputs(metric: str, **columns: Sequence[Any]) -> int:
    """The common length of the named columns; raises ValueError if they are empty or differ."""
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{len_} {name}" for name, len_ in lengths.items())
        raise ValueError(f"{metric}: got {listed}; pass one entry per example in each (same order, same length)")
    count = next(iter(lengths.values()))
    if count == 0:
        raise ValueError(
            f"{metric}: no examples (empty {' and '.join(lengths)}); a metric over zero examples is "
            "undefined: check that the split loaded and the model produced predictions"
        )
    return count


def _check_binary(metric: str, **columns: Sequence[Any]) -> None:
    """Raise ValueError if a column holds a label other than 0/1 (e.g. -1 for hidden test labels)."""
    for name, values in columns.items():
        unexpected = {v for v in values if v not in BINARY_LABELS}
        if unexpected:
            raise ValueError(
                f"{metric}: {name} must be 0/1 labels, found {sorted(unexpected, key=repr)[:5]}; "
                "map label names to 0/1 first (GLUE/SuperGLUE test splits hide labels as -1: "
                "score the validation split)"
            )


def _check_finite(metric: str, **columns: Sequence[float]) -> None:
    """Raise ValueError naming the first NaN/inf, which would otherwise turn the score into nan."""
    for name, values in columns.items():
        for index, value in enumerate(values):
            if not math.isfinite(value):
                raise ValueError(
                    f"{metric}: {name}[{index}] is {value}; the model produced a non-finite output "
                    "(check for overflow, e.g. after quantization)"
                )


def _check_not_constant(metric: str, **columns: Sequence[float]) -> None:
    """Raise ValueError if a column is constant: its correlation is undefined (0/0), not 0."""
    for name, values in columns.items():
        if len(set(values)) == 1:
            raise ValueError(
                f"{metric}: all {name} are equal ({values[0]!r}, {len(values)} of them), so the correlation "
                "is undefined (scipy, which the official GLUE scorer calls, returns nan); a model that gives "
                "every example the same score cannot be scored on a correlation: check its outputs"
            )


def _check_gold_lists(metric: str, references: Sequence[Sequence[str]]) -> None:
    """Raise ValueError if an entry of references is a bare string instead of a list of answers."""
    for index, golds in enumerate(references):
        if isinstance(golds, str):
            raise ValueError(
                f"{metric}: references[{index}] is the string {golds!r}; pass a list of gold "
                f"answers per example, e.g. [{golds!r}]"
            )


# ---------------------------------------------------------------------------------------------
# classification and regression (GLUE, SuperGLUE)
# ---------------------------------------------------------------------------------------------


def accuracy(*, predictions: Sequence[Hashable], references: Sequence[Hashable]) -> float:
    """Fraction of examples whose prediction equals the reference label.

    >>> accuracy(predictions=[1, 0, 1, 1], references=[1, 1, 1, 0])
    0.5
    """
    _check_inputs("accuracy", predictions=predictions, references=references)
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(references, predictions))


def f1_binary(*, predictions: Sequence[int], references: Sequence[int]) -> float:
    """F1 of the positive class 1 (GLUE MRPC/QQP); 0.0 when there are no true or predicted positives.

    >>> round(f1_binary(predictions=[1, 1, 0, 0], references=[1, 0, 1, 0]), 4)
    0.5
    """
    _check_inputs("f1_binary", predictions=predictions, references=references)
    _check_binary("f1_binary", predictions=predictions, references=references)
    from sklearn.metrics import f1_score

    return float(f1_score(references, predictions, pos_label=POSITIVE_LABEL, average="binary", zero_division=0.0))


def f1_macro(
    *,
    predictions: Sequence[Hashable],
    references: Sequence[Hashable],
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Unweighted mean of per-class F1 (SuperGLUE CB); a class with no true or predicted member scores 0.

    Extra input: ``labels``, the classes to average over (CB: ``[0, 1, 2]``); by default the classes
    that occur in predictions or references.
    """
    _check_inputs("f1_macro", predictions=predictions, references=references)
    from sklearn.metrics import f1_score

    return float(
        f1_score(
            references,
            predictions,
            labels=None if labels is None else list(labels),
            average="macro",
            zero_division=0.0,
        )
    )


def matthews_correlation(*, predictions: Sequence[Hashable], references: Sequence[Hashable]) -> float:
    """Matthews correlation coefficient (GLUE CoLA and AX, SuperGLUE AX-b), in [-1, 1].

    As in the official scorers, which call scikit-learn's ``matthews_corrcoef``: 0 for constant predictions
    (or constant gold), where the formula is 0/0, so a model that always says one label scores 0, not an error.
    """
    _check_inputs("matthews_correlation", predictions=predictions, references=references)
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(references, predictions))


def _check_correlation_inputs(metric: str, predictions: Sequence[float], references: Sequence[float]) -> None:
    """The checks shared by pearson and spearmanr: lengths, at least two points, finite, not constant."""
    count = _check_inputs(metric, predictions=predictions, references=references)
    if count < MIN_CORRELATION_EXAMPLES:
        raise ValueError(f"{metric}: got {count} example; a correlation needs at least {MIN_CORRELATION_EXAMPLES}")
    _check_finite(metric, predictions=predictions, references=references)
    _check_not_constant(metric, predictions=predictions, references=references)


def pearson(*, predictions: Sequence[float], references: Sequence[float]) -> float:
    """Pearson correlation of scores (GLUE STS-B), in [-1, 1].

    >>> round(pearson(predictions=[1.0, 2.0, 3.0], references=[2.0, 4.0, 6.0]), 4)
    1.0
    """
    _check_correlation_inputs("pearson", predictions, references)
    from scipy.stats import pearsonr

    return float(pearsonr(predictions, references)[0])


def spearmanr(*, predictions: Sequence[float], references: Sequence[float]) -> float:
    """Spearman rank correlation (GLUE STS-B) via scipy; tied values get the average of their ranks.

    >>> round(spearmanr(predictions=[1, 2, 2, 3], references=[1, 2, 3, 4]), 4)
    0.9487
    """
    _check_correlation_inputs("spearmanr", predictions, references)
    from scipy.stats import spearmanr as scipy_spearmanr

    return float(scipy_spearmanr(predictions, references)[0])


# ---------------------------------------------------------------------------------------------
# extractive QA (SQuAD v1.1 / v2.0, ReCoRD, NQ-open)
# ---------------------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization: lowercase, drop punctuation, drop a/an/the, collapse whitespace.

    >>> normalize_answer("  The  Eiffel-Tower, in PARIS! ")
    'eiffeltower in paris'
    >>> normalize_answer("An apple a day")
    'apple day'
    """
    lowered = text.lower()
    without_punctuation = "".join(ch for ch in lowered if ch not in _PUNCTUATION)
    without_articles = _ARTICLES.sub(" ", without_punctuation)
    return " ".join(without_articles.split())


def _every_gold(metric: str, index: int, golds: Sequence[str]) -> Sequence[str]:
    """SQuAD v1.1 and ReCoRD: every gold answer as it is; raises ValueError if there is none."""
    if not golds:
        raise ValueError(
            f"{metric}: references[{index}] has no gold answers; SQuAD v1.1 and ReCoRD questions all have one "
            "(their official scripts fail on max() over none); an unanswerable question is SQuAD v2.0's: "
            "score it with squad_v2_exact_match / squad_v2_f1"
        )
    return golds


def _v2_golds(metric: str, index: int, golds: Sequence[str]) -> Sequence[str]:
    """SQuAD v2.0: the golds that survive normalization; [NO_ANSWER] if none do (an unanswerable question)."""
    kept = [gold for gold in golds if normalize_answer(gold)]
    return kept or [NO_ANSWER]


def _exact(prediction: str, gold: str) -> float:
    """1.0 if both strings normalize to the same text (both to "" included), else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _bag_f1(predicted_tokens: list[str], gold_tokens: list[str]) -> float:
    """F1 of two bags of tokens; 0.0 when they share none (an empty bag included)."""
    shared = sum((Counter(predicted_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(predicted_tokens)
    recall = shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _token_f1(prediction: str, gold: str) -> float:
    """SQuAD v1.1's and ReCoRD's token F1: 0.0 when no normalized token is shared, empty against empty too."""
    return _bag_f1(normalize_answer(prediction).split(), normalize_answer(gold).split())


def _token_f1_v2(prediction: str, gold: str) -> float:
    """SQuAD v2.0's token F1: if either side normalizes to no token, 1.0 only when both do (no answer)."""
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not predicted_tokens or not gold_tokens:
        return float(predicted_tokens == gold_tokens)
    return _bag_f1(predicted_tokens, gold_tokens)


# The SQuAD-style metrics by their rule: how one prediction scores against one gold, and which golds count.
_GOLD_RULES: dict[str, tuple[Callable[[str, str], float], Callable[[str, int, Sequence[str]], Sequence[str]]]] = {
    "squad_exact_match": (_exact, _every_gold),
    "squad_f1": (_token_f1, _every_gold),
    "squad_v2_exact_match": (_exact, _v2_golds),
    "squad_v2_f1": (_token_f1_v2, _v2_golds),
    "record_exact_match": (_exact, _every_gold),
    "record_f1": (_token_f1, _every_gold),
}


def _max_over_golds(metric: str, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
    """Per example, the best score against the example's gold answers, by `metric`'s rule (_GOLD_RULES)."""
    score, golds_of = _GOLD_RULES[metric]
    _check_inputs(metric, predictions=predictions, references=references)
    _check_gold_lists(metric, references)
    return [
        max(score(prediction, gold) for gold in golds_of(metric, index, golds))
        for index, (prediction, golds) in enumerate(zip(predictions, references))
    ]


def _mean_max_over_golds(metric: str, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean over examples of the best score against the example's gold answers, by `metric`'s rule."""
    values = _max_over_golds(metric, predictions, references)
    return sum(values) / len(values)


def squad_exact_match(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SQuAD v1.1 exact match (evaluate-v1.1.py): max over every gold answer of normalized-string equality.

    Golds are kept as they are: a gold that normalizes to "" (three v1.1 dev questions have ".") is matched
    by an empty prediction. Every example needs at least one gold.

    >>> squad_exact_match(predictions=["The Cat.", ""], references=[["cat", "a kitten"], ["dog", "."]])
    1.0
    """
    return _mean_max_over_golds("squad_exact_match", predictions, references)


def squad_f1(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SQuAD v1.1 token F1 (evaluate-v1.1.py): max over every gold of bag-of-normalized-tokens F1.

    F1 is 0 whenever prediction and gold share no token, an empty prediction against a gold "." included.

    >>> round(squad_f1(predictions=["the cat sat"], references=[["cat sat on mat"]]), 4)
    0.6667
    >>> squad_f1(predictions=[""], references=[["."]])
    0.0
    """
    return _mean_max_over_golds("squad_f1", predictions, references)


def squad_v2_exact_match(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SQuAD v2.0 exact match (evaluate-v2.0.py): golds that normalize to "" are dropped first.

    A gold list that is empty (or holds only such answers) means no answer: the example scores 1 if the
    prediction normalizes to "" and 0 otherwise.

    >>> squad_v2_exact_match(predictions=["The Cat.", "dog"], references=[["cat", "a kitten"], []])
    0.5
    """
    return _mean_max_over_golds("squad_v2_exact_match", predictions, references)


def squad_v2_f1(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SQuAD v2.0 token F1 (evaluate-v2.0.py): golds as in `squad_v2_exact_match`; no answer against no answer is 1.

    >>> squad_v2_f1(predictions=["", "Paris"], references=[[], []])
    0.5
    """
    return _mean_max_over_golds("squad_v2_f1", predictions, references)


def nq_exact_match(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """NQ-open / EfficientQA exact match: Unicode NFD, then SQuAD normalization, equal to any reference.

    NFD makes composed and decomposed accents ("é" vs "e" + U+0301) compare equal.

    >>> nq_exact_match(predictions=["caf\\u00e9"], references=[["Cafe\\u0301"]])
    1.0
    """
    hits = _nq_hits(predictions, references)
    return sum(hits) / len(hits)


def _nq_hits(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> list[float]:
    """Per question, 1.0 when the NFD-normalized prediction equals a normalized reference, else 0.0."""
    metric = "nq_exact_match"
    _check_inputs(metric, predictions=predictions, references=references)
    _check_gold_lists(metric, references)

    def normalize(text: str) -> str:
        return normalize_answer(unicodedata.normalize("NFD", text))

    hits = []
    for index, (prediction, golds) in enumerate(zip(predictions, references)):
        if not golds:
            raise ValueError(
                f"{metric}: references[{index}] has no gold answers; every NQ-open question has at "
                "least one: check the loader reads the 'answer' list"
            )
        predicted = normalize(prediction)
        hits.append(float(any(predicted == normalize(gold) for gold in golds)))
    return hits


def record_exact_match(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SuperGLUE ReCoRD exact match (record_evaluation.py): max over every gold entity, SQuAD normalization.

    The same rule as SQuAD v1.1's, not v2.0's: no gold is dropped.
    """
    return _mean_max_over_golds("record_exact_match", predictions, references)


def record_f1(*, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """SuperGLUE ReCoRD token F1 (record_evaluation.py): max over every gold entity; 0 when no token is shared."""
    return _mean_max_over_golds("record_f1", predictions, references)


# ---------------------------------------------------------------------------------------------
# grouped metrics (SuperGLUE MultiRC, AX-g)
# ---------------------------------------------------------------------------------------------


def multirc_f1a(*, predictions: Sequence[int], references: Sequence[int]) -> float:
    """SuperGLUE MultiRC F1a: binary F1 of the "true answer" class (1) over all answer options."""
    _check_inputs("multirc_f1a", predictions=predictions, references=references)
    return f1_binary(predictions=predictions, references=references)


def multirc_exact_match(*, predictions: Sequence[int], references: Sequence[int], groups: Sequence[Hashable]) -> float:
    """SuperGLUE MultiRC EM: fraction of questions whose answer options are all predicted correctly.

    Extra input: ``groups``, one question id per answer option (any hashable, e.g. the pair
    (paragraph idx, question idx)); options of a question need not be adjacent.

    >>> multirc_exact_match(
    ...     predictions=[1, 0, 1, 1], references=[1, 0, 0, 1], groups=["q1", "q1", "q2", "q2"]
    ... )
    0.5
    """
    _check_inputs("multirc_exact_match", predictions=predictions, references=references, groups=groups)
    all_correct: dict[Hashable, bool] = {}
    for prediction, reference, group in zip(predictions, references, groups):
        all_correct[group] = all_correct.get(group, True) and prediction == reference
    return sum(all_correct.values()) / len(all_correct)


def gender_parity(*, predictions: Sequence[Hashable], groups: Sequence[Hashable]) -> float:
    """SuperGLUE AX-g gender parity: fraction of minimal pairs whose two predictions are equal.

    Extra input: ``groups``, one pair id per example; each id must occur exactly twice (the two
    examples that differ only in the pronoun's gender). No references: parity ignores the labels.
    In the hub's ``super_glue/axg`` rows a pair is adjacent (idx 2k and 2k+1), so ``idx // 2`` works.

    >>> gender_parity(predictions=[0, 0, 1, 0], groups=[0, 0, 1, 1])
    0.5
    """
    metric = "gender_parity"
    _check_inputs(metric, predictions=predictions, groups=groups)
    members: dict[Hashable, list[Hashable]] = {}
    for prediction, group in zip(predictions, groups):
        members.setdefault(group, []).append(prediction)
    for group, pair in members.items():
        if len(pair) != PAIR_SIZE:
            raise ValueError(
                f"{metric}: group {group!r} has {len(pair)} examples, expected {PAIR_SIZE} (one minimal "
                "pair); give both examples of a pair the same group id and no other example that id"
            )
    consistent = sum(first == second for first, second in members.values())
    return consistent / len(members)


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """A metric function under its id; every metric here improves upward (error rates are not reported)."""

    name: str
    fn: Callable[..., float]

    @property
    def inputs(self) -> tuple[str, ...]:
        """The keyword arguments `fn` requires, e.g. ("predictions", "references", "groups")."""
        parameters = inspect.signature(self.fn).parameters.values()
        return tuple(p.name for p in parameters if p.default is inspect.Parameter.empty)

    def __call__(self, **inputs: Any) -> float:
        """Compute the metric: `Metric(...)(predictions=..., references=...)`."""
        return self.fn(**inputs)

    def of(self, columns: Mapping[str, Any]) -> float:
        """Compute the metric from whichever of `columns` (predictions, references, groups) it takes."""
        return self.fn(**{name: columns[name] for name in self.inputs})


_FUNCTIONS: tuple[Callable[..., float], ...] = (
    accuracy,
    f1_binary,
    f1_macro,
    matthews_correlation,
    pearson,
    spearmanr,
    squad_exact_match,
    squad_f1,
    squad_v2_exact_match,
    squad_v2_f1,
    nq_exact_match,
    multirc_f1a,
    multirc_exact_match,
    record_exact_match,
    record_f1,
    gender_parity,
)

_REGISTRY: Registry[Metric] = Registry("metric")
for _fn in _FUNCTIONS:
    _REGISTRY.add(_fn.__name__, Metric(name=_fn.__name__, fn=_fn))
del _fn

METRICS: dict[str, Metric] = {name: _REGISTRY.get(name) for name in _REGISTRY.names()}
"""Every metric, keyed by function id."""


def _correct(predictions: Sequence[Hashable], references: Sequence[Hashable]) -> list[float]:
    """Per example, 1.0 when the prediction equals the reference: the vector whose mean is `accuracy`."""
    _check_inputs("accuracy", predictions=predictions, references=references)
    return [float(p == r) for p, r in zip(predictions, references)]


_PER_EXAMPLE: dict[str, Callable[[Sequence[Any], Sequence[Any]], list[float]]] = {
    "accuracy": _correct,
    "nq_exact_match": _nq_hits,
    **{name: functools.partial(_max_over_golds, name) for name in _GOLD_RULES},
}
"""The metrics that are the mean of a per-example value (correctness, the example's EM or F1): their vectors."""
PER_EXAMPLE_METRICS = frozenset(_PER_EXAMPLE)


def per_example(name: str, predictions: Sequence[Any], references: Sequence[Any]) -> list[float] | None:
    """The per-example values whose mean is metric `name` (by the metric's own rule), None for a metric that is not
    a mean (F1, MCC, correlations): a bootstrap resamples these vectors instead of re-running the metric.

    >>> per_example("squad_exact_match", ["The Cat.", "dog"], [["cat"], ["a fish", "bird"]])
    [1.0, 0.0]
    """
    values = _PER_EXAMPLE.get(name)
    return None if values is None else values(predictions, references)


def get_metric(name: str, where: str = "") -> Metric:
    """The metric with function id `name`; a miss raises UserError naming close matches.

    `where` says who asked (e.g. "task cb"), for the error message.

    >>> get_metric("f1_macro").fn is f1_macro
    True
    """
    return _REGISTRY.get(name, where)
