"""Referenced models: any architecture, saved without pickled code.

A structurally pruned model is its unpruned architecture with fewer channels in some layers.
So a file can hold a reference to where the architecture comes from (a torchvision or timm
model name and its keyword arguments) and the shape of every parameter and buffer: loading
builds the named architecture on the meta device, resizes each layer whose shapes differ
(convolutions, batch norms, linear and layer norms, depthwise convolutions keeping one group
per channel), then allocates it on the device and loads the stored weights, or draws random
ones from the file's seed (for energy, FLOPs and parameters, random weights of the right
shapes stand for trained ones). The file is a ``torch.save`` of plain dicts, lists, numbers,
strings and tensors, read with ``weights_only=True``: nothing in it runs.

Architectures come only from builders registered by name (``register_builder``): torchvision's
and timm's model registries are registered where those packages are installed, and a
conftest.py can register its own. A file can name a builder and a model, never a function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .file_kinds import REFERENCED_FORMAT

REFERENCED_VERSION = 1

Builder = Callable[..., nn.Module]
_BUILDERS: dict[str, Callable[[str, dict[str, Any]], nn.Module]] = {}


class ReferenceProblem(ValueError):
    """A reference that cannot be built: unknown source or model, or shapes that do not fit."""


def register_builder(source: str, build: Callable[[str, dict[str, Any]], nn.Module]) -> None:
    """Make ``source`` a place models can be referenced from: ``build(name, kwargs)``."""
    _BUILDERS[source] = build


def _torchvision(name: str, kwargs: dict[str, Any]) -> nn.Module:
    from torchvision import models

    return models.get_model(name, **kwargs)


def _timm(name: str, kwargs: dict[str, Any]) -> nn.Module:
    import timm

    return timm.create_model(name, pretrained=False, **kwargs)


register_builder("torchvision", _torchvision)
register_builder("timm", _timm)


def build_reference(architecture: Mapping[str, Any]) -> nn.Module:
    """The unpruned module a reference names, built on the current default device."""
    source, name = architecture.get("source"), architecture.get("name")
    kwargs = dict(architecture.get("kwargs") or {})
    if source not in _BUILDERS:
        known = ", ".join(sorted(_BUILDERS))
        raise ReferenceProblem(f"unknown architecture source {source!r} (known: {known})")
    try:
        return _BUILDERS[str(source)](str(name), kwargs)
    except ImportError as error:
        raise ReferenceProblem(
            f"the {source} architecture {name!r} needs a package that is not installed "
            f"({error}): pip install {source}"
        ) from None
    except (KeyError, ValueError, TypeError, RuntimeError) as error:
        raise ReferenceProblem(f"{source} cannot build {name!r} ({error})") from None


def tensor_shapes(module: nn.Module) -> dict[str, list[int]]:
    """Every parameter's and buffer's shape, by its state_dict name."""
    return {name: list(tensor.shape) for name, tensor in module.state_dict().items()}


def rebuild(
    architecture: Mapping[str, Any],
    shapes: Mapping[str, list[int]],
    *,
    device: str,
    state_dict: Mapping[str, torch.Tensor] | None = None,
    seed: int = 0,
) -> nn.Module:
    """The referenced architecture resized to ``shapes``, on ``device``, with ``state_dict``'s
    weights or random ones drawn from ``seed``."""
    with torch.device("meta"):
        module = build_reference(architecture)
        _resize(module, shapes)
    missing = sorted(set(tensor_shapes(module)) ^ set(shapes))
    if missing:
        raise ReferenceProblem(
            f"the architecture's tensors and the file's differ: {', '.join(missing[:5])}"
        )
    module = module.to_empty(device=device)
    if state_dict is not None:
        module.load_state_dict(dict(state_dict))
        return module.eval()
    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices, device_type="cuda"):
        torch.manual_seed(seed)
        for submodule in module.modules():
            reset = getattr(submodule, "reset_parameters", None)
            if callable(reset):
                reset()
            reset_stats = getattr(submodule, "reset_running_stats", None)
            if callable(reset_stats):
                reset_stats()
    return module.eval()


def _resize(module: nn.Module, shapes: Mapping[str, list[int]]) -> None:
    """Replace every layer whose weight's shape is not the file's by one that fits it."""
    for name, layer in list(module.named_modules()):
        weight = shapes.get(f"{name}.weight" if name else "weight")
        if weight is None or list(getattr(layer, "weight", torch.empty(0)).shape) == weight:
            continue
        _replace(module, name, _resized(name, layer, weight))


def _resized(name: str, layer: nn.Module, weight: list[int]) -> nn.Module:
    if isinstance(layer, nn.Conv2d):
        out_channels, in_per_group = weight[0], weight[1]
        depthwise = layer.groups > 1 and layer.groups == layer.in_channels
        groups = out_channels if depthwise else layer.groups
        return nn.Conv2d(
            in_per_group * groups,
            out_channels,
            layer.kernel_size,  # type: ignore[arg-type]
            stride=layer.stride,  # type: ignore[arg-type]
            padding=layer.padding,  # type: ignore[arg-type]
            dilation=layer.dilation,  # type: ignore[arg-type]
            groups=groups,
            bias=layer.bias is not None,
            padding_mode=layer.padding_mode,
        )
    if isinstance(layer, nn.Linear):
        return nn.Linear(weight[1], weight[0], bias=layer.bias is not None)
    if isinstance(layer, nn.BatchNorm2d):
        return nn.BatchNorm2d(
            weight[0],
            eps=layer.eps,
            momentum=layer.momentum,
            affine=layer.affine,
            track_running_stats=layer.track_running_stats,
        )
    if isinstance(layer, nn.LayerNorm):
        return nn.LayerNorm(weight, eps=layer.eps, elementwise_affine=layer.elementwise_affine)
    raise ReferenceProblem(
        f"layer {name} ({type(layer).__name__}) has another shape in the file "
        f"({weight}); only convolutions, linear layers and norms can be resized"
    )


def _replace(module: nn.Module, name: str, layer: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, layer)


def save_referenced_model(
    path: str | Path,
    module: nn.Module,
    architecture: Mapping[str, Any],
    *,
    input_shape: tuple[int, ...],
    with_weights: bool = False,
    init_seed: int = 0,
) -> None:
    """Write ``module`` (the referenced architecture, pruned or not) in the referenced format:
    its shapes always, its weights when asked (without them, loading draws random ones)."""
    payload = {
        "format": REFERENCED_FORMAT,
        "format_version": REFERENCED_VERSION,
        "architecture": dict(architecture),
        "input_shape": list(input_shape),
        "shapes": tensor_shapes(module),
        "state_dict": (
            {name: tensor.detach().cpu() for name, tensor in module.state_dict().items()}
            if with_weights
            else None
        ),
        "init_seed": init_seed,
    }
    torch.save(payload, Path(path))
