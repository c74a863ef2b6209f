"""The `submission.yaml` schema, read with the YAML engine (`harness.yamlcheck`) in the words a submitter needs.

Every problem names the key and an example of the fix; unknown keys are errors, never ignored
(submissions/README.md has an annotated example):

    name: MiniLM-L6 (cosine)        # required: display name
    team: Example Lab               # team or authors required (both allowed)
    authors: [Ada Lovelace]         # a list of names
    contact: someone@example.org    # required: an email address
    paper: https://arxiv.org/abs/0  # optional, http(s) only
    code: https://github.com/x/y    # optional, http(s) only
    methods: [distillation]         # required, non-empty; each one of METHODS
    base_model: nreimers/MiniLM-L6-H384-uncased   # optional: what it was compressed from
    teacher_model: bert-base-uncased              # optional: the distillation teacher (free text)
    teacher: bert-base-finetuned    # optional: the teacher's submission id, when it is a submission here; its
                                    #   pages then show the student's agreement with it (harness.scoring.agreement)
    license: Apache-2.0             # optional: the licence of the weights (and where it is stated)
    description: one paragraph      # optional
    backend: torch                  # optional, default torch; a name in harness.backends.BACKENDS
    allow_pickle: false             # optional: the submitter's opt-in to pickle weights (the organizer
                                    #   must also pass --allow-pickle); safetensors needs no opt-in
    tasks:                          # required, non-empty: task id -> entry
      stsb: {model: model, head: cosine}   # model: folder relative to this one (required);
      sst2: {model: sst2-model}            # head: default is the first head of the task kind's formulation
      # outputs: optional, for graph backends (onnxruntime): head output name -> graph output name, e.g.
      #   stsb: {model: onnx-model, head: cosine, outputs: {last_hidden_state: "onnx::Shape_422"}}
    declared:                       # optional self-reported numbers, checked against measured ones;
      parameters: 22713216          #   exact: unique parameter tensors of the loaded model
      size_bytes: 90868376          #   bytes of every file in the model folder (within SIZE_TOLERANCE)
    compression:                    # optional: the recipe chain `harness compress` ran, in order; each step
      - {recipe: prune-magnitude, sparsity: 0.5}   # a recipe of harness.submissions.compression and its
      - {recipe: quantize-dynamic-int8}            #   parameters, typed

A task entry may carry its own `declared` mapping, which overrides the top-level one for that task's
model (the top-level numbers apply to every task's model).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

from harness.backends.files import OUTSIDE_FIX, SPECIAL_FIX, outside_files
from harness.backends.heads import GRAPH_BACKENDS, HEAD_OUTPUTS, heads_for
from harness.errors import did_you_mean
from harness.submissions.compression import COMPRESSION_KEY, CompressionStep, make_step, step_problems
from harness.submissions.submission import (
    DEFAULT_BACKEND,
    MAX_SUBMISSION_YAML_BYTES,
    METHODS,
    SUBMISSION_FILE,
    Declared,
    Submission,
    TaskEntry,
)
from harness.yamlcheck import Checker, Problem, described, parse_yaml

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
    "teacher",
    "license",
    "description",
    "backend",
    "allow_pickle",
    "tasks",
    "declared",
    COMPRESSION_KEY,
)
TASK_KEYS = ("model", "head", "declared", "outputs")
DECLARED_KEYS = ("parameters", "size_bytes")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")  # \Z, not $: $ also matches before a final newline
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
URL_SCHEMES = ("http", "https")
README = "submissions/README.md"
SHOWN_REASON = 60  # characters of a path error shown in a problem (the path itself is shown shortened)
SHOWN_PATH = 80  # characters of a `model:` path shown in a problem: enough to recognise it, never a 5000-char flood


class SubmissionChecker(Checker):
    """The YAML engine in submission.yaml's words: values shown with their kind, each unknown key at its own
    field with the did-you-mean as its fix, and readers of `data[key]` whose fixes show an example."""

    top_level = ""

    def describe(self, value: Any) -> str:
        """A bad value with its YAML kind (`a number 42`): submitters may be new to YAML."""
        return described(value)

    def unknown_key(self, path: str, key: str, keys: Sequence[str]) -> None:
        """An unknown key at its own field, with the closest known key (else all of them) as the fix."""
        self.fail(f"{path}.{key}" if path else key, f"unknown key {key!r}", did_you_mean(key, keys, "known keys"))

    def block(self, data: dict, key: str, field: str, *, required: bool = False) -> dict | None:
        """`data[key]` as a mapping (its keys unchecked); None when absent or not a mapping."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(field, "missing (required)", f"add `{key}:` as a mapping; see {README}")
            return None
        return self.mapping(
            value, field, fix=f"write `{key}:` followed by indented `name: value` lines (or {{name: value}})"
        )

    def field_text(
        self, data: dict, key: str, field: str, *, required: bool = False, example: str = "..."
    ) -> str | None:
        """`data[key]` as stripped non-empty text; None when absent, empty or not text."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(
                    field, "missing (required)" if key not in data else "empty (required)", f"add `{key}: {example}`"
                )
            return None
        if isinstance(value, str) and not value.strip():
            self.fail(field, "empty", f"write {key}: {example}, or leave the key out")
            return None
        text = self.text(value, field, fix=f'write text, quoted if needed: {key}: "{example}"')
        return text.strip() if text is not None else None

    def texts(
        self, data: dict, key: str, field: str, *, required: bool = False, example: str = "..."
    ) -> tuple[str, ...] | None:
        """`data[key]` as a non-empty list of text; None when absent or when any item is not text."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(field, "missing (required)", f"add `{key}: [{example}]`")
            return None
        items = self.sequence(value, field, non_empty=True, fix=f"write a list: {key}: [{example}]")
        if items is None:
            return None
        out = [self.text(item, f"{field}[{i}]", fix="write each item as text") for i, item in enumerate(items)]
        good = [t.strip() for t in out if t is not None]
        return tuple(good) if len(good) == len(items) else None

    def url(self, data: dict, key: str, field: str) -> str | None:
        """`data[key]` as a full http(s) link; None when absent or not one."""
        value = self.field_text(data, key, field, example="https://...")
        if value is not None:
            parsed = urlparse(value)
            if parsed.scheme not in URL_SCHEMES or not parsed.netloc:
                self.fail(
                    field, f"not an http(s) link: {value!r}", f"give a full link, e.g. {key}: https://example.org/..."
                )
                return None
        return value

    def count(self, data: dict, key: str, field: str) -> int | None:
        """`data[key]` as an exact whole number >= 0 (no units, no floats); None when absent or not one."""
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(
                field,
                f"expected a whole number >= 0, got {self.describe(value)}",
                f"write the exact number without units, e.g. {key}: 22713216",
            )
            return None
        return value

    def declared(self, data: dict, key: str, field: str) -> Declared:
        """`data[key]` as self-reported numbers (parameters, size_bytes); empty when absent or malformed."""
        block = self.block(data, key, field)
        if block is None:
            return Declared()
        self.unknown_keys(block, field, DECLARED_KEYS)
        return Declared(*(self.count(block, k, f"{field}.{k}") for k in DECLARED_KEYS))


