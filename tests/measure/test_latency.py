"""Latency: ordered percentiles, threads fixed and restored, clock objects, speed-up ratio."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel

from harness.backends.base import CpuClock
from harness.backends.torch_hf import wrap
from harness.backends.torch_run import CudaClock
from harness.measure.latency import interleaved_rounds, measure_latency, measure_speedup, timed_rounds

TINY = {
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 500,
}


def test_latency_percentiles_threads_and_throughput():
    model = wrap(BertModel(BertConfig(**TINY)))
    before = torch.get_num_threads()
    result = measure_latency(
        model,
        model.synthetic_batch(1, 32),
        batch_inputs=[model.synthetic_batch(4, 32)] * 2,
        threads=1,
        round_s=0.05,
        budget_s=3.0,
        tolerance=0.05,
    )
    assert torch.get_num_threads() == before  # restored
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms
    assert result.threads == 1 and result.samples >= 15 and result.rounds >= 3
    assert result.samples % result.rounds == 0  # percentiles over every round's calls, not only the last ones
    assert result.throughput_batch_size == 4 and result.throughput_examples == 8
    assert result.throughput_examples_per_s > 0
    assert result.other_load_cores >= 0 and result.steal_cores >= 0 and isinstance(result.noisy, bool)
    d = result.to_dict()
    assert d["unit"] == {"latency": "ms", "throughput": "examples/s"} and "p50_ms" in d and d["clock"].startswith("cpu")
    low, high = result.p50_interval_ms  # the median's bootstrap interval over this run's timed calls
    assert low <= result.p50_ms <= high and "within this run only" in result.method


def test_the_median_interval_is_seeded_covers_the_median_and_narrows_with_more_calls():
    import numpy as np

    from harness.metrics.bootstrap import median_interval

    true_median = 5.0 + np.log(2.0)  # of 5 + Exponential(1): a right-skewed latency
    covered = 0
    for seed in range(40):
        calls = 5.0 + np.random.default_rng(seed).exponential(1.0, 300)
        low, high = median_interval(calls, "test")
        covered += low <= true_median <= high
        assert median_interval(calls, "test") == (low, high)  # seeded: the same interval again
    assert covered >= 34  # a 95% interval: 38 of 40 expected; 34 or fewer has probability under 3%
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1_000, 10_000):
        low, high = median_interval(5.0 + rng.exponential(1.0, n), "test")
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]


def test_timed_rounds_stop_when_stable_or_out_of_time():
    class Fake(CpuClock):
        def __init__(self):
            self.t = 0.0

        def now(self):
            self.t += 0.5  # every call seems to take exactly 0.5 s
            return self.t

    import time

    rounds, stable, spread = timed_rounds(
        lambda: None, Fake(), per_round=4, tolerance=0.01, deadline=time.perf_counter() + 10
    )
    assert stable and spread == 0 and len(rounds) == 3 and rounds[0] == [0.5] * 4
    rounds, stable, _ = timed_rounds(
        lambda: None, Fake(), per_round=4, tolerance=0.01, min_time_s=10.0, deadline=time.perf_counter() + 10
    )
    assert stable and len(rounds) == 5  # 20 calls of 0.5 s: stable after 3 rounds, but 10 s of calls take 5
    ticks = iter(range(1_000_000))

    class Alternating(CpuClock):
        def now(self):
            k = next(ticks)  # two reads per call; calls alternate between 1 s and 2 s: never stable
            return 3.0 * (k // 4) + (0.0 if k % 4 == 0 else 1.0 if k % 4 in (1, 2) else 3.0)

    rounds, stable, _ = timed_rounds(
        lambda: None, Alternating(), per_round=1, tolerance=0.01, deadline=time.perf_counter() + 0.05
    )
    assert [r[0] for r in rounds[:4]] == [1.0, 2.0, 1.0, 2.0]
    assert not stable


def test_clock_matches_device():
    assert type(wrap(torch.nn.Linear(2, 2)).clock) is CpuClock
    assert issubclass(CudaClock, CpuClock) and CudaClock.name.startswith("cuda")


def test_speedup_same_settings():
    big = wrap(BertModel(BertConfig(**{**TINY, "num_hidden_layers": 4})))
    small = wrap(BertModel(BertConfig(**TINY)))
    result = measure_speedup(
        big, small, small.synthetic_batch(1, 32), threads=1, round_s=0.05, budget_s=2.0, tolerance=0.1
    )
    assert result.speedup == result.reference["p50_ms"] / result.candidate["p50_ms"]
    assert result.reference["threads"] == result.candidate["threads"] == 1
    assert result.speedup > 1.0  # half the layers
    assert result.spread_of_round_ratios is not None and result.spread_of_round_ratios >= 0
    assert "interleaved" in result.method


def test_interleaved_rounds_alternate_and_wait_for_every_call_to_be_stable():
    import time

    class Manual(CpuClock):
        t = 0.0

        def now(self):
            return self.t

    clock, order = Manual(), []
    costs = iter([5.0, 1.0, 5.0, 1.0])  # the candidate's first rounds disagree; then every call costs 1 s

    def ref():
        order.append("r")
        clock.t += 2.0

    def cand():
        order.append("c")
        clock.t += next(costs, 1.0)

    rounds, stable, spreads = interleaved_rounds(
        [ref, cand], clock, per_round=[2, 1], tolerance=0.01, deadline=time.perf_counter() + 5
    )
    assert "".join(order[:6]) == "rrcrrc"  # a round of the reference (2 calls), then one of the candidate
    assert rounds[0] == [[2.0, 2.0]] * 6  # stable after 3 rounds, but it waits for the candidate
    assert [r[0] for r in rounds[1]] == [5.0, 1.0, 5.0, 1.0, 1.0, 1.0]
    assert stable and spreads == [0.0, 0.0]


def test_bad_settings_are_user_errors():
    import pytest

    from harness.errors import UserError

    with pytest.raises(UserError, match="threads"):
        measure_latency(wrap(torch.nn.Linear(2, 2)), torch.ones(1, 2), threads=0)


def test_budget_end_before_enough_rounds_is_unstable_and_json_safe():
    import json

    model = wrap(torch.nn.Linear(4, 4))
    result = measure_latency(model, torch.ones(1, 4), budget_s=1e-9, warmup_calls=1)
    assert result.stable is False and result.spread_of_round_medians is None and result.rounds == 1
    json.dumps(result.to_dict(), allow_nan=False)


def test_models_run_in_eval_mode_and_get_their_training_mode_back():
    class Spy(torch.nn.Linear):
        seen: set

        def forward(self, x):
            self.seen.add(self.training)
            return super().forward(x)

    a, b = Spy(4, 4), Spy(4, 4)
    a.seen, b.seen = set(), set()
    b.eval()
    fast = {"round_s": 0.01, "budget_s": 0.5, "min_time_s": 0.0, "warmup_calls": 1}
    measure_latency(wrap(a), torch.ones(1, 4), **fast)
    measure_speedup(wrap(a), wrap(b), torch.ones(1, 4), **fast)
    assert a.seen == b.seen == {False}  # dropout off while timed
    assert a.training and not b.training  # each back in the mode it came in


def test_hypervisor_steal_is_recorded_and_makes_a_measurement_noisy(monkeypatch):
    import psutil

    from harness.measure.latency import LoadProbe

    real = psutil.cpu_times
    if not hasattr(real(), "steal"):
        import pytest

        pytest.skip("this platform's psutil reports no steal time")
    reads = iter(range(1_000_000))

    def cpu_times(*args, **kwargs):  # the hypervisor steals 5 s between any two readings
        return real(*args, **kwargs)._replace(steal=5.0 * next(reads))

    monkeypatch.setattr(psutil, "cpu_times", cpu_times)
    _, steal = LoadProbe().cores()
    assert steal > 1.0  # 5 s over a window of well under a second
    result = measure_latency(
        wrap(torch.nn.Linear(4, 4)),
        torch.ones(1, 4),
        budget_s=0.2,
        warmup_calls=1,
        round_s=0.01,
        min_time_s=0.0,
        speed_probe=False,
    )
    assert result.steal_cores > 0.25 and result.noisy
