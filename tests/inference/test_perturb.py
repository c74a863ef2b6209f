"""The seeded perturbation suite: deterministic for a seed, the expected share of real sentences changed at a rate,
and each kind changing only what it says."""

import math
import os
import string
import subprocess
import sys
from collections import Counter

import pytest

from harness.inference.perturb import KINDS, eligible_words, perturb, perturb_rows
from harness.tasks.files import read_tsv

SENTENCES = 1000
RATE = 0.1
TOLERANCE_SD = 4
"""The changed share may stray this many standard deviations from its expectation (a two-sided 4-sigma band: a
correct implementation fails it with probability about 6e-5 per kind)."""
LONG_TEXT = " ".join(
    "the quick brown fox jumps over the lazy dog , while a patient heron waits by the river for its supper ."
    for _ in range(4)
)


@pytest.fixture(scope="module")
def sentences(mirror):
    """The first 1,000 SST-2 dev sentences: ELUE's copy of SST's dev split (1,101 sentences, cased; GLUE's SST-2 dev
    in the mirror holds only 872, lowercased)."""
    rows = read_tsv(mirror / "elue" / "SST-2" / "dev.tsv")
    texts = [row["sentence"] for row in rows[:SENTENCES]]  # type: ignore[call-overload]
    assert len(texts) == SENTENCES
    return texts


def words(text):
    return text.split()


def letters(text):
    return [c for c in text if c.isalpha() or c.isdigit()]


# eligible words by word counts, written out independently of the module
EXPECTED_ELIGIBLE = {
    "typo": lambda ws: sum(sum(c.isalpha() for c in w) >= 2 for w in ws),
    "word_swap": lambda ws: sum(a != b for a, b in zip(ws, ws[1:])),
    "case": lambda ws: sum(any(c.isalpha() and c.upper() != c.lower() for c in w) for w in ws),
    "punctuation": len,
}


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_for_a_seed_and_different_across_seeds(kind):
    once = perturb(LONG_TEXT, kind, 0.3, seed=11, example_id="ex-1")
    assert once != LONG_TEXT
    assert perturb(LONG_TEXT, kind, 0.3, seed=11, example_id="ex-1") == once
    assert perturb(LONG_TEXT, kind, 0.3, seed=12, example_id="ex-1") != once
    assert perturb(LONG_TEXT, kind, 0.3, seed=11, example_id="ex-2") != once
    code = (
        "import sys; from harness.inference.perturb import perturb; "
        f"sys.stdout.write(perturb({LONG_TEXT!r}, {kind!r}, 0.3, seed=11, example_id='ex-1'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "987"},  # another str hash() salt
    )
    assert out.stdout == once


def test_perturb_rows_matches_perturb_and_counts_changes():
    texts = [LONG_TEXT, "!!!", "ok then"]
    out, share = perturb_rows(texts, "typo", 1.0, seed=3)
    assert out == [perturb(text, "typo", 1.0, 3, i) for i, text in enumerate(texts)]
    assert out[1] == "!!!"  # no word with two letters: returned unchanged, and counted unchanged
    assert share == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no texts"):
        perturb_rows([], "typo", 0.1, seed=0)
    with pytest.raises(ValueError, match="2 texts but 1 example ids"):
        perturb_rows(["a", "b"], "typo", 0.1, seed=0, example_ids=["x"])


@pytest.mark.parametrize("kind", KINDS)
def test_changed_share_of_real_sentences_matches_the_expectation(kind, sentences):
    out, share = perturb_rows(sentences, kind, RATE, seed=2026)
    # a text changes when at least one of its eligible words is picked: P = 1 - (1 - rate) ** eligible
    probs = [1 - (1 - RATE) ** EXPECTED_ELIGIBLE[kind](words(text)) for text in sentences]
    assert [eligible_words(text, kind) for text in sentences] == [EXPECTED_ELIGIBLE[kind](words(t)) for t in sentences]
    expected = sum(probs) / len(probs)
    sd = math.sqrt(sum(p * (1 - p) for p in probs)) / len(probs)
    assert abs(share - expected) <= TOLERANCE_SD * sd, (kind, share, expected, sd)
    assert share == sum(a != b for a, b in zip(out, sentences)) / len(sentences)


@pytest.mark.parametrize("kind", KINDS)
def test_rate_zero_changes_nothing(kind, sentences):
    out, share = perturb_rows(sentences[:200], kind, 0.0, seed=5)
    assert out == sentences[:200] and share == 0.0


@pytest.mark.parametrize("seed", range(20))
def test_each_kind_changes_only_what_it_says(seed, sentences):
    for text in sentences[seed * 10 : seed * 10 + 10] + [LONG_TEXT, "A  B\tc . ", " . hello ."]:
        case = perturb(text, "case", 0.5, seed, text)
        assert case.lower() == text.lower()
        punctuation = perturb(text, "punctuation", 0.5, seed, text)
        assert letters(punctuation) == letters(text)
        assert all(c in string.punctuation for c in (Counter(punctuation) - Counter(text)))
        swapped = perturb(text, "word_swap", 0.5, seed, text)
        assert Counter(words(swapped)) == Counter(words(text))
        typo = perturb(text, "typo", 0.5, seed, text)
        assert len(words(typo)) == len(words(text))
        assert [c for c in typo if not c.isalpha()] == [c for c in text if not c.isalpha()]


def test_rate_one_perturbs_every_eligible_word():
    text = "Good film , bad ending"
    assert perturb(text, "case", 1.0, 0, 0) == "gOOD FILM , BAD ENDING"
    typo = perturb(text, "typo", 1.0, 0, 0)
    assert all(a != b for a, b in zip(words(typo), words(text)) if a.isalpha())
    assert words(perturb("a b c d", "word_swap", 1.0, 0, 0)) == ["b", "a", "d", "c"]  # disjoint swaps: none undone


def test_texts_with_nothing_to_perturb_are_unchanged():
    assert perturb("a b", "typo", 1.0, 0, 0) == "a b"  # one-letter words: no typo keeps the word count
    assert perturb("same same same", "word_swap", 1.0, 0, 0) == "same same same"
    assert perturb("123 , 456", "case", 1.0, 0, 0) == "123 , 456"
    assert perturb("", "punctuation", 1.0, 0, 0) == ""


def test_bad_kind_or_rate_refused():
    with pytest.raises(ValueError, match="perturbation 'synonym'"):
        perturb("a b", "synonym", 0.1, 0, 0)  # type: ignore[arg-type]
    for rate in (-0.1, 1.5, math.nan):
        with pytest.raises(ValueError, match="rate"):
            perturb("a b", "typo", rate, 0, 0)
