"""Submission folders: the `submission.yaml` schema, loading it, and checking a whole folder at once.

A submission is a folder `submissions/ID/` (ID: letters, digits, `.`, `_`, `-`; it names result files)
holding `submission.yaml` and, per task, a model folder in Hugging Face `save_pretrained` layout.
The schema (unknown keys are errors, never ignored; submissions/README.md has an annotated example):

    name: MiniLM-L6 (cosine)        # required: display name
    team: Example Lab               # team or authors required (both allowed)
    authors: [Ada Lovelace]         # a list of names
    contact: someone@example.org    # required: an email address
    paper: https://arxiv.org/abs/0  # optional, http(s) only
    code: https://github.com/x/y    # optional, http(s) only
    methods: [distillation]         # required, non-empty; each one of METHODS
    base_model: nreimers/MiniLM-L6-H384-uncased   # optional: what it was compressed from
    teacher_model: bert-base-uncased              # optional: the distillation teacher
    description: one paragraph      # optional
    backend: torch                  # optional, default torch; a name in harness.backends.BACKENDS
    allow_pickle: false             # optional: the submitter's opt-in to pickle weights (the organizer
                                    #   must also pass --allow-pickle); safetensors needs no opt-in
    tasks:                          # required, non-empty: task id -> entry
      stsb: {model: model, head: cosine}   # model: folder relative to this one (required);
      sst2: {model: sst2-model}            # head: default is the first head of the task kind's formulation
    declared:                       # optional self-reported numbers, checked against measured ones;
      parameters: 22713216          #   exact: unique parameter tensors of the loaded model
      size_bytes: 90868376          #   bytes of every file in the model folder (within SIZE_TOLERANCE)

A task entry may carry its own `declared` mapping, which overrides the top-level one for that task's
model (the top-level numbers apply to every task's model).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from harness.backends.heads import HEADS_TABLE, heads_for
from harness.errors import ConfigError, UserError, did_you_mean
from harness.inference.retrieval import PASSAGES_FILE
from harness.yamlcheck import parse_yaml

SUBMISSION_FILE = "submission.yaml"
METHODS = ("distillation", "pruning", "quantization", "weight-sharing", "low-rank", "other")
DEFAULT_BACKEND = "torch"
TOP_KEYS = (
    "name",
    "team",
    "authors",
    "contact",
    "paper",
    "code",
    "methods",
    "base_model",
    "teacher_model",
    "description",
    "backend",
    "allow_pickle",
    "tasks",
    "declared",
)
TASK_KEYS = ("model", "head", "declared")
DECLARED_KEYS = ("parameters", "size_bytes")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
URL_SCHEMES = ("http", "https")
SIZE_TOLERANCE = 0.01  # relative: declared size_bytes may differ this much (line endings, re-saved json)
# Vocabulary files AutoTokenizer reads (the VOCAB_FILES_NAMES of transformers' tokenizers); one must exist.
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "spm.model",
    "tokenizer.model",
)
# A head needs its own trained weights: config.json `architectures` names the class that saved them.
HEAD_ARCHITECTURES = {h.name: h.trained_suffix for h in HEADS_TABLE if h.trained_suffix}
HASH_CHUNK_BYTES = 1 << 20
# config.json keys whose loss changes predictions silently: a misspelt id2label maps labels in dataset order
CRITICAL_CONFIG_KEYS = ("id2label", "label2id", "architectures", "model_type", "problem_type")
# difflib ratio from which a key reads as a misspelling (id2lable: 0.875). Of the default configs of transformers'
# 820 model classes, only `architecture` (gemma3n_vision, timm_wrapper) comes this close; saved, they also have
# `architectures`, and a key is flagged only when the key it resembles is absent.
MISSPELT = 0.85
README = "submissions/README.md"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a submission: the file, the key path in it, what is wrong, how to fix it."""

    file: str
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = ": ".join([self.file] + ([self.field] if self.field else []) + [self.message])
        return f"{text}; {self.fix}" if self.fix else text


@dataclass(frozen=True)
class Declared:
    """Self-reported numbers, checked against measured ones; None when not declared."""

    parameters: int | None = None
    size_bytes: int | None = None

    def overridden_by(self, other: "Declared") -> "Declared":
        """These numbers with every number `other` declares put in their place."""
        return Declared(
            *(
                b if b is not None else a
                for a, b in ((self.parameters, other.parameters), (self.size_bytes, other.size_bytes))
            )
        )