def parse_submission(folder: Path) -> tuple[Submission | None, list[Problem]]:
    """Read and validate a folder's submission.yaml: the Submission (None when the file cannot be read at all) and
    every problem; with problems, defaults stand in for the missing fields."""
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
    try:
        sub_id = folder.resolve().name
    except (OSError, RuntimeError, ValueError) as e:  # RuntimeError: a symlink loop (Python < 3.13)
        return None, [Problem(str(folder), "", f"cannot resolve the folder ({_reason(e)})", "pass a plain folder")]
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
    if file.exists() and not file.is_file():  # a FIFO would block the read below forever
        return None, problems + [
            Problem(str(file), "", "not a regular file (a folder, FIFO, device or socket; not read)", SPECIAL_FIX)
        ]
    if not file.is_file():
        return None, problems + [Problem(str(file), "", "missing", f"create it: {README} has an annotated example")]
    if outside_files(file, folder):
        return None, problems + [Problem(str(file), "", "a link to a file outside the submission folder", OUTSIDE_FIX)]
    size = file.stat().st_size
    if size > MAX_SUBMISSION_YAML_BYTES:
        return None, problems + [
            Problem(
                str(file),
                "",
                f"{size} bytes, over the limit of {MAX_SUBMISSION_YAML_BYTES} (not read)",
                "keep submission.yaml to its keys: put data in files of the model folder",
            )
        ]
    data, yaml_problems = parse_yaml(file)
    problems += yaml_problems
    if data is None and not yaml_problems:
        return None, problems + [Problem(str(file), "", "empty file", f"fill it in: {README} has an annotated example")]
    s = SubmissionChecker(str(file))
    if not isinstance(data, dict):
        if not yaml_problems:
            s.fail(
                "",
                f"expected a mapping of keys at the top level, got {s.describe(data)}",
                f"write `key: value` lines, starting with `name:`; see {README}",
            )
        return None, problems + s.problems
    s.unknown_keys(data, "", TOP_KEYS)
    name = s.field_text(data, "name", "name", required=True, example="MiniLM-L6 (cosine)")
    team = s.field_text(data, "team", "team", example="Example Lab")
    authors = s.texts(data, "authors", "authors", example="Ada Lovelace")
    if data.get("team") is None and data.get("authors") is None:
        s.fail("team", "missing: give a team or authors", "add `team: NAME` or `authors: [NAME, ...]`")
    contact = s.field_text(data, "contact", "contact", required=True, example="someone@example.org")
    if contact is not None and not EMAIL_PATTERN.match(contact):
        s.fail("contact", f"not an email address: {contact!r}", "give an email address: contact: someone@example.org")
        contact = None
    paper = s.url(data, "paper", "paper")
    code = s.url(data, "code", "code")
    methods = s.texts(data, "methods", "methods", required=True, example="distillation")
    for i, method in enumerate(methods or ()):
        if method not in METHODS:
            s.fail(f"methods[{i}]", f"unknown method {method!r}", did_you_mean(method, METHODS, "methods"))
    base_model = s.field_text(data, "base_model", "base_model", example="bert-base-uncased")
    teacher_model = s.field_text(data, "teacher_model", "teacher_model", example="bert-base-uncased")
    teacher = _teacher(s, data, sub_id)
    licence = s.field_text(data, "license", "license", example="Apache-2.0")
    description = s.field_text(data, "description", "description") or ""
    backend = _backend(s, data)
    allow_pickle = bool(s.boolean(data.get("allow_pickle", False), "allow_pickle", fix="write allow_pickle: false"))
    declared = s.declared(data, "declared", "declared")
    tasks = _tasks(s, data, folder, declared, backend)
    compression = _compression(s, data)
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
        compression,
        licence,
        teacher,
    ), problems


