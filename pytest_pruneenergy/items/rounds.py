"""Several rounds of one item, combined into one measurement whose CI covers drift.

With ``--energy-rounds=N`` every item is measured N times, in rounds spread over the run (round
1 over all items, then round 2...), so that a baseline and its pruned models alternate in time.
One round's CI says how precisely that round measured; it cannot see the board or the host
drifting between items minutes apart. The rounds' means scatter by that drift, so the combined
figure is their mean, and its CI the wider of two:

- between rounds: Student's t with N - 1 degrees of freedom times the rounds' standard error,
  which holds the drift and, through each round's own noise, the within-round scatter too;
- within rounds: the rounds' own half-widths added in quadrature over N, the floor a lucky
  agreement of few rounds must not undercut.

Latency percentiles cannot be pooled without every pass's time; each is the largest of the
rounds', an upper bound of the pooled one (measure/latency.py:worst_of).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from ..measure.latency import window_stats_fields, worst_of
from ..measure.stats import ci95_of_mean, half_width_from_std
from ..measure.window_stats import STOP_REASONS_JOINER, WindowStats
from .measurement import Measurement


def combined_ci95(means: Sequence[float], ci95s: Sequence[float]) -> float:
    """The 95 % half-width of the mean of ``means``, rounds with the given own half-widths."""
    within = ci95_of_mean(ci95s)
    if len(means) < 2:
        return within
    between = half_width_from_std(statistics.stdev(means), len(means))
    return max(between, within)


def combine_rounds(measurements: Sequence[Measurement]) -> list[Measurement]:
    """One measurement per item (model, batch size, numeric format), its rounds combined, in
    the order each item first appears; an item of one round is returned as it is."""
    rounds: dict[tuple[str, int, str | None], list[Measurement]] = {}
    for measurement in measurements:
        key = measurement.key
        rounds.setdefault(key, []).append(measurement)
    return [combine(of_item) if len(of_item) > 1 else of_item[0] for of_item in rounds.values()]


def combine(rounds: Sequence[Measurement]) -> Measurement:
    """The rounds of one item as one measurement (see the module's docstring)."""
    ordered = sorted(rounds, key=lambda measurement: measurement.round_number or 0)
    stats = [measurement.stats for measurement in ordered]
    joules = [s.joules_per_sample_mean for s in stats]
    mean_joules = statistics.fmean(joules)
    ci95 = combined_ci95(joules, [s.joules_per_sample_ci95 for s in stats])
    seconds_per_sample = statistics.fmean(s.seconds_per_sample_mean for s in stats)
    first, last = stats[0], stats[-1]
    target = first.target_ci_fraction
    pass_times = worst_of([s.pass_time_percentiles for s in stats])
    combined = WindowStats(
        joules_per_sample_mean=mean_joules,
        # Scatter of a window about the item's long-run mean: within a round, and between.
        joules_per_sample_std=math.sqrt(
            statistics.fmean(s.joules_per_sample_std**2 for s in stats)
            + statistics.pvariance(joules)
        ),
        joules_per_sample_ci95=ci95,
        seconds_per_sample_mean=seconds_per_sample,
        seconds_per_sample_std=math.sqrt(
            statistics.fmean(s.seconds_per_sample_std**2 for s in stats)
            + statistics.pvariance([s.seconds_per_sample_mean for s in stats])
        ),
        frames_per_second=1 / seconds_per_sample if seconds_per_sample > 0 else math.nan,
        windows=sum(s.windows for s in stats),
        samples_measured=sum(s.samples_measured for s in stats),
        seconds_measured=sum(s.seconds_measured for s in stats),
        warmup_seconds=sum(s.warmup_seconds for s in stats),
        protocol=first.protocol,
        converged=target is not None and ci95 <= target * mean_joules,
        stop_reason=STOP_REASONS_JOINER.join(
            dict.fromkeys(s.stop_reason for s in stats if s.stop_reason)
        )
        or None,
        target_ci_fraction=target,
        naive_joules_per_sample=_mean_or_none([s.naive_joules_per_sample for s in stats]),
        update_period_seconds=first.update_period_seconds,
        temperature_start_celsius=first.temperature_start_celsius,
        temperature_end_celsius=last.temperature_end_celsius,
        sm_clock_start_mhz=first.sm_clock_start_mhz,
        sm_clock_end_mhz=last.sm_clock_end_mhz,
        **window_stats_fields(pass_times),
    )
    seconds = [m.item_seconds for m in ordered]
    return replace(
        ordered[0],
        stats=combined,
        rounds=len(ordered),
        round_number=None,
        load_seconds=sum(m.load_seconds for m in ordered),
        item_seconds=None if None in seconds else sum(s for s in seconds if s is not None),
        disturbances=tuple(dict.fromkeys(d for m in ordered for d in m.disturbances)),
        windows=(),  # each round's are in the journal; joined they would be one item's no more
    )


def _mean_or_none(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.fmean(known) if len(known) == len(values) and known else None
