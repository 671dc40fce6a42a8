"""The simulated GPU behaves like NVML where timing matters, and the NVML meters read it right.

Simulated time throughout, except for the power meter, whose sampling thread runs in real time.
"""

from __future__ import annotations

import math
import threading
import time

import pynvml
import pytest

from pytest_pruneenergy.measure.meters import (
    DeviceState,
    EstimatedEnergyWarning,
    EstimateMeter,
    GpuFacts,
    IntegratedPowerWarning,
    MeterReadError,
    MeterUnavailable,
    NvmlCounterMeter,
    NvmlPowerMeter,
    make_meter,
)
from pytest_pruneenergy.testing.simulated_clock import SimulatedClock
from pytest_pruneenergy.testing.simulated_nvml import (
    SimulatedNvml,
    last_tick_seconds,
    simulated_counter_meter,
)

SINE_HERTZ = 3.0


def sine_watts(seconds: float) -> float:
    return 150.0 + 50.0 * math.sin(2 * math.pi * SINE_HERTZ * seconds)


def sine_joules(seconds: float) -> float:
    """The exact integral of sine_watts from 0."""
    angular = 2 * math.pi * SINE_HERTZ
    return 150.0 * seconds + 50.0 / angular * (1 - math.cos(angular * seconds))


def virtual_sim(**settings) -> tuple[SimulatedNvml, SimulatedClock]:
    clock = SimulatedClock()
    settings.setdefault("power_watts", 200.0)
    return SimulatedNvml(clock=clock, sleep=clock.sleep, **settings), clock


def power_meter(sim: SimulatedNvml, **settings) -> NvmlPowerMeter:
    return NvmlPowerMeter(0, nvml=sim, cuda_uuid=sim.uuid, **settings)


# --- ticks and the counter ----------------------------------------------------------------------


def test_last_tick_is_the_multiple_of_the_period_at_or_before_the_instant():
    assert last_tick_seconds(0.25, 0.1) == pytest.approx(0.2)
    assert last_tick_seconds(0.3, 0.1) == pytest.approx(0.3)
    assert last_tick_seconds(0.099, 0.1) == 0.0


def test_counter_changes_only_at_ticks():
    sim, clock = virtual_sim(read_cost_seconds=0.0)
    meter = simulated_counter_meter(sim)
    previous_joules = meter.read_joules()
    change_instants = []
    for _ in range(100):
        clock.sleep(0.01)
        joules = meter.read_joules()
        if joules != previous_joules:
            change_instants.append(round(sim.elapsed(), 9))
        previous_joules = joules
    assert change_instants == [round(0.1 * tick, 9) for tick in range(1, 11)]


def test_counter_holds_the_integral_up_to_the_last_tick_to_within_a_millijoule():
    sim, clock = virtual_sim(power_watts=sine_watts, read_cost_seconds=0.0)
    meter = simulated_counter_meter(sim)
    clock.sleep(0.77)
    assert meter.read_joules() == pytest.approx(sim.true_joules(0.0, 0.7), abs=1e-3)


def test_true_joules_of_a_smooth_trace_matches_the_exact_integral():
    sim, _ = virtual_sim(power_watts=sine_watts)
    assert sim.true_joules(0.123, 2.5) == pytest.approx(
        sine_joules(2.5) - sine_joules(0.123), abs=1e-9
    )


def test_true_joules_of_a_square_wave_with_edges_on_ticks_is_exact():
    sim, _ = virtual_sim(power_watts=lambda seconds: 300.0 if seconds % 0.2 >= 0.1 else 100.0)
    assert sim.true_joules(0.0, 1.0) == pytest.approx(200.0, abs=1e-9)


def test_true_joules_of_a_constant_draw_is_watts_times_seconds():
    sim, _ = virtual_sim(power_watts=250.0)
    assert sim.true_joules(1.0, 3.5) == 625.0


def test_each_counter_read_costs_the_read_cost():
    sim, clock = virtual_sim(read_cost_seconds=0.004)
    meter = simulated_counter_meter(sim)  # reads once to check the counter exists
    for _ in range(3):
        meter.read_joules()
    assert sim.counter_reads == 4
    assert clock() == pytest.approx(4 * 0.004)


@pytest.mark.parametrize(("read_start_seconds", "sees_tick"), [(0.097, False), (0.0985, True)])
def test_a_read_sees_the_counter_as_it_was_halfway_through_the_read(read_start_seconds, sees_tick):
    sim, clock = virtual_sim(read_cost_seconds=0.004)
    meter = simulated_counter_meter(sim)
    clock.sleep(read_start_seconds - clock())
    assert (meter.read_joules() > 0) is sees_tick


# --- failures -----------------------------------------------------------------------------------


def test_counter_read_after_fail_after_reads_raises_nvml_error():
    sim, _ = virtual_sim(fail_after_reads=1)
    sim.nvmlInit()
    handle = sim.nvmlDeviceGetHandleByIndex(0)
    sim.nvmlDeviceGetTotalEnergyConsumption(handle)
    with pytest.raises(pynvml.NVMLError, match="GPU is lost"):
        sim.nvmlDeviceGetTotalEnergyConsumption(handle)


def test_counter_meter_turns_a_failing_read_into_meter_read_error():
    sim, _ = virtual_sim(fail_after_reads=2)  # construction reads once
    meter = simulated_counter_meter(sim)
    meter.read_joules()
    with pytest.raises(MeterReadError, match="GPU is lost"):
        meter.read_joules()


def test_counter_meter_is_unavailable_without_the_counter_and_releases_nvml():
    sim, _ = virtual_sim(counter_supported=False)
    with pytest.raises(MeterUnavailable, match="no NVML total-energy counter"):
        simulated_counter_meter(sim)
    assert sim.init_count == 0


