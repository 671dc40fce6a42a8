"""The measurement protocols on the CPU, with meters whose ticks and power are known.

They run on a simulated clock (pytest_pruneenergy.testing.simulated_clock): a pass, a meter read
and the poller's rests take simulated time only, so seconds of protocol take milliseconds, the
poller reads at the instants its thread would, and every figure comes out the same each time.
One test runs on the host's clock, with the poller's real thread and real sleeps: that an item
ends by its cap in real time.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
import math
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from pytest_pruneenergy.measure.meters import DeviceState, Meter, MeterReadError
from pytest_pruneenergy.measure.protocol import (
    EventPassClock,
    HostPassClock,
    ProtocolError,
    ProtocolSettings,
    auto_window_seconds,
    measure,
    measure_idle_watts,
    passes_per_marker,
    queue_limit_passes,
    reason_to_stop,
    rewarm_settings,
    target_met,
    target_out_of_reach,
    warm_up,
)
from pytest_pruneenergy.measure.ticks import TickWindow
from pytest_pruneenergy.measure.window_stats import WindowStats
from pytest_pruneenergy.testing.simulated_clock import SimulatedClock, TickingMeter
from pytest_pruneenergy.testing.simulated_nvml import SimulatedNvml, simulated_counter_meter

BATCH_SIZE = 4

FAST = ProtocolSettings(
    max_seconds=3.0,
    min_window_seconds=0.1,
    warmup_min_seconds=0.1,
    warmup_chunk_seconds=0.05,
    warmup_steady_fraction=0.5,
)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


def passes_of(clock: SimulatedClock, seconds: float = 0.001) -> Callable[[], None]:
    """A forward pass that takes ``seconds`` of the clock."""
    return functools.partial(clock.sleep, seconds)


def measure_on(
    clock: SimulatedClock,
    run_batch: Callable[[], object],
    meter: Meter,
    settings: ProtocolSettings,
    *,
    batch_size: int = BATCH_SIZE,
    **options: Any,
) -> WindowStats:
    """``measure`` on the CPU, on the simulated clock, its poller a process of that clock."""
    return measure(
        run_batch,
        "cpu",
        meter,
        batch_size,
        settings,
        clock=clock,
        tick_recorder=clock.tick_recorder,
        **options,
    )


def test_constant_power_gives_watts_times_seconds_per_sample(clock):
    stats = measure_on(clock, passes_of(clock, 0.001), TickingMeter(clock, 100.0), FAST)
    assert stats.protocol == "adaptive"
    assert stats.seconds_per_sample_mean == pytest.approx(0.001 / BATCH_SIZE)
    assert stats.joules_per_sample_mean == pytest.approx(
        100.0 * stats.seconds_per_sample_mean, rel=1e-9
    )
    assert stats.frames_per_second == pytest.approx(1 / stats.seconds_per_sample_mean)


class PerPassMeter:
    """A counter ticking every ``period_seconds`` whose energy is ``joules_per_pass`` per pass
    run, interpolated inside the pass in flight as the protocol interpolates samples. Passes
    last ``0.8`` to ``1.5`` ms at random, as on a busy machine: energy per sample is still the
    same in every window, while power is not."""

    name = "per-pass"
    is_estimate = False
    description = "a counter of passes"
    gpu_facts = None

    def __init__(
        self, clock: SimulatedClock, joules_per_pass: float, *, period_seconds: float = 0.02
    ) -> None:
        self._clock = clock
        self.joules_per_pass = joules_per_pass
        self._period_seconds = period_seconds
        self._start_seconds = clock()
        self._lengths = random.Random(3)
        self.ends = [clock()]  # when each pass ended; the first: when counting began
        self._in_flight_end = self.ends[0]
        self._joules_at_ticks: list[float] = [0.0]

    def run_pass(self) -> None:
        seconds = self._lengths.uniform(0.0008, 0.0015)
        self._in_flight_end = self._clock() + seconds
        self._clock.sleep(seconds)
        self.ends.append(self._clock())

    def read_joules(self) -> float:
        # A tick's value is fixed when it is first read, as a real counter's is.
        tick = math.floor((self._clock() - self._start_seconds) / self._period_seconds + 1e-9)
        while len(self._joules_at_ticks) <= tick:
            instant = self._start_seconds + len(self._joules_at_ticks) * self._period_seconds
            self._joules_at_ticks.append(self.joules_per_pass * self._passes_by(instant))
        return self._joules_at_ticks[tick]

    def _passes_by(self, instant: float) -> float:
        done = bisect.bisect_right(self.ends, instant) - 1
        if done + 1 < len(self.ends):
            span = self.ends[done + 1] - self.ends[done]
        else:  # the pass in flight
            span = self._in_flight_end - self.ends[done]
        return done + min(1.0, (instant - self.ends[done]) / span)

    def device_state(self) -> DeviceState:
        return DeviceState()

    def close(self) -> None:
        """Nothing to release."""


def test_adaptive_stops_once_the_ci_target_is_met(clock):
    settings = dataclasses.replace(FAST, target_ci_fraction=0.02)
    meter = PerPassMeter(clock, joules_per_pass=0.4)
    stats = measure_on(clock, meter.run_pass, meter, settings)
    assert stats.joules_per_sample_mean == pytest.approx(0.4 / BATCH_SIZE, rel=0.01)
    assert stats.converged
    assert stats.stop_reason == "target"
    assert stats.windows >= settings.min_windows
    assert stats.joules_per_sample_ci95 <= 0.02 * stats.joules_per_sample_mean
    assert stats.warmup_seconds + stats.seconds_measured < settings.max_seconds


def noisy_watts() -> Callable[[int], float]:
    """20 W or 200 W in each period, at random: a CI target of 0.01 % is out of reach."""
    rng = random.Random(1)
    return {k: rng.choice([20.0, 200.0]) for k in range(10_000)}.__getitem__


OUT_OF_REACH = dataclasses.replace(
    FAST,
    max_seconds=1.0,
    target_ci_fraction=0.0001,
    min_window_seconds=0.05,
    warmup_min_seconds=0.05,
    out_of_reach_factor=math.inf,  # these items run to the cap, to test the cap
)


def test_adaptive_stops_at_the_time_cap_when_the_ci_target_is_out_of_reach(clock):
    settings = OUT_OF_REACH
    stats = measure_on(clock, passes_of(clock), TickingMeter(clock, noisy_watts()), settings)
    elapsed = clock()
    assert not stats.converged
    assert stats.stop_reason == "time cap"
    assert stats.joules_per_sample_ci95 > 0.0001 * stats.joules_per_sample_mean
    # It stops launching when the next check would fall past the cap, and ends by the cap.
    cap = settings.max_seconds
    assert cap - 2 * settings.check_interval_seconds <= elapsed <= cap


def test_an_item_whose_ci_cannot_reach_the_target_by_the_cap_stops_early(clock):
    settings = dataclasses.replace(
        OUT_OF_REACH, max_seconds=3.0, target_ci_fraction=0.01, out_of_reach_factor=2.0
    )
    stats = measure_on(clock, passes_of(clock), TickingMeter(clock, noisy_watts()), settings)
    assert not stats.converged
    assert stats.stop_reason == "out of reach"
    # Judged from its tenth window on, long before the cap; the CI it reports is over twice
    # the target even projected to the cap.
    assert stats.windows >= settings.out_of_reach_min_windows
    assert clock() < settings.max_seconds / 2
    ci = stats.joules_per_sample_ci95 / stats.joules_per_sample_mean
    measured = stats.seconds_measured
    left = settings.max_seconds - clock()
    assert ci * math.sqrt(measured / (measured + left)) > 2 * settings.target_ci_fraction

    # Allowed the whole cap (factor inf), the same item runs to it and still misses.
    never = dataclasses.replace(settings, out_of_reach_factor=math.inf)
    capped = measure_on(clock, passes_of(clock), TickingMeter(clock, noisy_watts()), never)
    assert not capped.converged
    assert capped.stop_reason == "time cap"
    assert capped.seconds_measured > 2 * stats.seconds_measured


def scattered_windows(count: int, scatter: float, rng: random.Random) -> list[TickWindow]:
    """``count`` adjacent windows of 0.2 s, 100 passes each, whose joules scatter by
    ``scatter`` (relative standard deviation) around 1 J a pass."""
    return [
        TickWindow(0.2 * k, 0.2 * (k + 1), 100.0 * (1 + scatter * rng.gauss(0.0, 1.0)), 100.0)
        for k in range(count)
    ]


def first_window_where(
    windows: list[TickWindow], judge: Callable[[list[TickWindow]], bool]
) -> int | None:
    return next((n for n in range(2, len(windows) + 1) if judge(windows[:n])), None)


@pytest.mark.parametrize("scatter", [0.03, 0.035, 0.04])
def test_items_that_would_meet_the_target_before_the_cap_are_not_stopped(scatter):
    """Window-to-window scatter from the one that mostly meets 1 % by a 9 s cap (45 windows of
    0.2 s) to the one that rarely does: no item that meets the target is stopped first."""
    settings = ProtocolSettings()
    rng = random.Random(7)
    cap_windows, met, stopped_first = 45, 0, 0
    for _ in range(200):
        windows = scattered_windows(cap_windows, scatter, rng)
        meets = first_window_where(windows, lambda w: target_met(w, 1, settings))
        if meets is None:
            continue
        met += 1
        # Only the windows before it met could have stopped it first.
        stopped_first += (
            first_window_where(
                windows[: meets - 1],
                lambda w: target_out_of_reach(
                    w, 1, settings, seconds_left=0.2 * (cap_windows - len(w))
                ),
            )
            is not None
        )
    assert met >= 10
    assert stopped_first == 0


def test_items_paced_by_the_host_are_stopped_after_their_minimum_windows():
    """Window-to-window scatter of 10 %, as eager batch-1 items on an H100: a CI of about 3 %
    at a 9 s cap. The target is out of reach, and every item stops before half its cap,
    nearly all at their tenth window."""
    settings = ProtocolSettings()
    rng = random.Random(11)
    stops = []
    for _ in range(50):
        windows = scattered_windows(45, 0.10, rng)
        assert first_window_where(windows, lambda w: target_met(w, 1, settings)) is None
        out = first_window_where(
            windows, lambda w: target_out_of_reach(w, 1, settings, seconds_left=0.2 * (45 - len(w)))
        )
        assert out is not None and out < 45 / 2
        stops.append(out)
    assert sum(out == settings.out_of_reach_min_windows for out in stops) >= 40


def test_out_of_reach_is_not_judged_before_its_minimum_windows_or_seconds():
    settings = ProtocolSettings()
    wild = scattered_windows(45, 0.5, random.Random(3))
    assert not target_out_of_reach(wild[:9], 1, settings, seconds_left=7.0)
    assert target_out_of_reach(wild[:10], 1, settings, seconds_left=7.0)
    short = [TickWindow(w.start_seconds / 4, w.end_seconds / 4, w.joules, w.passes) for w in wild]
    assert not target_out_of_reach(short[:10], 1, settings, seconds_left=7.0)  # 0.5 s measured
    # With no time left, the projection is the CI itself; with a long cap, it narrows enough.
    assert target_out_of_reach(wild[:10], 1, settings, seconds_left=0.0)
    assert not target_out_of_reach(wild[:10], 1, settings, seconds_left=1e9)


@pytest.mark.parametrize("scatter", [0.005, 0.03, 0.10, 0.5])
def test_the_reason_to_stop_agrees_with_target_met_and_out_of_reach(scatter):
    """The loop's one computation of the CI gives the two judgements' verdicts, target first,
    at every window count and time left."""
    settings = ProtocolSettings()
    windows = scattered_windows(45, scatter, random.Random(5))
    for n in range(0, 46):
        for seconds_left in (0.0, 2.0, 7.0, 1e9):
            head = windows[:n]
            if target_met(head, 1, settings):
                expected = "target"
            elif target_out_of_reach(head, 1, settings, seconds_left=seconds_left):
                expected = "out of reach"
            else:
                expected = None
            assert reason_to_stop(head, 1, settings, seconds_left=seconds_left) == expected


def test_on_the_hosts_clock_an_item_ends_by_its_cap():
    """The same, in real time: the poller a real thread, passes that sleep, the host's clock."""
    settings = dataclasses.replace(OUT_OF_REACH, max_seconds=0.5)
    meter = TickingMeter(time.perf_counter, noisy_watts())
    began = time.perf_counter()
    stats = measure(functools.partial(time.sleep, 0.001), "cpu", meter, BATCH_SIZE, settings)
    elapsed = time.perf_counter() - began
    assert not stats.converged
    cap = settings.max_seconds
    assert cap - 2 * settings.check_interval_seconds <= elapsed < cap + 0.15


