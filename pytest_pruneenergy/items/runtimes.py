"""Runtimes: how an item's model is run, as deployed rather than as saved (issue 27).

- ``eager``: the module called as it is, op by op (the seed tool's way, and the default);
- ``compile``: ``torch.compile`` with its default backend (inductor), which fuses ops into
  generated kernels; the first pass at each input shape compiles, and that time is reported
  apart (``Compile Seconds``), never inside the measurement.

A model compared with its baseline runs in the same runtime: an item's runtime is part of its
key, beside its numeric format. A runtime that cannot take a model (TorchScript under
``torch.compile``, say, or no C++ compiler for inductor on the CPU) fails that item with the
error's first line, and every other item is measured as usual.
"""

from __future__ import annotations

from typing import Any

EAGER = "eager"
COMPILE = "compile"
RUNTIMES = (EAGER, COMPILE)


def runtime_or_none(runtime: str) -> str | None:
    """How an item stores its runtime: None for eager, so that eager items keep the ids,
    journal keys and run-store keys they had before runtimes were an axis."""
    return None if runtime == EAGER else runtime


def item_variant(dtype: str | None, runtime: str | None) -> str | None:
    """What sets an item apart beside its model and batch size: its numeric format (None: as
    saved) and its runtime where it is not eager, as item keys and labels name them
    (``bfloat16``, ``compile``, ``bfloat16 compile``)."""
    if runtime is None or runtime == EAGER:
        return dtype
    return runtime if dtype is None else f"{dtype} {runtime}"


def apply_runtime(module: Any, runtime: str | None) -> Any:
    """``module`` as ``runtime`` runs it: compiling is lazy, so the item's first pass at each
    input shape pays it."""
    if runtime is None or runtime == EAGER:
        return module
    if runtime == COMPILE:
        import torch

        return torch.compile(module)
    raise ValueError(f"unknown runtime {runtime!r}; one of {', '.join(RUNTIMES)}")