# --- choosing a meter ---------------------------------------------------------------------------


def test_auto_uses_the_counter_where_the_gpu_has_one(recwarn):
    sim, _ = virtual_sim()
    meter = make_meter("auto", "cuda:0", nvml=sim, cuda_uuid=sim.uuid)
    assert isinstance(meter, NvmlCounterMeter)
    assert not recwarn.list


def test_auto_without_counter_integrates_power_and_warns_why():
    sim, _ = virtual_sim(counter_supported=False)
    with pytest.warns(IntegratedPowerWarning, match="no NVML total-energy counter"):
        meter = make_meter("auto", "cuda:0", nvml=sim, cuda_uuid=sim.uuid)
    try:
        assert isinstance(meter, NvmlPowerMeter)
        assert sim.init_count == 1  # the failed counter meter released its share
    finally:
        meter.close()


def test_auto_estimates_where_the_gpu_reports_neither_counter_nor_power(monkeypatch):
    sim, _ = virtual_sim(counter_supported=False, power_field_supported=False)
    monkeypatch.setattr(sim, "nvmlDeviceGetPowerUsage", unsupported)
    with pytest.warns(EstimatedEnergyWarning, match="no NVML total-energy counter.*no power"):
        meter = make_meter("auto", "cuda:0", nvml=sim, cuda_uuid=sim.uuid)
    assert isinstance(meter, EstimateMeter)
    assert sim.init_count == 0


def test_explicit_nvml_without_counter_suggests_nvml_power():
    sim, _ = virtual_sim(counter_supported=False)
    with pytest.raises(MeterUnavailable, match="--energy-meter=nvml-power"):
        make_meter("nvml", "cuda:0", nvml=sim, cuda_uuid=sim.uuid)


def unsupported(*args: object) -> int:
    raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)


# --- the power meter (real time) ----------------------------------------------------------------


def test_power_meter_integrates_a_constant_draw_over_real_time():
    sim = SimulatedNvml(power_watts=200.0)
    meter = power_meter(sim, sample_interval_seconds=0.001)
    try:
        start_seconds, start_joules = sim.elapsed(), meter.read_joules()
        time.sleep(0.3)
        end_seconds, end_joules = sim.elapsed(), meter.read_joules()
    finally:
        meter.close()
    watts = (end_joules - start_joules) / (end_seconds - start_seconds)
    assert watts == pytest.approx(200.0, rel=0.05)


def test_power_meter_reads_the_instant_power_field_and_says_what_it_does():
    sim, _ = virtual_sim()
    meter = power_meter(sim)
    meter.close()
    assert meter.power_source == "NVML_FI_DEV_POWER_INSTANT"
    assert (meter.name, meter.is_estimate) == ("nvml-power", False)
    assert "integrated" in meter.description
    assert "~25 % of each 100 ms (Yang et al., SC'24)" in meter.description


def test_power_meter_falls_back_to_power_usage_without_the_power_field():
    sim, _ = virtual_sim(power_field_supported=False)
    meter = power_meter(sim)
    meter.close()
    assert meter.power_source == "nvmlDeviceGetPowerUsage"
    assert "nvmlDeviceGetPowerUsage" in meter.description


def test_power_meter_raises_a_sampling_error_from_the_next_read(monkeypatch):
    sim = SimulatedNvml(power_watts=200.0)
    meter = power_meter(sim, sample_interval_seconds=0.001)
    monkeypatch.setattr(sim, "nvmlDeviceGetFieldValues", unsupported)
    try:
        with pytest.raises(
            MeterReadError, match=r"sampling the NVML power of cuda:0.*Not Supported"
        ):
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                meter.read_joules()
                time.sleep(0.001)
    finally:
        meter.close()


def test_power_meter_close_stops_sampling_and_releases_nvml_once():
    sim = SimulatedNvml(power_watts=200.0)
    meter = power_meter(sim, sample_interval_seconds=0.001)
    meter.close()
    meter.close()
    joules_at_close = meter.read_joules()
    time.sleep(0.01)
    assert meter.read_joules() == joules_at_close
    assert "pruneenergy-nvml-power-cuda:0" not in {thread.name for thread in threading.enumerate()}
    assert sim.init_count == 0


def test_power_meter_rejects_a_non_positive_sample_interval():
    sim, _ = virtual_sim()
    with pytest.raises(ValueError, match="sample_interval_seconds"):
        power_meter(sim, sample_interval_seconds=0.0)


# --- facts and device state ---------------------------------------------------------------------


@pytest.mark.parametrize("build", [simulated_counter_meter, power_meter], ids=["counter", "power"])
def test_nvml_meters_read_temperature_and_sm_clock(build):
    sim, _ = virtual_sim(temperature_celsius=61, sm_clock_mhz=1755)
    meter = build(sim)
    try:
        assert meter.device_state() == DeviceState(temperature_celsius=61.0, sm_clock_mhz=1755.0)
    finally:
        meter.close()


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("temperature_celsius", DeviceState(temperature_celsius=None, sm_clock_mhz=1980.0)),
        ("sm_clock_mhz", DeviceState(temperature_celsius=45.0, sm_clock_mhz=None)),
    ],
)
def test_device_state_is_none_where_nvml_raises(missing, expected):
    sim, _ = virtual_sim()
    meter = simulated_counter_meter(sim)
    setattr(sim, missing, None)
    assert meter.device_state() == expected


def test_nvml_meter_gives_the_simulated_gpu_facts():
    sim, _ = virtual_sim(name="Tesla P100-PCIE-16GB")
    assert simulated_counter_meter(sim).gpu_facts == GpuFacts(
        "Tesla P100-PCIE-16GB", "580.159.03", 700.0
    )
