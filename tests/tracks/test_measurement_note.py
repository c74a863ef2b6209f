"""A track may state how its measurement settings depart from the usual (the demo cuts the latency budget): the
note is kept in each record's track_run, and the track's page shows it; a track without one changes nothing."""

from board_records import HEAD, record, write_track

from harness.tracks.definitions import load_track

TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
    "measurement: {measure: [params], latency_budget_s: 2, note: latency budget cut for the demo}\n"
)
PLAIN = HEAD + "tasks:\n  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"


def test_note_is_kept_in_the_settings_records_hold(tmp_path):
    track = load_track(write_track(tmp_path, "noted", TRACK))
    assert track.measurement.note == "latency budget cut for the demo"
    assert track.measurement.plain()["note"] == "latency budget cut for the demo"


def test_a_track_without_a_note_keeps_the_settings_records_already_hold(tmp_path):
    plain = load_track(write_track(tmp_path, "plain", PLAIN)).measurement.plain()
    assert "note" not in plain  # records written before notes existed still match their track's settings


def test_a_note_must_be_text(tmp_path):
    import pytest

    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="measurement.note"):
        load_track(write_track(tmp_path, "bad", TRACK.replace("note: latency budget cut for the demo", "note: [1]")))


def test_the_track_page_shows_the_note(tmp_path):
    from harness.publish.site.build import build_site
    from harness.scoring.rank import rank

    track = load_track(write_track(tmp_path, "noted", TRACK))
    rec = record("a", "sst2", {"accuracy": 0.9}, 0.9, params=10)
    board = rank([rec], track)
    pages = build_site([board], [rec], {})
    page = next(text for path, text in pages.items() if "noted" in str(path) and str(path).endswith(".html"))
    assert "latency budget cut for the demo" in page


def test_a_board_can_show_the_weights_after_zstd(tmp_path):
    """The demo's pruned model saves nothing in raw bytes: the zstd column shows what its zeros save."""
    from harness.scoring.rank import rank

    text = TRACK.replace("measure: [params]", "measure: [params, size]") + "columns: [size_bytes, weights_zstd_bytes]\n"
    track = load_track(write_track(tmp_path, "zstd", text))
    from harness.tracks.columns import EFFICIENCY

    board = rank([record("a", "sst2", {"accuracy": 0.9}, 0.9, params=10)], track)
    assert "weights_zstd_bytes" in {c.id for c in board.columns}
    column = EFFICIENCY["weights_zstd_bytes"]
    assert (column.measurement, column.field, column.unit) == ("size", "weights_zstd_bytes", "bytes")
