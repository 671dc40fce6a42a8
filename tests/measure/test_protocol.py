"""The measurement protocols on the CPU, with meters whose ticks and power are known."""

from __future__ import annotations

import bisect
import dataclasses
import random
import threading
import time

import pytest

from pytest_pruneenergy.measure.meters import DeviceState, MeterReadError
from pytest_pruneenergy.measure.protocol import (
    HostPassClock,
    ProtocolError,
    ProtocolSettings,
    auto_window_seconds,
    measure,
    measure_idle_watts,
    rewarm_settings,
    warm_up,
)

BATCH_SIZE = 4


class TickingMeter:
    """A counter that, like NVML's, changes only every ``period_seconds`` (real time).

    Power during tick k is ``watts(k)``; reads cost ``read_seconds``.
    """

    name = "ticking"
    is_estimate = False
    description = "a test counter"
    gpu_facts: dict[str, str] = {}  # noqa: RUF012

    def __init__(self, watts=100.0, *, period_seconds=0.02, read_seconds=0.0, fail_after=None):
        self._watts = watts if callable(watts) else (lambda _tick: watts)
        self._period = period_seconds
        self._read_seconds = read_seconds
        self._fail_after = fail_after
        self._reads = 0
        self._start = time.perf_counter()
        self._lock = threading.Lock()
        self._energy = [0.0]  # energy at the start of each tick

    def read_joules(self) -> float:
        with self._lock:
            self._reads += 1
            if self._fail_after is not None and self._reads > self._fail_after:
                raise MeterReadError("NVML_ERROR_GPU_IS_LOST")
            if self._read_seconds:
                time.sleep(self._read_seconds)
            tick = int((time.perf_counter() - self._start) / self._period)
            while len(self._energy) <= tick:
                k = len(self._energy) - 1
                self._energy.append(self._energy[-1] + self._watts(k) * self._period)
            return self._energy[tick]

    def device_state(self) -> DeviceState:
        return DeviceState(temperature_celsius=40.0, sm_clock_mhz=1980.0)

    def close(self) -> None:
        pass


def sleeping_pass(seconds: float = 0.001):
    return lambda: time.sleep(seconds)


FAST = ProtocolSettings(
    max_seconds=3.0,
    min_window_seconds=0.1,
    warmup_min_seconds=0.1,
    warmup_chunk_seconds=0.05,
    warmup_steady_fraction=0.5,
)


def test_constant_power_gives_watts_times_seconds_per_sample():
    meter = TickingMeter(100.0)
    stats = measure(sleeping_pass(), "cpu", meter, BATCH_SIZE, FAST)
    assert stats.protocol == "adaptive"
    assert stats.joules_per_sample_mean == pytest.approx(
        100.0 * stats.seconds_per_sample_mean, rel=0.02
    )
    assert stats.frames_per_second == pytest.approx(1 / stats.seconds_per_sample_mean)


class PerPassMeter(TickingMeter):
    """A ticking counter whose energy is ``joules_per_pass`` per pass run, interpolated inside
    the pass in flight as the protocol interpolates samples: energy per sample is then the same
    in every window however a busy machine stretches the passes."""

    def __init__(self, joules_per_pass: float, **kwargs) -> None:
        super().__init__(**kwargs)
        self.joules_per_pass = joules_per_pass
        self.ends = [time.perf_counter()]  # when each pass ended; the first: when counting began

    def run_pass(self) -> None:
        time.sleep(0.001)
        self.ends.append(time.perf_counter())

    def read_joules(self) -> float:
        # A tick's value is fixed when it is first read, as a real counter's is.
        with self._lock:
            tick = int((time.perf_counter() - self._start) / self._period)
            while len(self._energy) <= tick:
                instant = self._start + len(self._energy) * self._period
                self._energy.append(self.joules_per_pass * self._passes_by(instant))
            return self._energy[tick]

    def _passes_by(self, instant: float) -> float:
        done = bisect.bisect_right(self.ends, instant) - 1
        if done < 0:
            return 0.0
        if done + 1 >= len(self.ends):  # the pass in flight: its share so far, at most one
            return done + min(1.0, (instant - self.ends[done]) / 0.001)
        return done + (instant - self.ends[done]) / (self.ends[done + 1] - self.ends[done])


