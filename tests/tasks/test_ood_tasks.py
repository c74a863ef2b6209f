"""HANS, PAWS and AdvGLUE (issue 15): hub-only tasks. Their hub rows (a local `datasets.Dataset` in the hub's schema,
handed to the real hub loading code in place of `datasets.load_dataset`) become task rows; a data dir without their
file fails naming it; AdvGLUE keeps its GLUE tasks' labels; the readers of the original files give the hub's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DataNotFound, UserError
from harness.tasks import get_task, task_names
from harness.tasks.benchmarks import BENCHMARKS
from harness.tasks.data import DATA_DIR_ENV, load_rows

ADV = {  # AdvGLUE task: its GLUE task, its hub config's text fields
    "adv_sst2": ("sst2", ("sentence",)),
    "adv_qqp": ("qqp", ("question1", "question2")),
    "adv_mnli": ("mnli_matched", ("premise", "hypothesis")),
    "adv_mnli_mismatched": ("mnli_mismatched", ("premise", "hypothesis")),
    "adv_qnli": ("qnli", ("question", "sentence")),
    "adv_rte": ("rte", ("sentence1", "sentence2")),
}
OOD_TASKS = ("hans", "paws", *ADV)
HUB = {  # task: (hub path, config, split)
    "hans": ("jhu-cogsci/hans", None, "validation"),
    "paws": ("google-research-datasets/paws", "labeled_final", "test"),
    **{name: ("AI-Secure/adv_glue", name, "validation") for name in ADV},
}
HANS_PARSES = {
    "parse_premise": "(ROOT (S (NP (DT The) (NN doctor)) (VP (VBD saw) (NP (DT the) (NN lawyer)))))",
    "parse_hypothesis": "(ROOT (S (NP (DT The) (NN lawyer)) (VP (VBD saw) (NP (DT the) (NN doctor)))))",
    "binary_parse_premise": "( ( The doctor ) ( saw ( the lawyer ) ) )",
    "binary_parse_hypothesis": "( ( The lawyer ) ( saw ( the doctor ) ) )",
}
HANS_ROWS = [  # the hub's schema: no example id, label a ClassLabel index (0 entailment, 1 non-entailment)
    {
        "premise": "The doctor saw the lawyer .",
        "hypothesis": "The lawyer saw the doctor .",
        "label": 1,
        **HANS_PARSES,
        "heuristic": "lexical_overlap",
        "subcase": "ln_subject/object_swap",
        "template": "temp1",
    },
    {
        "premise": "The doctor near the actor danced .",
        "hypothesis": "The doctor danced .",
        "label": 0,
        **HANS_PARSES,
        "heuristic": "subsequence",
        "subcase": "se_PP_on_subj",
        "template": "temp28",
    },
]
PAWS_ROWS = [
    {
        "id": 1,
        "sentence1": "Bradd Crellin represented BARLA Cumbria .",
        "sentence2": "Crellin represented Cumbria .",
        "label": 0,
    },
    {
        "id": 2,
        "sentence1": "They were there to enjoy us .",
        "sentence2": "They were there for us to enjoy .",
        "label": 1,
    },
]


def _adv_rows(name: str) -> list[dict]:
    glue, fields = ADV[name]
    return [{**{f: f"{f} of example {i}" for f in fields}, "label": i % 2, "idx": i} for i in range(3)]


def _hub_rows(name: str) -> list[dict]:
    return {"hans": HANS_ROWS, "paws": PAWS_ROWS}.get(name) or _adv_rows(name)


def _features(name: str):
    """The hub's features: its ClassLabel names (HANS's, PAWS's 0/1, each AdvGLUE config's GLUE names)."""
    import datasets

    names = {"hans": ["entailment", "non-entailment"], "paws": ["0", "1"]}.get(name) or list(
        get_task(ADV[name][0]).labels
    )
    row = _hub_rows(name)[0]
    features = {k: datasets.Value("int32" if k in ("id", "idx") else "string") for k in row if k != "label"}
    return datasets.Features({**features, "label": datasets.ClassLabel(names=names)})


@pytest.fixture
def hub(monkeypatch):
    """The real hub loading code with `datasets.load_dataset` answering from a local Dataset; the calls it got."""
    import datasets

    calls: list[tuple] = []

    def load_dataset(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        task = next(t for t, (p, c, s) in HUB.items() if (p, c, s) == (path, name, split))
        return datasets.Dataset.from_list(_hub_rows(task), features=_features(task))

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_each_task_is_a_classification_task_in_no_benchmark_aggregate():
    assert set(OOD_TASKS) <= set(task_names())
    for name in OOD_TASKS:
        task = get_task(name)
        assert task.benchmark == "robustness" and task.kind == "classification" and task.format == "glue_tsv"
        assert task.metric_names == ("accuracy",) and task.version == 1
        assert (task.source.hub_path, task.source.hub_config, task.source.split) == HUB[name]
        assert task.source.hub_path in task.description and "et al." in task.description
        assert not any(name in b.members for b in map(BENCHMARKS.get, BENCHMARKS.names()))


@pytest.mark.parametrize("name", OOD_TASKS)
def test_hub_rows_become_task_rows(hub, name):
    task = get_task(name)
    rows = load_rows(task)
    assert hub == [HUB[name]]
    assert [task.gold_of(r) for r in rows] == [r["label"] for r in _hub_rows(name)]
    assert [task.texts(r) for r in rows] == [tuple(r[f] for f in task.text_fields) for r in _hub_rows(name)]
    uids = [task.uid(r) for r in rows]
    assert len(set(uids)) == len(rows)
    if name == "paws":
        assert uids == ["1", "2"]  # the dataset's own ids
    elif name == "hans":
        assert uids == ["0", "1"] and rows[0]["heuristic"] == "lexical_overlap"  # numbered in order
    else:
        assert uids == [str(r["idx"]) for r in _hub_rows(name)]
    assert len(load_rows(task, limit=1)) == 1


def test_hans_labels_and_fields_follow_the_hub():
    hans = get_task("hans")
    assert hans.labels == ("entailment", "non-entailment") and hans.text_fields == ("premise", "hypothesis")
    paws = get_task("paws")
    assert paws.labels == ("not_paraphrase", "paraphrase") and paws.label_strings() == ("0", "1")


@pytest.mark.parametrize("name", sorted(ADV))
def test_advglue_keeps_its_glue_tasks_labels_and_fields(name):
    glue, fields = ADV[name]
    task, original = get_task(name), get_task(glue)
    assert task.labels == original.labels and task.label_strings() == original.label_strings()
    assert task.text_fields == original.text_fields == fields


@pytest.mark.parametrize("name", OOD_TASKS)
def test_a_data_dir_without_the_file_names_it_and_says_how_to_use_the_hub(tmp_path, name):
    task = get_task(name)
    with pytest.raises(DataNotFound) as info:
        load_rows(task, tmp_path)
    message = str(info.value)
    assert str(tmp_path / task.source.mirror_file) in message and task.source.hub_path in message
    assert f"drop --data-dir/{DATA_DIR_ENV} to use the hub" in message


def test_the_shared_mirror_has_none_of_them(mirror):
    for name in OOD_TASKS:
        with pytest.raises(DataNotFound):
            load_rows(get_task(name), mirror)


def test_a_hub_label_outside_the_task_is_refused_naming_the_dataset(monkeypatch):
    import datasets

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    bad = [{**HANS_ROWS[0], "label": "contradiction"}]
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list(bad))
    with pytest.raises(UserError, match=r"task hans: hub dataset jhu-cogsci/hans, split validation: row 0"):
        load_rows(get_task("hans"))


def test_an_unreachable_hub_is_data_not_found_naming_the_file(monkeypatch):
    import datasets

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataNotFound, match=r"could not load hub dataset AI-Secure/adv_glue \(config adv_rte\)") as e:
        load_rows(get_task("adv_rte"))
    assert "adv_glue/dev/dev.json" in str(e.value)


# ---- the original files, where an organizer adds them to a mirror ----


def _hans_file(root: Path) -> Path:
    header = (
        "gold_label\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\t"
        "sentence2\tpairID\theuristic\tsubcase\ttemplate"
    )
    lines = [header]
    for n, r in enumerate(HANS_ROWS):
        gold = ("entailment", "non-entailment")[r["label"]]
        cells = [
            gold,
            r["binary_parse_premise"],
            r["binary_parse_hypothesis"],
            r["parse_premise"],
            r["parse_hypothesis"],
            r["premise"],
            r["hypothesis"],
            f"ex{n}",
            r["heuristic"],
            r["subcase"],
            r["template"],
        ]
        lines.append("\t".join(cells))
    path = root / "hans" / "heuristics_evaluation_set.txt"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_hans_file_reads_into_the_hub_rows(hub, tmp_path):
    _hans_file(tmp_path)
    task = get_task("hans")
    assert load_rows(task, tmp_path) == load_rows(task)


def test_the_paws_file_reads_into_the_hub_rows(hub, tmp_path):
    path = tmp_path / "paws" / "final" / "test.tsv"
    path.parent.mkdir(parents=True)
    lines = ["id\tsentence1\tsentence2\tlabel"] + [
        f"{r['id']}\t{r['sentence1']}\t{r['sentence2']}\t{r['label']}" for r in PAWS_ROWS
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = get_task("paws")
    assert load_rows(task, tmp_path) == load_rows(task)


def test_advglue_dev_json_reads_each_task_under_its_key(hub, tmp_path):
    keys = {"adv_sst2": "sst2", "adv_qqp": "qqp", "adv_mnli": "mnli", "adv_mnli_mismatched": "mnli-mm"}
    keys |= {"adv_qnli": "qnli", "adv_rte": "rte"}
    path = tmp_path / "adv_glue" / "dev" / "dev.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({keys[name]: _adv_rows(name) for name in ADV}), encoding="utf-8")
    for name in ADV:
        task = get_task(name)
        assert load_rows(task, tmp_path) == load_rows(task), name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not a JSON file"),
        ('{"sst2": []}', "no list of rows under key 'rte' (found sst2)"),
        ('{"rte": [{"idx": 0, "label": 0, "sentence1": "a"}]}', "rte[0]: expected the keys idx, label, sentence1, "),
        ('{"rte": [{"idx": "0", "label": 0, "sentence1": "a", "sentence2": "b"}]}', "rte[0]: idx '0' is not a whole"),
    ],
)
def test_a_bad_advglue_file_is_named(tmp_path, text, message):
    path = tmp_path / "adv_glue" / "dev" / "dev.json"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match="use AdvGLUE's released") as info:
        load_rows(get_task("adv_rte"), tmp_path)
    assert str(path) in str(info.value) and message in str(info.value)


def test_a_bad_hans_label_names_the_file(tmp_path):
    path = _hans_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("non-entailment", "neutral"), encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_rows(get_task("hans"), tmp_path)
    assert str(path) in str(info.value) and "neutral" in str(info.value)


def test_harness_tasks_lists_them(capsys):
    assert main(["tasks"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "hub jhu-cogsci/hans, split validation; mirror hans/heuristics_evaluation_set.txt" in lines["hans"]
    assert "labels 0=entailment 1=non-entailment" in lines["hans"]
    assert "(config adv_mnli_mismatched)" in lines["adv_mnli_mismatched"] and "robustness" in lines["adv_rte"]


def test_harness_evaluate_scores_them_from_the_hub(hub, mirror, tmp_path, capsys):
    """`harness evaluate` without a data dir: the hub's rows, the benchmark's prediction file, an accuracy record."""
    from harness.records import read_records
    from harness.testing.tiny import write_tiny_submission

    tasks = ["hans", "paws", "adv_mnli"]
    sub = write_tiny_submission(tmp_path / "subs" / "tiny", tasks, mirror / "vocab/bert-base-uncased-vocab.txt")
    code = main(["evaluate", str(sub), "--results", str(tmp_path / "r"), "--no-progress"])
    assert code == 0, capsys.readouterr().out
    records = {r.task.name: r for r in read_records(tmp_path / "r")}
    assert sorted(records) == sorted(tasks)
    for name, r in records.items():
        assert r.ok and r.num_examples == len(_hub_rows(name)) and set(r.metrics) == {"accuracy"}, name
        assert r.task.benchmark == "robustness" and r.task.source.startswith(f"hub:{HUB[name][0]}"), name
