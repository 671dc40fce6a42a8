"""Two stored runs, item by item: improved, regressed, unchanged, not judged, new or missing.

Comparison is pure. Energy regresses (or improves) only when BOTH the relative change passes the
threshold AND the difference lies outside the two confidence intervals,
``|J_b - J_a| > CI95_a + CI95_b``. That rule is conservative: two means whose 95 % intervals do
not overlap differ at well below the 5 % level, so a real change a little larger than the noise
may pass as "unchanged", but noise alone is very unlikely to fail a build. FPS has no CI in a
record, so it is compared on its threshold alone, and only when one is given. Where a stored
run lacks an item's CI, its energy is judged on the threshold alone too; without a threshold
it is not judged at all, and the item is "not judged" rather than "unchanged".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..items.measurement import item_label
from .store import STATUS_MEASURED, RunRecord, StoredItem, sort_key

IMPROVED = "improved"
REGRESSED = "regressed"
UNCHANGED = "unchanged"
# Energy not judged (a CI unknown and no threshold) and FPS not found changed.
NOT_JUDGED = "not judged"
NEW = "new"
MISSING = "missing"
VERDICTS = (REGRESSED, IMPROVED, UNCHANGED, NOT_JUDGED, NEW, MISSING)


@dataclass(frozen=True)
class ItemComparison:
    model: str
    batch_size: int | None
    verdict: str
    baseline: StoredItem | None
    current: StoredItem | None
    joules_change_fraction: float | None = None
    # |delta| > ci_a + ci_b: the two 95 % intervals do not overlap (None: a CI is unknown).
    joules_outside_cis: bool | None = None
    fps_change_fraction: float | None = None
    # Which measure made the verdict, so that a gate on one of them ignores the other.
    joules_regressed: bool = False
    fps_regressed: bool = False
    dtype: str | None = None

    @property
    def label(self) -> str:
        return item_label((self.model, self.batch_size, self.dtype))


def compare_runs(
    baseline_run: RunRecord,
    current_run: RunRecord,
    *,
    threshold_joules_fraction: float | None = None,
    threshold_fps_fraction: float | None = None,
) -> list[ItemComparison]:
    """A verdict per (model, batch size) of either run; see the module's docstring for the rule.

    Without an energy threshold any change outside the CIs counts. Without an FPS threshold FPS
    is not judged: with no CI, any difference would count, and FPS always differs a little.
    A failed item has no numbers: measured only in the current run it is ``new``, only in the
    baseline ``missing``. One measured in both whose energy a run does not know (a record
    that lacks it) is ``not judged``, not absent.
    """
    baseline = {item.key: item for item in baseline_run.items if _measured(item)}
    current = {item.key: item for item in current_run.items if _measured(item)}
    # measured in both runs, but with an energy known in both only for the others
    unknown_in_both = (_measured_keys(baseline_run) & _measured_keys(current_run)) - (
        baseline.keys() & current.keys()
    )
    keys = sorted(baseline.keys() | current.keys() | unknown_in_both, key=sort_key)
    comparisons = []
    for key in keys:
        before, after = baseline.get(key), current.get(key)
        if key in unknown_in_both:
            comparisons.append(
                ItemComparison(key[0], key[1], NOT_JUDGED, before, after, dtype=key[2])
            )
            continue
        if before is None or after is None:
            verdict = NEW if before is None else MISSING
            comparisons.append(ItemComparison(key[0], key[1], verdict, before, after, dtype=key[2]))
            continue
        comparisons.append(
            _compare_item(before, after, threshold_joules_fraction, threshold_fps_fraction)
        )
    return comparisons


def _measured(item: StoredItem) -> bool:
    return item.status == STATUS_MEASURED and _finite(item.joules_per_sample)


def _measured_keys(run: RunRecord) -> set[tuple[str, int | None, str | None]]:
    """The keys of a run's items that were measured, their energy known or not."""
    return {item.key for item in run.items if item.status == STATUS_MEASURED}


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _change(before: float | None, after: float | None) -> float | None:
    if not (_finite(before) and _finite(after)) or before == 0:
        return None
    return (after - before) / before  # type: ignore[operator]


def _outside_cis(before: StoredItem, after: StoredItem) -> bool | None:
    """Whether the two 95 % intervals of energy per sample do not overlap; None where either
    CI is unknown."""
    ci_before, ci_after = before.joules_per_sample_ci95, after.joules_per_sample_ci95
    if not (_finite(ci_before) and _finite(ci_after)):
        return None
    delta = after.joules_per_sample - before.joules_per_sample  # type: ignore[operator]
    return abs(delta) > ci_before + ci_after  # type: ignore[operator]


