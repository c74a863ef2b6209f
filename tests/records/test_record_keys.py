"""No result is ever overwritten or lost: records keyed by what makes them different, failures beside good records,
schema-1 results migrated, one submission never in another's place, atomic writes, impossible values refused."""

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.evaluation.evaluate import ModelRef, evaluate
from harness.evaluation.track import submission_folders
from harness.records import (
    FAILED_SUFFIX,
    SCHEMA_VERSION,
    Record,
    read_record,
    read_records,
    record_key,
    store_record,
    write_record,
)
from harness.scoring.values import group_records
from harness.tracks.definitions import get_track

# written by the harness at 2a1c041 (`harness run glue`, evaluate)
SCHEMA1 = Path(__file__).parents[1] / "data" / "schema1"


def _ref(folder: Path, sub: str = "tiny") -> ModelRef:
    from harness.submissions import combined_sha256, sha256_files

    files = sha256_files(folder)
    return ModelRef(sub, folder, sha256=combined_sha256(files), files=tuple(sorted(files.items())))


def _run(ref: ModelRef, results: Path, data: Path, **kw) -> Record:
    return evaluate(ref, "rte", data_dir=data, results_dir=results, measure=(), energy={"off": True}, **kw)


def test_runs_with_different_settings_keep_both_records_and_the_board_reads_the_whole_split(
    tiny_bert, mirror, tmp_path
):
    ref, results = _ref(tiny_bert()), tmp_path / "results"
    full = _run(ref, results, mirror)
    quick = _run(ref, results, mirror, limit=20)
    assert full.status == quick.status == "ok" and full.path != quick.path
    assert len(read_records(results)) == 2  # a --limit run no longer replaces the full record
    assert read_record(full.path).num_examples == 277
    # the latest is the 20-example run; the board still reads the whole split
    entry = group_records(read_records(results), get_track("glue"))["tiny"]
    assert entry.ok["rte"].num_examples == 277
    again = _run(ref, results, mirror)  # the same key again: the same file, one record
    assert again.path == full.path and len(read_records(results)) == 2


def test_the_key_holds_what_changes_a_number_and_not_the_prose(tiny_bert, mirror, tmp_path):
    ref = _ref(tiny_bert())
    base = _run(ref, tmp_path / "a", mirror).to_dict()
    key = base["key"]
    assert key["task"] == "rte" and key["task_version"] == 1 and key["split"] == "validation"
    assert key["settings"]["limit"] is None and "progress" not in key["settings"] and key["hardware"] == "cpu"
    record = dict(
        base, submission=dict(base["submission"], files={**base["submission"]["files"], "submission.yaml": "0" * 64})
    )
    assert record_key(record) == key  # submission.yaml's prose is not the model
    changed = dict(
        base, submission=dict(base["submission"], files={**base["submission"]["files"], "model.safetensors": "1"})
    )
    assert record_key(changed)["content"] != key["content"]
    tracked = dict(base, track_run={"track": "x", "measurement": {"threads": 2, "measure": ["params"]}})
    fewer = dict(base, track_run={"track": "x", "measurement": {"threads": 2, "measure": []}})
    assert record_key(tracked) != key and record_key(tracked) == record_key(fewer)


def test_a_failed_run_lands_beside_the_good_record_and_the_board_keeps_the_good_one(tiny_bert, mirror, tmp_path):
    ref, results = _ref(tiny_bert()), tmp_path / "results"
    good = _run(ref, results, mirror)
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = _run(ref, results, empty)  # a wrong --data-dir: the same key, no data
    assert failed.status == "failed" and failed.path.endswith(FAILED_SUFFIX)
    assert read_record(good.path).status == "ok"  # untouched
    assert Path(failed.path).name.startswith(Path(good.path).name[: -len(".record.json")])
    entry = group_records(read_records(results), get_track("glue"))["tiny"]
    assert entry.ok["rte"].status == "ok" and "rte" not in entry.failed
    assert "no data" in entry.tasks["rte"]["later_failure"] and any("a later run" in n for n in entry.notes)


