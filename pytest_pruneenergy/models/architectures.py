"""Architecture descriptions -> torchvision-shaped modules, and the seed's pruning rule.

A description is a JSON-able dict::

    {"layout": "vgg16", "conv_channels": [64, 64, ...], "hidden_features": [4096, 4096],
     "num_classes": 10, "in_channels": 3}

``layout`` picks torchvision's AlexNet or VGG11/13/16/19 (no batch norm); the numbers say how many
output channels each conv layer and each hidden fully-connected layer keeps. Module names, and so
state_dict keys, are torchvision's, and the unpruned description with 1000 classes has exactly
torchvision's parameter count.

Structured pruning only removes whole channels, so a pruned model is fully described by its kept
channel counts; ``pruned_architecture`` derives them with the seed's (FlexiPrune's) per-layer
tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import torch
from torch import nn

from ..common.numbers import is_number, is_whole_number


class ArchitectureError(Exception):
    """An architecture description, or a pruning request, that cannot give a model."""


_M = "M"  # a 2x2 max-pool in a VGG configuration, as in torchvision's ``cfgs``
_VGG_CONFIGURATIONS: dict[str, tuple[int | str, ...]] = {
    "vgg11": (64, _M, 128, _M, 256, 256, _M, 512, 512, _M, 512, 512, _M),
    "vgg13": (64, 64, _M, 128, 128, _M, 256, 256, _M, 512, 512, _M, 512, 512, _M),
    "vgg16": (64, 64, _M, 128, 128, _M, 256, 256, 256, _M, 512, 512, 512, _M, 512, 512, 512, _M),
    "vgg19": (
        64, 64, _M, 128, 128, _M, 256, 256, 256, 256, _M,
        512, 512, 512, 512, _M, 512, 512, 512, 512, _M,
    ),
}  # fmt: skip
_ALEXNET_CONV_CHANNELS = (64, 192, 384, 256, 256)
_HIDDEN_FEATURES = (4096, 4096)

UNPRUNED_CONV_CHANNELS: dict[str, tuple[int, ...]] = {
    "alexnet": _ALEXNET_CONV_CHANNELS,
    **{
        layout: tuple(v for v in configuration if v != _M)
        for layout, configuration in _VGG_CONFIGURATIONS.items()
    },
}
LAYOUTS = tuple(UNPRUNED_CONV_CHANNELS)

# Percent of each conv layer's channels removed at GPR = 50, per layout and pruning distribution.
BASE_PRUNING_PERCENT_AT_GPR_50: dict[str, dict[int, tuple[int, ...]]] = {
    "alexnet": {
        1: (50,) * 5,
        2: (34, 48, 56, 66, 76),
        3: (70, 60, 44, 30, 18),
        4: (68, 42, 28, 40, 70),
        5: (32, 56, 76, 54, 32),
    },
    "vgg11": {
        1: (50,) * 8,
        2: (20, 40, 46, 50, 58, 60, 68, 72),
        3: (70, 66, 58, 58, 40, 40, 34, 24),
        4: (20, 40, 60, 62, 62, 60, 18, 18),
        5: (68, 52, 40, 40, 50, 52, 72, 72),
    },
    "vgg16": {
        1: (50,) * 13,
        2: (20, 40, 46, 46, 50, 50, 50, 60, 60, 60, 68, 70, 70),
        3: (70, 70, 62, 62, 50, 50, 50, 40, 40, 40, 34, 34, 32),
        4: (30, 30, 48, 48, 60, 60, 60, 60, 60, 60, 30, 30, 30),
        5: (66, 64, 50, 50, 40, 40, 40, 50, 50, 50, 64, 66, 66),
    },
}
PRUNING_DISTRIBUTIONS = (1, 2, 3, 4, 5)

_REQUIRED_KEYS = ("layout", "conv_channels", "hidden_features", "num_classes")
_OPTIONAL_KEYS = ("in_channels",)


def unpruned_architecture(layout: str, num_classes: int) -> dict[str, Any]:
    """torchvision's channel counts for ``layout`` with a head of ``num_classes``."""
    _check_layout(layout)
    return _description(layout, UNPRUNED_CONV_CHANNELS[layout], _HIDDEN_FEATURES, num_classes)


