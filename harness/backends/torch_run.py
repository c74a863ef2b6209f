"""How the torch backend runs a module for measurements: synthetic inputs, calls, modes, threads and its clock.

Moved here from harness.measure (issue 12), so measurements never touch a torch module: they ask the backend
(harness.backends.torch_hf.TorchModel) for batches, prepared calls and counts, and the backend uses these.
Importing this module is light: torch is imported inside the functions that need it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.backends.base import CpuClock
from harness.backends.heads import class_head


class CudaClock(CpuClock):
    """Wall clock that first waits for queued CUDA kernels, so a call's time includes its GPU work."""

    name = "cuda: torch.cuda.synchronize + time.perf_counter"

    def now(self) -> float:
        import torch

        torch.cuda.synchronize()
        return time.perf_counter()


def module_inputs(head: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """A [batch, length] batch of tensors as the head's module takes it: a multiple-choice module wants
    [batch, options, length], and each sequence is one option."""
    if head == "multiple_choice":
        return {k: v.unsqueeze(1) for k, v in inputs.items()}
    return inputs


def module_head(model: Any) -> str | None:
    """The head a torch module's class stands for (BertForMultipleChoice -> multiple_choice), else None."""
    return class_head(type(model).__name__)


@contextmanager
def eval_mode(*models: Any) -> Iterator[None]:
    """The models in eval mode for the block (no dropout), each put back in its own training mode afterwards."""
    modes = [getattr(m, "training", False) for m in models]
    for m in models:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(models, modes):
            m.train(training)


@contextmanager
def fixed_threads(threads: int) -> Iterator[None]:
    """Set torch's intra-op thread count for the block and restore the previous one afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_device(model: Any) -> Any:
    """The device of the model's first parameter or buffer (CPU when it has none)."""
    import torch

    for tensor in list(model.parameters())[:1] + list(model.buffers())[:1]:
        return tensor.device
    return torch.device("cpu")


def synthetic_ids(model: Any, batch_size: int, seq_len: int, seed: int = 0) -> Any:
    """Random token ids of shape [batch_size, seq_len] on the CPU, past the first 5 ids (special tokens): a
    generator seeded with `seed`, ids below the config's vocab_size (1000 without one)."""
    import torch

    vocab = getattr(getattr(model, "config", None), "vocab_size", None) or 1000
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(min(5, vocab - 1), vocab, (batch_size, seq_len), generator=gen)


def synthetic_inputs(
    model: Any, batch_size: int, seq_len: int, *, attention_mask: bool = True, seed: int = 0, head: str | None = None
) -> dict[str, Any]:
    """Random token ids (fixed seed) of shape [batch_size, seq_len] for a Hugging Face-style model, shaped as the
    module of `head` takes them (module_inputs)."""
    import torch

    device = model_device(model)
    inputs = {"input_ids": synthetic_ids(model, batch_size, seq_len, seed).to(device)}
    if attention_mask and device.type != "meta":  # masks trigger data-dependent checks that meta cannot run
        inputs["attention_mask"] = torch.ones(batch_size, seq_len, dtype=torch.long, device=device)
    return module_inputs(head, inputs)


def call_model(model: Any, inputs: Any) -> Any:
    """Call `model` with a dict (keyword arguments), a tuple/list (positional) or a single tensor."""
    if isinstance(inputs, dict):
        return model(**inputs)
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)
