"""Metric functions against values computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import metrics as m
from harness.errors import UserError

# ---------------------------------------------------------------------------------------------
# classification
# ---------------------------------------------------------------------------------------------


def test_accuracy():
    # correct at positions 0 and 2 of 4 -> 2/4
    assert m.accuracy(predictions=[1, 0, 1, 1], references=[1, 1, 1, 0]) == 0.5
    # works on string labels too: 1 of 3
    assert m.accuracy(predictions=["a", "b", "c"], references=["a", "c", "b"]) == pytest.approx(1 / 3)


def test_f1_binary():
    # TP = 2 (0, 1), FP = 1 (2), FN = 1 (3): P = 2/3, R = 2/3, F1 = 2/3
    assert m.f1_binary(predictions=[1, 1, 1, 0, 0], references=[1, 1, 0, 1, 0]) == pytest.approx(2 / 3)
    # the same labels flipped: the positive class stays 1 -> TP = 1 (4), FP = 1 (3), FN = 1 (2)
    # P = 1/2, R = 1/2, F1 = 1/2
    assert m.f1_binary(predictions=[0, 0, 0, 1, 1], references=[0, 0, 1, 0, 1]) == pytest.approx(0.5)
    # no true and no predicted positives: F1 is 0/0, reported as 0.0 (no nan, no warning needed)
    assert m.f1_binary(predictions=[0, 0], references=[0, 0]) == 0.0


def test_f1_binary_rejects_hidden_test_labels():
    with pytest.raises(ValueError, match=r"0/1 labels.*-1"):
        m.f1_binary(predictions=[1, 0], references=[-1, -1])


def test_f1_macro_three_classes():
    # references [0 0 0 1 1 2], predictions [0 0 1 1 2 2]
    # class 0: TP 2, FP 0, FN 1 -> P 1,   R 2/3 -> F1 = 2*(2/3)/(5/3) = 4/5
    # class 1: TP 1, FP 1, FN 1 -> P 1/2, R 1/2 -> F1 = 1/2
    # class 2: TP 1, FP 1, FN 0 -> P 1/2, R 1   -> F1 = 2*(1/2)/(3/2) = 2/3
    # macro = (4/5 + 1/2 + 2/3) / 3 = (24 + 15 + 20) / 30 / 3 = 59/90
    predictions = [0, 0, 1, 1, 2, 2]
    references = [0, 0, 0, 1, 1, 2]
    assert m.f1_macro(predictions=predictions, references=references) == pytest.approx(59 / 90)
    # unweighted: the support-weighted mean would be (3*4/5 + 2*1/2 + 1*2/3) / 6 = 61/90
    assert m.f1_macro(predictions=predictions, references=references) != pytest.approx(61 / 90)


def test_f1_macro_labels_fix_the_class_set():
    # class 2 absent from both lists. references [0 1 0 1], predictions [0 1 1 1]
    # class 0: TP 1, FP 0, FN 1 -> F1 = 2*(1*1/2)/(3/2) = 2/3
    # class 1: TP 2, FP 1, FN 0 -> F1 = 2*(2/3*1)/(5/3) = 4/5
    # default (seen classes): (2/3 + 4/5)/2 = 11/15; labels=[0,1,2]: (2/3 + 4/5 + 0)/3 = 22/45
    predictions, references = [0, 1, 1, 1], [0, 1, 0, 1]
    assert m.f1_macro(predictions=predictions, references=references) == pytest.approx(11 / 15)
    assert m.f1_macro(predictions=predictions, references=references, labels=[0, 1, 2]) == pytest.approx(22 / 45)


def test_matthews_correlation():
    # references [1 1 0 0], predictions [1 0 0 0]: TP 1, FN 1, TN 2, FP 0
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 0) / sqrt(1*2*2*3) = 2/sqrt(12)
    assert m.matthews_correlation(predictions=[1, 0, 0, 0], references=[1, 1, 0, 0]) == pytest.approx(2 / math.sqrt(12))
    # every label flipped -> -1; constant predictions -> 0 by convention (not nan)
    assert m.matthews_correlation(predictions=[0, 0, 1, 1], references=[1, 1, 0, 0]) == pytest.approx(-1.0)
    assert m.matthews_correlation(predictions=[1, 1, 1, 1], references=[1, 1, 0, 0]) == 0.0


@pytest.mark.parametrize(
    "predictions, references",
    [
        ([1, 1, 1, 1], [1, 1, 0, 0]),  # CoLA: a model that always says "acceptable"
        ([0, 0, 0, 0], [1, 1, 0, 0]),
        ([2, 2, 2, 2], [0, 1, 2, 0]),  # GLUE AX, three NLI classes, always "contradiction"
        ([0, 1, 0, 1], [1, 1, 1, 1]),  # constant gold
    ],
)
def test_matthews_correlation_of_constant_output_is_zero_as_in_the_official_scorers(predictions, references):
    # the GLUE/SuperGLUE scorers call scikit-learn's matthews_corrcoef, which defines 0/0 as 0 (no nan, no error)
    from sklearn.metrics import matthews_corrcoef

    value = m.matthews_correlation(predictions=predictions, references=references)
    assert value == 0.0 == matthews_corrcoef(references, predictions)
    assert "scikit-learn" in m.matthews_correlation.__doc__ and "0 for constant" in m.matthews_correlation.__doc__


# ---------------------------------------------------------------------------------------------
# correlations
# ---------------------------------------------------------------------------------------------


def test_pearson():
    # means 2 and 2; deviations p = [-1 0 1], r = [-1 1 0]
    # cov sum = 1 + 0 + 0 = 1; var sums 2 and 2 -> r = 1 / sqrt(2*2) = 1/2
    assert m.pearson(predictions=[1.0, 2.0, 3.0], references=[1.0, 3.0, 2.0]) == pytest.approx(0.5)


def test_spearmanr_without_ties():
    # ranks p = [1 2 3 4], r = [1 3 2 4]; d = [0 -1 1 0], sum d^2 = 2
    # rho = 1 - 6*2 / (4*(16-1)) = 1 - 12/60 = 4/5
    assert m.spearmanr(predictions=[1, 2, 3, 4], references=[1, 3, 2, 4]) == pytest.approx(0.8)


def test_spearmanr_ties_get_average_ranks_not_argsort_ranks():
    predictions = [1.0, 2.0, 2.0, 3.0]
    references = [1.0, 2.0, 3.0, 4.0]
    # tie-averaged ranks p = [1 2.5 2.5 4], r = [1 2 3 4], both mean 2.5
    # deviations p = [-1.5 0 0 1.5], r = [-1.5 -0.5 0.5 1.5]
    # cov sum = 2.25 + 0 + 0 + 2.25 = 4.5; var sums: p 4.5, r 5 -> rho = 4.5 / sqrt(4.5*5) = sqrt(0.9)
    expected = math.sqrt(0.9)
    assert m.spearmanr(predictions=predictions, references=references) == pytest.approx(expected)
    # argsort ranking breaks the tie by position: p ranks [1 2 3 4], identical to r -> rho = 1.0
    argsort_ranks = np.argsort(np.argsort(predictions, kind="stable")) + 1
    assert argsort_ranks.tolist() == [1, 2, 3, 4]
    argsort_rho = m.pearson(predictions=argsort_ranks.tolist(), references=references)
    assert argsort_rho == pytest.approx(1.0)
    assert not math.isclose(argsort_rho, expected)


@pytest.mark.parametrize("metric", [m.pearson, m.spearmanr])
def test_correlations_reject_undefined_inputs(metric):
    with pytest.raises(ValueError, match="all predictions are equal"):
        metric(predictions=[0.5, 0.5, 0.5], references=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        metric(predictions=[0.5], references=[1.0])
    with pytest.raises(ValueError, match=r"predictions\[1\] is nan"):
        metric(predictions=[0.5, float("nan"), 1.0], references=[1.0, 2.0, 3.0])


# ---------------------------------------------------------------------------------------------
# SQuAD normalization, EM and F1
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("Hello, World!", "hello world"),  # case and punctuation
        ("U.S.A.", "usa"),  # punctuation is deleted, not replaced by a space
        ("don't", "dont"),
        ("The cat", "cat"),  # leading article
        ("an Apple a day", "apple day"),  # a / an anywhere, any case
        ("theater another", "theater another"),  # articles only as whole words
        ("the-cat", "thecat"),  # punctuation goes first, so "the" is no longer a word
        ("  many \t spaces\n here ", "many spaces here"),  # whitespace collapsed and trimmed
        ("A", ""),
        ("", ""),
    ],
)
def test_normalize_answer(text, normalized):
    assert m.normalize_answer(text) == normalized


def test_squad_exact_match_max_over_golds():
    # example 1: "Broncos!" -> "broncos" equals gold 2 "the Broncos" -> "broncos": 1
    # example 2: "Denver" matches neither "Denver Broncos" nor "Broncos": 0 -> mean 1/2
    predictions = ["Broncos!", "Denver"]
    references = [["Denver Broncos", "the Broncos"], ["Denver Broncos", "Broncos"]]
    assert m.squad_exact_match(predictions=predictions, references=references) == 0.5


def test_squad_f1_partial_overlap():
    # "the cat sat" -> [cat sat]; "cat sat on mat" -> [cat sat on mat]; shared 2
    # P = 2/2 = 1, R = 2/4 = 1/2, F1 = 2*1*(1/2) / (3/2) = 2/3
    assert m.squad_f1(predictions=["the cat sat"], references=[["cat sat on mat"]]) == pytest.approx(2 / 3)
    assert m.squad_exact_match(predictions=["the cat sat"], references=[["cat sat on mat"]]) == 0.0


def test_squad_f1_max_over_golds():
    # pred [denver broncos team]
    # vs [broncos]: shared 1, P 1/3, R 1 -> F1 = 2*(1/3) / (4/3) = 1/2
    # vs [denver broncos]: shared 2, P 2/3, R 1 -> F1 = 2*(2/3) / (5/3) = 4/5 -> max 4/5
    score = m.squad_f1(predictions=["Denver Broncos team"], references=[["Broncos", "Denver Broncos"]])
    assert score == pytest.approx(0.8)


def test_squad_f1_counts_repeated_tokens_once_per_gold_occurrence():
    # pred [cat cat cat], gold [cat dog]: Counter overlap min(3, 1) = 1
    # P = 1/3, R = 1/2, F1 = 2*(1/6) / (5/6) = 2/5 (a set overlap would give P = 1, F1 = 2/3)
    assert m.squad_f1(predictions=["cat cat cat"], references=[["cat dog"]]) == pytest.approx(0.4)


@pytest.mark.parametrize("metric", [m.squad_v2_exact_match, m.squad_v2_f1])
@pytest.mark.parametrize(
    "prediction, golds, expected",
    [
        ("", [], 1.0),  # no-answer gold, empty prediction
        ("the", [], 1.0),  # "the" normalizes to "": counts as no answer
        ("", [""], 1.0),  # gold list holding only "" is also no-answer
        ("Paris", [], 0.0),  # answered a no-answer question
        ("Paris", ["", ""], 0.0),
        ("", ["Paris"], 0.0),  # abstained on an answerable question
        ("Paris", ["", "Paris"], 1.0),  # "" golds next to real ones are ignored
    ],
)
def test_squad_v2_no_answer(metric, prediction, golds, expected):
    assert metric(predictions=[prediction], references=[golds]) == expected


# evaluate-v1.1.py and record_evaluation.py: EM compares the normalized strings against every gold as it is;
# token F1 is 0 whenever no token is shared, an empty prediction against a gold that normalizes to "" included.
V1_RULES = [
    # (prediction, golds, EM, F1)
    ("", ["Paris", "."], 1.0, 0.0),  # the gold "." normalizes to "": an empty prediction matches it exactly
    ("", ["."], 1.0, 0.0),
    ("the", ["."], 1.0, 0.0),  # "the" normalizes to "" too
    ("Paris", ["Paris", "."], 1.0, 1.0),
    ("Paris", ["."], 0.0, 0.0),
    ("", ["Paris"], 0.0, 0.0),
]


@pytest.mark.parametrize("em, f1", [(m.squad_exact_match, m.squad_f1), (m.record_exact_match, m.record_f1)])
@pytest.mark.parametrize("prediction, golds, exact, token_f1", V1_RULES)
def test_squad_v11_and_record_keep_every_gold_as_it_is(em, f1, prediction, golds, exact, token_f1):
    assert em(predictions=[prediction], references=[golds]) == exact
    assert f1(predictions=[prediction], references=[golds]) == token_f1


@pytest.mark.parametrize("metric", [m.squad_exact_match, m.squad_f1, m.record_exact_match, m.record_f1])
def test_squad_v11_and_record_refuse_a_question_without_gold(metric):
    # v1.1 and ReCoRD have no unanswerable questions: the official scripts fail on max() over zero golds
    with pytest.raises(ValueError, match=r"references\[1\] has no gold answers.*squad_v2"):
        metric(predictions=["a", ""], references=[["a"], []])


def test_squad_v2_rules_differ_from_v11_only_where_a_gold_normalizes_to_empty():
    # v2.0 drops the "." gold, so an empty prediction no longer matches it: EM 0 where v1.1 gives 1
    assert m.squad_v2_exact_match(predictions=[""], references=[["Paris", "."]]) == 0.0
    # v2.0 scores empty against empty as F1 1 (no answer), v1.1 as 0 (no shared token)
    assert m.squad_v2_f1(predictions=[""], references=[["."]]) == 1.0
    assert m.squad_f1(predictions=[""], references=[["."]]) == 0.0


def test_squad_rejects_a_bare_string_gold():
    with pytest.raises(ValueError, match=r"references\[0\] is the string 'cat'.*\['cat'\]"):
        m.squad_f1(predictions=["cat"], references=["cat"])


def test_record_max_over_gold_entities():
    # same example as test_squad_f1_max_over_golds: F1 4/5, EM 0
    predictions, references = ["Denver Broncos team"], [["Broncos", "Denver Broncos"]]
    assert m.record_f1(predictions=predictions, references=references) == pytest.approx(0.8)
    assert m.record_exact_match(predictions=predictions, references=references) == 0.0
    # "The Broncos." -> "broncos" equals gold 1
    assert m.record_exact_match(predictions=["The Broncos."], references=references) == 1.0


# ---------------------------------------------------------------------------------------------
# NQ-open
# ---------------------------------------------------------------------------------------------

COMPOSED = "Caf\u00e9"  # "é" as one code point
DECOMPOSED = "cafe\u0301"  # "e" followed by a combining acute accent


def test_nq_exact_match_applies_nfd():
    # without NFD the two spellings differ even after SQuAD normalization
    assert m.normalize_answer(COMPOSED) != m.normalize_answer(DECOMPOSED)
    # NFD turns both into "cafe" + U+0301 -> equal -> 1/1
    assert m.nq_exact_match(predictions=[COMPOSED], references=[[DECOMPOSED]]) == 1.0
    # NFD does not strip accents: "cafe" vs "cafe" + U+0301 still differ -> 0/1
    assert m.nq_exact_match(predictions=["cafe"], references=[[COMPOSED]]) == 0.0


def test_nq_exact_match_any_reference():
    # example 1 matches the second reference "jfk"; example 2 matches none -> 1/2
    predictions = ["JFK", "Lincoln"]
    references = [["John F. Kennedy", "jfk"], ["George Washington"]]
    assert m.nq_exact_match(predictions=predictions, references=references) == 0.5


def test_nq_exact_match_rejects_missing_golds():
    with pytest.raises(ValueError, match="no gold answers"):
        m.nq_exact_match(predictions=["x"], references=[[]])


# ---------------------------------------------------------------------------------------------
# MultiRC and AX-g
# ---------------------------------------------------------------------------------------------

MULTIRC_PREDICTIONS = [1, 0, 1, 1, 0]
MULTIRC_REFERENCES = [1, 0, 1, 0, 0]
MULTIRC_GROUPS = ["a", "b", "a", "b", "c"]  # question ids; the options of a question are not adjacent


def test_multirc_exact_match_groups_by_question():
    # question a: options 0, 2 both right -> correct
    # question b: option 1 right, option 3 wrong -> wrong
    # question c: option 4 right -> correct; EM = 2/3 (per-option accuracy would be 4/5)
    score = m.multirc_exact_match(predictions=MULTIRC_PREDICTIONS, references=MULTIRC_REFERENCES, groups=MULTIRC_GROUPS)
    assert score == pytest.approx(2 / 3)


def test_multirc_f1a_over_all_options():
    # TP = 2 (0, 2), FP = 1 (3), FN = 0: P = 2/3, R = 1, F1 = 2*(2/3) / (5/3) = 4/5
    assert m.multirc_f1a(predictions=MULTIRC_PREDICTIONS, references=MULTIRC_REFERENCES) == pytest.approx(0.8)


def test_gender_parity():
    # pairs 0: (1, 1) consistent; 1: (0, 1) not; 2: (0, 0) consistent -> 2/3
    assert m.gender_parity(predictions=[1, 1, 0, 1, 0, 0], groups=[0, 0, 1, 1, 2, 2]) == pytest.approx(2 / 3)
    # pairs need not be adjacent: groups x = (1, 1), y = (0, 1) -> 1/2
    assert m.gender_parity(predictions=[1, 0, 1, 1], groups=["x", "y", "x", "y"]) == 0.5


@pytest.mark.parametrize("groups", [[0, 0, 1], [0, 0, 0]])
def test_gender_parity_rejects_groups_that_are_not_pairs(groups):
    with pytest.raises(ValueError, match="expected 2"):
        m.gender_parity(predictions=[1, 1, 1], groups=groups)


# ---------------------------------------------------------------------------------------------
# shared contract: the table, return types, empty and mismatched input
# ---------------------------------------------------------------------------------------------

EXPECTED_IDS = {
    "accuracy",
    "f1_binary",
    "f1_macro",
    "matthews_correlation",
    "pearson",
    "spearmanr",
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
}

# valid three-example inputs for every input name a metric may require
SAMPLE_INPUTS = {
    "accuracy": {"predictions": [1, 0, 1], "references": [1, 1, 0]},
    "f1_binary": {"predictions": [1, 0, 1], "references": [1, 1, 0]},
    "f1_macro": {"predictions": [0, 1, 2], "references": [0, 2, 2]},
    "matthews_correlation": {"predictions": [1, 0, 1], "references": [1, 1, 0]},
    "pearson": {"predictions": [0.1, 0.4, 0.3], "references": [1.0, 2.0, 3.0]},
    "spearmanr": {"predictions": [0.1, 0.4, 0.3], "references": [1.0, 2.0, 3.0]},
    "squad_exact_match": {"predictions": ["a b", "c", ""], "references": [["b"], ["c"], ["d", "."]]},
    "squad_f1": {"predictions": ["a b", "c", ""], "references": [["b"], ["c"], ["d", "."]]},
    "squad_v2_exact_match": {"predictions": ["a b", "c", ""], "references": [["b"], ["c"], []]},
    "squad_v2_f1": {"predictions": ["a b", "c", ""], "references": [["b"], ["c"], []]},
    "nq_exact_match": {"predictions": ["x", "y", "z"], "references": [["x"], ["q"], ["z"]]},
    "multirc_f1a": {"predictions": [1, 0, 1], "references": [1, 1, 0]},
    "multirc_exact_match": {"predictions": [1, 0, 1], "references": [1, 1, 1], "groups": [0, 0, 1]},
    "record_exact_match": {"predictions": ["a b", "c", "d"], "references": [["b"], ["c"], ["e"]]},
    "record_f1": {"predictions": ["a b", "c", "d"], "references": [["b"], ["c"], ["e"]]},
    "gender_parity": {"predictions": [1, 1, 0, 1], "groups": [0, 0, 1, 1]},
}


def test_table_lists_every_metric_under_its_function_id():
    assert set(m.METRICS) == EXPECTED_IDS
    for name, metric in m.METRICS.items():
        assert metric.name == name == metric.fn.__name__


def test_metric_inputs_name_the_extra_keyword_arguments():
    assert m.METRICS["accuracy"].inputs == ("predictions", "references")
    assert m.METRICS["f1_macro"].inputs == ("predictions", "references")  # labels is optional
    assert m.METRICS["multirc_exact_match"].inputs == ("predictions", "references", "groups")
    assert m.METRICS["gender_parity"].inputs == ("predictions", "groups")


def test_get_metric_miss_names_a_close_match():
    assert m.get_metric("spearmanr") is m.METRICS["spearmanr"]
    with pytest.raises(UserError, match=r"unknown metric 'f1macro' \(task cb\); did you mean 'f1_macro'"):
        m.get_metric("f1macro", where="task cb")


@pytest.mark.parametrize("name", sorted(EXPECTED_IDS))
def test_returns_a_plain_float_in_range(name):
    metric = m.METRICS[name]
    value = metric(**SAMPLE_INPUTS[name])
    assert type(value) is float
    low = -1.0 if name in {"matthews_correlation", "pearson", "spearmanr"} else 0.0
    assert low <= value <= 1.0


@pytest.mark.parametrize("name", sorted(EXPECTED_IDS))
def test_empty_input_raises(name):
    empty = {key: [] for key in m.METRICS[name].inputs}
    with pytest.raises(ValueError, match="no examples"):
        m.METRICS[name](**empty)


@pytest.mark.parametrize("name", sorted(EXPECTED_IDS))
def test_mismatched_lengths_raise_naming_both(name):
    inputs = dict(SAMPLE_INPUTS[name])
    inputs["predictions"] = inputs["predictions"][:2]
    length = len(next(v for k, v in inputs.items() if k != "predictions"))
    with pytest.raises(ValueError, match=rf"2 predictions, {length} "):
        m.METRICS[name](**inputs)


def test_import_is_cheap():
    code = (
        "import sys, harness.metrics; "
        "print(sorted(k for k in ('torch', 'sklearn', 'scipy', 'numpy') if k in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def test_a_mean_metric_is_the_mean_of_its_per_example_values_and_others_have_none():
    from harness.metrics import METRICS, PER_EXAMPLE_METRICS, per_example

    answers = (["The Cat.", "", "dog", "caf\u00e9"], [["cat", "kitten"], [], ["a dog", "bird"], ["Cafe\u0301"]])
    for name in sorted(PER_EXAMPLE_METRICS - {"accuracy"}):
        if name in ("squad_exact_match", "squad_f1", "record_exact_match", "record_f1", "nq_exact_match"):
            preds, refs = answers[0][::2] + answers[0][3:], answers[1][::2] + answers[1][3:]  # every gold list filled
        else:
            preds, refs = answers
        values = per_example(name, preds, refs)
        assert len(values) == len(preds) and sum(values) / len(values) == METRICS[name](
            predictions=preds, references=refs
        )
    assert per_example("accuracy", [1, 0, 1], [1, 1, 1]) == [1.0, 0.0, 1.0]
    assert per_example("matthews_correlation", [1, 0], [1, 0]) is None
