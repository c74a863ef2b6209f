"""Export a Hugging Face torch model folder to an ONNX Runtime backend folder (model.onnx, tokenizer, config.json).

Used by tests (the ONNX backend against the torch one on the same weights) and by recipes that ship ONNX models.
It uses torch's legacy TorchScript exporter (dynamo=False): the dynamo exporter needs onnxscript.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path
from typing import Any

from harness.backends.base import TOKENIZER_FILES
from harness.backends.files import ONNX_FILE
from harness.errors import UserError

OPSET = 17  # ONNX opset of the exported graph: LayerNormalization is a standard op from opset 17
# Configuration files copied next to model.onnx besides the vocabularies (base.TOKENIZER_FILES)
CONFIG_FILES = ("config.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "merges.txt")
COPIED_FILES = CONFIG_FILES + TOKENIZER_FILES
MODULE_PREFIX = "model."  # the wrapper's attribute: exported node and parameter names start with it
# The outputs a head's graph returns, by name; a cosine graph keeps the pooler so its counts match torch's
EXPORTED_OUTPUTS = {
    "cosine": ("last_hidden_state", "pooler_output"),
    "sequence_classification": ("logits",),
    "question_answering": ("start_logits", "end_logits"),
}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXAMPLE_SHAPE = (2, 8)  # [batch, length] of the example inputs the exporter traces: both axes stay dynamic


def _wrapper(module: Any, outputs: tuple[str, ...], inputs: tuple[str, ...]) -> Any:
    """A torch module taking the inputs positionally and returning the named outputs as a tuple (transformers 5
    models refuse positional inputs, so the call inside uses keywords)."""
    import torch

    class Wrapper(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = module  # named MODULE_PREFIX's attribute

        def forward(self, *args: Any) -> tuple[Any, ...]:
            out = self.model(**dict(zip(inputs, args)))
            return tuple(getattr(out, name) for name in outputs)

    return Wrapper().eval()


def export_onnx(model_folder: str | Path, out_folder: str | Path, head: str) -> Path:
    """Export `model_folder` (loaded with the torch backend for `head`) to `out_folder`/model.onnx with dynamic
    batch and sequence axes, and copy its tokenizer files and config.json there; returns the output folder."""
    if head not in EXPORTED_OUTPUTS:
        raise UserError(f"ONNX export: head {head!r} is not supported", fix=f"use one of {', '.join(EXPORTED_OUTPUTS)}")
    import torch

    from harness.backends.torch_hf import load

    source, out = Path(model_folder), Path(out_folder)
    model = load(source, head)
    config = getattr(model.module, "config", None)
    inputs = INPUTS if getattr(config, "type_vocab_size", 0) else INPUTS[:2]
    outputs = EXPORTED_OUTPUTS[head]
    wrapper = _wrapper(model.module, outputs, inputs)
    ids = torch.as_tensor(model.synthetic_batch(*EXAMPLE_SHAPE)["input_ids"])
    example = (ids, torch.ones_like(ids), torch.zeros_like(ids))[: len(inputs)]
    axes = {0: "batch", 1: "sequence"}
    dynamic = {name: axes for name in inputs} | {name: dict(axes) for name in outputs}
    if head == "cosine":
        dynamic["pooler_output"] = {0: "batch"}
    if head == "sequence_classification":
        dynamic["logits"] = {0: "batch"}
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer warnings
        torch.onnx.export(
            wrapper,
            example,
            str(out / ONNX_FILE),
            input_names=list(inputs),
            output_names=list(outputs),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )
    _own_initializers(out / ONNX_FILE, {MODULE_PREFIX + n for n, _ in model.module.named_parameters()})
    for name in COPIED_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, out / name)
    return out


def _own_initializers(path: Path, parameters: set[str]) -> None:
    """Give each parameter the legacy exporter merged into an equal-valued initializer (an Identity whose output
    is the parameter's name: LayerNorm ones, zero biases) its own initializer copy, so the graph holds every
    parameter the torch module holds; and record the module prefix for onnx_count's by_module keys."""
    import onnx

    from harness.backends.onnx_count import MODULE_PREFIX_KEY

    proto = onnx.load(str(path))
    graph = proto.graph
    stored = {t.name: t for t in graph.initializer}
    merged = [n for n in graph.node if n.op_type == "Identity" and n.input[0] in stored and n.output[0] in parameters]
    for node in merged:
        copy = graph.initializer.add()
        copy.CopyFrom(stored[node.input[0]])
        copy.name = node.output[0]
        graph.node.remove(node)
    proto.metadata_props.add(key=MODULE_PREFIX_KEY, value=MODULE_PREFIX)
    onnx.save(proto, str(path))
