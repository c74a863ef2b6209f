"""The small interface every inference backend offers: a tokenizer, a forward pass, generation.

Formulations talk only to this, so an ONNX Runtime backend can sit beside the PyTorch one.
Inputs and outputs are numpy arrays, keyed by the names Hugging Face models use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.backends.heads import HEADS_TABLE

# What a model folder is loaded as, and the output its forward pass returns.
SAFE_WEIGHTS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth")  # weight files torch would unpickle


def weight_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's safetensors weight files and its pickle weight files, each sorted by name."""
    safe = sorted(folder.glob(f"*{SAFE_WEIGHTS_SUFFIX}"))
    pickled = sorted(p for suffix in PICKLE_SUFFIXES for p in folder.glob(f"*{suffix}"))
    return safe, pickled


HEADS = {h.name: h.output for h in HEADS_TABLE}  # head -> the forward output formulations read


@dataclass(frozen=True)
class LoadOptions:
    """How a backend may load a folder: pickle and remote code need an explicit opt-in."""

    allow_pickle: bool = False
    trust_remote_code: bool = False
    threads: int | None = None


class Model(Protocol):
    """A loaded model: what formulations call."""

    head: str
    folder: Any  # where the model was loaded from (a retriever_reader reads its passages there)
    tokenizer: Any
    id2label: dict[int, str]
    sequence_lengths: list[int]  # real length of every sequence the model has run (encoder input for seq2seq)

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one padded batch (input_ids, attention_mask, ...) and return numpy outputs."""
        ...

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """Decode answers for one padded batch (seq2seq heads)."""
        ...
