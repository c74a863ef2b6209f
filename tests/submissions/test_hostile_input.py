"""Submission folders written by strangers: links out of the folder, oversized files, YAML bombs, NaN outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import VALID, save_tiny_bert, write_valid_submission

from harness.backends import load_model
from harness.errors import UserError
from harness.submissions import SUBMISSION_FILE, check_submission, sha256_files
from harness.submissions.schema import parse_submission
from harness.yamlcheck import MAX_ALIAS_NODES, parse_yaml

SECRET = "organizer-secret-token-123"


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    """A valid one-task submission with a tiny classifier, and a secret file beside (outside) it."""
    folder = write_valid_submission(tmp_path / "sub")
    (tmp_path / "secret.txt").write_text(SECRET + "\n", encoding="utf-8")
    return folder


def _link_out(file: Path) -> None:
    """Replace `file` by a symlink to the secret file outside the submission."""
    file.unlink()
    file.symlink_to(file.parents[2] / "secret.txt")


@pytest.mark.parametrize("name", ["tokenizer.json", "config.json", "tokenizer_config.json", "model.safetensors"])
def test_model_file_linked_out_of_the_folder_is_refused_by_check(submission: Path, name: str) -> None:
    _link_out(submission / "model" / name)
    problems = check_submission(submission)
    named = [p for p in problems if p.file == str(submission / "model" / name)]
    assert named, problems
    assert "outside" in named[0].message and "copy the file into the folder" in named[0].fix
    assert all(SECRET not in str(p) for p in problems)


def test_model_file_linked_out_is_refused_before_loading(submission: Path) -> None:
    _link_out(submission / "model" / "tokenizer.json")
    with pytest.raises(UserError, match="tokenizer.json.*outside") as e:
        load_model(submission / "model", "sequence_classification")
    assert SECRET not in str(e.value)


def test_link_inside_the_folder_is_accepted(submission: Path) -> None:
    vocab = submission / "model" / "tokenizer.json"
    vocab.rename(submission / "shared-tokenizer.json")
    vocab.symlink_to(Path("..") / "shared-tokenizer.json")
    assert check_submission(submission, load_models=False) == []


def test_submission_yaml_linked_out_is_refused_without_its_content(submission: Path) -> None:
    file = submission / SUBMISSION_FILE
    file.unlink()
    file.symlink_to(submission.parent / "secret.txt")
    problems = check_submission(submission)
    assert len(problems) == 1 and "outside" in problems[0].message, problems
    assert SECRET not in str(problems[0])


def test_hashing_does_not_follow_links_out(submission: Path) -> None:
    _link_out(submission / "model" / "tokenizer.json")
    with pytest.raises(UserError, match="tokenizer.json.*outside"):
        sha256_files(submission)


def test_oversized_submission_yaml_is_refused_before_parsing(submission: Path) -> None:
    from harness.submissions.submission import MAX_SUBMISSION_YAML_BYTES

    file = submission / SUBMISSION_FILE
    file.write_text(yaml.safe_dump(VALID) + "#" * MAX_SUBMISSION_YAML_BYTES + "\n", encoding="utf-8")
    sub, problems = parse_submission(submission)
    assert sub is None and len(problems) == 1
    assert str(MAX_SUBMISSION_YAML_BYTES) in problems[0].message and problems[0].fix


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghi", "bcdefghij"):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    lines.append("name: *j")
    file = tmp_path / "bomb.yaml"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data, problems = parse_yaml(file)
    assert data is None and len(problems) == 1
    assert str(MAX_ALIAS_NODES) in problems[0].message and problems[0].fix


def test_few_aliases_still_parse(tmp_path: Path) -> None:
    file = tmp_path / "ok.yaml"
    file.write_text("base: &b {x: 1}\none: *b\ntwo: {<<: *b, y: 2}\n", encoding="utf-8")
    data, problems = parse_yaml(file)
    assert problems == [] and data["two"] == {"x": 1, "y": 2}


def test_nan_logits_fail_the_task(tmp_path: Path) -> None:
    import torch

    from harness.inference.formulations import EvalSettings
    from harness.inference.formulations.classify import predict
    from harness.tasks import get_task

    folder = save_tiny_bert(tmp_path / "nan")
    model = load_model(folder, "sequence_classification")
    with torch.no_grad():
        model.module.classifier.weight.fill_(float("nan"))  # type: ignore[attr-defined]
    task = get_task("sst2")
    rows = [{"idx": i, "sentence": f"text {i}", "label": 0} for i in range(3)]
    with pytest.raises(UserError, match=r"non-finite.*3 of 3 examples") as e:
        predict(task, model, rows, EvalSettings())
    assert str(folder) in str(e.value)


def test_oversized_tokenizer_file_is_refused_before_reading(submission: Path) -> None:
    from harness.backends.files import MAX_TOKENIZER_BYTES

    file = submission / "model" / "tokenizer.json"
    with file.open("r+b") as fh:  # sparse: no disk written
        fh.truncate(MAX_TOKENIZER_BYTES + 1)
    problems = check_submission(submission)
    named = [p for p in problems if p.file == str(file)]
    assert len(named) == 1, problems
    assert str(MAX_TOKENIZER_BYTES + 1) in named[0].message and str(MAX_TOKENIZER_BYTES) in named[0].message
    assert named[0].fix
    with pytest.raises(UserError, match="tokenizer.json.*over the limit"):
        load_model(submission / "model", "sequence_classification")


def test_config_over_the_parameter_ceiling_is_refused_before_allocation(submission: Path) -> None:
    import json

    from harness.backends.base import MAX_MODEL_PARAMS, LoadOptions

    config = submission / "model" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "vocab_size": 10**9}), encoding="utf-8")
    with pytest.raises(UserError, match=r"config.json: .* parameters.*over the ceiling of") as e:
        load_model(submission / "model", "sequence_classification")  # 32e9 floats: 128 GB if allocated
    assert f"{MAX_MODEL_PARAMS:,}" in str(e.value)
    (problem,) = check_submission(submission)
    assert "over the ceiling" in problem.message and problem.file == str(submission / "model")
    with pytest.raises(UserError, match="over the ceiling of 1,000"):
        load_model(submission / "model", "sequence_classification", LoadOptions(max_params=1000))


def test_messages_show_a_bounded_part_of_a_huge_value() -> None:
    from harness.yamlcheck import described, shown

    layer: list = ["lol"] * 9
    for _ in range(9):  # shared references: 9^10 leaves, as an alias bomb builds them
        layer = [layer] * 9
    assert len(described(layer)) < 80 and len(shown("x" * 10**7)) < 80


class _Payload:
    """Unpickling this runs a command: what a hostile pytorch_model.bin does when a loader trusts pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _pickle_only(folder: Path, marker: Path) -> None:
    """Replace the folder's safetensors weights by a pickle file that runs a command when unpickled."""
    import pickle

    (folder / "model.safetensors").unlink()
    (folder / "pytorch_model.bin").write_bytes(
        pickle.dumps({"bert.embeddings.word_embeddings.weight": _Payload(marker)})
    )


