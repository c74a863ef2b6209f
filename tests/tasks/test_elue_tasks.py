"""ELUE's IMDb, SNLI and SciTail loaders on small files in ELUE's TSV layout, and on hub-shaped rows."""

from pathlib import Path

import pytest

from harness.data import load_rows
from harness.errors import DataNotFound, UserError
from harness.tasks import get_task


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_imdb_reads_text_and_label_by_position(tmp_path):
    _write(tmp_path, "elue/IMDb/dev.tsv", "sentence\tlabel\nGreat film.\t1\nAwful.<br />Really.\t0\n")
    task = get_task("imdb")
    rows = load_rows(task, tmp_path)
    assert [(task.texts(r), task.gold_of(r), task.uid(r)) for r in rows] == [
        (("Great film.",), 1, "0"), (("Awful.<br />Really.",), 0, "1")]
    assert task.source.hub_path == "stanfordnlp/imdb" and task.source.split == "test"


def test_snli_drops_rows_without_a_gold_label(tmp_path):
    _write(tmp_path, "elue/SNLI/dev.tsv", "premise\thypothesis\tlabel\nA man.\tA person.\t0\nA dog.\tA cat.\t-1\n"
                                          "Kids.\tAdults.\tcontradiction\nIt rains.\tIt is wet.\t-\n")
    task = get_task("snli")
    rows = load_rows(task, tmp_path)
    assert [(task.texts(r), task.gold_of(r)) for r in rows] == [(("A man.", "A person."), 0), (("Kids.", "Adults."), 2)]
    assert [task.uid(r) for r in rows] == ["0", "1"]


def test_scitail_accepts_indices_and_names(tmp_path):
    _write(tmp_path, "elue/SciTail/dev.tsv", "premise\thypothesis\tlabel\nP1\tH1\t0\nP2\tH2\tneutral\nP3\tH3\tentails\n")
    task = get_task("scitail")
    assert [task.gold_of(r) for r in load_rows(task, tmp_path)] == [0, 1, 0]
    assert task.labels == ("entails", "neutral") and task.source.hub_config == "tsv_format"


def test_bad_files_name_the_file_and_line(tmp_path):
    _write(tmp_path, "elue/SciTail/dev.tsv", "premise\thypothesis\tlabel\nonly one column\n")
    with pytest.raises(UserError, match=r"dev.tsv:2: 1 columns"):
        load_rows(get_task("scitail"), tmp_path)
    _write(tmp_path, "elue/IMDb/dev.tsv", "sentence\tlabel\ntext\tmaybe\n")
    with pytest.raises(UserError, match="label 'maybe'"):
        load_rows(get_task("imdb"), tmp_path)
    with pytest.raises(DataNotFound, match="elue/SNLI/dev.tsv"):
        load_rows(get_task("snli"), tmp_path)


def test_hub_rows_are_converted_to_label_indices_without_unlabelled_rows():
    snli = get_task("snli").source.hub_rows([{"premise": "a", "hypothesis": "b", "label": -1},
                                             {"premise": "c", "hypothesis": "d", "label": 2}])
    assert snli == [{"premise": "c", "hypothesis": "d", "label": 2, "idx": 0}]
    scitail = get_task("scitail").source.hub_rows([{"premise": "p", "hypothesis": "h", "label": "neutral"}])
    assert scitail[0]["label"] == 1 and scitail[0]["idx"] == 0
