"""`rank` on hand-written records: cutoffs at their boundaries, SustaiNLP and EfficientQA rules, ELUE with
self-reported operating points, ties, failures, hardware, Dynascore, Pareto flags and reference rows."""

import json
from dataclasses import replace

import pytest
from board_records import HEAD, SUPERGLUE_METRICS, record, track

from harness.scoring.rank import board_columns, rank
from harness.tracks.definitions import Cutoffs, get_track


def rows_by_id(board):
    return {r.submission: r for r in board.rows}


def superglue_records(sub, value, energy_per_task=None):
    return [record(sub, t, {m: value for m in ms}, energy_kwh=energy_per_task) for t, ms in SUPERGLUE_METRICS.items()]


def size_track(tmp_path):
    return track(
        tmp_path,
        "sized",
        HEAD + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\n"
        "cutoffs: {max_params: 40000000, max_bytes: 524288000}\n"
        "measurement: {measure: [params, system_size]}\ncolumns: [params, system_bytes]\nranking: {by: score}\n",
    )


def test_parameter_and_byte_cutoffs_at_the_boundary(tmp_path):
    t = size_track(tmp_path)
    records = [
        record("exact", "sst2", {"accuracy": 0.8}, params=40_000_000, system_bytes=524_288_000),
        record("over", "sst2", {"accuracy": 0.9}, params=40_000_001, system_bytes=524_288_000),
        record("bytes", "sst2", {"accuracy": 0.9}, params=1, system_bytes=524_288_001),
        record("unmeasured", "sst2", {"accuracy": 0.9}, system_bytes=1),
        record("declared", "sst2", {"accuracy": 0.7}, system_bytes=1, declared={"parameters": 40_000_000}),
    ]
    rows = rows_by_id(rank(records, t))
    assert rows["exact"].eligible and rows["exact"].rank == 1 and rows["exact"].broken == ()
    over = rows["over"]
    assert not over.eligible and over.rank is None
    assert [(b.rule, b.limit, b.value) for b in over.broken] == [("max_params", 40_000_000, 40_000_001)]
    assert "40,000,001 > 40,000,000" in over.broken[0].message
    assert [(b.rule, b.value) for b in rows["bytes"].broken] == [("max_bytes", 524_288_001)]
    assert [(b.rule, b.value) for b in rows["unmeasured"].broken] == [("max_params", None)]
    declared = rows["declared"]
    assert declared.eligible and declared.values["params"].provenance == "self-reported" and declared.rank == 2


def test_a_measured_value_of_the_wrong_type_is_refused_not_replaced_by_the_declared_one(tmp_path):
    from harness.errors import UserError

    t = size_track(tmp_path)
    honest = record("honest", "sst2", {"accuracy": 0.8}, params=30_000_000, system_bytes=1)
    # a measured 110M written as text: read as missing, the declared 1,000 would have made it eligible and first
    text = record("text", "sst2", {"accuracy": 0.9}, params=1, system_bytes=1, declared={"parameters": 1000})
    text.measurements["params"]["total_params"] = "110000000"
    text = text.with_(path="records/text/sst2.cpu.record.json")
    with pytest.raises(
        UserError,
        match=r"records/text/sst2.cpu.record.json: measurements.params.total_params is "
        r"'110000000', expected a whole number \(parameters\) or null",
    ):
        rank([honest, text], t)
    text.measurements["params"]["total_params"] = 1.1e8  # a parameter count is exact
    with pytest.raises(UserError, match="expected a whole number"):
        rank([honest, text], t)
    text.measurements["params"] = "110M"
    with pytest.raises(UserError, match=r"measurements.params is '110M'"):
        rank([honest, text], t)
    text.measurements["params"] = {"total_params": None}  # null: not measured, so the declared number stands
    assert rows_by_id(rank([honest, text], t))["text"].values["params"].provenance == "self-reported"


def test_an_energy_label_other_than_measured_or_estimated_is_refused():
    from harness.errors import UserError

    records = superglue_records("a", 0.8, energy_per_task=0.01)
    records[0].measurements["energy"]["label"] = "Estimated"
    with pytest.raises(
        UserError, match="measurements.energy.label is 'Estimated', expected one of measured, estimated"
    ):
        rank(records, get_track("sustainlp-cpu"))


