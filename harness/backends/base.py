"""The small interface every inference backend offers: a tokenizer, a forward pass, generation, and what the
measurements ask of it.

Formulations talk only to this, so an ONNX Runtime backend can sit beside the PyTorch one.
Inputs and outputs are numpy arrays, keyed by the names Hugging Face models use. Measurements (harness.measure)
reach a model only through it too: batches the backend builds, prepared calls it times, counts it makes.
A backend is one module with a `load(folder, head, options)` function and a HARDWARE constant, registered by one
line in harness.backends.BACKENDS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from harness.backends.devices import DEFAULT_DEVICE, DEFAULT_DTYPE
from harness.backends.files import PICKLE_SUFFIXES, SAFE_WEIGHTS_SUFFIX, TOKENIZER_FILES, weight_files
from harness.backends.heads import HEADS_TABLE

if TYPE_CHECKING:  # annotations only: importing the backends package stays light (`harness --help`)
    import numpy as np

__all__ = ["PICKLE_SUFFIXES", "SAFE_WEIGHTS_SUFFIX", "TOKENIZER_FILES", "weight_files"]  # re-exported: their old home

HEADS = {h.name: h.output for h in HEADS_TABLE}  # head -> the forward output formulations read


# Organizer's hard ceiling on the parameters a config.json may imply, checked before any weight is allocated: the
# largest compressed-NLP submissions are ~0.3e9 (BERT-large); a 10^9 vocabulary would take 128 GB (issue 14).
MAX_MODEL_PARAMS = 2_000_000_000
# ... and on the layers it may stack, whatever their width: building one takes ~9 ms even on the meta device (a
# 20,000-layer config took 188 s in `harness check`). The deepest published Transformer, DeepNet (Wang et al. 2022),
# has 1,000 layers; BERT-large has 24.
MAX_MODEL_LAYERS = 1024


@dataclass(frozen=True)
class LoadOptions:
    """How a backend may load a folder: pickle and remote code need an explicit opt-in."""

    allow_pickle: bool = False
    trust_remote_code: bool = False
    threads: int | None = None
    outputs: tuple[tuple[str, str], ...] = ()  # (head output name, graph output name) a submission declares
    onnx_custom_ops: tuple[str, ...] = ()  # custom-op libraries an organizer allows an ONNX graph (none by default)
    # where every backend runs it (--device): "cpu" (the default), "cuda" or "cuda:N"; the ONNX backend maps it to
    # onnxruntime's providers and also takes "auto" (CUDA when onnxruntime offers it)
    device: str = DEFAULT_DEVICE
    # --dtype: the torch backend casts floating parameters to it; "auto" (the default): the types it was saved in
    dtype: str = DEFAULT_DTYPE
    max_params: int = MAX_MODEL_PARAMS  # torch backend: a config implying more parameters is refused unbuilt


class Clock(Protocol):
    """What times a call: its name (stated in latency records) and a reading taken after queued device work."""

    name: str

    def now(self) -> float:
        """Seconds from an arbitrary origin, once the device has finished the work queued so far."""
        ...


class CpuClock:
    """Wall clock for work that is done when the call returns (host CPU backends)."""

    name = "cpu: time.perf_counter"

    def now(self) -> float:
        """Seconds from an arbitrary origin, after pending device work finished."""
        return time.perf_counter()


class Model(Protocol):
    """A loaded model: what formulations call, and what measurements call."""

    head: str
    folder: Any  # where the model was loaded from (a retriever_reader reads its passages there)
    tokenizer: Any
    id2label: dict[int, str]
    sequence_lengths: list[int]  # real length of every sequence the model has run (encoder input for seq2seq)
    hardware: str  # the hardware class its records are ranked in ("cpu"): its backend module's HARDWARE

    @property
    def device(self) -> str:
        """Where it runs ("cpu", "cuda:0"): the machine-speed probe runs there too."""
        ...

    @property
    def clock(self) -> Clock:
        """What times its calls: a device clock waits for queued kernels."""
        ...

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run one padded batch (input_ids, attention_mask, ...) and return numpy outputs."""
        ...

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """Decode answers for one padded batch (seq2seq heads)."""
        ...

    def synthetic_batch(
        self, batch_size: int, seq_len: int, *, seed: int = 0, attention_mask: bool = True
    ) -> dict[str, np.ndarray]:
        """Random token ids of shape [batch_size, seq_len] (fixed seed) from the model's vocabulary, as `forward`
        takes them; with an all-ones attention mask unless told not to."""
        ...

    def prepare(self, batch: dict[str, np.ndarray]) -> Callable[[], Any]:
        """A call that runs `batch` through the model as `forward` does, its inputs converted and moved once,
        beforehand, and its lengths not recorded: what latency, throughput, memory and energy time."""
        ...

    def measuring(self, threads: int | None = None) -> AbstractContextManager[None]:
        """The block prepared calls are timed in: inference mode (no dropout, no autograd) and, given `threads`,
        that many intra-op threads; everything restored afterwards."""
        ...

    def device_peak_bytes(self, reset: bool = False) -> int | None:
        """The device allocator's peak bytes since the last reset (`reset`: start a new window, return None);
        None for a model in host memory."""
        ...

    def count_params(self) -> dict[str, Any]:
        """Its parameters: total_params, embedding_params, non_embedding_params, params_by_dtype, tensor_bytes,
        aliases and the method; or {"status": "not_counted", "reason": why} (harness.measure.result)."""
        ...

    def count_flops(self, seq_len: int, *, cross_check: bool = False) -> dict[str, Any]:
        """FLOPs of one example of `seq_len` synthetic tokens under harness.measure.flops.CONVENTION: flops,
        int8_macs, by_module, by_op, uncounted_ops and the counter; with `cross_check`, a second counter's figures
        under `fvcore`; or {"status": "not_counted", "reason": why, ...}."""
        ...


def param_counts(tensors: Iterable[tuple[int, str, int, bool]], aliases: dict[str, str], method: str) -> dict[str, Any]:
    """What Model.count_params returns, from each counted tensor's (elements, dtype name, bytes, is embedding) and
    the names that alias a counted tensor: one summary for every backend's counter."""
    by_dtype: dict[str, int] = {}
    embedding = total = nbytes = 0
    for numel, dtype, size, is_embedding in tensors:
        total += numel
        nbytes += size
        embedding += numel if is_embedding else 0
        by_dtype[dtype] = by_dtype.get(dtype, 0) + numel
    return {
        "total_params": total,
        "embedding_params": embedding,
        "non_embedding_params": total - embedding,
        "params_by_dtype": dict(sorted(by_dtype.items())),
        "tensor_bytes": nbytes,
        "aliases": dict(sorted(aliases.items())),
        "method": method,
    }
