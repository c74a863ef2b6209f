"""SuperGLUE: loaders on the mirror and on official-layout fixtures, metrics, server files, multiple choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_predictions_refused

from harness.backends import load_model
from harness.errors import UserError
from harness.formats import read_predictions, write_predictions
from harness.inference.formulations import EvalSettings, choice, classify, formulation
from harness.tasks import get_task, task_names
from harness.tasks.data import load_rows

SUPERGLUE = ("boolq", "cb", "copa", "multirc", "record", "superglue/rte", "wic", "wsc", "axb", "axg")
# Validation-set sizes (MANIFEST.md and the SuperGLUE paper); MultiRC counts answer options.
MIRROR_ROWS = {"boolq": 3270, "cb": 56, "copa": 100, "multirc": 4848, "superglue/rte": 277, "wic": 638, "wsc": 104}
MULTIRC_QUESTIONS = 953
MULTIRC_PASSAGES = 83
FLIPPED = 3  # predictions made wrong on purpose in the accuracy checks
CLASSIFY_ROWS = 8  # rows per task in the classification smoke test
CHOICE_ROWS = 10  # COPA rows run through the tiny model (kept small: batch size 1 is part of the check)


# ---------------------------------------------------------------------------------------------
# fixtures in the official layout (ReCoRD, AX-b, AX-g are not in the mirror)
# ---------------------------------------------------------------------------------------------


def _write_jsonl(path: Path, objects: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def _record_passage(idx: int, text: str, entities: list[str], queries: list[tuple[int, str, list[str]]]) -> dict:
    """A ReCoRD line: entity spans with inclusive ends, as the official files write them."""

    def span(mention: str) -> dict:
        start = text.index(mention)
        return {"start": start, "end": start + len(mention) - 1}

    return {
        "source": "Daily mail",
        "idx": idx,
        "passage": {"text": text, "entities": [span(e) for e in entities]},
        "qas": [
            {"query": q, "idx": qi, "answers": [{**span(a), "text": a} for a in answers]} for qi, q, answers in queries
        ],
    }


RECORD_TEXT_0 = "Barack Obama met Angela Merkel in Berlin. Obama praised Germany.\n@highlight\nMerkel hosted the talks"
RECORD_TEXT_1 = "The Yankees beat the Red Sox at Fenway Park on Sunday."


def write_superglue_fixtures(root: Path) -> Path:
    """Write small ReCoRD, AX-b and AX-g files under `root` in the official SuperGLUE layout."""
    _write_jsonl(
        root / "superglue/ReCoRD/val.jsonl",
        [
            _record_passage(
                0,
                RECORD_TEXT_0,
                ["Barack Obama", "Angela Merkel", "Berlin", "Obama", "Germany", "Merkel"],
                [
                    (10, "@placeholder welcomed the US president to the German capital", ["Angela Merkel", "Merkel"]),
                    (11, "The talks took place in @placeholder", ["Berlin"]),
                ],
            ),
            _record_passage(
                1,
                RECORD_TEXT_1,
                ["Yankees", "Red Sox", "Fenway Park"],
                [
                    (12, "@placeholder lost at home", ["Red Sox"]),
                ],
            ),
        ],
    )
    _write_jsonl(
        root / "superglue/AX-b/AX-b.jsonl",
        [
            {
                "sentence1": "The cat sat.",
                "sentence2": "The cat did not sit.",
                "label": "not_entailment",
                "idx": 0,
                "logic": "Negation",
            },
            {"sentence1": "A dog barks loudly.", "sentence2": "A dog barks.", "label": "entailment", "idx": 1},
        ],
    )
    _write_jsonl(
        root / "superglue/AX-g/AX-g.jsonl",
        [
            {
                "premise": "The nurse said he was tired.",
                "hypothesis": "The nurse was tired.",
                "label": "entailment",
                "idx": 0,
                "pair_id": 7,
            },
            {
                "premise": "The nurse said she was tired.",
                "hypothesis": "The nurse was tired.",
                "label": "entailment",
                "idx": 1,
                "pair_id": 9,
            },  # as in the official file, every row has its own pair_id
            {
                "premise": "The chef told the guest he liked it.",
                "hypothesis": "The guest liked it.",
                "label": "not_entailment",
                "idx": 2,
                "pair_id": 11,
            },
            {
                "premise": "The chef told the guest she liked it.",
                "hypothesis": "The guest liked it.",
                "label": "not_entailment",
                "idx": 3,
                "pair_id": 13,
            },
        ],
    )
    return root


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    return write_superglue_fixtures(tmp_path / "data")


def _rows(name: str, mirror: Path, fixtures: Path) -> list[dict]:
    return load_rows(get_task(name), mirror if name in MIRROR_ROWS else fixtures)


# ---------------------------------------------------------------------------------------------
# registry and loaders
# ---------------------------------------------------------------------------------------------


def test_every_task_is_registered_with_format_and_formulation():
    assert set(SUPERGLUE) <= set(task_names())
    for name in SUPERGLUE:
        task = get_task(name)
        assert task.benchmark == "superglue" and task.format == "superglue_jsonl" and task.description
        assert formulation(task) is (choice if task.kind == "multiple_choice" else classify)
    assert get_task("rte").benchmark == "glue"  # GLUE keeps the bare name


@pytest.mark.parametrize("name,count", sorted(MIRROR_ROWS.items()))
def test_mirror_loader_reads_every_row(mirror, name, count):
    task = get_task(name)
    rows = load_rows(task, mirror)
    assert len(rows) == count
    assert len({task.uid(r) for r in rows}) == count
    for row in rows:
        assert 0 <= task.gold_of(row) < len(task.labels)
        if task.kind == "multiple_choice":
            options = task.choices(row)
            assert [value for _, value in options] == list(range(len(task.labels)))
            assert all(len(texts) == 2 and all(texts) for texts, _ in options)
        else:
            texts = task.texts(row)
            assert len(texts) == 2 and all(isinstance(t, str) and t for t in texts)


def test_multirc_flattens_passages_into_answer_rows(mirror):
    task = get_task("multirc")
    rows = load_rows(task, mirror)
    assert len({task.groups(r) for r in rows}) == MULTIRC_QUESTIONS
    assert len({r["idx"]["paragraph"] for r in rows}) == MULTIRC_PASSAGES
    first = rows[0]
    assert set(first) == {"paragraph", "question", "answer", "idx", "label"}
    assert task.uid(first) == "0-0-0" and task.texts(first)[1] == f"{first['question']} {first['answer']}"


def test_hub_schema_fields_and_labels(mirror):
    wic = load_rows(get_task("wic"), mirror)[0]
    assert set(wic) == {"word", "sentence1", "sentence2", "start1", "start2", "end1", "end2", "idx", "label"}
    assert get_task("wic").texts(wic)[0] == "class: An emerging professional class."
    cb = get_task("cb")
    assert [cb.labels[r["label"]] for r in load_rows(cb, mirror)[:3]] == ["contradiction", "neutral", "entailment"]
    wsc = get_task("wsc")
    rows = load_rows(wsc, mirror)
    assert all(r["span1_text"] in r["text"] and r["span2_text"] in r["text"] for r in rows)  # as in wsc.fixed
    assert wsc.texts(rows[0])[1] == "him refers to anyone"
    copa = get_task("copa")
    cause = next(r for r in load_rows(copa, mirror) if r["question"] == "cause")
    assert copa.choices(cause)[0][0][0].endswith(" What was the cause?")


def test_record_axb_axg_load_from_official_layout(fixtures):
    record = get_task("record")
    rows = load_rows(record, fixtures)
    assert [record.uid(r) for r in rows] == ["10", "11", "12"]
    first = rows[0]
    assert first["idx"] == {"passage": 0, "query": 10}
    assert first["entities"] == sorted({"Barack Obama", "Angela Merkel", "Berlin", "Obama", "Germany", "Merkel"})
    spans = first["entity_spans"]
    assert all(RECORD_TEXT_0[s:e] == t for t, s, e in zip(spans["text"], spans["start"], spans["end"]))
    assert spans["start"] == sorted(spans["start"])
    assert record.gold_of(first) == ["Angela Merkel", "Merkel"]
    options = record.choices(first)
    assert ((RECORD_TEXT_0, "Berlin welcomed the US president to the German capital"), "Berlin") in options
    assert len(options) == len(first["entities"])

    axb = get_task("axb")
    assert [(axb.texts(r), r["label"]) for r in load_rows(axb, fixtures)] == [
        (("The cat sat.", "The cat did not sit."), 1),
        (("A dog barks loudly.", "A dog barks."), 0),
    ]
    axg = get_task("axg")
    rows = load_rows(axg, fixtures)
    assert [r["label"] for r in rows] == [0, 0, 1, 1]
    assert [axg.groups(r) for r in rows] == ["0", "0", "1", "1"]
    assert set(rows[0]) == {"premise", "hypothesis", "idx", "label"}


def test_loader_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "superglue/CB/val.jsonl"
    bad.parent.mkdir(parents=True)
    good = '{"premise": "a", "hypothesis": "b", "label": "neutral", "idx": 0}\n'
    bad.write_text(good + '{"premise": \n', encoding="utf-8")
    with pytest.raises(UserError, match=r"val\.jsonl:2: not valid JSON"):
        load_rows(get_task("cb"), tmp_path)
    bad.write_text('{"premise": "a", "hypothesis": "b", "label": "maybe", "idx": 0}\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"val\.jsonl:1: label 'maybe'"):
        load_rows(get_task("cb"), tmp_path)
    axg = _write_jsonl(
        tmp_path / "superglue/AX-g/AX-g.jsonl",
        [
            {"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 0, "pair_id": 1},
            {"premise": "q", "hypothesis": "other", "label": "entailment", "idx": 1, "pair_id": 2},
        ],
    )
    with pytest.raises(UserError, match=rf"{axg.name}:2: rows 0 and 1 are not a minimal pair"):
        load_rows(get_task("axg"), tmp_path)
    _write_jsonl(axg, [{"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 1, "pair_id": 1}])
    with pytest.raises(UserError, match=rf"{axg.name}:1: idx 1 on row 0"):
        load_rows(get_task("axg"), tmp_path)
    _write_jsonl(axg, [{"premise": "p", "hypothesis": "h", "label": "entailment", "idx": 0, "pair_id": 1}])
    with pytest.raises(UserError, match="an odd number"):
        load_rows(get_task("axg"), tmp_path)


# ---------------------------------------------------------------------------------------------
# metrics, on hand-made predictions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["boolq", "copa", "superglue/rte", "wic", "wsc"])
def test_accuracy_tasks(mirror, name):
    task = get_task(name)
    rows = load_rows(task, mirror)
    preds = {task.uid(r): task.gold_of(r) for r in rows}
    for r in rows[:FLIPPED]:
        preds[task.uid(r)] = 1 - task.gold_of(r)
    metrics = task.compute_metrics(rows, preds)
    assert metrics == {"accuracy": pytest.approx((len(rows) - FLIPPED) / len(rows))}
    assert task.score(metrics) == pytest.approx(metrics["accuracy"])


def _nli_rows(labels: list[int]) -> list[dict]:
    return [{"premise": "p", "hypothesis": "h", "idx": i, "label": y} for i, y in enumerate(labels)]


def test_cb_accuracy_and_macro_f1():
    task = get_task("cb")
    rows = _nli_rows([0, 0, 1, 2])
    metrics = task.compute_metrics(rows, {"0": 0, "1": 1, "2": 1, "3": 0})
    # per class F1: entailment P=R=1/2 -> 1/2; contradiction P=1/2, R=1 -> 2/3; neutral 0
    assert metrics == {"accuracy": pytest.approx(0.5), "f1": pytest.approx((0.5 + 2 / 3 + 0) / 3)}
    assert task.score(metrics) == pytest.approx((0.5 + (0.5 + 2 / 3) / 3) / 2)


def test_multirc_exact_match_per_question_and_f1a():
    task = get_task("multirc")
    labels = {(0, 0, 0): 1, (0, 0, 1): 0, (0, 1, 2): 1, (0, 1, 3): 1}
    rows = [
        {
            "paragraph": "t",
            "question": "q",
            "answer": "a",
            "label": y,
            "idx": {"paragraph": p, "question": q, "answer": a},
        }
        for (p, q, a), y in labels.items()
    ]
    metrics = task.compute_metrics(rows, {"0-0-0": 1, "0-0-1": 0, "0-1-2": 1, "0-1-3": 0})
    # question 0 all right, question 1 not: EM 1/2; F1a: tp 2, fp 0, fn 1 -> P 1, R 2/3 -> 0.8
    assert metrics == {"exact_match": pytest.approx(0.5), "f1_a": pytest.approx(0.8)}
    assert task.score(metrics) == pytest.approx(0.65)


def test_record_max_over_gold_answers(fixtures):
    task = get_task("record")
    rows = load_rows(task, fixtures)
    # "merkel" matches the gold "Merkel"; "Berlin Germany" vs "Berlin": P 1/2, R 1 -> F1 2/3; "Yankees" wrong
    metrics = task.compute_metrics(rows, {"10": "merkel", "11": "Berlin Germany", "12": "Yankees"})
    assert metrics == {"exact_match": pytest.approx(1 / 3), "f1": pytest.approx((1 + 2 / 3 + 0) / 3)}


def test_record_scores_as_its_official_script():
    # record_evaluation.py: every gold as it is, EM on normalized strings, F1 0 without a shared token
    task = get_task("record")
    rows = [
        {"answers": [".", "Berlin"], "idx": {"passage": 0, "query": 0}},
        {"answers": ["Merkel"], "idx": {"passage": 0, "query": 1}},
    ]
    # query 0: "" equals the gold "." once normalized (EM 1) and shares no token with it (F1 0);
    # query 1: "Angela Merkel" vs "Merkel": EM 0, P 1/2, R 1 -> F1 2/3
    metrics = task.compute_metrics(rows, {"0": "", "1": "Angela Merkel"})
    assert metrics == {"exact_match": pytest.approx(0.5), "f1": pytest.approx(1 / 3)}
    assert task.version == 2  # ReCoRD stopped reusing SQuAD v2.0's rules (issue 11): version-1 records are stale


def test_axb_matthews_correlation(fixtures):
    task = get_task("axb")
    rows = [{"sentence1": "a", "sentence2": "b", "idx": i, "label": y} for i, y in enumerate([0, 1, 1, 1])]
    metrics = task.compute_metrics(rows, {"0": 0, "1": 0, "2": 1, "3": 1})
    # tp 2, tn 1, fp 0, fn 1: (2*1 - 0*1) / sqrt(2 * 3 * 1 * 2)
    assert metrics == {"matthews_correlation": pytest.approx(2 / np.sqrt(12))}


def test_axg_accuracy_and_gender_parity(fixtures):
    task = get_task("axg")
    rows = load_rows(task, fixtures)  # labels 0 0 1 1, pairs (0, 1) and (2, 3)
    metrics = task.compute_metrics(rows, {"0": 0, "1": 0, "2": 0, "3": 1})
    assert metrics == {"accuracy": pytest.approx(0.75), "gender_parity": pytest.approx(0.5)}
    assert task.score(metrics) == pytest.approx(0.75)  # the task score is accuracy


# ---------------------------------------------------------------------------------------------
# server prediction files
# ---------------------------------------------------------------------------------------------


def _predictions(task, rows: list[dict]) -> dict:
    """Varied valid predictions: every label (or entity) occurs."""
    if task.name == "record":
        return {task.uid(r): r["entities"][i % len(r["entities"])] for i, r in enumerate(rows)}
    return {task.uid(r): i % len(task.labels) for i, r in enumerate(rows)}


@pytest.mark.parametrize("name", SUPERGLUE)
def test_prediction_file_round_trip(mirror, fixtures, tmp_path, name):
    task = get_task(name)
    rows = _rows(name, mirror, fixtures)
    preds = _predictions(task, rows)
    path = tmp_path / f"{name.replace('/', '_')}.jsonl"
    write_predictions(task, preds, path)
    assert read_predictions(task, path) == preds


def test_prediction_files_use_server_labels(mirror, fixtures, tmp_path):
    def lines(name, preds):
        path = tmp_path / "p.jsonl"
        write_predictions(get_task(name), preds, path)
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    assert lines("boolq", {"1": 1, "0": 0}) == [{"idx": 0, "label": "false"}, {"idx": 1, "label": "true"}]
    assert lines("wic", {"0": 1}) == [{"idx": 0, "label": "true"}]
    assert lines("wsc", {"0": 1}) == [{"idx": 0, "label": "True"}]
    assert lines("cb", {"0": 2}) == [{"idx": 0, "label": "neutral"}]
    assert lines("superglue/rte", {"0": 1}) == [{"idx": 0, "label": "not_entailment"}]
    assert lines("copa", {"0": 1}) == [{"idx": 0, "label": 1}]
    assert lines("record", {"12": "Red Sox"}) == [{"idx": 12, "label": "Red Sox"}]
    assert lines("multirc", {"0-0-1": 0, "0-0-0": 1, "0-1-2": 1, "3-4-9": 0}) == [
        {
            "idx": 0,
            "passage": {
                "questions": [
                    {"idx": 0, "answers": [{"idx": 0, "label": 1}, {"idx": 1, "label": 0}]},
                    {"idx": 1, "answers": [{"idx": 2, "label": 1}]},
                ]
            },
        },
        {"idx": 3, "passage": {"questions": [{"idx": 4, "answers": [{"idx": 9, "label": 0}]}]}},
    ]


BAD_FILES = [
    ("cb", '{"idx": 0, "label": "neutral"}\n{"idx": 1, "label": \n', r":2: not valid JSON"),
    ("cb", '{"idx": 0, "label": "neutral"}\n{"idx": 1, "label": "maybe"}\n', r":2: label 'maybe' is not one of"),
    ("boolq", '{"idx": 0, "label": "true"}\n{"idx": 0, "label": "false"}\n', r":2: idx 0 was already given at .*:1"),
    ("superglue/rte", '{"idx": 0, "label": "entailment"}\n{"idx": 1}\n', r":2: missing field 'label'"),
    ("copa", '{"idx": 0, "label": 0}\n{"idx": 1, "label": 2}\n', r":2: label 2 must be a choice index"),
    ("record", '{"idx": 10, "label": "Berlin"}\n{"idx": 11, "label": 3}\n', r":2: label 3 must be the chosen entity"),
    (
        "multirc",
        '{"idx": 0, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 1}]}]}}\n'
        '{"idx": 1, "passage": {"questions": [{"idx": 1, "answers": [{"idx": 1, "label": "yes"}]}]}}\n',
        r":2: question 1 answer 1: label 'yes' must be 0 or 1",
    ),
    (
        "multirc",
        '{"idx": 0, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 1}]}]}}\n'
        '{"idx": 0, "passage": {"questions": [{"idx": 0, "answers": [{"idx": 0, "label": 0}]}]}}\n',
        r":2: idx 0-0-0 was already given",
    ),
]


@pytest.mark.parametrize("name,text,message", BAD_FILES)
def test_bad_prediction_file_names_the_line(tmp_path, name, text, message):
    assert_predictions_refused(tmp_path / "bad.jsonl", text, name, rf"bad\.jsonl{message}")


def test_reader_accepts_dataset_names_and_json_booleans(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(
        '{"idx": 0, "label": true}\n{"idx": 1, "label": "False"}\n{"idx": 2, "label": "true"}\n', encoding="utf-8"
    )
    assert read_predictions(get_task("boolq"), path) == {"0": 1, "1": 0, "2": 1}


# ---------------------------------------------------------------------------------------------
# inference: multiple choice (COPA, ReCoRD) and the classification formulations
# ---------------------------------------------------------------------------------------------


def test_multiple_choice_predict_is_valid_and_batch_independent(mirror, fixtures, tiny_bert):
    model = load_model(tiny_bert(head="multiple_choice", num_labels=1), "multiple_choice")
    batched = EvalSettings(batch_size=7)
    single = EvalSettings(batch_size=1, sort_by_length=False)
    for name in ("copa", "record"):
        task = get_task(name)
        rows = _rows(name, mirror, fixtures)[:CHOICE_ROWS]
        preds = choice.predict(task, model, rows, batched)
        assert set(preds) == {task.uid(r) for r in rows}
        for row in rows:
            assert preds[task.uid(row)] in [value for _, value in task.choices(row)]
        assert preds == choice.predict(task, model, rows, single)
        for (a, values_a), (b, values_b) in zip(
            choice.option_scores(task, model, rows, batched), choice.option_scores(task, model, rows, single)
        ):
            assert values_a == values_b and np.allclose(a, b, atol=1e-5)
        assert set(task.compute_metrics(rows, preds)) == {m.name for m in task.metrics}


def test_classification_tasks_predict_with_a_sequence_classifier(mirror, fixtures, tiny_bert):
    models = {n: load_model(tiny_bert(num_labels=n), "sequence_classification") for n in (2, 3)}
    for name in SUPERGLUE:
        task = get_task(name)
        rows = _rows(name, mirror, fixtures)[:CLASSIFY_ROWS]
        if task.kind != "classification":
            with pytest.raises(UserError, match="multiple_choice head"):
                choice.predict(task, models[2], rows, EvalSettings())
            continue
        preds = classify.predict(task, models[len(task.labels)], rows, EvalSettings(batch_size=4))
        assert set(preds) == {task.uid(r) for r in rows}
        assert all(0 <= p < len(task.labels) for p in preds.values())
