"""PyTorch backend: a Hugging Face `save_pretrained` folder loaded with transformers.

Weights load from safetensors only unless pickle is explicitly allowed; remote code is never trusted
by default. Loading works the same for a local folder and a hub id (the hub needs a network).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from harness.backends.base import HEADS, LoadOptions, weight_files
from harness.backends.heads import HEADS_TABLE, class_head
from harness.errors import UserError

AUTO_CLASSES = {h.name: h.auto_class for h in HEADS_TABLE}


def saved_head(folder: Path) -> str | None:
    """The head of the class that saved `folder` (config.json `architectures`), or None when it names none known."""
    import json

    try:
        names = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("architectures") or []
    except (OSError, ValueError, AttributeError):
        return None
    return class_head(str(names[0])) if isinstance(names, list) and names else None


def module_inputs(head: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """A [batch, length] batch of tensors as the head's module takes it: a multiple-choice module wants
    [batch, options, length], and each sequence is one option."""
    if head == "multiple_choice":
        return {k: v.unsqueeze(1) for k, v in inputs.items()}
    return inputs


class TorchModel:
    """A transformers model and its tokenizer behind the backend interface."""

    def __init__(self, module: Any, tokenizer: Any, head: str, folder: Any = None) -> None:
        self.module = module
        self.folder = folder
        self.tokenizer = tokenizer
        self.head = head
        self.sequence_lengths: list[int] = []  # real (unpadded) length of every sequence run, for FLOPs
        cfg = getattr(module, "config", None)
        self.id2label = {int(k): str(v) for k, v in (getattr(cfg, "id2label", None) or {}).items()}

    def forward(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One padded batch through the model; outputs as float32 numpy arrays."""
        import torch

        inputs = {k: torch.as_tensor(v) for k, v in batch.items()}
        self.sequence_lengths.extend(int(n) for n in batch["attention_mask"].sum(axis=1))
        inputs = module_inputs(self.head, inputs)
        with torch.inference_mode():
            out = self.module(**inputs)
        if self.head == "cosine":
            mask = inputs["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return {"embedding": pooled.float().numpy()}
        if self.head in ("question_answering", "retriever_reader"):
            return {"start_logits": out.start_logits.float().numpy(), "end_logits": out.end_logits.float().numpy()}
        return {"logits": out.logits.float().numpy()}

    def generate(self, batch: dict[str, np.ndarray], max_new_tokens: int) -> list[str]:
        """Greedy decoding, answers decoded without special tokens."""
        import torch

        inputs = {k: torch.as_tensor(v) for k, v in batch.items()}
        self.sequence_lengths.extend(int(n) for n in batch["attention_mask"].sum(axis=1))
        with torch.inference_mode():
            ids = self.module.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1)
        return self.tokenizer.batch_decode(ids, skip_special_tokens=True)


def load(folder: str | Path, head: str, options: LoadOptions = LoadOptions()) -> TorchModel:
    """Load `folder` (a model folder, or a hub id when online) for `head`; errors name the folder and fix."""
    if head not in HEADS:
        raise UserError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
    import torch
    import transformers

    if options.threads:
        torch.set_num_threads(options.threads)
    transformers.utils.logging.disable_progress_bar()  # its per-tensor bars would drown the harness's own
    path = Path(folder)
    if path.exists():
        _check_weights(path, options)
    cls = getattr(transformers, AUTO_CLASSES[head])
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), trust_remote_code=options.trust_remote_code)
    except Exception as e:
        raise UserError(
            f"{folder}: the tokenizer does not load ({type(e).__name__}: {e}); "
            "save it next to the model with tokenizer.save_pretrained(folder)"
        ) from e
    try:
        module = cls.from_pretrained(
            str(folder), use_safetensors=not options.allow_pickle, trust_remote_code=options.trust_remote_code
        )
    except Exception as e:
        raise UserError(
            f"{folder}: the model does not load as {AUTO_CLASSES[head]} ({type(e).__name__}: {e}); "
            "save it with model.save_pretrained(folder, safe_serialization=True)"
        ) from e
    module.eval()
    return TorchModel(module, tokenizer, head, folder)


def _check_weights(path: Path, options: LoadOptions) -> None:
    """Refuse pickle weights unless allowed, before transformers gets a chance to unpickle them."""
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: no config.json; a model folder is what model.save_pretrained(folder) writes")
    safe, pickled = weight_files(path)
    if not safe and pickled and not options.allow_pickle:
        raise UserError(
            f"{path}: weights are in pickle format ({pickled[0].name}), which can run code when loaded; "
            "convert them with model.save_pretrained(folder, safe_serialization=True), or have both the "
            "submitter (allow_pickle: true in submission.yaml) and the organizer (--allow-pickle) opt in"
        )
    if not safe and not pickled:
        raise UserError(
            f"{path}: no weights file (model.safetensors); save the model with model.save_pretrained(folder)"
        )
