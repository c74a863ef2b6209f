"""FLOPs per example (2 x MACs) at a reference length and over real token lengths, cross-checked with fvcore."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import UserError

CONVENTION = (
    "FLOPs = 2 x MACs per example (batch 1, no padding); counted: matmuls (mm, addmm, bmm, baddbmm; "
    "bias adds not counted), attention matmuls QK^T and AV (SDPA kernels included), LayerNorm "
    "5 FLOPs per input element (4 without affine weights); not counted: embedding lookups, softmax, "
    "activations, residual adds, scaling; dynamic-int8 Linear layers counted by forward hooks as "
    "int8_macs and included in flops as 2 x int8_macs"
)
GENERATION_NOT_COUNTED = "generation: FLOPs of autoregressive decoding are not counted yet"


def mm_flops(a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """[m, k] @ [k, n]: 2*m*k*n.

    >>> mm_flops((2, 3), (3, 4))
    48
    """
    return 2 * a_shape[0] * a_shape[1] * b_shape[1]


def addmm_flops(bias_shape: Any, a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """bias + [m, k] @ [k, n]: the bias add is not counted."""
    return mm_flops(a_shape, b_shape)


def bmm_flops(a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """[b, m, k] @ [b, k, n]: 2*b*m*k*n.

    >>> bmm_flops((2, 3, 4), (2, 4, 5))
    240
    """
    return 2 * a_shape[0] * a_shape[1] * a_shape[2] * b_shape[2]


def baddbmm_flops(self_shape: Any, a_shape: Any, b_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """input + [b, m, k] @ [b, k, n]: the add is not counted."""
    return bmm_flops(a_shape, b_shape)


def sdpa_flops(q_shape: Any, k_shape: Any, v_shape: Any, *_: Any, out_shape: Any = None, **__: Any) -> int:
    """Attention [b, h, s, d]: QK^T (2*b*h*s_q*s_k*d) plus AV (2*b*h*s_q*s_k*d_v); softmax not counted.

    >>> sdpa_flops((1, 2, 8, 4), (1, 2, 8, 4), (1, 2, 8, 4))
    2048
    """
    b, h, s_q, d = q_shape
    s_k, d_v = k_shape[-2], v_shape[-1]
    return 2 * b * h * s_q * s_k * (d + d_v)


def layer_norm_flops(
    x_shape: Any, normalized_shape: Any, weight_shape: Any = None, *_: Any, out_shape: Any = None, **__: Any
) -> int:
    """LayerNorm: 5 FLOPs per input element with affine weights, 4 without (mean, centre, variance, scale).

    >>> layer_norm_flops((1, 3, 4), [4], (4,))
    60
    """
    return math.prod(int(n) for n in x_shape) * (5 if weight_shape is not None else 4)


def op_table() -> dict[Any, Callable[..., int]]:
    """The counting functions by aten op, handed to FlopCounterMode as `custom_mapping` (no global registration)."""
    import torch

    aten = torch.ops.aten
    table: dict[Any, Callable[..., int]] = {
        aten.mm: mm_flops,
        aten.addmm: addmm_flops,
        aten.bmm: bmm_flops,
        aten.baddbmm: baddbmm_flops,
        aten.native_layer_norm: layer_norm_flops,
    }
    for name in (
        "_scaled_dot_product_flash_attention_for_cpu",
        "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_efficient_attention",
        "_scaled_dot_product_cudnn_attention",
    ):
        if hasattr(aten, name):
            table[getattr(aten, name)] = sdpa_flops
    return table


@dataclass(frozen=True)
class Flops:
    """FLOPs per example at the reference length, optionally averaged over real token lengths."""

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
    counter: str = "torch.utils.flop_counter.FlopCounterMode + harness op table + int8 Linear hooks"
    convention: str = CONVENTION
    unit: str = "FLOPs per example"

    @classmethod
    def not_counted(cls, reason: str, reference_length: int, uncounted_ops: dict[str, int] | None = None) -> Flops:
        """A result that says why nothing was counted."""
        return cls(
            counted=False,
            reason=reason,
            reference_length=reference_length,
            flops=None,
            int8_macs=0,
            by_module={},
            by_op={},
            uncounted_ops=dict(uncounted_ops or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (int keys of the length tables become strings) with method and convention."""
        out = asdict(self)
        out["token_length_counts"] = {str(k): v for k, v in self.token_length_counts.items()}
        out["flops_by_length"] = {str(k): v for k, v in self.flops_by_length.items()}
        return out


def _blocks(model: Any) -> set[str]:
    """Top-level blocks: children and grandchildren of the root, and every item of a ModuleList."""
    import torch

    names = {n for n, _ in model.named_modules() if n and n.count(".") <= 1}
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList):
            names.update(f"{name}.{i}" if name else str(i) for i in range(len(mod)))
    return names


