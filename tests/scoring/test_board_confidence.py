"""Bootstrap intervals from records to boards (issue 15): records keep 1,000 resampled scores taken when their task
is scored, boards combine them into aggregate intervals and mark ranked neighbours that do not differ."""

import json
from pathlib import Path

import numpy as np
import pytest

from harness.errors import UserError
from harness.metrics.bootstrap import N_RESAMPLES, interval, pack, resample_indices, unpack
from harness.records import read_record, store_record
from harness.scoring.confidence import TIE_METHOD, components_resamples, record_resamples
from harness.scoring.rank import rank
from harness.tasks import get_task
from harness.tasks.confidence import score_confidence
from harness.tasks.data import load_rows
from tests.board_records import HEAD, guesses, one_apart, scored, track


@pytest.fixture(scope="module")
def rte(mirror):
    task = get_task("rte")
    return task, load_rows(task, mirror)


def rte_track(tmp_path):
    return track(
        tmp_path,
        "rte",
        HEAD + "tasks:\n  - {task: rte, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n",
    )


def test_a_record_keeps_1000_resampled_scores_whose_interval_it_states(rte):
    task, rows = rte
    record = scored("a", "rte", rows, guesses(task, rows, 0.7))
    block = record.confidence
    assert block["resamples"] == N_RESAMPLES and block["unit"] == "examples" and block["level"] == 0.95
    values = unpack(block["score"]["resampled"], N_RESAMPLES)
    assert list(interval(values)) == block["score"]["interval"]  # the interval of the values as stored
    assert block["score"]["interval"][0] < record.score < block["score"]["interval"][1]
    # the draws are the ones harness.metrics.bootstrap gives for (task, split, ids): accuracy is their mean
    idx = resample_indices("rte", "validation", [task.uid(r) for r in rows])
    correct = np.array([float(guesses(task, rows, 0.7)[task.uid(r)] == task.gold_of(r)) for r in rows])
    assert np.allclose(values, correct[idx].mean(axis=1), atol=1.6e-5)  # stored in int16 steps of 1 / 32000


def test_two_submissions_that_differ_on_one_rte_example_are_tied_and_a_far_one_is_not(rte, tmp_path):
    task, rows = rte
    a = guesses(task, rows, 0.75)
    b = dict(a)
    flip = task.uid(next(r for r in rows if a[task.uid(r)] == task.gold_of(r)))
    b[flip] = 1 - b[flip]  # one example fewer right
    c = guesses(task, rows, 0.45, seed=1)
    board = rank(
        [scored("a", "rte", rows, a), scored("b", "rte", rows, b), scored("c", "rte", rows, c)], rte_track(tmp_path)
    )
    by = {r.submission: r for r in board.rows}
    assert [r.submission for r in board.rows] == ["a", "b", "c"]
    assert (by["a"].tied, by["b"].tied, by["c"].tied) == (False, True, False)
    assert board.ranking["ties"] == TIE_METHOD
    score = by["a"].values["score"]
    assert score.interval is not None and score.interval[0] < score.value < score.interval[1]
    assert by["a"].values["task:rte"].interval == pytest.approx(score.interval, abs=1e-4)  # one task: the same


def test_records_on_other_examples_are_not_paired_and_never_marked_tied(rte, tmp_path):
    task, rows = rte
    a = guesses(task, rows, 0.75)
    fewer = rows[:-1]  # one example less: other resamples
    records = [scored("a", "rte", rows, a), scored("b", "rte", fewer, {task.uid(r): a[task.uid(r)] for r in fewer})]
    assert records[0].confidence["seed"] != records[1].confidence["seed"]
    board = rank(records, rte_track(tmp_path))
    assert not any(r.tied for r in board.rows)


