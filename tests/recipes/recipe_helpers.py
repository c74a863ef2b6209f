"""Shared by the recipe tests: a tiny base submission (a 4-layer, 4-head, 32-wide BERT, cosine head on STS-B),
compressing it, and loading what was written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import save_tiny_bert

from harness.submissions.compression import CompressionStep, make_step

LAYERS, HEADS, HIDDEN, INTERMEDIATE = 4, 4, 32, 64
HEAD_SIZE = HIDDEN // HEADS
TINY = dict(num_hidden_layers=LAYERS, num_attention_heads=HEADS)
# per-channel int8 of random 32-wide layers: the pooled STS-B embeddings keep this cosine to the fp32 ones
INT8_MIN_COSINE = 0.99
STSB_SENTENCES = 64


def write_base(folder: Path) -> Path:
    """A submission folder holding one tiny BertModel for STS-B with the cosine head."""
    save_tiny_bert(folder / "model", head="cosine", **TINY)
    (folder / "submission.yaml").write_text(
        "name: tiny base\nteam: harness tests\ncontact: tests@example.org\nmethods: [other]\n"
        "tasks:\n  stsb: {model: model, head: cosine}\n",
        encoding="utf-8",
    )
    return folder


def step(recipe: str, **params: Any) -> CompressionStep:
    """A checked chain step."""
    return make_step(recipe, params)


def compressed(base: Path, out: Path, *steps: CompressionStep, **options: Any) -> Path:
    """`harness compress` of `base` into `out` by `steps`; returns the submission folder."""
    from harness.recipes.pipeline import compress

    compress(base, out, list(steps), **options)
    return out


def module(folder: Path, head: str = "cosine") -> Any:
    """The torch module the torch backend loads from a model folder."""
    from harness.backends import load_model

    return load_model(folder, head).module


def params(folder: Path, head: str = "cosine") -> dict[str, Any]:
    """The backend's parameter count of a model folder."""
    from harness.backends import load_model

    return load_model(folder, head).count_params()


def layer_params() -> int:
    """Parameters of one tiny BERT layer: attention (q, k, v, output + LayerNorm) and feed-forward (+ LayerNorm)."""
    attention = 4 * (HIDDEN * HIDDEN + HIDDEN) + 2 * HIDDEN
    ffn = HIDDEN * INTERMEDIATE + INTERMEDIATE + INTERMEDIATE * HIDDEN + HIDDEN + 2 * HIDDEN
    return attention + ffn