def test_adaptive_stops_once_the_ci_target_is_met():
    settings = dataclasses.replace(FAST, target_ci_fraction=0.02)
    meter = PerPassMeter(joules_per_pass=0.4)
    stats = measure(meter.run_pass, "cpu", meter, BATCH_SIZE, settings)
    assert stats.joules_per_sample_mean == pytest.approx(0.4 / BATCH_SIZE, rel=0.01)
    assert stats.converged
    assert stats.windows >= settings.min_windows
    assert stats.joules_per_sample_ci95 <= 0.02 * stats.joules_per_sample_mean
    assert stats.warmup_seconds + stats.seconds_measured < settings.max_seconds


def test_adaptive_stops_at_the_time_cap_when_the_ci_target_is_out_of_reach():
    rng = random.Random(1)
    noisy = {k: rng.choice([20.0, 200.0]) for k in range(10_000)}
    settings = ProtocolSettings(
        max_seconds=1.0,
        target_ci_fraction=0.0001,
        min_window_seconds=0.05,
        warmup_min_seconds=0.05,
        warmup_chunk_seconds=0.05,
        warmup_steady_fraction=0.5,
    )
    began = time.perf_counter()
    stats = measure(sleeping_pass(), "cpu", TickingMeter(noisy.__getitem__), BATCH_SIZE, settings)
    elapsed = time.perf_counter() - began
    assert not stats.converged
    assert stats.joules_per_sample_ci95 > 0.0001 * stats.joules_per_sample_mean
    # It stops launching when the next check would fall past the cap, and ends by the cap.
    cap = settings.max_seconds
    assert cap - 2 * settings.check_interval_seconds <= elapsed < cap + 0.15


def test_device_state_and_update_period_are_recorded():
    stats = measure(sleeping_pass(), "cpu", TickingMeter(period_seconds=0.02), BATCH_SIZE, FAST)
    assert stats.temperature_start_celsius == stats.temperature_end_celsius == 40.0
    assert stats.sm_clock_start_mhz == 1980.0
    assert stats.update_period_seconds == pytest.approx(0.02, rel=0.25)


def test_a_meter_without_device_state_still_measures():
    class Bare(TickingMeter):
        device_state = None

    stats = measure(sleeping_pass(), "cpu", Bare(), BATCH_SIZE, FAST)
    assert stats.temperature_start_celsius is None


def test_a_failing_read_mid_run_raises_meter_read_error():
    with pytest.raises(MeterReadError, match="GPU_IS_LOST"):
        measure(sleeping_pass(), "cpu", TickingMeter(fail_after=50), BATCH_SIZE, FAST)


def test_a_meter_that_never_changes_is_a_clear_error():
    settings = ProtocolSettings(max_seconds=0.5, warmup_min_seconds=0.05)
    with pytest.raises(ProtocolError, match="changed value 0 times"):
        measure(sleeping_pass(), "cpu", TickingMeter(0.0), BATCH_SIZE, settings)


def test_seed_protocol_runs_fixed_trials_bracketed_by_two_reads():
    passes = []
    settings = ProtocolSettings(
        protocol="seed", seed_trials=3, seed_warmup_passes=2, seed_timed_passes=50
    )
    meter = TickingMeter(100.0, period_seconds=0.001)
    stats = measure(lambda: (passes.append(1), time.sleep(0.001)), "cpu", meter, 2, settings)
    assert len(passes) == 3 * (2 + 50)
    assert stats.protocol == "seed"
    assert stats.windows == 3
    assert stats.samples_measured == 3 * 50 * 2
    assert stats.joules_per_sample_mean == pytest.approx(
        100.0 * stats.seconds_per_sample_mean, rel=0.1
    )


def test_idle_watts_come_from_ticks():
    watts = measure_idle_watts(TickingMeter(76.0), "cpu", seconds=0.3)
    assert watts == pytest.approx(76.0, rel=0.01)  # tick instants are known to a read


def test_idle_watts_are_none_when_the_meter_never_ticks():
    assert measure_idle_watts(TickingMeter(76.0, period_seconds=5.0), "cpu", seconds=0.1) is None


