"""Batched inference with dynamic padding: sequences sorted by length, padded per batch only.

Sorting changes nothing but speed: outputs come back in input order, and token-level outputs are cut
to each sequence's own length, so results equal unbatched inference (tests/test_batching.py).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from harness.backends.base import Model
from harness.errors import UserError

T = TypeVar("T")

TOKEN_LEVEL = ("start_logits", "end_logits")


def run_batched(
    model: Model,
    encodings: Sequence[dict[str, list[int]]],
    batch_size: int = 32,
    sort: bool = True,
    desc: str = "",
    progress: bool = False,
) -> list[dict[str, np.ndarray]]:
    """Forward every encoded sequence; returns one dict of outputs per sequence, in input order."""

    def forward(batch: dict[str, np.ndarray], idx: Sequence[int]) -> list[dict[str, np.ndarray]]:
        out = model.forward(batch)
        lengths = [len(encodings[i]["input_ids"]) for i in idx]
        return [
            {k: (v[row, :n] if k in TOKEN_LEVEL else v[row]) for k, v in out.items()} for row, n in enumerate(lengths)
        ]

    return map_batches(model, encodings, forward, batch_size, sort, desc, progress)


def map_batches(
    model: Model,
    encodings: Sequence[dict[str, list[int]]],
    call: Callable[[dict[str, np.ndarray], Sequence[int]], Sequence[T]],
    batch_size: int = 32,
    sort: bool = True,
    desc: str = "",
    progress: bool = False,
    unit: str = "ex",
) -> list[T]:
    """`call(padded batch, its input indices)` over batches (shortest sequences first when `sort`): one result
    per sequence, in input order."""
    if batch_size < 1:
        raise UserError(f"batch size must be >= 1, got {batch_size}")
    order = list(range(len(encodings)))
    if sort:
        order.sort(key=lambda i: len(encodings[i]["input_ids"]))
    results: list[Any] = [None] * len(encodings)
    bar = _bar(len(encodings), desc, progress, unit)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        got = call(pad([encodings[i] for i in idx], model.tokenizer), idx)
        if len(got) != len(idx):
            raise RuntimeError(f"{len(got)} results for a batch of {len(idx)} sequences")
        for i, value in zip(idx, got):
            results[i] = value
        if bar is not None:
            bar.update(len(idx))
    if bar is not None:
        bar.close()
    return results


def pad(features: Sequence[dict[str, list[int]]], tokenizer: Any) -> dict[str, np.ndarray]:
    """Right-pad a batch to its longest sequence (the tokenizer's pad id; mask and type ids 0)."""
    width = max(len(f["input_ids"]) for f in features)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: dict[str, np.ndarray] = {}
    for key in features[0]:
        if key not in ("input_ids", "attention_mask", "token_type_ids"):
            continue
        fill = pad_id if key == "input_ids" else 0
        arr = np.full((len(features), width), fill, dtype=np.int64)
        for r, f in enumerate(features):
            arr[r, : len(f[key])] = f[key]
        out[key] = arr
    if "attention_mask" not in out:
        mask = np.zeros((len(features), width), dtype=np.int64)
        for r, f in enumerate(features):
            mask[r, : len(f["input_ids"])] = 1
        out["attention_mask"] = mask
    return out


def _bar(total: int, desc: str, enabled: bool, unit: str = "ex") -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc or "inference", unit=unit, dynamic_ncols=True, leave=False)