def _compare_item(
    before: StoredItem,
    after: StoredItem,
    threshold_joules_fraction: float | None,
    threshold_fps_fraction: float | None,
) -> ItemComparison:
    joules_change = _change(before.joules_per_sample, after.joules_per_sample)
    outside_cis = _outside_cis(before, after)
    # +1 worse, -1 better, 0 not judged or within the noise. Energy: higher is worse. Where a
    # CI is unknown (a record that lacks one) the noise cannot be judged: as FPS, then, on the
    # threshold alone and only when one is given, never as if the interval were zero.
    joules_sign = 0
    judged = outside_cis is not None or threshold_joules_fraction is not None
    beyond_noise = outside_cis if outside_cis is not None else judged
    if (
        joules_change is not None
        and beyond_noise
        and abs(joules_change) > (threshold_joules_fraction or 0.0)
    ):
        joules_sign = 1 if joules_change > 0 else -1
    # FPS: lower is worse.
    fps_sign = 0
    fps_change = _change(before.fps, after.fps)
    if (
        threshold_fps_fraction is not None
        and fps_change is not None
        and abs(fps_change) > threshold_fps_fraction
    ):
        fps_sign = 1 if fps_change < 0 else -1
    if 1 in (joules_sign, fps_sign):
        verdict = REGRESSED
    elif -1 in (joules_sign, fps_sign):
        verdict = IMPROVED
    else:
        verdict = UNCHANGED if judged else NOT_JUDGED
    return ItemComparison(
        before.model,
        before.batch_size,
        verdict,
        before,
        after,
        joules_change_fraction=joules_change,
        joules_outside_cis=outside_cis,
        fps_change_fraction=fps_change,
        joules_regressed=joules_sign == 1,
        fps_regressed=fps_sign == 1,
        dtype=before.dtype,
    )


def settings_differences(baseline_run: RunRecord, current_run: RunRecord) -> list[str]:
    """Names of the settings that differ: numbers measured differently compare less well. Only
    the names both runs recorded: a run stored by another version may record fewer."""
    names = baseline_run.settings.keys() & current_run.settings.keys()
    return sorted(
        name for name in names if baseline_run.settings.get(name) != current_run.settings.get(name)
    )


def count_verdicts(comparisons: Iterable[ItemComparison]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for comparison in comparisons:
        counts[comparison.verdict] += 1
    return counts


def describe_run(run: RunRecord) -> str:
    commit = f"commit {run.git.commit[:12]}" if run.git.commit else "no git commit"
    dirty = " (dirty)" if run.git.dirty else ""
    interrupted = ", interrupted" if run.interrupted else ""
    return f"{run.run_id} ({commit}{dirty}, {run.created_utc}{interrupted})"


def comparison_lines(
    baseline_run: RunRecord, current_run: RunRecord, comparisons: Sequence[ItemComparison]
) -> list[str]:
    """A header, warnings where the runs differ in machine or settings, then a table."""
    counts = count_verdicts(comparisons)
    # "not judged" only where some item was: a record that lacks CIs is rare.
    shown = [verdict for verdict in VERDICTS if verdict != NOT_JUDGED or counts[verdict]]
    lines = [
        f"compared with run {describe_run(baseline_run)}: "
        + ", ".join(f"{counts[verdict]} {verdict}" for verdict in shown),
        "rule: regressed/improved = energy change beyond the threshold AND outside both 95 % "
        "CIs (|dJ| > CI_a + CI_b; where a CI is unknown, beyond the threshold alone, and not "
        "judged without one); FPS on its threshold alone (no CI)",
    ]
    if baseline_run.machine_key != current_run.machine_key:
        lines.append(
            "WARNING: the runs were measured on different machines (machine_key "
            f"{baseline_run.machine_key} vs {current_run.machine_key}); energy differences "
            "may be the machine's, not the code's"
        )
    differing = settings_differences(baseline_run, current_run)
    if differing:
        lines.append(f"WARNING: the runs were measured with different settings: {differing}")
    lines.extend(format_comparison_table(comparisons))
    return lines


def format_comparison_table(comparisons: Sequence[ItemComparison]) -> list[str]:
    """One line per item, worst verdicts first; a dtype column where the runs had formats."""
    with_dtypes = any(c.dtype is not None for c in comparisons)
    header = ("verdict", "model", "bs", "J/sample before", "J/sample after", "dJ", "dFPS")
    header = (*header[:3], "dtype", *header[3:]) if with_dtypes else header
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    rows = []
    for c in sorted(comparisons, key=lambda c: order[c.verdict]):
        row: tuple[str, ...] = (
            c.verdict,
            c.model,
            "" if c.batch_size is None else str(c.batch_size),
            stored_joules_text(c.baseline),
            stored_joules_text(c.current),
            change_percent_text(c.joules_change_fraction),
            change_percent_text(c.fps_change_fraction),
        )
        rows.append((*row[:3], c.dtype or "", *row[3:]) if with_dtypes else row)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def stored_joules_text(item: StoredItem | None) -> str:
    """``0.1234 ± 0.0012``: a stored item's J/sample with its CI (``0.1234 ± ?`` where the CI
    is unknown); ``-`` for none."""
    if item is None or item.joules_per_sample is None:
        return "-"
    ci = item.joules_per_sample_ci95
    return f"{item.joules_per_sample:.4g} ± {f'{ci:.2g}' if _finite(ci) else '?'}"


def change_percent_text(fraction: float | None) -> str:
    """``+4.1%``: a relative change with its sign; ``-`` for none."""
    return "-" if fraction is None else f"{100 * fraction:+.1f}%"


def gate_failures(
    comparisons: Sequence[ItemComparison],
    joules_fraction: float | None,
    fps_fraction: float | None,
) -> list[str]:
    """A line per gate (``--energy-compare-fail``) that regressed items broke; empty: passed."""
    lines = []
    gates = (
        ("joules", joules_fraction, [c for c in comparisons if c.joules_regressed]),
        ("fps", fps_fraction, [c for c in comparisons if c.fps_regressed]),
    )
    for name, fraction, regressed in gates:
        if fraction is not None and regressed:
            items = ", ".join(c.label for c in regressed)
            lines.append(
                f"FAILED --energy-compare-fail={name}:{100 * fraction:g}%: "
                f"{len(regressed)} item(s) regressed: {items}"
            )
    return lines
