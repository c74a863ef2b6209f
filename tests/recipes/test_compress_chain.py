"""Recipes compose: `--then` chains and compressing a compressed submission record the whole chain in order, in
submission.yaml and compressed.json; combinations that cannot work are refused naming the recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from recipe_helpers import LAYERS, compressed, layer_params, module, params, step, write_base
from safetensors.torch import load_file

from harness.backends.torch_compressed import COMPRESSED_FILE
from harness.errors import UserError
from harness.submissions import check_submission, load_submission
from harness.submissions.compression import CompressionStep


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    return write_base(tmp_path_factory.mktemp("base") / "tiny-base")


def chain(folder: Path) -> list[tuple[str, dict]]:
    return [(s.recipe, dict(s.params)) for s in load_submission(folder).compression]


def test_then_records_the_chain_in_order(base: Path, tmp_path: Path) -> None:
    folder = compressed(
        base, tmp_path / "sparse-int8", step("prune-magnitude", sparsity=0.5), step("quantize-dynamic-int8")
    )
    assert check_submission(folder) == []
    sub = load_submission(folder)
    assert chain(folder) == [("prune-magnitude", {"sparsity": 0.5}), ("quantize-dynamic-int8", {})]
    assert sub.methods == ("pruning", "quantization") and sub.base_model == "tiny-base"
    assert "1. prune-magnitude (sparsity 0.5)" in sub.description and "2. quantize-dynamic-int8" in sub.description
    doc = json.loads((folder / "model" / COMPRESSED_FILE).read_text())
    assert [s["recipe"] for s in doc["recipes"]] == ["prune-magnitude", "quantize-dynamic-int8"]
    int8 = load_file(str(folder / "model" / "model.safetensors"))["encoder.layer.0.intermediate.dense.weight_int8"]
    assert abs(float((int8 == 0).float().mean()) - 0.5) < 0.05  # the zeros survive quantization (zero point 0)


def test_compressing_a_compressed_submission_continues_its_chain(base: Path, tmp_path: Path) -> None:
    first = compressed(base, tmp_path / "rank4", step("low-rank", rank=4))
    second = compressed(first, tmp_path / "rank4-int8", step("quantize-dynamic-int8"))
    assert check_submission(second) == []
    assert chain(second) == [("low-rank", {"rank": 4}), ("quantize-dynamic-int8", {})]
    assert load_submission(second).base_model == "tiny-base"  # what was compressed first
    doc = json.loads((second / "model" / COMPRESSED_FILE).read_text())
    assert [t["type"] for t in doc["transforms"]] == ["low_rank", "quantize_dynamic_int8"]
    assert params(second / "model")["total_params"] == params(first / "model")["total_params"]


def test_share_then_int8_keeps_one_module_per_group(base: Path, tmp_path: Path) -> None:
    folder = compressed(base, tmp_path / "share-int8", step("share-layers", groups=2), step("quantize-dynamic-int8"))
    assert check_submission(folder) == []
    layers = module(folder / "model").encoder.layer
    assert layers[0] is layers[1] and layers[2] is layers[3] and layers[0] is not layers[2]
    shared = (LAYERS - 2) * layer_params()
    assert params(folder / "model")["total_params"] == params(base / "model")["total_params"] - shared


def test_drop_then_prune_heads_on_a_classifier_submission(tmp_path: Path, mirror: Path) -> None:
    from harness.testing.tiny import write_tiny_submission

    base = write_tiny_submission(tmp_path / "tiny-rte", ["rte"], mirror / "vocab/bert-base-uncased-vocab.txt")
    folder = compressed(base, tmp_path / "rte-small", step("drop-layers", keep_first=1), step("prune-heads", heads=1))
    assert check_submission(folder) == []
    loaded = module(folder / "sequence_classification-2", "sequence_classification")
    assert len(loaded.bert.encoder.layer) == 1 and loaded.bert.encoder.layer[0].attention.self.query.out_features == 16
    with torch.no_grad():
        assert loaded(input_ids=torch.tensor([[101, 2000, 102]])).logits.shape == (1, 2)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([step("quantize-dynamic-int8"), step("low-rank", rank=2)], "--recipe low-rank: the encoder has no float"),
        ([step("quantize-dynamic-int8"), step("quantize-dynamic-int8")], "int8 already"),
        ([step("share-layers"), step("drop-layers", keep_first=1)], "--recipe drop-layers: it renumbers layers"),
        ([step("low-rank", rank=2), step("prune-heads", heads=1)], "--recipe prune-heads: .* not a float nn.Linear"),
        ([step("low-rank", rank=2), step("share-layers")], "--recipe share-layers: it averages"),
        ([step("prune-magnitude", sparsity=0.5), step("share-layers")], "share-layers: averaging .* prune-magnitude"),
        ([step("prune-heads", heads=LAYERS * 4)], "--heads 16: 16 heads in 4 layers; remove between 1 and 12"),
        ([step("drop-layers", keep_first=LAYERS)], "--keep-first 4 keeps 4 of 4 layers"),
        ([step("share-layers", groups=LAYERS)], "--groups 4: the encoder has 4 layers"),
        ([step("low-rank", rank=32)], "the rank shrinks no encoder Linear"),
        ([step("quantize-dynamic-int8-onnx"), step("low-rank", rank=2)], "--recipe low-rank: it comes after a recipe"),
        ([step("quantize-dynamic-int8"), step("quantize-dynamic-int8-onnx")], "int8 already, which the ONNX export"),
    ],
)
def test_refused_combinations_name_the_recipe(base: Path, tmp_path: Path, steps, message: str) -> None:
    with pytest.raises(UserError, match=message):
        compressed(base, tmp_path / "refused", *steps)
    assert not (tmp_path / "refused").exists() and not list(tmp_path.glob(".refused*"))


def test_output_is_never_overwritten_silently(base: Path, tmp_path: Path) -> None:
    out = tmp_path / "once"
    compressed(base, out, step("drop-layers", keep_first=2))
    with pytest.raises(UserError, match="exists already") as err:
        compressed(base, out, step("drop-layers", keep_first=3))
    assert "--force" in err.value.fix
    compressed(base, out, step("drop-layers", keep_first=3), force=True)
    assert load_submission(out).compression == (CompressionStep("drop-layers", (("keep_first", 3),)),)


def test_a_bare_model_folder_needs_its_task(base: Path, tmp_path: Path) -> None:
    from harness.recipes.pipeline import Meta

    with pytest.raises(UserError, match="--task: .* bare model folder"):
        compressed(base / "model", tmp_path / "bare", step("prune-magnitude", sparsity=0.25))
    with pytest.raises(UserError, match="--contact"):
        compressed(base / "model", tmp_path / "bare", step("prune-magnitude", sparsity=0.25), task="stsb")
    meta = Meta(team="lab", contact="a@example.org")
    folder = compressed(
        base / "model", tmp_path / "bare", step("prune-magnitude", sparsity=0.25), task="stsb", meta=meta
    )
    assert check_submission(folder) == []
    assert load_submission(folder).tasks["stsb"].head == "cosine"  # the head the folder was saved with


def test_share_layers_after_a_pruned_base_is_refused(base: Path, tmp_path: Path) -> None:
    sparse = compressed(base, tmp_path / "sparse", step("prune-magnitude", sparsity=0.5))
    with pytest.raises(UserError, match="averaging layers would undo prune-magnitude's zeros"):
        compressed(sparse, tmp_path / "shared", step("share-layers"))


def test_a_bare_compressed_folder_keeps_its_chain_and_base_model(base: Path, tmp_path: Path) -> None:
    from harness.recipes.pipeline import Meta

    first = compressed(base, tmp_path / "rank4", step("low-rank", rank=4)) / "model"
    meta = Meta(team="lab", contact="a@example.org")
    second = compressed(first, tmp_path / "int8", step("quantize-dynamic-int8"), task="stsb", meta=meta)
    assert check_submission(second) == []
    assert load_submission(second).base_model == "tiny-base"  # not the folder's name, "model"
    assert chain(second) == [("low-rank", {"rank": 4}), ("quantize-dynamic-int8", {})]
    assert json.loads((second / "model" / COMPRESSED_FILE).read_text())["base_model"] == "tiny-base"


@pytest.mark.parametrize(
    ("recipes", "message"),
    [
        ([{"recipe": "low-rank", "rank": 4, "evil": 1}], r"recipes\[0\]\.evil: recipe low-rank takes no parameter"),
        ([{"recipe": "low-rank", "rank": "four"}], r"recipes\[0\]\.rank: expected a whole number"),
        ([{"recipe": "squash"}], r"recipes\[0\]\.recipe: unknown recipe 'squash'"),
        ([{"rank": 4}], "recipes: expected a list of"),
    ],
)
def test_a_bare_folder_chain_is_checked(base: Path, tmp_path: Path, recipes: list, message: str) -> None:
    import shutil

    first = compressed(base, tmp_path / "rank4", step("low-rank", rank=4))
    folder = Path(shutil.copytree(first / "model", tmp_path / "model"))
    doc = json.loads((folder / COMPRESSED_FILE).read_text())
    (folder / COMPRESSED_FILE).write_text(json.dumps({**doc, "recipes": recipes}))
    with pytest.raises(UserError, match=message):
        compressed(folder, tmp_path / "out", step("quantize-dynamic-int8"), task="stsb")
