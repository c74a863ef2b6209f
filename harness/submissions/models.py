"""Checks that need each submission model loaded (once per folder, head and outputs): labels, declared parameters,
the tokenizer against the embedding table, position embeddings against the evaluation length, and one forward pass
on a real example of each task (what otherwise fails only at evaluation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.backends.files import TOKENIZER_FILES
from harness.errors import UserError
from harness.submissions.folders import _read_config, declared_origin
from harness.submissions.submission import SUBMISSION_FILE, Submission, TaskEntry
from harness.yamlcheck import Problem

# The fixes when a harness error carries none of its own
RESAVE = "re-save it with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)"
RELABEL = "fine-tune the model for the task's labels, or fix num_labels and id2label in config.json"
EVALUATE_FIX = "run harness evaluate on the folder to see the traceback"
RETOKENIZE = "save the tokenizer the model was trained with, or resize the embeddings"
MAX_ERROR_CHARS = 300  # of a failed forward's exception message: enough to recognize it, bounded
# model types whose position ids start after the padding id (RoBERTa: 514 positions hold 512 tokens)
PADDING_OFFSET_TYPES = ("roberta", "xlm-roberta", "camembert", "data2vec-text")


def check_models(
    sub: Submission, usable: dict[tuple[Path, str], list[str]], allow_pickle: bool, problems: list[Problem]
) -> None:
    """Load each distinct (folder, head, declared outputs) once, then check labels and declared parameters of its
    tasks; problems are appended to `problems`."""
    from harness.backends import load_model
    from harness.backends.base import LoadOptions

    yaml_file = str(sub.path / SUBMISSION_FILE)
    loads: dict[tuple[Path, str, tuple[tuple[str, str], ...]], list[str]] = {}
    for (folder, head), tasks in usable.items():
        for name in tasks:
            loads.setdefault((folder, head, sub.tasks[name].outputs), []).append(name)
    shapes_checked: set[Path] = set()
    rows: dict[str, list | None] = {}  # task -> its first evaluation row (None: not in the data dir)
    for (folder, head, outputs), names in loads.items():
        try:
            options = LoadOptions(allow_pickle=allow_pickle, outputs=outputs)
            model = load_model(folder, head, options, backend=sub.backend)
        except UserError as e:
            problems.append(
                Problem(str(folder), f"tasks.{names[0]}.model", e.message.removeprefix(f"{folder}: "), e.fix or RESAVE)
            )
            continue
        measured = _parameters(model)
        if folder not in shapes_checked:
            shapes_checked.add(folder)
            problems += _vocabulary_problems(model, folder, f"tasks.{names[0]}.model")
            problems += _position_problems(sub, folder)
        wrong: dict[tuple[str, int], list[str]] = {}  # (yaml key path, declared) -> tasks: one problem each
        for name in names:
            labels = _label_problems(sub.tasks[name], model, str(folder))
            problems += labels
            if not labels:
                problems += _forward_problems(sub.tasks[name], model, folder, rows)
            declared = sub.tasks[name].declared.parameters
            if declared is not None and measured is not None and declared != measured:
                wrong.setdefault((declared_origin(sub.tasks[name], "parameters"), declared), []).append(name)
        for (origin, declared), tasks in wrong.items():
            problems.append(
                Problem(
                    yaml_file,
                    origin,
                    f"declared {declared} parameters, measured {measured} "
                    f"(unique tensors of {folder} loaded as {head}, for {', '.join(tasks)})",
                    f"set {origin}: {measured}, or remove it",
                )
            )
        del model


def _label_problems(entry: TaskEntry, model: Any, folder: str) -> list[Problem]:
    """Whether the model's outputs fit the task's labels (classification and regression tasks)."""
    from harness.inference.formulations.classify import label_mapping
    from harness.tasks import get_task

    task = get_task(entry.task)
    where = f"tasks.{entry.task}"
    if task.kind not in ("classification", "regression"):
        return []
    if entry.head == "cosine":  # no outputs to map: the schema checked that the task is a pair regression
        return []
    try:
        label_mapping(task, model.id2label, len(model.id2label))
    except UserError as e:
        return [Problem(str(Path(folder) / "config.json"), f"{where}.model", e.message, e.fix or RELABEL)]
    return []


def _parameters(model: Any) -> int | None:
    """The parameters of a loaded model as its backend counts them (None where it counts none)."""
    total = model.count_params().get("total_params")
    return total if type(total) is int else None


def _vocabulary_problems(model: Any, folder: Path, where: str) -> list[Problem]:
    """A tokenizer that can produce ids past the model's input embedding table (its rows, else config.json
    vocab_size)."""
    config = _read_config(folder) or {}
    vocab = config.get("vocab_size")
    rows = _embedding_rows(model)
    table = rows if rows is not None else vocab if type(vocab) is int else None
    try:
        tokens = len(model.tokenizer)
    except TypeError:  # a tokenizer without a length: nothing to compare
        return []
    if table is None or tokens <= table:
        return []
    named = f"config.json vocab_size {table:,}" if table == vocab else f"the input embedding's {table:,} rows"
    file = next((folder / f for f in TOKENIZER_FILES if (folder / f).is_file()), folder)
    return [
        Problem(
            str(file),
            where,
            f"{tokens:,} tokens but {named}: ids over {table - 1:,} index past the embedding table",
            RETOKENIZE,
        )
    ]


def _embedding_rows(model: Any) -> int | None:
    """The rows of a torch model's input embedding table (None for other backends or modules without one)."""
    get = getattr(getattr(model, "module", None), "get_input_embeddings", None)
    try:
        rows = getattr(get(), "num_embeddings", None) if callable(get) else None
    except Exception:  # noqa: BLE001 - a module without input embeddings (NotImplementedError) has no table
        return None
    return rows if type(rows) is int else None