def pruned_architecture(
    layout: str, pd: int, gpr_percent: float, num_classes: int
) -> dict[str, Any]:
    """The description left after pruning ``layout`` with distribution ``pd`` at ``gpr_percent``.

    The seed's rule, for conv layer l with C channels and base percentage B[l] (at GPR 50)::

        rate_l = trunc(B[l] * GPR / 50) / 100;   removed = round(rate_l * C);   kept = C - removed

    Hidden fully-connected layers lose ``round(GPR / 100 * C)`` neurons; the output layer keeps
    all. The arithmetic is exact (rationals), so a float GPR cannot tip trunc or round over an
    integer boundary. ``round`` is Python's: halves go to the even neighbour, because that is
    what ``torch.nn.utils.prune`` (which the seed prunes with) does. With torchvision's channel
    counts a tie is only possible in the hidden layers at fractional GPRs such as 10.99853515625.

    Raises ArchitectureError for a layout without a base table (vgg13, vgg19), an unknown PD,
    a GPR that is not a positive finite number, or a GPR at which some layer would lose every
    channel.
    """
    _check_layout(layout)
    if layout not in BASE_PRUNING_PERCENT_AT_GPR_50:
        raise ArchitectureError(
            f"no pruning distribution table for {layout!r}; pruned models exist for "
            f"{', '.join(BASE_PRUNING_PERCENT_AT_GPR_50)} (unpruned ones for any layout)"
        )
    if isinstance(pd, bool) or pd not in PRUNING_DISTRIBUTIONS:
        raise ArchitectureError(f"pruning distribution {pd!r} is not one of PD1..PD5")
    gpr = _exact_gpr(gpr_percent)
    label = f"{layout} PD{pd} at GPR {gpr_percent} %"
    conv_rates = [Fraction(percent, 100) for percent in _conv_rates_percent(layout, pd, gpr)]
    conv_kept = [
        _kept_channels(channels, rate, f"{label}: conv layer {index}")
        for index, (channels, rate) in enumerate(
            zip(UNPRUNED_CONV_CHANNELS[layout], conv_rates, strict=True), start=1
        )
    ]
    hidden_kept = [
        _kept_channels(features, gpr / 100, f"{label}: hidden fully-connected layer {index}")
        for index, features in enumerate(_HIDDEN_FEATURES, start=1)
    ]
    return _description(layout, conv_kept, hidden_kept, num_classes)


def _conv_rates_percent(layout: str, pd: int, gpr: Fraction) -> list[int]:
    return [math.trunc(base * gpr / 50) for base in BASE_PRUNING_PERCENT_AT_GPR_50[layout][pd]]


def build_model(architecture: dict[str, Any]) -> nn.Module:
    """A torchvision-shaped module for a description; ArchitectureError if it is not valid.

    Builds on the current default device, so ``with torch.device("meta"):`` allocates nothing.
    """
    check_architecture(architecture)
    layout = architecture["layout"]
    conv_channels = architecture["conv_channels"]
    hidden_features = architecture["hidden_features"]
    num_classes = architecture["num_classes"]
    in_channels = architecture.get("in_channels", 3)
    if layout == "alexnet":
        return _alexnet(in_channels, conv_channels, hidden_features, num_classes)
    return _vgg(layout, in_channels, conv_channels, hidden_features, num_classes)


