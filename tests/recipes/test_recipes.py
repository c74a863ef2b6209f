"""Each compression recipe on a tiny BERT: the submission it writes passes `harness check`, reloads through the
torch backend (safetensors only) and holds what the recipe promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from recipe_helpers import (
    HEAD_SIZE,
    HEADS,
    HIDDEN,
    INT8_MIN_COSINE,
    LAYERS,
    STSB_SENTENCES,
    compressed,
    layer_params,
    module,
    params,
    step,
    write_base,
)
from safetensors.torch import load_file

from harness.backends.torch_compressed import COMPRESSED_FILE
from harness.measure.size import measure_size
from harness.submissions import check_submission, load_submission

PICKLE_MAGIC = b"\x80"  # pickle protocol 2+ opcode PROTO; torch.save's zip files start with PK
ZIP_MAGIC = b"PK"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, mirror: Path) -> Path:
    return write_base(tmp_path_factory.mktemp("base") / "tiny-base")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("out")


def encoder_linear_weights(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: x.weight for n, x in m.named_modules() if n.startswith("encoder.") and type(x) is torch.nn.Linear}


def assert_valid_and_pickle_free(folder: Path) -> None:
    assert check_submission(folder) == []
    for file in folder.rglob("*"):
        if file.is_file():
            assert file.suffix not in (".bin", ".pt", ".pth", ".pkl", ".ckpt"), file
            head = file.read_bytes()[:2]
            assert not head.startswith(PICKLE_MAGIC) and head != ZIP_MAGIC, file


def embeddings(folder: Path, sentences: list[str]) -> torch.Tensor:
    from harness.backends import load_model

    model = load_model(folder, "cosine")
    batch = model.tokenizer(sentences, padding=True, truncation=True, max_length=128, return_tensors="np")
    return torch.from_numpy(model.forward(dict(batch))["embedding"])


def test_quantize_dynamic_int8_stays_close_and_is_saved_as_int8(base: Path, out: Path, mirror: Path) -> None:
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    folder = compressed(base, out / "int8", step("quantize-dynamic-int8"))
    assert_valid_and_pickle_free(folder)
    model = folder / "model"
    doc = json.loads((model / COMPRESSED_FILE).read_text())
    assert [t["type"] for t in doc["transforms"]] == ["quantize_dynamic_int8"]
    assert len(doc["transforms"][0]["layers"]) == 6 * LAYERS + 1  # q, k, v, output, 2 feed-forward; the pooler
    stored = load_file(str(model / "model.safetensors"))
    assert stored["encoder.layer.0.attention.self.query.weight_int8"].dtype == torch.int8
    counted = params(model)
    assert counted["total_params"] == params(base / "model")["total_params"]
    linear_weights = sum(w.numel() for w in encoder_linear_weights(module(base / "model")).values())
    assert counted["params_by_dtype"]["qint8"] == linear_weights + HIDDEN * HIDDEN  # and the pooler's
    sentences = [r["sentence1"] for r in load_rows(get_task("stsb"), mirror, limit=STSB_SENTENCES)]
    cosine = torch.nn.functional.cosine_similarity(embeddings(base / "model", sentences), embeddings(model, sentences))
    assert len(sentences) == STSB_SENTENCES and cosine.min() >= INT8_MIN_COSINE, cosine.min()
    assert load_submission(folder).methods == ("quantization",)
    # the reloaded int8 model is the one quantized in memory, output for output
    from harness.recipes.quantize import run
    from harness.recipes.work import Work

    in_memory = Work(module(base / "model"), "cosine")
    run(in_memory)
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        expected = in_memory.module(input_ids=ids).last_hidden_state
        torch.testing.assert_close(module(model)(input_ids=ids).last_hidden_state, expected, rtol=0, atol=0)


def test_quantize_dynamic_int8_stores_one_scale_per_output_channel(base: Path, out: Path) -> None:
    from harness.recipes.quantize import run
    from harness.recipes.work import Work

    model = compressed(base, out / "int8-per-channel", step("quantize-dynamic-int8")) / "model"
    transform = json.loads((model / COMPRESSED_FILE).read_text())["transforms"][0]
    assert transform["qscheme"] == "per_channel_affine"
    stored, float_model = load_file(str(model / "model.safetensors")), module(base / "model")
    for name in transform["layers"]:  # each Linear: one float scale and one int zero point per output row
        rows = float_model.get_submodule(name).out_features
        scale, zero_point = stored[f"{name}.weight_scale"], stored[f"{name}.weight_zero_point"]
        assert scale.shape == zero_point.shape == (rows,), name
        assert scale.is_floating_point() and not zero_point.is_floating_point(), name
        assert int(stored[f"{name}.weight_axis"]) == 0 and len(set(scale.tolist())) > 1, name
    in_memory = Work(module(base / "model"), "cosine")
    run(in_memory)
    reloaded = module(model)
    weight = reloaded.get_submodule("encoder.layer.0.intermediate.dense")._weight_bias()[0]
    assert weight.qscheme() == torch.per_channel_affine
    ids = torch.randint(1000, 2000, (3, 11))
    with torch.no_grad():
        expected = in_memory.module(input_ids=ids)
        got = reloaded(input_ids=ids)
    torch.testing.assert_close(got.last_hidden_state, expected.last_hidden_state, rtol=0, atol=0)
    torch.testing.assert_close(got.pooler_output, expected.pooler_output, rtol=0, atol=0)


def test_prune_magnitude_hits_the_sparsity_per_tensor_and_zstd_shows_it(base: Path, out: Path) -> None:
    folder = compressed(base, out / "sparse", step("prune-magnitude", sparsity=0.5))
    assert_valid_and_pickle_free(folder)
    assert not (folder / "model" / COMPRESSED_FILE).exists()  # the stock class reloads it
    weights = encoder_linear_weights(module(folder / "model"))
    assert len(weights) == 6 * LAYERS
    for name, weight in weights.items():
        assert abs(int((weight == 0).sum()) - 0.5 * weight.numel()) <= 1, name
    before = measure_size(base / "model", compress=True).weights_zstd_bytes
    after = measure_size(folder / "model", compress=True).weights_zstd_bytes
    assert before is not None and after is not None and after < before
    assert params(folder / "model")["total_params"] == params(base / "model")["total_params"]


def test_prune_heads_removes_the_weakest_heads_and_reloads_the_same(base: Path, out: Path) -> None:
    from harness.recipes.prune_heads import run
    from harness.recipes.work import Work

    folder = compressed(base, out / "heads", step("prune-heads", heads=5))
    assert_valid_and_pickle_free(folder)
    loaded = module(folder / "model")
    kept = [layer.attention.self.query.out_features // HEAD_SIZE for layer in loaded.encoder.layer]
    assert sum(kept) == LAYERS * HEADS - 5 and min(kept) >= 1
    per_head = 3 * (HEAD_SIZE * HIDDEN + HEAD_SIZE) + HIDDEN * HEAD_SIZE
    assert params(folder / "model")["total_params"] == params(base / "model")["total_params"] - 5 * per_head
    in_memory = Work(module(base / "model"), "cosine")
    run(in_memory, heads=5)
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        expected = in_memory.module(input_ids=ids).last_hidden_state
        torch.testing.assert_close(loaded(input_ids=ids).last_hidden_state, expected)
    # the heads removed are the ones with the smallest output-projection norms, over all layers
    doc = json.loads((folder / "model" / COMPRESSED_FILE).read_text())["transforms"][0]["layers"]
    removed, kept_norms = [], []
    for i, layer in enumerate(module(base / "model").encoder.layer):
        dense = layer.attention.output.dense.weight.detach()
        kept_heads = doc.get(f"encoder.layer.{i}.attention", {"kept_heads": range(HEADS)})["kept_heads"]
        for h in range(HEADS):
            norm = float(dense[:, h * HEAD_SIZE : (h + 1) * HEAD_SIZE].norm())
            (kept_norms if h in kept_heads else removed).append(norm)
    assert len(removed) == 5 and max(removed) <= min(kept_norms)


def test_drop_layers_keeps_the_first_or_every_kth(base: Path, out: Path) -> None:
    first = compressed(base, out / "first2", step("drop-layers", keep_first=2))
    every = compressed(base, out / "every2", step("drop-layers", every=2))
    source = module(base / "model")
    for folder, kept in ((first, [0, 1]), (every, [1, 3])):
        assert_valid_and_pickle_free(folder)
        assert not (folder / "model" / COMPRESSED_FILE).exists()
        loaded = module(folder / "model")
        assert loaded.config.num_hidden_layers == len(loaded.encoder.layer) == 2
        for new, old in enumerate(kept):
            torch.testing.assert_close(
                loaded.encoder.layer[new].output.dense.weight, source.encoder.layer[old].output.dense.weight
            )
        assert params(folder / "model")["total_params"] == params(base / "model")["total_params"] - 2 * layer_params()


def test_low_rank_factorizes_every_encoder_linear_that_shrinks(base: Path, out: Path) -> None:
    folder = compressed(base, out / "rank4", step("low-rank", rank=4))
    assert_valid_and_pickle_free(folder)
    loaded = module(folder / "model")
    pairs = [m for n, m in loaded.named_modules() if n.startswith("encoder.") and isinstance(m, torch.nn.Sequential)]
    assert len(pairs) == 6 * LAYERS
    assert all(p[0].out_features == 4 and p[0].bias is None and p[1].bias is not None for p in pairs)
    saved = sum(p[0].in_features * p[1].out_features - 4 * (p[0].in_features + p[1].out_features) for p in pairs)
    assert params(folder / "model")["total_params"] == params(base / "model")["total_params"] - saved
    # rank 20 would not shrink a 32x32 layer (32*32/64 = 16) but does shrink 32x64 ones (21.3): skipped, recorded
    partial = compressed(base, out / "rank20", step("low-rank", rank=20))
    doc = json.loads((partial / "model" / COMPRESSED_FILE).read_text())["transforms"][0]
    assert len(doc["layers"]) == 2 * LAYERS and len(doc["skipped"]) == 4 * LAYERS
    assert "encoder.layer.0.attention.self.query" in doc["skipped"]


def test_low_rank_by_energy_reloads_the_same_outputs(base: Path, out: Path) -> None:
    from harness.recipes.low_rank import run
    from harness.recipes.work import Work

    folder = compressed(base, out / "energy", step("low-rank", energy=0.5))
    assert_valid_and_pickle_free(folder)
    doc = json.loads((folder / "model" / COMPRESSED_FILE).read_text())["transforms"][0]
    loaded = module(folder / "model")
    for name, rank in doc["layers"].items():
        assert loaded.get_submodule(name)[0].out_features == rank
    in_memory = Work(module(base / "model"), "cosine")
    run(in_memory, energy=0.5)
    ids = torch.randint(1000, 2000, (2, 7))
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(input_ids=ids).last_hidden_state, in_memory.module(input_ids=ids).last_hidden_state
        )


@pytest.mark.parametrize("groups", [1, 2])
def test_share_layers_holds_each_shared_tensor_once(base: Path, out: Path, groups: int) -> None:
    folder = compressed(base, out / f"share{groups}", step("share-layers", groups=groups))
    assert_valid_and_pickle_free(folder)
    loaded = module(folder / "model")
    layers = loaded.encoder.layer
    members = [[0, 1, 2, 3]] if groups == 1 else [[0, 1], [2, 3]]
    for group in members:
        assert all(layers[i] is layers[group[0]] for i in group)
    counted = params(folder / "model")
    assert counted["total_params"] == params(base / "model")["total_params"] - (LAYERS - groups) * layer_params()
    assert "encoder.layer.1.output.dense.weight" in counted["aliases"]
    stored = load_file(str(folder / "model" / "model.safetensors"))
    assert "encoder.layer.1.output.dense.weight" not in stored and "encoder.layer.0.output.dense.weight" in stored
    source = module(base / "model").encoder.layer
    mean = torch.stack([source[i].output.dense.weight for i in members[0]]).mean(0)
    torch.testing.assert_close(layers[0].output.dense.weight, mean)


def test_quantize_dynamic_int8_onnx_runs_on_onnxruntime_close_to_the_base(base: Path, out: Path, mirror: Path) -> None:
    from harness.backends import load_model
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    folder = compressed(
        base, out / "onnx-int8", step("prune-magnitude", sparsity=0.25), step("quantize-dynamic-int8-onnx")
    )
    assert_valid_and_pickle_free(folder)
    sub = load_submission(folder)
    assert sub.backend == "onnxruntime" and [s.recipe for s in sub.compression][-1] == "quantize-dynamic-int8-onnx"
    import onnx

    graph = onnx.load(str(folder / "model" / "model.onnx")).graph
    assert any(n.op_type in ("DynamicQuantizeLinear", "MatMulInteger", "DynamicQuantizeMatMul") for n in graph.node)
    sentences = [r["sentence1"] for r in load_rows(get_task("stsb"), mirror, limit=STSB_SENTENCES)]
    model = load_model(folder / "model", "cosine", backend="onnxruntime")
    batch = model.tokenizer(sentences, padding=True, truncation=True, max_length=128, return_tensors="np")
    onnx_embeddings = torch.from_numpy(model.forward(dict(batch))["embedding"])
    cosine = torch.nn.functional.cosine_similarity(embeddings(base / "model", sentences), onnx_embeddings)
    assert cosine.min() >= INT8_MIN_COSINE, cosine.min()


def test_prune_heads_equals_the_base_with_the_removed_heads_masked(base: Path, out: Path) -> None:
    folder = compressed(base, out / "heads-masked", step("prune-heads", heads=5))
    kept = {
        int(name.split(".")[2]): entry["kept_heads"]
        for name, entry in json.loads((folder / "model" / COMPRESSED_FILE).read_text())["transforms"][0][
            "layers"
        ].items()
    }
    masked = module(base / "model")
    with torch.no_grad():  # a removed head's context feeds only its columns of the output projection
        for i, layer in enumerate(masked.encoder.layer):
            for h in set(range(HEADS)) - set(kept.get(i, range(HEADS))):
                layer.attention.output.dense.weight[:, h * HEAD_SIZE : (h + 1) * HEAD_SIZE] = 0
    ids = torch.randint(1000, 2000, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(
            module(folder / "model")(input_ids=ids).last_hidden_state, masked(input_ids=ids).last_hidden_state
        )


def test_low_rank_factors_are_the_best_rank_r_approximation(base: Path, out: Path) -> None:
    rank = 4
    loaded = module(compressed(base, out / "rank4-svd", step("low-rank", rank=rank)) / "model")
    source = module(base / "model")
    for name, weight in encoder_linear_weights(source).items():
        pair = loaded.get_submodule(name)
        product = pair[1].weight @ pair[0].weight
        u, s, vh = torch.linalg.svd(weight.detach(), full_matrices=False)
        best = u[:, :rank] @ torch.diag(s[:rank]) @ vh[:rank]
        torch.testing.assert_close(product, best, rtol=1e-4, atol=1e-5)
        # Eckart-Young: the squared error is the energy of the dropped singular values
        error = float(torch.linalg.matrix_norm(weight - product) ** 2)
        assert abs(error - float((s[rank:] ** 2).sum())) <= 1e-3 * error, name
        torch.testing.assert_close(pair[1].bias, source.get_submodule(name).bias)


@pytest.mark.parametrize(("energy", "rank"), [(0.5, 1), (0.6, 2), (0.8, 2), (0.9, 3), (0.97, 4), (1.0, 4)])
def test_energy_rank_is_the_fewest_singular_values_holding_the_energy(energy: float, rank: int) -> None:
    from harness.recipes.low_rank import energy_rank

    s = torch.tensor([4.0, 3.0, 2.0, 1.0])  # squares 16, 9, 4, 1 of 30: cumulative 0.533, 0.833, 0.967, 1
    assert energy_rank(s, energy) == rank


def test_low_rank_with_a_rank_skips_a_layer_before_its_svd_in_one_thread(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.recipes.low_rank import SVD_THREADS, run
    from harness.recipes.work import Work

    calls, svd = [], torch.linalg.svd

    def counted(*args, **kwargs):
        calls.append(torch.get_num_threads())
        return svd(*args, **kwargs)

    monkeypatch.setattr(torch.linalg, "svd", counted)
    threads = torch.get_num_threads()
    run(Work(module(base / "model"), "cosine"), rank=20)  # shrinks only the 32x64 feed-forward Linears
    assert calls == [SVD_THREADS] * (2 * LAYERS) and torch.get_num_threads() == threads


def test_drop_layers_every_k_that_does_not_divide_the_layer_count(base: Path, out: Path) -> None:
    folder = compressed(base, out / "every3", step("drop-layers", every=3))
    assert_valid_and_pickle_free(folder)
    loaded, source = module(folder / "model"), module(base / "model")
    assert loaded.config.num_hidden_layers == len(loaded.encoder.layer) == 1  # the 3rd of 4; no 6th
    for new, old in zip(loaded.encoder.layer[0].parameters(), source.encoder.layer[2].parameters()):
        torch.testing.assert_close(new, old)
