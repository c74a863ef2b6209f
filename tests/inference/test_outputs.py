"""Per-example outputs (issue 15, teacher agreement): what each formulation captures, the companion `.npz` file
written beside a record (round trip and refusals), and `harness evaluate` naming it in the record."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import numpy as np
import pytest

from harness.backends import load_model
from harness.errors import UserError
from harness.formats.outputs import FLOAT16_MAX, Outputs, outputs_path, read_outputs, write_outputs
from harness.inference.batching import run_batched
from harness.inference.formulations import EvalSettings, choice, classify, extractive
from harness.tasks import get_task
from harness.tasks.data import load_rows

SETTINGS = EvalSettings(batch_size=4)


def test_classification_logits_are_captured_in_the_tasks_label_order(mirror, tiny_bert):
    task = get_task("rte")  # labels: entailment, not_entailment
    reversed_names = {0: "not_entailment", 1: "entailment"}
    folder = tiny_bert(id2label=reversed_names, label2id={v: k for k, v in reversed_names.items()})
    model = load_model(folder, "sequence_classification")
    rows = load_rows(task, mirror, limit=10)
    outputs: dict = {}
    predictions = classify.predict(task, model, rows, SETTINGS, outputs=outputs)
    assert predictions == classify.predict(task, model, rows, SETTINGS)  # the default path predicts the same
    raw = np.stack(
        [o["logits"] for o in run_batched(model, classify.encode(model, [task.texts(r) for r in rows], 128))]
    )
    assert outputs["kind"] == "logits" and outputs["ids"] == [task.uid(r) for r in rows]
    assert outputs["values"].shape == (10, 2)
    np.testing.assert_allclose(outputs["values"][:, 0], raw[:, 1], rtol=1e-5)  # column 0 = task label 0 (entailment)
    np.testing.assert_allclose(outputs["values"][:, 1], raw[:, 0], rtol=1e-5)
    assert [predictions[u] for u in outputs["ids"]] == outputs["values"].argmax(axis=1).tolist()


@pytest.mark.parametrize("head,num_labels", [("sequence_classification", 1), ("cosine", 2)])
def test_regression_and_cosine_scores_are_captured_as_one_column(mirror, tiny_bert, head, num_labels):
    task = get_task("stsb")
    model = load_model(tiny_bert(head, num_labels=num_labels), head)
    rows = load_rows(task, mirror, limit=8)
    outputs: dict = {}
    predictions = classify.predict(task, model, rows, SETTINGS, outputs=outputs)
    assert outputs["kind"] == "scores" and outputs["values"].shape == (8, 1)
    np.testing.assert_allclose(outputs["values"][:, 0], [predictions[u] for u in outputs["ids"]], rtol=1e-6)


def test_multiple_choice_option_scores_are_padded_with_nan(mirror, tiny_bert):
    copa = get_task("copa")
    model = load_model(tiny_bert("multiple_choice", num_labels=1), "multiple_choice")
    rows = load_rows(copa, mirror, limit=6)
    outputs: dict = {}
    predictions = choice.predict(copa, model, rows, SETTINGS, outputs=outputs)
    assert predictions == choice.predict(copa, model, rows, SETTINGS)
    assert outputs["kind"] == "option_scores" and outputs["values"].shape == (6, 2)
    assert [predictions[u] for u in outputs["ids"]] == outputs["values"].argmax(axis=1).tolist()
    # ReCoRD-like rows: a different number of options per row (the second option left out of every other row)
    ragged = dataclasses.replace(
        copa,
        choices=lambda row: list(copa.choices(row))[: 1 + int(row["idx"]) % 2],  # type: ignore[misc]
    )
    outputs = {}
    choice.predict(ragged, model, rows, SETTINGS, outputs=outputs)
    values = outputs["values"]
    assert values.shape == (6, 2)
    for row, line in zip(rows, values):
        assert np.isnan(line[1]) == (int(row["idx"]) % 2 == 0) and np.isfinite(line[0])


def test_span_qa_leaves_outputs_untouched(mirror, tiny_bert):
    squad = get_task("squad")
    model = load_model(tiny_bert("question_answering"), "question_answering")
    outputs: dict = {}
    extractive.predict(squad, model, load_rows(squad, mirror, limit=2), SETTINGS, outputs=outputs)
    assert outputs == {}


def test_outputs_file_round_trip(tmp_path):
    path = outputs_path(tmp_path / "rte.cpu.abc123")
    assert path.name == "rte.cpu.abc123.outputs.npz"
    values = np.array([[1.5, -2.25, np.nan], [1e6, -1e6, 0.1]])
    write_outputs(path, ["a", "é-2"], values, "option_scores")
    back = read_outputs(path)
    assert isinstance(back, Outputs) and back.ids == ("a", "é-2") and back.kind == "option_scores"
    assert back.values.dtype == np.float32 and back.values.shape == (2, 3)
    assert back.values[0, :2].tolist() == [1.5, -2.25] and np.isnan(back.values[0, 2])
    assert back.values[1, :2].tolist() == [FLOAT16_MAX, -FLOAT16_MAX]  # clipped to float16's range, never inf
    assert back.values[1, 2] == pytest.approx(0.1, abs=1e-4)  # float16: about three significant digits
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["ids.npy", "kind.npy", "values.npy", "version.npy"]


def _bad(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


GOOD = {"ids": np.array(["a", "b"]), "values": np.zeros((2, 2), np.float16), "kind": np.array("logits")}


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({k: v for k, v in GOOD.items() if k != "kind"}, "missing array 'kind'"),
        (GOOD | {"extra": np.zeros(1)}, "unknown array 'extra'"),
        (GOOD | {"version": np.array(7)}, "format version"),
        (GOOD | {"kind": np.array("probits")}, "kind is"),
        (GOOD | {"ids": np.array([1, 2])}, "ids must be a 1-D unicode array"),
        (GOOD | {"values": np.zeros((3, 2), np.float16)}, r"values must be a float16 \(2, columns\)"),
        (GOOD | {"values": np.zeros((2, 2), np.float64)}, "values must be a float16"),
        (GOOD | {"ids": np.array(["a", "a"])}, "1 repeated example ids"),
        (GOOD | {"ids": np.array(["a", None], dtype=object)}, "not a readable outputs file"),  # pickle: refused
    ],
)
def test_a_bad_outputs_file_is_refused_naming_it_and_the_fix(tmp_path, arrays, message):
    arrays = {"version": np.array(1), **arrays}
    path = _bad(tmp_path / "x.outputs.npz", **arrays)
    with pytest.raises(UserError, match=message) as err:
        read_outputs(path)
    assert str(path) in str(err.value) and "re-run the evaluation" in str(err.value)


def test_a_missing_or_non_npz_outputs_file_is_refused(tmp_path):
    with pytest.raises(UserError, match="no such outputs file"):
        read_outputs(tmp_path / "none.outputs.npz")
    text = tmp_path / "text.outputs.npz"
    text.write_text("not a zip")
    with pytest.raises(UserError, match="not a readable outputs file") as err:
        read_outputs(text)
    assert str(text) in str(err.value)


def test_evaluate_writes_the_outputs_file_beside_the_record(tmp_path, mirror):
    from harness.cli import main
    from harness.formats import read_predictions
    from harness.records import read_records
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission

    sub = write_tiny_submission(tmp_path / "subs" / "tiny-outputs", ["rte", "squad"], mirror / VOCAB_FILE)
    results = tmp_path / "results"
    for task in ("rte", "squad"):
        args = ["evaluate", str(sub), "--task", task, "--limit", "6", "--threads", "1", "--data-dir", str(mirror)]
        assert main([*args, "--results", str(results), "--no-progress", "--no-measure"]) == 0
    by_task = {r.task.name: r for r in read_records(results / "records")}
    rte, squad = by_task["rte"], by_task["squad"]
    stem = rte.path[: -len(".record.json")]
    assert rte.outputs_file == outputs_path(Path(stem)).name
    written = read_outputs(Path(rte.path).with_name(rte.outputs_file))
    predictions = read_predictions(get_task("rte"), Path(rte.path).with_name(rte.predictions_file))
    assert written.kind == "logits" and written.values.shape == (6, 2) and set(written.ids) == set(predictions)
    assert [predictions[u] for u in written.ids] == written.values.argmax(axis=1).tolist()
    assert squad.outputs_file is None  # span QA: its answers are in the predictions file
    assert not [p for p in (results / "records").rglob(".*") if p.is_file()]  # no temporary file left behind


def test_rescore_copies_the_outputs_file_with_the_predictions(tmp_path, mirror):
    from dataclasses import replace

    from harness.cli import main
    from harness.commands.rescore import rescore
    from harness.records import read_records
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission

    sub = write_tiny_submission(tmp_path / "subs" / "tiny-rescore", ["rte"], mirror / VOCAB_FILE)
    results = tmp_path / "results"
    args = ["evaluate", str(sub), "--task", "rte", "--limit", "6", "--data-dir", str(mirror), "--no-measure"]
    assert main([*args, "--results", str(results), "--no-progress"]) == 0
    (old,) = read_records(results / "records")
    moved = results / "old" / Path(old.path).name  # the stale record elsewhere: re-scoring writes a new one
    moved.parent.mkdir()
    for name in (Path(old.path).name, old.predictions_file, old.outputs_file):
        (Path(old.path).parent / name).rename(moved.parent / name)
    stale = old.with_(path=str(moved), task=replace(old.task, version=0))
    new = rescore(stale, mirror, results)
    copy = Path(new.path).with_name(new.outputs_file)
    assert copy.parent == Path(old.path).parent and copy.read_bytes() == (moved.parent / old.outputs_file).read_bytes()
