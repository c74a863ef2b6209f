"""Folder size: file list and totals, gzip/zstd of the weights so a pruned model's zeros show."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from harness.errors import UserError
from harness.measure.size import measure_size

TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 500,
}


def _save(folder, prune: bool):
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY))
    if prune:
        with torch.no_grad():
            for p in model.parameters():
                p[torch.rand_like(p) < 0.9] = 0.0
    model.save_pretrained(folder)
    return folder


def test_size_of_saved_folder(tmp_path):
    folder = _save(tmp_path / "dense", prune=False)
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("hello")
    result = measure_size(folder)
    names = [f["path"] for f in result.files]
    assert names == sorted(names) and "config.json" in names and "sub/notes.txt" in names
    assert result.total_bytes == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert result.weights_files == ["model.safetensors"]
    assert result.weights_bytes == (folder / "model.safetensors").stat().st_size
    assert 0 < result.weights_zstd_bytes and 0 < result.weights_gzip_bytes <= result.weights_bytes * 1.01
    d = result.to_dict()
    assert d["unit"] == "bytes" and "gzip level 6" in d["method"] and "zstd level 3" in d["method"]


def test_pruned_zeros_show_in_compressed_size(tmp_path):
    dense = measure_size(_save(tmp_path / "dense", prune=False))
    pruned = measure_size(_save(tmp_path / "pruned", prune=True))
    assert pruned.weights_bytes == dense.weights_bytes  # same tensors on disk
    assert pruned.weights_gzip_bytes < 0.5 * dense.weights_gzip_bytes
    assert pruned.weights_zstd_bytes < 0.5 * dense.weights_zstd_bytes


def test_no_compression_and_missing_folder(tmp_path):
    result = measure_size(_save(tmp_path / "m", prune=False), compress=False)
    assert result.weights_gzip_bytes is None and result.weights_zstd_bytes is None
    with pytest.raises(UserError, match="not a folder"):
        measure_size(tmp_path / "absent")
