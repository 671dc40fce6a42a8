"""Items whose figure is in doubt, measured once more at the end of the run, and settled.

An item is in doubt when something was seen while it ran that can corrupt its figure
(measure/conditions.py: a neighbour on the GPU or the host's CPU, clocks held back), or when
its energy per sample contradicts its own model at the neighbouring batch sizes beyond the CIs:
above both, or below both. Energy per sample falls, then flattens, as the batch grows; a spike
or a dip at one batch size is what a burst of contention leaves behind in a quiet-looking
measurement, though a model can also have one of its own (a kernel chosen at that size). Only
a second measurement, minutes later, tells them apart.

The second measurement settles the row (``settle``):

- the first was disturbed and the rerun was not: the row shows the rerun, the clean one;
- the rerun agrees with the first within their CIs: the row shows the first, and says so;
- the rerun, clean, disagrees beyond the CIs: the row shows the first, flagged as disturbed
  by the disagreement, so that its gates are inconclusive (neither figure can be vouched for);
- both were held at the board's power limit, nothing else was seen, and they agree within the
  CIs: the model's own load reaches the limit (VGG16 at batch 64 on an H100 does, every time),
  so the capped clock is where that model runs on this board, not a disturbance: the row shows
  the first, undisturbed, and says so;
- the rerun was disturbed too, or failed: the row shows the first, as it was.

Either way the row keeps the other measurement's figures (``Remeasure``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ..measure.conditions import ONLY_POWER_CAP
from .measurement import AT_POWER_LIMIT, ItemKey, Measurement, Remeasure

AGREES = "agrees"
DISAGREES = "disagrees"
KEPT_RERUN = "kept the rerun"
RERUN_DISTURBED = "rerun disturbed"
RERUN_FAILED = "rerun failed"

DISTURBED_REASON = "measured while disturbed"

# Two figures closer than this, relative to the larger, are not told apart however narrow their
# CIs: the accuracy the protocol is held to (docs/benchmarks/accuracy), and what keeps an exact
# meter's zero-width CIs from making rounding a contradiction.
AGREEMENT_FLOOR_FRACTION = 0.005


def differ_beyond_cis(first: Measurement, second: Measurement) -> bool:
    """Whether two measurements' energies per sample lie further apart than their 95 %
    half-widths added in quadrature (the half-width of their difference), and than
    ``AGREEMENT_FLOOR_FRACTION`` of the larger."""
    a, b = first.stats.joules_per_sample_mean, second.stats.joules_per_sample_mean
    half_width = math.hypot(first.stats.joules_per_sample_ci95, second.stats.joules_per_sample_ci95)
    return abs(a - b) > max(half_width, AGREEMENT_FLOOR_FRACTION * max(abs(a), abs(b)))


def contradictions(measurements: Sequence[Measurement]) -> dict[ItemKey, str]:
    """The items whose energy per sample lies above both, or below both, of its own model's at
    the neighbouring batch sizes (same numeric format), beyond the CIs; by key, with the reason
    in words. A model's smallest and largest batch sizes have one neighbour and are not judged,
    nor is a triple with a disturbed member (the disturbed one is measured again anyway)."""
    by_model: dict[tuple[str, str | None], list[Measurement]] = {}
    for measurement in measurements:
        by_model.setdefault((measurement.model, measurement.variant), []).append(measurement)
    found: dict[ItemKey, str] = {}
    for of_model in by_model.values():
        ordered = sorted(of_model, key=lambda measurement: measurement.batch_size)
        for before, middle, after in zip(ordered, ordered[1:], ordered[2:], strict=False):
            if before.disturbances or middle.disturbances or after.disturbances:
                continue
            above = all(
                _above(middle, neighbour) and differ_beyond_cis(middle, neighbour)
                for neighbour in (before, after)
            )
            below = all(
                _above(neighbour, middle) and differ_beyond_cis(middle, neighbour)
                for neighbour in (before, after)
            )
            if above or below:
                side = "above" if above else "below"
                found[middle.key] = (
                    f"energy per sample {side} its model's at bs {before.batch_size} and "
                    f"{after.batch_size} beyond the CIs"
                )
    return found


def _above(one: Measurement, other: Measurement) -> bool:
    return one.stats.joules_per_sample_mean > other.stats.joules_per_sample_mean


def suspicious_items(measurements: Sequence[Measurement]) -> dict[ItemKey, str]:
    """The items to measure once more, by key in the run's order, with why: disturbed ones,
    then contradictions. An item measured twice already (restored from a journal) is not."""
    found = {
        measurement.key: f"{DISTURBED_REASON}: {'; '.join(measurement.disturbances)}"
        for measurement in measurements
        if measurement.disturbances and measurement.remeasure is None
    }
    for key, reason in contradictions(measurements).items():
        found.setdefault(key, reason)
    judged = {measurement.key for measurement in measurements if measurement.remeasure is None}
    return {key: reason for key, reason in found.items() if key in judged}


def settle(first: Measurement, rerun: Measurement, reason: str) -> Measurement:
    """The row of an item measured twice (see the module's docstring)."""
    seen = "; ".join(rerun.disturbances)
    if capped_alike(first, rerun):
        return replace(first, disturbances=(), remeasure=_record(reason, AT_POWER_LIMIT, rerun, ""))
    if rerun.disturbances:
        return replace(first, remeasure=_record(reason, RERUN_DISTURBED, rerun, seen))
    if first.disturbances:
        kept = replace(
            rerun,
            load_seconds=first.load_seconds,
            item_seconds=first.item_seconds,
        )
        return replace(kept, remeasure=_record(reason, KEPT_RERUN, first, ""))
    if differ_beyond_cis(first, rerun):
        flagged = (*first.disturbances, disagreement(first, rerun))
        return replace(first, disturbances=flagged, remeasure=_record(reason, DISAGREES, rerun, ""))
    return replace(first, remeasure=_record(reason, AGREES, rerun, ""))


def capped_alike(first: Measurement, rerun: Measurement) -> bool:
    """Whether both measurements saw the board held at its power limit and nothing else, and
    agree: what a model's own load, not a neighbour, does (a neighbour that pushed the board to
    its limit would have been seen, or gone by the end of the run)."""
    capped_only = first.disturbances == ONLY_POWER_CAP == rerun.disturbances
    return capped_only and not differ_beyond_cis(first, rerun)


def rerun_failed(first: Measurement, reason: str, error: str) -> Measurement:
    """The row of an item whose second measurement failed: the first, as it was."""
    return replace(
        first, remeasure=Remeasure(reason=reason, outcome=RERUN_FAILED, rerun_note=error)
    )


def disagreement(first: Measurement, rerun: Measurement) -> str:
    """The disturbance a clean rerun that disagrees with the first measurement adds to it."""
    return (
        f"measured again at the end of the run: {_joules(rerun)} against "
        f"{_joules(first)} ({_percent_apart(rerun, first)}), beyond the CIs"
    )


def _record(reason: str, outcome: str, set_aside: Measurement, note: str) -> Remeasure:
    return Remeasure(
        reason=reason,
        outcome=outcome,
        set_aside_joules_per_sample=set_aside.stats.joules_per_sample_mean,
        set_aside_joules_per_sample_ci95=set_aside.stats.joules_per_sample_ci95,
        set_aside_frames_per_second=set_aside.stats.frames_per_second,
        rerun_note=note,
    )


def remeasure_words(measurement: Measurement) -> str | None:
    """The ``Remeasured`` cell: why the item was measured again and what that said; None
    where it was measured once."""
    record = measurement.remeasure
    if record is None:
        return None
    said = {
        AGREES: "the rerun agrees within the CIs; the row shows the first",
        AT_POWER_LIMIT: "held at the power limit again, and agrees within the CIs: the "
        "model's own load reaches the board's limit, its operating point here, not a "
        "disturbance; the row shows the first",
        DISAGREES: "the rerun disagrees beyond the CIs; the row shows the first, inconclusive",
        KEPT_RERUN: "the row shows the clean rerun; the first, disturbed, is set aside",
        RERUN_DISTURBED: f"the rerun was disturbed too ({record.rerun_note}); the row shows "
        "the first",
        RERUN_FAILED: f"the rerun failed ({record.rerun_note}); the row shows the first",
    }[record.outcome]
    return f"{record.reason}. Measured again at the end of the run: {said}"


def _joules(measurement: Measurement) -> str:
    stats = measurement.stats
    return f"{stats.joules_per_sample_mean:.4g} J +- {stats.joules_per_sample_ci95:.2g}"


def _percent_apart(one: Measurement, other: Measurement) -> str:
    base = other.stats.joules_per_sample_mean
    if base <= 0:
        return "no reference"
    return f"{100 * (one.stats.joules_per_sample_mean / base - 1):+.1f} %"
