"""Helpers the training tests share: a submission around a tiny model, and a CLI refusal of a bad flag value."""

from pathlib import Path

import pytest
from conftest import save_tiny_bert

from harness.cli import main


def tiny_submission(folder: Path, tasks: str, methods: str = "[pruning]", model: str = "model", **config) -> Path:
    """A submission folder holding a tiny BERT (cosine head) at `model`, whose yaml declares `tasks` (yaml text
    of the tasks mapping's entries) and `methods`, plus any other top-level keys in `config`'s `extra`."""
    extra = config.pop("extra", "")
    save_tiny_bert(folder / model, head=config.pop("head", "cosine"), **config)
    (folder / "submission.yaml").write_text(
        f"name: {folder.name}\nteam: t\ncontact: a@example.org\nmethods: {methods}\n{extra}tasks:\n{tasks}",
        encoding="utf-8",
    )
    return folder


def refuses_flag(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`harness argv` exits 2 before doing anything, naming the flag `named`."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert named in capsys.readouterr().err
