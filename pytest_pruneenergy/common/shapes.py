"""Tensor shapes as they appear in messages, CSVs and tables."""

from __future__ import annotations

from collections.abc import Iterable


def format_shape(shape: Iterable[int]) -> str:
    """``(3, 224, 224)`` -> ``3x224x224``, as shapes appear in messages, CSVs and tables."""
    return "x".join(str(size) for size in shape)
