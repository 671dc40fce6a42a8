"""Does pruning raise throughput, and does it save time as much as it saves energy?

Per architecture and batch size, over every pruned model: a least-squares line of the time per
sample saved (%, ``100 - 100 * unpruned FPS / pruned FPS``, the same kind of reduction as the
energy's) against the FLOPs CR (%), the unpruned model at (0, 0), and the energy reduction's line
over the same models; each slope with a 95 % CI from the scatter (FPS carries no CI of its own).

- The time slope's CI above 0: throughput rises with compression; holding 0: compression does
  not move it (the host, not the device, sets the pace, as at small batches); below 0: it falls.
- Energy per sample is power times time per sample: where energy falls faster than time beyond
  both CIs, part of what pruning saves is power; where time falls faster, the pruned model draws
  more power; where the CIs overlap, the saving is time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema as col
from .proportionality import Line, fit_line
from .rows import analysis_rows, pruned_rows
from .uncertainty import Estimate, indistinguishable, listed

RISES = "rises"
FLAT = "does not move"
FALLS = "falls"
# How energy's slope stands against time's.
POWER_TOO = "energy falls faster than time: part of the saving is lower power"
TIME_ONLY = "energy and time fall alike: the saving is time"
MORE_POWER = "time falls faster than energy: the pruned models draw more power"


@dataclass(frozen=True)
class ThroughputLine:
    """One architecture and batch size: time saved and energy saved against FLOPs CR."""

    architecture: str
    batch_size: int
    time: Line
    energy: Line
    fps: str  # RISES, FLAT or FALLS
    power: str  # POWER_TOO, TIME_ONLY or MORE_POWER
    best_fps_gain_percent: float
    best_model: str


def time_reduction_percent(fps_reduction_percent: float | np.ndarray) -> float | np.ndarray:
    """The time per sample saved, from the FPS reduction (both against the unpruned model)."""
    return 100 * (1 - 1 / (1 - np.asarray(fps_reduction_percent, dtype=float) / 100))


def fps_verdict(slope: Estimate) -> str:
    """Whether FPS rises with compression, from the time slope and its CI."""
    width = slope.half_width if slope.half_width is not None else 0.0
    if slope.value - width > 0:
        return RISES
    if slope.value + width < 0:
        return FALLS
    return FLAT


def power_verdict(energy: Estimate, time: Estimate) -> str:
    """How energy's slope stands against time's, under the uncertainty rule."""
    if indistinguishable(energy, time):
        return TIME_ONLY
    return POWER_TOO if energy.value > time.value else MORE_POWER


def throughput_lines(table: pd.DataFrame) -> list[ThroughputLine]:
    """A line pair per (architecture, batch size) over its pruned models, in that order;
    groups without three points or without a spread of CRs are left out."""
    rows = pruned_rows(analysis_rows(table))
    rows = rows.dropna(subset=[col.CR_FLOPS, col.FPS_REDUCTION])
    rows = rows[rows[col.FPS_REDUCTION] < 100]  # a pruned model that ran at all
    found = []
    for (architecture, batch_size), group in rows.groupby(
        [col.ARCHITECTURE, col.BATCH_SIZE], sort=True
    ):
        crs = np.concatenate(([0.0], group[col.CR_FLOPS].to_numpy(float)))
        times = np.concatenate(([0.0], time_reduction_percent(group[col.FPS_REDUCTION])))
        energies = np.concatenate(([0.0], group[col.ENERGY_REDUCTION].to_numpy(float)))
        time, energy = fit_line(crs, times), fit_line(crs, energies)
        if time is None or energy is None:
            continue
        best = group.loc[group[col.FPS_REDUCTION].idxmin()]
        found.append(
            ThroughputLine(
                str(architecture),
                int(batch_size),
                time,
                energy,
                fps_verdict(time.slope),
                power_verdict(energy.slope, time.slope),
                float(-best[col.FPS_REDUCTION]),
                str(best[col.MODEL_NAME]),
            )
        )
    return found


def throughput_sentences(table: pd.DataFrame) -> list[str]:
    """Per architecture and batch size, what compression does to time per sample against what
    it does to energy; then the groups where FPS does not rise with compression, in one line."""
    lines = throughput_lines(table)
    sentences = [_line_sentence(line) for line in lines]
    flat = [
        f"{line.architecture} at batch {line.batch_size}" for line in lines if line.fps != RISES
    ]
    if flat:
        sentences.append(
            f"FPS does not rise with compression beyond its uncertainty in {len(flat)} of "
            f"{len(lines)} groups ({listed(flat)}): there what pruning saves, if anything, is "
            "power, not time"
        )
    return sentences


def _line_sentence(line: ThroughputLine) -> str:
    return (
        f"{line.architecture}, batch {line.batch_size}: FPS {line.fps} with FLOPs CR; per point "
        f"of FLOPs CR pruning saves {line.time.slope.text('.2f')} points of time per sample and "
        f"{line.energy.slope.text('.2f')} of energy (95 % CIs): {line.power}; the fastest "
        f"pruned model runs {line.best_fps_gain_percent:+.0f} % FPS ({line.best_model})"
    )
