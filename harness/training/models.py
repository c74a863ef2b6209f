"""The models training reads and writes: where a model folder comes from, a task model with the task's labels, and
train rows encoded the way the classification formulation encodes them at evaluation.

Weights load from safetensors only and remote code is never run, as the torch backend loads them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.backends.files import load_tokenizer
from harness.errors import UserError
from harness.tasks.base import Row, Task

SEQUENCE_CLASSIFICATION = "sequence_classification"  # the head a fine-tuned or distilled task model is saved with
TRAINABLE_KINDS = ("classification", "regression")
KEPT_HEAD = "its trained head"  # the head note of a model whose saved classifier goes on training
# a Hugging Face hub repo id: an optional owner, a name (letters, digits, '-', '_', '.'), no path syntax
HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")


@dataclass(frozen=True)
class Source:
    """A model folder to train from: the folder, how a submission names it, the method families it came with."""

    folder: Path
    name: str  # a submission's id, else the model's hub id or folder name (model_name)
    methods: tuple[str, ...] = ()  # the families of the submission holding it; () for a bare folder
    head: str | None = None  # the head a submission declares for the task
    base_model: str = ""  # what a submission trained from it records: the holder's base_model, else `name`


@dataclass(frozen=True)
class TaskModel:
    """A torch sequence-classification module for a task, its tokenizer, and what its head started from."""

    module: Any
    tokenizer: Any
    folder: Path
    head_note: str  # KEPT_HEAD or "a new ... head", for the submission's description


def check_trainable(task: Task, command: str) -> None:
    """Refuse a task kind a sequence_classification head cannot learn."""
    if task.kind not in TRAINABLE_KINDS:
        raise UserError(
            f"task {task.name} is a {task.kind} task; {command} trains classification or regression tasks "
            "(a sequence_classification head)",
            fix="choose a GLUE classification or regression task, e.g. --task rte",
        )


def model_source(path: str | Path, task: Task, role: str) -> Source:
    """The model folder `path` stands for: a submission folder's model for `task` (its only model when it has none
    for the task), else `path` itself as a model folder; `role` (base, teacher, student) names it in errors."""
    from harness.submissions import SUBMISSION_FILE, load_submission
    from harness.submissions.schema import parse_submission

    path = Path(path)
    if (path / SUBMISSION_FILE).is_file():
        sub = load_submission(path)
        entry = sub.tasks.get(task.name)
        based = sub.base_model or sub.id
        if entry is not None:
            return Source(entry.model, sub.id, sub.methods, entry.head, based)
        folders = {e.model for e in sub.tasks.values()}
        if role == "teacher" or len(folders) != 1:
            raise UserError(
                f"{path}: the {role} submission {sub.id} has no model for task {task.name} (its tasks: "
                f"{', '.join(sub.tasks)})",
                fix=f"pass a submission with a {task.name} entry, or the model folder itself",
            )
        return Source(folders.pop(), sub.id, sub.methods, base_model=based)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise UserError(
            f"{path}: the {role} is neither a model folder (no config.json) nor a submission folder "
            f"(no {SUBMISSION_FILE})",
            fix="pass a save_pretrained() model folder or a submission folder",
        )
    methods: tuple[str, ...] = ()
    name = model_name(path)
    based = name
    if (path.parent / SUBMISSION_FILE).is_file():  # a model folder inside a submission keeps its families
        holder, _ = parse_submission(path.parent)
        if holder is not None:  # named as the submission it is in
            methods, name, based = holder.methods, holder.id, holder.base_model or holder.id
    return Source(path, name, methods, base_model=based)


def model_name(folder: Path) -> str:
    """How a record names a bare model folder: config.json's `_name_or_path` when it is a hub id (owner/name, not
    a filesystem path), else the folder's name (the folder above for one called `model`)."""
    import json

    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        hub = config.get("_name_or_path") if isinstance(config, dict) else None
    except (OSError, ValueError):
        hub = None
    if isinstance(hub, str) and HUB_ID.match(hub) and not Path(hub).expanduser().exists():
        return hub
    resolved = folder.resolve()
    return resolved.parent.name if resolved.name == "model" and resolved.parent.name else resolved.name


def check_weights(folder: Path) -> None:
    """Refuse a folder without safetensors weights: training, like the torch backend, never unpickles."""
    from harness.backends.base import weight_files

    safe, pickled = weight_files(folder)
    if not safe:
        raise UserError(
            f"{folder}: no safetensors weights"
            + (f" ({pickled[0].name} is pickle, which training never loads)" if pickled else ""),
            fix="save the model with model.save_pretrained(folder), which writes model.safetensors",
        )