def test_device_state_and_update_period_are_recorded(clock):
    meter = TickingMeter(clock, period_seconds=0.02)
    stats = measure_on(clock, passes_of(clock), meter, FAST)
    assert stats.temperature_start_celsius == stats.temperature_end_celsius == 40.0
    assert stats.sm_clock_start_mhz == 1980.0
    assert stats.update_period_seconds == pytest.approx(0.02)


def test_a_meter_without_device_state_still_measures(clock):
    class Bare(TickingMeter):
        device_state = None

    stats = measure_on(clock, passes_of(clock), Bare(clock), FAST)
    assert stats.temperature_start_celsius is None


def test_a_failing_read_mid_run_raises_meter_read_error(clock):
    with pytest.raises(MeterReadError, match="GPU_IS_LOST"):
        measure_on(clock, passes_of(clock), TickingMeter(clock, fail_after=50), FAST)


def test_a_meter_that_never_changes_is_a_clear_error(clock):
    settings = ProtocolSettings(max_seconds=0.5, warmup_min_seconds=0.05)
    with pytest.raises(ProtocolError, match="changed value 0 times"):
        measure_on(clock, passes_of(clock), TickingMeter(clock, 0.0), settings)


def test_seed_protocol_runs_fixed_trials_bracketed_by_two_reads(clock):
    passes = []

    def run_batch() -> None:
        passes.append(1)
        clock.sleep(0.001)

    settings = ProtocolSettings(
        protocol="seed", seed_trials=3, seed_warmup_passes=2, seed_timed_passes=50
    )
    meter = TickingMeter(clock, 100.0, period_seconds=0.001)
    stats = measure_on(clock, run_batch, meter, settings, batch_size=2)
    assert len(passes) == 3 * (2 + 50)
    assert stats.protocol == "seed"
    assert stats.stop_reason is None  # fixed trials: nothing decides when to stop
    assert stats.windows == 3
    assert stats.samples_measured == 3 * 50 * 2
    assert stats.joules_per_sample_mean == pytest.approx(
        100.0 * stats.seconds_per_sample_mean, rel=1e-9
    )


