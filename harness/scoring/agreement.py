"""A student's agreement with its teacher on the same examples, from their per-example outputs (issue 15).

Definitions and their sources:

- label loyalty (Xu et al. 2021, "Beyond Preserved Accuracy: Evaluating Loyalty and Robustness of BERT
  Compression", EMNLP 2021, section 3.1): the share of examples whose argmax prediction is the teacher's.
- probability loyalty (Xu et al. 2021, section 3.1): the mean over examples of 1 - sqrt(JSD(p_teacher, p_student)),
  with the Jensen-Shannon divergence JSD(p, q) = KL(p || m) / 2 + KL(q || m) / 2, m = (p + q) / 2 (Lin 1991,
  "Divergence measures based on the Shannon entropy"), in log base 2 so that it lies in [0, 1].
- fidelity (Stanton et al. 2021, "Does Knowledge Distillation Really Work?", NeurIPS 2021, section 3): top-1
  agreement (the share of identical argmax predictions: the same number as label loyalty) and the mean
  KL(teacher || student) = sum_k p_teacher,k * ln(p_teacher,k / p_student,k), in nats.
- regression: Pearson and Spearman correlation of the student's outputs with the teacher's, by
  `harness.metrics.pearson` / `harness.metrics.spearmanr` (scipy.stats, as the GLUE STS-B scorer).
- span QA: SQuAD exact match and token F1 (Rajpurkar et al. 2016/2018, the official evaluate-v2.0.py, through
  `harness.metrics.squad_v2_exact_match` / `squad_v2_f1`) of the student's answers with the teacher's answer
  as the one reference; the v2.0 rule makes two empty answers (both "no answer") agree.

`record_agreement(student, teacher)` computes them from two records alone: the outputs files beside them
(harness.formats.outputs; multiple choice: option scores, compared as logits over a row's options), or for span QA
their predictions files; what cannot be measured is a `{"not_measured": why}` result, never a number.

Outputs of one model are arrays aligned by example: row i of the student is the same example as row i of the
teacher. `align` puts the teacher's rows into the student's order by example id. Argmax ties go to the lowest
class index (numpy's argmax), the same for both models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Hashable, Iterable, Literal, Sequence

import numpy as np
from scipy.special import log_softmax, rel_entr

from harness.errors import UserError
from harness.metrics import pearson, spearmanr, squad_v2_exact_match, squad_v2_f1
from harness.records.record import Record

__all__ = [
    "OutputKind",
    "TaskKind",
    "align",
    "probabilities",
    "log_probabilities",
    "label_loyalty",
    "jensen_shannon",
    "probability_loyalty",
    "kl_teacher_student",
    "fidelity",
    "regression_agreement",
    "span_agreement",
    "agreement",
    "record_agreement",
    "teacher_record",
    "DEFINITIONS",
    "NOT_MEASURED",
]

OutputKind = Literal["logits", "probabilities"]
TaskKind = Literal["classification", "regression", "span"]

PROBABILITY_SUM_TOLERANCE = 1e-3
"""Probabilities stored as float16 sum to 1 only to about 1e-3 (float16 has an 11-bit mantissa: 2**-10 ~ 1e-3)."""
JSD_LOG_BASE = 2.0
"""Jensen-Shannon in bits lies in [0, 1] (Lin 1991), so 1 - sqrt(JSD) is a loyalty in [0, 1] (Xu et al. 2021)."""
CLASS_AXIS = 1
"""Outputs of a classifier are (examples, classes)."""


def _as_outputs(name: str, outputs: Any) -> np.ndarray:
    """`outputs` as a float64 (examples, classes) array; raises ValueError on another shape or a non-finite value."""
    array = np.asarray(outputs, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name}: expected a non-empty (examples, classes) array, got shape {array.shape}; pass one row of "
            "class scores per example"
        )
    bad = np.argwhere(~np.isfinite(array))
    if bad.size:
        row, col = (int(i) for i in bad[0])
        raise ValueError(
            f"{name}: {len(bad)} non-finite value(s), the first {array[row, col]} at example {row}, class {col}; "
            "the model produced a non-finite output (check for overflow, e.g. after quantization)"
        )
    return array


def _check_probabilities(name: str, array: np.ndarray) -> None:
    """Raise ValueError if a row has a negative entry or does not sum to 1 within PROBABILITY_SUM_TOLERANCE."""
    negative = np.argwhere(array < 0)
    if negative.size:
        row, col = (int(i) for i in negative[0])
        raise ValueError(
            f"{name}: probability {array[row, col]} < 0 at example {row}, class {col}; were logits passed as "
            "kind='probabilities'?"
        )
    sums = array.sum(axis=CLASS_AXIS)
    off = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE)
    if off.size:
        row = int(off[0])
        raise ValueError(
            f"{name}: the probabilities of example {row} sum to {sums[row]:.6g}, not 1 (within "
            f"{PROBABILITY_SUM_TOLERANCE}; {off.size} such rows); pass kind='logits' for unnormalised scores"
        )


def _check_kind(kind: str) -> None:
    """Raise ValueError unless `kind` is "logits" or "probabilities"."""
    if kind not in ("logits", "probabilities"):
        raise ValueError(f"output kind {kind!r}: expected 'logits' or 'probabilities'")


def log_probabilities(outputs: Any, kind: OutputKind, name: str = "outputs") -> np.ndarray:
    """Natural-log class probabilities (examples, classes): log-softmax of logits, or the log of checked probabilities.

    Logits stay in log space, so a class whose probability underflows to 0 keeps a finite log (KL stays finite).
    """
    _check_kind(kind)
    array = _as_outputs(name, outputs)
    if kind == "logits":
        return np.asarray(log_softmax(array, axis=CLASS_AXIS))
    _check_probabilities(name, array)
    with np.errstate(divide="ignore"):
        return np.log(array / array.sum(axis=CLASS_AXIS, keepdims=True))


def probabilities(outputs: Any, kind: OutputKind, name: str = "outputs") -> np.ndarray:
    """Class probabilities (examples, classes) from logits (stable softmax) or probabilities (checked, renormalised).

    >>> probabilities([[0.0, 0.0], [1000.0, 0.0]], "logits").round(3).tolist()
    [[0.5, 0.5], [1.0, 0.0]]
    """
    return np.exp(log_probabilities(outputs, kind, name))


def _check_same_shape(student: np.ndarray, teacher: np.ndarray) -> None:
    """Raise ValueError naming both lengths (and shapes) unless student and teacher outputs are the same shape."""
    if student.shape != teacher.shape:
        raise ValueError(
            f"student has {len(student)} examples (shape {student.shape}), teacher {len(teacher)} (shape "
            f"{teacher.shape}); agreement needs both models' outputs on the same examples: align them by example id"
        )


def align(
    student_ids: Sequence[Hashable], student: Any, teacher_ids: Sequence[Hashable], teacher: Any
) -> tuple[Any, Any]:
    """The teacher's outputs reordered into the student's example order; ValueError unless both cover the same ids.

    >>> align(["b", "a"], [1, 2], ["a", "b"], [10, 20])
    ([1, 2], [20, 10])
    """
    for who, ids, outputs in (("student", student_ids, student), ("teacher", teacher_ids, teacher)):
        if len(ids) != len(outputs):
            raise ValueError(f"{who}: {len(ids)} example ids but {len(outputs)} outputs; pass one id per output row")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{who}: repeated example ids ({len(ids) - len(set(ids))} repeats); ids must be unique")
    position = {example_id: i for i, example_id in enumerate(teacher_ids)}
    missing = [i for i in student_ids if i not in position]
    if missing or len(student_ids) != len(teacher_ids):
        extra = len(set(teacher_ids) - set(student_ids))
        raise ValueError(
            f"student has {len(student_ids)} examples, teacher {len(teacher_ids)}; {len(missing)} student ids have "
            f"no teacher output (e.g. {missing[:3]!r}) and {extra} teacher ids no student output: agreement needs "
            "both models' outputs on the same examples"
        )
    order = [position[i] for i in student_ids]
    if isinstance(teacher, np.ndarray):
        return student, teacher[order]
    return student, [teacher[i] for i in order]


def _pair(student: Any, teacher: Any, kind: OutputKind) -> tuple[np.ndarray, np.ndarray]:
    """Both models' natural-log probabilities, same shape checked."""
    log_s = log_probabilities(student, kind, "student")
    log_t = log_probabilities(teacher, kind, "teacher")
    _check_same_shape(log_s, log_t)
    return log_s, log_t


