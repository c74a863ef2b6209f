"""NQ-open and EfficientQA on the real mirror, closed-book generation with a tiny T5, and the JSONL format."""

import json

import pytest
from conftest import assert_predictions_refused, save_tiny_t5

from harness.backends import load_model
from harness.errors import DataNotFound, UserError
from harness.formats import read_predictions, write_predictions
from harness.inference.formulations import EvalSettings, formulation
from harness.tasks import get_task
from harness.tasks.data import DATA_DIR_ENV, load_rows

DEV_QUESTIONS = {"nq_open": 3610, "efficientqa": 1800}


@pytest.mark.parametrize("name,count", sorted(DEV_QUESTIONS.items()))
def test_mirror_loads_every_question(mirror, name, count):
    task = get_task(name)
    rows = load_rows(task, mirror)
    assert len(rows) == count
    assert len({task.uid(r) for r in rows}) == count  # questions are unique: they key the predictions
    for row in rows:
        assert set(row) == {"question", "answer"}
        assert row["question"] and task.gold_of(row) and all(isinstance(a, str) for a in row["answer"])
    assert task.uid(rows[0]) == rows[0]["question"]
    perfect = {task.uid(r): task.gold_of(r)[-1] for r in rows}
    assert task.compute_metrics(rows, perfect) == {"exact_match": 1.0}


def test_first_nq_open_row(mirror):
    row = load_rows(get_task("nq_open"), mirror)[0]
    assert row == {
        "question": "when was the last time anyone was on the moon",
        "answer": ["14 December 1972 UTC", "December 1972"],
    }


def test_efficientqa_has_no_hub_copy_and_says_where_to_get_it(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(
        DataNotFound, match=r"no copy on the Hugging Face hub.*nq_open/NQ-open\.efficientqa\.dev\.1\.1\.jsonl"
    ):
        load_rows(get_task("efficientqa"))


def test_bad_mirror_line_names_the_file(tmp_path):
    path = tmp_path / "nq_open" / "NQ-open.dev.jsonl"
    path.parent.mkdir()
    path.write_text('{"question": "q", "answer": ["a"]}\n{"question": "q2", "answer": "a"}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"NQ-open\.dev\.jsonl: record 2 needs .* list of strings 'answer'"):
        load_rows(get_task("nq_open"), tmp_path)


def test_generative_predict_with_tiny_t5(mirror, tmp_path):
    task = get_task("nq_open")
    rows = load_rows(task, mirror, limit=4)
    model = load_model(save_tiny_t5(tmp_path / "t5"), "seq2seq")
    preds = formulation(task).predict(task, model, rows, EvalSettings(batch_size=3, max_new_tokens=3))
    assert list(preds) == [r["question"] for r in rows]
    assert all(isinstance(p, str) and p == p.strip() for p in preds.values())


def test_generative_predict_needs_a_seq2seq_head(mirror, tiny_bert):
    task = get_task("nq_open")
    model = load_model(tiny_bert("question_answering"), "question_answering")
    with pytest.raises(UserError, match="needs a seq2seq or retriever_reader model"):
        formulation(task).predict(task, model, load_rows(task, mirror, limit=1), EvalSettings())


def test_efficientqa_jsonl_round_trip(tmp_path):
    task = get_task("nq_open")
    preds = {'who wrote "hamlet"': "William Shakespeare", "where is zürich": "Switzerland", "empty?": ""}
    path = tmp_path / "nq_open.predictions.jsonl"
    write_predictions(task, preds, path)
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"question": 'who wrote "hamlet"', "prediction": "William Shakespeare"}
    assert read_predictions(task, path) == preds


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"question": "q", "prediction": "a"}\n{"question": "q2", "prediction": "b"\n', r":2: not valid JSON"),
        ('["q", "a"]\n', r":1: a JSON list, not an object"),
        ('{"question": "q", "prediction": 7}\n', r":1: field 'prediction' is 7, not a string"),
        ('{"question": "q"}\n', r":1: field 'prediction' is missing"),
        (
            '{"question": "q", "prediction": "a"}\n\n{"question": "q", "prediction": "b"}\n',
            r":3: question 'q' appears twice",
        ),
    ],
)
def test_bad_efficientqa_jsonl(tmp_path, text, message):
    assert_predictions_refused(tmp_path / "bad.jsonl", text, "nq_open", message)
