"""Energy: method and label always stated, SustaiNLP total_power and CO2 arithmetic, RAPL wrap-around."""

from __future__ import annotations

import time

import pytest

from harness.errors import UserError
from harness.measure import energy
from harness.measure.energy import EnergyTracker


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_estimate_is_labelled_with_its_model():
    with EnergyTracker(interval_s=0.1, pue=1.5, grid_gco2_per_kwh=400.0, tdp_w=100.0) as tracker:
        _spin(0.3)
    result = tracker.result(examples=50)
    if result.label == "measured":
        pytest.skip("this machine has energy counters")
    assert result.label == "estimated" and "TDP" in result.method and "tdp_w 100" in result.power_model
    assert result.energy_kwh > 0 and result.samples >= 2
    assert result.total_power_kwh == pytest.approx(1.5 * result.energy_kwh)
    assert result.co2_g == pytest.approx(result.energy_kwh * 400.0 * 1.5)
    assert result.energy_per_1000_examples_kwh == pytest.approx(result.energy_kwh * 1000 / 50)
    assert result.duration_s >= 0.3
    d = result.to_dict()
    assert {"method", "label", "energy_kwh", "pue", "grid_gco2_per_kwh", "co2_g"} <= set(d)
    assert d["backends"]["experiment_impact_tracker"].startswith(("unavailable", "available"))


def test_defaults_follow_sustainlp():
    with EnergyTracker() as tracker:
        pass
    assert tracker.result().pue == 1.58


def test_rapl_counters_with_wrap_around(tmp_path, monkeypatch):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "max_energy_range_uj").write_text("1000000\n")
    (zone / "energy_uj").write_text("900000\n")
    (tmp_path / "intel-rapl:0:0").mkdir()  # a subzone: part of the package, never added again
    monkeypatch.setattr(energy, "RAPL_ROOT", tmp_path)
    rapl = energy._Rapl()
    (zone / "energy_uj").write_text("100000\n")  # wrapped: 0.1 J to the top + 0.1 J after it
    assert rapl.joules(1.0) == pytest.approx(0.2)
    (zone / "energy_uj").write_text("600000\n")
    assert rapl.joules(0.5) == pytest.approx(0.25)


def test_rapl_makes_the_record_measured(tmp_path, monkeypatch):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    (zone / "energy_uj").write_text("0\n")
    monkeypatch.setattr(energy, "RAPL_ROOT", tmp_path)
    with EnergyTracker(interval_s=10) as tracker:
        _spin(0.1)
        (zone / "energy_uj").write_text("5000000\n")
    result = tracker.result()
    assert result.label == "measured" and "RAPL" in result.method and result.backends["rapl"] == "available"


def test_unknown_and_unavailable_backends_are_user_errors():
    with pytest.raises(UserError, match="unknown"):
        EnergyTracker(backend="wattmeter")
    if energy._eit_status() != "available":
        with (
            pytest.raises(UserError, match="experiment_impact_tracker"),
            EnergyTracker(backend="experiment_impact_tracker"),
        ):
            pass


def test_codecarbon_offline_tracker_runs_without_network():
    pytest.importorskip("codecarbon")
    with EnergyTracker(backend="codecarbon", country_iso_code="FRA") as tracker:
        _spin(0.2)
    result = tracker.result(examples=10)
    assert result.method == "codecarbon OfflineEmissionsTracker"
    assert result.label in ("measured", "estimated") and result.energy_kwh >= 0
    assert "codecarbon" in result.power_model
