"""A trained model written as a complete submission folder: model/ (weights and tokenizer), submission.yaml and
training_log.jsonl beside it (outside model/, whose every byte counts toward the model's size).

The folder is built and checked under a hidden temporary name, then swapped into place (harness.submissions.writing),
so a failed write leaves no half-written submission and keeps what was trained; an existing folder is replaced only
when asked (--force), and never one training reads from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.tasks.base import Task
from harness.training.loop import WEIGHT_DECAY, TrainResult, TrainSettings

MODEL_FOLDER = "model"
DEFAULT_TEAM = "unnamed team"  # submission.yaml needs a team and a contact: --team and --contact set them
DEFAULT_CONTACT = "unknown@example.org"
LOG_FILE = "training_log.jsonl"


@dataclass(frozen=True)
class Trained:
    """A written submission and the run that trained it (and, for hidden-state KD, the trained projection)."""

    output: Path
    run: TrainResult
    projection: Any = None

    @property
    def steps(self) -> int:
        """Optimizer steps taken."""
        return self.run.steps

    @property
    def final_loss(self) -> float:
        """The loss of the last step."""
        return self.run.final_loss


def check_output(path: Path, force: bool, inputs: Sequence[str | Path] = ()) -> None:
    """Refuse, before any training, an output folder that is no valid submission id, a symlink, one that is, holds
    or is inside an input folder, or one that exists (unless `force`: then only a submission or empty folder)."""
    from harness.submissions import SUBMISSION_FILE
    from harness.submissions.schema import ID_PATTERN

    if path.is_symlink():
        raise UserError(
            f"-o/--output {path}: is a symlink, and replacing it would write through it",
            fix="give the real folder, or another one",
        )
    name = path.resolve().name
    if not ID_PATTERN.match(name):
        raise UserError(
            f"-o/--output {path}: folder name {name!r} is not a valid submission id",
            fix="name it with letters, digits, '.', '_' and '-' only (it names result files), e.g. submissions/minilm-rte",
        )
    out = path.resolve()
    for given in inputs:
        source = Path(given).resolve()
        if out == source or source.is_relative_to(out) or out.is_relative_to(source):
            raise UserError(
                f"-o/--output {path}: is, holds or is inside the input {given}, which training reads",
                fix="write the output somewhere else (e.g. submissions/NEW)",
            )
    if not path.exists():
        return
    if not force:
        raise UserError(
            f"-o/--output {path}: the folder exists", fix="choose another folder, or pass --force to replace it"
        )
    if not path.is_dir() or (any(path.iterdir()) and not (path / SUBMISSION_FILE).is_file()):
        raise UserError(
            f"-o/--output {path}: exists and is not a submission folder, so --force does not replace it",
            fix="choose another folder",
        )


def write_submission(
    path: Path,
    force: bool,
    module: Any,
    tokenizer: Any,
    meta: dict[str, Any],
    log: tuple[dict[str, float], ...],
    inputs: Sequence[str | Path] = (),
) -> Path:
    """Write model/ (safetensors and the tokenizer), submission.yaml and the training log in a temporary folder,
    `check_submission` it there, then swap it into place (harness.submissions.writing); returns the folder."""
    import yaml

    from harness.submissions import SUBMISSION_FILE, check_submission
    from harness.submissions.writing import write_folder

    check_output(path, force, inputs)

    def fill(tmp: Path) -> None:
        (tmp / MODEL_FOLDER).mkdir()
        module.save_pretrained(str(tmp / MODEL_FOLDER))
        tokenizer.save_pretrained(str(tmp / MODEL_FOLDER))
        text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=120)
        (tmp / SUBMISSION_FILE).write_text(text, encoding="utf-8")
        with open(tmp / LOG_FILE, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(entry) + "\n" for entry in log)

    return write_folder(path, fill, check_submission)


def start(task: str | Task, output: str | Path, settings: TrainSettings, command: str) -> tuple[Task, Path]:
    """The set-up both recipes share before loading anything: the task (refused when untrainable), the settings
    checked, the output as a path."""
    from harness.tasks import get_task
    from harness.training.models import check_trainable

    task = get_task(task) if isinstance(task, str) else task
    check_trainable(task, command)
    settings.check()
    return task, Path(output)


def finish(
    output: Path,
    force: bool,
    model: Any,
    run: TrainResult,
    inputs: Sequence[str | Path],
    *,
    team: str | None,
    contact: str | None,
    projection: Any = None,
    **meta: Any,
) -> Trained:
    """Write the trained `model` (a TaskModel) as the submission `output` with submission_meta(**meta) and the run's
    log, refusing an output among `inputs`; returns what was written."""
    doc = submission_meta(team=team or DEFAULT_TEAM, contact=contact or DEFAULT_CONTACT, **meta)
    write_submission(output, force, model.module, model.tokenizer, doc, run.log, inputs)
    return Trained(output, run, projection)


def submission_meta(
    *,
    name: str,
    team: str,
    contact: str,
    methods: tuple[str, ...],
    base_model: str,
    task: str,
    description: str,
    teacher_model: str | None = None,
    teacher: str | None = None,
) -> dict[str, Any]:
    """submission.yaml's keys in the schema's order, the model folder declared with its sequence_classification
    head."""
    meta: dict[str, Any] = {"name": name, "team": team, "contact": contact, "methods": list(methods)}
    meta["base_model"] = base_model
    if teacher_model is not None:
        meta["teacher_model"] = teacher_model
    if teacher is not None:  # the teacher's submission id, when the teacher is a submission folder
        meta["teacher"] = teacher
    meta["description"] = description
    meta["tasks"] = {task: {"model": MODEL_FOLDER, "head": "sequence_classification"}}
    return meta


def run_summary(run: TrainResult, rows: int, batch_size: int, threads: int | None) -> str:
    """What the run did, for a description: steps, passes over the rows, final loss and time taken."""
    import torch

    per_step = run.seconds / run.steps if run.steps else 0.0
    return (
        f"{run.steps} steps ({run.epochs:.2f} epochs over {rows} train rows), final train loss {run.final_loss:.4f}, "
        f"{run.seconds:.1f} s ({per_step:.3f} s/step) on {threads or torch.get_num_threads()} CPU threads"
    )


def settings_text(settings: TrainSettings, length: int) -> str:
    """The training settings in words, for a submission's description."""
    budget = f"step budget {settings.max_steps}" if settings.max_steps is not None else f"{settings.epochs} epochs"
    return (
        f"Settings: seed {settings.seed}, {budget}, lr {settings.lr:g} (AdamW, weight decay {WEIGHT_DECAY:g}, linear "
        f"decay, warmup {settings.warmup_share:g} of the steps), batch {settings.batch_size}, max length {length}, "
        f"gradient clip {settings.clip:g}" + (f", first {settings.limit} train rows" if settings.limit else "")
    )


def short_name(name: str) -> str:
    """A model's name for a display name: its folder's name, or the folder above for a folder called `model`."""
    path = Path(name)
    return path.parent.name if path.name == MODEL_FOLDER and path.parent.name else path.name