def test_a_pickle_only_submission_is_refused_and_never_unpickled(submission: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    _pickle_only(submission / "model", marker)
    (problem,) = [p for p in check_submission(submission) if "pickle" in str(p)]
    assert problem.file.endswith("pytorch_model.bin") and "safe_serialization=True" in problem.fix
    with pytest.raises(UserError, match="pickle") as e:
        load_model(submission / "model", "sequence_classification")
    assert e.value.fix and not marker.exists()


def test_a_pickle_with_code_runs_nothing_even_with_both_opt_ins(submission: Path, tmp_path: Path) -> None:
    from harness.backends import LoadOptions

    marker = tmp_path / "pwned"
    _pickle_only(submission / "model", marker)
    with pytest.raises(UserError, match="does not load"):
        load_model(submission / "model", "sequence_classification", LoadOptions(allow_pickle=True))
    assert not marker.exists()  # torch.load(weights_only=True) refused the payload instead of running it


def test_a_model_that_needs_trust_remote_code_is_refused_by_check_and_load(submission: Path) -> None:
    import json

    config_file = submission / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    config_file.write_text(json.dumps(config))
    (submission / "model" / "modeling_evil.py").write_text("import os\nos.system('touch /tmp/never')\n")
    problems = [p for p in check_submission(submission, load_models=False) if "custom code" in str(p)]
    assert len(problems) == 1 and problems[0].file == str(config_file) and "never runs" in problems[0].fix
    with pytest.raises(UserError, match="custom code") as e:
        load_model(submission / "model", "sequence_classification")
    assert "auto_map" in str(e.value) and e.value.fix


@pytest.mark.parametrize("model", ["/etc", "../elsewhere"])
def test_a_model_path_outside_the_folder_is_refused(submission: Path, model: str) -> None:
    (submission / SUBMISSION_FILE).write_text(
        yaml.safe_dump({**VALID, "tasks": {"sst2": {"model": model}}}), encoding="utf-8"
    )
    problems = check_submission(submission, load_models=False)
    assert any("tasks.sst2.model" in str(p) and p.fix for p in problems), problems