def _count_once(model: Any, inputs: Any) -> dict[str, Any]:
    """Run `model(inputs)` once under the counter; return total, per-op, per-block and int8 figures."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from harness.measure import call_model

    class _Counter(FlopCounterMode):
        def _count_flops(self, func_packet: Any, out: Any, args: Any, kwargs: Any) -> Any:
            if func_packet not in self.flop_registry:
                missed[str(func_packet)] += 1
            return super()._count_flops(func_packet, out, args, kwargs)

    missed: Counter[str] = Counter()
    int8: Counter[str] = Counter()
    quant_kinds = tuple(
        k
        for k in (
            getattr(torch.ao.nn.quantized.dynamic, "Linear", None),
            getattr(torch.ao.nn.quantized, "Linear", None),
        )
        if k is not None
    )

    def hook(name: str) -> Callable[..., None]:
        def on_forward(mod: Any, args: Any, out: Any) -> None:
            int8[name] += args[0].numel() // mod.in_features * mod.in_features * mod.out_features

        return on_forward

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if isinstance(m, quant_kinds)]
    counter = _Counter(display=False, custom_mapping=op_table())
    try:
        with torch.no_grad(), counter:
            call_model(model, inputs)
    finally:
        for h in handles:
            h.remove()
    by_op: Counter[str] = Counter()
    for op, n in counter.get_flop_counts().get("Global", {}).items():
        by_op[str(op)] += n
    blocks = _blocks(model)
    by_module: Counter[str] = Counter()
    for name, ops in counter.get_flop_counts().items():
        short = name.partition(".")[2]
        if short in blocks:
            by_module[short] += sum(ops.values())
    for name, macs in int8.items():
        by_op["int8_linear (2 x int8_macs)"] += 2 * macs
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[:i]) in blocks:
                by_module[".".join(parts[:i])] += 2 * macs
    if int8:  # the hooks counted these
        for op in ("quantized.linear_dynamic", "quantized.linear"):
            missed.pop(op, None)
    return {
        "flops": sum(by_op.values()),
        "by_op": dict(by_op),
        "by_module": dict(by_module),
        "int8_macs": sum(int8.values()),
        "missed": dict(missed),
    }


def fvcore_flops(model: Any, inputs: Any) -> dict[str, Any]:
    """fvcore's count converted to FLOPs: its matmul 'flops' are MACs (doubled here), norms kept; SDPA skipped.

    A dict of inputs is passed positionally, in its order (fvcore traces with torch.jit).
    """
    try:
        import torch
        from fvcore.nn import FlopCountAnalysis

        args = tuple(inputs.values()) if isinstance(inputs, dict) else inputs
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            analysis = FlopCountAnalysis(model, args)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            raw = {str(k): int(v) for k, v in analysis.by_operator().items()}
            unsupported = {str(k): int(v) for k, v in analysis.unsupported_ops().items()}
    except Exception as exc:  # noqa: BLE001 - fvcore traces with torch.jit: report why it could not, never guess
        return {"available": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    norms = {k: v for k, v in raw.items() if "norm" in k}
    flops = sum(norms.values()) + 2 * sum(v for k, v in raw.items() if k not in norms)
    return {
        "available": True,
        "flops": flops,
        "raw_by_operator": raw,
        "unsupported_ops": unsupported,
        "note": "fvcore counts one MAC as one flop: matmul/linear figures doubled here; its norm "
        "counts (5 per element) kept; ops listed in unsupported_ops (e.g. SDPA) count zero",
    }


def measure_flops(
    model: Any,
    *,
    reference_length: int = 128,
    token_lengths: list[int] | None = None,
    make_inputs: Callable[[int, int], Any] | None = None,
    cross_check: bool = True,
) -> Flops:
    """Count FLOPs per example at `reference_length` (batch 1) and averaged over `token_lengths`.

    Each distinct length is counted once and weighted by how often it occurs.
    """
    from harness.measure import eval_mode, synthetic_inputs

    if reference_length < 1 or any(int(n) < 1 for n in token_lengths or []):
        raise UserError(f"FLOPs: reference_length ({reference_length}) and token lengths must be >= 1 token")
    build = make_inputs or (lambda batch, length: synthetic_inputs(model, batch, length, attention_mask=False))
    with eval_mode(model):
        ref = _count_once(model, build(1, reference_length))
        if ref["flops"] == 0:
            ops = ", ".join(sorted(ref["missed"])) or "none"
            reason = (
                f"no countable operator ran (operators seen: {ops}); the model's ops are opaque to "
                "FlopCounterMode and to the int8 Linear hooks"
            )
            return Flops.not_counted(reason, reference_length, ref["missed"])
        lengths = Counter(int(n) for n in token_lengths or [])
        per_length = {
            n: (ref if n == reference_length else _count_once(model, build(1, n)))["flops"] for n in sorted(lengths)
        }
        mean = sum(per_length[n] * c for n, c in lengths.items()) / sum(lengths.values()) if lengths else None
        cross = fvcore_flops(model, build(1, reference_length)) if cross_check else {}
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
        uncounted_ops=ref["missed"],
        mean_flops=mean,
        token_length_counts=dict(sorted(lengths.items())),
        flops_by_length=per_length,
        fvcore=cross,
    )


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