def test_run_with_a_data_dir_holding_none_of_the_tracks_files_is_refused_before_anything_runs(tmp_path, capsys):
    (tmp_path / "subs" / "x").mkdir(parents=True)
    (tmp_path / "empty").mkdir()
    code = main(
        [
            "run",
            "--executor",
            "inline",
            "glue",
            "--submissions",
            str(tmp_path / "subs"),
            "--data-dir",
            str(tmp_path / "empty"),
            "--results",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2 and "holds none of track glue's files" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_schema_1_results_migrate_with_every_record_kept(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(SCHEMA1 / "records", results / "records")
    files = sorted(results.rglob("*.record.json"))
    records = read_records(results / "records")
    assert len(records) == len(files) == 13 and all(r.schema_version == SCHEMA_VERSION and r.key for r in records)
    assert main(["rank", "glue", "--results", str(results), "--json"]) == 0
    new = json.loads(capsys.readouterr().out)
    old = json.loads((SCHEMA1 / "glue.board.json").read_text(encoding="utf-8"))
    rows = {r["submission"]: r for r in new["rows"]}
    assert sorted(rows) == sorted(r["submission"] for r in old["rows"])
    for before in old["rows"]:
        after = rows[before["submission"]]
        for cid, value in before["values"].items():
            if cid != "score":  # an aggregate over missing tasks now says "k of n tasks" instead of a number
                assert after["values"][cid]["value"] == value["value"], (before["submission"], cid)
    assert new["generated_from"] == old["generated_from"]
    # a new run of an old record's key writes a new file beside it; nothing is lost
    record = read_record(files[0]).to_dict()
    store_record(dict(record, started_at="2026-11-30T00:00:00+00:00"), results)
    assert len(read_records(results / "records")) == 14


def test_a_record_under_another_submissions_folder_is_refused(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    write_record(dict(record), tmp_path / "victim" / "rte.cpu.record.json")
    with pytest.raises(UserError, match=r"holds submission 'tiny-old', task 'rte', but sits at victim/rte"):
        read_records(tmp_path)
    shutil.rmtree(tmp_path / "victim")
    write_record(dict(record), tmp_path / "tiny-old" / "sst2.cpu.record.json")
    with pytest.raises(UserError, match="sits at tiny-old/sst2.cpu.record.json"):
        read_records(tmp_path)


def test_entries_resolving_to_one_folder_are_refused(tmp_path, capsys, mirror):  # run reads the mirror's data dir
    subs = tmp_path / "subs"
    (subs / "impostor").mkdir(parents=True)
    (subs / "impostor" / "submission.yaml").write_text("name: x\n", encoding="utf-8")
    (subs / "victim").symlink_to(subs / "impostor")
    (subs / "alone").mkdir()
    (subs / "alone" / "submission.yaml").write_text("name: y\n", encoding="utf-8")
    kinds = {folder.name: kind for kind, folder in submission_folders(subs)}
    assert kinds["alone"] == "measured" and kinds["impostor"] == "measured"  # a planted link blocks no one
    assert kinds["victim"].startswith("refused: victim is a link")
    main(["run", "glue", "--submissions", str(subs), "--results", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert "SKIPPED victim: refused" in out and "SKIPPED impostor: refused" not in out
    assert main(["evaluate", str(subs / "victim"), "--task", "rte"]) == 2
    assert "is a link" in capsys.readouterr().err


def test_bare_model_folders_with_one_name_get_distinct_ids(tiny_bert, tmp_path):
    from harness.evaluation.refs import model_refs

    a, b = tmp_path / "a" / "model", tmp_path / "b" / "model"
    a.parent.mkdir()
    b.parent.mkdir()
    tiny_bert().rename(a)
    tiny_bert(hidden_dropout_prob=0.2).rename(b)  # another model under the same folder name
    ((_, ref_a),) = model_refs(a, ["rte"], None, False)
    ((_, ref_b),) = model_refs(b, ["rte"], None, False)
    assert ref_a.submission_id != ref_b.submission_id and ref_a.submission_id.startswith("model-")
    assert ref_a.submission_id != "model"


@pytest.mark.parametrize(
    "measurements,message",
    [
        ({"size": {"total_bytes": -5}}, r"measurements.size.total_bytes is -5, impossible"),
        ({"params": {"total_params": 0}}, r"measurements.params.total_params is 0, impossible"),
        ({"latency": {"p50_ms": 0.0}}, r"measurements.latency.p50_ms is 0.0"),
        ({"energy": {"total_power_kwh": -1e-6}}, r"measurements.energy.total_power_kwh is -1e-06, impossible"),
    ],
)
def test_impossible_measured_values_are_refused_on_read(tmp_path, measurements, message):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    path = tmp_path / "tiny-old" / "rte.cpu.record.json"
    path.parent.mkdir()
    path.write_text(json.dumps(dict(record, measurements=measurements)), encoding="utf-8")
    with pytest.raises(UserError, match=message) as e:
        read_records(tmp_path)
    assert str(path) in str(e.value)


def test_a_start_time_in_the_future_is_refused(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    path = tmp_path / "x.record.json"
    path.write_text(json.dumps(dict(record, started_at="2999-01-01T00:00:00+00:00")), encoding="utf-8")
    with pytest.raises(UserError, match="started_at 2999-01-01T00:00:00\\+00:00 is in the future"):
        read_record(path)


def test_concurrent_writers_of_one_record_never_collide_and_readers_never_see_a_partial_file(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    path = tmp_path / "tiny-old" / "rte.cpu.record.json"
    write_record(dict(record), path)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(40):
                write_record(dict(record), path)
        except BaseException as e:  # noqa: BLE001 - the test reports whatever a writer raised
            errors.append(e)

    def read() -> None:
        try:
            for _ in range(200):
                assert read_record(path).status == "ok"
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write) for _ in range(3)] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(p.name for p in path.parent.iterdir()) == ["rte.cpu.record.json"]  # no temporary file left


def test_file_system_errors_end_in_one_line_naming_the_path(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be\n", encoding="utf-8")
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    with pytest.raises(UserError, match=r"not-a-folder.*cannot write .*pass another --results folder"):
        store_record(dict(record), blocker)
    shutil.copytree(SCHEMA1 / "records", tmp_path / "results" / "records")
    code = main(["leaderboard", "--results", str(tmp_path / "results"), "--out", str(blocker / "site")])
    err = capsys.readouterr().err
    assert code == 2 and "not-a-folder" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_rank_into_a_closed_pipe_exits_quietly(tmp_path):
    shutil.copytree(SCHEMA1 / "records", tmp_path / "results" / "records")
    rank = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "rank", "glue", "--results", str(tmp_path / "results")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    rank.stdout.read(10)
    rank.stdout.close()  # as `head -c 10` does
    err = rank.stderr.read().decode()
    assert rank.wait(timeout=120) == 0 and "Traceback" not in err and "BrokenPipe" not in err


def test_a_stale_record_is_rescored_from_its_predictions_file_and_the_board_takes_the_new_one(mirror, tmp_path, capsys):
    """squad v1 records scored under v2.0's empty-gold rules (task version 1) re-score to the official v1.1 numbers."""
    from harness.formats import write_predictions
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    task = get_task("squad")
    rows = load_rows(task, mirror)
    lone_period = {"5725bad5271a42140099d0c1", "5730b7ce069b5314008322c4", "57340d124776f419006617bf"}
    predictions = {task.uid(r): "" if task.uid(r) in lone_period else task.gold_of(r)[0] for r in rows}
    old = {
        "schema_version": 2,
        "harness_version": "0.1.0",
        "started_at": "2026-11-01T00:00:00+00:00",
        "status": "ok",
        "submission": {"id": "qa", "sha256": "0" * 64, "files": {}},
        "num_examples": len(rows),
        "task": {"name": "squad", "version": 1, "split": "validation"},
        "settings": {"limit": None},
        "metrics": {"exact_match": 1 - 3 / len(rows), "f1": 1 - 3 / len(rows)},
        "score": 1 - 3 / len(rows),
    }
    path = Path(store_record(old, tmp_path).path)
    write_predictions(task, predictions, path.with_name("old.predictions.json"))
    write_record(dict(old, predictions_file="old.predictions.json"), path)
    entry = group_records(read_records(tmp_path / "records"), get_track("squad"))["qa"]
    assert entry.tasks["squad"]["stale"] and any("stale" in n for n in entry.notes)
    from harness.scoring.rank import rank

    (row,) = rank(read_records(tmp_path / "records"), get_track("squad")).rows
    assert row.rank is None and [b.rule for b in row.broken] == ["stale"] and "harness rescore" in row.broken[0].message
    assert main(["rescore", "--results", str(tmp_path), "--data-dir", str(mirror)]) == 0
    assert "task version 1 -> 2" in capsys.readouterr().out
    records = read_records(tmp_path / "records")
    assert len(records) == 2  # the stale record is kept as it was
    new = next(r for r in records if r.task.version == 2)
    assert new.metrics["exact_match"] == 1.0 and new.metrics["f1"] == pytest.approx(1 - 3 / len(rows))
    assert (Path(new.path).parent / new.predictions_file).is_file()
    entry = group_records(records, get_track("squad"))["qa"]
    assert entry.ok["squad"].task.version == 2 and not entry.tasks["squad"].get("stale")
    (row,) = rank(records, get_track("squad")).rows
    assert row.rank == 1 and row.broken == ()
    assert main(["rescore", "--results", str(tmp_path), "--data-dir", str(mirror)]) == 0
    assert "no stale records" in capsys.readouterr().out


def test_run_goes_on_with_the_other_submissions_when_one_cannot_be_written(mirror, tmp_path, capsys):
    from harness.testing.tiny import VOCAB_FILE, write_tiny_submission

    for name in ("blocked", "fine"):
        write_tiny_submission(tmp_path / "subs" / name, ["rte"], mirror / VOCAB_FILE)
    (tmp_path / "r" / "records").mkdir(parents=True)
    (tmp_path / "r" / "records" / "blocked").write_text("a file where the submission's folder goes\n")
    code = main(
        [
            "run",
            "glue",
            "--submissions",
            str(tmp_path / "subs"),
            "--data-dir",
            str(mirror),
            "--results",
            str(tmp_path / "r"),
            "--limit",
            "4",
            "--no-progress",
            "--skip-measure",
            "latency,size,flops",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1 and "SKIPPED blocked:" in out and "cannot write" in out and "fine / rte" in out
    assert [r.submission.id for r in read_records(tmp_path / "r" / "records" / "fine")] == ["fine"]


def test_a_failed_rerun_never_hides_a_stale_good_record_and_rescore_still_finds_it(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    stale = dict(record, task=dict(record["task"], version=0), key=None)
    del stale["key"]
    store_record(stale, tmp_path)
    failed = {k: v for k, v in record.items() if k not in ("metrics", "score", "key", "path")}
    failed.update(status="failed", error="task rte: no data", metrics={}, started_at="2026-12-01T00:00:00+00:00")
    store_record(failed, tmp_path)
    entry = group_records(read_records(tmp_path / "records"), get_track("glue"))["tiny-old"]
    assert entry.ok["rte"].task.version == 0 and entry.tasks["rte"]["stale"]
    from harness.commands.rescore import current_key
    from harness.records import key_digest

    assert key_digest(current_key(entry.ok["rte"])) == key_digest(record_key(failed))


def test_a_rerun_with_fewer_measurements_keeps_the_ones_it_did_not_take(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    record = {k: v for k, v in record.items() if k != "path"}
    path = Path(store_record(dict(record), tmp_path).path)
    assert {"params", "flops"} <= set(record["measurements"])
    again = dict(
        record, measurements={"flops": {"measured": False, "reason": "skipped"}}, started_at="2026-12-01T00:00:00+00:00"
    )
    assert store_record(again, tmp_path).path == str(path)
    kept = read_record(path).measurements
    assert kept["params"] == record["measurements"]["params"] and kept["flops"] == record["measurements"]["flops"]


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"schema_version": 1, "task": {"name": "rte"}, "status": "failed"}', "record has no 'submission' field"),
        (
            '{"schema_version": 1, "submission": {"id": "x", "files": ["a"]}, "task": {"name": "rte"}, "status": "ok"}',
            "submission.files",
        ),
        ('{"schema_version": 1, "submission": {"id": "x"}, "task": "rte", "status": "ok"}', "task.name"),
    ],
)
def test_a_malformed_schema_1_record_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "x.record.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as e:
        read_record(path)
    assert str(path) in str(e.value)


def test_aggregate_takes_one_record_per_task_and_never_counts_a_limit_run(tiny_bert, mirror, tmp_path, capsys):
    ref, results = _ref(tiny_bert()), tmp_path / "results"
    full = _run(ref, results, mirror)
    _run(ref, results, mirror, limit=20)
    folder = results / "records" / "tiny"
    assert main(["aggregate", "glue", "--records", str(folder), "--json"]) == 0
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert result["score"] is None and result["scored"] == 1  # rte alone: 1 of 9 tasks, from the whole split
    assert result["components"]["rte"] == pytest.approx(100 * full.score)
    shutil.rmtree(folder)
    _run(ref, results, mirror, limit=20)
    assert main(["aggregate", "glue", "--records", str(folder), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["scored"] == 0 and "a --limit run (20 examples), not counted" in out.err


def test_rescore_goes_on_past_a_record_it_cannot_rescore(tmp_path, capsys):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    stale = {k: v for k, v in record.items() if k not in ("key", "path", "predictions_file")}
    stale["task"] = dict(record["task"], version=0)
    store_record(stale, tmp_path)
    assert main(["rescore", "--results", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "NOT RESCORED tiny-old / rte: " in out and "no predictions_file" in out
    assert len(list(tmp_path.rglob("*"))) == 3  # records/, records/tiny-old/ and the one record: nothing orphaned


def test_impossible_declared_values_and_example_counts_are_refused_on_read(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    path = tmp_path / "tiny-old" / "rte.cpu.record.json"
    path.parent.mkdir()
    for over, message in (
        ({"declared": {"system_bytes": -5}}, r"declared.system_bytes is -5"),
        ({"declared": {"parameters": 0}}, r"declared.parameters is 0"),
        ({"num_examples": 0}, r"num_examples is 0"),
        ({"measurements": {"flops": {"mean_flops": -1.0}}}, r"flops.mean_flops is -1.0"),
    ):
        path.write_text(json.dumps(dict(record, **over)), encoding="utf-8")
        with pytest.raises(UserError, match=message):
            read_records(tmp_path)


def test_a_failed_rerun_leaves_the_good_records_predictions_whole(tiny_bert, mirror, tmp_path, monkeypatch):
    import harness.formats as formats

    ref, results = _ref(tiny_bert()), tmp_path / "results"
    good = _run(ref, results, mirror)
    predictions = Path(good.path).with_name(good.predictions_file)
    before = predictions.read_bytes()
    real = formats.write_predictions

    def fill_the_disk(task, preds, path):
        real(task, dict(list(preds.items())[:10]), path)
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(formats, "write_predictions", fill_the_disk)
    failed = _run(ref, results, mirror)
    assert failed.status == "failed" and "No space left" in failed.error
    assert predictions.read_bytes() == before and read_record(good.path).status == "ok"
    assert not [p for p in predictions.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_track_board_prefers_the_tracks_own_record_to_a_later_plain_evaluate(tmp_path):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    record = {k: v for k, v in record.items() if k not in ("path", "key")}
    assert record["track_run"]["track"] == "glue"
    store_record(dict(record), tmp_path)
    plain = {k: v for k, v in record.items() if k != "track_run"}
    from datetime import datetime, timedelta

    later = (datetime.fromisoformat(record["started_at"]) + timedelta(minutes=1)).isoformat(timespec="seconds")
    plain.update(started_at=later, settings=dict(record["settings"], max_length=8))
    store_record(plain, tmp_path)
    entry = group_records(read_records(tmp_path / "records"), get_track("glue"))["tiny-old"]
    assert (entry.ok["rte"].track_run or {}).get("track") == "glue"


def test_the_key_names_the_model_folder_and_backend_a_task_uses(tiny_bert, mirror, tmp_path):
    from harness.evaluation.refs import model_refs

    sub = tmp_path / "subs" / "two"
    sub.mkdir(parents=True)
    tiny_bert().rename(sub / "a")
    tiny_bert(hidden_dropout_prob=0.2).rename(sub / "b")
    yaml = "name: two\nteam: t\ncontact: t@example.org\nmethods: [other]\ntasks:\n  rte: {{model: {folder}}}\n"
    (sub / "submission.yaml").write_text(yaml.format(folder="a"), encoding="utf-8")
    ((_, ref_a),) = model_refs(sub, ["rte"], None, False)
    first = _run(ref_a, tmp_path / "r", mirror, limit=4)
    (sub / "submission.yaml").write_text(yaml.format(folder="b"), encoding="utf-8")
    ((_, ref_b),) = model_refs(sub, ["rte"], None, False)
    second = _run(ref_b, tmp_path / "r", mirror, limit=4)
    assert first.path != second.path and len(read_records(tmp_path / "r" / "records")) == 2


def test_a_cosine_head_is_refused_for_a_classification_task():
    from harness.inference.formulations import task_head

    assert task_head("stsb", "cosine") == "cosine"
    with pytest.raises(UserError, match="similarity score, which task mrpc"):
        task_head("mrpc", "cosine")


def test_aggregate_does_not_count_a_stale_record(tmp_path, capsys):
    record = read_record(next((SCHEMA1 / "records" / "tiny-old").glob("rte.*.record.json"))).to_dict()
    stale = {k: v for k, v in record.items() if k not in ("key", "path")}
    stale["task"] = dict(record["task"], version=0)
    store_record(stale, tmp_path)
    assert main(["aggregate", "glue", "--records", str(tmp_path / "records" / "tiny-old"), "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["scored"] == 0 and "rte: scored under task version 0" in out.err


def test_the_settings_left_out_of_a_key_at_their_defaults_are_evaluations_defaults():
    from dataclasses import asdict

    from harness.inference.formulations import EvalSettings
    from harness.records.store import IMPLIED_SETTINGS

    defaults = json.loads(json.dumps(asdict(EvalSettings())))  # the JSON form a record keeps
    assert {k: defaults[k] for k in IMPLIED_SETTINGS} == IMPLIED_SETTINGS
