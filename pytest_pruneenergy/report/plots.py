"""The seed paper's figures, drawn from the result table (``report.table.build_table`` or its CSV).

Drawn with matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never pyplot: making a
report must neither switch the user's backend nor leave figures in pyplot's global registry.

Odd tables are expected (one model, no baseline, NaNs, failed rows, names outside the naming
convention, a seed-tool CSV without our columns): a figure without data is skipped, not raised.
Several seeds or methods at the same PD and GPR are averaged into one point.

Each figure is written twice: a PNG (embedded in report.html) and, beside it, an SVG of the same
figure for papers and slides.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullLocator

from ..measure.stats import ci95_of_mean
from . import schema as col
from .findings.breaks import breaking_points
from .labels import shorten_middle, shorten_names
from .schema import estimate_mask, is_unpruned_label, measured_rows, model_stem
from .table import reduction_ci95_column

CR_VS_ENERGY_FLOPS = "cr_vs_energy_reduction_flops.png"
CR_VS_ENERGY_PARAMS = "cr_vs_energy_reduction_params.png"
PD_VS_ENERGY = "pd_vs_energy_reduction.png"
ARCHITECTURE_VS_ENERGY = "architecture_vs_energy.png"
BATCH_SIZE_VS_ENERGY = "batch_size_vs_energy.png"
BATCH_SIZE_VS_FPS = "batch_size_vs_fps.png"
FIGURE_FILES = (
    CR_VS_ENERGY_FLOPS,
    CR_VS_ENERGY_PARAMS,
    PD_VS_ENERGY,
    ARCHITECTURE_VS_ENERGY,
    BATCH_SIZE_VS_ENERGY,
    BATCH_SIZE_VS_FPS,
)

# Each figure is also saved as ``<name>.svg`` beside its PNG.
VECTOR_SUFFIX = ".svg"

DPI = 150
# Okabe & Ito's colour-blind-safe palette, yellow last: it is hard to see on white.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
ESTIMATE_COLOUR = "#B2182B"
ESTIMATE_NOTE = "(ESTIMATED energy — see meter)"
FACET_COLUMNS = 3
# A figure of one or two panels is widened to this, so that its title and legend fit.
MIN_FIGURE_WIDTH_INCHES = 7.0
# About how many title characters fit on an inch of figure width at the default font size.
TITLE_CHARACTERS_PER_INCH = 10
# Also the label of the artist that rings a PD line's breaking point (findings/breaks.py).
BREAKING_POINT_LABEL = "breaking point"
# A ring around the line: the point stays visible inside it.
BREAKING_POINT_STYLE: dict[str, object] = {
    "marker": "o",
    "markersize": 11,
    "markerfacecolor": "none",
    "markeredgecolor": "grey",
    "markeredgewidth": 1.4,
}
# A y range wider than this factor is drawn on a log axis, or small models flatten to zero.
LOG_Y_SPREAD = 20.0
GROUP_LABEL_WIDTH = 28

_GROUP = "_group"
_ROLE = "_role"
_REDUCTION_CI95 = "_reduction_ci95"
# (architecture casefolded, PD upper-cased, batch size) -> the CRs (%) where its line breaks.
LineBreaks = dict[tuple[str, str, int], tuple[float, ...]]
_BASELINE, _PRUNED, _OTHER = "baseline", "pruned", "other"
_PD_NUMBER = re.compile(r"^PD(\d+)$", re.IGNORECASE)
_NUMERIC_COLUMNS = (
    col.BATCH_SIZE,
    col.JOULES_PER_SAMPLE,
    col.JOULES_PER_SAMPLE_CI95,
    col.FPS,
    col.CR_FLOPS,
    col.CR_PARAMETERS,
    col.ENERGY_REDUCTION,
    col.GPR,
)


def write_figures(table: pd.DataFrame, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write each figure that ``table`` has data for into ``out_dir`` as a PNG and, beside it,
    an SVG of the same name; return the PNGs' paths."""
    figures = build_figures(table)
    directory = Path(out_dir)
    # A figure this run has no data for must not survive from an earlier run beside its CSV.
    for stale in FIGURE_FILES:
        (directory / stale).unlink(missing_ok=True)
        (directory / stale).with_suffix(VECTOR_SUFFIX).unlink(missing_ok=True)
    if figures:
        directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, figure in figures.items():
        path = directory / file_name
        figure.savefig(path, dpi=DPI)
        figure.savefig(path.with_suffix(VECTOR_SUFFIX))
        written.append(path)
    return written


