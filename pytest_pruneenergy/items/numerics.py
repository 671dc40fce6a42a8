"""The numeric format an item runs in: a floating-point type, and the memory layout.

``--prune-dtypes=float32,bfloat16,float16`` measures every model in each format, model and
input cast alike; ``--prune-channels-last`` lays both out channels-last, the layout tensor
cores read fastest. Counting stays per sample on the model as saved: parameters and MACs do not
depend on the format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

# Each format's name (as torch spells it) and its short tag in item ids (items/ids.py).
DTYPE_TAGS = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
_ALIASES = {tag: name for name, tag in DTYPE_TAGS.items()} | {"half": "float16", "float": "float32"}


def dtype_name(text: str) -> str | None:
    """``bfloat16``, ``bf16`` or ``torch.bfloat16`` -> ``bfloat16``; None if it is none of ours."""
    name = text.strip().lower().removeprefix("torch.")
    name = _ALIASES.get(name, name)
    return name if name in DTYPE_TAGS else None


def module_dtype(module: torch.nn.Module) -> str:
    """The floating-point type the module's parameters hold (``float32`` without any)."""
    floating = (p.dtype for p in module.parameters() if p.dtype.is_floating_point)
    return str(next(floating, "float32")).removeprefix("torch.")


def cast_module(module: torch.nn.Module, dtype: str | None, channels_last: bool) -> Any:
    """``module`` in ``dtype`` (None: as it is) and, where asked, channels-last."""
    import torch

    if dtype is not None:
        module = module.to(dtype=getattr(torch, dtype))
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    return module


def cast_input(batch: Any, dtype: str | None, channels_last: bool) -> Any:
    """A floating-point input tensor in the model's format; anything else as it is."""
    import torch

    if not isinstance(batch, torch.Tensor) or not batch.is_floating_point():
        return batch
    if dtype is not None:
        batch = batch.to(dtype=getattr(torch, dtype))
    if channels_last and batch.dim() == 4:
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def zero_weight_percent(module: torch.nn.Module) -> float | None:
    """The share of exactly zero weights, in percent: what unstructured pruning (masks) leaves,
    and dense kernels compute like any weight. None where it cannot be known.

    A weight is a layer's own ``weight`` of two or more dimensions: the kernels of convolutions,
    linear layers and embeddings, not biases or normalisation scales. It is read from the
    module's parameters, which a TorchScript module (scripted or traced) has like any other, so
    every format of one model gives one figure. Where ``torch.nn.utils.prune`` left its mask on,
    the weight is ``weight_orig`` times ``weight_mask``. Unknown: a model without such weights,
    one whose weights cannot be read as values (quantized layers pack theirs; parameters on the
    meta device or not yet initialised), or a TorchScript model whose weight a parametrisation
    computes.
    """
    import torch

    zeros = total = 0
    # Held, not only their ids: a weight computed from a mask is freed after counting, and
    # its id could come back.
    counted: dict[int, torch.Tensor] = {}
    with torch.no_grad():
        for layer in module.modules():
            try:
                weight = _layer_weight(layer)
            except _UnknownWeight:
                return None
            if weight is None or id(weight) in counted:  # a weight two layers share counts once
                continue
            counted[id(weight)] = weight
            zeros += int((weight == 0).sum())
            total += weight.numel()
    return 100.0 * zeros / total if total else None


class _UnknownWeight(Exception):
    """A layer has a weight whose values cannot be read."""


def _layer_weight(layer: torch.nn.Module) -> torch.Tensor | None:
    """The weight ``layer`` multiplies by, as it runs; None where it has none."""
    import torch

    parameters = dict(layer.named_parameters(recurse=False))
    buffers = dict(layer.named_buffers(recurse=False))
    if "weight_orig" in parameters and "weight_mask" in buffers:  # torch.nn.utils.prune
        weight = parameters["weight_orig"] * buffers["weight_mask"]
    else:
        # A parameter, or what an eager module's parametrisation computes from one.
        weight = getattr(layer, "weight", None)
    if weight is None:
        # A TorchScript module runs a parametrisation (torch.nn.utils.parametrize, or the older
        # weight_norm's weight_g and weight_v) as code: the weight it computes is not kept.
        if hasattr(layer, "parametrizations") or "weight_v" in parameters:
            raise _UnknownWeight
        return None
    if isinstance(weight, torch.nn.Module):  # a submodule of that name (parametrisations')
        return None
    if callable(weight):  # quantized layers: packed weights, read through weight()
        raise _UnknownWeight
    if not isinstance(weight, torch.Tensor):
        return None
    if isinstance(weight, torch.nn.parameter.UninitializedParameter) or weight.is_meta:
        raise _UnknownWeight
    return weight if weight.dim() >= 2 else None


# The multiples tensor cores work in: 8 elements (FP16/BF16 on Volta and later, and where the
# libraries pad), 16 and 64 (the tiles that the fastest BF16 kernels take whole).
ALIGNMENTS = (8, 16, 64)


def unaligned_width_percent(module: torch.nn.Module) -> dict[int, float] | None:
    """Per multiple in ``ALIGNMENTS``, the share of the widths of the model's weight matrices
    that are not a multiple of it, in percent: each layer's weight of two or more dimensions
    gives two widths, its output and input channels (features). Pruning leaves widths such as
    61 or 213, which a tensor core pads to the next multiple or runs without. Read from the
    weights' shapes, so TorchScript and weights not yet initialised count too; None where the
    model has no such weight."""
    import torch

    widths: list[int] = []
    seen: set[int] = set()
    for layer in module.modules():
        parameters = dict(layer.named_parameters(recurse=False))
        weight = parameters.get(
            "weight_orig", parameters.get("weight_v", getattr(layer, "weight", None))
        )
        if not isinstance(weight, torch.Tensor) or weight.dim() < 2 or id(weight) in seen:
            continue
        seen.add(id(weight))
        widths += [int(weight.shape[0]), int(weight.shape[1])]
    if not widths:
        return None
    return {
        multiple: 100.0 * sum(width % multiple != 0 for width in widths) / len(widths)
        for multiple in ALIGNMENTS
    }