def label_loyalty(student: Any, teacher: Any, kind: OutputKind = "logits") -> float:
    """Share of examples whose argmax class is the teacher's (Xu et al. 2021; Stanton et al.'s top-1 agreement).

    >>> label_loyalty([[0.9, 0.1], [0.4, 0.6]], [[0.8, 0.2], [0.7, 0.3]], "probabilities")
    0.5
    """
    return _label_loyalty(*_pair(student, teacher, kind))


def _label_loyalty(log_s: np.ndarray, log_t: np.ndarray) -> float:
    """Label loyalty from both models' log-probabilities."""
    return float(np.mean(log_s.argmax(axis=CLASS_AXIS) == log_t.argmax(axis=CLASS_AXIS)))


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per-row Jensen-Shannon divergence in bits of two (examples, classes) probability arrays, in [0, 1].

    >>> float(jensen_shannon(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0])
    1.0
    """
    m = (p + q) / 2
    nats = (rel_entr(p, m).sum(axis=CLASS_AXIS) + rel_entr(q, m).sum(axis=CLASS_AXIS)) / 2
    return np.clip(nats / np.log(JSD_LOG_BASE), 0.0, 1.0)  # clip: rounding can leave -1e-17 under the sqrt


def probability_loyalty(student: Any, teacher: Any, kind: OutputKind = "logits") -> float:
    """Mean over examples of 1 - sqrt(JSD(p_teacher, p_student)), JSD in bits (Xu et al. 2021); 1.0 when identical."""
    return _probability_loyalty(*_pair(student, teacher, kind))


def _probability_loyalty(log_s: np.ndarray, log_t: np.ndarray) -> float:
    """Probability loyalty from both models' log-probabilities."""
    return float(np.mean(1.0 - np.sqrt(jensen_shannon(np.exp(log_t), np.exp(log_s)))))


