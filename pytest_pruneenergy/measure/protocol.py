"""How one model at one batch size is measured.

``adaptive`` (the default): warm up until throughput is steady, then run the model without a
break while a background poller records the meter's ticks (the instants its value changes) and
each forward pass marks its completion (a CUDA event on GPUs; one per few passes where a pass
takes 1 ms or less). Energy is read only at ticks, never at arbitrary instants, and set
against the samples completed by those same instants, interpolated inside the pass a tick
falls in. The run is cut, tick to tick, into windows of two
update periods; joules per sample is all their energy over all their samples, and
its 95 % CI comes from how the windows scatter around that ratio, so power that wanders from
update to update widens it. The run goes on until the CI half-width is within
``target_ci_fraction`` of the estimate (after at least ``min_windows`` windows and
``min_measure_seconds``), or ``max_seconds`` is spent. Time per sample and FPS come from the
same windows. The meter is never read by the thread launching passes.

The host stays no more than about ``max_queued_seconds`` of work ahead of the device, enough to
keep it busy: so a decision to stop takes effect at once, not after a deep queue drains, and an
item ends by ``max_seconds``, warm-up included.

``seed``: PruneEnergyAnalyzer's protocol, for comparison and to reproduce published numbers:
20 trials, each 100 warm-up passes and 500 timed passes bracketed by two meter reads.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from .stats import RatioEstimate, confidence_half_width, ratio_estimate
from .ticks import (
    CompletionTimeline,
    TickRecorder,
    TickWindow,
    on_periodic_grid,
    tick_windows,
    update_period_seconds,
)
from .window_stats import WindowStats

if TYPE_CHECKING:
    from .meters import DeviceState, Meter


# adaptive: windows until the CI target or the time cap; seed: the seed tool's fixed trials.
PROTOCOLS = ("adaptive", "seed")
DEFAULT_MAX_SECONDS = 10.0
DEFAULT_TARGET_CI_FRACTION = 0.01


class ProtocolError(Exception):
    """The protocol could not produce a figure (e.g. the meter never changed)."""


@dataclass(frozen=True)
class ProtocolSettings:
    protocol: str = "adaptive"
    target_ci_fraction: float = DEFAULT_TARGET_CI_FRACTION
    max_seconds: float = DEFAULT_MAX_SECONDS
    # None: two of the meter's update periods (NVML: 0.2 s), as observed during warm-up
    # (auto_window_seconds).
    min_window_seconds: float | None = None
    min_windows: int = 3
    # Shorter runs read low on some GPUs (thermal settling) and give a CI from too few updates.
    min_measure_seconds: float = 1.5
    # Warm-up: at least this long, and until two consecutive chunks agree on throughput.
    warmup_min_seconds: float = 1.0
    # For a model that has just run at another batch size: the device is hot and the model's
    # memory allocated, so the same steadiness test ends the warm-up sooner (rewarm_settings).
    rewarm_min_seconds: float = 0.25
    warmup_chunk_seconds: float = 0.25
    warmup_steady_fraction: float = 0.03
    warmup_max_fraction: float = 0.4  # of max_seconds
    check_interval_seconds: float = 0.1
    # GPU work queued ahead of the host at most (about): enough to keep the device busy, short
    # enough that a stop decided now takes effect now, not when a deep queue drains.
    max_queued_seconds: float = 0.05
    # A completion marker (CUDA event) per whole number of passes making up to this much device
    # time, where a pass takes at most half of it (0: one per pass). Recording and reading an
    # event per pass slows a launch-bound model measurably; spaced ones do not, and still place
    # every tick within one marker's span (measured: docs/benchmarks/harness-cost/).
    marker_spacing_seconds: float = 0.002
    seed_trials: int = 20
    seed_warmup_passes: int = 100
    seed_timed_passes: int = 500


# -- completion times -----------------------------------------------------------------------


class HostPassClock:
    """Completion instants for a device whose passes finish when the call returns (CPU)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._completions: list[float] = []

    def synchronize(self) -> None:
        """Nothing to wait for: a CPU pass has finished when its call returns."""

    def begin(self) -> float:
        self._completions = []
        return self._clock()

    def after_pass(self) -> None:
        self._completions.append(self._clock())

    def limit_queue(self, passes: int) -> None:
        """Nothing is ever queued on the host."""

    def space_markers(self, passes: int) -> None:
        """Every pass is timed by the host clock as it returns: no markers to space."""

    def queued_passes(self) -> int:
        return 0

    @property
    def queue_limit(self) -> int:
        return 0

    def completions(self, *, wait: bool = False) -> list[float]:
        return list(self._completions)


