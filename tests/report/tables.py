"""Result tables built by hand, whose answers can be worked out by hand."""

from __future__ import annotations

import pandas as pd

from pytest_pruneenergy.models.naming import format_model_name
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    COLUMNS,
    CR_FLOPS,
    CR_PARAMETERS,
    DATASET,
    ENERGY_REDUCTION,
    FPS,
    GPR,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_CI95,
    JOULES_PER_SAMPLE_STD,
    METER,
    MODEL_NAME,
    PRUNING_DISTRIBUTION,
    STATUS,
    STATUS_MEASURED,
    UNPRUNED_LABEL,
)

DATASET_NAME = "ImageNet"


def unpruned(
    architecture: str = "VGG16",
    *,
    batch_size: int = 8,
    joules: float = 1.0,
    ci95: float | None = None,
    std: float | None = None,
    fps: float = 100.0,
) -> dict:
    return {
        MODEL_NAME: format_model_name(architecture, DATASET_NAME) + ".pth",
        BATCH_SIZE: batch_size,
        JOULES_PER_SAMPLE: joules,
        JOULES_PER_SAMPLE_CI95: ci95,
        JOULES_PER_SAMPLE_STD: std,
        FPS: fps,
        GPR: 0,
        ARCHITECTURE: architecture,
        PRUNING_DISTRIBUTION: UNPRUNED_LABEL,
        DATASET: DATASET_NAME,
        CR_PARAMETERS: 0.0,
        CR_FLOPS: 0.0,
        ENERGY_REDUCTION: 0.0,
        STATUS: STATUS_MEASURED,
        METER: "nvml-counter",
    }


def pruned(
    pd_number: int,
    gpr: float,
    *,
    cr_percent: float,
    reduction_percent: float,
    architecture: str = "VGG16",
    batch_size: int = 8,
    unpruned_joules: float = 1.0,
    ci95: float | None = None,
    std: float | None = None,
    fps: float = 100.0,
) -> dict:
    """A pruned row whose energy matches its reduction against ``unpruned_joules``; its
    parameter CR is twice its FLOPs CR, so that the two fits differ."""
    stem = format_model_name(
        architecture,
        DATASET_NAME,
        method="random",
        pruning_distribution=pd_number,
        global_pruning_rate_percent=gpr,
    )
    return {
        MODEL_NAME: stem + ".pth",
        BATCH_SIZE: batch_size,
        JOULES_PER_SAMPLE: unpruned_joules * (1 - reduction_percent / 100),
        JOULES_PER_SAMPLE_CI95: ci95,
        JOULES_PER_SAMPLE_STD: std,
        FPS: fps,
        GPR: gpr,
        ARCHITECTURE: architecture,
        PRUNING_DISTRIBUTION: f"PD{pd_number}",
        DATASET: DATASET_NAME,
        CR_PARAMETERS: 2 * cr_percent,
        CR_FLOPS: cr_percent,
        ENERGY_REDUCTION: reduction_percent,
        STATUS: STATUS_MEASURED,
        METER: "nvml-counter",
    }


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def curve(reductions_percent: list[float], pd_number: int = 1, **kwargs) -> list[dict]:
    """Pruned rows at GPR and FLOPs CR 10, 20, 30... with the given reductions."""
    return [
        pruned(pd_number, 10 * step, cr_percent=10 * step, reduction_percent=reduction, **kwargs)
        for step, reduction in enumerate(reductions_percent, start=1)
    ]


def as_seed_tool(results: pd.DataFrame) -> pd.DataFrame:
    """The same rows as the seed tool's CSV has them: no meter, no CI."""
    return results.assign(**{METER: None, JOULES_PER_SAMPLE_CI95: None})
