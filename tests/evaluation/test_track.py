"""`harness run` and `harness rank` end to end: the glue and elue-* tracks on two tiny submissions and one
prediction-only submission, with mirror data plus small files in the official layout for the absent sets."""

import json
import shutil
from pathlib import Path

import pytest
from fixture_data import build_data_dir

from harness.cli import main
from harness.formats import write_predictions
from harness.records import read_records
from harness.tasks import get_task
from harness.tasks.data import load_rows
from harness.testing import tiny
from harness.testing.tiny import write_tiny_submission
from harness.tracks.definitions import get_track, load_track, tracks_dir

LIMIT = 3
ELUE = ("elue-40m", "elue-55m", "elue-70m", "elue-110m")
CURVE = """model: hand-made test curve
source: tests/evaluation/test_track.py (not ElasticBERT's numbers)
outside: clamp
points:
""" + "".join(
    f"  {t}: [[3.0e5, {low}], [3.0e6, {low + 20}]]\n"
    for t, low in (
        ("elue/sst2", 40),
        ("imdb", 40),
        ("elue/snli", 30),
        ("elue/scitail", 40),
        ("elue/mrpc", 40),
        ("elue/stsb", 0),
    )
)


@pytest.fixture(scope="module")
def world(mirror, tmp_path_factory):
    """Data dir, two tiny submissions for the glue and ELUE tasks, one prediction-only ELUE submission."""
    root = tmp_path_factory.mktemp("tracks")
    data = build_data_dir(mirror, root / "data")
    tasks = sorted(set(get_track("glue").task_names()) | set(get_track("elue-40m").task_names()))
    vocab = mirror / tiny.VOCAB_FILE
    for n, name in enumerate(("tiny-a", "tiny-b")):
        write_tiny_submission(root / "subs" / name, tasks, vocab, seed=n)
    _prediction_only(root / "subs" / "exits", data)
    return root


def _prediction_only(folder: Path, data: Path) -> None:
    folder.mkdir(parents=True)
    entries = []
    for name in [*get_track("elue-40m").task_names(), "sst2", "mrpc", "stsb"]:  # ELUE's data, and three GLUE tasks
        task = get_task(name)
        rows = load_rows(task, data)  # the whole split: the glue track runs without --limit
        preds = {task.uid(r): (2.5 + i if task.kind == "regression" else 1) for i, r in enumerate(rows)}
        file = f"{name.replace('/', '-')}.tsv"
        write_predictions(task, preds, folder / file)
        flops = [(4.0e5, "exit 1"), (2.0e6, "exit 6")] if name == "elue/sst2" else [(1.0e6, "exit 3")]
        points = ", ".join(f"{{predictions: {file}, flops: {f:.1e}, label: {label}}}" for f, label in flops)
        entries.append(f"  {name}: [{points}]")
    (folder / "predictions.yaml").write_text(
        "name: early exits (self-reported)\nteam: tests\ncontact: tests@example.org\nmethods: [other]\n"
        "declared: {parameters: 5000000}\ntasks:\n" + "\n".join(entries) + "\n",
        encoding="utf-8",
    )


