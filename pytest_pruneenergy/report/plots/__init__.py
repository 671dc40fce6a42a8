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

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from .. import schema as col
from ..schema import estimate_mask
from .batch_size import batch_size_vs
from .compression import cr_vs_measure, energy_and_metric
from .history import ENERGY_HISTORY_FIGURE, energy_history_figure
from .reduction import (
    architecture_vs_energy,
    breaking_points_by_line,
    cr_vs_energy_reduction,
    pd_vs_energy_reduction,
)
from .style import (
    BREAKING_POINT_LABEL,
    DPI,
    ESTIMATE_COLOUR,
    pd_legend_label,
    pd_number,
    plottable_rows,
)

__all__ = [
    "BREAKING_POINT_LABEL",
    "ENERGY_HISTORY_FIGURE",
    "ESTIMATE_COLOUR",
    "FIGURE_FILES",
    "build_figures",
    "energy_history_figure",
    "pd_legend_label",
    "pd_number",
    "plottable_rows",
    "write_figures",
]

CR_VS_ENERGY_FLOPS = "cr_vs_energy_reduction_flops.png"
CR_VS_ENERGY_PARAMS = "cr_vs_energy_reduction_params.png"
PD_VS_ENERGY = "pd_vs_energy_reduction.png"
ARCHITECTURE_VS_ENERGY = "architecture_vs_energy.png"
BATCH_SIZE_VS_ENERGY = "batch_size_vs_energy.png"
BATCH_SIZE_VS_FPS = "batch_size_vs_fps.png"
CR_VS_ENERGY_PER_SAMPLE = "cr_vs_energy_per_sample.png"
CR_VS_FPS = "cr_vs_fps.png"
ENERGY_AND_METRIC = "energy_and_metric.png"
FIGURE_FILES = (
    CR_VS_ENERGY_FLOPS,
    CR_VS_ENERGY_PARAMS,
    PD_VS_ENERGY,
    ARCHITECTURE_VS_ENERGY,
    BATCH_SIZE_VS_ENERGY,
    BATCH_SIZE_VS_FPS,
    CR_VS_ENERGY_PER_SAMPLE,
    CR_VS_FPS,
    ENERGY_AND_METRIC,
)

# Each figure is also saved as ``<name>.svg`` beside its PNG.
VECTOR_SUFFIX = ".svg"


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
        # The layout is the PNG's: worked out again for the SVG, it came to the same panels at
        # the cost of a second constrained-layout pass, the largest part of drawing a figure.
        figure.set_layout_engine("none")
        figure.savefig(path.with_suffix(VECTOR_SUFFIX))
        written.append(path)
    return written


def build_figures(table: pd.DataFrame) -> dict[str, Figure]:
    """File name -> figure, for each figure that ``table`` has data for."""
    rows = plottable_rows(table)
    estimated = bool(estimate_mask(rows).any())
    breaks = breaking_points_by_line(table)
    builders: dict[str, Callable[[], Figure | None]] = {
        CR_VS_ENERGY_FLOPS: lambda: cr_vs_energy_reduction(
            rows, col.CR_FLOPS, "FLOPs", breaks.get("flops", {}), estimated
        ),
        CR_VS_ENERGY_PARAMS: lambda: cr_vs_energy_reduction(
            rows, col.CR_PARAMETERS, "parameters", breaks.get("params", {}), estimated
        ),
        PD_VS_ENERGY: lambda: pd_vs_energy_reduction(rows, estimated),
        ARCHITECTURE_VS_ENERGY: lambda: architecture_vs_energy(rows, estimated),
        BATCH_SIZE_VS_ENERGY: lambda: batch_size_vs(
            rows, col.JOULES_PER_SAMPLE, "Energy per sample (J)", estimated
        ),
        # Throughput is timed, not metered: an energy estimate does not make it one.
        BATCH_SIZE_VS_FPS: lambda: batch_size_vs(
            rows, col.FPS, "Throughput (FPS, samples/s)", estimated=False
        ),
        CR_VS_ENERGY_PER_SAMPLE: lambda: cr_vs_measure(
            rows, col.JOULES_PER_SAMPLE, "Energy per sample (J)", "Energy per sample", estimated
        ),
        CR_VS_FPS: lambda: cr_vs_measure(
            rows, col.FPS, "Throughput (FPS, samples/s)", "Throughput", estimated=False
        ),
        ENERGY_AND_METRIC: lambda: energy_and_metric(table, rows, estimated),
    }
    figures = {}
    for file_name, build in builders.items():
        figure = build()
        if figure is not None:
            figures[file_name] = figure
    return figures