def test_every_submission_on_the_same_examples_gets_the_same_resamples(rte):
    task, rows = rte
    seeds = {
        scored(s, "rte", rows, guesses(task, rows, p, i)).confidence["seed"]
        for i, (s, p) in enumerate([("a", 0.6), ("b", 0.9)])
    }
    assert len(seeds) == 1
    ids = [task.uid(r) for r in rows]
    assert np.array_equal(resample_indices("rte", "validation", ids), resample_indices("rte", "validation", list(ids)))


def test_a_mean_of_tasks_takes_its_interval_from_the_tasks_resamples_row_for_row(mirror, rte, tmp_path):
    task, rows = rte
    mrpc = get_task("mrpc")
    mrpc_rows = load_rows(mrpc, mirror)
    recs = [
        scored("a", "rte", rows, guesses(task, rows, 0.7)),
        scored("a", "mrpc", mrpc_rows, guesses(mrpc, mrpc_rows, 0.8)),
    ]
    t = track(
        tmp_path,
        "two",
        HEAD
        + "tasks:\n  - {task: rte, split: validation}\n  - {task: mrpc, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n",
    )
    assert set(recs[1].confidence["metrics"]["f1"]) == {"interval", "resampled"}  # two metrics: each kept
    assert set(recs[0].confidence["metrics"]["accuracy"]) == {"interval"}  # RTE's lone metric is its score
    assert np.array_equal(record_resamples(recs[0], "accuracy"), record_resamples(recs[0]))
    value = rank(recs, t).rows[0].values["score"]
    expected = (record_resamples(recs[0]) + record_resamples(recs[1])) / 2
    assert value.interval == pytest.approx(interval(expected))
    assert value.resamples is None  # used for ties and the leader's gap, then dropped from the board
    assert value.paired_on.startswith("mrpc:") and "|rte:" in value.paired_on


def test_an_aggregate_averages_a_component_of_two_tasks_before_the_components(rte):
    task, rows = rte
    base = scored("a", "rte", rows, guesses(task, rows, 0.7))

    def fake(name, level):
        block = dict(base.confidence) | {"seed": name}
        block["score"] = {"interval": [level, level], "resampled": pack(np.full(N_RESAMPLES, level))}
        return base.with_(confidence=block)

    records = {"m": fake("m", 0.2), "mm": fake("mm", 0.4), "r": fake("r", 0.9)}
    combined = components_resamples([("m", "mm"), ("r",)], records)
    assert np.allclose(combined, 100 * (0.3 + 0.9) / 2, atol=1e-3)  # MNLI's two halves count once (int16 steps)


def test_a_record_without_resamples_gives_no_interval_and_no_tie_marks(rte, tmp_path):
    task, rows = rte
    old = [scored(s, "rte", rows, guesses(task, rows, 0.7)).with_(confidence=None) for s in "ab"]
    board = rank(old, rte_track(tmp_path))
    assert all(r.values["score"].interval is None and not r.tied for r in board.rows)
    assert board.ranking["ties"].startswith("not marked")


def test_an_interval_that_cannot_be_computed_says_why(mirror):
    task = get_task("stsb")
    rows = load_rows(task, mirror)[:3]
    block = score_confidence(task, rows, {task.uid(r): 1.0 for r in rows})  # constant predictions: no correlation
    assert list(block) == ["not_measured"] and "no bootstrap interval" in block["not_measured"]


def test_grouped_tasks_resample_whole_questions(mirror):
    task = get_task("multirc")
    rows = load_rows(task, mirror)[:200]
    block = score_confidence(task, rows, {task.uid(r): task.gold_of(r) for r in rows})
    assert block["unit"] == "groups"
    assert block["metrics"]["exact_match"]["interval"] == [1.0, 1.0]  # every question right on every resample


