"""A split that would score wrongly without a word is refused on load: repeated ids, labels outside the task's,
gold scores off the scale, stray tabs, questions without gold answers; the mirror's real files all pass."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.tasks import get_task
from harness.tasks.data import load_rows


def _copy(mirror: Path, tmp_path: Path, relative: str) -> Path:
    target = tmp_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mirror / relative, target)
    return target


def _edit_tsv(path: Path, line: int, edit) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line] = edit(lines[line])
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    "task,relative,line,edit,message",
    [
        ("rte", "glue/RTE/dev.tsv", 2, lambda s: s + "\n" + s, r"example id '1' appears at rows 1 and 2"),
        ("sst2", "glue/SST-2/dev.tsv", 1, lambda s: s[:-1] + "2", r"gold label 2, not one of 0..1"),
        ("cola", "glue/CoLA/dev.tsv", 0, lambda s: s.replace("\t1\t", "\t7\t", 1), r"gold label 7, not one of 0..1"),
        ("stsb", "glue/STS-B/dev.tsv", 1, lambda s: s.rsplit("\t", 1)[0] + "\t50", r"gold score 50.0, outside 0..5"),
        ("mrpc", "glue/MRPC/dev.tsv", 1, lambda s: s + "\tjunk", r"columns, header has 5; a field contains a tab"),
        ("cola", "glue/CoLA/dev.tsv", 0, lambda s: s + "\tmore", r"line 1 has 5 columns, CoLA's have 4"),
    ],
)
def test_a_corrupted_glue_file_is_refused_naming_file_and_row(mirror, tmp_path, task, relative, line, edit, message):
    path = _copy(mirror, tmp_path, relative)
    _edit_tsv(path, line, edit)
    with pytest.raises(UserError, match=message) as e:
        load_rows(get_task(task), tmp_path)
    assert str(path) in str(e.value)


def test_squad_questions_without_answers_or_with_a_text_flag_are_refused(mirror, tmp_path):
    path = _copy(mirror, tmp_path, "squad/dev-v1.1.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    qa = doc["data"][0]["paragraphs"][0]["qas"][0]
    qa["answers"] = []
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match=rf"{qa['id']}'\) has no gold answer"):
        load_rows(get_task("squad"), tmp_path)
    qa["is_impossible"] = "false"  # bool("false") is True: the question would have been read as unanswerable
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match=r"qas\[0\].is_impossible is 'false', expected true or false"):
        load_rows(get_task("squad"), tmp_path)


def test_open_questions_need_a_gold_answer(mirror, tmp_path):
    relative = "nq_open/NQ-open.dev.jsonl"
    path = _copy(mirror, tmp_path, relative)
    lines = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0]) | {"answer": []}
    path.write_text("\n".join([json.dumps(first)] + lines[1:]) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="row 0 .* has no gold answer"):
        load_rows(get_task("nq_open"), tmp_path)


def test_only_snli_drops_rows_without_a_gold_label(tmp_path):
    (tmp_path / "elue" / "IMDb").mkdir(parents=True)
    (tmp_path / "elue" / "IMDb" / "test.tsv").write_text("text\tlabel\ngood film\t1\nno label\t-1\n", encoding="utf-8")
    with pytest.raises(UserError, match="-1"):
        load_rows(get_task("imdb"), tmp_path)
    (tmp_path / "elue" / "SNLI").mkdir(parents=True)
    (tmp_path / "elue" / "SNLI" / "test_full.tsv").write_text(
        "premise\thypothesis\tlabel\na\tb\t0\nc\td\t-1\n", encoding="utf-8"
    )
    with pytest.raises(UserError, match="-1"):  # ELUE's own SNLI files already left those rows out
        load_rows(get_task("elue/snli"), tmp_path)
    snli = tmp_path / "snli" / "snli_1.0" / "snli_1.0_dev.txt"
    snli.parent.mkdir(parents=True)
    snli.write_text("gold_label\tsentence1\tsentence2\nentailment\ta\tb\n-\tc\td\n", encoding="utf-8")
    assert len(load_rows(get_task("snli"), tmp_path)) == 1  # SNLI's own evaluation drops them (documented)


def test_every_mirrored_split_passes_the_checks(mirror):
    counts = {
        "cola": 1043,
        "sst2": 872,
        "mrpc": 408,
        "stsb": 1500,
        "qnli": 5463,
        "rte": 277,
        "wnli": 71,
        "boolq": 3270,
        "cb": 56,
        "copa": 100,
        "multirc": 4848,
        "superglue/rte": 277,
        "wic": 638,
        "wsc": 104,
        "squad": 10570,
        "nq_open": 3610,
        "efficientqa": 1800,
    }  # the mirror's MANIFEST.md
    for task, n in counts.items():
        assert len(load_rows(get_task(task), mirror)) == n, task