def check_architecture(architecture: Any) -> None:
    """Raise ArchitectureError saying what is wrong with a description; return if it is fine."""
    if not isinstance(architecture, dict):
        raise ArchitectureError(
            f"an architecture description is a dict, not a {type(architecture).__name__}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in architecture]
    if missing:
        raise ArchitectureError(f"architecture description lacks {', '.join(missing)}")
    unknown = sorted(set(architecture) - set(_REQUIRED_KEYS) - set(_OPTIONAL_KEYS))
    if unknown:
        raise ArchitectureError(
            f"unknown key(s) {', '.join(map(repr, unknown))} in architecture description; "
            f"expected {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)}"
        )
    layout = architecture["layout"]
    _check_layout(layout)
    expected_convs = len(UNPRUNED_CONV_CHANNELS[layout])
    _check_positive_ints("conv_channels", architecture["conv_channels"], expected_convs, layout)
    _check_positive_ints("hidden_features", architecture["hidden_features"], 2, layout)
    _check_positive_int("num_classes", architecture["num_classes"])
    _check_positive_int("in_channels", architecture.get("in_channels", 3))


class TorchvisionLayout(nn.Module):
    """torchvision's AlexNet/VGG skeleton: features -> avgpool -> flatten -> classifier."""

    def __init__(
        self, features: nn.Sequential, pooled_size: int, classifier: nn.Sequential
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((pooled_size, pooled_size))
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def _alexnet(
    in_channels: int,
    conv_channels: Sequence[int],
    hidden_features: Sequence[int],
    num_classes: int,
) -> nn.Module:
    c1, c2, c3, c4, c5 = conv_channels
    features = nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c1, c2, kernel_size=5, padding=2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c3, c4, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.Conv2d(c4, c5, kernel_size=3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2),
    )
    h1, h2 = hidden_features
    classifier = nn.Sequential(
        nn.Dropout(p=0.5),
        nn.Linear(c5 * 6 * 6, h1),
        nn.ReLU(inplace=True),
        nn.Dropout(p=0.5),
        nn.Linear(h1, h2),
        nn.ReLU(inplace=True),
        nn.Linear(h2, num_classes),
    )
    return TorchvisionLayout(features, 6, classifier)


def _vgg(
    layout: str,
    in_channels: int,
    conv_channels: Sequence[int],
    hidden_features: Sequence[int],
    num_classes: int,
) -> nn.Module:
    layers: list[nn.Module] = []
    channels_in = in_channels
    kept = iter(conv_channels)
    for item in _VGG_CONFIGURATIONS[layout]:
        if item == _M:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            channels_out = next(kept)
            layers += [
                nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
            ]
            channels_in = channels_out
    h1, h2 = hidden_features
    classifier = nn.Sequential(
        nn.Linear(channels_in * 7 * 7, h1),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(h1, h2),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(h2, num_classes),
    )
    model = TorchvisionLayout(nn.Sequential(*layers), 7, classifier)
    _init_like_torchvision_vgg(model)
    return model


def build_model_on(architecture: dict[str, Any], device: str, *, seed: int) -> nn.Module:
    """``build_model``'s module with random weights drawn on ``device`` from ``seed``.

    Built on the meta device, then allocated and initialised where it will run: drawing a
    full-size VGG16's 138 million weights on the CPU and copying them over costs a second or
    more per model, on a GPU a few milliseconds. The device's generator is restored afterwards.
    """
    import torch

    with torch.device("meta"):
        module = build_model(architecture)
    module = module.to_empty(device=device)
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        for submodule in module.modules():
            if isinstance(submodule, (nn.Conv2d, nn.Linear)):
                submodule.reset_parameters()
        if architecture["layout"] != "alexnet":
            _init_like_torchvision_vgg(module)
    return module


def _init_like_torchvision_vgg(model: nn.Module) -> None:
    # GPU power depends a little on operand values, so random VGGs should have the weight
    # statistics of torchvision's freshly built ones (AlexNet keeps PyTorch's defaults there too).
    # A model built on the meta device (to count it) has no values to draw: drawing them there
    # costs as much as counting.
    if any(parameter.is_meta for parameter in model.parameters()):
        return
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


def _description(
    layout: str,
    conv_channels: Sequence[int],
    hidden_features: Sequence[int],
    num_classes: int,
) -> dict[str, Any]:
    architecture = {
        "layout": layout,
        "conv_channels": list(conv_channels),
        "hidden_features": list(hidden_features),
        "num_classes": num_classes,
        "in_channels": 3,
    }
    check_architecture(architecture)
    return architecture


def _exact_gpr(gpr_percent: float) -> Fraction:
    if not is_number(gpr_percent):
        raise ArchitectureError(f"global pruning rate {gpr_percent!r} is not a number")
    if not math.isfinite(gpr_percent) or gpr_percent <= 0:
        raise ArchitectureError(
            f"global pruning rate {gpr_percent!r} must be a positive number of percent"
        )
    return Fraction(gpr_percent)


def _kept_channels(channels: int, rate: Fraction, where: str) -> int:
    kept = channels - round(rate * channels)
    if kept <= 0:
        raise ArchitectureError(
            f"{where} would lose all {channels} channels (pruning rate {float(rate):.0%}); "
            "use a lower global pruning rate"
        )
    return kept


def _check_layout(layout: Any) -> None:
    if layout not in UNPRUNED_CONV_CHANNELS:
        raise ArchitectureError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")


def _check_positive_ints(name: str, values: Any, expected_length: int, layout: str) -> None:
    if not isinstance(values, (list, tuple)):
        raise ArchitectureError(f"{name} must be a list of ints, not {type(values).__name__}")
    if len(values) != expected_length:
        raise ArchitectureError(
            f"{name} has {len(values)} entries; {layout} needs {expected_length}"
        )
    for index, value in enumerate(values):
        _check_positive_int(f"{name}[{index}]", value)


def _check_positive_int(name: str, value: Any) -> None:
    if not is_whole_number(value) or value <= 0:
        raise ArchitectureError(f"{name} must be a positive int, got {value!r}")