def idle_watts_on(clock: SimulatedClock, meter: Meter, seconds: float) -> float | None:
    return measure_idle_watts(
        meter,
        "cpu",
        seconds=seconds,
        clock=clock,
        sleep=clock.sleep,
        tick_recorder=clock.tick_recorder,
    )


def test_idle_watts_come_from_ticks(clock):
    watts = idle_watts_on(clock, TickingMeter(clock, 76.0), seconds=0.3)
    assert watts == pytest.approx(76.0, rel=1e-9)  # tick instants are known to a read
    assert clock() == pytest.approx(0.3)


def test_idle_watts_are_none_when_the_meter_never_ticks(clock):
    meter = TickingMeter(clock, 76.0, period_seconds=5.0)
    assert idle_watts_on(clock, meter, seconds=0.1) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("batch_size", 0),
        ("max_seconds", 0.0),
        ("protocol", "fast"),
        ("out_of_reach_factor", 0.5),
        ("out_of_reach_factor", math.nan),
        ("out_of_reach_min_windows", 1),
    ],
)
def test_invalid_arguments_are_rejected(clock, field, value):
    batch_size = value if field == "batch_size" else BATCH_SIZE
    settings = ProtocolSettings(**{field: value}) if field != "batch_size" else FAST
    with pytest.raises(ValueError, match=field):
        measure_on(clock, passes_of(clock), TickingMeter(clock), settings, batch_size=batch_size)


