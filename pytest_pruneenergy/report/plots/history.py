"""Energy per sample across stored runs (``pruneenergy history``)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from ..labels import shorten_names
from .style import (
    legend,
    new_figure,
)

ENERGY_HISTORY_FIGURE = "energy_history.png"


def energy_history_figure(history: pd.DataFrame) -> Figure | None:
    """Joules per sample across stored runs, oldest left: per model and batch size a line and
    its 95 % CI band. ``history`` has ``history.HISTORY_COLUMNS``; None: nothing measured."""
    measured = history[history["status"] == "measured"].dropna(subset=["joules_per_sample"])
    if measured.empty:
        return None
    runs = history.drop_duplicates("run_id")  # in run order, failed-only runs included
    position = {run_id: index for index, run_id in enumerate(runs["run_id"])}
    figure = new_figure((max(6.0, 3.0 + 0.5 * len(runs)), 5.0))
    ax = figure.add_subplot()
    labels = shorten_names(measured["model"].astype(str), 40)
    for (model, batch_size), rows in measured.groupby(["model", "batch_size"], sort=True):
        x = rows["run_id"].map(position).to_numpy()
        joules = rows["joules_per_sample"].to_numpy(dtype=float)
        # NaN where a run's CI is unknown: a gap in the band, never a band of zero width.
        ci95 = pd.to_numeric(rows["joules_per_sample_ci95"], errors="coerce").to_numpy(dtype=float)
        label = f"{labels[str(model)]} bs{batch_size}"
        (line,) = ax.plot(x, joules, marker="o", label=label)
        ax.fill_between(x, joules - ci95, joules + ci95, color=line.get_color(), alpha=0.2)
    ax.set_xticks(range(len(runs)), [_run_label(run) for _, run in runs.iterrows()])
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("run (commit; * = uncommitted changes)")
    ax.set_ylabel("Energy per sample (J), band: 95 % CI")
    ax.grid(alpha=0.3)
    figure.suptitle("Energy per sample across runs")
    legend(figure, dict(zip(*reversed(ax.get_legend_handles_labels()), strict=True)))
    return figure


def _run_label(run: pd.Series) -> str:
    commit = run["commit"]
    label = str(commit)[:7] if isinstance(commit, str) and commit else str(run["run_id"])[:15]
    dirty = run["dirty"]  # a numpy bool in a table of bools; None where git could not tell
    return f"{label}*" if pd.notna(dirty) and bool(dirty) else label
