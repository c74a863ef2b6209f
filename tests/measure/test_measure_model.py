"""measure_model and the `harness measure` command: one JSON-able dict, light imports, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import save_tiny_bert

from harness.backends.torch_hf import wrap
from harness.commands import measure as measure_command
from harness.errors import UserError
from harness.measure import MEASUREMENTS, load_measurement, measure_model

FAST = {
    "latency": {"budget_s": 2.0, "round_s": 0.05, "tolerance": 0.1},
    "energy": {"min_seconds": 0.2},
    "flops": {"cross_check": False},
}


def test_import_is_light():
    code = "import sys, harness.measure; print('torch' in sys.modules or 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_entries_resolve():
    for name in MEASUREMENTS:
        assert callable(load_measurement(name))
    with pytest.raises(UserError, match="unknown measurement"):
        load_measurement("speed")


def test_measure_model_all(tmp_path):
    from transformers import BertModel

    folder = save_tiny_bert(tmp_path / "m", head="cosine")
    model = wrap(BertModel.from_pretrained(folder))
    result = measure_model(model, folder=str(folder), reference_length=16, token_lengths=[5, 9, 12], options=FAST)
    assert set(result) == set(MEASUREMENTS) - {"system_size"}  # a submission folder's: none given
    json.dumps(result, allow_nan=False)
    assert result["flops"]["counted"] and result["flops"]["mean_flops"] < result["flops"]["flops"]
    assert result["latency"]["throughput_examples"] == 3
    assert result["energy"]["label"] in ("measured", "estimated")
    assert result["size"]["weights_files"] == ["model.safetensors"]


def test_measure_model_named_and_size_needs_folder():
    from transformers import BertConfig, BertModel

    model = wrap(
        BertModel(
            BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=100)
        )
    )
    assert set(measure_model(model, which=["params", "environment"])) == {"params", "environment"}
    with pytest.raises(UserError, match="folder"):
        measure_model(model, which=["size"])
    with pytest.raises(UserError, match="submission"):
        measure_model(model, which=["system_size"])


def test_measure_model_counts_a_meta_model_without_running_it():
    import torch
    from transformers import BertConfig, BertModel

    with torch.device("meta"):
        model = BertModel(BertConfig())
    result = measure_model(
        wrap(model), which=["params", "flops"], token_lengths=[16, 32], options={"flops": {"cross_check": False}}
    )
    assert result["params"]["total_params"] > 100e6 and result["flops"]["mean_flops"] > 0


def _run(capsys, *argv):
    import argparse

    parser = argparse.ArgumentParser()
    measure_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["measure", *argv])
    code = args.func(args)
    return code, capsys.readouterr().out


def test_cli_json_on_submission_like_folder(tmp_path, capsys):
    save_tiny_bert(tmp_path / "sub" / "model")
    code, out = _run(capsys, str(tmp_path / "sub"), "--json", "--reference-length", "16", "--time-budget", "2")
    assert code == 0
    result = json.loads(out)
    assert result["model_folder"].endswith("model")
    assert {"params", "size", "flops", "latency", "environment"} <= set(result)
    assert result["latency"]["threads"] == 1


def test_cli_table_and_errors(tmp_path, capsys):
    folder = save_tiny_bert(tmp_path / "m")
    code, out = _run(capsys, str(folder), "--reference-length", "8", "--time-budget", "1")
    assert code == 0 and "FLOPs" in out and "p50" in out
    with pytest.raises(UserError, match="no such folder"):
        _run(capsys, str(tmp_path / "empty_does_not_exist"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        _run(capsys, str(tmp_path / "empty"))


def test_cli_speedup_over_a_reference_model(tmp_path, capsys):
    small = save_tiny_bert(tmp_path / "small")
    big = save_tiny_bert(tmp_path / "big", num_hidden_layers=6)
    code, out = _run(
        capsys, str(small), "--reference", str(big), "--json", "--reference-length", "16", "--time-budget", "2"
    )
    up = json.loads(out)["speedup"]
    assert code == 0 and up["reference_folder"] == str(big) and up["reference_length"] == 16
    assert up["speedup"] == up["reference"]["p50_ms"] / up["candidate"]["p50_ms"] > 1.0  # a third of the layers
    assert "interleaved" in up["method"] and up["unit"] == "x (ratio)"
    code, out = _run(capsys, str(small), "--reference", str(big), "--reference-length", "16", "--time-budget", "1")
    assert "speed-up" in out and f"over {big}" in out
    with pytest.raises(UserError, match="no such folder"):
        _run(capsys, str(small), "--reference", str(tmp_path / "missing"), "--time-budget", "1")


def test_cli_task_lengths(tmp_path, capsys, mirror):
    folder = save_tiny_bert(tmp_path / "m")
    code, out = _run(
        capsys,
        str(folder),
        "--task",
        "sst2",
        "--data-dir",
        str(mirror),
        "--limit",
        "20",
        "--json",
        "--reference-length",
        "16",
        "--time-budget",
        "1",
    )
    result = json.loads(out)
    assert code == 0 and sum(result["flops"]["token_length_counts"].values()) == 20
    assert result["flops"]["mean_flops"] > 0