@pytest.mark.parametrize(
    ("update_period", "window_seconds"),
    [(None, 0.5), (0.1, 0.15), (0.03, 0.045), (0.5, 0.5), (0.001, 0.02)],
)
def test_windows_close_at_the_second_update_within_bounds(update_period, window_seconds):
    assert auto_window_seconds(update_period) == pytest.approx(window_seconds)


def test_a_fast_ticking_meter_gets_short_windows_and_fits_a_short_budget(clock):
    settings = dataclasses.replace(FAST, min_window_seconds=None, max_seconds=0.5)
    meter = TickingMeter(clock, period_seconds=0.005)
    stats = measure_on(clock, passes_of(clock), meter, settings, batch_size=1)
    assert stats.seconds_measured / stats.windows < 0.05  # two 5 ms periods, not NVML's 0.2 s
    assert clock() <= settings.max_seconds


# -- on the simulated NVML device: 100 ms ticks, 4 ms reads, like the real counter -------------


def simulated_gpu(clock: SimulatedClock, watts: float = 300.0, **options: Any) -> Meter:
    sim = SimulatedNvml(power_watts=watts, clock=clock, sleep=clock.sleep, **options)
    return simulated_counter_meter(sim)


def test_tick_aligned_energy_matches_the_true_energy_on_the_simulated_counter(clock):
    meter = simulated_gpu(clock, 300.0)
    settings = ProtocolSettings(max_seconds=4.0, warmup_min_seconds=0.2)
    stats = measure_on(clock, passes_of(clock, 0.002), meter, settings)
    assert stats.update_period_seconds == pytest.approx(0.1, rel=0.05)
    assert stats.joules_per_sample_mean == pytest.approx(
        300.0 * stats.seconds_per_sample_mean, rel=0.01
    )
    # Windows of two 100 ms updates (the last one may hold a leftover update or two).
    assert 0.19 <= stats.seconds_measured / stats.windows <= 0.3


