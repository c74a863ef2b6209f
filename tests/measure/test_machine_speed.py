"""Machine-speed probe: its summary over thirds of the rounds, and its place in a latency record."""

from __future__ import annotations

import time

import pytest
import torch
from transformers import BertConfig, BertModel

from harness.backends.base import CpuClock
from harness.backends.torch_hf import wrap
from harness.measure.latency import interleaved_rounds, measure_latency
from harness.measure.machine_speed import CALLS_PER_ROUND, PROBE_SHAPE, SpeedProbe, speed_summary

COLD = 0.1  # every round's first call: caches refilled after the model; left out


def test_summary_median_and_drift_over_thirds():
    steady = speed_summary([[COLD, 0.005, 0.005, 0.006]] * 6, tolerance=0.03)
    assert steady["median_ms"] == pytest.approx(5.0) and steady["calls"] == 18  # the cold calls left out
    assert steady["drift"] == 0 and steady["drifted"] is False
    # the machine slows by 10% for the last third of the rounds: flagged
    slowed = speed_summary([[COLD, 0.010]] * 4 + [[COLD, 0.011]] * 2, tolerance=0.03)
    assert slowed["drift"] == pytest.approx(0.1) and slowed["drifted"] is True
    assert slowed["median_ms"] == pytest.approx(10.0)
    # a single slow call inside each third moves no third's median
    assert speed_summary([[COLD, 0.010, 0.010, 0.050]] * 3, tolerance=0.03)["drift"] == 0


def test_summary_of_fewer_than_three_rounds_has_no_drift():
    short = speed_summary([[COLD, 0.004, 0.006]], tolerance=0.03)
    assert short["drift"] is None and short["drifted"] is False and short["median_ms"] == pytest.approx(5.0)


def test_probe_runs_the_fixed_matmul_deterministically():
    a, b = SpeedProbe(), SpeedProbe()
    tokens, _, outer = PROBE_SHAPE
    assert a().shape == (tokens, outer) and torch.equal(a(), b())


def test_unjudged_calls_are_timed_but_do_not_hold_up_the_stop():
    class Manual(CpuClock):
        t = 0.0

        def now(self):
            return self.t

    clock, costs = Manual(), iter([1.0, 3.0, 1.0, 3.0, 1.0, 3.0])

    def steady():
        clock.t += 1.0

    def erratic():
        clock.t += next(costs, 2.0)

    rounds, stable, spreads = interleaved_rounds(
        [steady, erratic], clock, per_round=[1, 1], tolerance=0.01, deadline=time.perf_counter() + 5, judged=1
    )
    assert stable and len(rounds[0]) == len(rounds[1]) == 3  # stops on the steady call alone
    assert spreads[0] == 0 and spreads[1] > 0.01
    rounds, stable, _ = interleaved_rounds(
        [steady, erratic], clock, per_round=[1, 1], tolerance=0.01, deadline=time.perf_counter() + 0.05
    )
    assert stable and len(rounds[1]) > 3  # judged by both: it waits until the erratic call settles


def test_latency_record_carries_the_probe_and_probe_units():
    model = wrap(
        BertModel(
            BertConfig(
                hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, vocab_size=500
            )
        )
    )
    fast = {"threads": 1, "round_s": 0.05, "budget_s": 3.0, "tolerance": 0.05, "min_time_s": 0.0}
    result = measure_latency(model, model.synthetic_batch(1, 32), **fast)
    speed = result.machine_speed
    assert speed is not None and speed["calls"] == result.rounds * (CALLS_PER_ROUND - 1)
    assert speed["median_ms"] > 0 and "matmul" in speed["probe"]
    assert result.p50_probe_units == pytest.approx(result.p50_ms / speed["median_ms"], rel=1e-4)
    bare = measure_latency(model, model.synthetic_batch(1, 32), speed_probe=False, **fast)
    assert bare.machine_speed is None and bare.p50_probe_units is None  # not measured, not 0