def test_sustainlp_ranks_by_energy_within_the_accuracy_band():
    t = get_track("sustainlp-cpu")
    t = replace(t, cutoffs=Cutoffs(min_score=60.0, require_all_tasks=True))
    records = (
        superglue_records("a", 0.70, 0.5)
        + superglue_records("b", 0.65, 0.2)
        + superglue_records("c", 0.59, 0.01)
        + superglue_records("d", 0.60, 0.3)
        + superglue_records("e", 0.80)
    )
    board = rank(records, t)
    rows = rows_by_id(board)
    assert [r.submission for r in board.rows] == ["b", "d", "a", "e", "c"]
    assert [rows[s].rank for s in "bda"] == [1, 2, 3]
    assert rows["b"].values["energy_kwh"].value == pytest.approx(8 * 0.2)  # summed over the eight tasks
    assert rows["d"].values["score"].value == pytest.approx(60.0) and rows["d"].eligible  # the band's edge is inside
    c = rows["c"]
    assert not c.eligible and c.broken[0].rule == "min_score" and c.broken[0].value == pytest.approx(59.0)
    assert rows["e"].eligible and rows["e"].rank is None and "energy_kwh" in rows["e"].notes[-1]
    assert board.ranking["by"] == "energy_kwh" and board.ranking["order"] == "ascending"


def test_shipped_sustainlp_band_is_unset_and_gpu_track_refuses_cpu_records():
    records = superglue_records("a", 0.5, 0.1)
    assert rank(records, get_track("sustainlp-cpu")).rows[0].rank == 1  # no band set: every scored row is inside
    gpu = rank(records, get_track("sustainlp-gpu")).rows[0]
    assert not gpu.eligible and gpu.broken[0].rule == "hardware" and gpu.broken[0].value == "cpu"


def test_a_cpu_track_does_not_rank_gpu_records_beside_cpu_ones():
    """A --device cuda run gives gpu records (issue 14): a cpu track refuses to rank them with its cpu rows."""
    records = superglue_records("cpu-run", 0.5, 0.1) + [
        record("gpu-run", t, {m: 0.9 for m in ms}, energy_kwh=0.01, hardware="gpu")
        for t, ms in SUPERGLUE_METRICS.items()
    ]
    rows = rows_by_id(rank(records, get_track("sustainlp-cpu")))
    assert rows["cpu-run"].rank == 1 and rows["gpu-run"].rank is None
    assert [(b.rule, b.value) for b in rows["gpu-run"].broken] == [("hardware", "gpu")]


def test_efficientqa_smallest_system_with_em_at_least_25():
    def qa(sub, em, size):
        return record(sub, "nq_open", {"exact_match": em}, system_bytes=size)

    records = [
        qa("big", 0.40, 5_000_000_000),
        qa("edge", 0.25, 100_000_000),
        qa("tiny", 0.249, 10_000_000),
        qa("mid", 0.30, 300_000_000),
        qa("mid-better", 0.31, 300_000_000),
    ]
    board = rank(records, get_track("efficientqa-smallest"))
    rows = rows_by_id(board)
    assert [(r.submission, r.rank) for r in board.rows] == [
        ("edge", 1),
        ("mid-better", 2),
        ("mid", 3),
        ("big", 4),
        ("tiny", None),
    ]
    assert rows["tiny"].broken[0].rule == "min_score" and rows["tiny"].broken[0].value == pytest.approx(24.9)
    six = rows_by_id(
        rank(records + [qa("huge", 0.5, 6 * 2**30 + 1), qa("limit", 0.45, 6 * 2**30)], get_track("efficientqa-6gib"))
    )
    assert six["limit"].rank == 1 and not six["huge"].eligible and six["huge"].broken[0].value == 6 * 2**30 + 1