def test_a_failing_counter_read_mid_run_fails_the_measurement(clock):
    meter = simulated_gpu(clock, 300.0, fail_after_reads=40)
    settings = ProtocolSettings(max_seconds=4.0, warmup_min_seconds=0.2)
    with pytest.raises(MeterReadError):
        measure_on(clock, passes_of(clock, 0.002), meter, settings)


def test_the_naive_bracket_of_the_same_run_is_reported_beside_ours(clock):
    stats = measure_on(clock, passes_of(clock), TickingMeter(clock, 100.0), FAST)
    assert stats.naive_joules_per_sample == pytest.approx(stats.joules_per_sample_mean, rel=0.2)
    assert stats.naive_joules_per_sample != stats.joules_per_sample_mean


def test_no_stop_before_the_minimum_measuring_time(clock):
    settings = dataclasses.replace(FAST, target_ci_fraction=0.5, min_measure_seconds=1.0)
    stats = measure_on(clock, passes_of(clock), TickingMeter(clock, 100.0), settings)
    assert stats.converged
    assert stats.seconds_measured >= 1.0


# -- an asynchronous device: the host queues passes, the device runs them in turn --------------


class QueuedDevice:
    """Runs queued passes one after another, ``pass_seconds`` each, like a GPU behind a host
    that only launches (a launch takes no time); a launch blocks once ``launch_limit`` passes
    are queued (CUDA's launch queue). Also the markers (DeviceEvents) that EventPassClock
    reads."""

    def __init__(
        self, clock: SimulatedClock, pass_seconds: float, *, launch_limit: int = 400
    ) -> None:
        self.clock = clock
        self.pass_seconds = pass_seconds
        self.launch_limit = launch_limit
        self.ends: list[float] = []  # when each queued pass finishes
        self.most_queued_seconds = 0.0
        self.released = 0
        self.records = 0

    def _sleep_until(self, instant: float) -> None:
        self.clock.sleep(max(0.0, instant - self.clock()))

    def launch(self) -> None:
        if len(self.ends) >= self.launch_limit:
            self._sleep_until(self.ends[-self.launch_limit])
        now = self.clock()
        begins = max(now, self.ends[-1]) if self.ends else now
        self.ends.append(begins + self.pass_seconds)
        self.most_queued_seconds = max(self.most_queued_seconds, self.ends[-1] - now)

    def synchronize(self) -> None:
        if self.ends:
            self._sleep_until(self.ends[-1])

    def record(self) -> float:
        self.records += 1
        now = self.clock()
        return max(now, self.ends[-1]) if self.ends else now

    def is_done(self, event: float) -> bool:
        return self.clock() >= event

    def wait(self, event: float) -> None:
        self._sleep_until(event)

    def seconds_between(self, earlier: float, later: float) -> float:
        return later - earlier

    def release(self, event: float) -> None:
        self.released += 1


def measure_on_queued_device(device: QueuedDevice, settings: ProtocolSettings) -> WindowStats:
    clock = device.clock
    return measure(
        device.launch,
        "cuda:0",
        TickingMeter(clock, 100.0),
        BATCH_SIZE,
        settings,
        clock=clock,
        tick_recorder=clock.tick_recorder,
        pass_clock=EventPassClock(device, clock),
    )