def kl_teacher_student(student: Any, teacher: Any, kind: OutputKind = "logits") -> float:
    """Mean KL(teacher || student) in nats (Stanton et al. 2021); inf where the student gives 0 to a teacher class."""
    return _kl_teacher_student(*_pair(student, teacher, kind))


def _kl_teacher_student(log_s: np.ndarray, log_t: np.ndarray) -> float:
    """Mean KL(teacher || student) in nats from both models' log-probabilities."""
    p_t = np.exp(log_t)
    with np.errstate(invalid="ignore"):  # -inf - -inf where both are 0: the term is 0 (0 log 0)
        terms = np.where(p_t > 0, p_t * (log_t - log_s), 0.0)
    return float(np.mean(terms.sum(axis=CLASS_AXIS)))


def fidelity(student: Any, teacher: Any, kind: OutputKind = "logits") -> dict[str, float]:
    """Stanton et al. 2021's fidelity: top-1 agreement and mean KL(teacher || student) in nats."""
    return _fidelity(*_pair(student, teacher, kind))


def _fidelity(log_s: np.ndarray, log_t: np.ndarray) -> dict[str, float]:
    """Fidelity from both models' log-probabilities."""
    return {"top1_agreement": _label_loyalty(log_s, log_t), "kl_teacher_student": _kl_teacher_student(log_s, log_t)}


def _as_scores(name: str, outputs: Any) -> np.ndarray:
    """A regression model's outputs as a 1-D float array: (examples,) or (examples, 1)."""
    array = np.asarray(outputs, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name}: expected one score per example, shape (examples,) or (examples, 1), got {array.shape}"
        )
    return array


def regression_agreement(student: Any, teacher: Any) -> dict[str, float]:
    """Pearson and Spearman correlation of the student's scores with the teacher's (ValueError if one is constant)."""
    s = _as_scores("student", student)
    t = _as_scores("teacher", teacher)
    _check_same_shape(s, t)
    s_list, t_list = s.tolist(), t.tolist()
    return {
        "pearson": pearson(predictions=s_list, references=t_list),
        "spearman": spearmanr(predictions=s_list, references=t_list),
    }