@dataclass(frozen=True)
class TaskEntry:
    """One task of a submission: the model folder it is evaluated with, the head, the declared numbers."""

    task: str
    model: Path
    head: str
    declared: Declared = Declared()  # effective: the entry's own numbers, else the top-level ones
    own_declared: Declared = Declared()  # the entry's own `declared` block only


@dataclass(frozen=True)
class Submission:
    """A parsed, schema-valid submission.yaml; `id` is the folder name."""

    id: str
    path: Path
    name: str
    contact: str
    methods: tuple[str, ...]
    tasks: dict[str, TaskEntry]
    team: str | None = None
    authors: tuple[str, ...] = ()
    paper: str | None = None
    code: str | None = None
    base_model: str | None = None
    teacher_model: str | None = None
    description: str = ""
    backend: str = DEFAULT_BACKEND
    allow_pickle: bool = False
    declared: Declared = Declared()


# ---------------------------------------------------------------- public entry points


def load_submission(path: str | Path) -> Submission:
    """Parse a submission folder's submission.yaml; raises ConfigError listing every schema problem."""
    submission, problems = _parse(Path(path))
    if problems or submission is None:
        lines = "\n".join(f"  {p}" for p in problems)
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the submission; run `harness check {path}`:\n{lines}")
    return submission


def check_submission(path: str | Path, *, allow_pickle: bool = False, load_models: bool = True) -> list[Problem]:
    """Every problem of a submission folder: schema, model folders and, if `load_models`, the loaded models.

    `allow_pickle` is the organizer's opt-in; pickle weights also need `allow_pickle: true` in the yaml.
    """
    submission, problems = _parse(Path(path))
    if submission is None:
        return problems
    usable = _check_folders(submission, allow_pickle, problems)
    if load_models and usable:
        _check_models(submission, usable, allow_pickle and submission.allow_pickle, problems)
    return problems


def submission_meta(sub: Submission) -> dict[str, Any]:
    """What a record keeps of a submission's metadata, for ranking by method family and for its page."""
    return {
        "name": sub.name,
        "team": sub.team or ", ".join(sub.authors),
        "methods": list(sub.methods),
        "paper": sub.paper,
        "code": sub.code,
        "base_model": sub.base_model,
        "teacher_model": sub.teacher_model,
        "description": sub.description,
    }


def sha256_files(path: str | Path) -> dict[str, str]:
    """sha256 of every file under `path` (hidden files and folders skipped), keyed by sorted posix relative path."""
    root = Path(path)
    out = {}
    for file in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
        rel = file.relative_to(root)
        if not file.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        digest = hashlib.sha256()
        with file.open("rb") as fh:
            while chunk := fh.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
        out[rel.as_posix()] = digest.hexdigest()
    return out


def combined_sha256(hashes: Mapping[str, str]) -> str:
    """One stable digest of a {relative path: sha256} mapping (sorted lines `sha256  path`)."""
    lines = "".join(f"{hashes[p]}  {p}\n" for p in sorted(hashes))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- YAML reading


def _read_yaml(file: Path) -> tuple[Any, list[Problem]]:
    """The parsed YAML document and its syntax or duplicate-key problems."""
    data, problems = parse_yaml(file)
    return data, [Problem(str(file), where, message, fix) for where, message, fix in problems]


# ---------------------------------------------------------------- schema


