"""Retrieval for open-domain QA: the passages a retriever + reader submission packages, and a TF-IDF index.

The submission ships its passages as `passages.jsonl` ({"id", "text"} per line) in its model folder, so
their bytes count toward its system size; the index is built from them when the model loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from harness.errors import UserError
from harness.tasks.files import json_lines

PASSAGES_FILE = "passages.jsonl"


def read_passages(folder: Path) -> list[str]:
    """The passage texts of a retriever + reader model folder, in file order."""
    path = Path(folder) / PASSAGES_FILE
    if not path.is_file():
        raise UserError(
            f"{folder}: a retriever_reader model needs its passages in {PASSAGES_FILE} "
            '(one {"id": ..., "text": ...} per line)'
        )
    texts = []
    for where, obj in json_lines(path, '{"id": ..., "text": ...}'):
        if not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise UserError(f"{where}: field 'text' must be a non-empty string")
        texts.append(obj["text"])
    if not texts:
        raise UserError(f"{path}: no passages")
    return texts


class TfidfRetriever:
    """Cosine similarity of TF-IDF vectors (scikit-learn, unigrams and bigrams, English stop words kept)."""

    def __init__(self, passages: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        self.matrix = self.vectorizer.fit_transform(passages)

    def top_k(self, questions: Sequence[str], k: int) -> list[list[int]]:
        """Indices of the `k` best passages per question, best first (ties: the earlier passage)."""
        import numpy as np

        scores = (self.vectorizer.transform(questions) @ self.matrix.T).toarray()
        k = min(k, scores.shape[1])
        return [list(np.argsort(-row, kind="stable")[:k]) for row in scores]