def test_a_stored_record_round_trips_its_block_and_a_tampered_one_is_refused(rte, tmp_path):
    task, rows = rte
    record = store_record(scored("a", "rte", rows, guesses(task, rows, 0.7)), tmp_path)
    again = read_record(record.path)
    assert again.confidence == record.confidence
    data = json.loads(open(record.path).read())
    for change, message in (
        (lambda b: b["score"].update(interval=[0.2, 1.5]), "confidence.score.interval"),
        (lambda b: b["score"].update(resampled="AAAA"), "confidence.score.resampled"),
        (lambda b: b.update(extra=1), "confidence.extra: unknown"),
        (lambda b: b.pop("seed"), "confidence.seed: missing"),
    ):
        bad = json.loads(json.dumps(data))
        change(bad["confidence"])
        path = tmp_path / "bad.record.json"
        path.write_text(json.dumps(bad))
        with pytest.raises(UserError, match=message):
            read_record(path)


def test_resampled_text_that_does_not_decode_is_refused_naming_the_record(rte):
    task, rows = rte
    record = scored("a", "rte", rows, guesses(task, rows, 0.7))
    block = json.loads(json.dumps(record.confidence))
    block["score"]["resampled"] = "!" * len(block["score"]["resampled"])
    with pytest.raises(UserError, match="confidence.score.resampled: not base64"):
        record_resamples(record.with_(confidence=block, path="results/x.record.json"))


def test_exports_carry_the_score_interval_and_the_tie_marks(rte, tmp_path):
    from harness.publish.exports import board_frame

    task, rows = rte
    a = guesses(task, rows, 0.75)
    b = dict(a)
    flip = next(u for u in a if a[u] == 1)
    b[flip] = 0
    board = rank([scored("a", "rte", rows, a), scored("b", "rte", rows, b)], rte_track(tmp_path))
    frame = board_frame(board)
    assert list(frame["tied"]) == [False, True]
    assert (frame["score_low"] < frame["score"]).all() and (frame["score"] < frame["score_high"]).all()


def test_evaluation_writes_the_block_into_the_record(tiny_bert, mirror, tmp_path):
    from harness.evaluation.evaluate import evaluate
    from harness.evaluation.refs import ModelRef

    folder = tiny_bert()
    ref = ModelRef("tiny", folder)
    record = evaluate(ref, "rte", data_dir=mirror, results_dir=tmp_path, measure=(), energy={"off": True})
    assert record.ok, record.error
    block = read_record(record.path).confidence
    assert block["unit"] == "examples" and len(unpack(block["score"]["resampled"], N_RESAMPLES)) == N_RESAMPLES


def test_pages_show_the_interval_the_tie_mark_and_how_ties_are_marked(rte, tmp_path):
    from harness.publish.site.build import build_site

    task, rows = rte
    a = guesses(task, rows, 0.75)
    b = dict(a)
    b[next(u for u in a if a[u] == task.gold_of(next(r for r in rows if task.uid(r) == u)))] ^= 1
    records = [scored("a", "rte", rows, a), scored("b", "rte", rows, b)]
    board = rank(records, rte_track(tmp_path))
    files = build_site([board], records, {"generated_at": "2026-12-01T00:00:00+00:00", "harness_version": "test"})
    index = files["index.html"]
    page = next(v for k, v in files.items() if k.startswith("tracks/") and k.endswith("index.html"))
    low, high = board.rows[0].values["score"].interval
    assert f"95% interval [{low:.2f}, {high:.2f}]" in index and "not significantly ahead of" in index
    assert "tie marks: paired bootstrap test" in page and "covers 0" in page
    assert 'title="not significantly different from the row above (paired bootstrap)">=</sup>' in page
    sub = next(v for k, v in files.items() if k.startswith("submissions/") and "A</h1>" in v)
    r_low, r_high = records[0].confidence["score"]["interval"]
    assert f"[{100 * r_low:.2f}, {100 * r_high:.2f}]" in sub  # the task's interval on its submission page


