"""The reduction figures: energy reduction against compression (FLOPs and parameters), per
pruning distribution, and per architecture."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ...measure.stats import ci95_of_mean
from .. import schema as col
from ..findings.breaks import breaking_points
from .batch_size import (
    maybe_log_y,
)
from .style import (
    BREAKING_POINT_LABEL,
    BREAKING_POINT_STYLE,
    FACET_COLUMNS,
    GROUP,
    OKABE_ITO,
    PRUNED,
    REDUCTION_CI95,
    ROLE,
    LineBreaks,
    at_batch_sizes,
    bars_words,
    batch_size_facets,
    batch_sizes_in,
    energy_uncertainty,
    facets,
    groups_in_order,
    known_at,
    label_y,
    legend,
    pd_labels,
    pd_legend_labels,
    pd_number,
    pd_style,
    pruned_with,
    title,
)


def breaking_points_by_line(table: pd.DataFrame) -> dict[str, LineBreaks]:
    """CR kind ("flops", "params") -> the CR (%) at which each line breaks beyond its
    uncertainty (findings/breaks.py: at most one per line)."""
    breaks: dict[str, LineBreaks] = {}
    for cr_kind in ("flops", "params"):
        for found in breaking_points(table, cr_kind):
            line = (
                found.architecture.casefold(),
                found.pruning_distribution.upper(),
                found.batch_size,
            )
            breaks.setdefault(cr_kind, {})[line] = (found.bend.at_cr_percent,)
    return breaks


def cr_vs_energy_reduction(
    rows: pd.DataFrame,
    cr_column: str,
    counted: str,
    breaks: LineBreaks,
    estimated: bool,
) -> Figure | None:
    """One panel per architecture and batch size (the paper's 75 curves on its grid), a line
    per PD through the unpruned model at the origin."""
    grid = _pruned_grid(rows, cr_column, col.ENERGY_REDUCTION)
    if grid is None:
        return None
    data, batch_sizes, figure, panels = grid
    legend_labels = pd_legend_labels(data)
    handles: dict[str, object] = {}
    drew_error_bars = drew_breaks = False
    for (batch_size, _), ax, of_panel in panel_rows(data, panels):
        architecture = str(of_panel[col.ARCHITECTURE].iloc[0]).casefold()
        for pd_label in pd_labels(of_panel):
            of_pd = of_panel[of_panel[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
            points = _points_per_rate(of_pd, cr_column)
            style = pd_style(pd_number(pd_label) or 0)
            # The unpruned model sits at the origin.
            crs = np.array([0.0, *points[cr_column]])
            reductions = np.array([0.0, *points[col.ENERGY_REDUCTION]])
            (line,) = ax.plot(crs, reductions, label=pd_label, linewidth=1.5, markersize=4, **style)
            handles.setdefault(legend_labels[pd_label], line)
            drew_error_bars |= _error_bars(ax, points, cr_column, str(style["color"]))
            at = breaks.get((architecture, pd_label, batch_size), ())
            drew_breaks |= _breaking_points(ax, at, crs, reductions, str(style["color"]))
        handles["unpruned model (0, 0)"] = ax.plot([0], [0], "ko", markersize=6)[0]
        handles["reduction = CR"] = ax.axline(
            (0, 0), slope=1, color="grey", linestyle="--", linewidth=1
        )
        ax.set_xlabel(f"CR (%) measured in {counted}")
    if drew_breaks:
        handles[BREAKING_POINT_LABEL] = Line2D([], [], linestyle="none", **BREAKING_POINT_STYLE)
    y_label = "Energy reduction (%)"
    label_y(figure, panels, f"{y_label}\nbars: {bars_words(rows)}" if drew_error_bars else y_label)
    title(
        figure,
        f"Energy reduction vs compression in {counted}{at_batch_sizes(batch_sizes)}",
        estimated,
    )
    legend(figure, handles)
    return figure


def _pruned_grid(
    rows: pd.DataFrame, *columns: str
) -> tuple[pd.DataFrame, list[int], Figure, dict[tuple[int, str], Axes]] | None:
    """The pruned rows with ``columns`` finite, their batch sizes, and a figure with a panel per
    group and batch size; None where there are no such rows."""
    data = pruned_with(rows, *columns)
    if data.empty:
        return None
    batch_sizes = batch_sizes_in(data)
    figure, panels = batch_size_facets(groups_in_order(data), batch_sizes)
    return data, batch_sizes, figure, panels


def panel_rows(
    data: pd.DataFrame, panels: dict[tuple[int, str], Axes]
) -> Iterator[tuple[tuple[int, str], Axes, pd.DataFrame]]:
    """Each panel of ``batch_size_facets`` with its rows (batch size and group); panels without
    rows are passed over."""
    for (batch_size, group), ax in panels.items():
        of_panel = data[(data[GROUP] == group) & (data[col.BATCH_SIZE] == batch_size)]
        if not of_panel.empty:
            yield (batch_size, group), ax, of_panel


def _points_per_rate(of_pd: pd.DataFrame, cr_column: str) -> pd.DataFrame:
    """One point per GPR, by CR: the mean CR and reduction over seeds and methods, and the
    mean's 95 % CI (NaN where a row's is unknown)."""
    by_rate = of_pd.groupby(col.GPR)
    points = by_rate[[cr_column, col.ENERGY_REDUCTION]].mean()
    points[REDUCTION_CI95] = by_rate[REDUCTION_CI95].agg(_ci95_of_mean)
    return points.sort_values(cr_column)


def _ci95_of_mean(ci95s: pd.Series) -> float:
    """The CI of a mean of independent values; NaN where any value's CI is unknown."""
    if ci95s.isna().any():
        return math.nan
    return ci95_of_mean(list(ci95s))


