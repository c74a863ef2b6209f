"""Knowledge distillation of a fine-tuned teacher into a smaller student on the mirror's train rows, saved as a
complete submission (`harness distill`).

Logit KD (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network"): the loss is
alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * cross-entropy with the gold labels;
for regression, alpha * MSE to the teacher's output + (1 - alpha) * MSE to the gold score. Optional hidden-state
KD adds the MSE between mapped layers' hidden states (student layer i <- teacher layer round(i * Lt / Ls), rounded
half up), averaged over real tokens and matched layers, through one linear projection shared by all layers when
the widths differ (as TinyBERT's W_h, Jiao et al. 2020); the projection is trained with the student and not saved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.tasks.base import Row, Task
from harness.training.loop import TrainSettings
from harness.training.models import SEQUENCE_CLASSIFICATION, TaskModel
from harness.training.output import Trained

# The defaults of the DistilBERT distillation script (Sanh et al. 2019; transformers' research_projects/distillation
# train.py: --temperature 2.0, --alpha_ce 0.5)
DEFAULT_TEMPERATURE = 2.0
DEFAULT_ALPHA = 0.5
HIDDEN_WEIGHT = 1.0  # the hidden-state term is added to the logit term unweighted, as TinyBERT sums its terms


@dataclass(frozen=True)
class KDSettings:
    """How the student learns from the teacher: temperature, the soft loss's share, hidden-state matching."""

    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA  # weight of the soft (teacher) loss; 1 - alpha goes to the gold labels
    hidden_kd: bool = False

    def check(self) -> None:
        """Refuse a temperature <= 0 (a division by it) and an alpha outside [0, 1] (not a mix)."""
        t, a = self.temperature, self.alpha
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise UserError(f"KD setting temperature is {t!r}, not a number > 0", fix="give e.g. --temperature 2")
        if not (isinstance(a, (int, float)) and 0 <= a <= 1):
            raise UserError(
                f"KD setting alpha is {a!r}, outside [0, 1]",
                fix="give the soft loss's share, e.g. --alpha 0.5 (1: teacher only, 0: gold labels only)",
            )


