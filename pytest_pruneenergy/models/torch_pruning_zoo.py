"""A zoo of any CNN: torchvision or timm models pruned by Torch-Pruning with the seed's PDs.

The seed defines its pruning distributions (PD1-PD5) as per-layer rates for AlexNet and VGG
(models/architectures.py). For any CNN, a convolution's rate is read off VGG16's table (the
longest, 13 layers) at the convolution's relative depth (0 for the first, 1 for the last),
interpolated between neighbouring layers, and scaled with the global pruning rate as the seed
scales it: rate = table(depth) x GPR / 50 (capped at 95 %). So PD1 prunes every depth alike, PD2
the deep layers most, PD3 the early ones most, PD4 the middle and PD5 the ends (VGG's shapes).

Torch-Pruning keeps the model valid: channels that must stay equal (the two inputs of a
residual addition, a depthwise convolution and the pointwise one that feeds it) form one group,
pruned together at the rate of the group's first layer. The output layer is never pruned.
Files are written in the referenced format (models/referenced.py): the architecture's name and
the pruned shapes, weights optional, no code; named by the seed's convention, so the plugin
pairs each pruned model with its unpruned one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .naming import format_model_name
from .referenced import build_reference, save_referenced_model

# VGG16's base table (percent at GPR 50), the seed's, from first conv layer to last.
_PD_DEPTH_TABLE: dict[int, tuple[int, ...]] = {
    1: (50,) * 13,
    2: (20, 40, 46, 46, 50, 50, 50, 60, 60, 60, 68, 70, 70),
    3: (70, 70, 62, 62, 50, 50, 50, 40, 40, 40, 34, 34, 32),
    4: (30, 30, 48, 48, 60, 60, 60, 60, 60, 60, 30, 30, 30),
    5: (66, 64, 50, 50, 40, 40, 40, 50, 50, 50, 64, 66, 66),
}
MAX_RATE = 0.95
METHODS = ("random", "l1")


class TorchPruningMissing(ImportError):
    """Torch-Pruning is an optional extra: pip install "pytest-pruneenergy[prune]"."""


def pd_rate(pd: int, depth: float, gpr_percent: float) -> float:
    """The fraction of channels a convolution at relative ``depth`` (0..1) loses under ``pd``."""
    if pd not in _PD_DEPTH_TABLE:
        raise ValueError(f"PD{pd} is not one of PD1-PD5")
    table = _PD_DEPTH_TABLE[pd]
    position = min(max(depth, 0.0), 1.0) * (len(table) - 1)
    low = int(position)
    high = min(low + 1, len(table) - 1)
    percent = table[low] + (table[high] - table[low]) * (position - low)
    return min(MAX_RATE, percent * gpr_percent / 50 / 100)


def layer_rates(module: nn.Module, pd: int, gpr_percent: float) -> dict[nn.Module, float]:
    """Each convolution's rate by its depth among the model's convolutions."""
    convolutions = [layer for layer in module.modules() if isinstance(layer, nn.Conv2d)]
    last = max(len(convolutions) - 1, 1)
    return {
        layer: pd_rate(pd, index / last, gpr_percent) for index, layer in enumerate(convolutions)
    }


def prune(
    module: nn.Module,
    example_input: torch.Tensor,
    *,
    pd: int,
    gpr_percent: float,
    method: str = "random",
    seed: int = 0,
    round_to: int | None = None,
) -> nn.Module:
    """``module`` structurally pruned in place by Torch-Pruning, and returned; ``round_to``:
    each pruned layer keeps a multiple of that many channels (Torch-Pruning's own rounding)."""
    tp = _torch_pruning(method)
    importance = (
        tp.importance.RandomImportance()
        if method == "random"
        else tp.importance.MagnitudeImportance(p=1)
    )
    output_layers = [layer for layer in module.modules() if isinstance(layer, nn.Linear)][-1:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pruner = tp.pruner.MetaPruner(
            module,
            example_input,
            importance=importance,
            pruning_ratio=0.0,
            pruning_ratio_dict=layer_rates(module, pd, gpr_percent),
            ignored_layers=output_layers,
            round_to=round_to,
        )
        pruner.step()
    return module


def _torch_pruning(method: str) -> Any:
    """The ``torch_pruning`` module, once ``method`` is known to be one of ours; a clear error
    where Torch-Pruning is not installed."""
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    try:
        import torch_pruning
    except ImportError as error:
        raise TorchPruningMissing(
            'pruning needs Torch-Pruning: pip install "pytest-pruneenergy[prune]"'
        ) from error
    return torch_pruning


def _check_request(
    references: Sequence[dict[str, Any]], pds: Sequence[int], gprs: Sequence[float], method: str
) -> None:
    """Refuse a bad request before the first file is written: an unknown architecture, PD,
    rate or method (building on the meta device costs no memory)."""
    _torch_pruning(method)
    for pd in pds:
        pd_rate(pd, 0.0, 0.0)
    for gpr in gprs:
        if not 0 < gpr < 100:
            raise ValueError(f"global pruning rate {gpr} % is not between 0 and 100")
    with torch.device("meta"):
        for reference in references:
            build_reference(reference)


def arch_label(name: str) -> str:
    """A model name as the seed's naming convention takes it: no ``_`` (``mobilenet-v2``)."""
    return name.replace("_", "-")


def build_pruned_zoo(
    out_dir: str | Path,
    *,
    references: Sequence[dict[str, Any]],
    pds: Sequence[int],
    gprs: Sequence[float],
    input_size: int = 224,
    dataset: str = "IMAGENET",
    method: str = "random",
    with_weights: bool = False,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
    round_to: int | None = None,
) -> list[Path]:
    """One unpruned and one pruned model per (reference, PD, GPR), as referenced-model files.

    A reference is ``{"source": "torchvision", "name": "resnet50", "kwargs": {...}}``.
    """
    _check_request(references, pds, gprs, method)
    pruning = {"method": method, "seed": seed, "round_to": round_to}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    input_shape = (3, input_size, input_size)
    example = torch.zeros((1, *input_shape))
    planned = [(reference, None, None) for reference in references] + [
        (reference, pd, gpr) for reference in references for pd in pds for gpr in gprs
    ]
    paths = []
    for done, (reference, pd, gpr) in enumerate(planned, start=1):
        architecture = arch_label(str(reference["name"]))
        stem = format_model_name(
            architecture,
            dataset,
            method=None if pd is None else method,
            pruning_distribution=pd,
            global_pruning_rate_percent=gpr,
        )
        torch.manual_seed(seed)
        module = build_reference(reference).eval()
        if pd is not None and gpr is not None:
            prune(module, example, pd=pd, gpr_percent=gpr, **pruning)
        path = out / f"{stem}.pth"
        save_referenced_model(
            path,
            module,
            reference,
            input_shape=input_shape,
            with_weights=with_weights,
            init_seed=seed,
        )
        paths.append(path)
        if progress is not None:
            progress(done, len(planned), stem)
    return paths
