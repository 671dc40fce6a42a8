"""The measurement protocol, driven by a fake clock so every figure is known in advance."""

from __future__ import annotations

import math

import pytest

from pytest_pruneenergy.measurement import WindowStats
from pytest_pruneenergy.meters import MeterReadError
from pytest_pruneenergy.protocol import (
    confidence_half_width,
    default_warmup_seconds,
    measure_windows,
    student_t_critical,
)

SECONDS_PER_PASS = 0.25  # a power of two, so clock sums are exact in floating point
BATCH_SIZE = 4


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


class ConstantPowerMeter:
    name = "estimate"
    is_estimate = True
    description = "fake: constant watts x fake clock"

    def __init__(self, watts: float, clock: FakeClock) -> None:
        self.watts = watts
        self.clock = clock
        self.read_at_seconds: list[float] = []

    def read_joules(self) -> float:
        self.read_at_seconds.append(self.clock())
        return self.watts * self.clock()

    def close(self) -> None:
        pass


class ScriptedMeter:
    """Returns the given cumulative joules, one per read, and fails when told to."""

    name = "estimate"
    is_estimate = True
    description = "fake: scripted joules"

    def __init__(self, joules: list[float], fail_at_read: int | None = None) -> None:
        self.joules = iter(joules)
        self.fail_at_read = fail_at_read
        self.reads = 0

    def read_joules(self) -> float:
        self.reads += 1
        if self.reads == self.fail_at_read:
            raise MeterReadError("NVML: GPU is lost")
        return next(self.joules)

    def close(self) -> None:
        pass


def measure(meter, clock: FakeClock, *, synchronize=lambda: None, **options) -> WindowStats:
    """12 s budget: 2 s of default warm-up, then 5 windows of 2 s, 8 passes each."""
    options.setdefault("max_seconds", 12.0)
    return measure_windows(
        lambda: clock.advance(SECONDS_PER_PASS),
        synchronize,
        meter,
        BATCH_SIZE,
        clock=clock,
        **options,
    )


def test_constant_power_gives_exact_figures_and_zero_ci():
    clock = FakeClock()
    stats = measure(ConstantPowerMeter(100.0, clock), clock)
    assert stats == WindowStats(
        joules_per_sample_mean=100.0 * SECONDS_PER_PASS / BATCH_SIZE,  # 6.25 J
        joules_per_sample_std=0.0,
        joules_per_sample_ci95=0.0,
        seconds_per_sample_mean=SECONDS_PER_PASS / BATCH_SIZE,
        seconds_per_sample_std=0.0,
        frames_per_second=BATCH_SIZE / SECONDS_PER_PASS,  # 16
        windows=5,
        samples_measured=5 * 8 * BATCH_SIZE,
        seconds_measured=10.0,
        warmup_seconds=2.0,
    )


def test_meter_is_read_only_at_window_edges():
    clock = FakeClock()
    meter = ConstantPowerMeter(100.0, clock)
    measure(meter, clock)
    edges = [2.0, 4.0, 4.0, 6.0, 6.0, 8.0, 8.0, 10.0, 10.0, 12.0]
    assert meter.read_at_seconds == edges


def test_noisy_power_gives_the_student_t_ci_of_the_window_means():
    # Window energies 200, 204, 196, 202, 198 J over 32 samples each: deviations 0, 4, -4, 2, -2
    # from 200 J, so the sample std is sqrt(40 / 4) J per window.
    reads = [0, 200, 1000, 1204, 2000, 2196, 3000, 3202, 4000, 4198]
    stats = measure(ScriptedMeter(reads), FakeClock())
    std_joules_per_sample = math.sqrt(10) / 32
    assert stats.joules_per_sample_mean == pytest.approx(200 / 32)
    assert stats.joules_per_sample_std == pytest.approx(std_joules_per_sample)
    assert stats.joules_per_sample_ci95 == pytest.approx(
        2.776445 * std_joules_per_sample / math.sqrt(5), rel=1e-6
    )


def test_waiting_for_the_device_at_window_end_counts_as_window_time():
    clock = FakeClock()
    stats = measure(ConstantPowerMeter(100.0, clock), clock, synchronize=lambda: clock.advance(0.5))
    # Warm-up 2 s + 0.5 s wait leaves 1.9 s per window: 8 passes (2 s) + the 0.5 s end wait.
    # The wait before a window starts is not counted: that would give 3 s per window.
    assert stats.warmup_seconds == 2.5
    assert stats.seconds_measured == 5 * 2.5


def test_warmup_runs_at_least_min_passes():
    clock = FakeClock()
    stats = measure(
        ConstantPowerMeter(100.0, clock), clock, warmup_seconds=0.0, min_warmup_passes=3
    )
    assert stats.warmup_seconds == 3 * SECONDS_PER_PASS


@pytest.mark.parametrize(("max_seconds", "warmup_seconds"), [(5.0, 1.0), (60.0, 2.0)])
def test_default_warmup_is_a_fifth_of_the_budget_capped_at_two_seconds(max_seconds, warmup_seconds):
    assert default_warmup_seconds(max_seconds) == warmup_seconds


def test_each_window_runs_at_least_one_pass_when_warmup_used_the_budget():
    clock = FakeClock()
    stats = measure(ConstantPowerMeter(100.0, clock), clock, warmup_seconds=20.0)
    assert stats.samples_measured == 5 * BATCH_SIZE


def test_meter_read_error_mid_run_propagates():
    meter = ScriptedMeter([0, 200, 1000, 1200], fail_at_read=3)
    with pytest.raises(MeterReadError, match="GPU is lost"):
        measure(meter, FakeClock())


@pytest.mark.parametrize(
    ("argument", "value"), [("batch_size", 0), ("max_seconds", 0.0), ("windows", 1)]
)
def test_invalid_arguments_are_rejected(argument, value):
    clock = FakeClock()
    arguments = {"batch_size": BATCH_SIZE, "max_seconds": 12.0, "windows": 5, argument: value}
    with pytest.raises(ValueError, match=argument):
        measure_windows(
            lambda: clock.advance(SECONDS_PER_PASS),
            lambda: None,
            ConstantPowerMeter(100.0, clock),
            arguments.pop("batch_size"),
            clock=clock,
            **arguments,
        )


@pytest.mark.parametrize(
    ("confidence", "degrees_of_freedom", "critical"),
    [
        (0.95, 1, 12.7062),
        (0.95, 2, 4.3027),
        (0.95, 4, 2.7764),
        (0.95, 30, 2.0423),
        (0.95, 1000, 1.9623),
        (0.99, 10, 3.1693),
    ],
)
def test_student_t_critical_matches_tables(confidence, degrees_of_freedom, critical):
    assert student_t_critical(confidence, degrees_of_freedom) == pytest.approx(critical, abs=1e-4)


def test_confidence_half_width_is_t_times_standard_error():
    # std of 1..5 is sqrt(2.5); standard error sqrt(2.5 / 5); t(0.975, 4) = 2.776445.
    assert confidence_half_width([1, 2, 3, 4, 5]) == pytest.approx(
        2.776445 * math.sqrt(0.5), rel=1e-6
    )


def test_confidence_half_width_needs_two_values():
    with pytest.raises(ValueError, match="at least 2"):
        confidence_half_width([1.0])
