"""The recipe table (harness.submissions.compression) and the recipes that implement it agree, and
submission.yaml's `compression:` key is checked against the table."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from harness.recipes import RECIPES
from harness.submissions.compression import RECIPE_SPECS
from harness.submissions.schema import parse_submission


def test_every_recipe_of_the_table_is_implemented_with_its_parameters() -> None:
    assert RECIPES.names() == list(RECIPE_SPECS)
    for name, spec in RECIPE_SPECS.items():
        signature = inspect.signature(RECIPES.get(name))
        keywords = [p for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
        assert [p.name for p in keywords] == [p.name for p in spec.params], name
        for param in keywords:  # required: no default; alternatives: None; optional: a value
            group = next((g for g in spec.one_of if param.name in g), None)
            if group is not None and len(group) == 1:
                assert param.default is inspect.Parameter.empty, (name, param.name)
            elif group is not None:
                assert param.default is None, (name, param.name)
            else:
                assert param.default not in (None, inspect.Parameter.empty), (name, param.name)


def write(folder: Path, compression: object) -> Path:
    (folder / "model").mkdir(parents=True, exist_ok=True)
    doc = {
        "name": "x",
        "team": "t",
        "contact": "a@example.org",
        "methods": ["pruning"],
        "tasks": {"stsb": {"model": "model", "head": "cosine"}},
        "compression": compression,
    }
    (folder / "submission.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("compression", "field", "message"),
    [
        ([{"recipe": "prune-magnitud", "sparsity": 0.5}], "compression[0].recipe", "unknown recipe 'prune-magnitud'"),
        ([{"recipe": "prune-magnitude"}], "compression[0].sparsity", "recipe prune-magnitude needs sparsity"),
        ([{"recipe": "low-rank", "rank": 2, "density": 0.5}], "compression[0].density", "no parameter 'density'"),
        ([{"recipe": "prune-magnitude", "sparsity": "half"}], "compression[0].sparsity", "expected a number"),
        ([{"recipe": "prune-magnitude", "sparsity": 1.5}], "compression[0].sparsity", "<= 1"),
        ([{"recipe": "low-rank", "rank": 2.5}], "compression[0].rank", "expected a whole number"),
        ([{"recipe": "low-rank"}], "compression[0].rank", "exactly one of rank, energy, got none"),
        ([{"recipe": "low-rank", "rank": 2, "energy": 0.9}], "compression[0].rank", "got rank and energy"),
        ([{"sparsity": 0.5}], "compression[0].recipe", "missing (required)"),
        (["prune-magnitude"], "compression[0]", "expected a mapping"),
        ({"recipe": "low-rank"}, "compression", "expected a non-empty list"),
    ],
)
def test_bad_compression_steps_are_named(tmp_path: Path, compression: object, field: str, message: str) -> None:
    sub, problems = parse_submission(write(tmp_path / "sub", compression))
    assert [p.field for p in problems] == [field] and message in problems[0].message, problems
    assert sub is not None and sub.compression == ()


def test_a_good_chain_is_kept_on_the_submission(tmp_path: Path) -> None:
    chain = [{"recipe": "prune-magnitude", "sparsity": 0.5}, {"recipe": "share-layers", "groups": 2}]
    sub, problems = parse_submission(write(tmp_path / "sub", chain))
    assert problems == [] and sub is not None
    assert [s.plain() for s in sub.compression] == chain
