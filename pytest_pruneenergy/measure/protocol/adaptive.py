"""The adaptive protocol: a model run without a break while the meter's ticks are recorded,
cut tick to tick into windows, until the CI target is met or the time is spent."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..latency import PassTimePercentiles, pass_time_percentiles, window_stats_fields
from ..stats import RatioEstimate, ratio_estimate
from ..ticks import (
    CompletionTimeline,
    TickRecorder,
    TickWindow,
    on_periodic_grid,
    tick_windows,
    update_period_seconds,
)
from ..window_stats import STOP_OUT_OF_REACH, STOP_TARGET, STOP_TIME_CAP, WindowStats

if TYPE_CHECKING:
    from ..meters import DeviceState

from ..stats import stdev_or_nan
from .clocks import PassClock
from .job import Job, ProtocolError, ProtocolSettings, device_state
from .warmup import WarmUp, passes_per_marker, warm_up


def measure_adaptive(job: Job) -> WindowStats:
    """The adaptive protocol; ``job.on_windows`` receives the final windows (an item keeps them)."""
    began = job.clock()
    with job.tick_recorder(job.meter) as recorder:
        warmup = warm_up(job.run_batch, job.pass_clock, job.settings, clock=job.clock)
        window_seconds = job.settings.min_window_seconds or auto_window_seconds(
            update_period_seconds(recorder.ticks())
        )
        state_start = device_state(job.meter)
        timeline, reason = _run_until_done(job, recorder, warmup, window_seconds, began)
        state_end = device_state(job.meter)
    recorder.check()  # the recorder took a last read on exit: a tick just before the end counts
    ticks = recorder.ticks()
    windows = tick_windows(on_periodic_grid(ticks), timeline, min_window_seconds=window_seconds)
    if len(windows) < 2:
        inside = sum(timeline.start_seconds <= t.seconds <= timeline.end_seconds for t in ticks)
        raise ProtocolError(
            f"{job.meter.name} changed value {inside} times in "
            f"{timeline.end_seconds - timeline.start_seconds:.2f} s of measurement: too few "
            f"for two windows of {window_seconds:g} s. Raise --energy-max-seconds."
        )
    if job.on_windows is not None:
        job.on_windows(windows)
    return summarize_tick_windows(
        windows,
        job.batch_size,
        warmup_seconds=warmup.seconds,
        # Judged on the final windows, so the flag always agrees with the CI reported.
        converged=target_met(windows, job.batch_size, job.settings),
        stop_reason=reason,
        target_ci_fraction=job.settings.target_ci_fraction,
        naive_joules_per_sample=_two_read_joules_per_sample(recorder, timeline, job.batch_size),
        update_period=update_period_seconds(ticks),
        state_start=state_start,
        state_end=state_end,
        pass_times=pass_time_percentiles(
            timeline.completions,
            start_seconds=windows[0].start_seconds,
            end_seconds=windows[-1].end_seconds,
            passes_per_reading=job.pass_clock.passes_per_reading,
        ),
    )


def _run_until_done(
    job: Job, recorder: TickRecorder, warmup: WarmUp, window_seconds: float, began: float
) -> tuple[CompletionTimeline, str]:
    """Passes back to back, the windows judged every ``check_interval_seconds``, until the
    target is met or out of reach, or going on could end the item past ``max_seconds``: every
    pass's completion once the device is done, and why it stopped (a ``STOP_*``)."""
    settings, pass_clock, clock = job.settings, job.pass_clock, job.clock
    pass_clock.space_markers(passes_per_marker(warmup.seconds_per_pass, settings))
    start = pass_clock.begin()
    deadline = began + settings.max_seconds
    next_check = start + settings.check_interval_seconds
    while True:
        job.run_batch()
        pass_clock.after_pass()
        now = clock()
        if now < next_check:
            continue
        recorder.check()
        timeline = CompletionTimeline(start, pass_clock.completions())
        windows = tick_windows(
            on_periodic_grid(recorder.ticks()), timeline, min_window_seconds=window_seconds
        )
        reason = reason_to_stop(windows, job.batch_size, settings, seconds_left=deadline - now)
        if reason is not None:
            break
        if now + seconds_to_finish_after_next_check(pass_clock, warmup, settings) >= deadline:
            reason = STOP_TIME_CAP  # going on to the next check could end the item past the cap
            break
        next_check = now + settings.check_interval_seconds
    return CompletionTimeline(start, pass_clock.completions(wait=True)), reason


