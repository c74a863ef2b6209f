"""`teacher:` in submission.yaml (issue 15): the teacher's submission id, checked as one, kept in the metadata that
records carry, written by `harness distill` for a submission teacher and kept by `harness compress`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import VALID, save_tiny_bert

from harness.submissions.schema import parse_submission
from harness.submissions.submission import submission_meta


def _write(folder: Path, **keys) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model").mkdir(exist_ok=True)
    (folder / "submission.yaml").write_text(yaml.safe_dump(VALID | keys), encoding="utf-8")
    return folder


def test_a_teacher_id_is_kept_in_the_records_metadata(tmp_path):
    sub, problems = parse_submission(_write(tmp_path / "kd-student", teacher="bert-base.ft_1"))
    assert problems == [] and sub is not None and sub.teacher == "bert-base.ft_1"
    assert submission_meta(sub)["teacher"] == "bert-base.ft_1"


def test_without_a_teacher_the_metadata_is_as_before(tmp_path):
    sub, problems = parse_submission(_write(tmp_path / "plain", teacher_model="bert-base-uncased"))
    assert problems == [] and sub is not None and sub.teacher is None
    assert "teacher" not in submission_meta(sub)  # older records' metadata stays the same


@pytest.mark.parametrize(
    "value,message",
    [
        ("bert base/finetuned", "is not a submission id"),
        ("-leading-dash", "is not a submission id"),
        (["a", "b"], "expected"),
        ("", "empty"),
        ("kd-self", "its own teacher"),
    ],
)
def test_a_malformed_teacher_is_refused_at_its_field_with_a_fix(tmp_path, value, message):
    _, problems = parse_submission(_write(tmp_path / "kd-self", teacher=value))
    (problem,) = [p for p in problems if p.field == "teacher"]
    assert message in problem.message and problem.fix


def test_distill_names_a_submission_teacher_by_its_id(tmp_path):
    from harness.training.distill import teacher_submission

    teacher = _write(tmp_path / "subs" / "bert-ft")
    assert teacher_submission(teacher) == "bert-ft"
    assert teacher_submission(teacher / "model") == "bert-ft"  # a model folder inside the submission
    bare = tmp_path / "bare-model"
    bare.mkdir()
    assert teacher_submission(bare) is None


def test_compress_keeps_the_teacher_of_a_distilled_submission(tmp_path):
    from harness.recipes.pipeline import compress
    from harness.submissions.compression import make_step

    base = _write(tmp_path / "kd-base", teacher_model="big teacher", teacher="big-teacher")
    save_tiny_bert(base / "model", num_hidden_layers=2)
    out = tmp_path / "kd-pruned"
    compress(base, out, [make_step("prune-magnitude", {"sparsity": 0.5})])
    sub, problems = parse_submission(out)
    assert problems == [] and sub is not None and sub.teacher == "big-teacher"


def test_an_id_ends_at_the_end_of_the_string_not_before_a_final_newline():
    from harness.submissions.schema import ID_PATTERN

    assert ID_PATTERN.match("bert-base.ft_1") and not ID_PATTERN.match("bert-base\n")