def test_the_host_stays_a_short_queue_ahead_and_the_item_ends_by_its_cap(clock):
    # Unbounded, this host would queue 400 passes (2 s) ahead and finish 2 s past the cap.
    device = QueuedDevice(clock, pass_seconds=0.005)
    settings = dataclasses.replace(FAST, max_seconds=1.2, target_ci_fraction=1e-6)
    stats = measure_on_queued_device(device, settings)
    assert clock() <= settings.max_seconds
    assert device.most_queued_seconds <= 2 * settings.max_queued_seconds + 0.01
    # The bound does not starve the device, and marker times place every pass.
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.005, rel=1e-9)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.005 / BATCH_SIZE, rel=1e-9)
    # Every pass's marker is handed back once read, so CUDA events can be reused.
    assert device.released >= len(device.ends)


def test_an_item_of_passes_longer_than_the_check_interval_still_ends_by_its_cap(clock):
    # 0.4 s a pass: the next check comes a pass later, not 0.1 s; seen ending at 3.2 s of 3.
    device = QueuedDevice(clock, pass_seconds=0.4)
    settings = dataclasses.replace(FAST, max_seconds=3.0, target_ci_fraction=1e-6)
    measure_on_queued_device(device, settings)
    assert clock() <= settings.max_seconds


def test_markers_spaced_over_several_passes_still_place_every_pass(clock):
    # 2 ms passes, a marker per 10 ms: a fifth as many markers, the same energy per sample.
    device = QueuedDevice(clock, pass_seconds=0.002)
    settings = dataclasses.replace(
        FAST, max_seconds=1.2, target_ci_fraction=1e-6, marker_spacing_seconds=0.01
    )
    stats = measure_on_queued_device(device, settings)
    measured_passes = stats.samples_measured / BATCH_SIZE
    assert device.records < 0.5 * len(device.ends)
    assert measured_passes > 0.5 * len(device.ends)
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.002, rel=1e-9)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.002 / BATCH_SIZE, rel=1e-9)
    assert device.most_queued_seconds <= 2 * settings.max_queued_seconds + 0.02


def test_default_settings_measure_sub_millisecond_passes_with_shared_markers(clock):
    device = QueuedDevice(clock, pass_seconds=0.0005)
    settings = dataclasses.replace(
        FAST,
        max_seconds=1.2,
        target_ci_fraction=1e-6,
        marker_spacing_seconds=ProtocolSettings().marker_spacing_seconds,
    )
    stats = measure_on_queued_device(device, settings)
    assert device.records < 0.5 * len(device.ends)
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.0005, rel=1e-9)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.0005 / BATCH_SIZE, rel=1e-9)


@pytest.mark.parametrize(
    ("spacing", "seconds_per_pass", "passes"),
    [(0.0, 0.0004, 1), (0.002, 0.0004, 5), (0.002, 0.0009, 2), (0.002, 0.01, 1), (0.002, 0.0, 1)],
)
def test_passes_per_marker_make_the_spacing(spacing, seconds_per_pass, passes):
    settings = ProtocolSettings(marker_spacing_seconds=spacing)
    assert passes_per_marker(seconds_per_pass, settings) == passes


def test_by_default_short_passes_share_a_marker_and_long_ones_keep_their_own():
    # Measured on H200s: a marker per pass cost 3.6 % of AlexNet's batch-1 FPS.
    assert passes_per_marker(0.0015, ProtocolSettings()) == 1
    assert passes_per_marker(0.0004, ProtocolSettings()) == 5
    assert passes_per_marker(0.003, ProtocolSettings()) == 1


def test_a_pass_longer_than_the_queue_bound_keeps_one_queued(clock):
    device = QueuedDevice(clock, pass_seconds=0.08)
    settings = dataclasses.replace(FAST, max_seconds=1.5, target_ci_fraction=1e-6)
    stats = measure_on_queued_device(device, settings)
    assert device.most_queued_seconds <= 2 * 0.08 + 0.01
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.08, rel=1e-9)


@pytest.mark.parametrize(
    ("seconds_per_pass", "passes"), [(0.001, 50), (0.05, 1), (0.2, 1), (0.0049, 11), (0.0, 1)]
)
def test_queue_limit_is_max_queued_seconds_of_passes(seconds_per_pass, passes):
    assert queue_limit_passes(seconds_per_pass, ProtocolSettings()) == passes