def _two_read_joules_per_sample(
    recorder: TickRecorder, timeline: CompletionTimeline, batch_size: int
) -> float | None:
    """The naive figure beside ours: the counter at the run's two ends over all its samples
    (the seed tool's window); None where either end has no reading."""
    start = recorder.value_at(timeline.start_seconds)
    end = recorder.value_at(timeline.end_seconds)
    if start is None or end is None or not timeline.passes:
        return None
    return (end - start) / (timeline.passes * batch_size)


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


def reason_to_stop(
    windows: Sequence[TickWindow],
    batch_size: int,
    settings: ProtocolSettings,
    *,
    seconds_left: float,
) -> str | None:
    """Why the item should stop at this check (``STOP_TARGET``, ``STOP_OUT_OF_REACH``), or
    None to go on: ``target_met`` and ``target_out_of_reach`` on one computation of the CI,
    as it runs at every check on the thread that launches the passes."""
    measured = _measured_seconds(windows)
    ci = ci_fraction(windows, batch_size)
    if _meets_target(len(windows), measured, ci, settings):
        return STOP_TARGET
    if _out_of_reach(len(windows), measured, ci, settings, seconds_left):
        return STOP_OUT_OF_REACH
    return None


def target_met(windows: Sequence[TickWindow], batch_size: int, settings: ProtocolSettings) -> bool:
    """Enough windows, enough seconds, and a CI within the target."""
    return _meets_target(
        len(windows), _measured_seconds(windows), ci_fraction(windows, batch_size), settings
    )


def target_out_of_reach(
    windows: Sequence[TickWindow],
    batch_size: int,
    settings: ProtocolSettings,
    *,
    seconds_left: float,
) -> bool:
    """Whether the CI, narrowing as one over the root of the time measured, would still be
    over ``out_of_reach_factor`` times the target with ``seconds_left`` more of measuring.

    Judged only from ``out_of_reach_min_windows`` windows on, as the CI's own estimate is
    too rough before; with a factor of 2, simulated items of window-to-window scatter that
    meet the target before the cap were not stopped (tests/measure/test_protocol.py), while
    items paced by the host, whose CI ends at several times the target, stop after about
    ten windows instead of running to the cap."""
    return _out_of_reach(
        len(windows),
        _measured_seconds(windows),
        ci_fraction(windows, batch_size),
        settings,
        seconds_left,
    )


def _measured_seconds(windows: Sequence[TickWindow]) -> float:
    return windows[-1].end_seconds - windows[0].start_seconds if windows else 0.0


def _meets_target(
    window_count: int, measured_seconds: float, ci: float, settings: ProtocolSettings
) -> bool:
    return (
        window_count >= settings.min_windows
        and measured_seconds >= settings.min_measure_seconds
        and ci <= settings.target_ci_fraction
    )


def _out_of_reach(
    window_count: int,
    measured_seconds: float,
    ci: float,
    settings: ProtocolSettings,
    seconds_left: float,
) -> bool:
    if window_count < settings.out_of_reach_min_windows:
        return False
    if measured_seconds < settings.min_measure_seconds:
        return False
    at_the_cap = math.sqrt(measured_seconds / (measured_seconds + max(seconds_left, 0.0)))
    return ci * at_the_cap > settings.out_of_reach_factor * settings.target_ci_fraction


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
    stop_reason: str | None,
    target_ci_fraction: float | None,
    naive_joules_per_sample: float | None,
    update_period: float | None,
    state_start: DeviceState,
    state_end: DeviceState,
    pass_times: PassTimePercentiles,
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
        joules_per_sample_std=stdev_or_nan(joules_per_sample),
        joules_per_sample_ci95=estimate.ci95,
        seconds_per_sample_mean=total_seconds / total_samples,
        seconds_per_sample_std=stdev_or_nan(seconds_per_sample),
        frames_per_second=total_samples / total_seconds,
        windows=len(windows),
        samples_measured=total_samples,
        seconds_measured=total_seconds,
        warmup_seconds=warmup_seconds,
        protocol="adaptive",
        converged=converged,
        stop_reason=stop_reason,
        target_ci_fraction=target_ci_fraction,
        naive_joules_per_sample=naive_joules_per_sample,
        update_period_seconds=update_period,
        temperature_start_celsius=state_start.temperature_celsius,
        temperature_end_celsius=state_end.temperature_celsius,
        sm_clock_start_mhz=state_start.sm_clock_mhz,
        sm_clock_end_mhz=state_end.sm_clock_mhz,
        **window_stats_fields(pass_times),
    )
