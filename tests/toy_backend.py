"""A toy inference backend in one file, numpy only: a bag-of-words linear classifier over the BERT vocabulary.

It shows what a backend must offer for `harness evaluate`, `harness run` and every measurement to work
(harness.backends.base.Model); a test registers it with one line: `BACKENDS.add("toy", "toy_backend:load")`.
Its folder holds config.json, weights.npz (embedding [vocab, width], weight [width, labels], bias [labels]) and
the vocab.txt its WordPiece tokenizer reads. It counts its parameters (numpy arrays, each once) but no FLOPs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import CpuClock, LoadOptions
from harness.errors import UserError

HARDWARE = "cpu"  # the hardware class of its records: known before a model loads (it is part of a record's key)
WEIGHTS = "weights.npz"
WIDTH = 8
NOT_COUNTED = "the toy backend runs plain numpy: no FLOP counter sees its operations"


def save_toy(folder: Path, vocab: Path, num_labels: int = 2, seed: int = 0) -> Path:
    """Write a random toy classifier for `num_labels` labels, with the vocabulary file `vocab`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(vocab, folder / "vocab.txt")
    words = sum(1 for _ in vocab.open(encoding="utf-8"))
    rng = np.random.default_rng(seed)
    np.savez(
        folder / WEIGHTS,
        embedding=rng.normal(size=(words, WIDTH)).astype(np.float32),
        weight=rng.normal(size=(WIDTH, num_labels)).astype(np.float32),
        bias=np.zeros(num_labels, dtype=np.float32),
    )
    labels = {str(i): f"LABEL_{i}" for i in range(num_labels)}
    (folder / "config.json").write_text(json.dumps({"model_type": "toy-bow", "id2label": labels}), encoding="utf-8")
    return folder


class ToyModel:
    """Mean of the token embeddings, then a linear layer: logits for a sequence_classification head."""

    hardware = HARDWARE
    device = "cpu"

    def __init__(self, folder: Path, head: str, arrays: dict[str, np.ndarray], tokenizer: Any, labels: dict) -> None:
        self.folder = folder
        self.head = head
        self.arrays = arrays
        self.tokenizer = tokenizer
        self.id2label = {int(k): str(v) for k, v in labels.items()}
        self.sequence_lengths: list[int] = []
        self.clock = CpuClock()

    def _logits(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        mask = batch["attention_mask"].astype(np.float32)[..., None]
        pooled = (self.arrays["embedding"][batch["input_ids"]] * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
        return (pooled @ self.arrays["weight"] + self.arrays["bias"]).astype(np.float32)

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One padded batch: its real lengths are recorded, its logits returned."""
        self.sequence_lengths.extend(int(n) for n in batch["attention_mask"].sum(axis=1))
        return {"logits": self._logits(batch)}

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """A classifier generates nothing."""
        raise UserError("the toy backend has no seq2seq head")

    def synthetic_batch(
        self, batch_size: int, seq_len: int, *, seed: int = 0, attention_mask: bool = True
    ) -> dict[str, np.ndarray]:
        """Random token ids (fixed seed) past the special tokens, all real."""
        words = len(self.arrays["embedding"])
        ids = np.random.default_rng(seed).integers(min(5, words - 1), words, (batch_size, seq_len))
        batch = {"input_ids": ids}
        if attention_mask:
            batch["attention_mask"] = np.ones((batch_size, seq_len), dtype=np.int64)
        return batch

    def prepare(self, batch: dict[str, np.ndarray]) -> Callable[[], Any]:
        """The forward pass of `batch` without recording its lengths: what timed measurements call."""
        return lambda: self._logits(batch)

    @contextlib.contextmanager
    def measuring(self, threads: int | None = None) -> Iterator[None]:
        """Nothing to switch: numpy has no training mode, and its ops on these small arrays run on one thread."""
        yield

    def device_peak_bytes(self, reset: bool = False) -> int | None:
        """No device allocator: the model runs in host memory."""
        return None

    def count_params(self) -> dict[str, Any]:
        """Elements of the weights' arrays, each array once; the embedding array is the embedding."""
        sizes = {name: int(a.size) for name, a in self.arrays.items()}
        total = sum(sizes.values())
        return {
            "total_params": total,
            "embedding_params": sizes["embedding"],
            "non_embedding_params": total - sizes["embedding"],
            "params_by_dtype": {"float32": total},
            "tensor_bytes": sum(int(a.nbytes) for a in self.arrays.values()),
            "aliases": {},
            "method": f"elements of the numpy arrays in {WEIGHTS}, each array once; embedding = its `embedding` array",
        }

    def count_flops(self, seq_len: int, *, cross_check: bool = False) -> dict[str, Any]:
        """Not counted, with the reason."""
        return {"status": "not_counted", "reason": NOT_COUNTED}


def load(folder: str | Path, head: str, options: LoadOptions = LoadOptions()) -> ToyModel:
    """Load a toy folder for a sequence_classification head."""
    from harness.testing.tiny import bert_tokenizer

    path = Path(folder)
    if head != "sequence_classification":
        raise UserError(f"{path}: the toy backend has a sequence_classification head only, not {head}")
    if not (path / WEIGHTS).is_file():
        raise UserError(f"{path}: no {WEIGHTS}; write one with toy_backend.save_toy")
    with np.load(path / WEIGHTS) as data:
        arrays = {name: data[name] for name in data.files}
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    return ToyModel(path, head, arrays, bert_tokenizer(path / "vocab.txt"), config.get("id2label") or {})