ELUE_TRACK = (
    HEAD
    + """tasks:
  - {task: sst2, split: validation}
  - {task: mrpc, split: validation}
score: {rule: mean}
cutoffs: {max_params: 40000000}
measurement: {measure: [params, flops]}
columns: [params, flops]
elue:
  reference_curve:
    model: hand-made
    source: tests
    points: {sst2: [[1.0e9, 80], [3.0e9, 90]], mrpc: [[1.0e9, 70], [3.0e9, 80]]}
ranking: {by: elue_score, then: [score]}
pareto: [[score, flops]]
"""
)


def test_elue_ranks_measured_and_self_reported_points_together(tmp_path):
    t = track(tmp_path, "elue-test", ELUE_TRACK)
    static = [
        record("static", "sst2", {"accuracy": 0.86}, params=30_000_000, flops=2.0e9),  # 86 - 85 = +1
        record("static", "mrpc", {"accuracy": 0.74, "f1": 0.76}, params=30_000_000, flops=2.0e9),
    ]  # 75-75 = 0
    points = [
        {"label": "exit 1", "flops": 1.0e9, "score": 0.82, "metrics": {"accuracy": 0.82}},  # +2
        {"label": "exit 2", "flops": 3.0e9, "score": 0.94, "metrics": {"accuracy": 0.94}},
    ]  # +4
    exits = [
        record(
            "exits",
            "sst2",
            {"accuracy": 0.82},
            kind="self-reported",
            declared={"parameters": 39_000_000},
            points=points,
        ),
        record(
            "exits",
            "mrpc",
            {"accuracy": 0.70},
            kind="self-reported",
            declared={"parameters": 39_000_000},
            points=[{"label": "exit 1", "flops": 0.5e9, "score": 0.72, "metrics": {"accuracy": 0.72}}],
        ),
    ]  # 72-70
    board = rank(static + exits, t)
    rows = rows_by_id(board)
    assert rows["static"].values["elue_score"].value == pytest.approx(0.5)
    assert rows["exits"].values["elue_score"].value == pytest.approx((3.0 + 2.0) / 2)
    assert [r.submission for r in board.rows] == ["exits", "static"]
    exits_row = rows["exits"]
    assert exits_row.kind == "self-reported" and exits_row.values["params"].provenance == "self-reported"
    assert exits_row.values["score"].provenance == "predictions"
    assert exits_row.values["elue_score"].provenance == "self-reported"
    assert exits_row.values["flops"].provenance == "not measured"  # declared FLOPs live in its points
    assert [p["outside_range"] for p in exits_row.points] == [False, False, True]
    assert rows["static"].values["elue_score"].provenance == "computed"
    assert board.reference_curve["points"]["sst2"] == ((1.0e9, 80.0), (3.0e9, 90.0))
    json.dumps(board.to_dict())  # everything a page needs, as JSON


def test_tracks_sharing_work_rank_as_they_do_alone(tmp_path):
    small = track(tmp_path, "elue-small", ELUE_TRACK)
    large = track(tmp_path, "elue-large", ELUE_TRACK.replace("max_params: 40000000", "max_params: 50000000"))
    other = track(
        tmp_path,
        "elue-other",
        ELUE_TRACK.replace("score: {rule: mean}", "score: {rule: metric, task: sst2, metric: accuracy}"),
    )
    records = [
        record(sub, task, {"accuracy": acc}, params=params, flops=flops)
        for sub, acc, params, flops in (("a", 0.86, 30_000_000, 2.0e9), ("b", 0.90, 45_000_000, 2.5e9))
        for task in ("sst2", "mrpc")
    ]
    reuse: dict = {}
    shared = [rank(records, t, reuse=reuse) for t in (small, large, other)]
    assert len(reuse) == 3  # one grouping; row values for the two mean-scored tracks, and for the metric one
    assert [b.to_dict() for b in shared] == [rank(records, t).to_dict() for t in (small, large, other)]
    assert not rows_by_id(shared[0])["b"].eligible and rows_by_id(shared[1])["b"].rank == 1


