"""An item that cannot be measured, and why, in one line for the user."""

from __future__ import annotations


class ItemProblem(Exception):
    """Why one item could not be measured, in words for the user."""
