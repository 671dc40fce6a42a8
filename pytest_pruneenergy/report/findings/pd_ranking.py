"""Which pruning distribution saves most energy?

Per architecture and batch size, first over all GPRs (each PD's mean energy reduction over the
GPRs every PD of the group was measured at, each GPR first averaged over seeds and methods),
then at each GPR. The PDs whose reduction is indistinguishable from the highest (overlapping
intervals, see ``uncertainty``) all "save most"; likewise for "least". At one GPR the PDs remove
different shares of FLOPs, so each PD's mean FLOPs CR is given with its saving.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import schema as col
from .rows import (
    REDUCTION_HALF_WIDTH,
    analysis_rows,
    mean_half_width,
    pruned_rows,
    uncertainty_kind,
)
from .uncertainty import (
    Estimate,
    any_unknown,
    kind_text,
    known,
    leaders,
    listed,
    mean_estimate,
)


@dataclass(frozen=True)
class PdStanding:
    """One PD in a comparison: its energy reduction (%) with uncertainty, and FLOPs CR (%).
    Over several GPRs, the reduction is their mean, its uncertainty the measurements' alone
    (the GPRs are the same for every PD), and ``gpr_spread`` the SD of the GPRs' reductions
    around it: how much the mean hides."""

    pruning_distribution: str
    reduction: Estimate
    flops_cr_percent: float
    gpr_spread: float | None = None


@dataclass(frozen=True)
class PdComparison:
    """The PDs of one architecture and batch size, over ``gprs``; ``standings`` highest
    saving first (equal savings by label); ``best`` and ``worst`` the PDs indistinguishable
    from the highest and from the lowest."""

    architecture: str
    batch_size: int
    gprs: tuple[float, ...]
    standings: tuple[PdStanding, ...]
    best: tuple[str, ...]
    worst: tuple[str, ...]


def compare_pds(table: pd.DataFrame) -> list[PdComparison]:
    """Per (architecture, batch size): the PDs over the GPRs all of them were measured at."""
    comparisons = []
    for (architecture, batch_size), group in _per_gpr(table).groupby(
        [col.ARCHITECTURE, col.BATCH_SIZE], sort=True
    ):
        per_pd = group.groupby(col.PRUNING_DISTRIBUTION)
        shared = set.intersection(*(set(rows[col.GPR]) for _, rows in per_pd))
        common = group[group[col.GPR].isin(shared)]
        comparison = _comparison(str(architecture), int(batch_size), common)
        if comparison is not None:
            comparisons.append(comparison)
    return comparisons


def compare_pds_per_gpr(table: pd.DataFrame) -> list[PdComparison]:
    """Per (architecture, batch size, GPR): the PDs measured there."""
    comparisons = []
    for (architecture, batch_size, _gpr), group in _per_gpr(table).groupby(
        [col.ARCHITECTURE, col.BATCH_SIZE, col.GPR], sort=True
    ):
        comparison = _comparison(str(architecture), int(batch_size), group)
        if comparison is not None:
            comparisons.append(comparison)
    return comparisons


def _per_gpr(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (architecture, batch size, PD, GPR): mean reduction, its half-width (NaN
    where a row's is unknown), mean FLOPs CR."""
    pruned = pruned_rows(analysis_rows(table))
    pruned = pruned[pruned[col.GPR].notna()]
    keys = [col.ARCHITECTURE, col.BATCH_SIZE, col.PRUNING_DISTRIBUTION, col.GPR]
    grouped = pruned.groupby(keys, sort=True)
    merged = grouped[[col.ENERGY_REDUCTION, col.CR_FLOPS]].mean()
    merged[REDUCTION_HALF_WIDTH] = mean_half_width(pruned, keys)
    return merged.reset_index()


def _comparison(architecture: str, batch_size: int, rows: pd.DataFrame) -> PdComparison | None:
    if rows.empty:
        return None
    estimates: dict[str, Estimate] = {}
    crs: dict[str, float] = {}
    spreads: dict[str, float | None] = {}
    for pd_label, of_pd in rows.groupby(col.PRUNING_DISTRIBUTION, sort=True):
        reductions = of_pd[col.ENERGY_REDUCTION].astype(float)
        spreads[str(pd_label)] = float(reductions.std()) if len(reductions) > 1 else None
        estimates[str(pd_label)] = mean_estimate(
            [
                Estimate(float(value), known(float(width)))
                for value, width in zip(
                    of_pd[col.ENERGY_REDUCTION], of_pd[REDUCTION_HALF_WIDTH], strict=True
                )
            ]
        )
        crs[str(pd_label)] = float(of_pd[col.CR_FLOPS].mean())
    order = sorted(estimates, key=lambda label: (-estimates[label].value, label))
    return PdComparison(
        architecture,
        batch_size,
        tuple(sorted(float(gpr) for gpr in rows[col.GPR].unique())),
        tuple(PdStanding(label, estimates[label], crs[label], spreads[label]) for label in order),
        tuple(leaders(estimates)),
        tuple(leaders(estimates, highest=False)),
    )


def comparison_sentence(comparison: PdComparison) -> str:
    """One comparison in words: who saves most and least, indistinguishable ones named so."""
    where = f"{comparison.architecture}, batch {comparison.batch_size}, {_gprs(comparison.gprs)}"
    by_label = {standing.pruning_distribution: standing for standing in comparison.standings}
    if len(comparison.standings) == 1:
        (only,) = comparison.standings
        return f"{where}: only {only.pruning_distribution} was measured ({_standing(only)})"
    if len(comparison.best) == len(comparison.standings):
        listed_all = listed(f"{label} {_standing(by_label[label])}" for label in comparison.best)
        return f"{where}: all PDs save indistinguishably much: {listed_all}"
    lowest = [label for label in comparison.worst if label not in comparison.best]
    between = [label for label in comparison.worst if label in comparison.best]
    least = _who(tuple(lowest), by_label) + " least"
    if between:
        least += f", indistinguishable from {listed(between)}"
    # Ranked by value alone where an uncertainty is unknown: said, so it is not read as beyond.
    unknown = " (a PD's uncertainty is unknown: ranked by value alone)"
    return f"{where}: {_who(comparison.best, by_label)} most; {least}" + (
        unknown if _uncertainty_unknown(comparison) else ""
    )