def test_unfilled_curve_gives_no_elue_score_and_says_why():
    records = [
        record("a", t, {"accuracy": 0.8}, params=1, flops=1e9)
        for t in ("elue/sst2", "imdb", "elue/snli", "elue/scitail")
    ]
    records += [
        record("a", "elue/mrpc", {"accuracy": 0.8, "f1": 0.8}, params=1, flops=1e9),
        record("a", "elue/stsb", {"pearson": 0.8, "spearmanr": 0.8}, params=1, flops=1e9),
    ]
    board = rank(records, get_track("elue-40m"))
    row = board.rows[0]
    assert row.eligible and row.rank is None and row.values["elue_score"].value is None
    assert any("reference curve has no points" in n for n in board.notes)
    assert row.values["score"].value == pytest.approx(80.0)


def test_failed_and_missing_tasks_make_a_row_ineligible_not_absent(tmp_path):
    t = track(
        tmp_path,
        "two",
        HEAD + "tasks:\n  - {task: sst2, split: validation}\n  - {task: rte, split: validation}\n"
        "score: {rule: mean}\nranking: {by: score}\n",
    )
    records = [
        record("ok", "sst2", {"accuracy": 0.8}),
        record("ok", "rte", {"accuracy": 0.6}),
        record("failed", "sst2", {"accuracy": 0.9}),
        record("failed", "rte", {}, status="failed"),
        record("half", "sst2", {"accuracy": 0.99}),
    ]
    rows = rows_by_id(rank(records, t))
    assert rows["ok"].rank == 1 and rows["ok"].values["score"].value == pytest.approx(70.0)
    assert "rte failed: boom" in rows["failed"].broken[0].message and rows["failed"].broken[0].value == "1 of 2"
    assert "not submitted: rte" in rows["half"].broken[0].message
    half = rows["half"].values["score"]  # a mean over some of the tasks is not the track's score
    assert half.value is None and half.provenance == "partial" and half.detail == "1 of 2 tasks (missing rte)"


def test_ties_share_a_rank_and_dynascore_reorders(tmp_path):
    t = track(
        tmp_path,
        "dyn",
        HEAD + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\n"
        "measurement: {measure: [params, latency]}\ncolumns: [params, latency_ms]\nranking: {by: score}\n"
        "pareto: [[score, latency_ms]]\n",
    )

    def rec(sub, acc, ms):
        r = record(sub, "sst2", {"accuracy": acc}, params=10)
        r.measurements["latency"] = {"p50_ms": ms}
        return r

    records = [rec("a", 0.90, 40.0), rec("b", 0.90, 40.0), rec("c", 0.85, 5.0), rec("d", 0.80, 30.0)]
    board = rank(records, t)
    assert [(r.submission, r.rank) for r in board.rows] == [("a", 1), ("b", 1), ("c", 3), ("d", 4)]
    assert board.pareto[0].front == ("c", "a", "b")  # a and b are duplicates: both on the front
    assert rows_by_id(board)["d"].pareto == {"score~latency_ms": False}
    dyn = rank(records, t, dynascore_weights={"score": 1, "latency_ms": 1}, rank_by_dynascore=True)
    assert dyn.ranking["by"] == "dynascore" and dyn.rows[0].submission == "c"
    assert dyn.dynascore["amrs"]["latency_ms"] == pytest.approx((25.0 / 5 + 35.0 / 5) / 2)


def test_reference_rows_are_apart_and_only_the_newest_record_counts():
    records = [
        record("a", "sst2", {"accuracy": 0.5}, started="2026-01-01T00:00:00+00:00"),
        record("a", "sst2", {"accuracy": 0.7}, started="2026-02-01T00:00:00+00:00"),
    ]
    board = rank(records, get_track("glue"))
    assert [r.submission for r in board.rows] == ["a"] and board.rows[0].values["task:sst2"].value == pytest.approx(
        70.0
    )
    assert board.last_run == "2026-02-01T00:00:00+00:00"
    refs = {r.submission: r for r in board.reference_rows}
    assert refs["distilbert.distilbert"].kind == "reference" and refs["distilbert.distilbert"].eligible is None
    assert refs["distilbert.distilbert"].values["params"].value == 66_000_000
    assert refs["distilbert.distilbert"].values["score"].provenance == "published"
    assert board.rows[0].values["score"].provenance == "partial" and not board.rows[0].eligible


