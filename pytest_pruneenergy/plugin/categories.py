"""The warnings pytest-pruneenergy issues, so that a user can filter them by category."""

from __future__ import annotations

import pytest


class PruneEnergyWarning(UserWarning):
    """A result pytest-pruneenergy still gives, but with less than it should: a model it cannot
    place (an unparsed name), idle power it could not measure."""


class EnergyGateWarning(pytest.PytestWarning):
    """An energy gate whose verdict is inconclusive: the 95 % CI straddles the threshold, or
    the baseline was not measured. ``--energy-strict`` makes it a failure."""
