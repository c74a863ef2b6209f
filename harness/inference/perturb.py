"""A seeded perturbation suite for classification inputs: typos, word swaps, casing and punctuation (issue 15).

The four kinds follow the character- and word-level noise of the robustness checklists: CheckList's invariance
perturbations (Ribeiro et al. 2020, "Beyond Accuracy: Behavioral Testing of NLP Models with CheckList", ACL:
typos by swapping adjacent characters, punctuation added or removed) and the character edits of Belinkov & Bisk
2018 ("Synthetic and natural noise both break neural machine translation", ICLR: swap, drop, duplicate ... of
letters inside a word); the issue asks for them at a stated rate on compressed models, whose robustness
Xu et al. 2021 ("Beyond Preserved Accuracy", EMNLP) found lower than their teachers'.

Words are the text's whitespace-separated tokens; the whitespace between them is kept as it is. Each word the
kind applies to (its *eligible* words, `eligible_words`) is picked independently with probability `rate`, and a
picked word is always changed, so a text changes exactly when at least one eligible word is picked:
P(changed) = 1 - (1 - rate) ** eligible. A text with no eligible word is returned unchanged.

- typo: in a word of at least two letters, swap two adjacent, different letters, drop a letter, or duplicate
  one (chosen at random among those that apply); the word count stays.
- word_swap: swap the word with the next one, where the two differ; a swap moves two words, and the word after
  a swap is not picked again (so no swap undoes another); the multiset of words stays.
- case: flip the case of every cased letter of a word ("good" -> "GOOD", "Paris" -> "pARIS"); the lowercased
  text stays.
- punctuation: in a word holding a punctuation mark, remove one or insert one (even odds); in another word,
  insert one at its end. A word that was only that mark is removed with the space before it (the space after
  it for the first word); letters stay.

Determinism: the random stream of one text is seeded from sha256 over (seed, example id, kind, rate), and only
`random.Random.random()` is drawn from it, the one method whose sequence Python guarantees across versions for
the same seed (the `random` module's documentation, "Notes on Reproducibility").
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import string
from typing import Callable, Hashable, Literal, Sequence

__all__ = ["DEFAULT_RATE", "DEFAULT_SEED", "KINDS", "PerturbationKind", "eligible_words", "perturb", "perturb_rows"]

PerturbationKind = Literal["typo", "word_swap", "case", "punctuation"]
KINDS: tuple[str, ...] = ("typo", "word_swap", "case", "punctuation")
DEFAULT_RATE = 0.1
"""A tenth of each text's eligible words, the rate the issue's example states; every record states its own rate."""
DEFAULT_SEED = 0
"""The suite's seed when none is given; every record states its own."""

TYPO_MIN_LETTERS = 2
"""A typo needs two letters: one to swap with, or one left after a drop (so the word count stays)."""
PUNCTUATION_MARKS = ",.;:!?'-"
"""Marks inserted by the punctuation perturbation: the common sentence punctuation of English text."""
_PUNCTUATION = frozenset(string.punctuation)
_SEED_BYTES = 16
"""128 bits of the sha256 digest seed the stream (random.Random takes an int of any size)."""
_SPACE = re.compile(r"(\s+)")


def _seeded(seed: int, example_id: Hashable, kind: str, rate: float) -> random.Random:
    """The random stream of one text: seeded from sha256 over (seed, example id, kind, rate), never hash()."""
    payload = json.dumps([seed, str(example_id), kind, repr(float(rate))], separators=(",", ":"))
    return random.Random(int.from_bytes(hashlib.sha256(payload.encode("utf-8")).digest()[:_SEED_BYTES], "big"))


def _pick(rng: random.Random, count: int) -> int:
    """A uniform index in [0, count) from rng.random() alone (randrange's sequence may change across versions)."""
    return min(int(rng.random() * count), count - 1)


def _flip_case(char: str) -> str:
    """The other case of a letter, or the letter itself where that is not one character with the same lowercase."""
    flipped = char.lower() if char.isupper() else char.upper()
    if len(flipped) == 1 and flipped != char and flipped.lower() == char.lower():
        return flipped
    return char


def _letters(word: str) -> list[int]:
    """Positions of the word's letters."""
    return [i for i, c in enumerate(word) if c.isalpha()]


def _typo_applies(word: str) -> bool:
    return len(_letters(word)) >= TYPO_MIN_LETTERS


def _case_applies(word: str) -> bool:
    return any(_flip_case(c) != c for c in word)


def _typo(word: str, rng: random.Random) -> str:
    """Swap two adjacent different letters, drop a letter or duplicate one, at random among those that apply."""
    letters = _letters(word)
    swaps = [i for i in letters if i + 1 < len(word) and word[i + 1].isalpha() and word[i + 1] != word[i]]
    operations = ["drop", "duplicate"] + (["swap"] if swaps else [])
    operation = operations[_pick(rng, len(operations))]
    if operation == "swap":
        i = swaps[_pick(rng, len(swaps))]
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    i = letters[_pick(rng, len(letters))]
    if operation == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def _case(word: str, rng: random.Random) -> str:
    """Every cased letter of the word in its other case."""
    return "".join(_flip_case(c) for c in word)