def _teacher(s: SubmissionChecker, data: dict, sub_id: str) -> str | None:
    """`teacher:`, the id of the teacher's submission (its folder name); None when absent or malformed."""
    example = "bert-base-finetuned"
    teacher = s.field_text(data, "teacher", "teacher", example=example)
    if teacher is None:
        return None
    if not ID_PATTERN.match(teacher):
        s.fail(
            "teacher",
            f"{teacher!r} is not a submission id",
            f"give the teacher's submission folder name (letters, digits, '.', '_' and '-'), e.g. teacher: {example}; "
            "name a model that is no submission here with teacher_model: instead",
        )
        return None
    if teacher == sub_id:
        s.fail("teacher", f"names this submission ({sub_id}) as its own teacher", "give the teacher's submission id")
        return None
    return teacher


def _backend(s: SubmissionChecker, data: dict) -> str | None:
    from harness.backends import BACKENDS

    backend = (
        s.field_text(data, "backend", "backend", example=DEFAULT_BACKEND)
        if data.get("backend") is not None
        else DEFAULT_BACKEND
    )
    if backend is not None and backend not in BACKENDS:
        s.fail("backend", f"unknown backend {backend!r}", did_you_mean(backend, BACKENDS.names(), "backends"))
        return None
    return backend


def _tasks(
    s: SubmissionChecker, data: dict, folder: Path, declared: Declared, backend: str | None = DEFAULT_BACKEND
) -> dict[str, TaskEntry]:
    """Validated task entries; invalid ones are left out (their problems are recorded)."""
    from harness.tasks import get_task, task_names

    block = s.block(data, "tasks", "tasks", required=True)
    if block is None:
        return {}
    if not block:
        s.fail("tasks", "no tasks", "add at least one: tasks: {sst2: {model: model}}")
    known = task_names()
    root = folder.resolve()
    out = {}
    for key, entry in block.items():
        name, where = str(key), f"tasks.{key}"
        if name not in known:
            s.fail(where, f"unknown task {name!r}", did_you_mean(name, known, "known tasks"))
            continue
        if s.mapping(entry, where, fix=f"write {name}: {{model: FOLDER}}") is None:
            continue
        s.unknown_keys(entry, where, TASK_KEYS)
        task = get_task(name)
        heads = heads_for(task.kind)
        head = (
            s.field_text(entry, "head", f"{where}.head", example=heads[0])
            if entry.get("head") is not None
            else heads[0]
        )
        if head is not None and head not in heads:
            s.fail(
                f"{where}.head",
                f"head {head!r} does not fit task {name} ({task.kind})",
                f"use one of: {', '.join(heads)} (default {heads[0]})",
            )
            head = None
        if head == "cosine" and (task.kind != "regression" or len(task.text_fields) != 2):
            s.fail(
                f"{where}.head",
                f"a cosine head scores sentence pairs by similarity, which does not fit "
                f"{name} ({task.kind}, inputs: {', '.join(task.text_fields)})",
                "use head: sequence_classification with a fine-tuned classifier",
            )
            head = None
        model = _model_path(s, entry, f"{where}.model", folder, root)
        own = s.declared(entry, "declared", f"{where}.declared")
        outputs = _outputs(s, entry, f"{where}.outputs", head, backend)
        if head is not None and model is not None:
            out[name] = TaskEntry(name, model, head, declared.overridden_by(own), own, outputs)
    return out


