"""submission.yaml schema and `harness check`: every broken kind is named by file, field and fix."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import yaml
from conftest import VALID, save_tiny_bert

from harness.commands import check
from harness.errors import ConfigError
from harness.submissions import (
    SUBMISSION_FILE,
    Problem,
    check_submission,
    combined_sha256,
    load_submission,
    sha256_files,
)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny two-label classifier folder, copied into every submission built from it."""
    return save_tiny_bert(tmp_path_factory.mktemp("template") / "model")


def make_submission(
    root: Path, template: Path, data: dict | None = None, text: str | None = None, name: str = "tiny"
) -> Path:
    """A submission folder with `model/` and a submission.yaml from `data` (or raw `text`)."""
    folder = root / name
    shutil.copytree(template, folder / "model")
    body = text if text is not None else yaml.safe_dump(data if data is not None else VALID, sort_keys=False)
    (folder / SUBMISSION_FILE).write_text(body, encoding="utf-8")
    return folder


def parser() -> argparse.ArgumentParser:
    """A parser with only the `check` subcommand, as harness.cli registers it."""
    p = argparse.ArgumentParser(prog="harness")
    check.add_parser(p.add_subparsers(dest="command"))
    return p


def with_yaml(**changes) -> Callable[[Path, dict], None]:
    """An edit that sets (or, for value None, deletes) top-level keys."""

    def edit(folder: Path, data: dict) -> None:
        for key, value in changes.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value

    return edit


def with_config(**changes) -> Callable[[Path, dict], None]:
    """An edit of model/config.json."""

    def edit(folder: Path, data: dict) -> None:
        path = folder / "model" / "config.json"
        config = json.loads(path.read_text())
        config.update(changes)
        path.write_text(json.dumps(config))

    return edit


def removing(name: str) -> Callable[[Path, dict], None]:
    """An edit that deletes a file of the submission."""

    def edit(folder: Path, data: dict) -> None:
        (folder / name).unlink()

    return edit


def renaming(src: str, dst: str) -> Callable[[Path, dict], None]:
    """An edit that renames a file of the submission."""

    def edit(folder: Path, data: dict) -> None:
        (folder / src).rename(folder / dst)

    return edit


def garbling(name: str) -> Callable[[Path, dict], None]:
    """An edit that overwrites a file with bytes no loader accepts."""

    def edit(folder: Path, data: dict) -> None:
        (folder / name).write_bytes(b"\x00not safetensors" * 8)

    return edit


def raw(text: str) -> Callable[[Path, dict], str]:
    """An edit that replaces submission.yaml with `text`."""
    return lambda folder, data: text