class DeviceEvents(Protocol):
    """Markers recorded into an asynchronous device's queue of work (CUDA events)."""

    def synchronize(self) -> None:
        """Wait until everything queued so far has run."""

    def record(self) -> Any:
        """Queue a marker after the work queued so far."""

    def is_done(self, event: Any) -> bool: ...

    def wait(self, event: Any) -> None: ...

    def seconds_between(self, earlier: Any, later: Any) -> float:
        """Device time from one completed marker to another."""

    def release(self, event: Any) -> None:
        """The marker has been read and may be recorded again."""


class CudaEvents:
    """CUDA events on the current stream of one device, reused once read.

    A fresh ``torch.cuda.Event`` per pass is a CUDA event created at its first record and
    destroyed when Python drops it, two driver calls more per pass. Reuse moved the harness's
    cost at batch 1 by less than the noise (measured: docs/benchmarks/harness-cost/); kept
    because it can only remove work from the hot loop.
    """

    def __init__(self, device: str, *, reuse: bool = True) -> None:
        import torch

        self._torch = torch
        self._device = torch.device(device)
        # Looked up once: entering torch.cuda.device() on every pass costs more than the event.
        self._stream = torch.cuda.current_stream(self._device)
        self._reuse = reuse
        self._free: list[Any] = []

    def synchronize(self) -> None:
        self._torch.cuda.synchronize(self._device)

    def record(self) -> Any:
        event = self._free.pop() if self._free else self._torch.cuda.Event(enable_timing=True)
        event.record(self._stream)
        return event

    def release(self, event: Any) -> None:
        if self._reuse:
            self._free.append(event)

    def is_done(self, event: Any) -> bool:
        return bool(event.query())

    def wait(self, event: Any) -> None:
        event.synchronize()

    def seconds_between(self, earlier: Any, later: Any) -> float:
        return earlier.elapsed_time(later) / 1000


