"""What a number read back from JSON must be: JSON's true and false arrive as Python's bools,
which are ints, and a record edited by hand can hold a string where a figure belongs."""

from __future__ import annotations


def is_number(value: object) -> bool:
    """An int or a float, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole_number(value: object) -> bool:
    """An int, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)