# id, edit, file (relative to the submission folder), field, in message, in fix
BROKEN = [
    ("missing-yaml", removing(SUBMISSION_FILE), SUBMISSION_FILE, "", "missing", "submissions/README.md"),
    (
        "yaml-syntax",
        raw("name: Tiny\nmethods: [distillation\ntasks: {}\n"),
        SUBMISSION_FILE,
        "line 3, column 6",
        "YAML syntax error",
        "indentation",
    ),
    ("top-not-mapping", raw("- name\n- team\n"), SUBMISSION_FILE, "", "expected a mapping", "key: value"),
    (
        "duplicate-key",
        raw(yaml.safe_dump(VALID, sort_keys=False) + "name: Again\n"),
        SUBMISSION_FILE,
        "line 9",
        "duplicate key 'name'",
        "keep one copy",
    ),
    (
        "unknown-key",
        with_yaml(descripton="typo"),
        SUBMISSION_FILE,
        "descripton",
        "unknown key",
        "did you mean 'description'?",
    ),
    ("missing-required", with_yaml(contact=None), SUBMISSION_FILE, "contact", "missing (required)", "add `contact:"),
    ("no-team-or-authors", with_yaml(team=None), SUBMISSION_FILE, "team", "team or authors", "authors: [NAME"),
    ("wrong-type", with_yaml(name=42), SUBMISSION_FILE, "name", "expected text, got a number", "quoted"),
    (
        "methods-not-list",
        with_yaml(methods="pruning"),
        SUBMISSION_FILE,
        "methods",
        "expected a non-empty list",
        "methods: [",
    ),
    (
        "unknown-method",
        with_yaml(methods=["distilation"]),
        SUBMISSION_FILE,
        "methods[0]",
        "unknown method",
        "did you mean 'distillation'?",
    ),
    (
        "bad-link",
        with_yaml(paper="ftp://example.org/paper.pdf"),
        SUBMISSION_FILE,
        "paper",
        "not an http(s) link",
        "https://",
    ),
    (
        "bad-email",
        with_yaml(contact="someone at example"),
        SUBMISSION_FILE,
        "contact",
        "not an email address",
        "someone@example.org",
    ),
    (
        "bad-allow-pickle",
        with_yaml(allow_pickle="maybe"),
        SUBMISSION_FILE,
        "allow_pickle",
        "expected true or false",
        "allow_pickle: false",
    ),
    ("unknown-backend", with_yaml(backend="onnx-rt"), SUBMISSION_FILE, "backend", "unknown backend", "onnxruntime"),
    (
        "declared-not-number",
        with_yaml(declared={"parameters": "22.7M"}),
        SUBMISSION_FILE,
        "declared.parameters",
        "expected a whole number",
        "without units",
    ),
    (
        "unknown-task",
        with_yaml(tasks={"sst-2": {"model": "model"}}),
        SUBMISSION_FILE,
        "tasks.sst-2",
        "unknown task",
        "did you mean 'sst2'?",
    ),
    ("no-tasks", with_yaml(tasks={}), SUBMISSION_FILE, "tasks", "no tasks", "add at least one"),
    (
        "unknown-task-key",
        with_yaml(tasks={"sst2": {"model": "model", "haed": "cosine"}}),
        SUBMISSION_FILE,
        "tasks.sst2.haed",
        "unknown key",
        "did you mean 'head'?",
    ),
    (
        "head-not-for-kind",
        with_yaml(tasks={"sst2": {"model": "model", "head": "question_answering"}}),
        SUBMISSION_FILE,
        "tasks.sst2.head",
        "does not fit task sst2 (classification)",
        "sequence_classification",
    ),
    (
        "cosine-single-sentence",
        with_yaml(tasks={"sst2": {"model": "model", "head": "cosine"}}),
        SUBMISSION_FILE,
        "tasks.sst2.head",
        "cosine head scores sentence pairs",
        "head: sequence_classification",
    ),
    (
        "model-folder-missing",
        with_yaml(tasks={"sst2": {"model": "sst2-model"}}),
        SUBMISSION_FILE,
        "tasks.sst2.model",
        "model folder 'sst2-model' is missing",
        "save_pretrained",
    ),
    (
        "model-outside",
        with_yaml(tasks={"sst2": {"model": "../elsewhere"}}),
        SUBMISSION_FILE,
        "tasks.sst2.model",
        "outside the submission folder",
        "inside the submission",
    ),
    ("no-config", removing("model/config.json"), "model", "tasks.sst2.model", "no config.json", "save_pretrained"),
    (
        "no-tokenizer",
        removing("model/tokenizer.json"),
        "model",
        "tasks.sst2.model",
        "no tokenizer files",
        "tokenizer.save_pretrained",
    ),
    (
        "pickle-without-opt-in",
        renaming("model/model.safetensors", "model/pytorch_model.bin"),
        "model/pytorch_model.bin",
        "tasks.sst2.model",
        "pickle format",
        "allow_pickle: true",
    ),
    (
        "no-weights",
        removing("model/model.safetensors"),
        "model",
        "tasks.sst2.model",
        "no weights file",
        "save_pretrained",
    ),
    (
        "does-not-load",
        garbling("model/model.safetensors"),
        "model",
        "tasks.sst2.model",
        "does not load",
        "safe_serialization=True",
    ),
    (
        "head-weights-missing",
        with_config(architectures=["BertModel"]),
        "model/config.json",
        "tasks.sst2.model",
        "no trained sequence_classification head",
        "ForSequenceClassification",
    ),
    (
        "no-architectures",
        with_config(architectures=None),
        "model/config.json",
        "tasks.sst2.model",
        "no `architectures` list",
        "save_pretrained",
    ),
    # transformers ignores the misspelt key and names the labels LABEL_0, LABEL_1: predictions mapped in dataset order
    (
        "config-key-misspelt",
        with_config(id2lable={"0": "positive", "1": "negative"}),
        "model/config.json",
        "tasks.sst2.model: id2lable",
        "unknown key 'id2lable', and no 'id2label'",
        "rename it to 'id2label'",
    ),
    (
        "label-count",
        with_yaml(tasks={"mnli_matched": {"model": "model"}}),
        "model/config.json",
        "tasks.mnli_matched.model",
        "has 3 labels",
        "num_labels=3",
    ),
    (
        "regression-outputs",
        with_yaml(tasks={"stsb": {"model": "model"}}),
        "model/config.json",
        "tasks.stsb.model",
        "needs 1 output (num_labels=1), has 2",
        "fix num_labels",
    ),
    (
        "label-names",
        with_config(id2label={"0": "bad", "1": "good"}, label2id={"bad": 0, "good": 1}),
        "model/config.json",
        "tasks.sst2.model",
        "does not name the task's labels",
        "rename them in config.json",
    ),
    (
        "declared-parameters",
        with_yaml(declared={"parameters": 5}),
        SUBMISSION_FILE,
        "declared.parameters",
        "declared 5 parameters, measured",
        "set declared.parameters:",
    ),
    (
        "declared-task-size",
        with_yaml(tasks={"sst2": {"model": "model", "declared": {"size_bytes": 10}}}),
        SUBMISSION_FILE,
        "tasks.sst2.declared.size_bytes",
        "declared 10 bytes, measured",
        "set tasks.sst2.declared",
    ),
]


