"""Shared by every figure: colours and markers, facets, titles and legends, the rows a figure may
draw and how they are labelled."""

from __future__ import annotations

import math
import re
import textwrap

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import schema as col
from ..findings.rows import reduction_uncertainty
from ..findings.uncertainty import CI95, STD
from ..labels import shorten_middle
from ..schema import is_unpruned_label, measured_rows, model_stem

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

GROUP = "_group"
ROLE = "_role"
# Each row's energy-reduction half-width: its 95 % CI, or where the table has none (the seed's
# CSV), one STD propagated from its trials (findings/rows.py); ``bars_words`` says which.
REDUCTION_CI95 = "_reduction_ci95"
# (architecture casefolded, PD upper-cased, batch size) -> the CRs (%) where its line breaks.
LineBreaks = dict[tuple[str, str, int], tuple[float, ...]]
BASELINE, PRUNED, _OTHER = "baseline", "pruned", "other"
_PD_NUMBER = re.compile(r"^PD(\d+)$", re.IGNORECASE)
_NUMERIC_COLUMNS = (
    col.BATCH_SIZE,
    col.JOULES_PER_SAMPLE,
    col.JOULES_PER_SAMPLE_CI95,
    col.JOULES_PER_SAMPLE_STD,
    col.FPS,
    col.CR_FLOPS,
    col.CR_PARAMETERS,
    col.ENERGY_REDUCTION,
    col.GPR,
)


def plottable_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Measured rows with numeric columns coerced, a group label and a role per row.

    The group is the architecture (with the dataset when the table holds several, and the
    numeric format and runtime when it holds several), or the model name for a name outside
    the convention; the role is baseline, pruned or other.
    """
    rows = measured_rows(table.reindex(columns=list(col.COLUMNS))).copy()
    for column in _NUMERIC_COLUMNS:
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    rows = rows[rows[col.BATCH_SIZE].notna()]
    several_datasets = rows[col.DATASET].dropna().astype(str).str.casefold().nunique() > 1
    # Rows of one model in several numeric formats or runtimes are not one curve.
    variants = [col.variant_label(row) for _, row in rows.iterrows()]
    several_variants = len(set(variants)) > 1
    labels = [
        _group_label(row, several_datasets) + (f" · {variant}" if several_variants else "")
        for (_, row), variant in zip(rows.iterrows(), variants, strict=True)
    ]
    # Names group case-insensitively (naming.ModelName.group_key): show the first spelling.
    first_spelling = {}
    for label in labels:
        first_spelling.setdefault(label.casefold(), label)
    rows[GROUP] = [first_spelling[label.casefold()] for label in labels]
    rows[ROLE] = [_role(row) for _, row in rows.iterrows()]
    rows[REDUCTION_CI95] = reduction_uncertainty(rows)[0].to_numpy()
    return rows


# What an energy-per-sample band or bar is: the CI where the table has one, else the seed's
# trial STD; where neither is known, nothing is drawn (an unknown is never a bar of zero).
ENERGY_CI95_WORDS = "95 % CI"
ENERGY_STD_WORDS = "one STD of the trials (the CSV has no CI)"


def energy_uncertainty(rows: pd.DataFrame) -> tuple[pd.Series | None, str | None]:
    """Each row's energy-per-sample uncertainty (NaN where unknown) and what it is
    (``ENERGY_CI95_WORDS`` or ``ENERGY_STD_WORDS``); (None, None) where no row has either."""
    for column, words in (
        (col.JOULES_PER_SAMPLE_CI95, ENERGY_CI95_WORDS),
        (col.JOULES_PER_SAMPLE_STD, ENERGY_STD_WORDS),
    ):
        values = pd.to_numeric(rows[column], errors="coerce") if column in rows.columns else None
        if values is not None and values.notna().any():
            return values, words
    return None, None


def known_at(uncertainty: pd.Series | None, rows: pd.Index) -> pd.Series | None:
    """``energy_uncertainty``'s values of ``rows`` where any of them is known, else None: no
    bar is what an unknown uncertainty draws, and matplotlib before 3.7.2 fails on a ``yerr``
    of NaN alone."""
    if uncertainty is None:
        return None
    values = uncertainty.loc[rows]
    return values if bool(values.notna().any()) else None


def bars_words(rows: pd.DataFrame) -> str:
    """What the reduction bars of ``rows`` are: a 95 % CI, or one STD of the seed's trials."""
    kind = reduction_uncertainty(rows)[1]
    return {CI95: "95 % CI", STD: "one STD of the trials (the CSV has no CI)"}.get(kind, "")


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
        return BASELINE
    return PRUNED if pd_number(label) is not None else _OTHER


