"""Out-of-distribution pairs a track declares (issue 15): `ood: [{task: sst2, on: imdb}]` checked by the track schema,
run by `harness run` as a record for imdb that names the sst2 model (never meeting a model trained for imdb), the
SST-2 labels mapped onto IMDb's; a track's perturbation suite; the submission page's robustness section."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from board_records import HEAD, write_track

from harness.errors import ConfigError, UserError
from harness.evaluation.track import run_track, track_status
from harness.formats import read_predictions
from harness.inference.formulations import EvalSettings
from harness.inference.robustness import UNCASED_NOTE, relabelled
from harness.records import read_record
from harness.tasks import get_task
from harness.tasks.data import load_rows
from harness.testing import tiny
from harness.tracks.definitions import OodPair, Robustness, get_track, load_track, track_files

LIMIT = 12
LABELS = "{negative: neg, positive: pos}"
TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\n  - {task: stsb, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: [params]}\n"
)
OOD_TRACK = TRACK + f"ood:\n  - {{task: sst2, on: imdb, labels: {LABELS}}}\n"


def _error(tmp_path: Path, text: str) -> str:
    path = write_track(tmp_path, "bad", text)
    with pytest.raises(ConfigError) as info:
        load_track(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_a_track_declares_ood_pairs_and_the_suite(tmp_path):
    text = OOD_TRACK + "robustness: {kinds: [case, typo], rate: 0.2, seed: 5}\n"
    track = load_track(write_track(tmp_path, "ood", text))
    assert track.ood == (OodPair("sst2", "imdb", {"negative": "neg", "positive": "pos"}),)
    assert track.robustness == Robustness(("typo", "case"), 0.2, 5)
    defaults = load_track(write_track(tmp_path, "d", TRACK + "robustness: {kinds: [typo]}\n")).robustness
    assert defaults == Robustness(("typo",), 0.1, 0)
    same_names = TRACK.replace("stsb", "rte") + "ood:\n  - {task: rte, on: superglue/rte}\n"
    assert load_track(write_track(tmp_path, "s", same_names)).ood[0].labels == {
        "entailment": "entailment",
        "not_entailment": "not_entailment",
    }


def test_glue_declares_sst2_on_imdb_and_the_demo_tracks_declare_nothing():
    glue = get_track("glue")
    assert glue.ood == (OodPair("sst2", "imdb", {"negative": "neg", "positive": "pos"}),)
    assert "imdb" not in glue.task_names()
    for name in track_files():
        if name.startswith("demo"):
            assert get_track(name).ood == () and get_track(name).robustness is None  # demo run time unchanged


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("ood:\n  - {task: mrpc, on: imdb}\n", "ood[0].task: unknown track task 'mrpc'"),
        ("ood:\n  - {task: sst2, on: imdbb}\n", "ood[0].on: unknown task 'imdbb' (did you mean 'imdb'?)"),
        ("ood:\n  - {task: sst2, on: imdb}\n", "ood[0].labels: missing: the labels"),
        ("ood:\n  - {task: sst2, on: sst2}\n", "ood[0].on: task sst2 is scored on this track"),
        ("ood:\n  - {task: stsb, on: elue/stsb}\n", "ood[0]: tasks stsb (regression) and elue/stsb (regression)"),
        ("ood:\n  - {task: sst2, on: imdb, labels: {negative: neg}}\n", "ood[0].labels: expected each of"),
        (
            "ood:\n  - {task: sst2, on: imdb, labels: {negative: neg, positive: neg}}\n",
            "ood[0].labels: no source label is mapped onto pos: every label of the target (neg, pos) must be reached",
        ),
        (f"ood:\n  - {{task: sst2, on: imdb, labels: {LABELS}, limit: 3}}\n", "ood[0]: unknown key 'limit'"),
        (
            f"ood:\n  - {{task: sst2, on: imdb, labels: {LABELS}}}\n  - {{task: sst2, on: imdb, labels: {LABELS}}}\n",
            "ood[1]: the pair sst2 -> imdb is listed twice",
        ),
        ("ood: []\n", "ood: expected a non-empty list"),
        ("robustness: {kinds: [typos]}\n", "robustness.kinds[0]: unknown perturbation 'typos'"),
        ("robustness: {kinds: [typo], rate: 0}\n", "robustness.rate: expected a number > 0 and <= 1, got 0"),
        ("robustness: {kinds: [typo], seed: -1}\n", "robustness.seed: expected an integer >= 0, got -1"),
        ("robustness: {rate: 0.1}\n", "robustness.kinds: missing; this key is required"),
    ],
)
def test_each_malformed_declaration_is_named(tmp_path, extra, expected):
    assert expected in _error(tmp_path, TRACK + extra)


def test_a_suite_on_a_track_without_classification_tasks_is_refused(tmp_path):
    text = HEAD + "tasks:\n  - {task: stsb, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
    assert "robustness: none of the track's tasks is a classification task" in _error(
        tmp_path, text + "robustness: {kinds: [typo]}\n"
    )


# ---- many-to-one label maps: MNLI's three labels onto HANS's two ----

WIDE_INIT = 0.5  # random weights this wide make the tiny model's predictions differ between pairs (0.02: constant)
MNLI_ON_HANS = {"entailment": "entailment", "neutral": "non-entailment", "contradiction": "non-entailment"}
HANS_PAIRS = [
    ("The doctor saw the lawyer .", "The lawyer saw the doctor ."),
    ("The doctor near the actor danced .", "The doctor danced ."),
    ("If the artist slept , the actor ran .", "The artist slept ."),
    ("The senators supported the secretary .", "The secretary supported the senators ."),
    ("Whether or not the judge shouted , the tourists waited .", "The tourists waited ."),
    ("The bankers advised the manager who the student thanked .", "The student thanked the manager ."),
    ("Certainly the lawyers resigned .", "The lawyers resigned ."),
    ("The athlete by the doctors encouraged the senator .", "The athlete encouraged the senator ."),
]


def test_a_track_maps_mnli_onto_hans_many_to_one(tmp_path):
    text = TRACK.replace("{task: sst2", "{task: mnli_matched").replace(
        "split: validation}\n  - {task: stsb", ("split: validation_matched}\n  - {task: stsb")
    )
    labels = "{entailment: entailment, neutral: non-entailment, contradiction: non-entailment}"
    track = load_track(
        write_track(tmp_path, "hans", text + f"ood:\n  - {{task: mnli_matched, on: hans, labels: {labels}}}\n")
    )
    assert track.ood == (OodPair("mnli_matched", "hans", MNLI_ON_HANS),)


class _Fixed:
    """A model stand-in whose forward gives fixed logits (one row per example) and counts the lengths it ran."""

    def __init__(self, logits, id2label):
        import numpy as np

        self.logits, self.id2label, self.sequence_lengths = np.asarray(logits, dtype=float), id2label, []

    def forward(self, batch):
        self.sequence_lengths.extend([1] * len(self.logits))
        return {"logits": self.logits, "hidden": "passed on"}


def test_relabelled_merges_each_target_labels_logits_by_their_max():
    """The merged logit is the max of its members', so the argmax is the target of the model's own argmax: [2, 1.5,
    1.5] stays entailment (summing the probabilities of neutral and contradiction would give non-entailment)."""
    mnli, hans = get_task("mnli_matched"), get_task("hans")
    logits = [[2.0, 1.5, 1.5], [0.1, 0.3, 0.2], [-1.0, -3.0, 4.0]]  # in the model's order below
    model = _Fixed(logits, {0: "entailment", 1: "contradiction", 2: "neutral"})
    merged = relabelled(model, mnli, hans, MNLI_ON_HANS)
    assert merged.id2label == {0: "entailment", 1: "non-entailment"} and model.id2label[1] == "contradiction"
    out = merged.forward({})
    assert out["logits"].tolist() == [[2.0, 1.5], [0.1, 0.3], [-1.0, 4.0]] and out["hidden"] == "passed on"
    assert out["logits"].argmax(axis=1).tolist() == [0, 1, 1] and merged.sequence_lengths == [1, 1, 1]
    assert model.forward({})["logits"].shape == (3, 3)  # the original is untouched


def test_relabelled_refuses_a_map_that_leaves_a_target_label_unreached_or_misses_a_source_label():
    mnli, hans = get_task("mnli_matched"), get_task("hans")
    model = _Fixed([[0.0, 0.0, 0.0]], {})
    for bad in (
        dict.fromkeys(mnli.labels, "non-entailment"),
        {"entailment": "entailment", "neutral": "non-entailment"},
        {**MNLI_ON_HANS, "contradiction": "not_entailment"},
    ):
        with pytest.raises(UserError, match="one to one, or many to one"):
            relabelled(model, mnli, hans, bad)


def test_a_three_label_model_on_hans_predicts_its_argmax_then_mapped(tiny_bert):
    """A tiny 3-label BERT (its outputs named in another order than MNLI's): its HANS predictions are its MNLI
    predictions mapped; the logits it stores are, per HANS label, the max of its members' MNLI logits."""
    import numpy as np

    from harness.backends import LoadOptions, load_model
    from harness.inference.formulations import classify

    mnli, hans = get_task("mnli_matched"), get_task("hans")
    names = {0: "neutral", 1: "entailment", 2: "contradiction"}
    folder = tiny_bert(
        num_labels=3, initializer_range=WIDE_INIT, id2label=names, label2id={v: k for k, v in names.items()}
    )
    model = load_model(folder, "sequence_classification", LoadOptions(), "torch")
    rows = [{"idx": i, "premise": p, "hypothesis": h, "label": 0} for i, (p, h) in enumerate(HANS_PAIRS)]
    own: dict = {}
    as_mnli = classify.predict(mnli, model, rows, EvalSettings(), outputs=own)
    assert set(as_mnli.values()) == {0, 1, 2}  # every MNLI label predicted: both members of non-entailment merge
    stored: dict = {}
    got = classify.predict(hans, relabelled(model, mnli, hans, MNLI_ON_HANS), rows, EvalSettings(), outputs=stored)
    assert got == {u: hans.labels.index(MNLI_ON_HANS[mnli.labels[p]]) for u, p in as_mnli.items()}
    e, n, c = own["values"].T  # columns in MNLI's label order
    assert stored["ids"] == own["ids"] and np.allclose(stored["values"], np.stack([e, np.maximum(n, c)], axis=1))
    assert model.id2label == names


def test_a_track_run_from_the_hub_scores_the_mnli_model_on_hans(mirror, tmp_path, monkeypatch):
    """No data dir: MNLI and HANS rows from the hub (a local Dataset handed to the real hub loading code); the HANS
    record names the MNLI model, and its predictions are that model's MNLI predictions mapped onto HANS's labels."""
    import datasets

    from harness.backends import LoadOptions, load_model
    from harness.inference.formulations import classify

    rows = [{"premise": p, "hypothesis": h, "label": n % 2} for n, (p, h) in enumerate(HANS_PAIRS)]
    hub = {
        ("nyu-mll/glue", "mnli", "validation_matched"): [{**r, "idx": n} for n, r in enumerate(rows)],
        ("jhu-cogsci/hans", None, "validation"): rows,
    }
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda path, name=None, split=None, **kw: datasets.Dataset.from_list(hub[path, name, split]),
    )
    labels = "{entailment: entailment, neutral: non-entailment, contradiction: non-entailment}"
    text = HEAD + (
        "tasks:\n  - {task: mnli_matched, split: validation_matched}\nscore: {rule: mean}\nranking: {by: score}\n"
        f"measurement: {{measure: [params]}}\nood:\n  - {{task: mnli_matched, on: hans, labels: {labels}}}\n"
    )
    track = load_track(write_track(tmp_path, "hans", text))
    folder = tmp_path / "subs" / "nli"
    folder.mkdir(parents=True)
    tiny.save_tiny_bert(folder / "cls", mirror / tiny.VOCAB_FILE, num_labels=3, initializer_range=WIDE_INIT)
    (folder / "submission.yaml").write_text(
        "name: nli\nteam: tests\ncontact: tests@example.org\nmethods: [other]\ntasks:\n  mnli_matched: {model: cls}\n",
        encoding="utf-8",
    )
    records, skipped = run_track(track, tmp_path / "subs", results_dir=tmp_path / "r", report=lambda s: None)
    assert not skipped and all(r.ok for r in records), [r.error for r in records]
    [ood] = _ood(records, "nli")
    assert ood.task.name == "hans" and ood.settings["model_of"] == "mnli_matched" and ood.num_examples == len(rows)
    hans, mnli = get_task("hans"), get_task("mnli_matched")
    got = read_predictions(hans, Path(ood.path).with_name(ood.predictions_file))
    model = load_model(folder / "cls", "sequence_classification", LoadOptions(), "torch")
    as_mnli = classify.predict(mnli, model, hub["nyu-mll/glue", "mnli", "validation_matched"], EvalSettings())
    assert got == {u: hans.labels.index(MNLI_ON_HANS[mnli.labels[p]]) for u, p in as_mnli.items()}


