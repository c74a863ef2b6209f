"""GLUE loaders on the real mirror, and on small files in the official layout for the absent sets."""

from pathlib import Path

import pytest
from conftest import assert_predictions_refused

from harness.errors import DataNotFound, UserError
from harness.formats import read_predictions, write_predictions
from harness.tasks import get_task
from harness.tasks.data import load_rows

# Row counts of the official dev sets (MANIFEST.md, checked against GLUE's own numbers).
MIRROR_ROWS = {"cola": 1043, "sst2": 872, "mrpc": 408, "stsb": 1500, "qnli": 5463, "rte": 277, "wnli": 71}


@pytest.mark.parametrize("name,count", sorted(MIRROR_ROWS.items()))
def test_mirror_loader_reads_every_row(mirror, name, count):
    task = get_task(name)
    rows = load_rows(task, mirror)
    assert len(rows) == count
    for row in rows:
        texts = task.texts(row)
        assert all(isinstance(t, str) and t for t in texts)
        gold = task.gold_of(row)
        assert (0 <= gold < len(task.labels)) if task.labels else (0.0 <= gold <= 5.0)
    assert len({task.uid(r) for r in rows}) == count


def test_label_counts_match_the_manifest(mirror):
    def positives(name):
        return sum(get_task(name).gold_of(r) == 1 for r in load_rows(get_task(name), mirror))

    assert positives("cola") == 721 and positives("sst2") == 444 and positives("mrpc") == 279
    rte = get_task("rte")
    assert sum(rte.gold_of(r) == 0 for r in load_rows(rte, mirror)) == 146  # entailment


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


MNLI_HEADER = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
    "sentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label\n"
)


def test_absent_sets_load_from_official_layout_fixtures(tmp_path):
    _write(
        tmp_path / "glue/QQP/dev.tsv",
        "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
        "7\t1\t2\tHow do I cook rice?\tWhat is the way to cook rice?\t1\n8\t3\t4\tWhy is the sky blue?\tWho won?\t0\n",
    )
    row = "0\t1\t1n\tfiction\t( a )\t( b )\t(S a)\t(S b)\tA man sleeps.\tA person rests.\tentailment\t\t\t\t\t{}\n"
    _write(tmp_path / "glue/MNLI/dev_matched.tsv", MNLI_HEADER + row.format("entailment") + row.format("contradiction"))
    _write(tmp_path / "glue/MNLI/dev_mismatched.tsv", MNLI_HEADER + row.format("neutral"))
    _write(
        tmp_path / "glue/diagnostic/diagnostic-full.tsv",
        "Lexical Semantics\tPredicate-Argument Structure\tLogic\tKnowledge\tDomain\tPremise\tHypothesis\tLabel\n"
        "Negation\t\t\t\tArtificial\tThe cat sat.\tThe cat did not sit.\tcontradiction\n",
    )
    qqp = load_rows(get_task("qqp"), tmp_path)
    assert [get_task("qqp").texts(r) for r in qqp][0] == ("How do I cook rice?", "What is the way to cook rice?")
    assert [r["label"] for r in qqp] == [1, 0]
    assert [r["label"] for r in load_rows(get_task("mnli_matched"), tmp_path)] == [0, 2]
    assert [r["label"] for r in load_rows(get_task("mnli_mismatched"), tmp_path)] == [1]
    ax = load_rows(get_task("ax"), tmp_path)
    assert get_task("ax").texts(ax[0]) == ("The cat sat.", "The cat did not sit.") and ax[0]["label"] == 2


def test_missing_file_names_the_file_and_the_hub_id(tmp_path):
    with pytest.raises(DataNotFound) as e:
        load_rows(get_task("mnli_matched"), tmp_path)
    assert "glue/MNLI/dev_matched.tsv" in str(e.value) and "nyu-mll/glue" in str(e.value)


def test_unknown_label_in_a_data_file_is_refused(tmp_path):
    _write(tmp_path / "glue/RTE/dev.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tmaybe\n")
    with pytest.raises(UserError, match="maybe"):
        load_rows(get_task("rte"), tmp_path)


def test_unknown_task_suggests_the_right_id():
    with pytest.raises(UserError, match="did you mean 'sst2'"):
        get_task("sst-2")


@pytest.mark.parametrize("name", ["cola", "sst2", "mrpc", "stsb", "qnli", "rte", "wnli"])
def test_prediction_file_round_trip_and_score(mirror, tmp_path, name):
    task = get_task(name)
    rows = load_rows(task, mirror)
    gold = {task.uid(r): task.gold_of(r) for r in rows}
    path = tmp_path / "p.tsv"
    write_predictions(task, gold, path)
    assert read_predictions(task, path) == gold
    metrics = task.compute_metrics(rows, read_predictions(task, path))
    assert all(v == pytest.approx(1.0) for v in metrics.values())


def test_glue_tsv_writes_the_server_labels(tmp_path):
    path = tmp_path / "rte.tsv"
    write_predictions(get_task("rte"), {"0": 1, "1": 0}, path)
    assert path.read_text().splitlines() == ["index\tprediction", "0\tnot_entailment", "1\tentailment"]
    write_predictions(get_task("sst2"), {"0": 1}, path)
    assert path.read_text().splitlines()[1] == "0\t1"


@pytest.mark.parametrize(
    "content,message",
    [
        ("idx\tlabel\n0\t1\n", "header"),
        ("index\tprediction\n0\t1\n0\t0\n", "appears twice"),
        ("index\tprediction\n0\tpositive-ish\n", "not one of"),
        ("index\tprediction\n0\n", "expected 2"),
    ],
)
def test_bad_glue_prediction_file_names_the_line(tmp_path, content, message):
    assert_predictions_refused(tmp_path / "bad.tsv", content, "sst2", message)


def test_score_refuses_missing_predictions(mirror):
    task = get_task("wnli")
    rows = load_rows(task, mirror)
    with pytest.raises(UserError, match="70 of 71 examples have no prediction"):
        task.compute_metrics(rows, {task.uid(rows[0]): 0})