def layer_map(teacher_layers: int, student_layers: int) -> list[tuple[int, int]]:
    """(student layer, teacher layer) pairs: student layer i (1..Ls) matched to teacher layer i * Lt / Ls rounded
    half up (hidden_states index: 0 is the embeddings, which are not matched)."""
    lt, ls = teacher_layers, student_layers
    return [(i, (2 * i * lt + ls) // (2 * ls)) for i in range(1, ls + 1)]  # floor(i * Lt / Ls + 1/2), in integers


def teacher_order(task: Task, id2label: dict[int, str], outputs: int) -> list[int]:
    """For each of the task's labels in dataset order, the teacher output that predicts it (classify.label_mapping
    read backwards); [0] for regression."""
    from harness.inference.formulations.classify import label_mapping

    mapping = label_mapping(task, id2label, outputs)
    return sorted(range(outputs), key=lambda i: mapping[i])


@dataclass(frozen=True)
class _Teacher:
    module: Any
    tokenizer: Any
    folder: Path
    name: str  # how the student's submission names it
    order: list[int]  # teacher output per task label


def load_teacher(path: str | Path, task: Task, max_length: int | None = None) -> _Teacher:
    """A fine-tuned teacher: a submission folder's model for `task`, or a model folder with a trained
    sequence_classification head whose outputs fit the task's labels."""
    import transformers

    from harness.backends.files import load_tokenizer
    from harness.backends.torch_hf import saved_head
    from harness.training.models import check_length, check_weights, model_source, quiet_transformers

    source = model_source(path, task, "teacher")
    folder = source.folder
    if saved_head(folder) != SEQUENCE_CLASSIFICATION or (source.head not in (None, SEQUENCE_CLASSIFICATION)):
        raise UserError(
            f"{folder}: the teacher has no trained sequence_classification head for task {task.name} "
            f"(head {source.head or saved_head(folder) or 'none'})",
            fix="fine-tune it first (harness finetune) and pass that submission as the teacher",
        )
    check_weights(folder)
    quiet_transformers()
    try:
        module = transformers.AutoModelForSequenceClassification.from_pretrained(
            str(folder), use_safetensors=True, trust_remote_code=False
        )
    except Exception as e:  # any load failure ends the same way for the user
        raise UserError(
            f"{folder}: the teacher does not load ({type(e).__name__}: {e})",
            fix="pass a folder saved with model.save_pretrained(folder)",
        ) from e
    check_length(folder, module.config, max_length)
    module.eval()
    id2label = {int(k): str(v) for k, v in (module.config.id2label or {}).items()}
    try:
        order = teacher_order(task, id2label, module.config.num_labels)
    except UserError as e:
        raise UserError(f"{folder}: teacher: {e.message}", fix=e.fix) from e
    return _Teacher(module, load_tokenizer(folder), folder, source.name, order)


class _Objective:
    """The KD loss of the student on a batch of rows, and the state it needs: both models' encodings of the rows,
    the gold, the layer pairs and the projection."""

    def __init__(
        self, teacher: _Teacher, student: TaskModel, task: Task, rows: Sequence[Row], kd: KDSettings, length: int
    ) -> None:
        import torch

        from harness.training.models import encode_rows, targets

        self.teacher, self.student, self.task, self.kd = teacher, student, task, kd
        self.student_features = encode_rows(student.module, student.tokenizer, student.folder, task, rows, length)
        self.teacher_features = encode_rows(teacher.module, teacher.tokenizer, teacher.folder, task, rows, length)
        self.gold = targets(task, rows)
        self.order = torch.tensor(teacher.order)
        self.pairs: list[tuple[int, int]] = []
        self.projection: Any = None
        if kd.hidden_kd:
            if any(s["input_ids"] != t["input_ids"] for s, t in zip(self.student_features, self.teacher_features)):
                raise UserError(
                    f"{student.folder}: hidden-state KD matches tokens one to one, and the student's tokenizer splits "
                    f"the rows otherwise than the teacher's ({teacher.folder})",
                    fix="use a student with the teacher's tokenizer, or leave out --hidden-kd",
                )
            t_cfg, s_cfg = teacher.module.config, student.module.config
            self.pairs = layer_map(t_cfg.num_hidden_layers, s_cfg.num_hidden_layers)
            self.widths = (s_cfg.hidden_size, t_cfg.hidden_size)
            if s_cfg.hidden_size != t_cfg.hidden_size:
                self.projection = torch.nn.Linear(s_cfg.hidden_size, t_cfg.hidden_size)

    def loss(self, idx: Sequence[int]) -> Any:
        """The KD loss on rows `idx` (the student's mode as it is: training mode has dropout on)."""
        import torch
        import torch.nn.functional as F

        from harness.training.models import batch_tensors, hard_loss

        hidden = self.kd.hidden_kd
        with torch.no_grad():
            t_out = self.teacher.module(
                **batch_tensors(self.teacher_features, idx, self.teacher.tokenizer), output_hidden_states=hidden
            )
        s_inputs = batch_tensors(self.student_features, idx, self.student.tokenizer)
        s_out = self.student.module(**s_inputs, output_hidden_states=hidden)
        teacher_logits = t_out.logits[:, self.order]
        gold = self.gold[list(idx)]
        a, t = self.kd.alpha, self.kd.temperature
        if self.task.labels:
            soft = F.kl_div(
                F.log_softmax(s_out.logits / t, dim=-1), F.softmax(teacher_logits / t, dim=-1), reduction="batchmean"
            ) * (t * t)
        else:
            soft = F.mse_loss(s_out.logits[:, 0], teacher_logits[:, 0])
        loss = a * soft + (1 - a) * hard_loss(self.task, s_out.logits, gold)
        if hidden:
            mask = s_inputs["attention_mask"].unsqueeze(-1).to(s_out.logits.dtype)
            terms = []
            for i, j in self.pairs:
                states = s_out.hidden_states[i]
                if self.projection is not None:
                    states = self.projection(states)
                err = (states - t_out.hidden_states[j]) ** 2 * mask
                terms.append(err.sum() / (mask.sum() * err.shape[-1]))
            loss = loss + HIDDEN_WEIGHT * torch.stack(terms).mean()
        return loss

    def describe(self) -> str:
        """The KD settings in words, for the student's description."""
        t, a = self.kd.temperature, self.kd.alpha
        if self.task.labels:
            text = (
                f"logit KD (Hinton et al. 2015), temperature {t:g}, alpha {a:g}: alpha * T^2 * KL(teacher || student "
                "at temperature T) + (1 - alpha) * cross-entropy with the gold labels"
            )
        else:
            text = (
                f"logit KD for regression, alpha {a:g}: alpha * MSE to the teacher's output + (1 - alpha) * MSE to "
                f"the gold score (temperature {t:g} unused)"
            )
        if self.kd.hidden_kd:
            pairs = ", ".join(f"student layer {i} <- teacher layer {j}" for i, j in self.pairs)
            s_width, t_width = self.widths
            proj = (
                f"a linear projection {s_width} -> {t_width} shared by the layers (trained with the student, not saved)"
                if self.projection is not None
                else f"no projection (both {t_width} wide)"
            )
            text += (
                f"; plus hidden-state KD (weight {HIDDEN_WEIGHT:g}): MSE of hidden states over real tokens, mean over "
                f"{pairs}; {proj}"
            )
        return text


def _prepare(
    teacher: str | Path,
    student: str | Path,
    task: Task,
    rows: Sequence[Row],
    kd: KDSettings,
    length: int,
    max_length: int | None = None,
) -> tuple[_Objective, Any]:
    """Teacher, student (its head drawn from torch's generator, then the projection) and the objective; refuses a
    student that is the teacher's folder."""
    from harness.training.models import load_task_model, model_source

    kd.check()
    t = load_teacher(teacher, task, max_length)
    source = model_source(student, task, "student")
    if source.folder.resolve() == t.folder.resolve():
        raise UserError(
            f"{student}: the student is the teacher's model folder ({t.folder}), so it would learn to copy itself",
            fix="pass a smaller student, e.g. a layer-dropped copy of the encoder",
        )
    s = load_task_model(source.folder, task, max_length)
    return _Objective(t, s, task, rows, kd, length), source


def distill(
    teacher: str | Path,
    student: str | Path,
    task: str | Task,
    output: str | Path,
    settings: TrainSettings = TrainSettings(),
    kd: KDSettings = KDSettings(),
    *,
    data_dir: str | Path | None = None,
    force: bool = False,
    name: str | None = None,
    team: str | None = None,
    contact: str | None = None,
    teacher_name: str | None = None,
) -> Trained:
    """Distill `teacher` into `student` on `task`'s train rows and write the submission folder `output`, naming the
    teacher (`teacher_name`, else its submission id or model name) and the KD settings."""
    from harness.submissions.submission import METHODS
    from harness.tasks.train_data import train_file, train_rows
    from harness.training.loop import seed_everything, train
    from harness.training.output import check_output, finish, run_summary, settings_text, short_name, start

    task, output = start(task, output, settings, "harness distill")
    kd.check()
    check_output(output, force, (teacher, student))
    rows = train_rows(task, data_dir, settings.limit)
    generator = seed_everything(settings.seed)
    length = settings.max_length or task.max_length
    objective, source = _prepare(teacher, student, task, rows, kd, length, settings.max_length)
    inputs = (teacher, student, objective.teacher.folder, source.folder)
    check_output(output, force, inputs)
    s = objective.student
    named = list(s.module.named_parameters())
    if objective.projection is not None:
        named += [(f"projection.{n}", p) for n, p in objective.projection.named_parameters()]
    modules = [s.module] + ([objective.projection] if objective.projection is not None else [])
    run = train(named, objective.loss, len(rows), settings, generator, modules, desc=f"distill {task.name}")
    teacher_id = teacher_name or objective.teacher.name
    description = (
        f"Distilled by harness distill on {task.name} ({train_file(task)}) from teacher {teacher_id} "
        f"into student {source.name} ({s.module.config.num_hidden_layers} layers, {s.head_note}): "
        f"{objective.describe()}. {run_summary(run, len(rows), settings.batch_size, settings.threads)}. "
        f"{settings_text(settings, length)}."
    )
    families = {"distillation", *source.methods}
    return finish(
        output,
        force,
        s,
        run,
        inputs,
        team=team,
        contact=contact,
        projection=objective.projection,
        name=name or f"{short_name(source.name)} distilled from {short_name(teacher_id)} on {task.name}",
        methods=tuple(m for m in METHODS if m in families),
        base_model=source.base_model,
        teacher_model=teacher_id,
        teacher=teacher_submission(teacher),
        task=task.name,
        description=description,
    )


def teacher_submission(teacher: str | Path) -> str | None:
    """The teacher's submission id (its folder's name) when `teacher` is a submission folder or a model folder
    inside one, else None: the student's submission.yaml names it as `teacher:` (agreement on the pages)."""
    from harness.submissions import SUBMISSION_FILE
    from harness.submissions.schema import ID_PATTERN

    path = Path(teacher).resolve()
    for folder in (path, path.parent):
        if (folder / SUBMISSION_FILE).is_file() and ID_PATTERN.match(folder.name):
            return folder.name
    return None


def kd_loss(
    teacher: str | Path,
    student: str | Path,
    task: str | Task,
    rows: Sequence[Row],
    kd: KDSettings = KDSettings(),
    seed: int | None = None,
    max_length: int | None = None,
    projection: Any = None,
) -> float:
    """The KD loss of `student` on `rows` as one batch in eval mode, its new head (and projection) drawn after seeding
    torch with `seed` as distillation draws them; `projection` replaces the drawn one (a run's trained projection)."""
    import torch

    from harness.tasks import get_task

    task = get_task(task) if isinstance(task, str) else task
    if seed is not None:
        torch.manual_seed(seed)
    objective, _ = _prepare(teacher, student, task, rows, kd, max_length or task.max_length)
    if projection is not None:
        objective.projection = projection
    objective.student.module.eval()
    if objective.projection is not None:
        objective.projection.eval()
    with torch.no_grad():
        return float(objective.loss(range(len(rows))))
