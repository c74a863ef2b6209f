"""Extractive QA: the span search on hand-made logits, and predict with a tiny QA BERT on SQuAD rows."""

import numpy as np
import pytest

from harness.backends import load_model
from harness.inference.formulations import EvalSettings
from harness.inference.formulations.extractive import Window, best_span, predict, tokenize_windows
from harness.tasks import get_task
from harness.tasks.data import load_rows

# [CLS] q q [SEP] then the six context words, then [SEP]: context tokens are indices 4..9.
CONTEXT = "alpha beta gamma delta epsilon zeta"
WORDS = CONTEXT.split()
FIRST_CONTEXT_TOKEN = 4
LENGTH = FIRST_CONTEXT_TOKEN + len(WORDS) + 1
LOW = -10.0


def _offsets(words=WORDS, first=0):
    """Character spans of `words` (a slice of CONTEXT starting at word `first`) laid out as a window."""
    spans, pos = [], 0
    for w in WORDS:
        spans.append((CONTEXT.index(w, pos), CONTEXT.index(w, pos) + len(w)))
        pos = spans[-1][1]
    chosen = spans[first : first + len(words)]
    return np.array([(0, 0), (0, 1), (2, 3), (0, 0)] + chosen + [(0, 0)], dtype=np.int64)


def window(starts: dict, ends: dict, words=WORDS, first=0, cls=(0.0, 0.0)) -> Window:
    """A window whose logits are LOW except at the given token indices."""
    n = FIRST_CONTEXT_TOKEN + len(words) + 1
    start, end = np.full(n, LOW), np.full(n, LOW)
    start[0], end[0] = cls
    for i, v in starts.items():
        start[i] = v
    for i, v in ends.items():
        end[i] = v
    in_context = np.zeros(n, dtype=bool)
    in_context[FIRST_CONTEXT_TOKEN : FIRST_CONTEXT_TOKEN + len(words)] = True
    return Window(start, end, _offsets(words, first), in_context)


def tok(word_index: int) -> int:
    return FIRST_CONTEXT_TOKEN + word_index


def test_best_span_maps_tokens_to_context_characters():
    answer = best_span(CONTEXT, [window({tok(1): 5.0}, {tok(2): 5.0})])
    assert answer.text == "beta gamma"
    assert CONTEXT[answer.start_char : answer.end_char] == answer.text
    assert answer.score == 10.0


def test_max_answer_length_rejects_long_spans():
    w = window({tok(0): 5.0, tok(3): 1.0}, {tok(5): 5.0})
    assert best_span(CONTEXT, [w], max_answer_length=6).text == CONTEXT
    assert best_span(CONTEXT, [w], max_answer_length=3).text == "delta epsilon zeta"


def test_end_before_start_is_rejected():
    w = window({tok(4): 9.0, tok(1): 1.0}, {tok(2): 9.0})
    assert best_span(CONTEXT, [w]).text == "beta gamma"


def test_span_outside_the_context_is_rejected():
    w = window({1: 20.0, tok(2): 1.0}, {2: 20.0, tok(3): 1.0, LENGTH - 1: 30.0})
    assert best_span(CONTEXT, [w]).text == "gamma delta"


def test_only_n_best_candidates_are_searched():
    # The only valid start is ranked third among start logits: with n_best=2 nothing valid remains.
    w = window({1: 9.0, 2: 8.0, tok(0): 1.0}, {tok(0): 1.0})
    assert best_span(CONTEXT, [w], n_best=3).text == "alpha"
    assert best_span(CONTEXT, [w], n_best=2).text == ""


def test_best_span_across_two_windows():
    first = window({tok(0): 3.0}, {tok(1): 3.0}, WORDS[:4], 0)
    second = window({tok(1): 4.0}, {tok(2): 4.0}, WORDS[2:], 2)  # tok(1), tok(2) are delta, epsilon here
    answer = best_span(CONTEXT, [first, second])
    assert answer.window == 1
    assert answer.text == "delta epsilon"
    assert best_span(CONTEXT, [second, first]).window == 0
    # Equal scores: the earlier window wins.
    tied = window({tok(1): 3.0}, {tok(1): 3.0}, WORDS[2:], 2)
    assert best_span(CONTEXT, [first, tied]).text == "alpha beta"


@pytest.mark.parametrize("threshold,expected", [(0.0, ""), (3.0, "gamma")])
def test_v2_null_threshold_both_ways(threshold, expected):
    # Best span scores 4; the null score is min over windows of start[CLS] + end[CLS] = 6: difference 2.
    windows = [window({tok(2): 2.0}, {tok(2): 2.0}, cls=(3.0, 3.0)), window({}, {}, cls=(4.0, 4.0))]
    answer = best_span(CONTEXT, windows, allow_null=True, null_threshold=threshold)
    assert answer.text == expected
    assert answer.null_score == 6.0
    # Without the v2.0 rule the span is always returned.
    assert best_span(CONTEXT, windows, null_threshold=threshold).text == "gamma"


def test_v2_no_valid_span_means_no_answer():
    w = window({1: 5.0}, {2: 5.0}, cls=(-50.0, -50.0))
    assert best_span(CONTEXT, [w], n_best=1, allow_null=True).text == ""


SMALL = EvalSettings(max_length=64, doc_stride=16, batch_size=4)


@pytest.fixture(scope="module")
def squad_rows(mirror):
    rows = load_rows(get_task("squad"), mirror)
    longest = max(rows[:500], key=lambda r: len(r["context"]))
    return rows[:4] + [longest]


@pytest.fixture
def qa_model(tiny_bert):
    return load_model(tiny_bert("question_answering"), "question_answering")


def test_predict_returns_context_substrings_and_equals_unbatched(squad_rows, qa_model):
    task = get_task("squad")
    long_row = squad_rows[-1]
    enc = tokenize_windows(qa_model, [long_row["question"]], [long_row["context"]], SMALL.max_length, SMALL.doc_stride)
    assert len(enc["input_ids"]) >= 3  # the long context needs several windows
    preds = predict(task, qa_model, squad_rows, SMALL)
    assert set(preds) == {r["id"] for r in squad_rows}
    for row in squad_rows:
        assert preds[row["id"]] and preds[row["id"]] in row["context"]
    single = EvalSettings(max_length=64, doc_stride=16, batch_size=1, sort_by_length=False)
    assert predict(task, qa_model, squad_rows, single) == preds


def test_predict_v2_null_threshold(squad_rows, qa_model):
    v1 = predict(get_task("squad"), qa_model, squad_rows, SMALL)
    v2 = get_task("squad_v2")
    never_null = EvalSettings(max_length=64, doc_stride=16, null_threshold=float("inf"))
    always_null = EvalSettings(max_length=64, doc_stride=16, null_threshold=float("-inf"))
    assert predict(v2, qa_model, squad_rows, never_null) == v1
    assert set(predict(v2, qa_model, squad_rows, always_null).values()) == {""}