def _outputs(
    s: SubmissionChecker, entry: dict, where: str, head: str | None, backend: str | None
) -> tuple[tuple[str, str], ...]:
    """A task entry's `outputs:` (head output name -> graph output name) as sorted pairs; () when absent or bad,
    or when the backend reads no graph outputs (refused: it would be ignored)."""
    example = "{last_hidden_state: <graph output name>}"
    block = s.block(entry, "outputs", where)
    if block is None:
        return ()
    if backend is not None and backend not in GRAPH_BACKENDS:
        s.fail(
            where,
            f"backend {backend} reads no named graph outputs, so `outputs:` would be ignored",
            f"remove `outputs:`, or set `backend: {GRAPH_BACKENDS[0]}` for an ONNX model folder",
        )
        return ()
    known = HEAD_OUTPUTS.get(head or "", ())
    pairs = []
    for key, value in block.items():
        if key not in known:
            s.fail(
                f"{where}.{key}",
                f"not an output of head {head}",
                f"name one of: {', '.join(known)}" if known else f"head {head} reads no named graph output",
            )
            continue
        text = s.text(value, f"{where}.{key}", fix=f"write the graph output's name as text: outputs: {example}")
        if text is not None:
            pairs.append((str(key), text))
    return tuple(sorted(pairs))


def _model_path(s: SubmissionChecker, entry: dict, where: str, folder: Path, root: Path) -> Path | None:
    """The model folder of a task entry, which must exist inside the submission folder."""
    rel = s.field_text(entry, "model", where, required=True, example="model")
    if rel is None:
        return None
    path = folder / rel
    try:
        resolved = path.resolve()
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, RuntimeError, ValueError) as e:  # a link loop, a NUL byte, a name too long for the system
        s.fail(
            where,
            f"{_short(rel)} is no usable folder path ({_reason(e)})",
            "give the model folder's path relative to submission.yaml, e.g. model",
        )
        return None
    if Path(rel).is_absolute() or not resolved.is_relative_to(root):
        s.fail(
            where,
            f"{_short(rel)} is outside the submission folder",
            "put the model folder inside the submission and give its path relative to submission.yaml",
        )
        return None
    if not exists:
        s.fail(
            where,
            f"model folder {_short(rel)} is missing",
            f"put the model.save_pretrained() folder at {_short(str(path))}, or fix the path",
        )
        return None
    if not is_dir:
        s.fail(
            where, f"{_short(rel)} is a file, not a folder", "give the folder that holds config.json and the weights"
        )
        return None
    return path


def _short(path: str) -> str:
    """A path's repr, cut to SHOWN_PATH characters."""
    return repr(path) if len(path) <= SHOWN_PATH else repr(path[:SHOWN_PATH]) + "..."


def _reason(error: Exception) -> str:
    """Why a path could not be used, in a few words (never a long path back)."""
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return "a symlink loop" if isinstance(error, RuntimeError) else str(error)[:SHOWN_REASON]


def _compression(s: SubmissionChecker, data: dict) -> tuple[CompressionStep, ...]:
    """The `compression:` chain: a list of {recipe: NAME, <param>: value}, each recipe known and its parameters
    typed (harness.submissions.compression); () when absent or with problems."""
    if data.get(COMPRESSION_KEY) is None:
        return ()
    example = "[{recipe: prune-magnitude, sparsity: 0.5}]"
    items = s.sequence(
        data[COMPRESSION_KEY], COMPRESSION_KEY, non_empty=True, fix=f"write {COMPRESSION_KEY}: {example}"
    )
    steps = []
    for i, item in enumerate(items or ()):
        where = f"{COMPRESSION_KEY}[{i}]"
        if s.mapping(item, where, fix=f"write each step as a mapping: {example[1:-1]}") is None:
            continue
        recipe = s.field_text(item, "recipe", f"{where}.recipe", required=True, example="prune-magnitude")
        if recipe is None:
            continue
        params = {str(k): v for k, v in item.items() if k != "recipe"}
        found = step_problems(recipe, params)
        for field, message, fix in found:
            s.fail(f"{where}.{field}", message, fix)
        if not found:
            steps.append(make_step(recipe, params))
    return tuple(steps) if len(steps) == len(items or ()) else ()