def build_figures(table: pd.DataFrame) -> dict[str, Figure]:
    """File name -> figure, for each figure that ``table`` has data for."""
    rows = plottable_rows(table)
    estimated = bool(estimate_mask(rows).any())
    breaks = breaking_points_by_line(table)
    builders: dict[str, Callable[[], Figure | None]] = {
        CR_VS_ENERGY_FLOPS: lambda: _cr_vs_energy_reduction(
            rows, col.CR_FLOPS, "FLOPs", breaks.get("flops", {}), estimated
        ),
        CR_VS_ENERGY_PARAMS: lambda: _cr_vs_energy_reduction(
            rows, col.CR_PARAMETERS, "parameters", breaks.get("params", {}), estimated
        ),
        PD_VS_ENERGY: lambda: _pd_vs_energy_reduction(rows, estimated),
        ARCHITECTURE_VS_ENERGY: lambda: _architecture_vs_energy(rows, estimated),
        BATCH_SIZE_VS_ENERGY: lambda: _batch_size_vs(
            rows, col.JOULES_PER_SAMPLE, "Energy per sample (J)", estimated
        ),
        # Throughput is timed, not metered: an energy estimate does not make it one.
        BATCH_SIZE_VS_FPS: lambda: _batch_size_vs(
            rows, col.FPS, "Throughput (FPS, samples/s)", estimated=False
        ),
    }
    figures = {}
    for file_name, build in builders.items():
        figure = build()
        if figure is not None:
            figures[file_name] = figure
    return figures


