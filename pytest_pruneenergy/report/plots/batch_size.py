"""Energy per sample and FPS against batch size, per model."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator

from .. import schema as col
from ..labels import shorten_names
from ..schema import model_stem
from .style import (
    BASELINE,
    GROUP,
    GROUP_LABEL_WIDTH,
    LOG_Y_SPREAD,
    OKABE_ITO,
    PRUNED,
    ROLE,
    energy_uncertainty,
    groups_in_order,
    known_at,
    legend,
    new_figure,
    title,
)


def batch_size_vs(
    rows: pd.DataFrame, value_column: str, value_label: str, estimated: bool
) -> Figure | None:
    data = rows.dropna(subset=[value_column])
    if data.empty:
        return None
    figure = new_figure((7.5, 5.2))
    ax = figure.subplots()
    handles: dict[str, object] = {}
    uncertainty, bar_words = (
        energy_uncertainty(data) if value_column == col.JOULES_PER_SAMPLE else (None, None)
    )
    bars_drawn = False
    for index, group in enumerate(groups_in_order(data)):
        of_group = data[data[GROUP] == group]
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        pruned = of_group[of_group[ROLE] == PRUNED]
        if not pruned.empty:
            handles[f"{group} pruned (min-max)"] = _band(ax, pruned, value_column, colour)
        reference = of_group[of_group[ROLE] != PRUNED]
        stems = reference[col.MODEL_NAME].astype(str).map(model_stem)
        labels = shorten_names(stems, GROUP_LABEL_WIDTH)
        for model, of_model in reference.groupby(stems, sort=True):
            of_model = of_model.sort_values(col.BATCH_SIZE)
            # NaN where a row's uncertainty is unknown: no bar, never a bar of zero.
            error = known_at(uncertainty, of_model.index)
            bars_drawn = bars_drawn or error is not None
            label = f"{group} unpruned" if (of_model[ROLE] == BASELINE).all() else group
            if label in handles:
                label = labels[str(model)]
            handles[label] = ax.errorbar(
                of_model[col.BATCH_SIZE],
                of_model[value_column],
                yerr=error,
                color=colour,
                marker="o",
                capsize=3,
                linewidth=1.8,
            )
    if bars_drawn:
        handles[f"bars: {bar_words}"] = Line2D(
            [], [], color="grey", marker="|", markersize=12, linestyle="none"
        )
    sizes = sorted({int(size) for size in data[col.BATCH_SIZE]})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 1.5, sizes[0] * 1.5)
    ax.set_xlabel("Batch size (samples)")
    ax.set_ylabel(value_label)
    ax.grid(alpha=0.3)
    maybe_log_y(ax, data[value_column])
    subject = "Energy per sample" if value_column == col.JOULES_PER_SAMPLE else "Throughput"
    title(figure, f"{subject} vs batch size", estimated)
    legend(figure, handles)
    return figure


def _band(ax: Axes, pruned: pd.DataFrame, value_column: str, colour: str) -> object:
    """Min-max over the pruned models at each batch size, edges drawn so that one model or one
    batch size (a band of no area) still shows."""
    spread = pruned.groupby(col.BATCH_SIZE)[value_column].agg(["min", "max"]).sort_index()
    for edge in ("min", "max"):
        ax.plot(spread.index, spread[edge], color=colour, alpha=0.5, linewidth=0.8, marker=".")
    ax.fill_between(spread.index, spread["min"], spread["max"], color=colour, alpha=0.2)
    return Patch(facecolor=colour, edgecolor=colour, alpha=0.35)


def maybe_log_y(ax: Axes, values: pd.Series) -> None:
    positive = values[values > 0]
    everything_positive = len(positive) == len(values) and not positive.empty
    if everything_positive and positive.max() / positive.min() > LOG_Y_SPREAD:
        ax.set_yscale("log")
        # 0.1 and 1 read faster than 10^-1 and 10^0.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