def _punctuation(word: str, rng: random.Random) -> str:
    """Remove one of the word's punctuation marks, or insert one at its end; "" when the word was only that mark."""
    marks = [i for i, c in enumerate(word) if c in _PUNCTUATION]
    if marks and rng.random() < 0.5:
        i = marks[_pick(rng, len(marks))]
        return word[:i] + word[i + 1 :]
    return word + PUNCTUATION_MARKS[_pick(rng, len(PUNCTUATION_MARKS))]


_WORD_EDITS: dict[str, tuple[Callable[[str], bool], Callable[[str, random.Random], str]]] = {
    "typo": (_typo_applies, _typo),
    "case": (_case_applies, _case),
    "punctuation": (lambda word: True, _punctuation),
}


def _check(kind: str, rate: float) -> None:
    """Raise ValueError for an unknown kind or a rate outside [0, 1]."""
    if kind not in KINDS:
        raise ValueError(f"perturbation {kind!r}: expected one of {', '.join(KINDS)}")
    if not (isinstance(rate, (int, float)) and math.isfinite(rate) and 0.0 <= rate <= 1.0):
        raise ValueError(f"perturbation rate {rate!r}: expected a share of words in [0, 1], e.g. 0.1")


def _split(text: str) -> tuple[list[str], list[int]]:
    """The text as alternating pieces (words at even places, whitespace between) and the places of its words."""
    pieces = _SPACE.split(text)
    return pieces, [i for i in range(0, len(pieces), 2) if pieces[i]]


def _eligible(kind: str, pieces: list[str], places: list[int]) -> list[int]:
    """The places of the words `kind` applies to (word_swap: a word whose next word differs)."""
    if kind == "word_swap":
        return [a for a, b in zip(places, places[1:]) if pieces[a] != pieces[b]]
    applies = _WORD_EDITS[kind][0]
    return [i for i in places if applies(pieces[i])]


def eligible_words(text: str, kind: PerturbationKind) -> int:
    """How many words of `text` the perturbation applies to: P(text changes) = 1 - (1 - rate) ** this.

    >>> eligible_words("it 's a charming film .", "typo"), eligible_words("a a b", "word_swap")
    (3, 1)
    """
    _check(kind, 0.0)
    pieces, places = _split(text)
    return len(_eligible(kind, pieces, places))


def _remove_emptied(pieces: list[str], places: list[int]) -> str:
    """Join the pieces, dropping each emptied word with the space before it (after it for the first word)."""
    kept = [place for place in places if pieces[place]]
    prefix, suffix = "".join(pieces[: places[0]]), "".join(pieces[places[-1] + 1 :])
    if not kept:
        return prefix + suffix
    between = "".join(pieces[place - 1] + pieces[place] for place in kept[1:])  # each word after its own space
    return prefix + pieces[kept[0]] + between + suffix


def perturb(text: str, kind: PerturbationKind, rate: float, seed: int, example_id: Hashable) -> str:
    """`text` with each eligible word perturbed with probability `rate`; the same for the same (seed, id, kind, rate).

    >>> perturb("the film is good", "case", 1.0, seed=0, example_id=7)
    'THE FILM IS GOOD'
    >>> perturb("the film is good", "word_swap", 0.0, seed=0, example_id=7)
    'the film is good'
    """
    _check(kind, rate)
    rng = _seeded(seed, example_id, kind, rate)
    pieces, places = _split(text)
    eligible = _eligible(kind, pieces, places)
    picked = [place for place in eligible if rng.random() < rate]  # one draw per eligible word, always
    if not picked:
        return text
    if kind == "word_swap":
        following = dict(zip(places, places[1:]))
        consumed: set[int] = set()
        for place in picked:
            if place not in consumed:
                after = following[place]
                pieces[place], pieces[after] = pieces[after], pieces[place]
                consumed.add(after)
        return "".join(pieces)
    edit = _WORD_EDITS[kind][1]
    for place in picked:
        pieces[place] = edit(pieces[place], rng)
    return _remove_emptied(pieces, places) if kind == "punctuation" else "".join(pieces)


def perturb_rows(
    texts: Sequence[str],
    kind: PerturbationKind,
    rate: float,
    seed: int,
    example_ids: Sequence[Hashable] | None = None,
) -> tuple[list[str], float]:
    """Every text perturbed (example ids default to the row positions) and the share of texts that changed."""
    _check(kind, rate)
    if not texts:
        raise ValueError("perturb_rows: no texts; the share of changed inputs over zero texts is undefined")
    ids: Sequence[Hashable] = range(len(texts)) if example_ids is None else example_ids
    if len(ids) != len(texts):
        raise ValueError(f"perturb_rows: {len(texts)} texts but {len(ids)} example ids; pass one id per text")
    out = [perturb(text, kind, rate, seed, example_id) for text, example_id in zip(texts, ids)]
    changed = sum(new != old for new, old in zip(out, texts))
    return out, changed / len(texts)
