"""FLOPs: op table cases, BERT-shaped models against the analytic formula, int8 hooks, uncountable models."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from harness.backends.torch_count import addmm_flops, bmm_flops, layer_norm_flops, mm_flops, op_table, sdpa_flops
from harness.backends.torch_hf import wrap
from harness.measure.flops import bert_flops, measure_flops

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")  # torch.ao notices

TINY = {
    "hidden_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 512,
    "vocab_size": 1000,
}


def test_op_table_hand_counts():
    assert mm_flops((4, 8), (8, 3)) == 2 * 4 * 8 * 3
    assert addmm_flops((3,), (4, 8), (8, 3)) == 2 * 4 * 8 * 3  # bias add not counted
    assert bmm_flops((2, 4, 8), (2, 8, 3)) == 2 * 2 * 4 * 8 * 3
    # [b=1, h=2, s=5, d=4]: QK^T 2*1*2*5*5*4 and AV the same
    assert sdpa_flops((1, 2, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)) == 2 * (2 * 2 * 5 * 5 * 4)
    assert layer_norm_flops((2, 3, 4), [4], (4,)) == 5 * 24
    assert layer_norm_flops((2, 3, 4), [4], None) == 4 * 24
    assert torch.ops.aten._scaled_dot_product_flash_attention_for_cpu in op_table()


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_tiny_bert_matches_analytic_formula(impl):
    cfg = BertConfig(**TINY, attn_implementation=impl)
    result = measure_flops(wrap(BertModel(cfg)), reference_length=128)
    assert result.counted
    assert result.flops == pytest.approx(bert_flops(cfg, 128), rel=0.005)
    assert set(result.by_module) >= {"embeddings", "encoder", "encoder.layer.0", "encoder.layer.1", "pooler"}
    assert result.by_module["encoder.layer.0"] == result.by_module["encoder.layer.1"]
    assert result.by_op["aten.native_layer_norm"] == 5 * 5 * 128 * 128  # 5 LayerNorms, 5 FLOPs per element
    fv = result.fvcore
    assert fv["available"]
    if impl == "sdpa":  # fvcore skips SDPA: it reports the op and lands low
        assert any("scaled_dot_product" in op for op in fv["unsupported_ops"])
        assert fv["flops"] < result.flops
    else:
        assert fv["flops"] == pytest.approx(result.flops, rel=0.005)


@pytest.mark.parametrize("impl", ["sdpa", "eager"])
def test_bert_base_on_meta_matches_analytic_formula(impl):
    cfg = BertConfig(attn_implementation=impl)
    with torch.device("meta"):
        model = BertModel(cfg)
    result = measure_flops(wrap(model), reference_length=128, cross_check=False)
    assert result.flops == pytest.approx(bert_flops(cfg, 128), rel=0.005)
    assert result.flops == pytest.approx(22.36e9, rel=0.01)


def test_token_lengths_weight_each_distinct_length_once():
    model = BertModel(BertConfig(**TINY))
    result = measure_flops(wrap(model), reference_length=16, token_lengths=[8, 8, 8, 32], cross_check=False)
    assert result.token_length_counts == {8: 3, 32: 1}
    assert set(result.flops_by_length) == {8, 32}
    cfg = model.config
    expected = (3 * bert_flops(cfg, 8) + bert_flops(cfg, 32)) / 4
    assert result.mean_flops == pytest.approx(expected, rel=0.005)
    assert result.to_dict()["token_length_counts"] == {"8": 3, "32": 1}


def test_dynamic_int8_bert_counts_int8_macs_by_hooks():
    cfg = BertConfig(**TINY)
    model = torch.ao.quantization.quantize_dynamic(BertModel(cfg), {torch.nn.Linear}, dtype=torch.qint8)
    result = measure_flops(wrap(model), reference_length=64)
    h, i, s, layers = cfg.hidden_size, cfg.intermediate_size, 64, cfg.num_hidden_layers
    assert result.counted
    assert result.int8_macs == layers * s * (4 * h * h + 2 * h * i) + h * h  # encoder linears + pooler (1 token)
    assert result.by_op["int8_linear (2 x int8_macs)"] == 2 * result.int8_macs
    assert result.flops == pytest.approx(bert_flops(cfg, s), rel=0.005)
    assert "int8" in result.convention
    assert "quantized.linear_dynamic" not in result.uncounted_ops
    assert result.fvcore["available"] is False and result.fvcore["error"]


class Elementwise(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x * 2 + 1)


def test_model_with_no_countable_ops_is_not_counted():
    result = measure_flops(wrap(Elementwise(), make_inputs=lambda batch, length: torch.ones(batch, length)))
    assert result.status == "not_counted"
    assert "no countable operator" in result.reason and "aten.relu" in result.reason
    assert result.to_dict() == {
        "status": "not_counted",
        "reason": result.reason,
        "reference_length": 128,
        "uncounted_ops": result.to_dict()["uncounted_ops"],
        "counter": "torch.utils.flop_counter.FlopCounterMode + harness op table + int8 Linear hooks",
        "convention": result.to_dict()["convention"],
        "unit": "FLOPs per example",
    }
    assert result.to_dict()["uncounted_ops"]["aten.relu"] >= 1  # no number: never a FLOPs of 0


class TwiceLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(8, 8)

    def forward(self, x):
        return self.proj(self.proj(x))


def test_reused_layer_is_counted_per_call():
    result = measure_flops(
        wrap(TwiceLinear(), make_inputs=lambda batch, length: torch.ones(batch, length, 8)),
        reference_length=4,
        cross_check=False,
    )
    assert result.flops == 2 * (2 * 4 * 8 * 8)


def test_bert_flops_scope():
    cfg = BertConfig(**TINY)
    with_head = bert_flops(cfg, 10, num_labels=3)
    assert with_head - bert_flops(cfg, 10) == 2 * cfg.hidden_size * 3
    assert bert_flops(cfg, 10) - bert_flops(cfg, 10, pooler=False) == 2 * cfg.hidden_size**2


def test_bad_lengths_are_user_errors():
    from harness.errors import UserError

    with pytest.raises(UserError, match="reference_length"):
        measure_flops(wrap(BertModel(BertConfig(**TINY))), reference_length=0)
