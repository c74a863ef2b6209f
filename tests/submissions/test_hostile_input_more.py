"""More submission folders written by strangers: sharded indexes pointing out, FIFOs, deep nesting, odd model paths."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import VALID, write_valid_submission

from harness.backends import load_model
from harness.backends.onnx_rt import folder_problems as onnx_folder_problems
from harness.errors import UserError
from harness.submissions import SUBMISSION_FILE, check_submission
from harness.submissions.schema import parse_submission
from harness.yamlcheck import MAX_YAML_DEPTH, parse_yaml

SECRET = "organizer-secret-token-456"
DEEP = 100_000  # far past Python's recursion limit, yet only ~200 KB of JSON
INDEX = "model.safetensors.index.json"


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    """A valid one-task submission with a tiny classifier, and a safetensors copy of its weights outside it."""
    folder = write_valid_submission(tmp_path / "sub")
    (tmp_path / "outside").mkdir()
    shutil.copy(folder / "model" / "model.safetensors", tmp_path / "outside" / "stolen.safetensors")
    return folder


def _index(model: Path, target: str) -> Path:
    """Replace model.safetensors by a sharded index mapping every tensor to `target`."""
    from safetensors import safe_open

    with safe_open(str(model / "model.safetensors"), "pt") as f:
        names = list(f.keys())
    (model / "model.safetensors").unlink()
    index = model / INDEX
    index.write_text(json.dumps({"metadata": {}, "weight_map": dict.fromkeys(names, target)}), encoding="utf-8")
    return index


@pytest.mark.parametrize("target", ["../../outside/stolen.safetensors", "ABSOLUTE"])
def test_index_naming_a_file_outside_the_folder_is_refused(submission: Path, target: str) -> None:
    if target == "ABSOLUTE":
        target = str(submission.parent / "outside" / "stolen.safetensors")
    index = _index(submission / "model", target)
    problems = check_submission(submission, load_models=False)
    named = [p for p in problems if p.file == str(index)]
    assert named and "weight_map" in named[0].message and "inside" in named[0].fix, problems
    with pytest.raises(UserError, match="index.json.*weight_map"):
        load_model(submission / "model", "sequence_classification")


def test_index_naming_a_link_out_is_refused(submission: Path) -> None:
    model = submission / "model"
    index = _index(model, "shard.safetensors")
    (model / "shard.safetensors").symlink_to(submission.parent / "outside" / "stolen.safetensors")
    assert any(p.file in (str(index), str(model / "shard.safetensors")) for p in check_submission(submission))
    with pytest.raises(UserError, match="outside"):
        load_model(model, "sequence_classification")


def test_index_naming_its_own_shards_is_accepted(submission: Path) -> None:
    model = submission / "model"
    shutil.copy(submission.parent / "outside" / "stolen.safetensors", model / "model-00001-of-00001.safetensors")
    _index(model, "model-00001-of-00001.safetensors")
    assert check_submission(submission, load_models=False) == []


def test_a_fifo_config_is_refused_without_hanging(submission: Path) -> None:
    config = submission / "model" / "config.json"
    config.unlink()
    os.mkfifo(config)
    problems = check_submission(submission)
    named = [p for p in problems if p.file == str(config)]
    assert named and "not a regular file" in named[0].message, problems
    with pytest.raises(UserError, match="config.json.*not a regular file"):
        load_model(submission / "model", "sequence_classification")


def test_a_fifo_config_of_an_onnx_folder_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.json")
    problems = onnx_folder_problems(tmp_path)
    assert any(f == str(tmp_path / "config.json") and "not a regular file" in m for f, m, _ in problems), problems


def _deep_json() -> str:
    return '{"a": ' + "[" * DEEP + "]" * DEEP + "}"


def test_a_deeply_nested_config_is_a_problem(submission: Path) -> None:
    config = submission / "model" / "config.json"
    config.write_text(_deep_json(), encoding="utf-8")
    problems = check_submission(submission, load_models=False)
    assert any(p.file == str(config) and "nested deeper" in p.message for p in problems), problems


def test_a_deeply_nested_onnx_config_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(_deep_json(), encoding="utf-8")
    problems = onnx_folder_problems(tmp_path)
    assert any(f == str(tmp_path / "config.json") and "nested deeper" in m for f, m, _ in problems), problems


def test_a_deeply_nested_compressed_json_is_refused(tmp_path: Path) -> None:
    from harness.backends.torch_compressed import COMPRESSED_FILE, read_document

    (tmp_path / COMPRESSED_FILE).write_text(_deep_json(), encoding="utf-8")
    with pytest.raises(UserError, match="compressed.json.*nested deeper"):
        read_document(tmp_path)


@pytest.mark.parametrize("value", ["[" * 30_000 + "]" * 30_000, "{a: " * 30_000 + "1" + "}" * 30_000])
def test_a_deeply_nested_submission_yaml_is_refused(tmp_path: Path, value: str) -> None:
    file = tmp_path / SUBMISSION_FILE
    file.write_text(yaml.safe_dump(VALID) + "description: " + value + "\n", encoding="utf-8")
    data, problems = parse_yaml(file)
    assert data is None and len(problems) == 1, problems
    assert problems[0].file == str(file) and f"{MAX_YAML_DEPTH}" in problems[0].message


def test_a_moderately_nested_submission_yaml_parses(tmp_path: Path) -> None:
    file = tmp_path / SUBMISSION_FILE
    file.write_text(yaml.safe_dump({**VALID, "description": [[["x"]]]}), encoding="utf-8")
    data, problems = parse_yaml(file)
    assert problems == [] and data["description"] == [[["x"]]]


@pytest.mark.parametrize("case", ["loop", "nul", "long"])
def test_an_unusable_model_path_is_a_problem_of_the_model_field(submission: Path, case: str) -> None:
    model = {"loop": "loop", "nul": "seq\0x", "long": "a" * 5000}[case]
    if case == "loop":
        (submission / "loop").symlink_to("loop")
    doc = {**VALID, "contact": "not-an-email", "tasks": {"sst2": {"model": model}}}
    (submission / SUBMISSION_FILE).write_text(yaml.safe_dump(doc), encoding="utf-8")
    _, problems = parse_submission(submission)
    named = [p for p in problems if p.field.endswith("model")]
    assert named and named[0].file == str(submission / SUBMISSION_FILE), problems
    assert len(str(named[0])) < 1000
    assert any(p.field == "contact" for p in problems), problems
    assert check_submission(submission)  # no exception escapes


def test_onnx_config_fields_must_be_positive_integers(tmp_path: Path) -> None:
    config = {"hidden_size": "abc", "vocab_size": [1]}
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    problems = [(f, m) for f, m, _ in onnx_folder_problems(tmp_path) if f == str(tmp_path / "config.json")]
    assert any("hidden_size" in m for _, m in problems) and any("vocab_size" in m for _, m in problems), problems
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 32, "vocab_size": 100}), encoding="utf-8")
    assert not [f for f, _, _ in onnx_folder_problems(tmp_path) if f == str(tmp_path / "config.json")]


def test_a_fifo_submission_yaml_is_refused_without_hanging(submission: Path) -> None:
    file = submission / SUBMISSION_FILE
    file.unlink()
    os.mkfifo(file)
    sub, problems = parse_submission(submission)
    assert sub is None and len(problems) == 1 and "not a regular file" in problems[0].message, problems