def test_the_terminal_board_marks_ties_and_shows_the_score_interval(rte, tmp_path):
    from harness.publish.text import render

    task, rows = rte
    a = guesses(task, rows, 0.75)
    b = dict(a)
    b[next(u for u in a if a[u] == 1)] = 0
    board = rank([scored("a", "rte", rows, a), scored("b", "rte", rows, b)], rte_track(tmp_path))
    text = render(board)
    low, high = board.rows[1].values["score"].interval
    assert "score 95% interval" in text and f"[{low:.2f}, {high:.2f}]" in text
    assert any(line.startswith("2=") or line.startswith("1=") for line in text.splitlines())
    assert "= after a rank: paired bootstrap test" in text


def test_rescore_resamples_again_and_drops_a_robustness_block_it_cannot_rerun(rte, mirror, tmp_path):
    from harness.commands.rescore import RESCORED_ROBUSTNESS, rescore
    from harness.formats import write_predictions

    task, rows = rte
    predictions = guesses(task, rows, 0.7)
    record = store_record(scored("a", "rte", rows, predictions), tmp_path)
    path = Path(record.path)
    write_predictions(task, predictions, path.with_name("a.predictions.tsv"))
    wrong = json.loads(json.dumps(record.confidence))
    wrong["score"]["interval"] = [0.0, 0.01]  # an interval of older rules
    robustness = {"not_measured": "a block the suite wrote"}
    stale = record.with_(confidence=wrong, predictions_file="a.predictions.tsv", robustness=robustness)
    (tmp_path / "new" / "records" / "a").mkdir(parents=True)  # another results folder: the same key, kept apart
    again = rescore(stale, mirror, tmp_path / "new")
    assert again.confidence == record.confidence  # resampled from the predictions, by the current rules
    assert again.robustness == {"not_measured": RESCORED_ROBUSTNESS}


def test_a_companion_file_name_that_is_a_path_is_refused(rte, tmp_path):
    task, rows = rte
    record = store_record(scored("a", "rte", rows, guesses(task, rows, 0.7)), tmp_path)
    data = json.loads(Path(record.path).read_text())
    for field, value in (("outputs_file", "../../evil.npz"), ("outputs_file", 5), ("predictions_file", "/etc/x")):
        bad = tmp_path / "bad.record.json"
        bad.write_text(json.dumps(data | {field: value}))
        with pytest.raises(UserError, match=f"{field} is .*plain name of a file beside the record"):
            read_record(bad)


def test_an_elue_score_of_one_point_per_task_is_resampled_and_ties_are_marked_on_it(mirror, tmp_path):
    from harness.tracks.definitions import load_track
    from tests.board_records import write_track

    text = (
        HEAD + "tasks:\n  - {task: sst2, split: validation}\n  - {task: mrpc, split: validation}\nscore: {rule: mean}\n"
        "measurement: {measure: [flops]}\ncolumns: [flops]\nelue:\n  reference_curve:\n    model: hand-made\n"
        "    source: tests\n    points: {sst2: [[1.0e9, 80], [3.0e9, 90]], mrpc: [[1.0e9, 70], [3.0e9, 80]]}\n"
        "ranking: {by: elue_score, then: [score]}\n"
    )
    t = load_track(write_track(tmp_path, "elue-ci", text))
    flops = {"flops": {"flops_per_example": 2.0e9, "flops": 2.0e9}}
    records = one_apart(mirror, ("sst2", "mrpc"), 0.85, 0.6, 2, lambda r: r.with_(measurements=flops))
    board = rank(records, t)
    by = {r.submission: r for r in board.rows}
    assert [r.submission for r in board.rows] == ["a", "b", "c"]
    assert (by["b"].tied, by["c"].tied) == (True, False) and board.ranking["ties"] == TIE_METHOD
    value = by["a"].values["elue_score"]
    low, high = value.interval
    assert low < value.value < high
    refs = {"sst2": 85.0, "mrpc": 75.0}  # the curves at 2e9 FLOPs
    mine = [r for r in records if r.submission.id == "a"]
    expected = np.mean([record_resamples(r) - refs[r.task.name] for r in mine], axis=0)
    assert (low, high) == pytest.approx(interval(expected))