def new_figure(size_inches: tuple[float, float]) -> Figure:
    figure = Figure(figsize=size_inches, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def facets(groups: list[str], *, share_y: bool = True) -> tuple[Figure, list[Axes]]:
    """One axes per group, wrapped at ``FACET_COLUMNS``, sharing the y axis where ``share_y``
    (reductions share a scale; absolute energies of different architectures do not)."""
    columns = min(len(groups), FACET_COLUMNS)
    lines = math.ceil(len(groups) / columns)
    width = max(MIN_FIGURE_WIDTH_INCHES, 0.8 + 4.0 * columns)
    figure = new_figure((width, 1.4 + 3.3 * lines))
    grid = figure.subplots(lines, columns, sharey=share_y, squeeze=False)
    axes = list(grid.flat)
    for unused in axes[len(groups) :]:
        figure.delaxes(unused)
    axes = axes[: len(groups)]
    for ax, group in zip(axes, groups, strict=True):
        ax.set_title(group)
        ax.grid(alpha=0.3)
    return figure, axes


def batch_size_facets(
    groups: list[str], batch_sizes: list[int], *, share_y: bool = True
) -> tuple[Figure, dict[tuple[int, str], Axes]]:
    """One axes per (batch size, group): a band of rows per batch size, smallest first, its
    groups wrapped at ``FACET_COLUMNS``. With one batch size, as ``facets``; with several, each
    axes's title names its batch size."""
    if len(batch_sizes) == 1:
        figure, axes = facets(groups, share_y=share_y)
        return figure, {(batch_sizes[0], group): ax for ax, group in zip(axes, groups, strict=True)}
    columns = min(len(groups), FACET_COLUMNS)
    lines_per_band = math.ceil(len(groups) / columns)
    lines = lines_per_band * len(batch_sizes)
    figure = new_figure((max(MIN_FIGURE_WIDTH_INCHES, 0.8 + 4.0 * columns), 1.4 + 3.0 * lines))
    grid = figure.subplots(lines, columns, sharey=share_y, squeeze=False)
    panels: dict[tuple[int, str], Axes] = {}
    for band, batch_size in enumerate(batch_sizes):
        for index in range(lines_per_band * columns):
            ax = grid[band * lines_per_band + index // columns][index % columns]
            if index >= len(groups):
                figure.delaxes(ax)
                continue
            ax.set_title(f"{groups[index]}, batch size {batch_size}")
            ax.grid(alpha=0.3)
            panels[(batch_size, groups[index])] = ax
    return figure, panels


def label_y(figure: Figure, panels: dict[tuple[int, str], Axes], text: str) -> None:
    """The y label: on the first panel of a single line of panels, else once for the figure,
    where a long label on every line would run into the next."""
    axes = list(panels.values())
    if len({ax.get_subplotspec().rowspan.start for ax in axes}) == 1:
        axes[0].set_ylabel(text)
    else:
        figure.supylabel(text)


def batch_sizes_in(rows: pd.DataFrame) -> list[int]:
    return sorted({int(size) for size in rows[col.BATCH_SIZE]})


def at_batch_sizes(batch_sizes: list[int]) -> str:
    """The end of a figure's title: its batch size where it has one."""
    return f", batch size {batch_sizes[0]}" if len(batch_sizes) == 1 else ""


def title(figure: Figure, text: str, estimated: bool) -> None:
    """The figure's title, wrapped to its width: constrained layout does not shorten a title."""
    text = textwrap.fill(text, int(figure.get_figwidth() * TITLE_CHARACTERS_PER_INCH))
    if estimated:
        figure.suptitle(f"{text}\n{ESTIMATE_NOTE}", color=ESTIMATE_COLOUR, fontweight="bold")
    else:
        figure.suptitle(text)


def legend(figure: Figure, handles: dict[str, object]) -> None:
    """The figure's one legend, below the axes so that it never covers data."""
    figure.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="outside lower center",
        ncols=min(len(handles), 3),
        fontsize="small",
        frameon=False,
    )


def pd_style(number: int) -> dict[str, object]:
    """The same colour and marker for a PD in every figure."""
    return {
        "color": OKABE_ITO[(number - 1) % len(OKABE_ITO)],
        "marker": MARKERS[(number - 1) % len(MARKERS)],
    }


def groups_in_order(rows: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(rows[GROUP]))


def largest_batch_size(rows: pd.DataFrame) -> int | None:
    return None if rows.empty else int(rows[col.BATCH_SIZE].max())


def pruned_with(rows: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Pruned rows with every column finite."""
    return rows[rows[ROLE] == PRUNED].dropna(subset=list(columns))


def pd_labels(rows: pd.DataFrame) -> list[str]:
    """The PD labels present, ordered by number (PD10 after PD9)."""
    labels = {str(label).upper() for label in rows[col.PRUNING_DISTRIBUTION]}
    return sorted(labels, key=lambda label: pd_number(label) or 0)


def pd_legend_labels(rows: pd.DataFrame) -> dict[str, str]:
    labels = {}
    for pd_label in pd_labels(rows):
        of_pd = rows[rows[col.PRUNING_DISTRIBUTION].astype(str).str.upper() == pd_label]
        shapes = {
            str(group): str(shape)
            for group, shape in zip(of_pd[GROUP], of_pd[col.PD_SHAPE], strict=True)
            if not pd.isna(shape)
        }
        labels[pd_label] = pd_legend_label(pd_label, shapes)
    return labels