# ---------------------------------------------------------------- what is ranked, and what shows apart (issue 11)

GLUE_TASKS = {
    "cola": ("matthews_correlation",),
    "sst2": ("accuracy",),
    "mrpc": ("accuracy", "f1"),
    "stsb": ("pearson", "spearmanr"),
    "qqp": ("accuracy", "f1"),
    "mnli_matched": ("accuracy",),
    "mnli_mismatched": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
}


def test_a_limit_run_is_never_ranked_and_says_n_of_m_examples(tmp_path):
    t = track(
        tmp_path,
        "one",
        HEAD + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n",
    )
    records = [
        record("full", "sst2", {"accuracy": 0.80}, examples=872, split_examples=872),
        record("quick", "sst2", {"accuracy": 0.99}, limit=100, examples=100, split_examples=872),
        record("old", "sst2", {"accuracy": 0.98}, limit=50, examples=50),  # before records carried the split size
        record("whole", "sst2", {"accuracy": 0.70}, limit=5000, examples=872, split_examples=872),
    ]
    board = rank(records, t)
    rows = rows_by_id(board)
    assert [(r.submission, r.rank, r.group) for r in board.rows] == [
        ("full", 1, "main"),
        ("whole", 2, "main"),
        ("quick", None, "partial"),
        ("old", None, "partial"),
    ]
    quick = rows["quick"]
    assert not quick.eligible and [b.rule for b in quick.broken] == ["limit"]
    assert quick.broken[-1].message.startswith("partial: 100 of 872 examples")
    assert rows["old"].broken[-1].message.startswith("partial: 50 examples (--limit)")
    assert all(r.pareto.get(p) is None for r in (quick, rows["old"]) for p in r.pareto)


def test_a_benchmark_aggregate_over_missing_tasks_reads_k_of_n_tasks_and_sorts_below(tmp_path):
    t = track(
        tmp_path,
        "glue-open",
        HEAD
        + "tasks:\n"
        + "".join(
            f"  - {{task: {name}, split: {'validation_' + name.split('_')[1] if name.startswith('mnli') else 'validation'}}}\n"
            for name in GLUE_TASKS
        )
        + "score: {rule: glue}\ncutoffs: {require_all_tasks: false}\nranking: {by: score}\n",
    )
    complete = [record("complete", name, {m: 0.6 for m in ms}) for name, ms in GLUE_TASKS.items()]
    lacking = [record("lacking", name, {m: 0.9 for m in ms}) for name, ms in GLUE_TASKS.items() if name != "qqp"]
    board = rank(lacking + complete, t)
    assert [r.submission for r in board.rows] == ["complete", "lacking"]
    score = rows_by_id(board)["lacking"].values["score"]
    assert score.value is None and score.provenance == "partial"
    assert score.detail.startswith("8 of 9 tasks") and "missing qqp" in score.detail
    assert rows_by_id(board)["lacking"].rank is None and rows_by_id(board)["complete"].rank == 1