def span_agreement(student: Sequence[str], teacher: Sequence[str]) -> dict[str, float]:
    """SQuAD v2.0 EM and F1 of the student's answers with the teacher's answers as references.

    >>> span_agreement(["the Eiffel Tower", ""], ["Eiffel Tower", ""])
    {'exact_match': 1.0, 'f1': 1.0}
    """
    if len(student) != len(teacher):
        raise ValueError(
            f"student has {len(student)} answers, teacher {len(teacher)}; agreement needs both models' answers "
            "on the same examples: align them by example id"
        )
    references = [[answer] for answer in teacher]
    return {
        "exact_match": squad_v2_exact_match(predictions=list(student), references=references),
        "f1": squad_v2_f1(predictions=list(student), references=references),
    }


def agreement(kind: TaskKind, student: Any, teacher: Any, output_kind: OutputKind = "logits") -> dict[str, float]:
    """The measures of a task kind: classification (loyalty, fidelity), regression (correlations), span (EM/F1).

    `output_kind` says whether classification outputs are logits or probabilities; the others ignore it.
    """
    if kind == "classification":
        log_s, log_t = _pair(student, teacher, output_kind)
        return {
            "label_loyalty": _label_loyalty(log_s, log_t),
            "probability_loyalty": _probability_loyalty(log_s, log_t),
            **_fidelity(log_s, log_t),
        }
    if kind == "regression":
        return regression_agreement(student, teacher)
    if kind == "span":
        return span_agreement(student, teacher)
    raise ValueError(f"task kind {kind!r}: expected 'classification', 'regression' or 'span'")


NOT_MEASURED = "not_measured"
"""The one key of a result that could not be measured: its value says why."""
SPAN_TASK_KINDS = ("extractive_qa", "generative_qa")
"""Task kinds whose answers are texts: compared from the predictions files, which records keep."""
DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    (
        "label loyalty",
        "the share of examples whose predicted label (argmax) is the teacher's",
        'Xu et al. 2021, "Beyond Preserved Accuracy: Evaluating Loyalty and Robustness of BERT Compression", '
        "EMNLP 2021, section 3.1",
    ),
    (
        "probability loyalty",
        "the mean over examples of 1 - sqrt(JSD(p_teacher, p_student)), Jensen-Shannon divergence in bits "
        "(1: the same distributions)",
        "Xu et al. 2021, section 3.1; JSD: Lin 1991",
    ),
    (
        "fidelity: top-1 agreement",
        "the share of examples with the same argmax (the same number as label loyalty)",
        'Stanton et al. 2021, "Does Knowledge Distillation Really Work?", NeurIPS 2021, section 3',
    ),
    (
        "fidelity: KL",
        "the mean KL(teacher || student) of the softmax distributions, in nats (0: the same), from the stored "
        "float16 logits",
        "Stanton et al. 2021, section 3",
    ),
    (
        "correlation (regression)",
        "Pearson and Spearman correlation of the student's scores with the teacher's",
        "scipy.stats, as the GLUE STS-B scorer",
    ),
    (
        "EM / F1 vs the teacher (span QA)",
        "SQuAD exact match and token F1 of the student's answers with the teacher's answer as the one reference "
        "(two empty answers agree)",
        "Rajpurkar et al. 2016/2018, the official evaluate-v2.0.py",
    ),
)
"""Each measure on a page: its name, definition and source (the page states them once)."""


class _NotMeasured(Exception):
    """Why an agreement cannot be measured from two records (becomes a `not_measured` result)."""


def not_measured(why: str) -> dict[str, str]:
    """The result of an agreement that could not be measured, saying why."""
    return {NOT_MEASURED: why}


def record_agreement(student: Record, teacher: Record) -> dict[str, Any]:
    """The student's agreement with the teacher on one task, from the files beside both records: classification
    (label and probability loyalty, fidelity), regression (correlations), multiple choice (as classification over
    the options), span QA (EM/F1 vs the teacher's answers); `{"not_measured": why}` when it cannot be measured."""
    try:
        return _record_agreement(student, teacher)
    except _NotMeasured as e:
        return not_measured(str(e))
    except (UserError, ValueError) as e:  # a file refused, ids that differ, a constant score: said, never a crash
        return not_measured(str(e))


