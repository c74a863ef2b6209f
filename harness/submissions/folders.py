"""Static checks of a submission's model folders: config.json, tokenizer and weight files, the passages a
retriever reads, trained head weights, and the declared size of each folder (no model is loaded here)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from harness.backends.files import (
    CUSTOM_CODE_FIX,
    INDEX_FIX,
    OUTSIDE_FIX,
    SPECIAL_FIX,
    TOKENIZER_FILES,
    custom_code,
    index_problems,
    outside_files,
    oversized_files,
    read_json,
    special_files,
    special_message,
)
from harness.backends.heads import HEADS_TABLE
from harness.errors import UserError, closest_match
from harness.inference.retrieval import PASSAGES_FILE
from harness.submissions.submission import SUBMISSION_FILE, Submission, TaskEntry
from harness.yamlcheck import Problem

SIZE_TOLERANCE = 0.01  # relative: declared size_bytes may differ this much (line endings, re-saved json)
# A head needs its own trained weights: config.json `architectures` names the class that saved them.
HEAD_ARCHITECTURES = {h.name: h.trained_suffix for h in HEADS_TABLE if h.trained_suffix}
# config.json keys whose loss changes predictions silently: a misspelt id2label maps labels in dataset order
CRITICAL_CONFIG_KEYS = ("id2label", "label2id", "architectures", "model_type", "problem_type")
# difflib ratio from which a key reads as a misspelling (id2lable: 0.875). Of the default configs of transformers'
# 820 model classes, only `architecture` (gemma3n_vision, timm_wrapper) comes this close; saved, they also have
# `architectures`, and a key is flagged only when the key it resembles is absent.
MISSPELT = 0.85


def check_folders(sub: Submission, allow_pickle: bool, problems: list[Problem]) -> dict[tuple[Path, str], list[str]]:
    """Static checks of every model folder (each once), appended to `problems`; returns (folder, head) -> the tasks
    whose model can be loaded."""
    yaml_file = str(sub.path / SUBMISSION_FILE)
    broken: set[Path] = set()
    linked: set[Path] = set()  # folders with links out of the submission or oversized files: none is read
    checked: set[Path] = set()
    sizes: dict[tuple[str, Path], int] = {}  # (yaml key path, folder) -> bytes: each compared once
    usable: dict[tuple[Path, str], list[str]] = {}
    for name, entry in sub.tasks.items():
        where = f"tasks.{name}.model"
        if entry.model not in checked:
            checked.add(entry.model)
            outside = [
                Problem(str(f), where, "a link to a file outside the submission folder (not read)", OUTSIDE_FIX)
                for f in outside_files(entry.model, sub.path)
            ]
            oversized = [
                Problem(str(o.file), where, o.message().removeprefix(f"{o.file}: "), o.fix)
                for o in ([] if outside else oversized_files(entry.model))
            ]
            special = [
                Problem(str(f), where, special_message(f).removeprefix(f"{f}: "), SPECIAL_FIX)
                for f in ([] if outside else special_files(entry.model))
            ]
            if outside or oversized or special:  # nothing of the folder is read: linked, too big, or a FIFO
                linked.add(entry.model)
                found = outside + oversized + special
            else:
                found = _folder_problems(entry.model, where, sub, allow_pickle) + _compressed_problems(
                    entry.model, where, sub
                )
            problems += found
            if found:
                broken.add(entry.model)
        if entry.model in linked:
            continue
        loadable = entry.model not in broken and bool(sub.backend)
        problem = _head_weights_problem(entry, where)
        if problem is not None:
            problems.append(problem)
            loadable = False
        if entry.head == "retriever_reader" and not (entry.model / PASSAGES_FILE).is_file():
            problems.append(
                Problem(
                    str(entry.model),
                    f"tasks.{name}.head",
                    f"a retriever_reader head reads its passages from {PASSAGES_FILE}, which is missing",
                    f'put the passages the retriever searches in {PASSAGES_FILE}, one {{"id", "text"}} '
                    "object per line (their bytes count toward the system size)",
                )
            )
            loadable = False
        origin = declared_origin(entry, "size_bytes")
        if entry.declared.size_bytes is not None and (origin, entry.model) not in sizes:
            size = sizes[origin, entry.model] = _folder_bytes(entry.model)
            if abs(size - entry.declared.size_bytes) > SIZE_TOLERANCE * size:
                problems.append(
                    Problem(
                        yaml_file,
                        origin,
                        f"declared {entry.declared.size_bytes} bytes, measured {size} "
                        f"(all files of {entry.model}, tolerance {SIZE_TOLERANCE:.0%})",
                        f"set {origin}: {size}, or remove it",
                    )
                )
        if loadable:
            usable.setdefault((entry.model, entry.head), []).append(name)
    return usable


def _head_weights_problem(entry: TaskEntry, where: str) -> Problem | None:
    """A head whose weights the folder lacks (config.json `architectures` names another class, or none)."""
    suffix = HEAD_ARCHITECTURES.get(entry.head)
    config = _read_config(entry.model)
    if not suffix or config is None:
        return None
    architectures = config.get("architectures")
    if not isinstance(architectures, list) or not architectures:
        return Problem(
            str(entry.model / "config.json"),
            where,
            f"no `architectures` list, so nothing shows the folder holds a trained {entry.head} head "
            "(without one it would be initialized at random)",
            f"save the fine-tuned *{suffix} model with model.save_pretrained(folder), which records it",
        )
    if any(str(a).endswith(suffix) for a in architectures):
        return None
    return Problem(
        str(entry.model / "config.json"),
        where,
        f"no trained {entry.head} head: the folder was saved as {', '.join(map(str, architectures))}, "
        "so the head would be initialized at random",
        f"save the fine-tuned *{suffix} model there, or choose another head in tasks.{entry.task}.head",
    )


def _folder_problems(path: Path, where: str, sub: Submission, allow_pickle: bool) -> list[Problem]:
    """config.json, tokenizer and weights files of one model folder; the backend's own checks when its module
    offers `folder_problems(path)` ((file, message, fix) each)."""
    from harness.backends.base import SAFE_WEIGHTS_SUFFIX, weight_files

    own = _backend_checks(sub.backend)
    if own is not None:
        return [Problem(file, where, message, fix) for file, message, fix in own(path)]
    out = []
    config = path / "config.json"
    if not config.is_file():
        out.append(
            Problem(
                str(path),
                where,
                "no config.json",
                "save the model with model.save_pretrained(folder), which writes config.json",
            )
        )
    elif isinstance(data := _config_or_error(path), UserError):
        out.append(Problem(str(config), where, data.message.removeprefix(f"{config}: "), data.fix or ""))
    elif not isinstance(data, dict):
        out.append(
            Problem(str(config), where, "not a valid JSON object", "re-save it with model.save_pretrained(folder)")
        )
    else:
        if (code := custom_code(data)) is not None:
            out.append(Problem(str(config), where, code, CUSTOM_CODE_FIX))
        for key in data:
            close = closest_match(str(key), CRITICAL_CONFIG_KEYS, cutoff=MISSPELT)
            if key not in CRITICAL_CONFIG_KEYS and close and close not in data:
                out.append(
                    Problem(
                        str(config),
                        f"{where}: {key}",
                        f"unknown key {key!r}, and no {close!r}: "
                        f"transformers would ignore it and fall back to defaults",
                        f"rename it to {close!r} (or re-save with model.save_pretrained(folder))",
                    )
                )
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        out.append(
            Problem(
                str(path),
                where,
                f"no tokenizer files (one of {', '.join(TOKENIZER_FILES)})",
                "save the tokenizer next to the model: tokenizer.save_pretrained(folder)",
            )
        )
    out += [Problem(str(index), where, message, INDEX_FIX) for index, message in index_problems(path)]
    safe, pickled = weight_files(path)
    if not safe and pickled and not (allow_pickle and sub.allow_pickle):
        missing = [] if sub.allow_pickle else ["the submitter (allow_pickle: true in submission.yaml)"]
        missing += [] if allow_pickle else ["the organizer (harness check --allow-pickle)"]
        out.append(
            Problem(
                str(pickled[0]),
                where,
                "weights in pickle format, which can run code when loaded",
                "convert them: model.save_pretrained(folder, safe_serialization=True); or opt in: "
                + " and ".join(missing),
            )
        )
    if not safe and not pickled:
        out.append(
            Problem(
                str(path),
                where,
                f"no weights file (model{SAFE_WEIGHTS_SUFFIX})",
                "save the model with model.save_pretrained(folder)",
            )
        )
    return out


def _compressed_problems(path: Path, where: str, sub: Submission) -> list[Problem]:
    """A compressed.json's document (harness.backends.torch_compressed), its recipe chain equal to submission.yaml's
    `compression:`, and each recipe's method family among `methods`."""
    from harness.backends.torch_compressed import COMPRESSED_FILE, read_document
    from harness.submissions.compression import RECIPE_SPECS, step_problems

    if not (path / COMPRESSED_FILE).exists() and not (path / COMPRESSED_FILE).is_symlink():
        return []
    file, yaml_file = str(path / COMPRESSED_FILE), str(sub.path / SUBMISSION_FILE)
    try:
        recipes = read_document(path).get("recipes", [])
    except UserError as e:
        return [Problem(file, where, e.message.removeprefix(f"{file}: "), e.fix)]
    for i, step in enumerate(recipes):
        for name, message, fix in step_problems(step["recipe"], {k: v for k, v in step.items() if k != "recipe"}):
            return [Problem(file, f"recipes[{i}].{name}", message, fix)]
    chain = [s.plain() for s in sub.compression]
    if chain != recipes:
        return [
            Problem(
                yaml_file,
                "compression",
                f"{chain} differs from the chain {file} records: {recipes}",
                "set compression: to the chain that made the folder (harness compress writes both)",
            )
        ]
    missing = [m for m in dict.fromkeys(RECIPE_SPECS[s["recipe"]].method for s in recipes) if m not in sub.methods]
    if missing:
        return [
            Problem(
                yaml_file,
                "methods",
                f"lacks {', '.join(missing)}, the family of a recipe of the chain",
                f"add {', '.join(missing)} to methods",
            )
        ]
    return []


