"""A track's OOD label maps onto the robustness sets (issue 15): one to one (QQP onto PAWS), many to one (MNLI onto
HANS, as McCoy et al. 2019 score MNLI models), refused when a target label is unreached or a source label is named
twice or left out; the robustness sets may be a track's own tasks, and no shipped track declares them."""

from pathlib import Path

import pytest
from board_records import HEAD, write_track

from harness.errors import ConfigError
from harness.tasks import get_task
from harness.tracks.definitions import OodPair, get_track, load_track, track_files

MNLI_TRACK = HEAD + (
    "tasks:\n  - {task: mnli_matched, split: validation_matched}\n  - {task: qqp, split: validation}\n"
    "  - {task: sst2, split: validation}\nscore: {rule: mean}\nranking: {by: score}\n"
)
ON_HANS = "{entailment: entailment, neutral: non-entailment, contradiction: non-entailment}"


def _ood(tmp_path: Path, pairs: str):
    return load_track(write_track(tmp_path, "ood", MNLI_TRACK + "ood:\n" + pairs)).ood


def _error(tmp_path: Path, pairs: str) -> str:
    path = write_track(tmp_path, "bad", MNLI_TRACK + "ood:\n" + pairs)
    with pytest.raises(ConfigError) as info:
        load_track(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_mnli_maps_onto_hans_many_to_one_and_qqp_onto_paws_one_to_one(tmp_path):
    ood = _ood(
        tmp_path,
        f"  - {{task: mnli_matched, on: hans, labels: {ON_HANS}}}\n"
        "  - {task: qqp, on: paws, labels: {not_duplicate: not_paraphrase, duplicate: paraphrase}}\n"
        "  - {task: sst2, on: adv_sst2}\n",  # AdvGLUE keeps GLUE's label names: the default map
    )
    assert ood == (
        OodPair(
            "mnli_matched",
            "hans",
            {"entailment": "entailment", "neutral": "non-entailment", "contradiction": "non-entailment"},
        ),
        OodPair("qqp", "paws", {"not_duplicate": "not_paraphrase", "duplicate": "paraphrase"}),
        OodPair("sst2", "adv_sst2", {"negative": "negative", "positive": "positive"}),
    )
    assert get_task("hans").labels == ("entailment", "non-entailment")  # the names the map uses


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        (
            "  - {task: mnli_matched, on: hans, labels: {entailment: non-entailment, neutral: non-entailment, "
            "contradiction: non-entailment}}\n",
            "ood[0].labels: no source label is mapped onto entailment: every label of the target (entailment, "
            "non-entailment) must be reached",
        ),
        (
            "  - {task: mnli_matched, on: hans, labels: {entailment: entailment, neutral: non-entailment, "
            "neutral: entailment, contradiction: non-entailment}}\n",
            "duplicate key 'neutral'",
        ),
        (
            "  - {task: mnli_matched, on: hans, labels: {entailment: entailment, neutral: non-entailment}}\n",
            "ood[0].labels: expected each of entailment, neutral, contradiction once, mapped to a label",
        ),
        (
            "  - {task: mnli_matched, on: hans, labels: {entailment: entailment, neutral: non_entailment, "
            "contradiction: non-entailment}}\n",
            "ood[0].labels: neutral: non_entailment: not a label of the target (entailment, non-entailment)",
        ),
        (
            "  - {task: mnli_matched, on: hans}\n",
            "ood[0].labels: missing: the labels ['entailment', 'neutral', 'contradiction'] and ['entailment', "
            "'non-entailment'] differ",
        ),
        (  # two labels cannot reach three
            "  - {task: sst2, on: adv_mnli, labels: {negative: contradiction, positive: entailment}}\n",
            "ood[0].labels: the source's 2 labels (negative, positive) cannot reach the target's 3 (entailment, "
            "neutral, contradiction)",
        ),
    ],
)
def test_a_bad_map_is_refused_naming_the_pair(tmp_path, pairs, expected):
    assert expected in _error(tmp_path, pairs)


def test_the_fix_shows_a_many_to_one_map_with_the_tasks_own_labels(tmp_path):
    message = _error(tmp_path, "  - {task: mnli_matched, on: hans}\n")
    assert "labels: {entailment: entailment, neutral: non-entailment, contradiction: non-entailment}" in message


def test_a_track_may_score_a_robustness_set_itself(tmp_path):
    text = HEAD + "tasks:\n  - {task: hans, split: validation}\n  - {task: adv_rte, split: validation}\n"
    track = load_track(write_track(tmp_path, "hans", text + "score: {rule: mean}\nranking: {by: score}\n"))
    assert track.task_names() == ["hans", "adv_rte"]


def test_no_shipped_track_declares_a_hub_only_set():
    """The mirror has none of them: a shipped pair would write a failed record on every run with a data dir."""
    for name in track_files():
        track = get_track(name)
        used = [*track.task_names(), *(pair.on for pair in track.ood)]
        assert not [t for t in used if get_task(t).benchmark == "robustness"], name