@pytest.mark.parametrize(
    ("field", "value"), [("batch_size", 0), ("max_seconds", 0.0), ("protocol", "fast")]
)
def test_invalid_arguments_are_rejected(field, value):
    batch_size = value if field == "batch_size" else BATCH_SIZE
    settings = ProtocolSettings(**{field: value}) if field != "batch_size" else FAST
    with pytest.raises(ValueError, match=field):
        measure(sleeping_pass(), "cpu", TickingMeter(), batch_size, settings)


@pytest.mark.parametrize(
    ("update_period", "window_seconds"),
    [(None, 0.5), (0.1, 0.15), (0.03, 0.045), (0.5, 0.5), (0.001, 0.02)],
)
def test_windows_close_at_the_second_update_within_bounds(update_period, window_seconds):
    assert auto_window_seconds(update_period) == pytest.approx(window_seconds)


def test_a_fast_ticking_meter_gets_short_windows_and_fits_a_short_budget():
    settings = dataclasses.replace(FAST, min_window_seconds=None, max_seconds=0.5)
    stats = measure(sleeping_pass(), "cpu", TickingMeter(period_seconds=0.005), 1, settings)
    assert stats.seconds_measured / stats.windows < 0.05  # two 5 ms periods, not NVML's 0.2 s


# -- on the simulated NVML device: 100 ms ticks, 4 ms reads, like the real counter -------------


def simulated_gpu(watts=300.0, **options):
    from pytest_pruneenergy.testing.simulated_nvml import SimulatedNvml, simulated_counter_meter

    return simulated_counter_meter(SimulatedNvml(power_watts=watts, **options))


def test_tick_aligned_energy_matches_the_true_energy_on_the_simulated_counter():
    meter = simulated_gpu(300.0)
    settings = ProtocolSettings(max_seconds=4.0, warmup_min_seconds=0.2)
    stats = measure(sleeping_pass(0.002), "cpu", meter, BATCH_SIZE, settings)
    assert stats.update_period_seconds == pytest.approx(0.1, rel=0.05)
    assert stats.joules_per_sample_mean == pytest.approx(
        300.0 * stats.seconds_per_sample_mean, rel=0.01
    )
    # Windows of two 100 ms updates (the last one may hold a leftover update or two).
    assert 0.19 <= stats.seconds_measured / stats.windows <= 0.3


def test_a_failing_counter_read_mid_run_fails_the_measurement():
    meter = simulated_gpu(300.0, fail_after_reads=40)
    settings = ProtocolSettings(max_seconds=4.0, warmup_min_seconds=0.2)
    with pytest.raises(MeterReadError):
        measure(sleeping_pass(0.002), "cpu", meter, BATCH_SIZE, settings)


def test_the_naive_bracket_of_the_same_run_is_reported_beside_ours():
    stats = measure(sleeping_pass(), "cpu", TickingMeter(100.0), BATCH_SIZE, FAST)
    assert stats.naive_joules_per_sample == pytest.approx(stats.joules_per_sample_mean, rel=0.2)
    assert stats.naive_joules_per_sample != stats.joules_per_sample_mean


def test_no_stop_before_the_minimum_measuring_time():
    settings = dataclasses.replace(FAST, target_ci_fraction=0.5, min_measure_seconds=1.0)
    stats = measure(sleeping_pass(), "cpu", TickingMeter(100.0), BATCH_SIZE, settings)
    assert stats.converged
    assert stats.seconds_measured >= 1.0


# -- an asynchronous device: the host queues passes, the device runs them in turn --------------


