"""Parameter counts: shared and tied weights once, embedding split, packed int8 weights with their dtype."""

from __future__ import annotations

import pytest
import torch
from transformers import AlbertConfig, AlbertModel, BertConfig, BertForMaskedLM, BertModel

from harness.backends.torch_hf import wrap
from harness.measure.params import count_params as count_model_params


def count_params(module):
    """The params measurement of a torch module built in code, through the torch backend."""
    return count_model_params(wrap(module))


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.ao notices

TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 500,
}


def test_plain_bert_split():
    model = BertModel(BertConfig(**TINY))
    result = count_params(model)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    emb = model.embeddings
    tables = (emb.word_embeddings, emb.position_embeddings, emb.token_type_embeddings)
    expected_emb = sum(m.weight.numel() for m in tables)
    assert result.embedding_params == expected_emb
    assert result.non_embedding_params == result.total_params - expected_emb
    assert result.params_by_dtype == {"float32": result.total_params}
    assert result.tensor_bytes == 4 * result.total_params
    assert result.to_dict()["unit"].startswith("parameters")


def test_albert_layer_sharing_counts_once():
    cfg = AlbertConfig(embedding_size=32, **TINY)
    deep = count_params(AlbertModel(AlbertConfig(embedding_size=32, **{**TINY, "num_hidden_layers": 12})))
    assert count_params(AlbertModel(cfg)).total_params == deep.total_params  # 12 layers share one set of weights


class Reuse(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.first = torch.nn.Linear(4, 4)
        self.second = self.first  # the same Linear registered twice
        self.view = torch.nn.Linear(4, 4)
        self.view.weight = self.first.weight  # a distinct module holding the same Parameter

    def forward(self, x):
        return self.second(self.first(x))


def test_reused_module_and_shared_parameter_count_once():
    result = count_params(Reuse())
    assert result.total_params == 16 + 4 + 4  # one weight, two biases
    assert result.aliases["second.weight"] == "first.weight"
    assert result.aliases["view.weight"] == "first.weight"


def test_tensors_sharing_storage_count_once():
    model = Reuse()
    model.view.weight = torch.nn.Parameter(model.first.weight.data)  # new Parameter object, same storage
    assert count_params(model).total_params == 16 + 4 + 4


def test_tied_embeddings_count_once_and_as_embedding():
    model = BertForMaskedLM(BertConfig(**TINY))
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    result = count_params(model)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    assert result.aliases["cls.predictions.decoder.weight"] == "bert.embeddings.word_embeddings.weight"
    assert result.embedding_params >= model.bert.embeddings.word_embeddings.weight.numel()


def test_dynamic_int8_counts_packed_weights_with_dtypes():
    fp32 = BertModel(BertConfig(**TINY))
    before = count_params(fp32)
    q = torch.ao.quantization.quantize_dynamic(fp32, {torch.nn.Linear}, dtype=torch.qint8)
    result = count_params(q)
    linear_weights = sum(
        m.weight.numel() for m in BertModel(BertConfig(**TINY)).modules() if isinstance(m, torch.nn.Linear)
    )
    assert result.total_params == before.total_params
    assert result.params_by_dtype == {"float32": before.total_params - linear_weights, "qint8": linear_weights}
    assert result.tensor_bytes == 4 * (before.total_params - linear_weights) + linear_weights


def test_meta_model_counts():
    with torch.device("meta"):
        model = BertModel(BertConfig(**TINY))
    assert count_params(model).total_params == sum(p.numel() for p in model.parameters())
