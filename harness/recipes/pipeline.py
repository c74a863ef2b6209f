"""`harness compress`'s work: run a chain of recipes on every model of a base submission (or a bare model folder)
and write a complete submission folder: model folders, tokenizer files and a submission.yaml recording the chain.

A model no stock transformers class rebuilds is saved as data (harness.backends.torch_compressed); the rest with
save_pretrained. Nothing written is a pickle or code. The output folder appears whole or not at all.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.submissions.compression import RECIPE_SPECS, CompressionStep, step_problems
from harness.submissions.submission import DEFAULT_BACKEND

# files of a model folder that hold the tokenizer (harness.submissions.folders lists the vocabularies)
TOKENIZER_EXTRAS = ("tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "merges.txt")


@dataclass(frozen=True)
class Meta:
    """Who the new submission is from and what it is called; None: taken from the base submission."""

    name: str | None = None
    team: str | None = None
    contact: str | None = None


@dataclass
class Base:
    """What is compressed: model folders (relative path -> (folder, head)), tasks, the chain so far, metadata."""

    models: dict[str, tuple[Path, str]]
    tasks: dict[str, tuple[str, str]]  # task -> (model folder relative path, head)
    chain: list[CompressionStep]
    label: str  # what base_model names
    meta: dict[str, Any] = field(default_factory=dict)


def compress(
    base: Path,
    out: Path,
    steps: list[CompressionStep],
    *,
    task: str | None = None,
    head: str | None = None,
    meta: Meta = Meta(),
    force: bool = False,
) -> dict[str, list[str]]:
    """Compress `base` with `steps` into the submission folder `out`; returns model folder -> what each step did."""
    for i, step in enumerate(steps):
        for name, message, fix in step_problems(step.recipe, dict(step.params)):
            raise UserError(f"step {i + 1} ({step.recipe}): {name}: {message}", fix=fix)
    if not steps:
        raise UserError("no recipe given", fix="pass --recipe NAME (harness compress --help lists them)")
    if out.exists() and not force:
        raise UserError(f"--output {out}: exists already", fix="choose a new folder, or pass --force to replace it")
    if out.resolve() == base.resolve() or base.resolve().is_relative_to(out.resolve()):
        raise UserError(f"--output {out}: is the base folder or holds it", fix="write the output somewhere else")
    from harness.submissions.writing import write_folder

    source = _base(base, task, head)
    notes: dict[str, list[str]] = {}

    def fill(partial: Path) -> None:
        done = {rel: _compress_model(f, h, partial / rel, source, steps) for rel, (f, h) in source.models.items()}
        notes.update({rel: did for rel, (did, _) in done.items()})
        _write_yaml(partial, source, steps, notes, meta, next(iter(done.values()))[1])

    write_folder(out, fill, keep_failed=False)
    return notes


def _base(base: Path, task: str | None, head: str | None) -> Base:
    """The base submission's models and tasks, or the bare model folder's with `--task` (and `--head`)."""
    from harness.backends.heads import heads_for
    from harness.backends.torch_compressed import COMPRESSED_FILE, read_document
    from harness.backends.torch_hf import saved_head
    from harness.submissions import SUBMISSION_FILE, load_submission
    from harness.submissions.compression import make_step
    from harness.tasks import get_task

    if (base / SUBMISSION_FILE).is_file():
        if task or head:
            raise UserError(
                f"--task/--head: {base} is a submission folder, whose tasks and heads are compressed",
                fix="leave --task and --head out, or pass a bare model folder",
            )
        sub = load_submission(base)
        if sub.backend != DEFAULT_BACKEND:
            raise UserError(
                f"{base / SUBMISSION_FILE}: backend: the recipes compress torch models, not {sub.backend}",
                fix="compress the torch submission this one was made from",
            )
        models: dict[str, tuple[Path, str]] = {}
        tasks = {}
        for name, entry in sub.tasks.items():
            rel = entry.model.relative_to(base).as_posix()
            if rel in models and models[rel][1] != entry.head:
                raise UserError(
                    f"{base / SUBMISSION_FILE}: tasks.{name}.head: model {rel} runs with two heads",
                    fix="compress a submission whose model folders each run with one head",
                )
            models[rel] = (entry.model, entry.head)
            tasks[name] = (rel, entry.head)
        meta = {"name": sub.name, "team": sub.team, "authors": list(sub.authors), "contact": sub.contact}
        meta |= {"methods": list(sub.methods), "teacher_model": sub.teacher_model, "teacher": sub.teacher}
        meta |= {"license": sub.license}
        label = (sub.base_model or sub.id) if sub.compression else sub.id
        return Base(models, tasks, list(sub.compression), label, meta)
    if not (base / "config.json").is_file():
        raise UserError(
            f"{base}: neither a submission folder ({SUBMISSION_FILE}) nor a model folder (config.json)",
            fix="pass submissions/NAME or a save_pretrained folder",
        )
    if not task:
        raise UserError(
            f"--task: {base} is a bare model folder, so the task is not known",
            fix="pass --task stsb (or another task id)",
        )
    heads = heads_for(get_task(task, "--task").kind)
    chosen = head or (saved_head(base) if saved_head(base) in heads else heads[0])
    if chosen not in heads:
        raise UserError(f"--head {chosen}: does not fit task {task}", fix=f"use one of: {', '.join(heads)}")
    chain, label = [], base.resolve().name
    if (base / COMPRESSED_FILE).is_file():
        doc = read_document(base)
        for i, s in enumerate(doc.get("recipes", [])):
            params = {k: v for k, v in s.items() if k != "recipe"}
            for name, message, fix in step_problems(s["recipe"], params):
                raise UserError(f"{base / COMPRESSED_FILE}: recipes[{i}].{name}: {message}", fix=fix)
            chain.append(make_step(s["recipe"], params))
        label = doc.get("base_model", label)
    return Base({"model": (base, chosen)}, {task: ("model", chosen)}, chain, label)


def _compress_model(
    folder: Path, head: str, out: Path, source: Base, steps: list[CompressionStep]
) -> tuple[list[str], str]:
    """Run `steps` on one model folder of `source` and write the result to `out`: what each step did, and the
    backend that runs it."""
    from harness.backends import load_model
    from harness.backends.base import TOKENIZER_FILES
    from harness.backends.torch_compressed import COMPRESSED_FILE, read_document, write_compressed
    from harness.recipes import RECIPES
    from harness.recipes.quantize_onnx import BACKEND as ONNX_BACKEND
    from harness.recipes.work import Work, refused

    model: Any = load_model(folder, head)
    transforms = read_document(folder)["transforms"] if (folder / COMPRESSED_FILE).is_file() else []
    work = Work(model.module, head, list(transforms), [s.recipe for s in source.chain])
    notes = []
    for step in steps:
        if work.export is not None:
            raise refused(
                step.recipe, "it comes after a recipe that ends the chain in another format", "put that one last"
            )
        notes.append(RECIPES.get(step.recipe)(work, **dict(step.params)))
        work.recipes.append(step.recipe)
    torch_folder = out.parent / f".{out.name}.torch" if work.export is not None else out
    if work.transforms:
        chain = [s.plain() for s in source.chain + steps]
        write_compressed(work.module, torch_folder, work.transforms, chain, source.label)
    else:
        work.module.save_pretrained(str(torch_folder))
    for name in (*TOKENIZER_FILES, *TOKENIZER_EXTRAS):
        if (folder / name).is_file():
            shutil.copy2(folder / name, torch_folder / name)
    if work.export is None:
        return notes, DEFAULT_BACKEND
    try:
        work.export(torch_folder, out, head)
    finally:
        shutil.rmtree(torch_folder, ignore_errors=True)
    return notes, ONNX_BACKEND


def _write_yaml(
    folder: Path, base: Base, steps: list[CompressionStep], notes: dict[str, list[str]], meta: Meta, backend: str
) -> None:
    """submission.yaml of the compressed submission: metadata, method families, the tasks and the whole chain."""
    import yaml

    old = base.meta
    methods = [m for m in old.get("methods", []) if m != "other"]
    methods += [RECIPE_SPECS[s.recipe].method for s in base.chain + steps]
    name = meta.name or f"{old.get('name') or base.label} + {' + '.join(s.recipe for s in steps)}"
    team = meta.team or old.get("team")
    contact = meta.contact or old.get("contact")
    if not contact or not (team or old.get("authors")):
        flag = "--contact" if not contact else "--team"
        raise UserError(f"{flag}: a bare model folder has no submission.yaml to take it from", fix=f"pass {flag}")
    first = next(iter(notes.values()))
    did = "; ".join(f"{i + 1}. {s.text()}: {n}" for i, (s, n) in enumerate(zip(steps, first)))
    doc: dict[str, Any] = {"name": name}
    doc |= {"team": team} if team else {}
    doc |= {"authors": old["authors"]} if old.get("authors") else {}
    doc |= {"contact": contact, "methods": list(dict.fromkeys(methods)), "base_model": base.label}
    doc |= {"teacher_model": old["teacher_model"]} if old.get("teacher_model") else {}
    doc |= {"teacher": old["teacher"]} if old.get("teacher") else {}  # a compressed student keeps its teacher's id
    doc |= {"license": old["license"]} if old.get("license") else {}  # the base's licence binds what it became
    doc["description"] = f"Compressed from {base.label} by harness compress: {did}."
    doc |= {"backend": backend} if backend != DEFAULT_BACKEND else {}
    doc["tasks"] = {t: {"model": rel, "head": h} for t, (rel, h) in base.tasks.items()}
    doc["compression"] = [s.plain() for s in base.chain + steps]
    text = "# Written by `harness compress`; the compression chain is in order.\n"
    (folder / "submission.yaml").write_text(
        text + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8"
    )
