"""quantize-dynamic-int8: torch's dynamic int8 quantization of every nn.Linear (per-channel qint8 weights, one scale
per output row; the activations are quantized at run time), saved as data: int8 weights, scales and zero points."""

from __future__ import annotations

from harness.backends.torch_compressed import INT8_DTYPE, PER_CHANNEL, QUANTIZE_INT8
from harness.recipes.work import Work, refused

RECIPE = "quantize-dynamic-int8"


def run(work: Work) -> str:
    """Quantize every float nn.Linear of the model (encoder, pooler and head) in place with
    torch.ao.quantization.quantize_dynamic, per output channel; record their names."""
    import torch
    from torch import nn

    if work.has(QUANTIZE_INT8):
        raise refused(RECIPE, "the model is int8 already", "run quantize-dynamic-int8 once")
    names = [n for n, m in work.module.named_modules() if type(m) is nn.Linear]  # each object once (shared layers)
    if not names:
        raise refused(RECIPE, "the model has no float nn.Linear", "compress a float model")
    # in place: shared modules stay one object (a copy would quantize each parent's reference apart)
    qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
    torch.ao.quantization.quantize_dynamic(work.module, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=True)
    work.transforms.append(
        {
            "type": QUANTIZE_INT8,
            "recipe": RECIPE,
            "dtype": INT8_DTYPE,
            "qscheme": PER_CHANNEL,  # along the output rows: fbgemm's dynamic int8 standard
            "layers": names,
        }
    )
    return f"dynamic int8 quantization of {len(names)} Linear layers (per-channel qint8 weights, fp32 biases)"
