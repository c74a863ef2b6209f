"""ELUE's loaders, IMDb and the SNLI and SciTail originals on small files in their own layouts, and hub-shaped rows."""

from pathlib import Path

import pytest

from harness.errors import DataNotFound, UserError
from harness.tasks import get_task
from harness.tasks.data import load_rows


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_imdb_reads_text_and_label_by_position(tmp_path):
    _write(tmp_path, "elue/IMDb/test.tsv", "text\tlabel\nGreat film.\t1\nAwful.<br />Really.\t0\n")
    task = get_task("imdb")
    rows = load_rows(task, tmp_path)
    assert [(task.texts(r), task.gold_of(r), task.uid(r)) for r in rows] == [
        (("Great film.",), 1, "0"),
        (("Awful.<br />Really.",), 0, "1"),
    ]
    assert task.source.hub_path == "stanfordnlp/imdb" and task.source.split == "test"


def test_snli_reads_its_own_dev_file_and_drops_rows_without_a_gold_label(tmp_path):
    head = "gold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1\tsentence2\tpairID\n"
    _write(
        tmp_path,
        "snli/snli_1.0/snli_1.0_dev.txt",
        head + "entailment\t( a )\t( b )\tA man.\tA person.\t1\n"
        "-\t( a )\t( b )\tA dog.\tA cat.\t2\ncontradiction\t( a )\t( b )\tKids.\tAdults.\t3\n",
    )
    task = get_task("snli")
    rows = load_rows(task, tmp_path)
    assert [(task.texts(r), task.gold_of(r)) for r in rows] == [(("A man.", "A person."), 0), (("Kids.", "Adults."), 2)]
    assert [task.uid(r) for r in rows] == ["0", "1"]


def test_scitail_reads_its_own_tsv_format(tmp_path):
    _write(tmp_path, "scitail/SciTailV1.1/tsv_format/scitail_1.0_dev.tsv", "P1\tH1\tentails\nP2\tH2\tneutral\n")
    task = get_task("scitail")
    assert [task.gold_of(r) for r in load_rows(task, tmp_path)] == [0, 1]
    assert task.labels == ("entails", "neutral") and task.source.hub_config == "tsv_format"


def test_elue_scitail_reads_1_as_entails(tmp_path):
    """ELUE's SciTail files write 1 = entails, 0 = neutral (the loader once assumed the opposite)."""
    _write(tmp_path, "elue/SciTail/test_full.tsv", "premise\thypothesis\tlabel\nP1\tH1\t1\nP2\tH2\t0\n")
    task = get_task("elue/scitail")
    assert [task.labels[task.gold_of(r)] for r in load_rows(task, tmp_path)] == ["entails", "neutral"]


def test_bad_files_name_the_file_and_line(tmp_path):
    _write(tmp_path, "elue/SciTail/test_full.tsv", "premise\thypothesis\tlabel\nonly one column\n")
    with pytest.raises(UserError, match=r"test_full.tsv:2: 1 columns, the header has 3"):
        load_rows(get_task("elue/scitail"), tmp_path)
    _write(tmp_path, "elue/SciTail/test_full.tsv", "premise\thypothesis\tlabel\nP\tH with\ta tab\t1\n")
    with pytest.raises(UserError, match=r"test_full.tsv:2: 4 columns.*a field contains a tab"):
        load_rows(get_task("elue/scitail"), tmp_path)
    _write(tmp_path, "elue/SST-2/dev.tsv", "text\tlabel\nFine.\t1\n")
    with pytest.raises(UserError, match=r"dev.tsv:1: header \['text', 'label'\], expected ELUE's header"):
        load_rows(get_task("elue/sst2_dev"), tmp_path)
    _write(tmp_path, "elue/IMDb/test.tsv", "text\tlabel\ntext\tmaybe\n")
    with pytest.raises(UserError, match="label 'maybe'"):
        load_rows(get_task("imdb"), tmp_path)
    with pytest.raises(DataNotFound, match="snli_1.0_dev.txt"):
        load_rows(get_task("snli"), tmp_path)
    with pytest.raises(DataNotFound, match="elue/SNLI/test_full.tsv"):
        load_rows(get_task("elue/snli"), tmp_path)


def test_hub_rows_are_converted_to_label_indices_without_unlabelled_rows():
    snli = get_task("snli").source.hub_rows(
        [{"premise": "a", "hypothesis": "b", "label": -1}, {"premise": "c", "hypothesis": "d", "label": 2}]
    )
    assert snli == [{"premise": "c", "hypothesis": "d", "label": 2, "idx": 0}]
    scitail = get_task("scitail").source.hub_rows([{"premise": "p", "hypothesis": "h", "label": "neutral"}])
    assert scitail[0]["label"] == 1 and scitail[0]["idx"] == 0