def _backend_checks(backend: str) -> Callable[[Path], list[tuple[str, str, str]]] | None:
    """The named backend module's `folder_problems`, if it has one (None: the Hugging Face folder checks)."""
    import sys

    from harness.backends import BACKENDS

    if backend not in BACKENDS.names():
        return None
    return getattr(sys.modules[BACKENDS.get(backend).__module__], "folder_problems", None)


def _read_config(path: Path) -> dict | None:
    """A model folder's config.json as a mapping; None when it is missing, unreadable or not a JSON object."""
    data = _config_or_error(path)
    return data if isinstance(data, dict) else None


def _config_or_error(path: Path) -> object:
    """A model folder's config.json parsed (any JSON value), or the UserError naming why it is not read."""
    try:
        return read_json(path / "config.json", "re-save it with model.save_pretrained(folder)")
    except UserError as e:
        return e


def _folder_bytes(path: Path) -> int:
    """Bytes of every file in a model folder, as harness.measure.size measures them."""
    from harness.measure.size import measure_size

    return measure_size(path, compress=False).total_bytes


def declared_origin(entry: TaskEntry, key: str) -> str:
    """The yaml key path a task's declared number came from: its own entry, else the top level."""
    own = getattr(entry.own_declared, key)
    return f"tasks.{entry.task}.declared.{key}" if own is not None else f"declared.{key}"
