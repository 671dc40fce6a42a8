"""What does batch size do: to energy per sample, to throughput, and to what pruning saves?

Per architecture (and dataset), from its unpruned model: how energy per sample changes from the
smallest measured batch size to the largest, from which batch size it is within
``ENERGY_NEAR_LOWEST`` of its lowest (the batch size an energy budget needs at most), and from
which batch size on each larger one adds less than ``FPS_SATURATION_GAIN`` throughput (where
more batch buys little more FPS). And how much pruning saves on average over the pruned models
at the smallest and the largest batch size, compared under the uncertainty rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from .. import schema as col
from ..schema import model_stem
from .rows import REDUCTION_HALF_WIDTH, analysis_rows, is_baseline, pruned_rows
from .uncertainty import Estimate, any_unknown, indistinguishable, known, mean_estimate

# Each larger batch size adding less than this share of FPS counts as saturated throughput.
FPS_SATURATION_GAIN = 0.10
# Energy per sample within this share of the lowest measured counts as near the lowest.
ENERGY_NEAR_LOWEST = 0.10


@dataclass(frozen=True)
class BatchEffect:
    """One architecture's unpruned model across batch sizes, and pruning's mean saving at the
    smallest and the largest (None where nothing pruned was measured there)."""

    architecture: str
    dataset: str
    model: str
    batch_sizes: tuple[int, ...]
    joules_smallest: Estimate
    joules_largest: Estimate
    near_lowest_batch: int
    # None where the FPS of a batch size is unknown: then nothing is said of saturation.
    fps_ratio: float | None
    fps_saturated_from: int | None
    saving_smallest: Estimate | None
    saving_largest: Estimate | None
    # The SD of the pruned models' savings around each mean: the mean's uncertainty is the
    # measurements' alone, the models differ far more.
    spread_smallest: float | None = None
    spread_largest: float | None = None

    @property
    def energy_change_percent(self) -> float:
        return 100.0 * (self.joules_largest.value / self.joules_smallest.value - 1.0)


def batch_effects(table: pd.DataFrame) -> list[BatchEffect]:
    """Per (architecture, dataset) with an unpruned model measured at two batch sizes or more."""
    rows = analysis_rows(table)
    baselines = rows[is_baseline(rows)].dropna(subset=[col.JOULES_PER_SAMPLE])
    pruned = pruned_rows(rows)
    effects = []
    for (architecture, dataset), group in baselines.groupby(
        [col.ARCHITECTURE, col.DATASET], sort=True
    ):
        model = sorted(group[col.MODEL_NAME].astype(str))[0]
        of_model = group[group[col.MODEL_NAME].astype(str) == model].sort_values(col.BATCH_SIZE)
        if of_model[col.BATCH_SIZE].nunique() < 2:
            continue
        of_pruned = pruned[
            (pruned[col.ARCHITECTURE] == architecture) & (pruned[col.DATASET] == dataset)
        ]
        effects.append(_effect(str(architecture), str(dataset), model, of_model, of_pruned))
    return effects


def _effect(
    architecture: str, dataset: str, model: str, rows: pd.DataFrame, pruned: pd.DataFrame
) -> BatchEffect:
    sizes = [int(size) for size in rows[col.BATCH_SIZE]]
    joules = rows[col.JOULES_PER_SAMPLE].to_numpy(float)
    fps = rows[col.FPS].to_numpy(float)
    lowest = joules.min()
    near = next(
        size
        for size, value in zip(sizes, joules, strict=True)
        if value <= lowest * (1 + ENERGY_NEAR_LOWEST)
    )
    return BatchEffect(
        architecture,
        dataset,
        model_stem(model),
        tuple(sizes),
        _joules(rows.iloc[0]),
        _joules(rows.iloc[-1]),
        near,
        float(fps[-1] / fps[0]) if all(math.isfinite(value) for value in fps) else None,
        saturated_from(sizes, list(fps)),
        _mean_saving(pruned, sizes[0]),
        _mean_saving(pruned, sizes[-1]),
        _spread(pruned, sizes[0]),
        _spread(pruned, sizes[-1]),
    )


def saturated_from(batch_sizes: list[int], fps: list[float]) -> int | None:
    """The smallest batch size from which every larger one adds less than
    ``FPS_SATURATION_GAIN`` of FPS over the one before; None where the last step still does,
    or where an FPS is unknown (a NaN compares as no gain)."""
    if not all(math.isfinite(value) for value in fps):
        return None
    start = None
    for index in range(len(fps) - 1, 0, -1):
        if fps[index] >= fps[index - 1] * (1 + FPS_SATURATION_GAIN):
            break
        start = batch_sizes[index - 1]
    return start


def _joules(row: pd.Series) -> Estimate:
    width = known(row[col.JOULES_PER_SAMPLE_CI95])
    if width is None:
        width = known(row[col.JOULES_PER_SAMPLE_STD])
    return Estimate(float(row[col.JOULES_PER_SAMPLE]), width)


def _mean_saving(pruned: pd.DataFrame, batch_size: int) -> Estimate | None:
    at = pruned[pruned[col.BATCH_SIZE] == batch_size]
    if at.empty:
        return None
    return mean_estimate(
        [
            Estimate(float(value), known(float(width)))
            for value, width in zip(at[col.ENERGY_REDUCTION], at[REDUCTION_HALF_WIDTH], strict=True)
        ]
    )


def _spread(pruned: pd.DataFrame, batch_size: int) -> float | None:
    savings = pruned[pruned[col.BATCH_SIZE] == batch_size][col.ENERGY_REDUCTION].astype(float)
    return float(savings.std()) if len(savings) > 1 else None


def _saving_text(saving: Estimate, spread: float | None) -> str:
    text = f"mean {saving.text('.1f', ' %')}"
    return text if spread is None else f"{text}, the models spread SD {spread:.1f} points"


# Said where a comparison rests on a value whose uncertainty is unknown (any_unknown).
UNKNOWN = " (uncertainty unknown)"


def _fps_text(effect: BatchEffect, first: int, last: int) -> str:
    if effect.fps_ratio is None:
        return f"FPS not known at every batch size from {first} to {last}"
    gains = (
        f"each larger batch adding less than {FPS_SATURATION_GAIN:.0%} from batch "
        f"{effect.fps_saturated_from} on"
        if effect.fps_saturated_from is not None
        else f"still gaining {FPS_SATURATION_GAIN:.0%} or more per step at batch {last}"
    )
    return f"FPS x{effect.fps_ratio:.2g} from batch {first} to {last}, {gains}"


def batch_sentence(effect: BatchEffect) -> str:
    first, last = effect.batch_sizes[0], effect.batch_sizes[-1]
    name = f"{effect.architecture} ({effect.dataset})" if effect.dataset else effect.architecture
    direction = "falls" if effect.energy_change_percent < 0 else "rises"
    ends = (effect.joules_smallest, effect.joules_largest)
    if indistinguishable(*ends):  # an exact tie, or overlapping intervals
        direction = "does not change beyond its uncertainty"
    elif any_unknown(ends):
        direction += UNKNOWN
    parts = [
        f"energy per sample {direction} from {effect.joules_smallest.text('.3g', ' J')} at batch "
        f"{first} to {effect.joules_largest.text('.3g', ' J')} at batch {last} "
        f"({effect.energy_change_percent:+.0f} %), within {ENERGY_NEAR_LOWEST:.0%} of its "
        f"lowest from batch {effect.near_lowest_batch}",
        _fps_text(effect, first, last),
    ]
    if effect.saving_smallest is not None and effect.saving_largest is not None:
        small, large = effect.saving_smallest, effect.saving_largest
        if indistinguishable(small, large):
            how = "about as much"
        else:
            how = "less" if small.value < large.value else "more"
        than = "as" if how == "about as much" else "than"
        parts.append(
            f"pruning saves {how} at batch {first} ({_saving_text(small, effect.spread_smallest)}"
            f") {than} at batch {last} ({_saving_text(large, effect.spread_largest)}) over the "
            "pruned models"
            + (UNKNOWN if how != "about as much" and any_unknown((small, large)) else "")
        )
    return f"{name}, unpruned ({effect.model}): {'; '.join(parts)}"


def batch_sentences(table: pd.DataFrame) -> list[str]:
    return [batch_sentence(effect) for effect in batch_effects(table)]