def test_the_final_windows_are_handed_to_on_windows(clock):
    kept = []
    meter = TickingMeter(clock, 100.0)
    stats = measure_on(clock, passes_of(clock), meter, FAST, on_windows=kept.extend)
    assert len(kept) == stats.windows
    assert sum(w.seconds for w in kept) == pytest.approx(stats.seconds_measured)


def warm_up_seconds(settings: ProtocolSettings) -> float:
    """The warm-up of a device whose passes take 10 ms from the first: steady at once."""
    clock = SimulatedClock()
    return warm_up(passes_of(clock, 0.01), HostPassClock(clock), settings, clock=clock).seconds


def test_a_rewarm_on_a_steady_device_ends_at_its_minimum_not_after_two_full_chunks():
    settings = ProtocolSettings(
        warmup_min_seconds=1.0, warmup_chunk_seconds=0.25, rewarm_min_seconds=0.25
    )
    rewarm = rewarm_settings(settings)
    assert rewarm.warmup_min_seconds == 0.25
    assert rewarm.warmup_chunk_seconds == 0.125
    # Two chunks of the first warm-up's length: the floor the re-warm had before.
    as_before = dataclasses.replace(settings, warmup_min_seconds=settings.rewarm_min_seconds)
    # Each within a pass (10 ms) of it: a chunk ends with the pass that completes it.
    assert warm_up_seconds(as_before) == pytest.approx(0.5, abs=0.011)
    assert warm_up_seconds(rewarm) == pytest.approx(0.25, abs=0.011)
    # The first warm-up is as it was: its minimum, over its own chunks.
    assert warm_up_seconds(settings) == pytest.approx(1.0, abs=0.011)


def test_a_rewarm_keeps_chunks_shorter_than_half_its_minimum():
    settings = ProtocolSettings(warmup_chunk_seconds=0.05, rewarm_min_seconds=0.25)
    assert rewarm_settings(settings).warmup_chunk_seconds == 0.05


# -- latency percentiles ----------------------------------------------------------------------


def test_on_the_host_each_pass_is_timed_and_its_percentiles_reported(clock):
    # Every 20th pass takes 5 ms, the others 1 ms: 5 % slow ones, so p90 1 ms and p99 5 ms.
    count = itertools.count()

    def run_batch() -> None:
        clock.sleep(0.005 if next(count) % 20 == 19 else 0.001)

    stats = measure_on(clock, run_batch, TickingMeter(clock, 100.0), FAST)
    assert stats.samples_measured / BATCH_SIZE > 200
    assert stats.pass_seconds_p50 == pytest.approx(0.001)
    assert stats.pass_seconds_p90 == pytest.approx(0.001)
    assert stats.pass_seconds_p99 == pytest.approx(0.005)


def test_on_a_device_a_marker_per_pass_times_each_pass(clock):
    device = QueuedDevice(clock, pass_seconds=0.005)
    settings = dataclasses.replace(FAST, max_seconds=1.2)
    stats = measure_on_queued_device(device, settings)
    assert stats.pass_seconds_p50 == pytest.approx(0.005)
    assert stats.pass_seconds_p99 == pytest.approx(0.005)


def test_short_passes_sharing_a_marker_leave_the_percentiles_unknown(clock):
    device = QueuedDevice(clock, pass_seconds=0.0005)
    settings = dataclasses.replace(
        FAST, max_seconds=1.2, marker_spacing_seconds=ProtocolSettings().marker_spacing_seconds
    )
    stats = measure_on_queued_device(device, settings)
    assert device.records < 0.5 * len(device.ends)  # markers were shared
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.0005, rel=1e-9)
    assert stats.pass_time_percentiles.p50_seconds is None
    assert stats.pass_seconds_p99 is None


def test_the_seed_protocol_times_trials_and_reports_no_percentiles(clock):
    settings = ProtocolSettings(
        protocol="seed", seed_trials=2, seed_warmup_passes=1, seed_timed_passes=200
    )
    meter = TickingMeter(clock, 100.0, period_seconds=0.001)
    stats = measure_on(clock, passes_of(clock), meter, settings)
    assert (stats.pass_seconds_p50, stats.pass_seconds_p90, stats.pass_seconds_p99) == (
        None,
        None,
        None,
    )
