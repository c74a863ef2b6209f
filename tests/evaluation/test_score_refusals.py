"""Scoring refusals (issue 11): each names the predictions file and the task, and none is a Python traceback.

Also the label order GLUE TSV files use for indices, as `harness tasks` states it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import assert_predictions_refused

from harness.cli import main
from harness.errors import UserError
from harness.formats import read_predictions
from harness.tasks import get_task, task_names
from harness.tasks.data import load_rows

WNLI_DEV_ROWS = 71  # MANIFEST.md
STSB_DEV_ROWS = 1500  # MANIFEST.md
CONSTANT_SCORE = 2.5  # any one STS-B score given to every example
GLUE_TSV_CLASSIFICATION = [n for n in task_names() if get_task(n).format == "glue_tsv" and get_task(n).labels]


def _tsv(path: Path, predictions: list[tuple[object, object]]) -> Path:
    path.write_text("index\tprediction\n" + "".join(f"{i}\t{v}\n" for i, v in predictions), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# incomplete files
# ---------------------------------------------------------------------------------------------


def test_score_refuses_an_incomplete_file_naming_it_and_saying_how_official_scorers_differ(mirror, tmp_path, capsys):
    path = _tsv(tmp_path / "wnli.tsv", [(0, 1)])
    assert main(["score", "--task", "wnli", str(path), "--data-dir", str(mirror)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: task wnli: {WNLI_DEV_ROWS - 1} of {WNLI_DEV_ROWS} examples have no prediction" in err
    assert "official" in err and "as wrong" in err and "partial" in err  # the fix says why the harness refuses


def test_compute_metrics_names_the_predictions_file_it_is_given(mirror, tmp_path):
    task = get_task("wnli")
    rows = load_rows(task, mirror)
    path = tmp_path / "wnli.tsv"
    with pytest.raises(UserError, match=rf"^{re.escape(str(path))}: task wnli: {WNLI_DEV_ROWS} of {WNLI_DEV_ROWS} "):
        task.compute_metrics(rows, {}, predictions_file=path)
    with pytest.raises(UserError, match=rf"^task wnli: {WNLI_DEV_ROWS} of"):  # in-memory predictions: the task alone
        task.compute_metrics(rows, {})


# ---------------------------------------------------------------------------------------------
# undefined and degenerate correlations
# ---------------------------------------------------------------------------------------------


def test_score_of_constant_stsb_predictions_is_an_error_naming_file_and_task(mirror, tmp_path, capsys):
    task = get_task("stsb")
    path = _tsv(tmp_path / "stsb.tsv", [(task.uid(r), CONSTANT_SCORE) for r in load_rows(task, mirror)])
    assert main(["score", "--task", "stsb", str(path), "--data-dir", str(mirror)]) == 2  # UserError, no traceback
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {path}: task stsb: pearson: all predictions are equal ({CONSTANT_SCORE}, {STSB_DEV_ROWS} of them)"
    )
    assert "correlation is undefined" in err and "Traceback" not in err


def test_an_undefined_correlation_through_compute_metrics_is_a_user_error(mirror):
    task = get_task("stsb")
    rows = load_rows(task, mirror, limit=10)
    with pytest.raises(UserError, match=r"^task stsb: pearson: .*correlation is undefined"):
        task.compute_metrics(rows, {task.uid(r): CONSTANT_SCORE for r in rows})


def test_evaluate_of_a_constant_model_writes_a_failed_record_saying_why(tmp_path, tiny_bert, mirror):
    import torch
    import transformers

    from harness.evaluation.evaluate import ModelRef, evaluate
    from harness.inference.formulations import EvalSettings

    folder = tiny_bert(num_labels=1)
    model = transformers.BertForSequenceClassification.from_pretrained(folder)
    with torch.no_grad():  # a collapsed regression head: the same score for every input
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(CONSTANT_SCORE)
    model.save_pretrained(folder)
    record = evaluate(
        ModelRef("constant", folder),
        "stsb",
        EvalSettings(),
        data_dir=mirror,
        results_dir=tmp_path,
        limit=10,
        measure=(),
        energy={"off": True},
    )
    assert record.status == "failed"
    assert "task stsb" in record.error and "correlation is undefined" in record.error
    assert record.traceback is None  # a UserError: the record says why, with no Python traceback


@pytest.mark.parametrize("name", ["cola", "ax"])
def test_matthews_correlation_of_one_label_for_every_example_is_zero(mirror, name):
    # the official scorers (scikit-learn's matthews_corrcoef) define it as 0: no error, no nan
    task = get_task(name)
    rows = load_rows(task, mirror)
    assert task.compute_metrics(rows, {task.uid(r): 1 for r in rows}) == {"matthews_correlation": 0.0}


# ---------------------------------------------------------------------------------------------
# GLUE TSV labels: names or indices, in the order `harness tasks` prints
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GLUE_TSV_CLASSIFICATION)
def test_glue_tsv_reads_each_label_as_its_index_its_file_string_or_its_name(tmp_path, name):
    task = get_task(name)
    indices = range(len(task.labels))
    for spelling in ([str(i) for i in indices], list(task.label_strings()), list(task.labels)):
        path = _tsv(tmp_path / "p.tsv", list(enumerate(spelling)))
        assert read_predictions(task, path) == {str(i): i for i in indices}


def test_qnli_indices_follow_the_hub_order(tmp_path):
    path = _tsv(tmp_path / "qnli.tsv", [(0, "0"), (1, "1"), (2, "entailment")])
    assert read_predictions(get_task("qnli"), path) == {"0": 0, "1": 1, "2": 0}  # 0 = entailment
    assert get_task("qnli").labels == ("entailment", "not_entailment")


@pytest.mark.parametrize("value", ["2", "-1", "1.0", "entails"])
def test_glue_tsv_refuses_a_label_that_is_neither_name_nor_index_naming_file_and_line(tmp_path, value):
    assert_predictions_refused(
        tmp_path / "bad.tsv",
        f"index\tprediction\n0\t0\n1\t{value}\n",
        "qnli",
        rf"bad\.tsv:3: prediction {re.escape(repr(value))} is not one of entailment, "
        r"not_entailment or an index 0\.\.1 \(task qnli",
    )


def test_harness_tasks_states_the_label_order(capsys):
    assert main(["tasks"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "labels 0=entailment 1=not_entailment" in lines["qnli"]
    assert "labels 0=entailment 1=neutral 2=contradiction" in lines["mnli_matched"]
    assert "labels 0=entailment 1=contradiction 2=neutral" in lines["cb"]  # the hub's CB order
    assert "labels 0=negative 1=positive" in lines["sst2"]
    assert "labels" not in lines["stsb"] and "labels" not in lines["squad"]
    for name in GLUE_TSV_CLASSIFICATION:  # the order files are read in is the order printed
        task = get_task(name)
        assert "labels " + " ".join(f"{i}={label}" for i, label in enumerate(task.labels)) in lines[name]


# ---------------------------------------------------------------------------------------------
# unreadable prediction files
# ---------------------------------------------------------------------------------------------


def test_a_glue_tsv_that_is_not_utf8_is_refused_naming_it(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes("index\tprediction\n0\tnégatif\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1\.tsv: not UTF-8 text"):
        read_predictions(get_task("sst2"), path)


def test_a_multirc_question_whose_answers_are_not_a_list_is_refused_naming_the_file(tmp_path):
    assert_predictions_refused(
        tmp_path / "bad.jsonl",
        '{"idx": 0, "passage": {"questions": [{"idx": 0, "answers": 1}]}}\n',
        "multirc",
        r"bad\.jsonl:1: question 0: answers must be a list",
    )
