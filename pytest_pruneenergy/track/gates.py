"""Energy gates: verdicts that respect the 95 % CI, on each item's thresholds
(track/thresholds.py).

A verdict is a statistical one: FAIL only when the whole 95 % CI lies on the wrong side of the
threshold, PASS when it lies wholly on the right side, INCONCLUSIVE when it straddles the
threshold. FPS and latency percentiles carry no CI in a Measurement and are taken as exact;
an unknown percentile makes its gate inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..items.measurement import (
    ItemKey,
    Measurement,
    baseline_measurements,
    disturbances_against,
    item_label,
)
from ..measure.stats import reduction_ci95_points
from .thresholds import (
    KINDS,
    MAX_JOULES,
    MAX_P99_MS,
    MIN_FPS,
    ItemThresholds,
    Threshold,
)

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"
_SEVERITY = {PASS: 0, INCONCLUSIVE: 1, FAIL: 2}


# -- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    outcome: str  # PASS, FAIL or INCONCLUSIVE
    message: str

    def fails(self, strict: bool) -> bool:
        return self.outcome == FAIL or (strict and self.outcome == INCONCLUSIVE)


def interval_outcome(low: float, high: float, threshold: Threshold) -> str:
    """FAIL when all of [low, high] is on the wrong side, PASS when all is on the right side
    (meeting the threshold exactly counts as meeting it); INCONCLUSIVE otherwise, NaN included."""
    if threshold.kind in (MAX_JOULES, MAX_P99_MS):
        if high <= threshold.value:
            return PASS
        if low > threshold.value:
            return FAIL
    else:
        if low >= threshold.value:
            return PASS
        if high < threshold.value:
            return FAIL
    return INCONCLUSIVE


def reduction_with_ci95(
    pruned_mean: float, pruned_ci95: float, baseline_mean: float, baseline_ci95: float
) -> tuple[float, float]:
    """Energy reduction ``r = 100 - 100 * Ep / Eb`` in % and its 95 % half-width.

    First-order propagation of two independent half-widths:
    ``r_ci = 100 * (Ep / Eb) * sqrt((ci_p / Ep)^2 + (ci_b / Eb)^2)``, written here as
    ``100 * sqrt(ci_p^2 + (Ep * ci_b / Eb)^2) / Eb`` so that Ep = 0 does not divide by zero.
    NaN when the baseline's energy is not a positive number.
    """
    if not baseline_mean > 0:
        return math.nan, math.nan
    half_width = reduction_ci95_points(pruned_mean, pruned_ci95, baseline_mean, baseline_ci95)
    return 100 - 100 * pruned_mean / baseline_mean, half_width


def judge_min_reduction(
    threshold: Threshold, measurement: Measurement, baseline: Measurement | None
) -> Verdict:
    if baseline is None:
        message = (
            f"energy reduction unknown: no baseline was measured at batch size "
            f"{measurement.batch_size} in this run, so {threshold.describe()} cannot be checked"
        )
        return Verdict(threshold, INCONCLUSIVE, message)
    pruned, base = measurement.stats, baseline.stats
    reduction, half_width = reduction_with_ci95(
        pruned.joules_per_sample_mean,
        pruned.joules_per_sample_ci95,
        base.joules_per_sample_mean,
        base.joules_per_sample_ci95,
    )
    return _verdict(threshold, "energy reduction", reduction, half_width, "{:.1f}", " %")


def judge_max_joules(threshold: Threshold, measurement: Measurement) -> Verdict:
    stats = measurement.stats
    mean, half_width = stats.joules_per_sample_mean, stats.joules_per_sample_ci95
    return _verdict(threshold, "energy", mean, half_width, "{:.4g}", " J per sample")


def judge_min_fps(threshold: Threshold, measurement: Measurement) -> Verdict:
    fps = measurement.stats.frames_per_second
    outcome = interval_outcome(fps, fps, threshold)
    relation = {PASS: "meets", FAIL: "is below", INCONCLUSIVE: "cannot be compared with"}
    message = f"FPS {fps:.1f} (no CI: taken as exact) {relation[outcome]} {threshold.describe()}"
    return Verdict(threshold, outcome, message)


def judge_max_p99_ms(threshold: Threshold, measurement: Measurement) -> Verdict:
    p99_seconds = measurement.stats.pass_seconds_p99
    if p99_seconds is None:
        message = (
            f"p99 latency unknown (the seed protocol, fewer than 100 passes, or passes timed in "
            f"groups on a GPU: docs/measurement.md), so {threshold.describe()} cannot be checked"
        )
        return Verdict(threshold, INCONCLUSIVE, message)
    p99_ms = p99_seconds * 1000
    outcome = interval_outcome(p99_ms, p99_ms, threshold)
    relation = {PASS: "is within", FAIL: "is above", INCONCLUSIVE: "cannot be compared with"}
    message = (
        f"p99 latency {p99_ms:.4g} ms per pass (no CI: taken as exact) {relation[outcome]} "
        f"{threshold.describe()}"
    )
    return Verdict(threshold, outcome, message)


_IN_ITEM_JUDGES = {
    MAX_JOULES: judge_max_joules,
    MIN_FPS: judge_min_fps,
    MAX_P99_MS: judge_max_p99_ms,
}


def judge_measurement(
    measurement: Measurement,
    thresholds: ItemThresholds,
    *,
    baseline: Measurement | None = None,
    kinds: Sequence[str] = KINDS,
) -> tuple[Verdict, ...]:
    """One verdict per threshold of ``kinds``. A baseline model has no min_reduction verdict:
    its reduction against itself is 0 by definition."""
    verdicts = []
    for threshold in thresholds.thresholds:
        if threshold.kind not in kinds:
            continue
        if threshold.kind in _IN_ITEM_JUDGES:
            verdict = _IN_ITEM_JUDGES[threshold.kind](threshold, measurement)
            disturbed = measurement.disturbances
        elif measurement.name is None or not measurement.name.is_baseline:
            verdict = judge_min_reduction(threshold, measurement, baseline)
            disturbed = disturbances_against(measurement, baseline)
        else:
            continue
        verdicts.append(unvouched(verdict, disturbed))
    return tuple(verdicts)


def unvouched(verdict: Verdict, disturbances: Sequence[str]) -> Verdict:
    """A verdict on a figure measured while something could have corrupted it is
    inconclusive, whatever the figure says."""
    if not disturbances or verdict.outcome == INCONCLUSIVE:
        return verdict
    message = (
        f"{verdict.message}; inconclusive: measured while disturbed ({'; '.join(disturbances)})"
    )
    return Verdict(verdict.threshold, INCONCLUSIVE, message)


def worst_outcome(verdicts: Iterable[Verdict]) -> str | None:
    """FAIL over INCONCLUSIVE over PASS; None without verdicts."""
    outcomes = [verdict.outcome for verdict in verdicts]
    return max(outcomes, key=_SEVERITY.__getitem__) if outcomes else None


def gate_cells(verdicts: Sequence[Verdict]) -> tuple[str, str] | None:
    """What the result table shows of an item's verdicts: the worst outcome, and every
    verdict's message, failures first; None without verdicts."""
    worst = worst_outcome(verdicts)
    if worst is None:
        return None
    ordered = sorted(verdicts, key=lambda verdict: verdict.outcome == PASS)
    return worst, "; ".join(verdict.message for verdict in ordered)