class QueuedDevice:
    """Runs queued passes one after another, ``pass_seconds`` each, in real time, like a GPU
    behind a host that only launches; a launch blocks once ``launch_limit`` passes are queued
    (CUDA's launch queue). Also the markers (DeviceEvents) that EventPassClock reads."""

    def __init__(self, pass_seconds: float, *, launch_limit: int = 400) -> None:
        self.pass_seconds = pass_seconds
        self.launch_limit = launch_limit
        self.ends: list[float] = []  # when each queued pass finishes
        self.most_queued_seconds = 0.0
        self.released = 0
        self.records = 0

    def _sleep_until(self, instant: float) -> None:
        time.sleep(max(0.0, instant - time.perf_counter()))

    def launch(self) -> None:
        if len(self.ends) >= self.launch_limit:
            self._sleep_until(self.ends[-self.launch_limit])
        now = time.perf_counter()
        begins = max(now, self.ends[-1]) if self.ends else now
        self.ends.append(begins + self.pass_seconds)
        self.most_queued_seconds = max(self.most_queued_seconds, self.ends[-1] - now)

    def synchronize(self) -> None:
        if self.ends:
            self._sleep_until(self.ends[-1])

    def record(self) -> float:
        self.records += 1
        return max(time.perf_counter(), self.ends[-1]) if self.ends else time.perf_counter()

    def is_done(self, event: float) -> bool:
        return time.perf_counter() >= event

    def wait(self, event: float) -> None:
        self._sleep_until(event)

    def seconds_between(self, earlier: float, later: float) -> float:
        return later - earlier

    def release(self, event: float) -> None:
        self.released += 1


def measure_on_queued_device(device: QueuedDevice, settings: ProtocolSettings):
    from pytest_pruneenergy.measure.protocol import EventPassClock

    return measure(
        device.launch,
        "cuda:0",
        TickingMeter(100.0),
        BATCH_SIZE,
        settings,
        pass_clock=EventPassClock(device),
    )


def test_the_host_stays_a_short_queue_ahead_and_the_item_ends_by_its_cap():
    # Unbounded, this host would queue 400 passes (2 s) ahead and finish 2 s past the cap.
    device = QueuedDevice(pass_seconds=0.005)
    settings = dataclasses.replace(FAST, max_seconds=1.2, target_ci_fraction=1e-6)
    began = time.perf_counter()
    stats = measure_on_queued_device(device, settings)
    elapsed = time.perf_counter() - began
    assert elapsed < settings.max_seconds + 0.15
    assert device.most_queued_seconds <= 2 * settings.max_queued_seconds + 0.01
    # The bound does not starve the device, and marker times place every pass.
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.005, rel=0.03)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.005 / BATCH_SIZE, rel=0.03)
    # Every pass's marker is handed back once read, so CUDA events can be reused.
    assert device.released >= len(device.ends)


def test_an_item_of_passes_longer_than_the_check_interval_still_ends_by_its_cap():
    # 0.4 s a pass: the next check comes a pass later, not 0.1 s; seen ending at 3.2 s of 3.
    device = QueuedDevice(pass_seconds=0.4)
    settings = dataclasses.replace(FAST, max_seconds=3.0, target_ci_fraction=1e-6)
    began = time.perf_counter()
    measure_on_queued_device(device, settings)
    assert time.perf_counter() - began < settings.max_seconds + 0.05


def test_markers_spaced_over_several_passes_still_place_every_pass():
    # 2 ms passes, a marker per 10 ms: a fifth as many markers, the same energy per sample.
    device = QueuedDevice(pass_seconds=0.002)
    settings = dataclasses.replace(
        FAST, max_seconds=1.2, target_ci_fraction=1e-6, marker_spacing_seconds=0.01
    )
    stats = measure_on_queued_device(device, settings)
    measured_passes = stats.samples_measured / BATCH_SIZE
    assert device.records < 0.5 * len(device.ends)
    assert measured_passes > 0.5 * len(device.ends)
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.002, rel=0.03)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.002 / BATCH_SIZE, rel=0.03)
    assert device.most_queued_seconds <= 2 * settings.max_queued_seconds + 0.02


def test_default_settings_measure_sub_millisecond_passes_with_shared_markers():
    device = QueuedDevice(pass_seconds=0.0005)
    settings = dataclasses.replace(
        FAST,
        max_seconds=1.2,
        target_ci_fraction=1e-6,
        marker_spacing_seconds=ProtocolSettings().marker_spacing_seconds,
    )
    stats = measure_on_queued_device(device, settings)
    assert device.records < 0.5 * len(device.ends)
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.0005, rel=0.03)
    assert stats.joules_per_sample_mean == pytest.approx(100.0 * 0.0005 / BATCH_SIZE, rel=0.03)