def _describe(value: Any) -> str:
    """A value as the user wrote it in YAML, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    kind = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(type(value), "")
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"{kind} {shown}" if kind else shown


class _Schema:
    """Collects problems while reading one submission.yaml; every reader returns None when invalid."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, field: str, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, field, message, fix))

    def keys(self, data: dict, allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if str(key) not in allowed:
                self.add(f"{prefix}{key}", f"unknown key {str(key)!r}", did_you_mean(str(key), allowed, "known keys"))

    def mapping(self, data: dict, key: str, field: str, *, required: bool = False) -> dict | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(field, "missing (required)", f"add `{key}:` as a mapping; see {README}")
            return None
        if not isinstance(value, dict):
            self.add(
                field,
                f"expected a mapping, got {_describe(value)}",
                f"write `{key}:` followed by indented `name: value` lines (or {{name: value}})",
            )
            return None
        return value

    def text(self, data: dict, key: str, field: str, *, required: bool = False, example: str = "...") -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(
                    field, "missing (required)" if key not in data else "empty (required)", f"add `{key}: {example}`"
                )
            return None
        if isinstance(value, str) and not value.strip():
            self.add(field, "empty", f"write {key}: {example}, or leave the key out")
            return None
        if not isinstance(value, str):
            self.add(
                field, f"expected text, got {_describe(value)}", f'write text, quoted if needed: {key}: "{example}"'
            )
            return None
        return value.strip()

    def texts(
        self, data: dict, key: str, field: str, *, required: bool = False, example: str = "..."
    ) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            if required:
                self.add(field, "missing (required)", f"add `{key}: [{example}]`")
            return None
        if not isinstance(value, list) or not value:
            self.add(field, f"expected a non-empty list, got {_describe(value)}", f"write a list: {key}: [{example}]")
            return None
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.add(f"{field}[{i}]", f"expected text, got {_describe(item)}", "write each item as text")
            else:
                out.append(item.strip())
        return tuple(out) if len(out) == len(value) else None

    def url(self, data: dict, key: str, field: str) -> str | None:
        value = self.text(data, key, field, example="https://...")
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in URL_SCHEMES or not parsed.netloc:
                self.add(
                    field, f"not an http(s) link: {value!r}", f"give a full link, e.g. {key}: https://example.org/..."
                )
                return None
        return value

    def count(self, data: dict, key: str, field: str) -> int | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.add(
                field,
                f"expected a whole number >= 0, got {_describe(value)}",
                f"write the exact number without units, e.g. {key}: 22713216",
            )
            return None
        return value

    def declared(self, data: dict, key: str, field: str) -> Declared:
        block = self.mapping(data, key, field)
        if block is None:
            return Declared()
        self.keys(block, DECLARED_KEYS, f"{field}.")
        return Declared(*(self.count(block, k, f"{field}.{k}") for k in DECLARED_KEYS))


def _parse(folder: Path) -> tuple[Submission | None, list[Problem]]:
    """Read and validate submission.yaml; the Submission is None when the file cannot be read at all."""
    if not folder.is_dir():
        return None, [
            Problem(
                str(folder),
                "",
                "not a folder",
                "pass a submission folder, e.g. submissions/NAME (the one holding submission.yaml)",
            )
        ]
    file = folder / SUBMISSION_FILE
    sub_id = folder.resolve().name
    problems = []
    if not ID_PATTERN.match(sub_id):
        problems.append(
            Problem(
                str(folder),
                "id",
                f"folder name {sub_id!r} is not a valid submission id",
                "rename the folder with letters, digits, '.', '_' and '-' only: it names result files",
            )
        )
    if not file.is_file():
        return None, problems + [Problem(str(file), "", "missing", f"create it: {README} has an annotated example")]
    data, yaml_problems = _read_yaml(file)
    problems += yaml_problems
    if data is None and not yaml_problems:
        return None, problems + [Problem(str(file), "", "empty file", f"fill it in: {README} has an annotated example")]
    if not isinstance(data, dict):
        if not yaml_problems:
            problems.append(
                Problem(
                    str(file),
                    "",
                    f"expected a mapping of keys at the top level, got {_describe(data)}",
                    f"write `key: value` lines, starting with `name:`; see {README}",
                )
            )
        return None, problems
    s = _Schema(str(file))
    s.keys(data, TOP_KEYS, "")
    name = s.text(data, "name", "name", required=True, example="MiniLM-L6 (cosine)")
    team = s.text(data, "team", "team", example="Example Lab")
    authors = s.texts(data, "authors", "authors", example="Ada Lovelace")
    if data.get("team") is None and data.get("authors") is None:
        s.add("team", "missing: give a team or authors", "add `team: NAME` or `authors: [NAME, ...]`")
    contact = s.text(data, "contact", "contact", required=True, example="someone@example.org")
    if contact is not None and not EMAIL_PATTERN.match(contact):
        s.add("contact", f"not an email address: {contact!r}", "give an email address: contact: someone@example.org")
        contact = None
    paper = s.url(data, "paper", "paper")
    code = s.url(data, "code", "code")
    methods = s.texts(data, "methods", "methods", required=True, example="distillation")
    for i, method in enumerate(methods or ()):
        if method not in METHODS:
            s.add(f"methods[{i}]", f"unknown method {method!r}", did_you_mean(method, METHODS, "methods"))
    base_model = s.text(data, "base_model", "base_model", example="bert-base-uncased")
    teacher_model = s.text(data, "teacher_model", "teacher_model", example="bert-base-uncased")
    description = s.text(data, "description", "description") or ""
    backend = _backend(s, data)
    allow_pickle = data.get("allow_pickle", False)
    if not isinstance(allow_pickle, bool):
        s.add("allow_pickle", f"expected true or false, got {_describe(allow_pickle)}", "write allow_pickle: false")
        allow_pickle = False
    declared = s.declared(data, "declared", "declared")
    tasks = _tasks(s, data, folder, declared)
    problems += s.problems
    # With no problems every required field holds a value; with problems the defaults stand in for the missing ones.
    return Submission(
        sub_id,
        folder,
        name or "",
        contact or "",
        methods or (),
        tasks,
        team,
        authors or (),
        paper,
        code,
        base_model,
        teacher_model,
        description,
        backend or "",
        allow_pickle,
        declared,
    ), problems


def _backend(s: _Schema, data: dict) -> str | None:
    from harness.backends import BACKENDS

    backend = (
        s.text(data, "backend", "backend", example=DEFAULT_BACKEND)
        if data.get("backend") is not None
        else DEFAULT_BACKEND
    )
    if backend is not None and backend not in BACKENDS:
        s.add("backend", f"unknown backend {backend!r}", did_you_mean(backend, BACKENDS.names(), "backends"))
        return None
    return backend


def _tasks(s: _Schema, data: dict, folder: Path, declared: Declared) -> dict[str, TaskEntry]:
    """Validated task entries; invalid ones are left out (their problems are recorded)."""
    from harness.tasks import get_task, task_names

    block = s.mapping(data, "tasks", "tasks", required=True)
    if block is None:
        return {}
    if not block:
        s.add("tasks", "no tasks", "add at least one: tasks: {sst2: {model: model}}")
    known = task_names()
    root = folder.resolve()
    out = {}
    for key, entry in block.items():
        name, where = str(key), f"tasks.{key}"
        if name not in known:
            s.add(where, f"unknown task {name!r}", did_you_mean(name, known, "known tasks"))
            continue
        if not isinstance(entry, dict):
            s.add(where, f"expected a mapping, got {_describe(entry)}", f"write {name}: {{model: FOLDER}}")
            continue
        s.keys(entry, TASK_KEYS, f"{where}.")
        task = get_task(name)
        heads = heads_for(task.kind)
        head = s.text(entry, "head", f"{where}.head", example=heads[0]) if entry.get("head") is not None else heads[0]
        if head is not None and head not in heads:
            s.add(
                f"{where}.head",
                f"head {head!r} does not fit task {name} ({task.kind})",
                f"use one of: {', '.join(heads)} (default {heads[0]})",
            )
            head = None
        if head == "cosine" and (task.kind != "regression" or len(task.text_fields) != 2):
            s.add(
                f"{where}.head",
                f"a cosine head scores sentence pairs by similarity, which does not fit "
                f"{name} ({task.kind}, inputs: {', '.join(task.text_fields)})",
                "use head: sequence_classification with a fine-tuned classifier",
            )
            head = None
        model = _model_path(s, entry, f"{where}.model", folder, root)
        own = s.declared(entry, "declared", f"{where}.declared")
        if head is not None and model is not None:
            out[name] = TaskEntry(name, model, head, declared.overridden_by(own), own)
    return out


def _model_path(s: _Schema, entry: dict, where: str, folder: Path, root: Path) -> Path | None:
    """The model folder of a task entry, which must exist inside the submission folder."""
    rel = s.text(entry, "model", where, required=True, example="model")
    if rel is None:
        return None
    path = folder / rel
    resolved = path.resolve()
    if Path(rel).is_absolute() or not resolved.is_relative_to(root):
        s.add(
            where,
            f"{rel!r} is outside the submission folder",
            "put the model folder inside the submission and give its path relative to submission.yaml",
        )
        return None
    if not path.exists():
        s.add(
            where,
            f"model folder {rel!r} is missing",
            f"put the model.save_pretrained() folder at {path}, or fix the path",
        )
        return None
    if not path.is_dir():
        s.add(where, f"{rel!r} is a file, not a folder", "give the folder that holds config.json and the weights")
        return None
    return path


# ---------------------------------------------------------------- model folders


def _check_folders(sub: Submission, allow_pickle: bool, problems: list[Problem]) -> dict[tuple[Path, str], list[str]]:
    """Static checks of every model folder (each once); returns (folder, head) -> tasks that can be loaded."""
    yaml_file = str(sub.path / SUBMISSION_FILE)
    broken: set[Path] = set()
    checked: set[Path] = set()
    sizes: dict[tuple[str, Path], int] = {}  # (yaml key path, folder) -> bytes: each compared once
    usable: dict[tuple[Path, str], list[str]] = {}
    for name, entry in sub.tasks.items():
        where = f"tasks.{name}.model"
        if entry.model not in checked:
            checked.add(entry.model)
            found = _folder_problems(entry.model, where, sub, allow_pickle)
            problems += found
            if found:
                broken.add(entry.model)
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
        origin = _declared_origin(entry, "size_bytes")
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
    """config.json, tokenizer and weights files of one model folder."""
    from harness.backends.base import SAFE_WEIGHTS_SUFFIX, weight_files

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
    elif (data := _read_config(path)) is None:
        out.append(
            Problem(str(config), where, "not a valid JSON object", "re-save it with model.save_pretrained(folder)")
        )
    else:
        for key in data:
            close = difflib.get_close_matches(str(key), CRITICAL_CONFIG_KEYS, n=1, cutoff=MISSPELT)
            if key not in CRITICAL_CONFIG_KEYS and close and close[0] not in data:
                out.append(
                    Problem(
                        str(config),
                        f"{where}: {key}",
                        f"unknown key {key!r}, and no {close[0]!r}: "
                        f"transformers would ignore it and fall back to defaults",
                        f"rename it to {close[0]!r} (or re-save with model.save_pretrained(folder))",
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


def _read_config(path: Path) -> dict | None:
    try:
        data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _folder_bytes(path: Path) -> int:
    """Bytes of every file in a model folder, as harness.measure.size measures them."""
    from harness.measure.size import measure_size

    return measure_size(path, compress=False).total_bytes


def _declared_origin(entry: TaskEntry, key: str) -> str:
    """The yaml key path a task's declared number came from: its own entry, else the top level."""
    own = getattr(entry.own_declared, key)
    return f"tasks.{entry.task}.declared.{key}" if own is not None else f"declared.{key}"


# ---------------------------------------------------------------- loaded models


def _check_models(
    sub: Submission, usable: dict[tuple[Path, str], list[str]], allow_pickle: bool, problems: list[Problem]
) -> None:
    """Load each distinct (folder, head) once, then check labels and declared parameters of its tasks."""
    from harness.backends import load_model
    from harness.backends.base import LoadOptions

    yaml_file = str(sub.path / SUBMISSION_FILE)
    for (folder, head), names in usable.items():
        try:
            model = load_model(folder, head, LoadOptions(allow_pickle=allow_pickle), backend=sub.backend)
        except UserError as e:
            message, fix = _split_fix(
                str(e).removeprefix(f"{folder}: "),
                "re-save it with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)",
            )
            problems.append(Problem(str(folder), f"tasks.{names[0]}.model", message, fix))
            continue
        measured = _parameters(model)
        wrong: dict[tuple[str, int], list[str]] = {}  # (yaml key path, declared) -> tasks: one problem each
        for name in names:
            problems += _label_problems(sub.tasks[name], model, str(folder))
            declared = sub.tasks[name].declared.parameters
            if declared is not None and measured is not None and declared != measured:
                wrong.setdefault((_declared_origin(sub.tasks[name], "parameters"), declared), []).append(name)
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
        message, fix = _split_fix(
            str(e), "fine-tune the model for the task's labels, or fix num_labels and id2label in config.json"
        )
        return [Problem(str(Path(folder) / "config.json"), f"{where}.model", message, fix)]
    return []


def _split_fix(text: str, default_fix: str) -> tuple[str, str]:
    """A UserError's text as (message, fix): harness errors end with '; FIX', else `default_fix` applies."""
    message, _, fix = text.rpartition("; ")
    return (message, fix) if message else (text, default_fix)


def _parameters(model: Any) -> int | None:
    """Unique parameters of a loaded torch model (None for backends without a torch module)."""
    module = getattr(model, "module", None)
    if module is None or not callable(getattr(module, "named_parameters", None)):
        return None
    from harness.measure.params import count_params

    return count_params(module).total_params
