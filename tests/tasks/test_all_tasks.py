"""Every task the mirror holds runs end to end through `harness evaluate` on tiny models; every other one fails fast
naming its file (the robustness sets, HANS, PAWS and AdvGLUE, are hub-only: tests/tasks/test_ood_tasks.py)."""

from harness.cli import main
from harness.errors import DataNotFound
from harness.records import read_records
from harness.tasks import get_task, task_names
from harness.tasks.data import load_rows
from harness.testing.tiny import write_tiny_submission

LIMIT = 6
HUB_ONLY = "robustness"  # the benchmark of the tasks the mirror never holds (harness.tasks.ood)


def mirror_tasks(mirror) -> list[str]:
    """The tasks whose evaluation file the mirror has."""
    return [t for t in task_names() if (mirror / get_task(t).source.mirror_file).is_file()]


def test_every_mirror_task_evaluates_and_scores(mirror, tmp_path, capsys):
    tasks = mirror_tasks(mirror)
    # 7 GLUE + AX, 7 SuperGLUE + AX-b + AX-g, SQuAD v1.1, NQ-open, EfficientQA, IMDb test, ELUE's 5 sets x 2 splits
    assert len(tasks) == 31
    sub = write_tiny_submission(tmp_path / "subs" / "tiny-all", tasks, mirror / "vocab/bert-base-uncased-vocab.txt")
    assert main(["check", str(sub)]) == 0
    code = main(
        [
            "evaluate",
            str(sub),
            "--data-dir",
            str(mirror),
            "--results",
            str(tmp_path / "r"),
            "--limit",
            str(LIMIT),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    records = {r.task.name: r for r in read_records(tmp_path / "r")}
    assert sorted(records) == sorted(tasks)
    for name, r in records.items():
        task = get_task(name)
        assert r.status == "ok" and r.num_examples == LIMIT, name
        assert sorted(m.name for m in task.metrics) == sorted(r.metrics), name
        low = -1 if task.kind == "regression" else 0  # correlations of a random model may be negative
        assert low <= r.score <= 1, name


def test_absent_tasks_fail_fast_naming_their_file(mirror):
    absent = [t for t in task_names() if t not in mirror_tasks(mirror)]
    hub_only = [t for t in task_names() if get_task(t).benchmark == HUB_ONLY]
    assert hub_only and set(hub_only) <= set(absent)
    assert sorted(set(absent) - set(hub_only)) == [
        "mnli_matched",
        "mnli_mismatched",
        "qqp",
        "record",
        "scitail",
        "snli",
        "squad_v2",
    ]
    for name in absent:
        try:
            load_rows(get_task(name), mirror)
        except DataNotFound as e:
            assert get_task(name).source.mirror_file in str(e)
        else:
            raise AssertionError(f"{name} loaded from a mirror that lacks it")
