"""`record_agreement`: a student's agreement with its teacher from the outputs (or predictions) files beside two
records, against itself, against flipped labels (hand-computed values) and when it cannot be measured."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from board_records import record

from harness.formats import predictions_path, write_predictions
from harness.formats.outputs import outputs_path, write_outputs
from harness.records import Record
from harness.scoring.agreement import NOT_MEASURED, record_agreement, teacher_record
from harness.tasks import get_task

IDS = ["0", "1", "2", "3"]
# logits exactly representable in float16: each example's p = (sigmoid(1), 1 - sigmoid(1))
LOGITS = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])


def saved(
    folder: Path, sub: str, task: str, values=None, kind: str = "logits", ids=IDS, answers=None, examples=4
) -> Record:
    """An ok record of `sub` on `task` stored under `folder` with its outputs (or answers, for span QA) beside it."""
    stem = folder / sub / f"{task.replace('/', '_')}.cpu.0123456789ab"
    base = record(sub, task, {"accuracy": 0.5} if answers is None else {"exact_match": 0.5, "f1": 0.5})
    changes: dict = {"path": str(stem) + ".record.json", "num_examples": examples}
    if values is not None:
        write_outputs(outputs_path(stem), ids, np.asarray(values), kind)
        changes["outputs_file"] = outputs_path(stem).name
    if answers is not None:
        path = predictions_path(get_task(task), stem)
        write_predictions(get_task(task), dict(zip(ids, answers)), path)
        changes["predictions_file"] = path.name
    return base.with_(**changes)


def test_a_record_against_itself_is_perfect(tmp_path):
    student = saved(tmp_path, "kd", "rte", LOGITS)
    result = record_agreement(student, student)
    assert result == {
        "measure": "logits",
        "examples": 4,
        "label_loyalty": 1.0,
        "probability_loyalty": 1.0,
        "top1_agreement": 1.0,
        "kl_teacher_student": 0.0,
    }


def test_flipped_labels_give_the_hand_computed_loyalty_and_fidelity(tmp_path):
    flipped = LOGITS.copy()
    flipped[3] = flipped[3, ::-1]  # one example of four: the teacher prefers the other label, as confidently
    student = saved(tmp_path, "kd", "rte", LOGITS)
    teacher = saved(tmp_path, "big", "rte", flipped[::-1], ids=IDS[::-1])  # stored in another order: aligned by id
    result = record_agreement(student, teacher)
    p = 1 / (1 + math.exp(-1))  # sigmoid(1)
    # KL(p || 1-p) of two classes = (2p - 1) * ln(p / (1 - p)) = (2p - 1) * 1 nats; JSD(p, 1-p) = 1 - H2(p) bits
    binary_entropy = -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    assert result["label_loyalty"] == result["top1_agreement"] == 0.75
    assert result["kl_teacher_student"] == pytest.approx((2 * p - 1) / 4, rel=1e-6)
    assert result["probability_loyalty"] == pytest.approx((3 + 1 - math.sqrt(1 - binary_entropy)) / 4, rel=1e-6)


def test_regression_scores_give_correlations(tmp_path):
    scores = np.array([[0.1], [2.0], [1.0], [3.5]])
    student = saved(tmp_path, "kd", "stsb", scores, "scores")
    same = record_agreement(student, saved(tmp_path, "big", "stsb", 2 * scores + 1, "scores"))
    assert same["pearson"] == pytest.approx(1.0) and same["spearman"] == pytest.approx(1.0)
    opposite = record_agreement(student, saved(tmp_path, "neg", "stsb", -scores, "scores"))
    assert opposite["pearson"] == pytest.approx(-1.0) and opposite["spearman"] == pytest.approx(-1.0)
    constant = record_agreement(student, saved(tmp_path, "flat", "stsb", np.ones((4, 1)), "scores"))
    assert "the correlation is undefined" in constant[NOT_MEASURED]


def test_option_scores_with_nan_padding_group_rows_by_their_options(tmp_path):
    options = np.array([[2.0, 0.0, np.nan], [0.0, 2.0, np.nan], [3.0, 0.0, 0.0], [0.0, 0.0, 3.0]])
    student = saved(tmp_path, "kd", "copa", options, "option_scores")
    assert record_agreement(student, student)["label_loyalty"] == 1.0
    assert record_agreement(student, student)["kl_teacher_student"] == 0.0
    teacher_options = options.copy()
    teacher_options[3] = [3.0, 0.0, 0.0]  # a 3-option row whose best option moves
    result = record_agreement(student, saved(tmp_path, "big", "copa", teacher_options, "option_scores"))
    assert result["label_loyalty"] == 0.75
    e3 = math.exp(3)
    p = np.array([e3, 1, 1]) / (e3 + 2)  # teacher row 3; the student's is its reverse
    q = p[::-1]
    assert result["kl_teacher_student"] == pytest.approx(float(np.sum(p * np.log(p / q))) / 4, rel=1e-4)
    padded_differently = options.copy()
    padded_differently[0, 2] = 1.0
    odd = record_agreement(student, saved(tmp_path, "odd", "copa", padded_differently, "option_scores"))
    assert "different numbers of options" in odd[NOT_MEASURED]


def test_span_qa_compares_the_answers_in_the_predictions_files(tmp_path):
    student = saved(tmp_path, "kd", "squad", answers=["the Eiffel Tower", "1889", "Paris", ""])
    teacher = saved(tmp_path, "big", "squad", answers=["Eiffel Tower", "in 1889", "Lyon", ""])
    result = record_agreement(student, teacher)
    assert result["measure"] == "span" and result["examples"] == 4
    assert result["exact_match"] == 0.5  # "the Eiffel Tower" = "Eiffel Tower" after SQuAD normalisation; "" = ""
    assert result["f1"] == pytest.approx((1 + 2 / 3 + 0 + 1) / 4)
    assert record_agreement(student, student) == {
        "measure": "span",
        "examples": 4,
        "exact_match": 1.0,
        "f1": 1.0,
    }


def test_what_cannot_be_measured_says_why_and_never_raises(tmp_path):
    student = saved(tmp_path, "kd", "rte", LOGITS)
    cases = {
        "keeps no outputs file": saved(tmp_path, "old", "rte"),
        "missing beside its record": saved(tmp_path, "gone", "rte", LOGITS),
        "not a readable outputs file": saved(tmp_path, "junk", "rte", LOGITS),
        "same examples": saved(tmp_path, "other", "rte", LOGITS, ids=["0", "1", "2", "9"]),
        "different tasks": saved(tmp_path, "mrpc", "mrpc", LOGITS),
        "the student's outputs are logits, the teacher's scores": saved(tmp_path, "sc", "rte", LOGITS[:, :1], "scores"),
        "failed run": saved(tmp_path, "bad", "rte", LOGITS).with_(status="failed"),
        "not read from a file": saved(tmp_path, "nopath", "rte", LOGITS).with_(path=None),
        "shape": saved(tmp_path, "three", "rte", np.zeros((4, 3))),
    }
    gone = cases["missing beside its record"]
    Path(gone.path).with_name(gone.outputs_file).unlink()
    junk = cases["not a readable outputs file"]
    Path(junk.path).with_name(junk.outputs_file).write_bytes(b"PK\x03\x04 broken")
    for why, teacher in cases.items():
        result = record_agreement(student, teacher)
        assert list(result) == [NOT_MEASURED] and why in result[NOT_MEASURED], why


def test_the_teacher_record_is_of_the_same_task_split_and_examples(tmp_path):
    student = saved(tmp_path, "kd", "rte", LOGITS)
    older = saved(tmp_path, "big", "rte", LOGITS).with_(started_at="2025-01-01T00:00:00+00:00")
    newer = saved(tmp_path, "big", "rte", LOGITS)
    fewer = saved(tmp_path, "big", "rte", LOGITS, examples=3)
    failed = newer.with_(status="failed", started_at="2026-06-01T00:00:00+00:00")
    other_task = saved(tmp_path, "big", "mrpc", LOGITS)
    assert teacher_record(student, [older, newer, fewer, failed, other_task]) is newer
    assert teacher_record(student, [fewer, failed, other_task]) is None
