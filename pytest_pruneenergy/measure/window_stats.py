"""What the protocol measured for one model at one batch size: a plain, frozen value."""

from __future__ import annotations

from dataclasses import dataclass

from .latency import PassTimePercentiles

# Why the adaptive protocol stopped measuring an item: its CI met the target; the CI could
# not have come within out_of_reach_factor times the target by the cap; or going on would
# have ended the item past the cap.
STOP_TARGET = "target"
STOP_OUT_OF_REACH = "out of reach"
STOP_TIME_CAP = "time cap"
STOP_REASONS = (STOP_TARGET, STOP_OUT_OF_REACH, STOP_TIME_CAP)
# Between the reasons of rounds that stopped for different ones (items/rounds.py).
STOP_REASONS_JOINER = ", "


@dataclass(frozen=True)
class WindowStats:
    """What the protocol measured, per sample of the batch.

    ``*_ci95`` is the half-width of the 95 % confidence interval of the mean across windows
    (adaptive protocol) or trials (seed protocol). ``naive_joules_per_sample`` is what two
    counter reads bracketing the same run would have given: the seed tool's and Zeus's way,
    kept to show the difference alignment makes. Device state (temperature, SM clock) is read
    at the start and end of the measurement; None where the meter cannot tell.
    """

    joules_per_sample_mean: float
    joules_per_sample_std: float
    joules_per_sample_ci95: float
    seconds_per_sample_mean: float
    seconds_per_sample_std: float
    frames_per_second: float
    windows: int
    samples_measured: float
    seconds_measured: float
    warmup_seconds: float
    protocol: str = "adaptive"
    converged: bool = False  # the CI target was met before the time cap
    # A STOP_* (the adaptive protocol's), several joined by STOP_REASONS_JOINER for rounds that
    # stopped for different reasons; None for the seed protocol, which runs fixed trials.
    stop_reason: str | None = None
    target_ci_fraction: float | None = None
    naive_joules_per_sample: float | None = None
    update_period_seconds: float | None = None
    temperature_start_celsius: float | None = None
    temperature_end_celsius: float | None = None
    sm_clock_start_mhz: float | None = None
    sm_clock_end_mhz: float | None = None
    # The time of one pass of the batch at p50/p90/p99, over the measured passes
    # (measure/latency.py); None where it could not be known (the seed protocol times trials).
    pass_seconds_p50: float | None = None
    pass_seconds_p90: float | None = None
    pass_seconds_p99: float | None = None

    @property
    def pass_time_percentiles(self) -> PassTimePercentiles:
        return PassTimePercentiles(
            self.pass_seconds_p50, self.pass_seconds_p90, self.pass_seconds_p99
        )

    @property
    def ci_target_met(self) -> bool | None:
        """Whether the CI reached its target before the time cap; None for the seed protocol,
        which runs a fixed number of trials and has no target."""
        return None if self.protocol == "seed" else self.converged


def dynamic_joules_per_sample(stats: WindowStats, idle_watts: float | None) -> float | None:
    """Gross energy per sample less idle watts times the time of one sample; None without
    idle power."""
    if idle_watts is None:
        return None
    return stats.joules_per_sample_mean - idle_watts * stats.seconds_per_sample_mean