def _who(labels: tuple[str, ...], by_label: dict[str, PdStanding]) -> str:
    standings = listed(f"{label} {_standing(by_label[label])}" for label in labels)
    if len(labels) == 1:
        return f"{standings} saves"
    return f"{standings}, indistinguishable, save"


def _standing(standing: PdStanding) -> str:
    cr = (
        ""
        if math.isnan(standing.flops_cr_percent)
        else f" at FLOPs CR {standing.flops_cr_percent:.0f} %"
    )
    if standing.gpr_spread is None:
        return f"({standing.reduction.text('.1f', ' %')}{cr})"
    return (
        f"(mean {standing.reduction.text('.1f', ' %')}, the GPRs spread SD "
        f"{standing.gpr_spread:.1f} points around it{cr})"
    )


def _gprs(gprs: tuple[float, ...]) -> str:
    if len(gprs) == 1:
        return f"GPR {gprs[0]:g}"
    return f"over GPR {gprs[0]:g}-{gprs[-1]:g}"


def ranking_sentences(table: pd.DataFrame) -> list[str]:
    """Over all GPRs per architecture and batch size, then one line across them all, then per
    GPR in one sentence per architecture and batch size."""
    rows = analysis_rows(table)
    kind = kind_text(uncertainty_kind(rows))
    overall = compare_pds(table)
    sentences = [comparison_sentence(comparison) for comparison in overall]
    if len(overall) > 1:
        sentences.append(across_sentence(overall))
    per_gpr: dict[tuple[str, int], list[PdComparison]] = {}
    for comparison in compare_pds_per_gpr(table):
        per_gpr.setdefault((comparison.architecture, comparison.batch_size), []).append(comparison)
    sentences += [per_gpr_sentence(comparisons, kind) for comparisons in per_gpr.values()]
    return sentences


def across_sentence(comparisons: list[PdComparison]) -> str:
    """How often each PD is among those saving most, and least, across the comparisons whose
    uncertainties are all known (the others, ranked by value alone, counted apart)."""
    unjudged = sum(_uncertainty_unknown(c) for c in comparisons)
    groups = f"Across the {len(comparisons)} architecture x batch-size groups, over all GPRs"
    if unjudged:
        groups += f" (of which {unjudged} with a PD of unknown uncertainty, not counted)"
    comparisons = [c for c in comparisons if not _uncertainty_unknown(c)]
    if not comparisons:
        return f"{groups}: no group to count"
    labels = sorted({s.pruning_distribution for c in comparisons for s in c.standings})
    most = {label: sum(label in c.best for c in comparisons) for label in labels}
    least = {label: sum(label in c.worst for c in comparisons) for label in labels}
    ranked = sorted(labels, key=lambda label: (-most[label], least[label], label))
    counts = listed(f"{label} in {most[label]}" for label in ranked if most[label])
    worst = sorted(labels, key=lambda label: (-least[label], label))
    worst_counts = listed(f"{label} in {least[label]}" for label in worst if least[label])
    return (
        f"{groups}: among the PDs saving most: {counts}; among those saving least: {worst_counts}"
    )


def per_gpr_sentence(comparisons: list[PdComparison], kind: str) -> str:
    """At how many GPRs one PD saves most beyond the uncertainty, which, and where the best
    are indistinguishable."""
    first = comparisons[0]
    where = f"{first.architecture}, batch {first.batch_size}, per GPR"
    # Where a PD's uncertainty is unknown, no PD saves most "beyond the uncertainty" (only an
    # exact tie would have been told): those GPRs are counted apart, as not judged.
    judged = [c for c in comparisons if not _uncertainty_unknown(c)]
    unjudged = [c for c in comparisons if _uncertainty_unknown(c)]
    clear = [c for c in judged if len(c.best) == 1 and len(c.standings) > 1]
    tied = [c for c in judged if len(c.best) > 1]
    winners: dict[str, list[float]] = {}
    for comparison in clear:
        winners.setdefault(comparison.best[0], []).append(comparison.gprs[0])
    parts = []
    if judged:
        parts.append(
            f"one PD saves most beyond the uncertainty at {len(clear)} of {len(comparisons)} GPRs"
            + (
                " ("
                + "; ".join(f"{label} at {_list_gprs(g)}" for label, g in winners.items())
                + ")"
                if winners
                else ""
            )
        )
    if tied:
        parts.append(
            f"at {len(tied)} ({_list_gprs([c.gprs[0] for c in tied])}) two or more PDs save "
            f"most indistinguishably ({kind})"
        )
    if unjudged:
        parts.append(
            f"at {len(unjudged)} ({_list_gprs([c.gprs[0] for c in unjudged])}) a PD's "
            "uncertainty is unknown, so none is judged"
        )
    return f"{where}: {'; '.join(parts)}"


def _uncertainty_unknown(comparison: PdComparison) -> bool:
    return any_unknown(standing.reduction for standing in comparison.standings)


def _list_gprs(gprs: list[float]) -> str:
    return ", ".join(f"{gpr:g}" for gpr in sorted(gprs))