# ---- a track run ----


def _submission(folder: Path, mirror: Path, tasks: dict[str, str], **config) -> Path:
    """A submission whose tasks (task -> model folder name) share tiny models; `config` goes into each BertConfig."""
    folder.mkdir(parents=True)
    for model in set(tasks.values()):
        labels = 1 if model.startswith("reg") else 2
        tiny.save_tiny_bert(folder / model, mirror / tiny.VOCAB_FILE, num_labels=labels, **config)
    (folder / "submission.yaml").write_text(
        f"name: {folder.name}\nteam: tests\ncontact: tests@example.org\nmethods: [other]\ntasks:\n"
        + "".join(f"  {t}: {{model: {m}}}\n" for t, m in tasks.items()),
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def ran(mirror, tmp_path_factory):
    """Two submissions on a track with sst2 -> imdb: `alone` declares sst2 and stsb; `both` also declares imdb, with
    the very model folder of its sst2 (whose labels are named, in reverse order)."""
    root = tmp_path_factory.mktemp("ood")
    track = load_track(write_track(root, "ood", OOD_TRACK + "robustness: {kinds: [typo, case], rate: 0.3}\n"))
    subs = root / "subs"
    _submission(subs / "alone", mirror, {"sst2": "cls", "stsb": "reg"})
    named = {"id2label": {0: "positive", 1: "negative"}, "label2id": {"positive": 0, "negative": 1}}
    _submission(subs / "both", mirror, {"sst2": "cls", "stsb": "reg", "imdb": "cls"}, **named)
    records, skipped = run_track(
        track,
        subs,
        data_dir=mirror,
        results_dir=root / "results",
        limit=LIMIT,
        executor="inline",
        report=lambda s: None,
    )
    assert not skipped and all(r.ok for r in records), [r.error for r in records]
    return root, track, records


def _ood(records, sub: str):
    return [r for r in records if r.submission.id == sub and (r.settings or {}).get("model_of")]


def test_the_run_writes_an_imdb_record_from_the_sst2_model(ran):
    _, _, records = ran
    [ood] = _ood(records, "alone")
    assert ood.task.name == "imdb" and ood.settings["model_of"] == "sst2" and ood.num_examples == LIMIT
    assert ood.key["settings"]["model_of"] == "sst2" and ood.track_run["track"] == "ood"
    assert ood.model["within"] == "cls" and ood.robustness is None  # the suite runs on the track's own tasks
    assert {r.task.name for r in records if r.submission.id == "alone"} == {"sst2", "stsb", "imdb"}


def test_it_never_collides_with_a_model_trained_for_imdb(ran):
    """`both` declares imdb with the very folder of its sst2 model: the imdb job of a track scoring imdb, with the
    same settings, keys differently from the OOD record only by the model it names."""
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import planned_record
    from harness.evaluation.jobs import job_settings, task_job
    from harness.evaluation.refs import model_refs
    from harness.records import record_path

    root, track, records = ran
    [ood] = _ood(records, "both")
    [(_, ref)] = model_refs(root / "subs" / "both", ["imdb"], None, False)
    settings, track_run = job_settings(track, job=task_job(ref, "imdb", "sst2"))
    settings = replace(settings, model_of=None)
    with fixed_threads(track.measurement.threads):
        own = planned_record(ref, "imdb", settings, LIMIT, track_run, "cpu")
    assert own["model"]["within"] == ood.model["within"] == "cls"
    assert {k: v for k, v in ood.key["settings"].items() if k != "model_of"} == own["key"]["settings"]
    assert {k: v for k, v in ood.key.items() if k != "settings"} == {
        k: v for k, v in own["key"].items() if k != "settings"
    }
    assert record_path(root / "results", own) != Path(ood.path)


def test_the_sst2_label_order_maps_onto_imdb(ran, mirror):
    """negative -> neg, positive -> pos, whatever order the model names them in."""
    from harness.backends import LoadOptions, load_model
    from harness.inference.formulations import classify

    root, _, records = ran
    [ood] = _ood(records, "both")
    imdb, sst2 = get_task("imdb"), get_task("sst2")
    rows = load_rows(imdb, mirror)[:LIMIT]
    got = read_predictions(imdb, Path(ood.path).with_name(ood.predictions_file))
    model = load_model(root / "subs" / "both" / "cls", "sequence_classification", LoadOptions(), "torch")
    as_sst2 = [{"idx": r["idx"], "sentence": r["text"], "label": r["label"]} for r in rows]
    expected = classify.predict(sst2, model, as_sst2, EvalSettings())
    assert {imdb.uid(r): got[imdb.uid(r)] for r in rows} == {sst2.uid(r): expected[sst2.uid(r)] for r in as_sst2}
    assert sst2.labels[1] == "positive" and imdb.labels[1] == "pos"


def test_the_track_suite_runs_on_its_classification_tasks(ran):
    _, _, records = ran
    by_task = {r.task.name: r for r in records if r.submission.id == "alone" and not r.settings.get("model_of")}
    block = by_task["sst2"].robustness
    assert set(block["kinds"]) == {"typo", "case"} and block["rate"] == 0.3 and block["seed"] == 0
    assert block["kinds"]["case"]["note"] == UNCASED_NOTE
    assert by_task["stsb"].robustness is None and "perturb" not in by_task["stsb"].key["settings"]


def test_a_run_again_finds_the_ood_job_done_and_status_lists_it(ran, mirror):
    root, track, records = ran
    said: list[str] = []
    again, _ = run_track(
        track, root / "subs", data_dir=mirror, results_dir=root / "results", limit=LIMIT, report=said.append
    )
    assert sorted(str(r.path) for r in again) == sorted(str(r.path) for r in records)
    assert any("alone / imdb: done already" in line for line in said)
    states = {
        (s.submission, s.task): s.state for s in track_status(track, root / "subs", root / "results", limit=LIMIT)
    }
    assert states[("alone", "imdb (its sst2 model)")] == "done" and states[("both", "imdb (its sst2 model)")] == "done"


def test_a_worker_rebuilds_the_ood_job_from_its_spec(mirror, tmp_path):
    """What a worker process does with an OOD job's spec (harness.evaluation.worker), here in this process."""
    from harness.evaluation.jobs import run_task_job
    from harness.evaluation.worker import job_of

    track = load_track(write_track(tmp_path, "ood", OOD_TRACK))
    folder = _submission(tmp_path / "subs" / "alone", mirror, {"sst2": "cls", "stsb": "reg"})
    sub, job = job_of(track, {"submission": str(folder), "task": "imdb", "model_of": "sst2"})
    assert job.task == "imdb" and job.model_of == "sst2" and job.ref.within == "cls"
    record = run_task_job(track, sub, job, mirror, tmp_path / "results", 4, (), False, {})
    assert record.ok and record.settings["model_of"] == "sst2" and record.num_examples == 4
    assert job_of(track, {"submission": str(folder), "task": "sst2"})[1].model_of is None


def test_labels_that_the_model_does_not_name_fail_the_ood_job_with_the_cause(mirror, tmp_path):
    track = load_track(write_track(tmp_path, "ood", OOD_TRACK))
    named = {"id2label": {0: "bad", 1: "good"}, "label2id": {"bad": 0, "good": 1}}
    _submission(tmp_path / "subs" / "odd", mirror, {"sst2": "cls", "stsb": "reg"}, **named)
    records, _ = run_track(
        track, tmp_path / "subs", data_dir=mirror, results_dir=tmp_path / "r", limit=4, report=lambda s: None
    )
    [ood] = [r for r in records if r.task.name == "imdb"]
    assert not ood.ok and "does not name the task's labels" in str(ood.error) and ood.settings["model_of"] == "sst2"


def test_a_worker_writes_the_failed_ood_record_with_its_limits(mirror, tmp_path):
    from harness.evaluation.jobs import run_task_job
    from harness.evaluation.worker import job_of

    track = load_track(write_track(tmp_path, "ood", OOD_TRACK))
    named = {"id2label": {0: "bad", 1: "good"}, "label2id": {"bad": 0, "good": 1}}
    folder = _submission(tmp_path / "subs" / "odd", mirror, {"sst2": "cls", "stsb": "reg"}, **named)
    sub, job = job_of(track, {"submission": str(folder), "task": "imdb", "model_of": "sst2"})
    worker = {"limits": {"memory_bytes": 2**32, "timeout_s": 60}}
    record = run_task_job(track, sub, job, mirror, tmp_path / "results", 4, (), False, {}, worker=worker)
    assert not record.ok and "does not name the task's labels" in str(record.error)
    assert dict(record.environment or {})["worker"] == worker, "the failed record states its worker's limits"


def test_a_board_that_scores_imdb_never_takes_the_ood_record_for_it(ran, tmp_path):
    from harness.scoring.values import group_records

    _, _, records = ran
    scores_imdb = load_track(
        write_track(
            tmp_path,
            "imdb",
            TRACK.replace("{task: stsb", "{task: imdb").replace("split: validation}\nscore", "split: test}\nscore"),
        )
    )
    assert "imdb" in scores_imdb.task_names()
    entry = group_records(records, scores_imdb).get("alone")
    assert entry is None or "imdb" not in entry.ok


# ---- the submission page ----


def test_the_page_shows_the_ood_score_beside_the_in_distribution_one_and_the_suite(ran):
    from harness.publish.site.submission_pages import submission_page

    _, _, records = ran
    mine = [read_record(r.path) for r in records if r.submission.id == "alone"]
    page = submission_page("alone", mine, [], {})
    sst2 = next(r for r in mine if r.task.name == "sst2")
    [ood] = _ood(mine, "alone")
    assert '<section id="robustness"><h2>Robustness</h2>' in page and "Out of distribution" in page
    assert f"{100 * sst2.score:.2f}" in page and f"{100 * ood.score:.2f}" in page
    assert f"{100 * (sst2.score - ood.score):.2f}" in page
    block = sst2.robustness
    for entry in block["kinds"].values():
        assert f"{100 * entry['score']:.2f}" in page and f"{100 * entry['changed']:.1f}%" in page
    assert "casing does nothing to an uncased model" in page and "rate 0.3, seed 0" in page
    assert "<code>imdb</code> <small>(out of distribution: the model for sst2)</small>" in page  # in Task results
    assert "Robustness" not in submission_page("alone", [r for r in mine if r.task.name == "stsb"], [], {})
