"""PruneEnergyAnalyzer's protocol, for comparison and to reproduce published numbers: fixed
trials of warm-up and timed passes, each bracketed by two meter reads."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING

from ..window_stats import WindowStats

if TYPE_CHECKING:
    pass

from ..stats import half_width_or_inf, stdev_or_nan
from .job import Job, device_state


def measure_seed(job: Job) -> WindowStats:
    """PruneEnergyAnalyzer's protocol: fixed trials of warm-up and timed passes, two reads each."""
    run_batch, pass_clock, meter = job.run_batch, job.pass_clock, job.meter
    batch_size, settings, clock = job.batch_size, job.settings, job.clock
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
        joules_per_sample_std=stdev_or_nan(joules_per_sample),
        joules_per_sample_ci95=half_width_or_inf(joules_per_sample),
        seconds_per_sample_mean=statistics.fmean(seconds_per_sample),
        seconds_per_sample_std=stdev_or_nan(seconds_per_sample),
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
