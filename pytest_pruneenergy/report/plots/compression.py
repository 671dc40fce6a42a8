"""Absolute figures against compression, one line per batch size (as the paper draws them):
energy per sample and FPS against the FLOPs CR, and energy beside the metadata's metric
against the GPR (the seed's notebook 4 ``plot_energy_and_metric_curve``).

A line is the mean over the pruned models at each GPR (all PDs, seeds and methods), from the
unpruned model at CR 0; every pruned model is a dot behind it. The band around an energy line
is the mean of the rows' own uncertainty: the 95 % CI of our tables, one STD of the trials of
the seed's (whose CSV has no CI), and the y label says which.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import schema as col
from ..metadata import metadata_in_table, metric_by_stem, metric_names
from ..schema import model_stem
from .batch_size import maybe_log_y
from .style import (
    GROUP,
    OKABE_ITO,
    PRUNED,
    ROLE,
    energy_uncertainty,
    facets,
    groups_in_order,
    largest_batch_size,
    legend,
    new_figure,
    title,
)


def energy_band(rows: pd.DataFrame) -> tuple[pd.Series | None, str | None]:
    """Each row's energy uncertainty and the band's legend words (``energy_uncertainty``)."""
    uncertainty, words = energy_uncertainty(rows)
    return uncertainty, None if words is None else f"band: {words}"


def per_rate_means(pruned: pd.DataFrame, value_column: str) -> pd.DataFrame:
    """One point per GPR: the mean FLOPs CR and the mean value over the models at that GPR
    (every PD, seed and method), sorted by CR."""
    means = pruned.groupby(col.GPR)[[col.CR_FLOPS, value_column]].mean()
    return means.dropna().sort_values(col.CR_FLOPS)


def cr_vs_measure(
    rows: pd.DataFrame, value_column: str, value_label: str, subject: str, estimated: bool
) -> Figure | None:
    """``value_column`` against the FLOPs CR, a facet per architecture, a line per batch size."""
    data = rows.dropna(subset=[value_column, col.CR_FLOPS])
    pruned = data[data[ROLE] == PRUNED]
    if pruned.empty:
        return None
    groups = groups_in_order(pruned)
    figure, axes = facets(groups, share_y=False)
    uncertainty, band_words = (
        energy_band(data) if value_column == col.JOULES_PER_SAMPLE else (None, None)
    )
    sizes = sorted({int(size) for size in data[col.BATCH_SIZE]})
    handles: dict[str, object] = {}
    for ax, group in zip(axes, groups, strict=True):
        of_group = data[data[GROUP] == group]
        for index, batch_size in enumerate(sizes):
            colour = OKABE_ITO[index % len(OKABE_ITO)]
            at_batch = of_group[of_group[col.BATCH_SIZE] == batch_size]
            models = at_batch[at_batch[ROLE] == PRUNED]
            if models.empty:
                continue
            ax.scatter(models[col.CR_FLOPS], models[value_column], s=6, color=colour, alpha=0.25)
            means = per_rate_means(models, value_column)
            baseline = at_batch[at_batch[ROLE] != PRUNED][value_column]
            crs = np.array([0.0, *means[col.CR_FLOPS]]) if len(baseline) else means[col.CR_FLOPS]
            values = (
                np.array([float(baseline.mean()), *means[value_column]])
                if len(baseline)
                else means[value_column]
            )
            (line,) = ax.plot(crs, values, color=colour, marker="o", markersize=3, linewidth=1.6)
            handles[f"batch {batch_size}"] = line
            if len(baseline):
                ax.plot([0.0], [float(baseline.mean())], "D", color=colour, markersize=6)
            if uncertainty is not None:
                widths = uncertainty.loc[models.index].groupby(models[col.GPR]).mean()
                widths = widths.reindex(means.index)
                ax.fill_between(
                    means[col.CR_FLOPS],
                    means[value_column] - widths,
                    means[value_column] + widths,
                    color=colour,
                    alpha=0.15,
                )
        ax.set_xlabel("CR (%) measured in FLOPs")
        ax.grid(alpha=0.3)
        maybe_log_y(ax, of_group[value_column])
    handles["unpruned model (CR 0)"] = Line2D([], [], marker="D", color="grey", linestyle="none")
    handles["pruned models: each (dots), mean per GPR (line)"] = Line2D(
        [], [], marker="o", color="grey", alpha=0.5, linestyle="none", markersize=3
    )
    axes[0].set_ylabel(value_label if band_words is None else f"{value_label}\n{band_words}")
    title(figure, f"{subject} vs compression, one line per batch size", estimated)
    legend(figure, handles)
    return figure


def energy_and_metric(table: pd.DataFrame, rows: pd.DataFrame, estimated: bool) -> Figure | None:
    """Energy per sample (left axis) and the metric (right axis) against the GPR at the largest
    batch size, a facet per architecture: mean over the PDs at each GPR, the unpruned model at
    GPR 0. None where the table carries no metric."""
    metadata = metadata_in_table(table)
    if metadata is None:
        return None
    metric = metric_names(metadata)[0]
    scores = metric_by_stem(metadata, metric)
    batch_size = largest_batch_size(rows.dropna(subset=[col.JOULES_PER_SAMPLE]))
    data = rows[(rows[col.BATCH_SIZE] == batch_size) & rows[col.GPR].notna()].copy()
    data[metric] = data[col.MODEL_NAME].astype(str).map(model_stem).map(scores)
    data = data.dropna(subset=[col.JOULES_PER_SAMPLE, metric])
    if data.empty:
        return None
    groups = groups_in_order(data)
    figure = new_figure((max(6.0, 4.2 * min(len(groups), 3)), 4.6))
    axes = np.atleast_1d(figure.subplots(1, len(groups), squeeze=False)[0])
    energy_colour, metric_colour = OKABE_ITO[0], OKABE_ITO[2]
    for ax, group in zip(axes, groups, strict=True):
        of_group = data[data[GROUP] == group].groupby(col.GPR)[[col.JOULES_PER_SAMPLE, metric]]
        means = of_group.mean().sort_index()
        ax.plot(means.index, means[col.JOULES_PER_SAMPLE], color=energy_colour, marker="o")
        ax.set_xlabel("GPR (%)")
        ax.set_title(str(group), fontsize=10)
        ax.tick_params(axis="y", labelcolor=energy_colour)
        twin = ax.twinx()
        twin.plot(means.index, means[metric], color=metric_colour, marker="s")
        twin.tick_params(axis="y", labelcolor=metric_colour)
        twin.set_ylabel(metric, color=metric_colour)
    axes[0].set_ylabel("Energy per sample (J)", color=energy_colour)
    handles = {
        "energy per sample, mean over PDs": Line2D([], [], color=energy_colour, marker="o"),
        f"{metric}, mean over PDs": Line2D([], [], color=metric_colour, marker="s"),
    }
    title(figure, f"Energy and {metric} vs GPR, batch size {batch_size}", estimated)
    legend(figure, handles)
    return figure
