"""Model file names <-> ModelName, after the seed tool's naming convention.

Pruned:   ``ARCH_DATASET_METHOD_PDn_GPR-NN[_PRUNED][_FT][_SEED_S]``
Unpruned: ``ARCH_DATASET_UNPRUNED``

``DATASET`` may contain underscores; ``ARCH`` and ``METHOD`` may not (use ``-`` inside them),
because the name is read from both ends towards the dataset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PRUNED_PATTERN = re.compile(
    r"^(?P<architecture>[^_]+)_(?P<dataset>.+)_(?P<method>[^_]+)"
    r"_PD(?P<pd>\d+)_GPR-(?P<gpr>\d+(?:\.\d+)?)"
    r"(?P<flags>(?:_(?:PRUNED|FT))*)"
    r"(?:_SEED_(?P<seed>\d+))?$",
    re.IGNORECASE,
)
_UNPRUNED_PATTERN = re.compile(r"^(?P<architecture>[^_]+)_(?P<dataset>.+)_UNPRUNED$", re.IGNORECASE)

# The shapes of the seed's distributions; PD4/PD5 swap meaning on AlexNet
# (see docs/zoo.md, "Shapes").
_PD_SHAPES = {1: "uniform", 2: "bottom-up", 3: "top-down"}
_MIXED_SHAPES_VGG = {4: "middle-heavy", 5: "ends-heavy"}
_MIXED_SHAPES_ALEXNET = {4: "ends-heavy", 5: "middle-heavy"}


@dataclass(frozen=True)
class ModelName:
    """What a model file's name says about the model."""

    stem: str
    architecture: str
    dataset: str
    is_baseline: bool
    method: str | None = None
    pruning_distribution: int | None = None
    global_pruning_rate_percent: float | None = None
    fine_tuned: bool = False
    seed: int | None = None

    @property
    def pd_label(self) -> str | None:
        """``PD3`` for the pruning distribution, None for a baseline."""
        if self.pruning_distribution is None:
            return None
        return f"PD{self.pruning_distribution}"

    @property
    def pd_shape(self) -> str | None:
        """The distribution's shape in words (``uniform``, ``top-down``...), None if unknown."""
        return pd_shape(self.architecture, self.pruning_distribution)


def pd_shape(architecture: str, pruning_distribution: int | None) -> str | None:
    """The seed's PD shapes; PD4 and PD5 mean opposite mixes on AlexNet and on VGG."""
    if pruning_distribution is None:
        return None
    if pruning_distribution in _PD_SHAPES:
        return _PD_SHAPES[pruning_distribution]
    mixed = (
        _MIXED_SHAPES_ALEXNET
        if architecture.casefold().startswith("alexnet")
        else _MIXED_SHAPES_VGG
    )
    return mixed.get(pruning_distribution)


def parse_model_name(stem: str) -> ModelName | None:
    """Parse a file stem; None when it follows neither convention."""
    unpruned = _UNPRUNED_PATTERN.match(stem)
    if unpruned:
        return ModelName(
            stem=stem,
            architecture=unpruned["architecture"],
            dataset=unpruned["dataset"],
            is_baseline=True,
        )
    pruned = _PRUNED_PATTERN.match(stem)
    if not pruned:
        return None
    flags = pruned["flags"].upper()
    gpr = float(pruned["gpr"])
    return ModelName(
        stem=stem,
        architecture=pruned["architecture"],
        dataset=pruned["dataset"],
        is_baseline=False,
        method=pruned["method"],
        pruning_distribution=int(pruned["pd"]),
        global_pruning_rate_percent=int(gpr) if gpr.is_integer() else gpr,
        fine_tuned="_FT" in flags,
        seed=int(pruned["seed"]) if pruned["seed"] is not None else None,
    )


def format_model_name(
    architecture: str,
    dataset: str,
    *,
    method: str | None = None,
    pruning_distribution: int | None = None,
    global_pruning_rate_percent: float | None = None,
    fine_tuned: bool = False,
    seed: int | None = None,
) -> str:
    """The file stem for a model; unpruned when no pruning distribution is given."""
    for part, value in (("architecture", architecture), ("method", method)):
        if value is not None and "_" in value:
            raise ValueError(f"{part} {value!r} must not contain '_' (use '-')")
    # An empty part writes a name no parser takes back (AlexNet__UNPRUNED): nothing would pair.
    for part, value in (("architecture", architecture), ("dataset", dataset), ("method", method)):
        if value is not None and not value.strip():
            raise ValueError(f"{part} must not be empty: the file name would not parse")
    if pruning_distribution is None:
        return f"{architecture}_{dataset}_UNPRUNED"
    if method is None or global_pruning_rate_percent is None:
        raise ValueError("a pruned model name needs a method and a global pruning rate")
    gpr = global_pruning_rate_percent
    gpr_text = str(int(gpr)) if float(gpr).is_integer() else str(gpr)
    stem = f"{architecture}_{dataset}_{method}_PD{pruning_distribution}_GPR-{gpr_text}_PRUNED"
    if fine_tuned:
        stem += "_FT"
    if seed is not None:
        stem += f"_SEED_{seed}"
    return stem
