"""A model made ready for its items: on its device, in its numeric format and runtime, with its
counts and what preparing it took."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .numerics import cast_input

if TYPE_CHECKING:
    import torch

    from ..models.counting import ModelCounts


@dataclass(frozen=True)
class PreparedModel:
    path: Path
    module: torch.nn.Module  # on its device, in eval mode
    device: str
    input_shape: tuple[int, ...]
    counts: ModelCounts
    # Loading, counting and moving it to the device took this long.
    load_seconds: float = 0.0
    # The numeric format it runs in (items/numerics.py): as asked (None: as saved) and as it
    # is; and its share of zero weights as saved (None where it cannot be known).
    requested_dtype: str | None = None
    dtype: str = "float32"
    channels_last: bool = False
    zero_weight_percent: float | None = None
    # Per multiple (8, 16, 64), the share of weight widths not a multiple of it (numerics.py).
    unaligned_percent: dict[int, float] | None = None
    # The runtime (items/runtimes.py; None: eager) and, where not eager, what it calls instead
    # of ``module`` (its compiled form).
    runtime: str | None = None
    runs: Any = None
    # Handing the model to its runtime took this long (exporting it and opening a session);
    # a runtime that prepares at the first pass (compile) pays there instead.
    runtime_seconds: float = 0.0

    @property
    def forward(self) -> Any:
        return self.module if self.runs is None else self.runs

    def conform(self, batch: Any) -> Any:
        """An input in the model's format: its floating-point type (a model saved in half
        precision takes a half-precision input) and its memory layout."""
        return cast_input(batch, self.dtype, self.channels_last)