def plottable_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Measured rows with numeric columns coerced, a group label and a role per row.

    The group is the architecture (with the dataset when the table holds several), or the model
    name for a name outside the convention; the role is baseline, pruned or other.
    """
    rows = measured_rows(table.reindex(columns=list(col.COLUMNS))).copy()
    for column in _NUMERIC_COLUMNS:
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    rows = rows[rows[col.BATCH_SIZE].notna()]
    several_datasets = rows[col.DATASET].dropna().astype(str).str.casefold().nunique() > 1
    labels = [_group_label(row, several_datasets) for _, row in rows.iterrows()]
    # Names group case-insensitively (naming.ModelName.group_key): show the first spelling.
    first_spelling = {}
    for label in labels:
        first_spelling.setdefault(label.casefold(), label)
    rows[_GROUP] = [first_spelling[label.casefold()] for label in labels]
    rows[_ROLE] = [_role(row) for _, row in rows.iterrows()]
    rows[_REDUCTION_CI95] = reduction_ci95_column(rows)
    return rows


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


def pd_number(label: object) -> int | None:
    """``PD3`` -> 3; None for anything else."""
    match = _PD_NUMBER.match(str(label))
    return int(match.group(1)) if match else None


def pd_legend_label(pd_label: str, shapes_by_group: dict[str, str]) -> str:
    """``PD2 (bottom-up)``; where groups disagree (PD4/PD5 on AlexNet vs VGG), name each."""
    shapes = sorted(set(shapes_by_group.values()))
    if not shapes:
        return pd_label
    if len(shapes) == 1:
        return f"{pd_label} ({shapes[0]})"
    per_shape = "; ".join(
        f"{shape} on {', '.join(sorted(g for g, s in shapes_by_group.items() if s == shape))}"
        for shape in shapes
    )
    return f"{pd_label} ({per_shape})"


def _group_label(row: pd.Series, several_datasets: bool) -> str:
    if pd.isna(row[col.ARCHITECTURE]):
        return shorten_middle(model_stem(str(row[col.MODEL_NAME])), GROUP_LABEL_WIDTH)
    if several_datasets and not pd.isna(row[col.DATASET]):
        return f"{row[col.ARCHITECTURE]} / {row[col.DATASET]}"
    return str(row[col.ARCHITECTURE])


def _role(row: pd.Series) -> str:
    if pd.isna(row[col.ARCHITECTURE]):
        return _OTHER
    label = row[col.PRUNING_DISTRIBUTION]
    if is_unpruned_label(label):
        return _BASELINE
    return _PRUNED if pd_number(label) is not None else _OTHER


def _new_figure(size_inches: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size_inches, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _facets(groups: list[str]) -> tuple[Figure, list[Axes]]:
    """One axes per group, wrapped at ``FACET_COLUMNS``, sharing the y axis."""
    columns = min(len(groups), FACET_COLUMNS)
    lines = math.ceil(len(groups) / columns)
    width = max(MIN_FIGURE_WIDTH_INCHES, 0.8 + 4.0 * columns)
    figure = _new_figure((width, 1.4 + 3.3 * lines))
    grid = figure.subplots(lines, columns, sharey=True, squeeze=False)
    axes = list(grid.flat)
    for unused in axes[len(groups) :]:
        figure.delaxes(unused)
    axes = axes[: len(groups)]
    for ax, group in zip(axes, groups, strict=True):
        ax.set_title(group)
        ax.grid(alpha=0.3)
    return figure, axes


def _title(figure: Figure, text: str, estimated: bool) -> None:
    """The figure's title, wrapped to its width: constrained layout does not shorten a title."""
    text = textwrap.fill(text, int(figure.get_figwidth() * TITLE_CHARACTERS_PER_INCH))
    if estimated:
        figure.suptitle(f"{text}\n{ESTIMATE_NOTE}", color=ESTIMATE_COLOUR, fontweight="bold")
    else:
        figure.suptitle(text)


def _legend(figure: Figure, handles: dict[str, object]) -> None:
    """The figure's one legend, below the axes so that it never covers data."""
    figure.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="outside lower center",
        ncols=min(len(handles), 3),
        fontsize="small",
        frameon=False,
    )


def _pd_style(number: int) -> dict[str, object]:
    """The same colour and marker for a PD in every figure."""
    return {
        "color": OKABE_ITO[(number - 1) % len(OKABE_ITO)],
        "marker": MARKERS[(number - 1) % len(MARKERS)],
    }


def _groups_in_order(rows: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(rows[_GROUP]))


def _largest_batch_size(rows: pd.DataFrame) -> int | None:
    return None if rows.empty else int(rows[col.BATCH_SIZE].max())


def _pruned_with(rows: pd.DataFrame, *columns: str) -> tuple[pd.DataFrame, int | None]:
    """Pruned rows with every column finite, at the largest batch size among them."""
    pruned = rows[rows[_ROLE] == _PRUNED].dropna(subset=list(columns))
    batch_size = _largest_batch_size(pruned)
    return pruned[pruned[col.BATCH_SIZE] == batch_size], batch_size


def _pd_labels(rows: pd.DataFrame) -> list[str]:
    """The PD labels present, ordered by number (PD10 after PD9)."""
    labels = {str(label).upper() for label in rows[col.PRUNING_DISTRIBUTION]}
    return sorted(labels, key=lambda label: pd_number(label) or 0)


