"""`harness compress`: options typed and checked, each parameter given to the recipe before it, a bad option
naming the flag and the fix, and a written folder that `harness check` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from recipes.recipe_helpers import write_base

from harness.cli import main
from harness.submissions import load_submission


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    return write_base(tmp_path_factory.mktemp("base") / "tiny-base")


def test_compress_writes_a_checked_chain(base: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "new"
    argv = [str(base), "-o", str(out), "--recipe", "prune-magnitude", "--sparsity", "0.5", "--then", "low-rank"]
    assert main(["compress", *argv, "--rank", "4"]) == 0
    assert "valid (harness check)" in capsys.readouterr().out
    chain = [s.plain() for s in load_submission(out).compression]
    assert chain == [{"recipe": "prune-magnitude", "sparsity": 0.5}, {"recipe": "low-rank", "rank": 4}]
    assert main(["compress", str(base), "-o", str(out), "--recipe", "drop-layers", "--every", "2"]) == 2
    assert "exists already; choose a new folder, or pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sparsity", "0.5", "--recipe", "prune-magnitude"], "--sparsity: comes after the --recipe or --then"),
        (["--recipe", "quantize-dynamic-int8", "--sparsity", "0.5"], "put it after --recipe/--then prune-magnitude"),
        (["--recipe", "prune-magnitude", "--sparsity", "lots"], "--sparsity lots: expected a number"),
        (["--recipe", "prune-magnitude", "--sparsity", "2"], "--sparsity 2: expected a number >= 0 and <= 1"),
        (["--recipe", "low-rank", "--rank", "2.5"], "--rank 2.5: expected a whole number"),
        (["--recipe", "squash"], "--recipe squash: unknown recipe"),
        (["--then", "low-rank"], "--then: comes after --recipe NAME"),
    ],
)
def test_bad_options_name_the_flag(base: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["compress", str(base), "-o", str(tmp_path / "x"), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_missing_alternative_names_both_flags(base: Path, tmp_path: Path, capsys) -> None:
    assert main(["compress", str(base), "-o", str(tmp_path / "x"), "--recipe", "low-rank"]) == 2
    err = capsys.readouterr().err
    assert "--recipe low-rank: --rank: recipe low-rank takes exactly one of rank, energy, got none" in err
