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


def zero_weight_percent(module: torch.nn.Module) -> float:
    """The share of exactly zero weights in the convolutions and linear layers, in percent:
    what unstructured pruning (masks) leaves, which dense kernels compute like any weight."""
    import torch

    zeros = total = 0
    with torch.no_grad():
        for layer in module.modules():
            weight = getattr(layer, "weight", None)
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)) and weight is not None:
                zeros += int((weight == 0).sum())
                total += weight.numel()
    return 100.0 * zeros / total if total else 0.0