def _pd_legend_labels(rows: pd.DataFrame) -> dict[str, str]:
    labels = {}
    for pd_label in _pd_labels(rows):
        of_pd = rows[rows[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
        shapes = {
            str(group): str(shape)
            for group, shape in zip(of_pd[_GROUP], of_pd[col.PD_SHAPE], strict=True)
            if not pd.isna(shape)
        }
        labels[pd_label] = pd_legend_label(pd_label, shapes)
    return labels


def _cr_vs_energy_reduction(
    rows: pd.DataFrame,
    cr_column: str,
    counted: str,
    breaks: LineBreaks,
    estimated: bool,
) -> Figure | None:
    data, batch_size = _pruned_with(rows, cr_column, col.ENERGY_REDUCTION)
    if data.empty:
        return None
    figure, axes = _facets(_groups_in_order(data))
    legend_labels = _pd_legend_labels(data)
    handles: dict[str, object] = {}
    drew_error_bars = drew_breaks = False
    for ax, group in zip(axes, _groups_in_order(data), strict=True):
        of_group = data[data[_GROUP] == group]
        architecture = str(of_group[col.ARCHITECTURE].iloc[0]).casefold()
        for pd_label in _pd_labels(of_group):
            of_pd = of_group[of_group[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
            points = _points_per_rate(of_pd, cr_column)
            style = _pd_style(pd_number(pd_label) or 0)
            # The unpruned model sits at the origin.
            crs = np.array([0.0, *points[cr_column]])
            reductions = np.array([0.0, *points[col.ENERGY_REDUCTION]])
            (line,) = ax.plot(crs, reductions, label=pd_label, linewidth=1.5, markersize=4, **style)
            handles.setdefault(legend_labels[pd_label], line)
            drew_error_bars |= _error_bars(ax, points, cr_column, str(style["color"]))
            at = breaks.get((architecture, pd_label, int(batch_size or 0)), ())
            drew_breaks |= _breaking_points(ax, at, crs, reductions, str(style["color"]))
        handles["unpruned model (0, 0)"] = ax.plot([0], [0], "ko", markersize=6)[0]
        handles["reduction = CR"] = ax.axline(
            (0, 0), slope=1, color="grey", linestyle="--", linewidth=1
        )
        ax.set_xlabel(f"CR (%) measured in {counted}")
    if drew_breaks:
        handles[BREAKING_POINT_LABEL] = Line2D([], [], linestyle="none", **BREAKING_POINT_STYLE)
    y_label = "Energy reduction (%)"
    axes[0].set_ylabel(f"{y_label}\nbars: 95 % CI" if drew_error_bars else y_label)
    _title(
        figure,
        f"Energy reduction vs compression in {counted}, batch size {batch_size}",
        estimated,
    )
    _legend(figure, handles)
    return figure


def _points_per_rate(of_pd: pd.DataFrame, cr_column: str) -> pd.DataFrame:
    """One point per GPR, by CR: the mean CR and reduction over seeds and methods, and the
    mean's 95 % CI (NaN where a row's is unknown)."""
    by_rate = of_pd.groupby(col.GPR)
    points = by_rate[[cr_column, col.ENERGY_REDUCTION]].mean()
    points[_REDUCTION_CI95] = by_rate[_REDUCTION_CI95].agg(_ci95_of_mean)
    return points.sort_values(cr_column)


def _ci95_of_mean(ci95s: pd.Series) -> float:
    """The CI of a mean of independent values; NaN where any value's CI is unknown."""
    if ci95s.isna().any():
        return math.nan
    return ci95_of_mean(list(ci95s))


def _error_bars(ax: Axes, points: pd.DataFrame, cr_column: str, colour: str) -> bool:
    """Vertical 95 % CI bars on the points that have one; whether any was drawn."""
    known = points[points[_REDUCTION_CI95].notna()]
    if known.empty:
        return False
    ax.errorbar(
        known[cr_column],
        known[col.ENERGY_REDUCTION],
        yerr=known[_REDUCTION_CI95],
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


def _pd_vs_energy_reduction(rows: pd.DataFrame, estimated: bool) -> Figure | None:
    data, batch_size = _pruned_with(rows, col.ENERGY_REDUCTION)
    if data.empty:
        return None
    figure, axes = _facets(_groups_in_order(data))
    legend_labels = _pd_legend_labels(data)
    handles: dict[str, object] = {}
    for ax, group in zip(axes, _groups_in_order(data), strict=True):
        of_group = data[data[_GROUP] == group]
        labels = _pd_labels(of_group)
        for pd_label in labels:
            number = pd_number(pd_label) or 0
            of_pd = of_group[of_group[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
            # One value per rate first, so that a rate with more seeds does not weigh more.
            per_rate = of_pd.groupby(col.GPR)[col.ENERGY_REDUCTION].mean()
            mean = float(per_rate.mean())
            whiskers = [[mean - float(per_rate.min())], [float(per_rate.max()) - mean]]
            container = ax.errorbar(
                [number],
                [mean],
                yerr=whiskers,
                capsize=4,
                markersize=7,
                linestyle="none",
                **_pd_style(number),
            )
            handles.setdefault(legend_labels[pd_label], container)
        ax.set_xticks([pd_number(label) or 0 for label in labels], labels)
        ax.set_xlim(0.4, max(pd_number(label) or 0 for label in labels) + 0.6)
        handles["no change"] = ax.axhline(0, color="grey", linewidth=1)
        ax.set_xlabel("Pruning distribution")
    axes[0].set_ylabel("Energy reduction (%)\nmean over GPRs, whiskers min-max")
    _title(figure, f"Energy reduction per pruning distribution, batch size {batch_size}", estimated)
    _legend(figure, handles)
    return figure


def _architecture_vs_energy(rows: pd.DataFrame, estimated: bool) -> Figure | None:
    finite = rows.dropna(subset=[col.JOULES_PER_SAMPLE])
    batch_size = _largest_batch_size(finite)
    data = finite[finite[col.BATCH_SIZE] == batch_size]
    if data.empty:
        return None
    groups = _groups_in_order(data)
    figure = _new_figure((max(5.0, 1.3 * len(groups) + 2.5), 5.0))
    ax = figure.subplots()
    handles: dict[str, object] = {}
    for position, group in enumerate(groups):
        of_group = data[data[_GROUP] == group]
        pruned = of_group[of_group[_ROLE] == _PRUNED][col.JOULES_PER_SAMPLE]
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
        reference = of_group[of_group[_ROLE] != _PRUNED]
        if not reference.empty:
            handles["unpruned model (± CI95)"] = ax.errorbar(
                [position] * len(reference),
                reference[col.JOULES_PER_SAMPLE],
                yerr=reference[col.JOULES_PER_SAMPLE_CI95].fillna(0.0),
                fmt="D",
                color="black",
                markersize=7,
                capsize=4,
            )
    ax.set_xticks(range(len(groups)), groups, rotation=20 if len(groups) > 4 else 0)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xlabel("Architecture")
    ax.set_ylabel("Energy per sample (J)")
    ax.grid(axis="y", alpha=0.3)
    _maybe_log_y(ax, data[col.JOULES_PER_SAMPLE])
    _title(figure, f"Energy per sample by architecture, batch size {batch_size}", estimated)
    _legend(figure, handles)
    return figure


def _batch_size_vs(
    rows: pd.DataFrame, value_column: str, value_label: str, estimated: bool
) -> Figure | None:
    data = rows.dropna(subset=[value_column])
    if data.empty:
        return None
    figure = _new_figure((7.5, 5.2))
    ax = figure.subplots()
    handles: dict[str, object] = {}
    for index, group in enumerate(_groups_in_order(data)):
        of_group = data[data[_GROUP] == group]
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        pruned = of_group[of_group[_ROLE] == _PRUNED]
        if not pruned.empty:
            handles[f"{group} pruned (min-max)"] = _band(ax, pruned, value_column, colour)
        reference = of_group[of_group[_ROLE] != _PRUNED]
        stems = reference[col.MODEL_NAME].astype(str).map(model_stem)
        labels = shorten_names(stems, GROUP_LABEL_WIDTH)
        for model, of_model in reference.groupby(stems, sort=True):
            of_model = of_model.sort_values(col.BATCH_SIZE)
            error = None
            if value_column == col.JOULES_PER_SAMPLE:
                error = of_model[col.JOULES_PER_SAMPLE_CI95].fillna(0.0)
            label = f"{group} unpruned" if (of_model[_ROLE] == _BASELINE).all() else group
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
    sizes = sorted({int(size) for size in data[col.BATCH_SIZE]})
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    if len(sizes) == 1:
        ax.set_xlim(sizes[0] / 1.5, sizes[0] * 1.5)
    ax.set_xlabel("Batch size (samples)")
    ax.set_ylabel(value_label)
    ax.grid(alpha=0.3)
    _maybe_log_y(ax, data[value_column])
    subject = "Energy per sample" if value_column == col.JOULES_PER_SAMPLE else "Throughput"
    _title(figure, f"{subject} vs batch size", estimated)
    _legend(figure, handles)
    return figure


def _band(ax: Axes, pruned: pd.DataFrame, value_column: str, colour: str) -> object:
    """Min-max over the pruned models at each batch size, edges drawn so that one model or one
    batch size (a band of no area) still shows."""
    spread = pruned.groupby(col.BATCH_SIZE)[value_column].agg(["min", "max"]).sort_index()
    for edge in ("min", "max"):
        ax.plot(spread.index, spread[edge], color=colour, alpha=0.5, linewidth=0.8, marker=".")
    ax.fill_between(spread.index, spread["min"], spread["max"], color=colour, alpha=0.2)
    return Patch(facecolor=colour, edgecolor=colour, alpha=0.35)


def _maybe_log_y(ax: Axes, values: pd.Series) -> None:
    positive = values[values > 0]
    everything_positive = len(positive) == len(values) and not positive.empty
    if everything_positive and positive.max() / positive.min() > LOG_Y_SPREAD:
        ax.set_yscale("log")
        # 0.1 and 1 read faster than 10^-1 and 10^0.
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


# -- energy across runs (history.py) ----------------------------------------------------------

ENERGY_HISTORY_FIGURE = "energy_history.png"


def energy_history_figure(history: pd.DataFrame) -> Figure | None:
    """Joules per sample across stored runs, oldest left: per model and batch size a line and
    its 95 % CI band. ``history`` has ``history.HISTORY_COLUMNS``; None: nothing measured."""
    measured = history[history["status"] == "measured"].dropna(subset=["joules_per_sample"])
    if measured.empty:
        return None
    runs = history.drop_duplicates("run_id")  # in run order, failed-only runs included
    position = {run_id: index for index, run_id in enumerate(runs["run_id"])}
    figure = _new_figure((max(6.0, 3.0 + 0.5 * len(runs)), 5.0))
    ax = figure.add_subplot()
    labels = shorten_names(measured["model"].astype(str), 40)
    for (model, batch_size), rows in measured.groupby(["model", "batch_size"], sort=True):
        x = rows["run_id"].map(position).to_numpy()
        joules = rows["joules_per_sample"].to_numpy(dtype=float)
        ci95 = rows["joules_per_sample_ci95"].fillna(0.0).to_numpy(dtype=float)
        label = f"{labels[str(model)]} bs{batch_size}"
        (line,) = ax.plot(x, joules, marker="o", label=label)
        ax.fill_between(x, joules - ci95, joules + ci95, color=line.get_color(), alpha=0.2)
    ax.set_xticks(range(len(runs)), [_run_label(run) for _, run in runs.iterrows()])
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("run (commit; * = uncommitted changes)")
    ax.set_ylabel("Energy per sample (J), band: 95 % CI")
    ax.grid(alpha=0.3)
    figure.suptitle("Energy per sample across runs")
    _legend(figure, dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True)))
    return figure


def _run_label(run: pd.Series) -> str:
    commit = run["commit"]
    label = str(commit)[:7] if isinstance(commit, str) and commit else str(run["run_id"])[:15]
    dirty = run["dirty"]  # a numpy bool in a table of bools; None where git could not tell
    return f"{label}*" if pd.notna(dirty) and bool(dirty) else label
