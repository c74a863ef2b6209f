"""SQuAD v1.1 on the real mirror, v2.0 on a small file in the official layout, and the predictions JSON."""

import json

import pytest
from conftest import assert_predictions_refused

from harness.errors import DataNotFound, UserError
from harness.formats import read_predictions, write_predictions
from harness.tasks import get_task
from harness.tasks.data import load_rows

SQUAD_V11_DEV_QUESTIONS = 10570

V2_CONTEXT = "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy."
V2_FILE = {
    "version": "v2.0",
    "data": [
        {
            "title": "Normans",
            "paragraphs": [
                {
                    "context": V2_CONTEXT,
                    "qas": [
                        {
                            "question": "In what country is Normandy located?",
                            "id": "q-answerable",
                            "answers": [
                                {"text": "Normandy", "answer_start": 82},
                                {"text": "Normandy.", "answer_start": 82},
                            ],
                            "is_impossible": False,
                        },
                        {
                            "plausible_answers": [{"text": "Normans", "answer_start": 4}],
                            "question": "Who gave their name to Paris?",
                            "id": "q-impossible",
                            "answers": [],
                            "is_impossible": True,
                        },
                    ],
                }
            ],
        }
    ],
}


def write_v2(folder, doc=V2_FILE):
    path = folder / "squad" / "dev-v2.0.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_v11_mirror_loads_every_question(mirror):
    task = get_task("squad")
    rows = load_rows(task, mirror)
    assert len(rows) == SQUAD_V11_DEV_QUESTIONS
    assert len({task.uid(r) for r in rows}) == SQUAD_V11_DEV_QUESTIONS
    first = rows[0]
    assert set(first) == {"id", "title", "context", "question", "answers"}
    assert task.gold_of(first) == ["Denver Broncos"] * 3
    for row in rows:
        golds = row["answers"]
        assert golds["text"] and len(golds["text"]) == len(golds["answer_start"])
    # The gold spans sit in the context where answer_start says (spot check: official file invariant).
    for row in rows[:200]:
        for text, start in zip(row["answers"]["text"], row["answers"]["answer_start"]):
            assert row["context"][start : start + len(text)] == text
    perfect = {task.uid(r): task.gold_of(r)[0] for r in rows}
    assert task.compute_metrics(rows, perfect) == {"exact_match": 1.0, "f1": 1.0}


# The three SQuAD v1.1 dev questions with the gold answer "." (it normalizes to "") beside real golds.
DOT_GOLD_QUESTIONS = ("5725bad5271a42140099d0c1", "5730b7ce069b5314008322c4", "57340d124776f419006617bf")


def test_v11_dev_scores_like_the_official_script_where_a_gold_is_a_lone_period(mirror):
    task = get_task("squad")
    rows = load_rows(task, mirror)
    dotted = sorted(task.uid(r) for r in rows if "." in task.gold_of(r))
    assert dotted == sorted(DOT_GOLD_QUESTIONS)
    # perfect answers, except an empty one on those three questions
    predictions = {task.uid(r): "" if task.uid(r) in DOT_GOLD_QUESTIONS else task.gold_of(r)[0] for r in rows}
    metrics = task.compute_metrics(rows, predictions)
    # evaluate-v1.1.py: "" equals "." after normalization (EM 1), but shares no token with it (F1 0)
    assert metrics["exact_match"] == 1.0
    assert metrics["f1"] == pytest.approx(1 - len(DOT_GOLD_QUESTIONS) / SQUAD_V11_DEV_QUESTIONS)


def test_scoring_rule_fixes_bumped_the_task_version():
    # v1.1 stopped reusing v2.0's empty-gold rules (issue 11): records of version 1 are stale
    assert get_task("squad").version == 2
    assert get_task("squad_v2").version == 1


def test_v2_keeps_its_own_no_answer_rules(tmp_path):
    doc = json.loads(json.dumps(V2_FILE))
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"].append({"text": ".", "answer_start": 90})
    write_v2(tmp_path, doc)
    task = get_task("squad_v2")
    rows = load_rows(task, tmp_path)
    # v2.0 drops the "." gold: an empty answer to the answerable question is wrong (EM 0, F1 0); the impossible one
    # answered with "" scores 1 and 1
    assert task.compute_metrics(rows, {"q-answerable": "", "q-impossible": ""}) == {"exact_match": 0.5, "f1": 0.5}


def test_task_declarations():
    for name in ("squad", "squad_v2"):
        task = get_task(name)
        assert task.kind == "extractive_qa" and task.max_length == 384 and task.format == "squad_json"
        assert [m.name for m in task.metrics] == ["exact_match", "f1"]
    assert get_task("squad_v2").source.hub_path == "rajpurkar/squad_v2"


def test_v2_official_layout_with_an_impossible_question(tmp_path):
    write_v2(tmp_path)
    task = get_task("squad_v2")
    rows = load_rows(task, tmp_path)
    assert [task.uid(r) for r in rows] == ["q-answerable", "q-impossible"]
    assert rows[0]["title"] == "Normans" and rows[0]["context"] == V2_CONTEXT
    assert rows[0]["answers"] == {"text": ["Normandy", "Normandy."], "answer_start": [82, 82]}
    assert rows[1]["answers"] == {"text": [], "answer_start": []}  # plausible answers are not gold
    assert task.gold_of(rows[1]) == []
    assert task.texts(rows[0]) == ("In what country is Normandy located?", V2_CONTEXT)
    assert task.compute_metrics(rows, {"q-answerable": "normandy", "q-impossible": ""}) == {
        "exact_match": 1.0,
        "f1": 1.0,
    }
    assert task.compute_metrics(rows, {"q-answerable": "Normandy", "q-impossible": "Normans"})["exact_match"] == 0.5


def test_v2_is_absent_from_the_mirror_and_the_error_names_the_file(tmp_path):
    with pytest.raises(DataNotFound, match=r"squad/dev-v2\.0\.json.*rajpurkar/squad_v2"):
        load_rows(get_task("squad_v2"), tmp_path)


def test_malformed_squad_file_names_the_field(tmp_path):
    write_v2(tmp_path, {"version": "v2.0", "data": [{"title": "x", "paragraphs": [{"context": "c"}]}]})
    with pytest.raises(UserError, match=r"dev-v2\.0\.json: data\[0\]\.paragraphs\[0\] has no field 'qas'"):
        load_rows(get_task("squad_v2"), tmp_path)
    (tmp_path / "squad" / "dev-v2.0.json").write_text('{"data": [\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"dev-v2\.0\.json:2: not valid JSON"):
        load_rows(get_task("squad_v2"), tmp_path)


def test_predictions_json_round_trip(tmp_path):
    task = get_task("squad_v2")
    preds = {"q-answerable": "Normandy", "q-impossible": "", "q-unicode": 'Zürich "quoted"'}
    path = tmp_path / "out" / "squad_v2.predictions.json"
    write_predictions(task, preds, path)
    assert json.loads(path.read_text(encoding="utf-8")) == preds
    assert read_predictions(task, path) == preds


@pytest.mark.parametrize(
    "text,message",
    [
        ('["Normandy"]', r"top level is a list, not an object"),
        ('{"q1": "a",\n "q2": null}', r"answer to question 'q2' is null, not a string; write the answer text, or \"\""),
        ('{"q1": "a",\n "q1": "b"}', r"question id 'q1' appears twice"),
        ('{"q1": "a",\n "q2": }', r"\.json:2: not valid JSON"),
    ],
)
def test_bad_predictions_json(tmp_path, text, message):
    assert_predictions_refused(tmp_path / "bad.json", text, "squad", message)
