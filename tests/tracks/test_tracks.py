"""Every shipped track file loads and validates; malformed files get messages naming the file, key and fix."""

from pathlib import Path

import pytest
from board_records import HEAD, write_track

from harness.cli import main
from harness.errors import ConfigError, UserError
from harness.tracks.definitions import get_track, load_track, track_files

SHIPPED = track_files()
MINIMAL = HEAD + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"


def test_the_tracks_the_issue_asks_for_are_shipped():
    expected = {
        "glue",
        "superglue",
        "squad",
        "squad-v2",
        "elue-40m",
        "elue-55m",
        "elue-70m",
        "elue-110m",
        "sustainlp-cpu",
        "sustainlp-gpu",
        "efficientqa-6gib",
        "efficientqa-500mib",
        "efficientqa-smallest",
    }
    assert expected <= set(SHIPPED)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_track_loads_and_validates(name):
    track = load_track(SHIPPED[name])
    assert track.id == name and track.tasks and track.name and track.source and track.hardware in ("cpu", "gpu")
    assert track.ranking.by


def test_shipped_cutoffs_and_rules():
    limits = {f"elue-{m}m": m * 1_000_000 for m in (40, 55, 70, 110)}
    for name, limit in limits.items():
        t = get_track(name)
        assert t.cutoffs.max_params == limit and t.ranking.by == "elue_score"
        assert t.task_names() == ["elue/sst2", "imdb", "elue/snli", "elue/scitail", "elue/mrpc", "elue/stsb"]
        assert t.reference_curve is not None and t.reference_curve.points == {}  # to be filled, never invented
        assert all(r.params <= limit for r in t.reference_rows)
    assert get_track("efficientqa-6gib").cutoffs.max_bytes == 6 * 2**30
    assert get_track("efficientqa-500mib").cutoffs.max_bytes == 500 * 2**20
    smallest = get_track("efficientqa-smallest")
    assert smallest.cutoffs.min_score == 25 and smallest.ranking.by == "system_bytes"
    for hw in ("cpu", "gpu"):
        s = get_track(f"sustainlp-{hw}")
        assert s.hardware == hw and s.ranking.by == "energy_kwh" and s.score.rule == "superglue"
    glue = get_track("glue")
    assert glue.score.rule == "glue" and len(glue.tasks) == 11 and glue.reference_rows
    bert = next(r for r in glue.reference_rows if r.id == "bert-base.elue")
    assert bert.params == 109_000_000 and bert.scores["cola"] == 56.5 and "ELUE paper" in bert.source


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_track(write_track(tmp_path, "tiny", text))
    return str(info.value)


def test_bad_value_names_file_key_and_expectation(tmp_path):
    message = _error(tmp_path, MINIMAL + "cutoffs: {max_params: big}\nmeasurement: {measure: [params]}\n")
    assert message == f'{tmp_path / "tiny.yaml"}: cutoffs.max_params: expected an integer > 0, got "big"'


@pytest.mark.parametrize(
    "extra,expected",
    [
        ("cutof: {max_params: 1}\n", "(top level): unknown key 'cutof' (did you mean 'cutoffs'?)"),
        ("cutoffs: {min_score: 101}\n", "cutoffs.min_score: expected a number >= 0 and <= 100, got 101"),
        (
            "cutoffs: {max_params: 40000000.5}\nmeasurement: {measure: [params]}\n",
            "cutoffs.max_params: expected an integer",
        ),
        (
            "cutoffs: {max_params: 5}\nmeasurement: {measure: [flops]}\n",
            "cutoffs.max_params: needs measurement.measure to include 'params'",
        ),
        ("columns: [energy_kwh]\n", "columns[0]: column 'energy_kwh' reads measurements.energy"),
        ("pareto: [[score, flops]]\n", "pareto[0][1]: unknown board column 'flops'"),
        ("measurement: {threads: 0}\n", "measurement.threads: expected an integer > 0, got 0"),
        (
            "elue: {reference_curve: {model: m, source: s, points: {sst2: [[1.0e9, 80], [1.0e9, 81]]}}}\n",
            "elue.reference_curve.points.sst2: two points share one FLOPs value",
        ),
        (
            "elue: {reference_curve: {model: m, source: s, points: {imdb: [[1.0e9, 80]]}}}\n",
            "elue.reference_curve.points.imdb: unknown track task 'imdb'",
        ),
        ("elue: {reference_curve: missing.yaml}\n", "elue.reference_curve: no curve file 'missing.yaml'"),
        ("reference_rows: {file: missing.yaml, ids: [x]}\n", "reference_rows.file: no file 'missing.yaml'"),
        ("dynascore: {weights: {score: 1, latency: 2}}\n", "dynascore.weights.latency: unknown board column"),
    ],
)
def test_each_malformed_field_is_named(tmp_path, extra, expected):
    assert expected in _error(tmp_path, MINIMAL + extra)


