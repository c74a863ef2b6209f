"""The perturbation suite as an evaluation option (issue 15): seeded and reproducible from the record, the changed
share measured on the rows, drop = clean - perturbed, the casing note on uncased models, the record block and its
refusals, and the record key with and without the suite."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.evaluation.evaluate import ModelRef, evaluate
from harness.inference.formulations import EvalSettings
from harness.inference.perturb import KINDS
from harness.inference.robustness import (
    DEFAULT_RATE,
    DEFAULT_SEED,
    UNCASED_NOTE,
    check_suite,
    perturbed_rows,
    relabelled,
    robustness,
    uncased,
)
from harness.records import read_record, record_key, write_record
from harness.records.store import IMPLIED_SETTINGS
from harness.tasks import get_task
from harness.tasks.data import load_rows
from harness.testing import tiny

SST2 = get_task("sst2")
ROWS = [
    {"idx": 0, "sentence": "a good and moving film .", "label": 1},
    {"idx": 1, "sentence": "Good acting , a Good story", "label": 1},
    {"idx": 2, "sentence": "dull , flat and far too long", "label": 0},
    {"idx": 3, "sentence": "not good at all", "label": 0},
]
SUITE = EvalSettings(perturb=KINDS, perturb_rate=0.5, perturb_seed=3)


def _form(predict):
    return SimpleNamespace(predict=lambda task, model, rows, settings: {task.uid(r): predict(r) for r in rows})


CONSTANT = _form(lambda row: 1)
GOOD = _form(lambda row: int("good" in row["sentence"]))  # reads its input: typos and casing move it
MODEL = SimpleNamespace(tokenizer=None)


def _clean(form) -> float:
    return SST2.score(SST2.compute_metrics(ROWS, form.predict(SST2, MODEL, ROWS, SUITE)))


def test_two_runs_give_the_same_perturbed_inputs_and_scores():
    first = robustness(SST2, GOOD, MODEL, ROWS, SUITE, _clean(GOOD))
    assert robustness(SST2, GOOD, MODEL, ROWS, SUITE, _clean(GOOD)) == first
    for kind in KINDS:
        assert perturbed_rows(SST2, ROWS, kind, 0.5, 3) == perturbed_rows(SST2, ROWS, kind, 0.5, 3)
    assert perturbed_rows(SST2, ROWS, "typo", 0.5, 3)[0] != perturbed_rows(SST2, ROWS, "typo", 0.5, 4)[0]
    assert first["seed"] == 3 and first["rate"] == 0.5 and list(first["kinds"]) == list(KINDS)
    assert "sha256" in first["method"] and any("CheckList" in s for s in first["sources"])


def test_the_perturbed_inputs_are_reproduced_from_the_record_block_alone():
    block = robustness(SST2, GOOD, MODEL, ROWS, SUITE, _clean(GOOD))
    for kind, entry in block["kinds"].items():
        noisy, changed = perturbed_rows(SST2, ROWS, kind, block["rate"], block["seed"])
        predictions = GOOD.predict(SST2, MODEL, noisy, SUITE)
        assert SST2.score(SST2.compute_metrics(noisy, predictions)) == entry["score"]
        assert changed == entry["changed"]


def test_the_changed_share_is_the_share_of_rows_whose_text_changed_and_only_text_fields_change():
    for kind in KINDS:
        noisy, share = perturbed_rows(SST2, ROWS, kind, 0.5, 3)
        assert share == sum(a["sentence"] != b["sentence"] for a, b in zip(noisy, ROWS)) / len(ROWS)
        assert [(r["idx"], r["label"]) for r in noisy] == [(r["idx"], r["label"]) for r in ROWS]
    assert perturbed_rows(SST2, ROWS, "case", 1.0, 0)[1] == 1.0
    assert ROWS[0]["sentence"] == "a good and moving film ."  # the caller's rows are never edited


def test_pairs_perturb_each_text_field_with_its_own_stream():
    rte = get_task("rte")
    rows = [{"idx": 0, "sentence1": "the cat sat on the mat", "sentence2": "the cat sat on the mat", "label": 0}]
    [noisy], share = perturbed_rows(rte, rows, "typo", 0.5, 1)
    assert share == 1.0 and noisy["sentence1"] != noisy["sentence2"]


def test_a_model_that_ignores_its_input_drops_nothing():
    block = robustness(SST2, CONSTANT, MODEL, ROWS, SUITE, _clean(CONSTANT))
    assert all(entry["drop"] == 0 for entry in block["kinds"].values())
    assert all(entry["changed"] > 0 and entry["examples"] == len(ROWS) for entry in block["kinds"].values())


def test_the_drop_is_clean_minus_perturbed_in_fractions():
    block = robustness(SST2, GOOD, MODEL, ROWS, SUITE, _clean(GOOD))
    assert _clean(GOOD) == 0.5
    for entry in block["kinds"].values():
        assert entry["drop"] == pytest.approx(0.5 - entry["score"])
    rows = [{"idx": 0, "sentence": "good film", "label": 1}, {"idx": 1, "sentence": "bad film", "label": 0}]
    loud = robustness(SST2, GOOD, MODEL, rows, EvalSettings(perturb=("case",), perturb_rate=1.0), 1.0)
    assert loud["kinds"]["case"]["score"] == 0.5 and loud["kinds"]["case"]["drop"] == 0.5  # "GOOD" is not "good"


def test_casing_on_an_uncased_tokenizer_is_measured_with_the_note(mirror):
    vocab = mirror / tiny.VOCAB_FILE
    from transformers import BertTokenizer

    lowercasing, cased = tiny.bert_tokenizer(vocab), BertTokenizer(vocab=str(vocab), do_lower_case=False)
    assert uncased(lowercasing) and not uncased(cased) and not uncased(None)
    block = robustness(SST2, GOOD, SimpleNamespace(tokenizer=lowercasing), ROWS, SUITE, _clean(GOOD))
    assert block["kinds"]["case"]["note"] == UNCASED_NOTE and "casing does nothing" in UNCASED_NOTE
    assert all("note" not in e for k, e in block["kinds"].items() if k != "case")
    plain = robustness(SST2, GOOD, SimpleNamespace(tokenizer=cased), ROWS, SUITE, _clean(GOOD))
    assert "note" not in plain["kinds"]["case"]


def test_the_suite_is_offered_on_classification_tasks_only():
    with pytest.raises(UserError, match="task stsb: the perturbation suite is not offered .*regression task"):
        robustness(get_task("stsb"), CONSTANT, MODEL, [], SUITE, 0.5)
    with pytest.raises(UserError, match="task wsc: .*builds its inputs itself"):
        perturbed_rows(get_task("wsc"), [], "typo", 0.1, 0)


@pytest.mark.parametrize(
    ("kinds", "rate", "seed", "message"),
    [
        (("typos",), 0.1, 0, "unknown perturbation 'typos'"),
        ((), 0.1, 0, "no perturbation kinds"),
        (("typo",), 0.0, 0, r"rate 0.0 is not a share of words in \(0, 1\]"),
        (("typo",), 1.5, 0, "rate 1.5"),
        (("typo",), 0.1, -1, "seed -1 is not a whole number"),
    ],
)
def test_bad_suite_settings_are_refused(kinds, rate, seed, message):
    with pytest.raises(UserError, match=message):
        check_suite(kinds, rate, seed)


def test_kinds_keep_the_table_order_once_each():
    assert check_suite(("case", "typo", "case"), 0.1, 0) == ("typo", "case")


def test_the_defaults_are_those_the_record_key_leaves_out():
    defaults = asdict(EvalSettings())
    assert (defaults["perturb_rate"], defaults["perturb_seed"]) == (DEFAULT_RATE, DEFAULT_SEED)
    for name in ("perturb", "perturb_rate", "perturb_seed", "model_of"):
        assert IMPLIED_SETTINGS[name] == (list(defaults[name]) if name == "perturb" else defaults[name])


def test_an_sst2_model_names_imdb_labels_whatever_its_own_order():
    imdb = get_task("imdb")
    labels = {"negative": "neg", "positive": "pos"}
    generic = SimpleNamespace(id2label={0: "LABEL_0", 1: "LABEL_1"})
    assert relabelled(generic, SST2, imdb, labels).id2label == {0: "neg", 1: "pos"}
    reversed_names = SimpleNamespace(id2label={0: "positive", 1: "negative"})
    copy = relabelled(reversed_names, SST2, imdb, labels)
    assert copy.id2label == {0: "pos", 1: "neg"} and reversed_names.id2label == {0: "positive", 1: "negative"}
    with pytest.raises(UserError, match="one to one"):
        relabelled(generic, SST2, imdb, {"negative": "neg", "positive": "neg"})


# ---- through evaluate: the record's block, its validation, its key ----


def _ref(folder: Path) -> ModelRef:
    from harness.submissions import combined_sha256, sha256_files

    files = sha256_files(folder)
    return ModelRef("tiny", folder, sha256=combined_sha256(files), files=tuple(sorted(files.items())))


def _evaluate(ref: ModelRef, results: Path, data: Path, settings: EvalSettings = EvalSettings(), **kw):
    return evaluate(ref, "sst2", settings, data_dir=data, results_dir=results, measure=(), energy={"off": True}, **kw)


@pytest.fixture(scope="module")
def evaluated(mirror, tmp_path_factory):
    """A tiny BERT on 40 SST-2 dev rows: a plain record, one with the suite, and the suite once more."""
    root = tmp_path_factory.mktemp("robust")
    ref = _ref(tiny.save_tiny_bert(root / "model", mirror / tiny.VOCAB_FILE))
    suite = EvalSettings(perturb=KINDS, perturb_rate=0.3, perturb_seed=7)
    plain = _evaluate(ref, root / "results", mirror, limit=40)
    first = _evaluate(ref, root / "results", mirror, suite, limit=40)
    again = _evaluate(ref, root / "again", mirror, suite, limit=40)
    return plain, first, again


def test_the_record_holds_the_block_and_reads_back(evaluated, mirror):
    plain, first, again = evaluated
    assert plain.ok and first.ok and plain.robustness is None
    block = read_record(first.path).robustness
    assert block == first.robustness and block == again.robustness  # deterministic for a seed
    assert block["seed"] == 7 and block["rate"] == 0.3 and block["clean_score"] == first.score
    assert block["kinds"]["case"]["note"] == UNCASED_NOTE and block["kinds"]["case"]["drop"] == 0
    rows = load_rows(SST2, mirror)[:40]
    for kind, entry in block["kinds"].items():
        assert entry["examples"] == 40 and entry["changed"] == perturbed_rows(SST2, rows, kind, 0.3, 7)[1]
    assert first.score == plain.score  # the clean numbers are the same run's


def test_the_key_differs_with_the_suite_and_old_keys_hold(evaluated):
    plain, first, _ = evaluated
    assert plain.path != first.path
    assert not {"perturb", "perturb_rate", "perturb_seed", "model_of"} & plain.key["settings"].keys()
    assert first.key["settings"]["perturb"] == list(KINDS) and first.key["settings"]["perturb_seed"] == 7
    # a record written before these settings existed keeps its key
    old = plain.to_dict()
    old["settings"] = {k: v for k, v in old["settings"].items() if k not in IMPLIED_SETTINGS}
    assert record_key(old) == plain.key == record_key(plain.to_dict())
    # as planned (a tuple of kinds) and as read back (a list) the key is one
    planned = first.to_dict() | {"settings": dict(first.settings, perturb=tuple(KINDS))}
    assert record_key(planned) == first.key


def _refused(record, tmp_path: Path, message: str) -> None:
    with pytest.raises(UserError, match=message) as err:
        write_record(record, tmp_path / "r.record.json")
    assert "robustness" in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("seed"), r"robustness\.seed: missing"),
        (lambda b: b.update(extra=1), r"robustness\.extra: missing, unknown"),
        (lambda b: b.update(rate=2), r"robustness\.rate is 2"),
        (lambda b: b.update(seed=-1), r"robustness\.seed is -1"),
        (lambda b: b.update(kinds={}), r"robustness\.kinds is \{\}"),
        (lambda b: b["kinds"]["typo"].update(drop=0.5), r"robustness\.kinds\.typo\.drop is 0\.5"),
        (lambda b: b["kinds"]["typo"].update(changed=1.5), r"robustness\.kinds\.typo\.changed is 1\.5"),
        (lambda b: b["kinds"]["typo"].update(examples=0), r"robustness\.kinds\.typo\.examples is 0"),
        (lambda b: b["kinds"]["typo"].update(score=0.01), r"robustness\.kinds\.typo\.score is 0\.01"),
        (lambda b: b["kinds"]["typo"].pop("metrics"), r"robustness\.kinds\.typo must hold"),
    ],
)
def test_a_malformed_block_is_refused_naming_the_field(evaluated, tmp_path, change, message):
    record = json.loads(json.dumps(evaluated[1].to_dict()))
    change(record["robustness"])
    _refused(record, tmp_path, message)


def test_harness_evaluate_takes_the_suite_and_refuses_it_where_not_offered(tiny_bert, mirror, tmp_path, capsys):
    folder = tiny_bert()
    args = [str(folder), "--data-dir", str(mirror), "--results", str(tmp_path), "--no-progress", "--no-measure"]
    assert main(["evaluate", *args, "--task", "sst2", "--limit", "8", "--perturb", "typo,case"]) == 0
    [path] = (tmp_path / "records").rglob("sst2.*.record.json")
    assert set(read_record(path).robustness["kinds"]) == {"typo", "case"}
    assert main(["evaluate", *args, "--task", "stsb", "--perturb", "typo"]) == 2
    assert "not offered on stsb" in capsys.readouterr().err
    assert main(["evaluate", *args, "--task", "sst2", "--perturb-seed", "3"]) == 2
    assert "need --perturb" in capsys.readouterr().err
    assert main(["evaluate", *args, "--task", "sst2", "--perturb", "typo", "--perturb-rate", "0"]) == 2


def test_settings_with_the_suite_replace_only_its_fields():
    from harness.inference.robustness import without_suite

    assert without_suite(replace(SUITE, batch_size=4)) == EvalSettings(batch_size=4)


def test_a_suite_that_cannot_finish_keeps_the_clean_result_and_says_why(mirror, tmp_path, monkeypatch):
    import harness.inference.robustness as suite_module

    def refused(*args, **kwargs):
        raise ValueError("pearson: constant predictions")

    monkeypatch.setattr(suite_module, "robustness", refused)
    ref = _ref(tiny.save_tiny_bert(tmp_path / "model", mirror / tiny.VOCAB_FILE))
    record = _evaluate(ref, tmp_path / "results", mirror, EvalSettings(perturb=("typo",)), limit=8)
    assert record.ok and record.score is not None
    assert record.robustness == {
        "not_measured": "the perturbation suite did not run to the end: pearson: constant predictions"
    }
    assert read_record(record.path).robustness == record.robustness