class EventPassClock:
    """Completion instants of passes on an asynchronous device, from markers queued after them;
    and a bound on how far the host runs ahead of the device.

    A marker follows every pass, or every ``passes_per_marker`` passes (``space_markers``):
    the passes between two markers are taken to end evenly spaced between them. Marker times
    are relative to a reference marker, recorded on an idle device right after a synchronize,
    so it completes at once and its host time anchors the rest.
    """

    def __init__(
        self, events: DeviceEvents, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._events = events
        self._clock = clock
        self._reference: Any = None
        self._reference_seconds = 0.0
        self._pending: list[tuple[Any, int]] = []  # (marker, passes it closes)
        self._completions: list[float] = []
        self._unmarked = 0
        self._markers = 0
        self._passes_per_marker = 1
        self._queue_stride = 0  # in passes; 0: no limit
        self._queue_stride_markers = 0

    def synchronize(self) -> None:
        self._events.synchronize()

    def begin(self) -> float:
        self.synchronize()
        for event, _ in self._pending:  # all complete after the synchronize, never to be read
            self._events.release(event)
        if self._reference is not None:
            self._events.release(self._reference)
        self._reference = self._events.record()
        self._events.wait(self._reference)
        self._reference_seconds = self._clock()
        self._pending = []
        self._completions = []
        self._unmarked = 0
        self._markers = 0
        return self._reference_seconds

    def after_pass(self) -> None:
        self._unmarked += 1
        if self._unmarked >= self._passes_per_marker:
            self._mark()

    def _mark(self) -> None:
        self._pending.append((self._events.record(), self._unmarked))
        self._unmarked = 0
        self._markers += 1
        stride = self._queue_stride_markers
        # Every ``stride`` markers, wait for the marker ``stride`` back: at most 2 x stride stay
        # queued, and a launch-bound loop (whose passes are long done) pays one cheap call per
        # stride, not one per pass.
        if stride and self._markers % stride == 0 and len(self._pending) > stride:
            self._events.wait(self._pending[-stride - 1][0])

    def space_markers(self, passes: int) -> None:
        """One marker per ``passes`` passes instead of one per pass."""
        self._passes_per_marker = max(1, passes)
        self._set_queue_stride()

    def limit_queue(self, passes: int) -> None:
        """Keep ``passes`` to twice as many passes queued ahead of the device, no more."""
        self._queue_stride = max(1, passes)
        self._set_queue_stride()

    def _set_queue_stride(self) -> None:
        if self._queue_stride:
            self._queue_stride_markers = math.ceil(self._queue_stride / self._passes_per_marker)

    def queued_passes(self) -> int:
        """Passes launched and not seen complete at the last ``completions()``."""
        return sum(passes for _, passes in self._pending) + self._unmarked

    @property
    def queue_limit(self) -> int:
        """Passes the queue may grow by before the host waits (0: no limit set)."""
        return self._queue_stride_markers * self._passes_per_marker

    def completions(self, *, wait: bool = False) -> list[float]:
        if wait:
            if self._unmarked:
                self._mark()
            self.synchronize()
        done = 0
        for event, passes in self._pending:
            if not (wait or self._events.is_done(event)):
                break
            ended = self._reference_seconds + self._events.seconds_between(self._reference, event)
            previous = self._completions[-1] if self._completions else self._reference_seconds
            step = (ended - previous) / passes
            self._completions.extend(previous + step * k for k in range(1, passes + 1))
            self._events.release(event)
            done += 1
        del self._pending[:done]
        return list(self._completions)


PassClock = HostPassClock | EventPassClock


def make_pass_clock(device: str, clock: Callable[[], float] = time.perf_counter) -> PassClock:
    if device.startswith("cuda"):
        return EventPassClock(CudaEvents(device), clock)
    return HostPassClock(clock)


# -- the protocols --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """One model at one batch size, to be measured: what both protocols work on."""

    run_batch: Callable[[], object]
    pass_clock: PassClock
    meter: Meter
    batch_size: int
    settings: ProtocolSettings
    clock: Callable[[], float]
    tick_recorder: Callable[[Meter], TickRecorder]

    def parts(self) -> tuple[Any, PassClock, Meter, int, ProtocolSettings, Callable[[], float]]:
        return (
            self.run_batch,
            self.pass_clock,
            self.meter,
            self.batch_size,
            self.settings,
            self.clock,
        )


def measure(
    run_batch: Callable[[], object],
    device: str,
    meter: Meter,
    batch_size: int,
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.perf_counter,
    on_windows: Callable[[Sequence[TickWindow]], None] | None = None,
    pass_clock: PassClock | None = None,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
) -> WindowStats:
    """Measure energy per sample and FPS of ``run_batch`` (one forward pass of one batch).

    ``on_windows``: called with the adaptive protocol's final windows (benchmarks use it).
    ``pass_clock``: how completions are timed (default: the device's; tests give their own).
    ``tick_recorder``: how the meter's ticks are recorded (default: a TickRecorder polling in
    a thread, on ``clock``; a simulated clock gives its own).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not settings.max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {settings.max_seconds}")
    if settings.protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    job = _Job(
        run_batch,
        pass_clock or make_pass_clock(device, clock),
        meter,
        batch_size,
        settings,
        clock,
        tick_recorder or functools.partial(TickRecorder, clock=clock),
    )
    if settings.protocol == "seed":
        return _measure_seed(job)
    return _measure_adaptive(job, on_windows)


def _measure_adaptive(
    job: _Job, on_windows: Callable[[Sequence[TickWindow]], None] | None
) -> WindowStats:
    """The adaptive protocol; ``on_windows`` (for benchmarks) receives the final windows."""
    run_batch, pass_clock, meter, batch_size, settings, clock = job.parts()
    began = clock()
    with job.tick_recorder(meter) as recorder:
        warmup = warm_up(run_batch, pass_clock, settings, clock=clock)
        window_seconds = settings.min_window_seconds or auto_window_seconds(
            update_period_seconds(recorder.ticks())
        )
        state_start = device_state(meter)
        pass_clock.space_markers(passes_per_marker(warmup.seconds_per_pass, settings))
        start = pass_clock.begin()
        deadline = began + settings.max_seconds
        next_check = start + settings.check_interval_seconds
        while True:
            run_batch()
            pass_clock.after_pass()
            now = clock()
            if now < next_check:
                continue
            recorder.check()
            timeline = CompletionTimeline(start, pass_clock.completions())
            windows = tick_windows(
                on_periodic_grid(recorder.ticks()), timeline, min_window_seconds=window_seconds
            )
            if target_met(windows, batch_size, settings):
                break
            if now + seconds_to_finish_after_next_check(pass_clock, warmup, settings) >= deadline:
                break  # going on to the next check could end the item past the cap
            next_check = now + settings.check_interval_seconds
        timeline = CompletionTimeline(start, pass_clock.completions(wait=True))
        state_end = device_state(meter)
    recorder.check()  # the recorder took a last read on exit: a tick just before the end counts
    ticks = recorder.ticks()
    windows = tick_windows(on_periodic_grid(ticks), timeline, min_window_seconds=window_seconds)
    if len(windows) < 2:
        inside = sum(timeline.start_seconds <= t.seconds <= timeline.end_seconds for t in ticks)
        raise ProtocolError(
            f"{meter.name} changed value {inside} times in "
            f"{timeline.end_seconds - timeline.start_seconds:.2f} s of measurement: too few "
            f"for two windows of {window_seconds:g} s. Raise --energy-max-seconds."
        )
    if on_windows is not None:
        on_windows(windows)
    naive = None
    naive_start = recorder.value_at(timeline.start_seconds)
    naive_end = recorder.value_at(timeline.end_seconds)
    if naive_start is not None and naive_end is not None and timeline.passes:
        naive = (naive_end - naive_start) / (timeline.passes * batch_size)
    return summarize_tick_windows(
        windows,
        batch_size,
        warmup_seconds=warmup.seconds,
        # Judged on the final windows, so the flag always agrees with the CI reported.
        converged=target_met(windows, batch_size, settings),
        target_ci_fraction=settings.target_ci_fraction,
        naive_joules_per_sample=naive,
        update_period=update_period_seconds(ticks),
        state_start=state_start,
        state_end=state_end,
    )


# Wrapping up after the last pass: the poller's last read (~4 ms on NVML), the device state,
# the final completions. Allowed with a margin over what it was seen to take, so that an item
# ends within --energy-max-seconds (docs/measurement.md, the protocol's "Stop").
FINISH_SECONDS = 0.05


def seconds_to_finish_after_next_check(
    pass_clock: PassClock, warmup: WarmUp, settings: ProtocolSettings
) -> float:
    """From now, the longest the item would take if it went on to the next check and stopped
    there: until that check (an interval, or a pass where a pass is longer), then the queue
    (what is queued now, plus what it may grow by before the host waits), then the wrap-up."""
    pass_seconds = warmup.seconds_per_pass
    to_next_check = max(settings.check_interval_seconds, pass_seconds)
    queue = (pass_clock.queued_passes() + pass_clock.queue_limit) * pass_seconds
    return to_next_check + queue + FINISH_SECONDS


def target_met(windows: Sequence[TickWindow], batch_size: int, settings: ProtocolSettings) -> bool:
    """Enough windows, enough seconds, and a CI within the target."""
    if len(windows) < settings.min_windows:
        return False
    if windows[-1].end_seconds - windows[0].start_seconds < settings.min_measure_seconds:
        return False
    return ci_fraction(windows, batch_size) <= settings.target_ci_fraction


# Two updates a window: longer windows scatter mostly from power that wanders between updates,
# so they buy little precision, while shorter ones give the CI more degrees of freedom; a
# simulation of that scatter plus tick-placing error (tests/measure/test_stats.py) still covers
# ~95 % with two-update windows while converging in 1.5 s far more often than with five.
WINDOW_UPDATE_PERIODS = 2
MIN_AUTO_WINDOW_SECONDS = 0.02
MAX_AUTO_WINDOW_SECONDS = 0.5


def auto_window_seconds(update_period: float | None) -> float:
    """The shortest span that closes a window: 1.5 update periods, so that a window ends at the
    second tick after its start even when that tick comes a little early; within
    [0.02 s, 0.5 s], and 0.5 s when the period is unknown.

    A continuously updating meter (the estimate) needs no long windows; NVML's 100 ms ticks do.
    """
    if update_period is None:
        return MAX_AUTO_WINDOW_SECONDS
    return min(
        MAX_AUTO_WINDOW_SECONDS,
        max(MIN_AUTO_WINDOW_SECONDS, (WINDOW_UPDATE_PERIODS - 0.5) * update_period),
    )


def passes_per_marker(seconds_per_pass: float, settings: ProtocolSettings) -> int:
    """How many passes make ``marker_spacing_seconds`` of device work (1 when it is 0)."""
    if settings.marker_spacing_seconds <= 0 or seconds_per_pass <= 0:
        return 1
    return max(1, math.floor(settings.marker_spacing_seconds / seconds_per_pass))


def queue_limit_passes(seconds_per_pass: float, settings: ProtocolSettings) -> int:
    """How many passes make ``max_queued_seconds`` of device work (at least one)."""
    if seconds_per_pass <= 0:
        return 1
    return max(1, math.ceil(settings.max_queued_seconds / seconds_per_pass))


def rewarm_settings(settings: ProtocolSettings) -> ProtocolSettings:
    """The warm-up of a model that has just run at another batch size: at least
    ``rewarm_min_seconds``, judged over chunks of half that.

    Steadiness compares two chunks, so a warm-up lasts at least two of them: with the first
    warm-up's chunks a re-warm could not end before twice ``warmup_chunk_seconds``, whatever
    its minimum.
    """
    return dataclasses.replace(
        settings,
        warmup_min_seconds=settings.rewarm_min_seconds,
        warmup_chunk_seconds=min(settings.warmup_chunk_seconds, settings.rewarm_min_seconds / 2),
    )


@dataclass(frozen=True)
class WarmUp:
    seconds: float
    seconds_per_pass: float  # in the last, steady chunk


def warm_up(
    run_batch: Callable[[], object],
    pass_clock: PassClock,
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> WarmUp:
    """Run until throughput is steady; return the seconds spent and the steady pass time.

    Steady: at least ``warmup_min_seconds`` have passed (cuDNN autotuning, the allocator and
    clocks settle within that on the GPUs measured) and the last two chunks of
    ``warmup_chunk_seconds`` ran within ``warmup_steady_fraction`` of each other's passes per
    second. ``warmup_max_fraction`` of the item's budget caps it.

    The queue of passes is bounded from the first chunk on (one pass ahead, then
    ``max_queued_seconds`` at the last chunk's rate): unbounded, a host that launches faster
    than the device runs would queue up to CUDA's launch limit, half a second of a large model,
    and every chunk would overrun by that.
    """
    start = clock()
    cap = start + settings.warmup_max_fraction * settings.max_seconds
    previous_rate = None
    pass_clock.limit_queue(1)
    while True:
        chunk_start = pass_clock.begin()
        passes = 0
        while passes == 0 or clock() - chunk_start < settings.warmup_chunk_seconds:
            run_batch()
            pass_clock.after_pass()
            passes += 1
        pass_clock.synchronize()
        now = clock()
        rate = passes / (now - chunk_start)
        pass_clock.limit_queue(queue_limit_passes(1 / rate, settings))
        steady = previous_rate is not None and (
            abs(rate - previous_rate) <= settings.warmup_steady_fraction * previous_rate
        )
        if (steady and now - start >= settings.warmup_min_seconds) or now >= cap:
            return WarmUp(seconds=now - start, seconds_per_pass=1 / rate)
        previous_rate = rate


def _measure_seed(job: _Job) -> WindowStats:
    """PruneEnergyAnalyzer's protocol: fixed trials of warm-up and timed passes, two reads each."""
    run_batch, pass_clock, meter, batch_size, settings, clock = job.parts()
    joules_per_sample: list[float] = []
    seconds_per_sample: list[float] = []
    warmup_seconds = 0.0
    state_start = device_state(meter)
    samples_per_trial = settings.seed_timed_passes * batch_size
    for _ in range(settings.seed_trials):
        warmup_start = clock()
        for _ in range(settings.seed_warmup_passes):
            run_batch()
        pass_clock.synchronize()
        warmup_seconds += clock() - warmup_start
        joules_start = meter.read_joules()
        start = clock()
        for _ in range(settings.seed_timed_passes):
            run_batch()
        pass_clock.synchronize()
        seconds = clock() - start
        joules = meter.read_joules() - joules_start
        joules_per_sample.append(joules / samples_per_trial)
        seconds_per_sample.append(seconds / samples_per_trial)
    seconds_measured = sum(seconds_per_sample) * samples_per_trial
    state_end = device_state(meter)
    return WindowStats(
        joules_per_sample_mean=statistics.fmean(joules_per_sample),
        joules_per_sample_std=_stdev(joules_per_sample),
        joules_per_sample_ci95=_half_width_or_inf(joules_per_sample),
        seconds_per_sample_mean=statistics.fmean(seconds_per_sample),
        seconds_per_sample_std=_stdev(seconds_per_sample),
        frames_per_second=samples_per_trial * settings.seed_trials / seconds_measured,
        windows=settings.seed_trials,
        samples_measured=samples_per_trial * settings.seed_trials,
        seconds_measured=seconds_measured,
        warmup_seconds=warmup_seconds,
        protocol="seed",
        naive_joules_per_sample=statistics.fmean(joules_per_sample),
        temperature_start_celsius=state_start.temperature_celsius,
        temperature_end_celsius=state_end.temperature_celsius,
        sm_clock_start_mhz=state_start.sm_clock_mhz,
        sm_clock_end_mhz=state_end.sm_clock_mhz,
    )


def measure_idle_watts(
    meter: Meter,
    device: str,
    *,
    seconds: float = 3.0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
) -> float | None:
    """Board power with nothing running, from tick to tick over ``seconds``; None if the meter
    did not tick at least twice meanwhile. ``tick_recorder`` as for ``measure``."""
    make_pass_clock(device, clock).synchronize()
    record_ticks = tick_recorder or functools.partial(TickRecorder, clock=clock)
    with record_ticks(meter) as recorder:
        sleep(seconds)
    recorder.check()
    ticks = recorder.ticks()
    if len(ticks) < 2 or ticks[-1].seconds <= ticks[0].seconds:
        return None
    return (ticks[-1].joules - ticks[0].joules) / (ticks[-1].seconds - ticks[0].seconds)


def device_state(meter: Meter) -> DeviceState:
    """Temperature and SM clock where the meter can tell; a meter from a user's hook may not."""
    from .meters import DeviceState

    read = getattr(meter, "device_state", None)
    return read() if callable(read) else DeviceState()


# -- statistics -----------------------------------------------------------------------------


def ci_fraction(windows: Sequence[TickWindow], batch_size: int) -> float:
    """95 % CI half-width of joules per sample, relative to the estimate; inf while unknown."""
    if len(windows) < 2:
        return math.inf
    estimate = energy_per_sample(windows, batch_size)
    return estimate.ci95 / estimate.value if estimate.value > 0 else math.inf


def energy_per_sample(windows: Sequence[TickWindow], batch_size: int) -> RatioEstimate:
    return ratio_estimate([w.joules for w in windows], [w.passes * batch_size for w in windows])


def summarize_tick_windows(
    windows: Sequence[TickWindow],
    batch_size: int,
    *,
    warmup_seconds: float,
    converged: bool,
    target_ci_fraction: float | None,
    naive_joules_per_sample: float | None,
    update_period: float | None,
    state_start: DeviceState,
    state_end: DeviceState,
) -> WindowStats:
    """Every figure over the same span, first to last tick inside the run: energy per sample
    (all joules over all samples) with its CI from the windows' scatter, time per sample and
    FPS, and the per-window spread for the seed's STD columns."""
    samples = [w.passes * batch_size for w in windows]
    joules_per_sample = [w.joules / n for w, n in zip(windows, samples, strict=True)]
    seconds_per_sample = [w.seconds / n for w, n in zip(windows, samples, strict=True)]
    total_samples = sum(samples)
    total_seconds = sum(w.seconds for w in windows)
    estimate = energy_per_sample(windows, batch_size)
    return WindowStats(
        joules_per_sample_mean=estimate.value,
        joules_per_sample_std=_stdev(joules_per_sample),
        joules_per_sample_ci95=estimate.ci95,
        seconds_per_sample_mean=total_seconds / total_samples,
        seconds_per_sample_std=_stdev(seconds_per_sample),
        frames_per_second=total_samples / total_seconds,
        windows=len(windows),
        samples_measured=total_samples,
        seconds_measured=total_seconds,
        warmup_seconds=warmup_seconds,
        protocol="adaptive",
        converged=converged,
        target_ci_fraction=target_ci_fraction,
        naive_joules_per_sample=naive_joules_per_sample,
        update_period_seconds=update_period,
        temperature_start_celsius=state_start.temperature_celsius,
        temperature_end_celsius=state_end.temperature_celsius,
        sm_clock_start_mhz=state_start.sm_clock_mhz,
        sm_clock_end_mhz=state_end.sm_clock_mhz,
    )


def _stdev(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


def _half_width_or_inf(values: Sequence[float]) -> float:
    return confidence_half_width(values) if len(values) > 1 else math.inf