def _error_bars(ax: Axes, points: pd.DataFrame, cr_column: str, colour: str) -> bool:
    """Vertical 95 % CI bars on the points that have one; whether any was drawn."""
    known = points[points[REDUCTION_CI95].notna()]
    if known.empty:
        return False
    ax.errorbar(
        known[cr_column],
        known[col.ENERGY_REDUCTION],
        yerr=known[REDUCTION_CI95],
        fmt="none",
        ecolor=colour,
        elinewidth=0.9,
        capsize=2,
        alpha=0.6,
    )
    return True


def _breaking_points(
    ax: Axes, at_crs: tuple[float, ...], crs: np.ndarray, reductions: np.ndarray, colour: str
) -> bool:
    """A ring on the line at each breaking point's CR; whether any was drawn."""
    if not at_crs:
        return False
    # The fit breaks at a CR of its own rows; the line is their mean per GPR: ring it there.
    on_line = np.interp(at_crs, crs, reductions)
    style = {**BREAKING_POINT_STYLE, "markeredgecolor": colour}
    ax.plot(at_crs, on_line, linestyle="none", label=BREAKING_POINT_LABEL, **style)
    return True


def pd_vs_energy_reduction(rows: pd.DataFrame, estimated: bool) -> Figure | None:
    grid = _pruned_grid(rows, col.ENERGY_REDUCTION)
    if grid is None:
        return None
    data, batch_sizes, figure, panels = grid
    handles: dict[str, object] = {}
    legend_labels = pd_legend_labels(data)
    for _, ax, of_panel in panel_rows(data, panels):
        labels = pd_labels(of_panel)
        for pd_label in labels:
            number = pd_number(pd_label) or 0
            of_pd = of_panel[of_panel[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
            # One value per rate first, so that a rate with more seeds does not weigh more.
            points = _points_per_rate(of_pd, col.CR_FLOPS)
            per_rate = points[col.ENERGY_REDUCTION]
            mean = float(per_rate.mean())
            # The mean's own uncertainty, as the findings judge PDs (findings/pd_ranking.py):
            # the GPRs are the same for every PD, so their spread is not noise; the dots show it.
            ci95 = _ci95_of_mean(points[REDUCTION_CI95])
            offsets = (np.arange(len(per_rate)) * 0.618034 % 1.0 - 0.5) * 0.3
            ax.scatter(number + offsets, per_rate, s=10, alpha=0.35, **_dot_style(number))
            container = ax.errorbar(
                [number],
                [mean],
                yerr=None if np.isnan(ci95) else [[ci95], [ci95]],
                capsize=4,
                markersize=8,
                linestyle="none",
                **pd_style(number),
            )
            handles.setdefault(legend_labels[pd_label], container)
        ax.set_xticks([pd_number(label) or 0 for label in labels], labels)
        ax.set_xlim(0.4, max(pd_number(label) or 0 for label in labels) + 0.6)
        handles["no change"] = ax.axhline(0, color="grey", linewidth=1)
        ax.set_xlabel("Pruning distribution")
    bars = bars_words(rows) or "unknown"
    label_y(
        figure, panels, f"Energy reduction (%)\nmean over GPRs (bars: its {bars}); dots: each GPR"
    )
    title(
        figure,
        f"Energy reduction per pruning distribution{at_batch_sizes(batch_sizes)}",
        estimated,
    )
    legend(figure, handles)
    return figure


def _dot_style(number: int) -> dict[str, object]:
    """A PD's colour for its dots, without its marker's line style."""
    return {"color": pd_style(number)["color"]}


def architecture_vs_energy(rows: pd.DataFrame, estimated: bool) -> Figure | None:
    """A panel per batch size: each architecture's pruned models (range and each) beside its
    unpruned one."""
    data = rows.dropna(subset=[col.JOULES_PER_SAMPLE])
    if data.empty:
        return None
    batch_sizes = batch_sizes_in(data)
    groups = groups_in_order(data)
    # Energies per sample differ by batch size: each panel its own y scale.
    figure, axes = facets([f"batch size {size}" for size in batch_sizes], share_y=False)
    if len(batch_sizes) == 1:
        axes[0].set_title("")
    handles: dict[str, object] = {}
    uncertainty, words = energy_uncertainty(data)
    if known_at(uncertainty, data.index[data[ROLE] != PRUNED]) is None:
        words = None  # the pruned rows' alone: no unpruned model gets a bar to name
    for ax, batch_size in zip(axes, batch_sizes, strict=True):
        of_size = data[data[col.BATCH_SIZE] == batch_size]
        for position, group in enumerate(groups):
            of_group = of_size[of_size[GROUP] == group]
            _architecture_column(ax, of_group, position, handles, uncertainty, words)
        ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 2 else 0)
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_xlabel("Architecture")
        ax.grid(axis="x", visible=False)
        maybe_log_y(ax, of_size[col.JOULES_PER_SAMPLE])
    for ax in axes[:: min(len(axes), FACET_COLUMNS)]:
        ax.set_ylabel("Energy per sample (J)")
    title(figure, f"Energy per sample by architecture{at_batch_sizes(batch_sizes)}", estimated)
    legend(figure, handles)
    return figure


def _architecture_column(
    ax: Axes,
    of_group: pd.DataFrame,
    position: int,
    handles: dict[str, object],
    uncertainty: pd.Series | None,
    words: str | None,
) -> None:
    """One architecture at ``position``: its pruned models' range and points, and its unpruned
    model with its uncertainty (``energy_uncertainty``'s values and what they are; ``words``
    None where no unpruned model has a bar)."""
    pruned = of_group[of_group[ROLE] == PRUNED][col.JOULES_PER_SAMPLE]
    colour = OKABE_ITO[position % len(OKABE_ITO)]
    if not pruned.empty:
        ax.vlines(position, pruned.min(), pruned.max(), color=colour, linewidth=10, alpha=0.25)
        # Spread the points sideways by a golden-ratio sequence: deterministic, yet without
        # the stripes that an evenly spaced spread draws from the table's PD/GPR order.
        offsets = (np.arange(len(pruned)) * 0.618034 % 1.0 - 0.5) * 0.36
        ax.scatter(position + offsets, pruned, s=12, color=colour, alpha=0.7)
        # Neutral proxies: the colours differ per architecture, the meaning does not.
        handles["pruned models: range (min-max)"] = Patch(color="grey", alpha=0.3)
        handles["pruned models: each"] = Line2D(
            [], [], color="grey", alpha=0.7, marker="o", markersize=4, linestyle="none"
        )
    reference = of_group[of_group[ROLE] != PRUNED]
    if not reference.empty:
        label = "unpruned model" if words is None else f"unpruned model, ± {words}"
        handles[label] = ax.errorbar(
            [position] * len(reference),
            reference[col.JOULES_PER_SAMPLE],
            yerr=known_at(uncertainty, reference.index),
            fmt="D",
            color="black",
            markersize=7,
            capsize=4,
        )