def _run(world: Path, track: str, results: str, capsys, limit: int | None = LIMIT) -> str:
    code = main(
        [
            "run",
            "--executor",
            "inline",
            track,
            "--submissions",
            str(world / "subs"),
            "--data-dir",
            str(world / "data"),
            "--results",
            str(world / results),
            "--no-progress",
            "--skip-measure",
            "latency",
            *(["--limit", str(limit)] if limit else []),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def _board(args: list[str], capsys) -> dict:
    assert main(["rank", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_glue_track_runs_and_ranks(world, capsys, tmp_path):
    # glue without its out-of-distribution pair: IMDb's 25,000 whole reviews would double the test's time, and the
    # pair's run is tested in test_ood.py (its declaration in glue.yaml too)
    tracks = shutil.copytree(tracks_dir(), tmp_path / "tracks")
    text = (tracks / "glue.yaml").read_text(encoding="utf-8")
    ood = "ood:\n  - {task: sst2, on: imdb, labels: {negative: neg, positive: pos}}\n"
    assert ood in text
    (tracks / "glue.yaml").write_text(text.replace(ood, ""), encoding="utf-8")
    out = _run(world, str(tracks / "glue.yaml"), "glue-results", capsys, limit=None)  # whole splits: ranked
    assert "exits / mrpc" in out  # the prediction-only submission declares three GLUE tasks
    records = read_records(world / "glue-results" / "records")
    # 11 tasks per tiny submission, 3 prediction-only
    assert len(records) == 2 * 11 + 3 and all(r.status == "ok" for r in records)
    assert all(r.num_examples == r.task.split_examples for r in records if r.kind != "self-reported")
    records = [r for r in records if r.submission.id != "exits"]
    m = records[0].measurements
    assert m["params"]["total_params"] > 0 and m["flops"]["flops_per_example"] > 0 and "latency" not in m
    assert records[0].track_run == {
        "track": "glue",
        "measurement": records[0].track_run["measurement"],
        "skipped": ["latency"],
    }
    assert main(["rank", "glue", "--tracks", str(tracks), "--results", str(world / "glue-results")]) == 0
    text = capsys.readouterr().out
    assert "GLUE dev, compressed models" in text and "published reference rows" in text and "n/m" in text
    board = _board(["glue", "--tracks", str(tracks), "--results", str(world / "glue-results")], capsys)
    ranked = [r for r in board["rows"] if r["rank"] is not None]
    assert sorted(r["submission"] for r in ranked) == ["tiny-a", "tiny-b"] and ranked[0]["rank"] == 1
    assert ranked[0]["values"]["params"]["provenance"] == "measured"
    latency = ranked[0]["values"]["latency_ms"]
    assert (latency["value"], latency["provenance"], latency["interval"]) == (None, "not measured", None)
    assert ranked[0]["values"]["score"]["interval"] is not None  # whole splits: every task resampled
    assert not any("--limit" in n for n in ranked[0]["notes"]) and ranked[0]["group"] == "main"
    assert {p["id"] for p in board["pareto"]} >= {"score~params", "score~flops"}
    exits = next(r for r in board["rows"] if r["submission"] == "exits")
    assert (
        not exits["eligible"]
        and exits["broken"][0]["rule"] == "require_all_tasks"
        and exits["broken"][0]["value"] == "3 of 11"
    )


def test_elue_tracks_run_and_rank_against_a_hand_made_curve(world, capsys, tmp_path):
    out = _run(world, "elue-40m", "elue-results", capsys)
    assert "exits / elue/sst2" in out
    records = read_records(world / "elue-results" / "records")
    assert len(records) == 3 * 6
    exits = [r for r in records if r.submission.id == "exits"]
    assert all(r.kind == "self-reported" for r in exits)
    assert [p["label"] for p in next(r for r in exits if r.task.name == "elue/sst2").operating_points] == [
        "exit 1",
        "exit 6",
    ]
    tracks = shutil.copytree(tracks_dir(), tmp_path / "tracks")
    (tracks / "data" / "elue_reference_curve.yaml").write_text(CURVE, encoding="utf-8")
    for name in ELUE:
        board = _board([name, "--tracks", str(tracks), "--results", str(world / "elue-results")], capsys)
        rows = {r["submission"]: r for r in board["rows"]}
        assert set(rows) == {"tiny-a", "tiny-b", "exits"}
        # a --limit run is scored (ELUE score included) but never ranked: it shows apart, marked partial
        assert all(
            r["group"] == "partial"
            and r["rank"] is None
            and r["broken"][-1]["rule"] == "limit"
            and r["values"]["elue_score"]["value"] is not None
            for r in rows.values()
        )
        assert rows["tiny-a"]["broken"][-1]["message"].startswith(f"partial: {6 * LIMIT} of ")
        assert (
            rows["exits"]["kind"] == "self-reported"
            and rows["exits"]["values"]["params"]["provenance"] == "self-reported"
        )
        assert len(rows["exits"]["points"]) == 7 and board["reference_curve"]["model"] == "hand-made test curve"
    assert main(["rank", "elue-40m", "--tracks", str(tracks), "--results", str(world / "elue-results")]) == 0
    assert "ELUE score" in capsys.readouterr().out


def test_reference_curve_from_records_loads_back_into_a_track(world, capsys, tmp_path):
    if not (world / "elue-results").is_dir():
        pytest.skip("needs the ELUE run of the previous test")
    tracks = shutil.copytree(tracks_dir(), tmp_path / "tracks")
    out_file = tracks / "data" / "elue_reference_curve.yaml"
    assert (
        main(
            [
                "reference-curve",
                "elue-40m",
                "--submission",
                "exits",
                "--results",
                str(world / "elue-results"),
                "--model",
                "exits",
                "--out",
                str(out_file),
            ]
        )
        == 0
    )
    curve = load_track(tracks / "elue-110m.yaml").reference_curve
    assert curve.model == "exits" and [f for f, _ in curve.points["elue/sst2"]] == [4.0e5, 2.0e6]
    assert set(curve.points) == set(get_track("elue-40m").task_names())


def test_run_refuses_a_gpu_track_and_rank_needs_records(world, capsys, tmp_path):
    assert main(["run", "sustainlp-gpu", "--submissions", str(world / "subs")]) == 2
    assert "--device cuda on a machine with a GPU" in capsys.readouterr().err
    assert main(["rank", "glue", "--results", str(tmp_path)]) == 2
    assert "no records folder" in capsys.readouterr().err
    assert main(["reference-curve", "elue-40m", "--submission", "x", "--results", str(tmp_path)]) == 2
    assert "no records folder; run `harness run elue-40m" in capsys.readouterr().err
    assert main(["rank", "glue", "--results", str(world / "glue-results"), "--dynascore", "score=1,latncy=1"]) == 2
    assert "unknown column 'latncy'" in capsys.readouterr().err


def test_an_invalid_submission_is_reported_and_a_bad_record_stops_rank(capsys, tmp_path, mirror):  # run reads it
    bad = tmp_path / "subs" / "broken"
    bad.mkdir(parents=True)
    (bad / "submission.yaml").write_text("name: x\n", encoding="utf-8")
    assert main(["run", "glue", "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "r")]) == 1
    assert "SKIPPED broken:" in capsys.readouterr().out
    corrupt = tmp_path / "r" / "records" / "x" / "sst2.cpu.record.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text("{not json", encoding="utf-8")
    assert main(["rank", "glue", "--results", str(tmp_path / "r")]) == 2
    assert str(corrupt) in capsys.readouterr().err
