"""The task entry's `outputs:` key (head output name -> graph output name): parsed into the TaskEntry, checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.submissions.schema import parse_submission

BASE = {
    "name": "onnx model",
    "team": "tests",
    "contact": "tests@example.org",
    "methods": ["other"],
    "backend": "onnxruntime",
}


def _parse(tmp_path: Path, entry: dict, backend: str = "onnxruntime"):
    (tmp_path / "model").mkdir(exist_ok=True)
    doc = {**BASE, "backend": backend, "tasks": {"stsb": entry}}
    (tmp_path / "submission.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return parse_submission(tmp_path)


def test_declared_outputs_are_parsed_into_the_task_entry(tmp_path):
    sub, problems = _parse(tmp_path, {"model": "model", "head": "cosine", "outputs": {"last_hidden_state": "x:0"}})
    assert problems == [] and sub is not None
    assert sub.tasks["stsb"].outputs == (("last_hidden_state", "x:0"),)
    sub, problems = _parse(tmp_path, {"model": "model", "head": "cosine"})
    assert problems == [] and sub.tasks["stsb"].outputs == ()


@pytest.mark.parametrize(
    "outputs,field,message",
    [
        ({"logits": "x"}, "tasks.stsb.outputs.logits", "not an output of head cosine"),
        ({"last_hidden_state": 3}, "tasks.stsb.outputs.last_hidden_state", "expected text"),
        (["last_hidden_state"], "tasks.stsb.outputs", "expected a mapping"),
    ],
)
def test_bad_declared_outputs_are_refused_at_their_field(tmp_path, outputs, field, message):
    _, problems = _parse(tmp_path, {"model": "model", "head": "cosine", "outputs": outputs})
    (problem,) = problems
    assert problem.field == field and message in problem.message and problem.fix


def test_outputs_are_refused_for_a_backend_without_graph_outputs(tmp_path):
    entry = {"model": "model", "head": "cosine", "outputs": {"last_hidden_state": "x"}}
    sub, problems = _parse(tmp_path, entry, backend="torch")
    (problem,) = problems
    assert problem.field == "tasks.stsb.outputs" and "backend torch" in problem.message
    assert "backend: onnxruntime" in problem.fix and "remove `outputs:`" in problem.fix


def test_the_schema_reads_head_outputs_without_importing_the_onnx_backend():
    import harness.submissions.schema as schema
    from harness.backends.heads import HEAD_OUTPUTS

    assert schema.HEAD_OUTPUTS is HEAD_OUTPUTS and "onnx_rt" not in Path(schema.__file__).read_text(encoding="utf-8")
