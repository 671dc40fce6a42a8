"""The JUnit XML properties of a measured item."""

from __future__ import annotations

import dataclasses
import math

import pytest

from pytest_pruneenergy.report.junit import item_properties

from ..factories import make_measurement, make_stats


def measurement(model: str):
    """1.0 +- 0.02 J a sample at 1000 samples a second, 1000 parameters and 20,000 MACs, read by
    the NVML counter."""
    return make_measurement(
        model,
        meter="nvml-counter",
        params=1000,
        macs=20000,
        stats=make_stats(
            joules_per_sample_mean=1.0, joules_per_sample_ci95=0.02, frames_per_second=1000.0
        ),
    )


BASELINE = "AlexNet_TINY_UNPRUNED"
PRUNED = "AlexNet_TINY_random_PD1_GPR-50_PRUNED"


def test_an_item_records_its_energy_fps_counts_and_meter():
    properties = dict(item_properties(measurement("my_model"), None))
    assert properties == {
        "pruneenergy_joules_per_sample": 1.0,
        "pruneenergy_joules_per_sample_ci95": 0.02,
        "pruneenergy_fps": 1000.0,
        "pruneenergy_params": 1000,
        "pruneenergy_flops": 40000,
        "pruneenergy_meter": "nvml-counter",
    }


def test_an_item_records_the_latency_percentiles_it_knows_in_milliseconds():
    item = measurement("my_model")
    stats = dataclasses.replace(item.stats, pass_seconds_p50=0.002, pass_seconds_p90=0.0025)
    properties = dict(item_properties(dataclasses.replace(item, stats=stats), None))
    assert properties["pruneenergy_latency_p50_ms"] == pytest.approx(2.0)
    assert properties["pruneenergy_latency_p90_ms"] == pytest.approx(2.5)
    assert "pruneenergy_latency_p99_ms" not in properties  # unknown: left out, not 0


def test_a_pruned_item_records_its_reductions_against_its_baseline():
    baseline = measurement(BASELINE)
    pruned = measurement(PRUNED)
    pruned = dataclasses.replace(
        pruned,
        params=600,
        macs=5000,
        stats=dataclasses.replace(
            pruned.stats, joules_per_sample_mean=0.8, frames_per_second=1250.0
        ),
    )
    properties = dict(item_properties(pruned, baseline))
    assert properties["pruneenergy_energy_reduction_percent"] == pytest.approx(20.0)
    assert properties["pruneenergy_fps_reduction_percent"] == pytest.approx(-25.0)
    assert properties["pruneenergy_flops_reduction_percent"] == pytest.approx(75.0)
    assert properties["pruneenergy_params_reduction_percent"] == pytest.approx(40.0)
    # A baseline's reductions are against itself: 0.
    assert dict(item_properties(baseline, baseline))["pruneenergy_energy_reduction_percent"] == 0


def test_numbers_that_do_not_exist_are_left_out_and_estimates_say_so():
    item = measurement(PRUNED)
    item = dataclasses.replace(
        item,
        meter="cpu-time",
        meter_is_estimate=True,
        stats=dataclasses.replace(item.stats, joules_per_sample_ci95=math.inf),
    )
    properties = dict(item_properties(item, None))
    assert "pruneenergy_joules_per_sample_ci95" not in properties
    assert "pruneenergy_energy_reduction_percent" not in properties  # no baseline measured
    assert properties["pruneenergy_meter"] == "cpu-time (estimate)"