def test_task_and_ranking_errors(tmp_path):
    text = (
        HEAD + "tasks:\n  - {task: sst-2, split: validation}\n  - {task: mrpc, split: test}\n"
        "score: {rule: metric, task: mrpc, metric: acc}\nranking: {by: scroe}\n"
    )
    message = _error(tmp_path, text)
    assert "tasks[0].task: unknown task 'sst-2' (did you mean 'sst2'?)" in message
    assert "tasks[1].split: task mrpc evaluates split 'validation', got \"test\"" in message
    assert "score.metric: unknown metric of mrpc 'acc'; known: accuracy, f1" in message
    assert "ranking.by: unknown board column 'scroe' (did you mean 'score'?)" in message
    assert message.startswith("4 problems in")


def test_missing_keys_syntax_errors_and_wrong_benchmark(tmp_path):
    assert "ranking: missing; this key is required" in _error(tmp_path, HEAD + "tasks: []\nscore: {rule: mean}\n")
    assert "line 2" in _error(tmp_path, "name: x\n  bad: [\n")
    text = HEAD + "tasks:\n  - {task: boolq, split: validation}\nscore: {rule: glue}\nranking: {by: score}\n"
    assert "task boolq is not part of the glue score" in _error(tmp_path, text)


def test_duplicate_keys_in_a_track_or_its_data_files_are_refused_not_last_one_wins(tmp_path):
    # plain YAML would keep the second `ranking:` and rank by params without a word
    message = _error(tmp_path, MINIMAL + "ranking: {by: params}\n")
    assert "line 9: duplicate key 'ranking'; keep one copy of the key" in message
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "curve.yaml").write_text(
        "model: m\nsource: s\npoints: {sst2: [[1, 80]], sst2: [[1, 99]]}\n", encoding="utf-8"
    )
    message = _error(tmp_path, MINIMAL + "elue: {reference_curve: data/curve.yaml}\n")
    assert "curve.yaml: line 3: duplicate key 'sst2'" in message


def test_reference_rows_and_curve_files_resolve_relative_to_the_track(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "curve.yaml").write_text(
        "model: m\nsource: s\noutside: linear\npoints: {sst2: [['2e9', 85], [1.0e9, 80]]}\n", encoding="utf-8"
    )
    (tmp_path / "data" / "rows.yaml").write_text(
        "rows:\n  - {id: a, model: A, params_m: 22.7, split: glue-dev, scores: {sst2: 91.0}, avg_rule: r, source: s}\n",
        encoding="utf-8",
    )
    t = load_track(
        write_track(
            tmp_path,
            "ok",
            MINIMAL + "elue: {reference_curve: data/curve.yaml}\nreference_rows: {file: data/rows.yaml, ids: [a]}\n",
        )
    )
    assert (
        t.reference_curve.points == {"sst2": ((1.0e9, 80.0), (2.0e9, 85.0))} and t.reference_curve.outside == "linear"
    )
    assert t.reference_rows[0].params == 22_700_000
    message = _error(tmp_path, MINIMAL + "reference_rows: {file: data/rows.yaml, ids: [b]}\n")
    assert "reference_rows.ids[0]: unknown reference row 'b'" in message


def test_unknown_track_name_and_cli_listing(tmp_path, capsys):
    with pytest.raises(UserError, match="did you mean 'glue'"):
        get_track("glu")
    assert main(["tracks"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(SHIPPED) and any(
        line.startswith("elue-40m") and "40,000,000 params" in line for line in lines
    )
    write_track(tmp_path, "broken", MINIMAL + "cutoffs: {max_bytes: -1}\n")
    assert main(["tracks", "--tracks", str(tmp_path)]) == 2
    assert "cutoffs.max_bytes: expected an integer > 0, got -1" in capsys.readouterr().err