def quiet_transformers() -> None:
    """No per-tensor progress bars or load reports: the harness says what it made of the folder itself."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()


def load_task_model(folder: Path, task: Task, max_length: int | None = None) -> TaskModel:
    """`folder` as a sequence classifier for `task` (id2label its labels; one output for regression), keeping a saved
    head only when its weights, size and labels are the task's; else a new head from torch's generator."""
    import transformers

    from harness.backends.torch_hf import saved_head
    from harness.inference.formulations.classify import label_mapping

    check_weights(folder)
    quiet_transformers()
    outputs = len(task.labels) or 1
    labels: dict[str, Any] = {"num_labels": outputs}
    if task.labels:
        labels |= {"id2label": dict(enumerate(task.labels)), "label2id": {n: i for i, n in enumerate(task.labels)}}
    else:
        labels |= {"problem_type": "regression"}
    saved_config = transformers.AutoConfig.from_pretrained(str(folder), trust_remote_code=False)
    check_length(folder, saved_config, max_length)
    present, head, classifier = _head_keys(folder, saved_config)
    kept = saved_head(folder) == SEQUENCE_CLASSIFICATION and saved_config.num_labels == outputs and head <= present
    if kept:
        saved = {int(k): str(v) for k, v in (saved_config.id2label or {}).items()}
        if label_mapping(task, saved, outputs) != list(range(outputs)):
            raise UserError(
                f"{folder}: its trained head's labels {saved} are not task {task.name}'s in dataset order "
                f"({', '.join(task.labels)})",
                fix="train from the encoder without that head, or re-save it with the labels in dataset order",
            )
    try:
        if kept or not (present & head):
            module = transformers.AutoModelForSequenceClassification.from_pretrained(
                str(folder), use_safetensors=True, trust_remote_code=False, ignore_mismatched_sizes=True, **labels
            )
        else:  # saved head weights not kept: left out, so the head is drawn new as the description says
            config = transformers.AutoConfig.from_pretrained(str(folder), trust_remote_code=False, **labels)
            weights = {k: v for k, v in _weights(folder).items() if k not in head}
            module = classifier.from_pretrained(None, config=config, state_dict=weights)
    except Exception as e:  # a config transformers cannot build, a broken weights file: one message for both
        raise UserError(
            f"{folder}: the model does not load as a sequence classifier ({type(e).__name__}: {e})",
            fix="pass an encoder saved with model.save_pretrained(folder)",
        ) from e
    note = KEPT_HEAD if kept else f"a new sequence_classification head ({outputs} output{'s' * (outputs > 1)})"
    return TaskModel(module, load_tokenizer(folder), folder, note)


def check_length(folder: Path, config: Any, max_length: int | None) -> None:
    """Refuse a truncation length beyond the model's position embeddings (its inputs would index past them)."""
    limit = getattr(config, "max_position_embeddings", None)
    if max_length is not None and isinstance(limit, int) and max_length > limit:
        raise UserError(
            f"--max-length {max_length}: {folder} has {limit} position embeddings, so inputs stop at {limit} tokens",
            fix=f"give --max-length {limit} or less (or leave it out: the task's length)",
        )


def _weights(folder: Path) -> dict[str, Any]:
    """All tensors of the folder's safetensors files."""
    from safetensors.torch import load_file

    from harness.backends.base import weight_files

    weights: dict[str, Any] = {}
    for file in weight_files(folder)[0]:
        weights |= load_file(str(file))
    return weights


def _head_keys(folder: Path, config: Any) -> tuple[set[str], set[str], Any]:
    """The weight names the folder's safetensors hold, those of the task head (the sequence classifier's modules
    outside its encoder) as a sequence classifier of `config` names them, and that classifier's class."""
    import torch
    import transformers
    from safetensors import safe_open

    from harness.backends.base import weight_files

    present: set[str] = set()
    for file in weight_files(folder)[0]:
        with safe_open(str(file), framework="pt") as f:
            present |= set(f.keys())
    with torch.device("meta"):
        shell = transformers.AutoModelForSequenceClassification.from_config(config, trust_remote_code=False)
    outside = {name for name, _ in shell.named_children() if name != shell.base_model_prefix}
    return present, {k for k in shell.state_dict() if k.split(".")[0] in outside}, type(shell)


def encode_rows(module: Any, tokenizer: Any, folder: Path, task: Task, rows: Sequence[Row], max_length: int) -> list:
    """Each row's input ids, mask and type ids as `harness evaluate` builds them: the task's texts, the pair
    tokenized together with longest-first truncation (classify.encode)."""
    from harness.backends.torch_hf import TorchModel
    from harness.inference.formulations.classify import encode

    return encode(
        TorchModel(module, tokenizer, SEQUENCE_CLASSIFICATION, folder), [task.texts(r) for r in rows], max_length
    )


def batch_tensors(features: Sequence[dict[str, list[int]]], idx: Sequence[int], tokenizer: Any) -> dict[str, Any]:
    """The rows `idx` padded to their longest (batching.pad, as at evaluation), as torch tensors."""
    import torch

    from harness.inference.batching import pad

    return {k: torch.as_tensor(v) for k, v in pad([features[i] for i in idx], tokenizer).items()}


def targets(task: Task, rows: Sequence[Row]) -> Any:
    """The gold of each row as a tensor: label indices (long) or scores (float)."""
    import torch

    golds = [task.gold_of(r) for r in rows]
    return torch.tensor(golds, dtype=torch.long if task.labels else torch.float32)


def hard_loss(task: Task, logits: Any, gold: Any) -> Any:
    """The loss against the gold: cross-entropy over the task's labels, or MSE of the single output (regression)."""
    import torch.nn.functional as F

    if task.labels:
        return F.cross_entropy(logits, gold)
    return F.mse_loss(logits[:, 0], gold)