@pytest.mark.parametrize(
    ("spacing", "seconds_per_pass", "passes"),
    [(0.0, 0.0004, 1), (0.002, 0.0004, 5), (0.002, 0.0009, 2), (0.002, 0.01, 1), (0.002, 0.0, 1)],
)
def test_passes_per_marker_make_the_spacing(spacing, seconds_per_pass, passes):
    from pytest_pruneenergy.measure.protocol import passes_per_marker

    settings = ProtocolSettings(marker_spacing_seconds=spacing)
    assert passes_per_marker(seconds_per_pass, settings) == passes


def test_by_default_short_passes_share_a_marker_and_long_ones_keep_their_own():
    # Measured on H200s: a marker per pass cost 3.6 % of AlexNet's batch-1 FPS.
    from pytest_pruneenergy.measure.protocol import passes_per_marker

    assert passes_per_marker(0.0015, ProtocolSettings()) == 1
    assert passes_per_marker(0.0004, ProtocolSettings()) == 5
    assert passes_per_marker(0.003, ProtocolSettings()) == 1


def test_a_pass_longer_than_the_queue_bound_keeps_one_queued():
    device = QueuedDevice(pass_seconds=0.08)
    settings = dataclasses.replace(FAST, max_seconds=1.5, target_ci_fraction=1e-6)
    stats = measure_on_queued_device(device, settings)
    assert device.most_queued_seconds <= 2 * 0.08 + 0.01
    assert stats.frames_per_second == pytest.approx(BATCH_SIZE / 0.08, rel=0.05)


@pytest.mark.parametrize(
    ("seconds_per_pass", "passes"), [(0.001, 50), (0.05, 1), (0.2, 1), (0.0049, 11), (0.0, 1)]
)
def test_queue_limit_is_max_queued_seconds_of_passes(seconds_per_pass, passes):
    from pytest_pruneenergy.measure.protocol import queue_limit_passes

    assert queue_limit_passes(seconds_per_pass, ProtocolSettings()) == passes


def test_the_final_windows_are_handed_to_on_windows():
    kept = []
    stats = measure(
        sleeping_pass(), "cpu", TickingMeter(100.0), BATCH_SIZE, FAST, on_windows=kept.extend
    )
    assert len(kept) == stats.windows
    assert sum(w.seconds for w in kept) == pytest.approx(stats.seconds_measured)


class SteadyDevice:
    """Passes of a fixed length on a simulated clock: throughput is steady from the first."""

    def __init__(self, seconds_per_pass: float) -> None:
        self.now = 0.0
        self.seconds_per_pass = seconds_per_pass

    def clock(self) -> float:
        return self.now

    def run_batch(self) -> None:
        self.now += self.seconds_per_pass


def warm_up_seconds(settings: ProtocolSettings) -> float:
    device = SteadyDevice(seconds_per_pass=0.01)
    return warm_up(
        device.run_batch, HostPassClock(device.clock), settings, clock=device.clock
    ).seconds


def test_a_rewarm_on_a_steady_device_ends_at_its_minimum_not_after_two_full_chunks():
    settings = ProtocolSettings(warmup_chunk_seconds=0.25, rewarm_min_seconds=0.25)
    rewarm = rewarm_settings(settings)
    assert rewarm.warmup_min_seconds == 0.25
    assert rewarm.warmup_chunk_seconds == 0.125
    # Two chunks of the first warm-up's length: the floor the re-warm had before.
    as_before = dataclasses.replace(settings, warmup_min_seconds=settings.rewarm_min_seconds)
    assert warm_up_seconds(as_before) == pytest.approx(0.5, abs=0.011)
    assert warm_up_seconds(rewarm) == pytest.approx(0.25, abs=0.011)
    # The first warm-up is as it was: its minimum, over its own chunks.
    assert warm_up_seconds(settings) == pytest.approx(1.0, abs=0.011)


def test_a_rewarm_keeps_chunks_shorter_than_half_its_minimum():
    settings = ProtocolSettings(warmup_chunk_seconds=0.05, rewarm_min_seconds=0.25)
    assert rewarm_settings(settings).warmup_chunk_seconds == 0.05
