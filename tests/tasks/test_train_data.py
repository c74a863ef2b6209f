"""Train rows from the mirror: the same readers and layout as the dev split, the train file beside the dev file."""

import pytest

from harness.errors import UserError
from harness.tasks import get_task
from harness.tasks.data import load_rows
from harness.tasks.train_data import train_file, train_rows


def _data_lines(path, header=True):
    lines = [line for line in path.read_text(encoding="utf-8-sig").splitlines() if line]
    return len(lines) - (1 if header else 0)


def test_sst2_train_rows_are_the_file_s_data_lines(mirror):
    rows = train_rows(get_task("sst2"), mirror)
    assert len(rows) == _data_lines(mirror / "glue/SST-2/train.tsv") == 67349
    assert rows[0] == {"idx": 0, "sentence": "hide new secretions from the parental units ", "label": 0}
    dev = load_rows(get_task("sst2"), mirror)
    assert set(rows[0]) == set(dev[0])  # one schema: the dev split's reader


@pytest.mark.parametrize(
    ("task", "count", "header"),
    [("cola", 8551, False), ("mrpc", 3668, True), ("stsb", 5749, True), ("rte", 2490, True), ("wnli", 635, True)],
)
def test_each_train_file_reads_whole(mirror, task, count, header):
    t = get_task(task)
    rows = train_rows(t, mirror)
    assert len(rows) == count == _data_lines(mirror / train_file(t), header)
    assert all(t.texts(r) and all(isinstance(x, str) for x in t.texts(r)) for r in rows[:50])


def test_train_file_sits_beside_the_dev_file():
    assert train_file(get_task("rte")) == "glue/RTE/train.tsv"
    assert train_file(get_task("cola")) == "glue/CoLA/train.tsv"


def test_limit_keeps_the_first_rows(mirror):
    assert train_rows(get_task("rte"), mirror, limit=3) == train_rows(get_task("rte"), mirror)[:3]


def test_a_task_without_a_train_file_is_refused_naming_the_file_and_the_tasks_that_have_one(mirror):
    with pytest.raises(UserError) as err:
        train_rows(get_task("qnli"), mirror)
    text = str(err.value)
    assert str(mirror / "glue/QNLI/train.tsv") in text
    for name in ("cola", "sst2", "mrpc", "stsb", "rte", "wnli"):
        assert name in err.value.fix


def test_no_data_dir_is_refused(monkeypatch):
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    with pytest.raises(UserError, match="--data-dir"):
        train_rows(get_task("rte"), None)