@pytest.mark.parametrize(
    "edit, file, field, message, fix", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_submission_names_file_field_and_fix(
    tmp_path: Path, template: Path, edit, file: str, field: str, message: str, fix: str
) -> None:
    data = json.loads(json.dumps(VALID))
    folder = make_submission(tmp_path, template, data)
    text = edit(folder, data)
    if (folder / SUBMISSION_FILE).exists():
        body = text if text is not None else yaml.safe_dump(data, sort_keys=False)
        (folder / SUBMISSION_FILE).write_text(body, encoding="utf-8")
    needs_model = file != SUBMISSION_FILE or "declared" in field  # yaml-only cases skip the slow load
    problems = check_submission(folder, load_models=needs_model)
    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.file == str(folder / file)
    assert problem.field == field
    assert message in problem.message
    assert fix in problem.fix
    assert str(problem).startswith(f"{folder / file}: {field + ': ' if field else ''}")


def test_problem_prints_as_file_field_message_fix(tmp_path: Path, template: Path) -> None:
    data = {**VALID, "tasks": {"sst-2": {"model": "model"}}}
    folder = make_submission(tmp_path, template, data)
    [problem] = check_submission(folder, load_models=False)
    assert str(problem) == f"{folder / SUBMISSION_FILE}: tasks.sst-2: unknown task 'sst-2'; did you mean 'sst2'?"


def test_all_problems_at_once(tmp_path: Path, template: Path, capsys: pytest.CaptureFixture) -> None:
    data = {**VALID, "descripton": "typo", "contact": "nobody"}
    folder = make_submission(tmp_path, template, data)
    (folder / "model" / "tokenizer.json").unlink()
    problems = check_submission(folder)
    assert [p.field for p in problems] == ["descripton", "contact", "tasks.sst2.model"]
    args = parser().parse_args(["check", str(folder)])
    assert args.func(args) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [str(p) for p in problems]
    assert lines[3].endswith("0 valid, 1 with problems (3 problem(s))")


def test_pickle_weights_pass_with_both_opt_ins(tmp_path: Path, template: Path) -> None:
    import torch
    from safetensors.torch import load_file

    folder = make_submission(tmp_path, template, {**VALID, "allow_pickle": True})
    weights = folder / "model" / "model.safetensors"
    torch.save(load_file(weights), folder / "model" / "pytorch_model.bin")
    weights.unlink()
    [organizer_missing] = check_submission(folder)
    assert "--allow-pickle" in organizer_missing.fix and "allow_pickle: true" not in organizer_missing.fix
    assert check_submission(folder, allow_pickle=True) == []


def test_no_load_checks_schema_and_files_only(tmp_path: Path, template: Path) -> None:
    data = {**VALID, "tasks": {"mnli_matched": {"model": "model"}}, "declared": {"parameters": 5}}
    folder = make_submission(tmp_path, template, data)
    assert check_submission(folder, load_models=False) == []  # label and parameter checks need the model
    assert {p.field for p in check_submission(folder)} == {"tasks.mnli_matched.model", "declared.parameters"}


def test_shared_model_folder_loads_once_and_reports_once(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.backends as backends

    loads = []
    real = backends.load_model
    monkeypatch.setattr(
        backends,
        "load_model",
        lambda folder, head, *a, **k: loads.append((folder, head)) or real(folder, head, *a, **k),
    )
    data = {**VALID, "tasks": {"sst2": {"model": "model"}, "rte": {"model": "model"}}, "declared": {"parameters": 5}}
    folder = make_submission(tmp_path, template, data)
    [problem] = check_submission(folder)
    assert len(loads) == 1
    assert problem.field == "declared.parameters" and "for sst2, rte" in problem.message


def test_bad_folder_name(tmp_path: Path, template: Path) -> None:
    folder = make_submission(tmp_path, template, name="my model")
    [problem] = check_submission(folder, load_models=False)
    assert (problem.file, problem.field) == (str(folder), "id") and "rename the folder" in problem.fix


def test_load_submission(tmp_path: Path, template: Path) -> None:
    data = {
        **VALID,
        "tasks": {"sst2": {"model": "model", "head": None}, "stsb": {"model": "model", "head": "cosine"}},
        "declared": {"parameters": 7, "size_bytes": 9},
    }
    data["tasks"]["stsb"]["declared"] = {"parameters": 8}
    sub = load_submission(make_submission(tmp_path, template, data))
    assert sub.id == "tiny" and sub.backend == "torch" and sub.allow_pickle is False
    assert sub.tasks["sst2"].head == "sequence_classification" and sub.tasks["stsb"].head == "cosine"
    assert sub.tasks["sst2"].model == sub.path / "model"
    assert (sub.tasks["stsb"].declared.parameters, sub.tasks["stsb"].declared.size_bytes) == (8, 9)
    bad = make_submission(tmp_path, template, {**VALID, "contact": 3, "methods": ["magic"]}, name="bad")
    with pytest.raises(ConfigError, match=r"2 problem\(s\)(.|\n)*contact(.|\n)*methods\[0\]"):
        load_submission(bad)


def test_sha256_files_is_stable(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_bytes(b"abc")
    (tmp_path / "b" / "c.txt").write_bytes(b"")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "x").write_bytes(b"ignored")
    hashes = sha256_files(tmp_path)
    assert hashes == {
        "a.txt": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "b/c.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    assert combined_sha256(hashes) == combined_sha256(dict(reversed(hashes.items())))
    assert combined_sha256(hashes) != combined_sha256({**hashes, "a.txt": hashes["b/c.txt"]})


def test_valid_submission_exits_zero(tmp_path: Path, tiny_bert, capsys: pytest.CaptureFixture) -> None:
    import transformers

    folder = tmp_path / "subs" / "tiny-valid"
    folder.mkdir(parents=True)
    shutil.move(tiny_bert(), folder / "sst2-model")
    shutil.move(tiny_bert(head="cosine"), folder / "encoder")
    module = transformers.AutoModelForSequenceClassification.from_pretrained(folder / "sst2-model")
    parameters = sum(p.numel() for p in module.parameters())
    size = sum(p.stat().st_size for p in (folder / "sst2-model").iterdir())
    data = {
        **VALID,
        "authors": ["Ada Lovelace"],
        "paper": "https://example.org/paper",
        "methods": ["pruning", "other"],
        "allow_pickle": False,
        "backend": "torch",
        "tasks": {
            "sst2": {"model": "sst2-model", "declared": {"parameters": parameters, "size_bytes": size}},
            "stsb": {"model": "encoder", "head": "cosine"},
        },
    }
    (folder / SUBMISSION_FILE).write_text(yaml.safe_dump(data), encoding="utf-8")
    args = parser().parse_args(["check", str(folder)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.splitlines() == ["checked 1 submission(s) (schema, files and models): all valid"]


def test_missing_folder(tmp_path: Path) -> None:
    [problem] = check_submission(tmp_path / "nope")
    assert isinstance(problem, Problem) and problem.message == "not a folder"


def test_check_command_imports_no_torch() -> None:
    code = "import sys, harness.commands.check, harness.submissions; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_load_error_gives_its_fix_field_and_the_default_fix_when_it_has_none(
    tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.backends as backends
    from harness.errors import UserError

    folder = make_submission(tmp_path, template)
    errors = iter(
        [
            UserError(f"{folder / 'model'}: it broke (detail; more)"),  # a '; ' inside the message is no fix
            UserError(f"{folder / 'model'}: it broke", fix="do this; then that"),
        ]
    )

    def fail(*args, **kwargs):
        raise next(errors)

    monkeypatch.setattr(backends, "load_model", fail)
    [problem] = check_submission(folder)
    assert (problem.message, problem.fix) == (
        "it broke (detail; more)",
        "re-save it with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)",
    )
    [problem] = check_submission(folder)
    assert (problem.message, problem.fix) == ("it broke", "do this; then that")


def test_load_and_label_errors_carry_their_fix(tmp_path: Path, template: Path) -> None:
    from harness.backends.torch_hf import load
    from harness.errors import UserError
    from harness.inference.formulations.classify import label_mapping
    from harness.tasks import get_task

    folder = make_submission(tmp_path, template)
    (folder / "model" / "model.safetensors").write_bytes(b"\x00not safetensors" * 8)
    with pytest.raises(UserError) as info:
        load(folder / "model", "sequence_classification")
    assert info.value.fix == "save it with model.save_pretrained(folder, safe_serialization=True)"
    assert info.value.message.startswith(f"{folder / 'model'}: the model does not load as ")
    with pytest.raises(UserError) as info:
        label_mapping(get_task("mnli_matched"), {0: "a", 1: "b"}, 2)
    assert info.value.fix == "set num_labels=3 in config.json"