def _position_problems(sub: Submission, folder: Path) -> list[Problem]:
    """config.json max_position_embeddings below the length a task of the folder is evaluated at (the harness
    default: EvalSettings().max_length unset, each task's own max_length); configs without it are skipped."""
    from harness.inference.formulations import EvalSettings
    from harness.tasks import get_task

    config = _read_config(folder) or {}
    positions = config.get("max_position_embeddings")
    if type(positions) is not int:
        return []
    pad = config.get("pad_token_id")
    offset = (pad if type(pad) is int else 1) + 1 if config.get("model_type") in PADDING_OFFSET_TYPES else 0
    tasks = [name for name, entry in sub.tasks.items() if entry.model == folder]
    length, task = max((EvalSettings().length_for(get_task(sub.tasks[n].task)), n) for n in tasks)
    if positions - offset >= length:
        return []
    held = f" (it holds {positions - offset} tokens after the padding offset)" if offset else ""
    return [
        Problem(
            str(folder / "config.json"),
            f"tasks.{task}.model: max_position_embeddings",
            f"max_position_embeddings {positions}{held} is below {length}, the max length task {task} is "
            "evaluated at (the harness default: EvalSettings().max_length unset, each task's own max_length; a track's "
            "measurement.max_length may set another): longer inputs index past the position table",
            f"keep the base model's position table: max_position_embeddings {length + offset} or more, trained",
        )
    ]


def _forward_problems(entry: TaskEntry, model: Any, folder: Path, rows: dict[str, list | None]) -> list[Problem]:
    """One forward pass of the task's formulation (its evaluation path, batch size 1) on the first row of its
    evaluation split in the data dir; skipped when the data dir lacks the task's file. Non-finite outputs fail."""
    from harness.inference.formulations import EvalSettings, formulation
    from harness.tasks import get_task

    task = get_task(entry.task)
    if entry.task not in rows:
        rows[entry.task] = _first_row(task)
    first = rows[entry.task]
    if first is None:
        return []
    try:
        formulation(task).predict(task, _FiniteOutputs(model, task.name), first, EvalSettings(batch_size=1))
    except Exception as e:  # noqa: BLE001 - whatever fails is reported, as evaluation would fail
        text = e.message.removeprefix(f"task {task.name}: ") if isinstance(e, UserError) else str(e)
        text = text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."
        fix = e.fix if isinstance(e, UserError) and e.fix else EVALUATE_FIX
        return [
            Problem(
                str(folder),
                f"tasks.{entry.task}",
                f"task {entry.task}: a forward pass on the first row of {task.source.mirror_file} failed "
                f"({type(e).__name__}: {text})",
                fix if fix == EVALUATE_FIX else f"{fix}; or {EVALUATE_FIX}",
            )
        ]
    return []


def _first_row(task: Any) -> list | None:
    """The first row of a task's evaluation split from the data dir (HARNESS_DATA_DIR); None without a data dir,
    without the task's file in it, or when the file does not read (evaluation reports that, not check)."""
    from harness.tasks.data import load_rows, resolve_data_dir

    try:
        root = resolve_data_dir(None)
        if root is None or not (root / task.source.mirror_file).is_file():
            return None
        return load_rows(task, root, limit=1)
    except UserError:
        return None


class _FiniteOutputs:
    """A model whose forward outputs are refused when non-finite, as classification refuses its logits (every
    formulation's forward, not classification's alone); everything else is the model's."""

    def __init__(self, model: Any, task_name: str) -> None:
        self._model, self._task_name = model, task_name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The model's outputs, each floating array checked by harness.inference.formulations.classify.finite."""
        import numpy as np

        from harness.inference.formulations.classify import finite

        out = self._model.forward(batch)
        for value in out.values():
            array = np.asarray(value)
            if np.issubdtype(array.dtype, np.floating) and array.ndim:
                finite(array, self._model, self._task_name)
        return out
