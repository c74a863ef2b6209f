"""quantize-dynamic-int8-onnx: ONNX export (harness.backends.onnx_export), then ONNX Runtime's dynamic QInt8
quantization per tensor; it ends a chain, and the submission runs on the onnxruntime backend."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.backends.torch_compressed import QUANTIZE_INT8
from harness.recipes.work import Work, refused

RECIPE = "quantize-dynamic-int8-onnx"
BACKEND = "onnxruntime"  # the backend of the submission this recipe ends (harness.backends.onnx_rt)


def run(work: Work) -> str:
    """Mark the chain's end: the torch model is saved, exported and quantized by `export` (the pipeline calls it)."""
    if work.has(QUANTIZE_INT8):
        raise refused(
            RECIPE, "the torch model is int8 already, which the ONNX export cannot trace", "drop quantize-dynamic-int8"
        )
    work.export = export
    return "exported to ONNX and quantized by ONNX Runtime's dynamic quantization (QInt8 weights, per tensor)"


def export(model_folder: Path, out: Path, head: str) -> None:
    """Export `model_folder` for `head` to ONNX, quantize its weights to int8 into `out`/model.onnx, and copy the
    tokenizer and config.json beside it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from harness.backends.files import ONNX_FILE
    from harness.backends.onnx_export import export_onnx

    with tempfile.TemporaryDirectory(prefix="onnx-export-") as tmp:
        exported = export_onnx(model_folder, Path(tmp) / "fp32", head)
        out.mkdir(parents=True, exist_ok=True)
        quantize_dynamic(
            str(exported / ONNX_FILE), str(out / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=False
        )
        for file in exported.iterdir():
            if file.name != ONNX_FILE:
                shutil.copyfile(file, out / file.name)
