"""Sorted, dynamically padded batches give the same results as one example at a time."""

import numpy as np
import pytest

from harness.backends import load_model
from harness.inference.batching import pad, run_batched
from harness.inference.formulations import EvalSettings
from harness.inference.formulations.classify import encode, predict
from harness.tasks import get_task
from harness.tasks.data import load_rows


@pytest.mark.parametrize(
    "task_name,head,num_labels",
    [("rte", "sequence_classification", 2), ("stsb", "sequence_classification", 1), ("stsb", "cosine", 2)],
)
def test_batched_sorted_equals_unbatched(mirror, tiny_bert, task_name, head, num_labels):
    task = get_task(task_name)
    rows = load_rows(task, mirror, limit=40)
    model = load_model(tiny_bert(head, num_labels=num_labels), head)
    batched = predict(task, model, rows, EvalSettings(batch_size=16))
    single = predict(task, model, rows, EvalSettings(batch_size=1, sort_by_length=False))
    assert batched.keys() == single.keys()
    if task.labels:
        assert batched == single
    else:
        np.testing.assert_allclose([batched[k] for k in single], list(single.values()), rtol=1e-4, atol=1e-5)


def test_outputs_come_back_in_input_order(tiny_bert):
    model = load_model(tiny_bert(), "sequence_classification")
    texts = [("a " * n,) for n in (30, 2, 17, 5, 9)]
    enc = encode(model, texts, 64)
    sorted_out = run_batched(model, enc, batch_size=2)
    one_by_one = [run_batched(model, [e], batch_size=1)[0] for e in enc]
    for a, b in zip(sorted_out, one_by_one):
        np.testing.assert_allclose(a["logits"], b["logits"], rtol=1e-4, atol=1e-5)


def test_padding_is_per_batch_not_to_max_length(tiny_bert):
    model = load_model(tiny_bert(), "sequence_classification")
    batch = pad(encode(model, [("one two",), ("one two three four",)], 128), model.tokenizer)
    assert batch["input_ids"].shape == (2, 6)  # [CLS] + 4 tokens + [SEP], not 128
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1] * 6]


def test_map_batches_shortest_first_results_in_input_order_and_checked_counts():
    from types import SimpleNamespace

    from harness.errors import UserError
    from harness.inference.batching import map_batches

    model = SimpleNamespace(tokenizer=SimpleNamespace(pad_token_id=0))
    enc = [{"input_ids": [1] * n} for n in (4, 1, 3, 2)]
    seen = []

    def widths(batch, idx):
        seen.append(list(idx))
        return [int(batch["attention_mask"][row].sum()) for row in range(len(idx))]

    assert map_batches(model, enc, widths, batch_size=2) == [4, 1, 3, 2]
    assert seen == [[1, 3], [2, 0]]  # shortest first, two per batch
    with pytest.raises(RuntimeError, match="1 results for a batch of 2"):
        map_batches(model, enc, lambda batch, idx: ["only one"], batch_size=2)
    with pytest.raises(UserError, match="batch size must be >= 1"):
        map_batches(model, enc, widths, batch_size=0)
