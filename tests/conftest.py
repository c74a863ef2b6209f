"""Shared fixtures: tiny models built in code (no hub), and the local data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
MIRROR = Path(os.environ.get("HARNESS_DATA_DIR") or SHARED / "data")
VOCAB = MIRROR / "vocab" / "bert-base-uncased-vocab.txt"
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=512)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local mirror of real evaluation data (HARNESS_DATA_DIR, else ../shared/data)."""
    if not (MIRROR / "MANIFEST.md").is_file():
        pytest.fail(f"no data mirror at {MIRROR}; set HARNESS_DATA_DIR to the shared data folder")
    return MIRROR


def _tokenizer():
    from transformers import BertTokenizer

    return BertTokenizer(vocab=str(VOCAB))


def save_tiny_bert(folder: Path, head: str = "sequence_classification", num_labels: int = 2, seed: int = 0,
                   **config) -> Path:
    """Write a tiny random BERT with the real uncased vocab, in save_pretrained layout."""
    import torch
    import transformers

    torch.manual_seed(seed)
    cfg = transformers.BertConfig(vocab_size=30522, num_labels=num_labels, **{**TINY, **config})
    cls = {"sequence_classification": transformers.BertForSequenceClassification,
           "cosine": transformers.BertModel,
           "multiple_choice": transformers.BertForMultipleChoice,
           "question_answering": transformers.BertForQuestionAnswering}[head]
    model = cls(cfg)
    model.save_pretrained(folder)
    _tokenizer().save_pretrained(folder)
    return folder


def save_tiny_t5(folder: Path, seed: int = 0) -> Path:
    """Write a tiny random T5 (seq2seq) with a BERT WordPiece tokenizer, in save_pretrained layout."""
    import torch
    import transformers

    torch.manual_seed(seed)
    tok = _tokenizer()
    cfg = transformers.T5Config(vocab_size=30522, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2,
                                decoder_start_token_id=tok.pad_token_id, pad_token_id=tok.pad_token_id,
                                eos_token_id=tok.sep_token_id)
    transformers.T5ForConditionalGeneration(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_bert(tmp_path: Path):
    """A factory: tiny_bert(head="sequence_classification", num_labels=2, **config) -> folder."""
    count = iter(range(1000))

    def make(head: str = "sequence_classification", num_labels: int = 2, **config) -> Path:
        return save_tiny_bert(tmp_path / f"model{next(count)}", head, num_labels, **config)

    return make
