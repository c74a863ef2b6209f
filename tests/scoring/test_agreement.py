"""Teacher agreement (loyalty, fidelity, correlations, span EM/F1) against itself, flipped labels and hand examples."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from harness.scoring.agreement import (
    agreement,
    align,
    fidelity,
    jensen_shannon,
    kl_teacher_student,
    label_loyalty,
    probabilities,
    probability_loyalty,
    regression_agreement,
    span_agreement,
)

RNG = np.random.default_rng(15)
LOGITS = RNG.normal(size=(64, 3)) * 3


def test_softmax_is_stable_and_probabilities_are_checked():
    assert probabilities([[1000.0, 0.0, -1000.0]], "logits") == pytest.approx(np.array([[1.0, 0.0, 0.0]]))
    assert probabilities([[0.2, 0.8]], "probabilities") == pytest.approx(np.array([[0.2, 0.8]]))
    assert probabilities([[0.2, 0.8005]], "probabilities").sum() == pytest.approx(1.0)  # within 1e-3: renormalised
    with pytest.raises(ValueError, match="sum to 1.1"):
        probabilities([[0.3, 0.8]], "probabilities")
    with pytest.raises(ValueError, match="< 0"):
        probabilities([[-0.1, 1.1]], "probabilities")
    with pytest.raises(ValueError, match="output kind"):
        probabilities([[0.5, 0.5]], "scores")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        probabilities([0.5, 0.5], "probabilities")


@pytest.mark.parametrize("kind", ["logits", "probabilities"])
def test_non_finite_outputs_refused(kind):
    bad = [[0.5, 0.5], [math.nan, 0.5]]
    with pytest.raises(ValueError, match="non-finite.*example 1"):
        probabilities(bad, kind)
    with pytest.raises(ValueError, match="non-finite"):
        agreement("classification", bad, [[0.5, 0.5], [0.5, 0.5]], kind)
    with pytest.raises(ValueError, match="non-finite"):
        probabilities([[math.inf, 0.0]], kind)


def test_against_itself_everything_is_perfect():
    measures = agreement("classification", LOGITS, LOGITS.copy())
    assert measures == {
        "label_loyalty": 1.0,
        "probability_loyalty": 1.0,
        "top1_agreement": 1.0,
        "kl_teacher_student": 0.0,
    }
    probs = probabilities(LOGITS, "logits")
    assert agreement("classification", probs, probs, "probabilities")["probability_loyalty"] == 1.0
    assert kl_teacher_student(probs, probs, "probabilities") == 0.0


def test_flipped_binary_labels_match_the_hand_computation():
    teacher = np.array([[0.9, 0.1]] * 4)
    student = teacher[:, ::-1]  # p and 1 - p: every label flipped
    # JSD in bits: m = (0.5, 0.5); KL(p || m) = 0.9 log2(0.9/0.5) + 0.1 log2(0.1/0.5) = 0.5310044, and KL(q || m)
    # is the same by symmetry, so JSD = (0.5310044 + 0.5310044) / 2 = 0.5310044 and loyalty = 1 - sqrt(0.5310044)
    jsd = 0.9 * math.log2(0.9 / 0.5) + 0.1 * math.log2(0.1 / 0.5)
    assert jsd == pytest.approx(0.5310044064)
    assert 1 - math.sqrt(jsd) == pytest.approx(0.2712995084)
    # KL(teacher || student) in nats = 0.9 ln(0.9/0.1) + 0.1 ln(0.1/0.9) = 0.8 ln 9 = 1.7577797
    kl = 0.9 * math.log(0.9 / 0.1) + 0.1 * math.log(0.1 / 0.9)
    assert kl == pytest.approx(0.8 * math.log(9)) and kl == pytest.approx(1.7577796619)

    measures = agreement("classification", student, teacher, "probabilities")
    assert measures["label_loyalty"] == 0.0
    assert measures["top1_agreement"] == 0.0
    assert measures["probability_loyalty"] == pytest.approx(0.2712995084, abs=1e-9)
    assert measures["kl_teacher_student"] == pytest.approx(1.7577796619, abs=1e-9)
    # the same from logits (log p differs from the logits by a constant per row)
    from_logits = agreement("classification", np.log(student) + 7.0, np.log(teacher) - 2.0, "logits")
    assert from_logits == pytest.approx(measures, abs=1e-12)


def test_half_flipped_is_the_mean_of_the_rows():
    teacher = np.array([[0.9, 0.1], [0.9, 0.1]])
    student = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert label_loyalty(student, teacher, "probabilities") == 0.5
    assert probability_loyalty(student, teacher, "probabilities") == pytest.approx((1.0 + 0.2712995084) / 2)
    assert fidelity(student, teacher, "probabilities") == pytest.approx(
        {"top1_agreement": 0.5, "kl_teacher_student": 1.7577796619 / 2}
    )


def test_three_class_jensen_shannon_loyalty_by_hand():
    # p = (0.5, 0.5, 0), q = (0, 0.5, 0.5): m = (0.25, 0.5, 0.25);
    # KL(p || m) = 0.5 log2(0.5/0.25) + 0.5 log2(0.5/0.5) + 0 = 0.5 bits, KL(q || m) = 0.5 bits too, so JSD = 0.5
    # and loyalty = 1 - sqrt(0.5) = 0.2928932.
    # p = (0.7, 0.2, 0.1), q = (0.2, 0.5, 0.3): m = (0.45, 0.35, 0.2);
    # KL(p || m) = 0.7 log2(0.7/0.45) + 0.2 log2(0.2/0.35) + 0.1 log2(0.1/0.2) = 0.4462 - 0.1615 - 0.1 = 0.1847300
    # KL(q || m) = 0.2 log2(0.2/0.45) + 0.5 log2(0.5/0.35) + 0.3 log2(0.3/0.2) = -0.2340 + 0.2573 + 0.1755 = 0.1987903
    # JSD = (0.1847300 + 0.1987903) / 2 = 0.1917601, loyalty = 1 - sqrt(0.1917601) = 0.5620957
    p = np.array([[0.5, 0.5, 0.0], [0.7, 0.2, 0.1]])
    q = np.array([[0.0, 0.5, 0.5], [0.2, 0.5, 0.3]])
    kl_pm = 0.7 * math.log2(0.7 / 0.45) + 0.2 * math.log2(0.2 / 0.35) + 0.1 * math.log2(0.1 / 0.2)
    kl_qm = 0.2 * math.log2(0.2 / 0.45) + 0.5 * math.log2(0.5 / 0.35) + 0.3 * math.log2(0.3 / 0.2)
    assert (kl_pm, kl_qm) == pytest.approx((0.1847300, 0.1987903), abs=1e-7)
    assert jensen_shannon(p, q) == pytest.approx([0.5, 0.1917601], abs=1e-7)
    assert jensen_shannon(p, q) == pytest.approx(jensenshannon(p, q, base=2, axis=1) ** 2, abs=1e-12)
    assert probability_loyalty(q, p, "probabilities") == pytest.approx((0.2928932 + 0.5620957) / 2, abs=1e-7)
    # a zero teacher probability the student gives mass to is fine for JSD; the reverse makes KL infinite
    assert kl_teacher_student(q[:1], p[:1], "probabilities") == math.inf


def test_jensen_shannon_is_symmetric_and_bounded():
    p = probabilities(LOGITS, "logits")
    q = probabilities(LOGITS[::-1], "logits")
    assert jensen_shannon(p, q) == pytest.approx(jensen_shannon(q, p), abs=1e-15)
    assert np.all((jensen_shannon(p, q) >= 0) & (jensen_shannon(p, q) <= 1))
    assert jensen_shannon(np.eye(3), np.eye(3)[::-1])[[0, 2]] == pytest.approx([1.0, 1.0])


def test_mismatched_lengths_refused_naming_both():
    with pytest.raises(ValueError, match="student has 3 examples.*teacher 2"):
        agreement("classification", LOGITS[:3], LOGITS[:2])
    with pytest.raises(ValueError, match="student has 3 examples.*teacher 3"):  # same length, other class count
        label_loyalty(LOGITS[:3], LOGITS[:3, :2])
    with pytest.raises(ValueError, match="student has 4 examples.*teacher 3"):
        regression_agreement([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="student has 2 answers, teacher 1"):
        span_agreement(["a", "b"], ["a"])


def test_align_by_example_id():
    student, teacher = align(["c", "a", "b"], LOGITS[:3], ["a", "b", "c"], LOGITS[[1, 2, 0]])
    assert np.array_equal(teacher, LOGITS[:3])
    with pytest.raises(ValueError, match="student has 3 examples, teacher 2"):
        align(["a", "b", "c"], [1, 2, 3], ["a", "b"], [1, 2])
    with pytest.raises(ValueError, match="1 student ids have no teacher output"):
        align(["a", "b", "x"], [1, 2, 3], ["a", "b", "c"], [1, 2, 3])
    with pytest.raises(ValueError, match="3 example ids but 2 outputs"):
        align(["a", "b", "c"], [1, 2], ["a", "b", "c"], [1, 2, 3])
    with pytest.raises(ValueError, match="repeated"):
        align(["a", "a"], [1, 2], ["a", "b"], [1, 2])


def test_regression_correlation_with_itself_and_its_negation():
    scores = np.array([0.1, 2.0, 3.5, 1.2, 4.8, 0.7])
    assert agreement("regression", scores, scores) == pytest.approx({"pearson": 1.0, "spearman": 1.0})
    assert agreement("regression", -scores, scores) == pytest.approx({"pearson": -1.0, "spearman": -1.0})
    assert regression_agreement(scores[:, None], scores) == pytest.approx({"pearson": 1.0, "spearman": 1.0})
    with pytest.raises(ValueError, match="non-finite"):
        regression_agreement([1.0, math.nan, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="equal"):
        regression_agreement([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])


def test_span_em_and_f1_with_itself_and_by_hand():
    answers = ["Paris", "the Eiffel Tower", "1889", ""]
    assert agreement("span", answers, list(answers)) == {"exact_match": 1.0, "f1": 1.0}
    # "paris" vs "paris france": EM 0, F1 = 2 * 1 * 0.5 / 1.5 = 2/3; "big red dog" vs "big dog": EM 0,
    # precision 2/3, recall 1, F1 = 0.8; "eiffel tower" (articles and case dropped) vs "eiffel tower": EM 1, F1 1;
    # "" vs "" (both no answer): EM 1, F1 1.
    student = ["Paris", "the big red dog", "The Eiffel Tower", ""]
    teacher = ["Paris, France", "big dog", "eiffel tower", ""]
    measures = span_agreement(student, teacher)
    assert measures["exact_match"] == pytest.approx(2 / 4)
    assert measures["f1"] == pytest.approx((2 / 3 + 0.8 + 1 + 1) / 4)


def test_unknown_kind_refused():
    with pytest.raises(ValueError, match="task kind 'ranking'"):
        agreement("ranking", LOGITS, LOGITS)  # type: ignore[arg-type]