def gate_lines(gates: Mapping[ItemKey, Sequence[Verdict]], *, strict: bool) -> list[str]:
    """A count of verdicts, then a line per verdict that is not a pass."""
    ordered = sorted(gates.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or ""))
    verdicts = [(key, verdict) for key, found in ordered for verdict in found]
    if not verdicts:
        return []
    counts = {outcome: 0 for outcome in (PASS, FAIL, INCONCLUSIVE)}
    for _, verdict in verdicts:
        counts[verdict.outcome] += 1
    lines = [
        f"energy gates: {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[INCONCLUSIVE]} inconclusive"
        + (" (inconclusive fails: --energy-strict)" if strict and counts[INCONCLUSIVE] else "")
    ]
    for key, verdict in verdicts:
        if verdict.outcome != PASS:
            label = "GATE FAILED" if verdict.fails(strict) else "gate inconclusive"
            lines.append(f"{label} {item_label(key)}: {verdict.message}")
    return lines


def _verdict(
    threshold: Threshold, what: str, value: float, half_width: float, number: str, unit: str
) -> Verdict:
    # A CI that could not be computed (too few windows) is as wide as it gets.
    if not math.isfinite(half_width):
        half_width = math.inf
    low, high = value - half_width, value + half_width
    outcome = interval_outcome(low, high, threshold)
    if math.isfinite(half_width):
        ci = f"95 % CI {number.format(low)} to {number.format(high)}"
    else:
        ci = "95 % CI unknown"
    is_max = threshold.kind == MAX_JOULES
    relation = {
        PASS: "is within" if is_max else "meets",
        FAIL: "is above" if is_max else "is below",
        INCONCLUSIVE: "is inconclusive against",
    }[outcome]
    message = f"{what} {number.format(value)}{unit} ({ci}) {relation} {threshold.describe()}"
    if outcome == INCONCLUSIVE and math.isfinite(half_width):
        message += "; the CI straddles the threshold (a longer measurement narrows it)"
    return Verdict(threshold, outcome, message)


def judge_gates(
    measurements: Sequence[Measurement], thresholds: Mapping[ItemKey, ItemThresholds]
) -> dict[ItemKey, tuple[Verdict, ...]]:
    """Every item's verdicts, once every measurement (the baselines' too) has arrived."""
    if not any(thresholds.values()):
        return {}
    baselines = baseline_measurements(measurements)
    gates = {}
    for measurement in measurements:
        key = measurement.key
        item_thresholds = thresholds.get(key)
        if item_thresholds:
            gates[key] = judge_measurement(
                measurement, item_thresholds, baseline=baselines.get(key)
            )
    return gates


def table_cells(
    gates: Mapping[ItemKey, Sequence[Verdict]],
) -> dict[ItemKey, tuple[str, str]]:
    """The gates as the result table shows them (``gate_cells``), items without left out."""
    cells = {key: gate_cells(verdicts) for key, verdicts in gates.items()}
    return {key: cell for key, cell in cells.items() if cell is not None}
