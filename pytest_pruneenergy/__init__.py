"""pytest-pruneenergy: what pruning really buys, in joules and frames per second."""

__version__ = "0.1.0"
