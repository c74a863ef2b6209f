"""A model folder's weights must be the model its config describes: tensors missing from the weights file (which
from_pretrained would fill with random numbers) are refused, a config that transformers cannot read is blamed on
config.json rather than on the tokenizer, and a BERT-family config far over the ceiling is refused from its numbers
alone, before anything is built (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_valid_submission

from harness.backends import load_model
from harness.backends.base import LoadOptions
from harness.errors import UserError
from harness.submissions import check_submission

HEAD = "sequence_classification"


@pytest.fixture()
def submission(tmp_path: Path) -> Path:
    folder = write_valid_submission(tmp_path / "sub")
    return folder


def _drop_tensors(weights: Path, prefix: str) -> list[str]:
    """Rewrite a safetensors file without the tensors whose names start with `prefix`; the names dropped."""
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(weights))
    dropped = sorted(name for name in tensors if name.startswith(prefix))
    save_file({k: v for k, v in tensors.items() if k not in dropped}, str(weights), metadata={"format": "pt"})
    return dropped


def test_a_classifier_missing_from_the_weights_is_refused_naming_the_tensors(submission: Path) -> None:
    model = submission / "model"
    assert _drop_tensors(model / "model.safetensors", "classifier.") == ["classifier.bias", "classifier.weight"]
    with pytest.raises(UserError) as e:
        load_model(model, HEAD)
    text = f"{e.value.message} {e.value.fix}"
    assert "classifier.weight" in text and "2 tensors" in text and "random" in text and "save_pretrained" in text
    problems = check_submission(submission)
    assert [p.file for p in problems] == [str(model)] and "classifier.weight" in problems[0].message


def test_an_encoder_layer_missing_from_the_weights_is_refused(submission: Path) -> None:
    model = submission / "model"
    dropped = _drop_tensors(model / "model.safetensors", "bert.encoder.layer.1.")
    assert len(dropped) > 10
    with pytest.raises(UserError, match=rf"{len(dropped)} tensors"):
        load_model(model, HEAD)


def test_extra_tensors_beside_the_models_own_still_load(submission: Path) -> None:
    """A checkpoint saved from a pre-training class carries a head the task model does not use: it loads."""
    from safetensors.torch import load_file, save_file

    weights = submission / "model" / "model.safetensors"
    tensors = load_file(str(weights))
    tensors["cls.predictions.bias"] = tensors["classifier.bias"].clone()
    save_file(tensors, str(weights), metadata={"format": "pt"})
    assert load_model(submission / "model", HEAD).head == HEAD


def test_a_config_transformers_cannot_read_is_blamed_on_config_json_not_the_tokenizer(submission: Path) -> None:
    config = submission / "model" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "model_type": "no-such-model"}), encoding="utf-8")
    with pytest.raises(UserError) as e:
        load_model(submission / "model", HEAD)
    assert str(config) in e.value.message and "tokenizer" not in e.value.message.lower()
    assert "model_type" in f"{e.value.message} {e.value.fix}"


def test_a_bert_config_far_over_the_ceiling_is_refused_from_its_numbers_without_building_it(
    submission: Path, monkeypatch
) -> None:
    import transformers

    def never(*args, **kwargs):
        raise AssertionError("the model was built to count it")

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_config", never)
    config = submission / "model" / "config.json"
    deep = {"num_hidden_layers": 1_000, "hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12}
    config.write_text(json.dumps({**json.loads(config.read_text()), **deep}), encoding="utf-8")
    with pytest.raises(UserError, match=r"config.json: at least .* parameters .* over the ceiling of"):
        load_model(submission / "model", HEAD)
    with pytest.raises(UserError, match="over the ceiling of 1,000"):
        load_model(submission / "model", HEAD, LoadOptions(max_params=1000))


def test_an_embedding_size_that_only_electra_reads_does_not_count_for_bert():
    from harness.backends.config_params import implied_parameters

    base = {"model_type": "bert", "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12}
    base |= {"intermediate_size": 3072, "max_position_embeddings": 512, "type_vocab_size": 2}
    assert implied_parameters(base | {"embedding_size": 200_000}) == implied_parameters(base)
    electra = base | {"model_type": "electra"}
    assert implied_parameters(electra | {"embedding_size": 128}) < implied_parameters(electra)


def _thin_and_deep(submission: Path, monkeypatch, **layers: int) -> None:
    """The submission's config with `layers` (20,000 of them, 8 wide: a few million parameters, far under the
    ceiling, but minutes to build even on the meta device); building the model fails the test."""
    import transformers

    def never(*args, **kwargs):
        raise AssertionError("the model was built to count it")

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_config", never)
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", never)
    config = submission / "model" / "config.json"
    thin = {"hidden_size": 8, "intermediate_size": 8, "num_attention_heads": 1, **layers}
    config.write_text(json.dumps({**json.loads(config.read_text()), **thin}), encoding="utf-8")


def test_a_config_with_more_layers_than_the_ceiling_is_refused_before_it_is_built(submission: Path, monkeypatch):
    from harness.backends.base import MAX_MODEL_LAYERS
    from harness.backends.config_params import implied_parameters

    _thin_and_deep(submission, monkeypatch, num_hidden_layers=20_000)
    config = json.loads((submission / "model" / "config.json").read_text())
    assert implied_parameters(config) < LoadOptions().max_params  # not refused for its size
    with pytest.raises(
        UserError, match=rf"num_hidden_layers is 20,000 layers, over the ceiling of {MAX_MODEL_LAYERS:,}"
    ):
        load_model(submission / "model", HEAD)
    problems = check_submission(submission, load_models=False)
    assert [(p.file, p.field) for p in problems] == [
        (str(submission / "model" / "config.json"), "tasks.sst2.model: num_hidden_layers")
    ], problems
    assert "set num_hidden_layers in config.json" in problems[0].fix


def test_the_layer_ceiling_counts_every_layer_key_a_model_type_uses(submission: Path, monkeypatch):
    """A model type the harness has no estimate for, and keys other than num_hidden_layers (T5's, BART's)."""
    from harness.backends.config_params import deepest

    assert deepest({"model_type": "t5", "num_layers": 6, "num_decoder_layers": 30_000}) == (
        "num_decoder_layers",
        30_000,
    )
    assert deepest({"model_type": "bart", "encoder_layers": 12, "decoder_layers": 12}) == ("encoder_layers", 12)
    assert deepest({"model_type": "funnel", "block_sizes": [4, 4, 3000]}) == ("block_sizes", 3008)
    assert deepest({"model_type": "reformer", "attn_layers": ["local"] * 3000}) == ("attn_layers", 3000)
    assert deepest({"model_type": "perceiver", "num_self_attends_per_block": 3000}) == (
        "num_self_attends_per_block",
        3000,
    )
    nested = {"model_type": "gemma3", "text_config": {"num_hidden_layers": 3000}}
    assert deepest(nested) == ("text_config.num_hidden_layers", 3000)
    assert deepest({"model_type": "gpt2", "n_layer": "many"}) is None  # not a count: transformers refuses it
    assert deepest({"model_type": "gpt2"}) is None
    _thin_and_deep(submission, monkeypatch, model_type="gpt2", n_layer=5_000)  # no estimate for GPT-2
    with pytest.raises(UserError, match=r"n_layer is 5,000 layers, over the ceiling"):
        load_model(submission / "model", HEAD)
