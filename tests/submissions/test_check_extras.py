"""`harness check` catches what today only fails at evaluation: a tokenizer larger than the embedding table, too few
position embeddings, a forward pass that fails (or gives NaN) on a real example, a config over the parameter ceiling
under --no-load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import save_tiny_bert

from harness.submissions import SUBMISSION_FILE, check_submission

WIDE = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256)


def submission(root: Path, tasks: tuple[str, ...] = ("sst2",), **config) -> Path:
    """A one-model submission for `tasks` (two-label classification) with a 2-layer 128-wide BERT."""
    folder = root / "sub"
    save_tiny_bert(folder / "model", **{**WIDE, **config})
    data = {
        "name": "Tiny BERT",
        "team": "Test Lab",
        "contact": "someone@example.org",
        "methods": ["distillation"],
        "tasks": {t: {"model": "model"} for t in tasks},
    }
    (folder / SUBMISSION_FILE).write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder


def edit_config(folder: Path, **changes) -> None:
    """Set keys of the submission's model/config.json."""
    path = folder / "model" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}), encoding="utf-8")


@pytest.mark.usefixtures("mirror")
def test_a_good_submission_has_no_problems(tmp_path: Path) -> None:
    assert check_submission(submission(tmp_path, ("sst2", "rte", "mrpc"))) == []


@pytest.mark.usefixtures("mirror")
def test_tokenizer_larger_than_the_embedding_table(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    folder = submission(tmp_path)
    tok = AutoTokenizer.from_pretrained(folder / "model")
    tok.add_tokens([f"extra{i}" for i in range(78)])
    tok.save_pretrained(folder / "model")
    assert len(tok) == 30_600
    [problem] = check_submission(folder)
    assert problem.file.startswith(str(folder / "model" / "tokenizer"))
    assert "30,600 tokens" in problem.message and "vocab_size 30,522" in problem.message
    assert "30,521" in problem.message and "embedding" in problem.message
    assert "resize the embeddings" in problem.fix


@pytest.mark.usefixtures("mirror")
def test_too_few_position_embeddings_for_the_evaluation_length(tmp_path: Path) -> None:
    from harness.inference.formulations import EvalSettings
    from harness.tasks import get_task

    length = EvalSettings().length_for(get_task("sst2"))
    assert length == 128
    folder = submission(tmp_path, max_position_embeddings=64)
    [problem] = check_submission(folder)
    assert problem.file == str(folder / "model" / "config.json")
    assert "max_position_embeddings 64" in problem.message and "128" in problem.message
    assert "sst2" in problem.message and "max_position_embeddings" in problem.fix


@pytest.mark.usefixtures("mirror")
def test_forward_that_fails_on_the_first_real_row_names_the_task(tmp_path: Path) -> None:
    # one token type: the first RTE row is a sentence pair, whose second sentence has token_type_ids 1
    folder = submission(tmp_path, ("sst2", "rte"), type_vocab_size=1)
    problems = check_submission(folder)
    assert [p.field for p in problems] == ["tasks.rte"], problems  # sst2 (single sentences) runs
    [problem] = problems
    assert problem.file == str(folder / "model")
    assert "rte" in problem.message and "IndexError" in problem.message and len(problem.message) < 600
    assert "harness evaluate" in problem.fix


@pytest.mark.usefixtures("mirror")
def test_nan_weights_are_a_failed_forward(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = submission(tmp_path)
    weights = folder / "model" / "model.safetensors"
    tensors = load_file(weights)
    tensors["classifier.weight"][0, 0] = float("nan")
    save_file(tensors, weights, metadata={"format": "pt"})
    [problem] = check_submission(folder)
    assert problem.field == "tasks.sst2" and "sst2" in problem.message
    assert "non-finite" in problem.message


@pytest.mark.usefixtures("mirror")
def test_no_data_for_the_task_skips_the_forward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    folder = submission(tmp_path, type_vocab_size=1, tasks=("rte",))
    assert check_submission(folder) == []


NO_LOAD = """
import sys, time
from harness.cli import main
t0 = time.perf_counter()
rc = main(["check", "--no-load", sys.argv[1]])
print("rc", rc, "seconds", time.perf_counter() - t0, "torch", "torch" in sys.modules)
"""


def check_no_load(folder: Path) -> tuple[int, float, bool, str]:
    """`harness check --no-load folder` in a fresh interpreter: exit status, seconds, whether torch was imported,
    the output."""
    out = subprocess.run([sys.executable, "-c", NO_LOAD, str(folder)], capture_output=True, text=True, check=True)
    *lines, last = out.stdout.splitlines()
    _, rc, _, seconds, _, torch = last.split()
    return int(rc), float(seconds), torch == "True", "\n".join(lines)


@pytest.mark.usefixtures("mirror")
def test_no_load_refuses_a_config_over_the_parameter_ceiling_fast_without_torch(tmp_path: Path) -> None:
    from harness.backends.base import MAX_MODEL_PARAMS

    folder = submission(tmp_path)
    edit_config(folder, vocab_size=10**9)
    rc, seconds, torch, output = check_no_load(folder)
    assert rc == 1 and not torch and seconds < 1, output
    [line] = [x for x in output.splitlines() if "ceiling" in x]
    assert str(folder / "model" / "config.json") in line and "estimate" in line
    assert "128,0" in line and f"{MAX_MODEL_PARAMS:,}" in line  # 10^9 x 128 embedding parameters, at least
    assert "vocab_size" in line


@pytest.mark.parametrize("value", ["big", -5, 30522.5, None, True])
@pytest.mark.usefixtures("mirror")
def test_no_load_names_a_config_field_that_is_no_size(tmp_path: Path, value: object) -> None:
    folder = submission(tmp_path)
    edit_config(folder, hidden_size=value)
    rc, _, torch, output = check_no_load(folder)
    assert rc == 1 and not torch, output
    [line] = [x for x in output.splitlines() if "hidden_size" in x]
    assert str(folder / "model" / "config.json") in line and "whole number" in line


@pytest.mark.usefixtures("mirror")
def test_no_load_passes_a_good_config_and_skips_unknown_model_types(tmp_path: Path) -> None:
    folder = submission(tmp_path)
    assert check_no_load(folder)[0] == 0
    edit_config(folder, model_type="somethingnew", vocab_size=10**9)
    assert check_no_load(folder)[0] == 0  # no estimate: the load path's meta-device count covers it


def test_estimate_matches_the_built_model_from_below() -> None:
    import transformers

    from harness.submissions.config_size import implied_parameters

    config = transformers.BertConfig(vocab_size=1000, **WIDE)
    built = sum(p.numel() for p in transformers.BertForSequenceClassification(config).parameters())
    estimate = implied_parameters(config.to_dict())
    assert estimate is not None and 0.95 * built <= estimate <= built
