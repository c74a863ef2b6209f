"""The torch backend's reader of declaratively compressed folders (compressed.json + model.safetensors): it refuses
unknown formats, versions and transforms, and any tensor missing or left over, naming the file and the field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from recipes.recipe_helpers import write_base
from safetensors.torch import load_file, save_file

from harness.backends import load_model
from harness.backends.torch_compressed import COMPRESSED_FILE, WEIGHTS_FILE, tensor_slots, write_compressed
from harness.errors import UserError
from harness.recipes.pipeline import compress
from harness.submissions.compression import make_step


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    """A low-rank then int8 model folder: both declarative transforms at once."""
    root = tmp_path_factory.mktemp("compressed")
    steps = [make_step("low-rank", {"rank": 4}), make_step("quantize-dynamic-int8", {})]
    compress(write_base(root / "base"), root / "out", steps)
    return root / "out" / "model"


@pytest.fixture(scope="module")
def others(folder: Path) -> dict[str, Path]:
    """Model folders of the other declarative transforms: shared layers and pruned heads."""
    root = folder.parent.parent
    for name, recipe, params in (("share", "share-layers", {"groups": 2}), ("heads", "prune-heads", {"heads": 5})):
        compress(root / "base", root / name, [make_step(recipe, params)])
    return {"int8": folder, "share": root / "share" / "model", "heads": root / "heads" / "model"}


@pytest.fixture
def copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "model"))


def first_heads(d: dict) -> dict:
    return next(iter(d["transforms"][0]["layers"].values()))


def edit_doc(folder: Path, change) -> None:
    doc = json.loads((folder / COMPRESSED_FILE).read_text())
    change(doc)
    (folder / COMPRESSED_FILE).write_text(json.dumps(doc))


def test_low_rank_then_int8_loads_with_int8_factors(folder: Path) -> None:
    module = load_model(folder, "cosine").module
    pair = module.get_submodule("encoder.layer.0.attention.self.query")
    assert isinstance(pair, torch.nn.Sequential)
    assert all(type(p).__name__ == "Linear" and "quantized" in type(p).__module__ for p in pair)
    assert set(load_file(str(folder / WEIGHTS_FILE))) == set(tensor_slots(module))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["transforms"].append({"type": "sparsify", "layers": {}}), r"transforms\[2\]\.type: unknown"),
        (lambda d: d.update(format="onnx-thing"), "format: expected 'harness-compressed'"),
        (lambda d: d.update(version=2), "version: this harness reads version 1"),
        (lambda d: d.update(architecture="os"), "architecture: 'os' is no transformers model class"),
        (lambda d: d["transforms"][0]["layers"].update({"encoder.nothing": 2}), r"transforms\[0\]\.layers: no module"),
        (lambda d: d["transforms"][1].update(qscheme="per_block"), r"transforms\[1\]\.qscheme: expected one of"),
    ],
)
def test_refuses_bad_documents_naming_file_and_field(copy: Path, change, field: str) -> None:
    edit_doc(copy, change)
    with pytest.raises(UserError, match=field) as err:
        load_model(copy, "cosine")
    assert str(copy / COMPRESSED_FILE) in err.value.message and "harness compress" in err.value.fix


def test_refuses_a_missing_or_an_unused_tensor(copy: Path) -> None:
    tensors = load_file(str(copy / WEIGHTS_FILE))
    gone = tensors.pop("encoder.layer.1.output.dense.1.weight_int8")
    save_file(tensors, str(copy / WEIGHTS_FILE))
    with pytest.raises(UserError, match="missing encoder.layer.1.output.dense.1.weight_int8") as err:
        load_model(copy, "cosine")
    assert str(copy / WEIGHTS_FILE) in err.value.message
    save_file(
        {**tensors, "encoder.layer.1.output.dense.1.weight_int8": gone, "extra.weight": gone.clone()},
        str(copy / WEIGHTS_FILE),
    )
    with pytest.raises(UserError, match="not used by the model extra.weight"):
        load_model(copy, "cosine")


def test_refuses_int8_scales_that_are_not_one_per_output_channel(copy: Path) -> None:
    tensors = load_file(str(copy / WEIGHTS_FILE))
    name = "encoder.layer.1.output.dense.1.weight_scale"
    tensors[name] = tensors[name][:-1].clone()
    save_file(tensors, str(copy / WEIGHTS_FILE))
    with pytest.raises(UserError, match=f"{name}: shape") as err:
        load_model(copy, "cosine")
    assert str(copy / WEIGHTS_FILE) in err.value.message


def test_reads_the_per_tensor_int8_layout_of_older_folders(tmp_path: Path, mirror: Path) -> None:
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    base = write_base(tmp_path / "base")
    compress(base, tmp_path / "out", [make_step("quantize-dynamic-int8", {})])
    folder = tmp_path / "out" / "model"
    doc = json.loads((folder / COMPRESSED_FILE).read_text())
    old = load_model(base / "model", "cosine").module  # quantized as the recipe once did: one scale per tensor
    quantize_dynamic(old, {torch.nn.Linear: default_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    transform = {**doc["transforms"][0], "qscheme": "per_tensor_affine"}
    write_compressed(old, folder, [transform], doc["recipes"], doc["base_model"])
    stored = load_file(str(folder / WEIGHTS_FILE))
    assert stored["pooler.dense.weight_scale"].dim() == 0 and "pooler.dense.weight_axis" not in stored
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        got = load_model(folder, "cosine").module(input_ids=ids).last_hidden_state
        torch.testing.assert_close(got, old(input_ids=ids).last_hidden_state, rtol=0, atol=0)


def test_refuses_a_head_the_architecture_does_not_have(copy: Path) -> None:
    with pytest.raises(UserError, match="a BertModel loads as head 'cosine', not 'sequence_classification'"):
        load_model(copy, "sequence_classification")


QUERY = "encoder.layer.0.attention.self.query"
# (source folder, edit of compressed.json, the field and message expected): a stranger's document, refused as a
# UserError before anything is allocated from what it declares
ADVERSARIAL_DOCUMENTS = [
    ("share", lambda d: d["transforms"][0]["layers"].update({"encoder.layer.0": "encoder"}), "different types"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"encoder.layer.0": "encoder.layer.0"}), "with itself"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"encoder.layer.1": ""}), "expected the name"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"": "encoder.layer.0"}), "a mapping of module names"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"base_model": "encoder.layer.0"}), "a property"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"encoder.layer.1": 0}), "expected the name"),
    ("share", lambda d: d["transforms"][0]["layers"].update({"encoder.layer.0.attention": "encoder.layer.0"}), "types"),
    ("int8", lambda d: d["transforms"][0]["layers"].update({QUERY: 10**9}), r"rank 1000000000 would not shrink"),
    ("int8", lambda d: d["transforms"][0]["layers"].update({QUERY: True}), "expected a rank >= 1"),
    ("int8", lambda d: d["transforms"][0]["layers"].update({"__class__": 4}), "no module '__class__'"),
    ("int8", lambda d: d.update(evil="x"), "unknown key.* evil"),
    ("int8", lambda d: d["transforms"][0].update(evil="x"), r"transforms\[0\]: unknown key.* evil"),
    ("int8", lambda d: d["transforms"][1].update(dtype="quint4"), r"transforms\[1\]\.dtype: expected 'qint8'"),
    ("int8", lambda d: d["transforms"][1]["layers"].append(QUERY + ".0"), "listed more than once"),
    ("int8", lambda d: d["transforms"][1]["layers"].append(["pooler.dense"]), "a list of module names"),
    ("int8", lambda d: d["transforms"].reverse(), r"transforms\[0\]: quantize_dynamic_int8 must be the last"),
    ("int8", lambda d: d["transforms"].append("low_rank"), r"transforms\[2\]\.type: unknown transform None"),
    ("int8", lambda d: d.update(architecture="DistilBertModel"), "built from a DistilBertConfig"),
    ("int8", lambda d: d.update(recipes="low-rank"), "recipes: expected a list"),
    ("heads", lambda d: first_heads(d).update(head_size=10**9), "head_size: 1000000000, the config's .* is 8"),
    ("heads", lambda d: first_heads(d).update(head_size=True), "head_size: expected a whole number"),
    ("heads", lambda d: first_heads(d).update(kept_heads=["x", None]), "kept_heads: expected a non-empty list"),
    ("heads", lambda d: first_heads(d).update(kept_heads=[0, 0]), "kept_heads: expected a non-empty list"),
    ("heads", lambda d: first_heads(d).update(kept_heads=[0, 99]), r"kept_heads: expected heads in range\(4\)"),
    (
        "heads",
        lambda d: first_heads(d).update(kept_heads=list(range(10**5))),
        r"range\(4\), got \[0, 1, 2, 3, 4, 5, \.\.\.\]",
    ),
    ("heads", lambda d: first_heads(d).pop("inputs"), "expected exactly the keys"),
    ("heads", lambda d: first_heads(d).update(inputs="self.query"), "inputs: expected a list"),
    ("heads", lambda d: first_heads(d).update(inputs=["self.query", "output.dense"]), "output: expected a Linear name"),
    ("heads", lambda d: first_heads(d).update(inputs=["intermediate.dense"]), "no module 'intermediate.dense'"),
    (
        "heads",
        lambda d: d["transforms"][0]["layers"].update(
            {"encoder": {"kept_heads": [0], "head_size": 8, "inputs": ["layer.0.attention.self.query"], "output": "x"}}
        ),
        "expected one attention block, found 4",
    ),
]


@pytest.mark.parametrize(("source", "change", "message"), ADVERSARIAL_DOCUMENTS)
def test_refuses_an_adversarial_document(others: dict[str, Path], tmp_path: Path, source, change, message) -> None:
    copy = Path(shutil.copytree(others[source], tmp_path / "model"))
    edit_doc(copy, change)
    with pytest.raises(UserError, match=message) as err:
        load_model(copy, "cosine")
    assert str(copy) in err.value.message and err.value.fix


INT8 = "encoder.layer.1.output.dense.1."
ADVERSARIAL_TENSORS = [
    (INT8 + "bias", lambda t: torch.zeros(3), r"bias: shape \(3,\) of F32, the model's is shape \(32,\)"),
    (INT8 + "bias", lambda t: t.to(torch.int64), "bias: shape .* of I64, the model's is shape .* of F32"),
    (INT8 + "weight_scale", lambda t: torch.full_like(t, float("nan")), "expected finite scales > 0"),
    (INT8 + "weight_scale", lambda t: -t, "expected finite scales > 0"),
    (INT8 + "weight_scale", lambda t: torch.zeros_like(t), "expected finite scales > 0"),
    (INT8 + "weight_zero_point", lambda t: torch.full_like(t, 10**6), r"zero points in -128\.\.127"),
    ("embeddings.word_embeddings.weight", lambda t: t.to(torch.int8), "of I8, the model's is .* of F32"),
    ("embeddings.LayerNorm.weight", lambda t: t.to(torch.float64), "of F64, the model's is .* of F32"),
]


@pytest.mark.parametrize(("name", "change", "message"), ADVERSARIAL_TENSORS)
def test_refuses_adversarial_tensors(copy: Path, name: str, change, message: str) -> None:
    tensors = load_file(str(copy / WEIGHTS_FILE))
    tensors[name] = change(tensors[name]).contiguous()
    save_file(tensors, str(copy / WEIGHTS_FILE))
    with pytest.raises(UserError, match=message) as err:
        load_model(copy, "cosine")
    assert str(copy / WEIGHTS_FILE) in err.value.message


MAX_GROWTH_KIB = 256 * 1024  # peak memory a refused load may add: a few copies of the 1M-parameter test model


def edit_config(folder: Path, **values) -> None:
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **values}))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vocab_size": 2 * 10**8}, r"\(200000000, 32\) of F32 \(it holds \d+ tensor elements; .* describe \d{10}\)"),
        ({"num_hidden_layers": 10**5}, r"num_hidden_layers: 100000 layers, but model.safetensors holds \d+ tensors"),
        ({"intermediate_size": -5}, r"config.json \(building a BertModel on the meta device\): does not build"),
        ({"hidden_size": 30}, "does not build"),  # not a multiple of the head count: BERT raises ValueError
    ],
)
def test_refuses_a_config_before_allocating_what_it_declares(copy: Path, values: dict, message: str) -> None:
    import resource

    edit_config(copy, **values)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UserError, match=message):
        load_model(copy, "cosine")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < MAX_GROWTH_KIB, grown_kib  # a vocabulary of 2e8 x 32 floats would be 25 GB


@pytest.mark.parametrize("name", [COMPRESSED_FILE, WEIGHTS_FILE, "config.json"])
def test_refuses_a_file_that_links_outside_the_folder(copy: Path, tmp_path: Path, name: str) -> None:
    outside = tmp_path / f"outside-{name}"
    shutil.move(copy / name, outside)
    (copy / name).symlink_to(outside)
    with pytest.raises(UserError, match=f"{name}: not a regular file inside"):
        load_model(copy, "cosine")


def test_check_reports_a_model_that_does_not_build_instead_of_crashing(folder: Path, tmp_path: Path) -> None:
    from harness.submissions import check_submission

    sub = Path(shutil.copytree(folder.parent, tmp_path / "sub"))
    edit_config(sub / "model", hidden_size=30)
    problems = check_submission(sub)
    assert [p.field for p in problems] == ["tasks.stsb.model"] and "does not build" in problems[0].message, problems


@pytest.mark.parametrize(
    ("yaml_edit", "doc_edit", "field", "message"),
    [
        (lambda y: y.replace("rank: 4", "rank: 2"), None, "compression", "differs from the chain"),
        (lambda y: y.replace("- low-rank\n", ""), None, "methods", "lacks low-rank"),
        (None, lambda d: d.update(evil=1), "tasks.stsb.model", "unknown key"),
        (None, lambda d: d["recipes"][0].update(rank="four"), "recipes[0].rank", "expected a whole number"),
    ],
)
def test_check_validates_compressed_json_and_its_chain(folder, tmp_path, yaml_edit, doc_edit, field, message) -> None:
    from harness.submissions import check_submission

    sub = Path(shutil.copytree(folder.parent, tmp_path / "sub"))
    if yaml_edit:
        (sub / "submission.yaml").write_text(yaml_edit((sub / "submission.yaml").read_text()))
    if doc_edit:
        edit_doc(sub / "model", doc_edit)
    problems = check_submission(sub)
    assert [p.field for p in problems] == [field] and message in problems[0].message, problems
