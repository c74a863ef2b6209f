"""The one YAML engine (Problem, Checker, parse_yaml), the one did-you-mean, and UserError's fix field."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from harness.errors import ConfigError, DataNotFound, UserError, closest_match, did_you_mean
from harness.yamlcheck import Checker, Problem, parse_yaml, read_yaml


@pytest.mark.parametrize("cls", [UserError, ConfigError, DataNotFound])
def test_user_error_carries_its_fix_and_prints_message_then_fix(cls: type[UserError]) -> None:
    e = cls("tracks/x.yaml: no such file", fix="pass --tracks DIR")
    assert (e.message, e.fix) == ("tracks/x.yaml: no such file", "pass --tracks DIR")
    assert str(e) == "tracks/x.yaml: no such file; pass --tracks DIR"
    plain = cls("nothing to fix")
    assert (str(plain), plain.message, plain.fix) == ("nothing to fix", "nothing to fix", "")


def test_user_error_keeps_its_fix_through_pickle() -> None:
    # forkpool sends a worker's exception to the parent pickled: the fix must survive the trip
    e = pickle.loads(pickle.dumps(ConfigError("bad key", fix="rename it")))
    assert type(e) is ConfigError and (e.message, e.fix, str(e)) == ("bad key", "rename it", "bad key; rename it")


def test_did_you_mean_names_the_closest_word_else_lists_them() -> None:
    assert did_you_mean("sst-2", ["sst2", "rte"], "known tasks") == "did you mean 'sst2'?"
    assert did_you_mean("zzz", ["sst2", "rte"], "known tasks") == "known tasks: sst2, rte"
    assert did_you_mean("zzz", ["sst2", "rte"]) == ""
    # the cutoff is a parameter: config.json keys are flagged only when very close
    assert closest_match("architecture", ["architectures"], cutoff=0.85) == "architectures"
    assert closest_match("labels", ["id2label"], cutoff=0.85) is None
    assert closest_match("labels", ["id2label"]) == "id2label"


def test_problem_prints_file_field_message_and_fix() -> None:
    assert str(Problem("a.yaml", "tasks.sst2", "unknown key 'x'", "did you mean 'y'?")) == (
        "a.yaml: tasks.sst2: unknown key 'x'; did you mean 'y'?"
    )
    assert str(Problem("a.yaml", "", "empty file")) == "a.yaml: empty file"


def test_parse_yaml_gives_problems_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\na: 2\n", encoding="utf-8")
    data, problems = parse_yaml(path)
    assert data == {"a": 2}
    assert problems == [
        Problem(
            str(path), "line 2", "duplicate key 'a'", "keep one copy of the key: YAML would silently use the last one"
        )
    ]
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    assert info.value.fix.startswith("keep one copy") and info.value.message == f"{path}: line 2: duplicate key 'a'"


def test_checker_collects_problems_with_their_fix() -> None:
    c = Checker("t.yaml")
    assert c.boolean("yes", "allow_pickle", fix="write allow_pickle: false") is None
    assert c.text(3, "name") is None
    c.mapping({"nmae": 1}, "", ("name",))
    assert c.problems == [
        Problem("t.yaml", "allow_pickle", 'expected true or false, got "yes"', "write allow_pickle: false"),
        Problem("t.yaml", "name", "expected text, got 3"),
        Problem("t.yaml", "(top level)", "unknown key 'nmae' (did you mean 'name'?)"),
    ]
    with pytest.raises(ConfigError, match=r"^3 problems in t.yaml:\n  t.yaml: allow_pickle: "):
        c.raise_if_any("t.yaml")


def test_the_submission_dialect_reports_keys_at_their_own_field_and_describes_values() -> None:
    from harness.submissions.schema import SubmissionChecker

    c = SubmissionChecker("s.yaml")
    c.mapping({"haed": 1}, "tasks.sst2", ("model", "head"))
    c.sequence("pruning", "methods", non_empty=True, fix="write a list: methods: [distillation]")
    c.mapping([1], "", fix="write `key: value` lines")
    assert [str(p) for p in c.problems] == [
        "s.yaml: tasks.sst2.haed: unknown key 'haed'; did you mean 'head'?",
        "s.yaml: methods: expected a non-empty list, got text 'pruning'; write a list: methods: [distillation]",
        "s.yaml: expected a mapping, got a list [1]; write `key: value` lines",
    ]


def test_difflib_is_called_in_one_place_only() -> None:
    # one did-you-mean: every unknown-name message goes through harness.errors.closest_match
    root = Path(__file__).resolve().parents[1] / "harness"
    callers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if "get_close_matches" in p.read_text())
    assert callers == ["errors.py"]


def test_unknown_names_carry_the_did_you_mean_as_their_fix() -> None:
    from harness.registry import Registry
    from harness.tracks.definitions import get_track

    with pytest.raises(UserError) as info:
        get_track("glu")
    assert info.value.message == "unknown track 'glu'" and info.value.fix.startswith("did you mean 'glue'? known: ")
    with pytest.raises(UserError) as info:
        get_track("zzzz")
    assert str(info.value).startswith("unknown track 'zzzz'; known: ")  # was "'zzzz' known:", with no separator
    registry: Registry[int] = Registry("backend")
    registry.add("torch", 1)
    with pytest.raises(UserError) as info:
        registry.get("trch", where="submission.yaml")
    assert str(info.value) == "unknown backend 'trch' (submission.yaml); did you mean 'torch'? known: torch"
    assert info.value.fix == "did you mean 'torch'? known: torch"
