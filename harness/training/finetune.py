"""Fine-tune an encoder folder into a task classifier (or regressor, STS-B) on the mirror's train rows, saved as a
complete submission (`harness finetune`).

Inputs are encoded as `harness evaluate` encodes them (the task's texts, the pair tokenized together, padded per
batch), so training and evaluation see the same input form.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.tasks.base import Row, Task
from harness.training.loop import TrainSettings
from harness.training.output import Trained


def finetune(
    base: str | Path,
    task: str | Task,
    output: str | Path,
    settings: TrainSettings = TrainSettings(),
    *,
    data_dir: str | Path | None = None,
    force: bool = False,
    name: str | None = None,
    team: str | None = None,
    contact: str | None = None,
) -> Trained:
    """Fine-tune `base` (a model folder, or a submission folder's model) on `task`'s train rows and write the
    submission folder `output`; the method family is the base submission's, else `other`."""
    from harness.tasks.train_data import train_file, train_rows
    from harness.training.loop import seed_everything, train
    from harness.training.models import batch_tensors, encode_rows, hard_loss, load_task_model, model_source, targets
    from harness.training.output import check_output, finish, run_summary, settings_text, short_name, start

    task, output = start(task, output, settings, "harness finetune")
    source = model_source(base, task, "base")
    inputs = (base, source.folder)
    check_output(output, force, inputs)
    rows = train_rows(task, data_dir, settings.limit)
    generator = seed_everything(settings.seed)
    model = load_task_model(source.folder, task, settings.max_length)
    length = settings.max_length or task.max_length
    features = encode_rows(model.module, model.tokenizer, model.folder, task, rows, length)
    gold = targets(task, rows)

    def step_loss(idx: list[int]) -> Any:
        logits = model.module(**batch_tensors(features, idx, model.tokenizer)).logits
        return hard_loss(task, logits, gold[idx])

    run = train(
        list(model.module.named_parameters()),
        step_loss,
        len(rows),
        settings,
        generator,
        [model.module],
        desc=f"finetune {task.name}",
    )
    description = (
        f"Fine-tuned by harness finetune on {task.name} ({train_file(task)}) from {source.name}, "
        f"{model.head_note}: {run_summary(run, len(rows), settings.batch_size, settings.threads)}. "
        f"{settings_text(settings, length)}."
    )
    return finish(
        output,
        force,
        model,
        run,
        inputs,
        team=team,
        contact=contact,
        name=name or f"{short_name(source.name)} fine-tuned on {task.name}",
        methods=source.methods or ("other",),
        base_model=source.base_model,
        task=task.name,
        description=description,
    )


def task_loss(
    folder: str | Path, task: str | Task, rows: Sequence[Row], seed: int | None = None, max_length: int | None = None
) -> float:
    """The gold loss of `folder` loaded as `task`'s model (a new head drawn after seeding torch with `seed`, as
    fine-tuning draws it) on `rows` as one batch, in eval mode: the same loss the training steps take."""
    import torch

    from harness.tasks import get_task
    from harness.training.models import batch_tensors, encode_rows, hard_loss, load_task_model, targets

    task = get_task(task) if isinstance(task, str) else task
    if seed is not None:
        torch.manual_seed(seed)
    model = load_task_model(Path(folder), task)
    model.module.eval()
    features = encode_rows(model.module, model.tokenizer, model.folder, task, rows, max_length or task.max_length)
    with torch.no_grad():
        logits = model.module(**batch_tensors(features, range(len(rows)), model.tokenizer)).logits
        return float(hard_loss(task, logits, targets(task, rows)))