def _record_agreement(student: Record, teacher: Record) -> dict[str, Any]:
    from harness.tasks import get_task

    for who, record in (("student", student), ("teacher", teacher)):
        if not record.ok:
            raise _NotMeasured(f"the {who}'s record is a failed run")
    if student.task.name != teacher.task.name:
        raise _NotMeasured(f"the records are of different tasks ({student.task.name}, {teacher.task.name})")
    task = get_task(student.task.name)
    if task.kind in SPAN_TASK_KINDS:
        from harness.formats import read_predictions

        answers = [
            read_predictions(task, _companion(r, r.predictions_file, "predictions", who))
            for who, r in (("student", student), ("teacher", teacher))
        ]
        ids, texts = list(answers[0]), [str(v) for v in answers[0].values()]
        _, theirs = align(ids, texts, list(answers[1]), [str(v) for v in answers[1].values()])
        return {"measure": "span", "examples": len(ids), **span_agreement(texts, theirs)}
    from harness.formats.outputs import read_outputs

    mine, theirs = (
        read_outputs(_companion(r, r.outputs_file, "outputs", who))
        for who, r in (("student", student), ("teacher", teacher))
    )
    if mine.kind != theirs.kind:
        raise _NotMeasured(f"the student's outputs are {mine.kind}, the teacher's {theirs.kind}")
    s, t = align(mine.ids, mine.values, theirs.ids, theirs.values)
    head = {"measure": mine.kind, "examples": len(mine.ids)}
    if mine.kind == "scores":
        try:
            return head | regression_agreement(s, t)
        except ValueError as e:
            raise _NotMeasured(f"correlation with the teacher (its scores as the references): {e}") from e
    if mine.kind == "option_scores":
        return head | _option_agreement(np.asarray(s), np.asarray(t))
    return head | agreement("classification", s, t, "logits")


def _companion(record: Record, name: str | None, what: str, who: str) -> Path:
    """The file `name` beside a record; _NotMeasured when the record names none or it is not there."""
    if not name:
        raise _NotMeasured(
            f"the {who}'s record keeps no {what} file (evaluated before the harness kept them); re-run its evaluation"
        )
    if not record.path:
        raise _NotMeasured(f"the {who}'s record was not read from a file, so its {what} file cannot be found")
    path = Path(record.path).with_name(name)
    if not path.is_file():
        raise _NotMeasured(f"the {who}'s {what} file {path.name} is missing beside its record; re-run its evaluation")
    return path


def _option_agreement(student: np.ndarray, teacher: np.ndarray) -> dict[str, float]:
    """Classification agreement over each example's options (NaN past its last one): rows grouped by their number
    of options, each group's means weighted by its rows, which equals the mean over all examples."""
    _check_same_shape(student, teacher)
    counts = (~np.isnan(student)).sum(axis=CLASS_AXIS)
    if not np.array_equal(counts, (~np.isnan(teacher)).sum(axis=CLASS_AXIS)):
        raise ValueError("the student and the teacher scored different numbers of options for some examples")
    total: dict[str, float] = {}
    for k in np.unique(counts):
        rows = counts == k
        part = agreement("classification", student[rows, :k], teacher[rows, :k], "logits")
        for name, value in part.items():
            total[name] = total.get(name, 0.0) + value * int(rows.sum())
    return {name: value / len(student) for name, value in total.items()}


def teacher_record(student: Record, candidates: Iterable[Record]) -> Record | None:
    """The teacher's ok record to compare `student` with: the same task, split and number of examples (the same
    --limit), and the same task's model (settings.model_of: an out-of-distribution run meets only its like), preferring the same hardware, device and dtype, then the latest; None when there is none."""

    def settings(r: Record) -> tuple[Any, ...]:
        s = r.settings or {}
        return (r.hardware, s.get("device"), s.get("dtype"))

    same = [
        r
        for r in candidates
        if r.ok
        and r.task.name == student.task.name
        and r.task.split == student.task.split
        and r.num_examples == student.num_examples
        and (r.settings or {}).get("limit") == (student.settings or {}).get("limit")
        and (r.settings or {}).get("model_of") == (student.settings or {}).get("model_of")  # an OOD run with its kind
    ]
    if not same:
        return None
    return max(same, key=lambda r: (settings(r) == settings(student), str(r.started_at)))