def test_estimated_energy_is_ranked_apart_from_measured_energy_with_its_power_model():
    model = "power = tdp_w 4 W x (process CPU seconds / (wall seconds x 2 logical CPUs))"

    def subm(sub, value, energy, label):
        out = superglue_records(sub, value, energy)
        for i, r in enumerate(out):
            r.measurements["energy"].update(
                label=label,
                power_model=model if label == "estimated" else "sampled",
                method="harness CPU-TDP x utilisation estimate" if label == "estimated" else "RAPL package counters",
            )
            out[i] = r.with_(num_examples=100)
        return out

    records = (
        subm("m-high", 0.7, 0.5, "measured")
        + subm("m-low", 0.6, 0.2, "measured")
        + subm("e-low", 0.6, 0.01, "estimated")
        + subm("e-high", 0.8, 0.1, "estimated")
    )
    board = rank(records, get_track("sustainlp-cpu"), pareto_pairs=[("score", "energy_kwh")])
    assert [(r.submission, r.group, r.rank) for r in board.rows] == [
        ("m-low", "main", 1),
        ("m-high", "main", 2),
        ("e-low", "estimated", 1),
        ("e-high", "estimated", 2),
    ]
    assert board.ranking["groups_by"] == "energy_kwh"
    assert any(model in n and "estimated" in n for n in board.notes)
    energy = rows_by_id(board)["m-low"].values["energy_kwh"]
    assert "J per 1,000 examples" in energy.detail  # 8 x 0.2 kWh over 800 examples = 7,200,000 J per 1,000
    assert "7.2e+06 J per 1,000 examples" in energy.detail
    front = next(p for p in board.pareto if p.id == "score~energy_kwh")
    assert set(front.front) == {"m-low", "m-high"} and set(front.estimated_front) == {"e-low", "e-high"}
    # a Dynascore that weighs energy trades it within a group only: estimated rows leave measured ones' alone
    weights = {"score": 1.0, "energy_kwh": 1.0}
    measured_only = rank(records[: len(records) // 2], get_track("sustainlp-cpu"), dynascore_weights=weights)
    both = rank(records, get_track("sustainlp-cpu"), dynascore_weights=weights)
    for sub in ("m-low", "m-high"):
        assert rows_by_id(both)[sub].values["dynascore"].value == pytest.approx(
            rows_by_id(measured_only)[sub].values["dynascore"].value
        )
    assert rows_by_id(both)["e-low"].values["dynascore"].value is not None
    assert both.dynascore["amrs"] == measured_only.dynascore["amrs"] and "estimated" in both.dynascore["note"]


def test_a_failed_task_reads_one_line_and_no_absolute_path_reaches_the_board(tmp_path):
    t = track(
        tmp_path,
        "two",
        HEAD + "tasks:\n  - {task: sst2, split: validation}\n  - {task: qqp, split: validation}\n"
        "score: {rule: mean}\nranking: {by: score}\n",
    )
    error = (
        "submission s, task qqp: task qqp: no data at /home/alice/mirror/glue/qqp/dev.tsv; the mirror needs "
        "glue/qqp/dev.tsv (the official file of hub dataset nyu-mll/glue), or drop --data-dir to use the hub"
    )
    failed = record("s", "qqp", {}, status="failed", error=error)
    ok = record("s", "sst2", {"accuracy": 0.8})
    failed, ok = (
        r.with_(
            path=f"/home/alice/results/records/s/{r.task.name}.cpu.record.json",
            model={"folder": "/home/alice/submissions/s/model"},
        )
        for r in (failed, ok)
    )
    board = rank([ok, failed], t)
    row = board.rows[0]
    assert "qqp failed: no data" in row.broken[0].message and "\n" not in row.broken[0].message
    text = json.dumps(board.to_dict())
    assert "/home/alice" not in text and "alice" not in text
    assert row.tasks["qqp"]["record"] == "records/s/qqp.cpu.record.json"
    assert "glue/qqp/dev.tsv" in row.tasks["qqp"]["error"]


def test_matthews_correlation_tasks_say_how_constant_predictions_score():
    columns = {c.id: c for c in board_columns(get_track("glue"), {})}
    assert "0 for constant predictions" in columns["task:cola"].convention
    assert "0 for constant predictions" not in columns["task:sst2"].convention


def test_no_form_of_an_absolute_path_survives_strip_paths():
    from harness.scoring.values import strip_paths

    text = strip_paths(r"at \\srv\share\alice\secret\f.bin, folder:/home/alice/a/b, file:///home/alice/x/y, /home/bob")
    assert text == "at …/secret/f.bin, folder:…/a/b, …/x/y, …/bob"  # a two-part path keeps only its last part


def test_the_terminal_board_states_the_accuracy_band_in_force():
    from harness.publish.text import render

    text = render(rank([], get_track("sustainlp-cpu")))
    assert "minimum score (accuracy band): none set (cutoffs.min_score is null)" in text
    assert "accuracy band" not in render(rank([], get_track("glue")))
