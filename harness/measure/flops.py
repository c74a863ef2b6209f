"""FLOPs per example (2 x MACs) at a reference length and over real token lengths, counted by the model's backend
(harness.backends.base.Model.count_flops; the torch backend's counter and op table: harness.backends.torch_count),
cross-checked with a second counter where the backend has one (fvcore)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import UserError
from harness.measure.result import NOT_COUNTED, NotTaken, not_counted
from harness.measure.spec import Inputs

CONVENTION = (
    "FLOPs = 2 x MACs per example (batch 1, no padding); counted: matmuls (mm, addmm, bmm, baddbmm; "
    "bias adds not counted), attention matmuls QK^T and AV (SDPA kernels included), LayerNorm "
    "5 FLOPs per input element (4 without affine weights); not counted: embedding lookups, softmax, "
    "activations, residual adds, scaling; dynamic-int8 Linear layers counted by forward hooks as "
    "int8_macs and included in flops as 2 x int8_macs"
)
GENERATION_NOT_COUNTED = "generation: FLOPs of autoregressive decoding are not counted yet"
UNIT = "FLOPs per example"


@dataclass(frozen=True)
class Flops:
    """FLOPs per example at the reference length, optionally averaged over real token lengths.

    `counted` (always true) and `reason` (always None) stay, so a record's fields are what they were; a count that
    could not be made is a harness.measure.result.NotTaken (flops_not_counted).
    """

    counted: bool
    reason: str | None
    reference_length: int
    flops: int | None
    int8_macs: int
    by_module: dict[str, int]
    by_op: dict[str, int]
    uncounted_ops: dict[str, int]
    mean_flops: float | None = None
    token_length_counts: dict[int, int] = field(default_factory=dict)
    flops_by_length: dict[int, int] = field(default_factory=dict)
    fvcore: dict[str, Any] = field(default_factory=dict)
    counter: str = ""  # the backend's counter
    convention: str = CONVENTION
    unit: str = UNIT

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (int keys of the length tables become strings) with method and convention."""
        out = asdict(self)
        out["token_length_counts"] = {str(k): v for k, v in self.token_length_counts.items()}
        out["flops_by_length"] = {str(k): v for k, v in self.flops_by_length.items()}
        return out


def flops_not_counted(
    reason: str, reference_length: int, uncounted_ops: dict[str, int] | None = None, counter: str | None = None
) -> NotTaken:
    """A FLOPs result that says why nothing was counted, with the operators seen and the counter that ran."""
    fields: dict[str, Any] = {"reference_length": reference_length, "uncounted_ops": dict(uncounted_ops or {})}
    if counter:
        fields["counter"] = counter
    return not_counted(reason, **fields, convention=CONVENTION, unit=UNIT)


def measure_flops(
    model: Any,
    *,
    reference_length: int = 128,
    token_lengths: list[int] | None = None,
    cross_check: bool = True,
) -> Flops | NotTaken:
    """Count FLOPs per example of a model loaded by its backend at `reference_length` (batch 1) and averaged over
    `token_lengths`: each distinct length is counted once and weighted by how often it occurs."""
    if model.head == "seq2seq":
        return flops_not_counted(GENERATION_NOT_COUNTED, reference_length)
    if reference_length < 1 or any(int(n) < 1 for n in token_lengths or []):
        raise UserError(f"FLOPs: reference_length ({reference_length}) and token lengths must be >= 1 token")
    ref = model.count_flops(reference_length, cross_check=cross_check)
    if ref.get("status") == NOT_COUNTED:
        return flops_not_counted(str(ref.get("reason")), reference_length, ref.get("uncounted_ops"), ref.get("counter"))
    lengths = Counter(int(n) for n in token_lengths or [])
    per_length: dict[int, int] = {}
    for n in sorted(lengths):
        counted = ref if n == reference_length else model.count_flops(n)
        if counted.get("status") == NOT_COUNTED:
            reason = f"at {n} tokens: {counted.get('reason')}"
            return flops_not_counted(reason, reference_length, counted.get("uncounted_ops"), counted.get("counter"))
        per_length[n] = counted["flops"]
    mean = sum(per_length[n] * c for n, c in lengths.items()) / sum(lengths.values()) if lengths else None
    cross = dict(ref.get("fvcore") or {})
    if cross.get("available"):
        cross["ratio_to_flops"] = round(cross["flops"] / ref["flops"], 4)
    return Flops(
        counted=True,
        reason=None,
        reference_length=reference_length,
        flops=ref["flops"],
        int8_macs=ref["int8_macs"],
        by_module=ref["by_module"],
        by_op=ref["by_op"],
        uncounted_ops=ref["uncounted_ops"],
        mean_flops=mean,
        token_length_counts=dict(sorted(lengths.items())),
        flops_by_length=per_length,
        fvcore=cross,
        counter=str(ref.get("counter") or ""),
        convention=str(ref.get("convention") or CONVENTION),  # a backend that counts another graph form says how
    )


def take(inputs: Inputs, **options: Any) -> dict[str, Any]:
    """The measurement `flops` of the table: FLOPs at the reference length and at the task's real lengths, and
    per example where the number of examples is known (an example may run several sequences: pairs under a
    cosine head, choices, windows)."""
    result = measure_flops(
        inputs.model, reference_length=inputs.reference_length, token_lengths=inputs.token_lengths, **options
    ).to_dict()
    lengths, examples = inputs.token_lengths, inputs.examples
    if examples and lengths and result.get("mean_flops") is not None:
        result.update(
            sequences=len(lengths), examples=examples, flops_per_example=result["mean_flops"] * len(lengths) / examples
        )
    return result


def bert_flops(config: Any, seq_len: int, *, pooler: bool = True, num_labels: int = 0) -> int:
    """Analytic FLOPs of one BERT example under CONVENTION: QKV, output and FFN linears, QK^T and AV, LayerNorms.

    Embedding lookups are free; the embedding LayerNorm is counted; the pooler (one token) only if
    `pooler`, a classifier head only if `num_labels` > 0.

    >>> from types import SimpleNamespace as C
    >>> bert_flops(C(hidden_size=4, intermediate_size=8, num_hidden_layers=1), 2, pooler=False)
    696
    """
    h, i, s = config.hidden_size, config.intermediate_size, seq_len
    per_layer = 2 * s * (4 * h * h + 2 * h * i) + 2 * 2 * s * s * h + 2 * 5 * s * h
    return config.num_hidden_layers * per_layer + 5 * s * h + (2 * h * h if pooler else 0) + 2 * h * num_labels
