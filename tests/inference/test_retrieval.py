"""Retriever + reader open-domain QA: TF-IDF over packaged passages, an extractive head reads the best ones."""

import json

import pytest

from harness.backends import load_model
from harness.cli import main
from harness.errors import UserError
from harness.inference.formulations import EvalSettings
from harness.inference.formulations.generative import predict
from harness.inference.retrieval import PASSAGES_FILE, TfidfRetriever, read_passages
from harness.tasks import get_task
from harness.tasks.data import load_rows

PASSAGES = [
    "The Apollo 17 mission landed on the moon in December 1972.",
    "Bobby Scott and Bob Russell wrote the song He Ain't Heavy, He's My Brother.",
    "The Los Angeles Dodgers won the World Series in 1988.",
    "Poison recorded Nothin' but a Good Time in 1988.",
]


def test_tfidf_retrieves_the_passage_that_shares_the_question_words():
    top = TfidfRetriever(PASSAGES).top_k(["who wrote he ain't heavy he's my brother", "dodgers world series"], 2)
    assert top[0][0] == 1 and top[1][0] == 2
    assert len(top[0]) == 2


def test_reader_answers_with_a_span_of_a_retrieved_passage(tiny_bert, mirror):
    folder = tiny_bert("retriever_reader")
    (folder / PASSAGES_FILE).write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(PASSAGES))
    )
    task = get_task("nq_open")
    rows = load_rows(task, mirror, limit=4)
    model = load_model(folder, "retriever_reader")
    preds = predict(task, model, rows, EvalSettings(retrieval_top_k=2, batch_size=3))
    assert set(preds) == {task.uid(r) for r in rows}
    assert all(any(p in text for text in PASSAGES) for p in preds.values())
    single = predict(task, model, rows, EvalSettings(retrieval_top_k=2, batch_size=1, sort_by_length=False))
    assert single == preds


def test_passages_are_required_and_checked(tmp_path, tiny_bert, capsys):
    folder = tmp_path / "rr"
    folder.mkdir()
    tiny_bert("retriever_reader").rename(folder / "model")
    (folder / "submission.yaml").write_text(
        "name: rr\nteam: t\ncontact: a@b.org\nmethods: [other]\n"
        "tasks:\n  nq_open: {model: model, head: retriever_reader}\n"
    )
    assert main(["check", str(folder)]) == 1
    assert PASSAGES_FILE in capsys.readouterr().out
    (folder / "model" / PASSAGES_FILE).write_text('{"id": 1, "text": ""}\n')
    with pytest.raises(UserError, match="non-empty"):
        read_passages(folder / "model")
