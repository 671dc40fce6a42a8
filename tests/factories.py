"""Measurements for tests, made in one place.

``make_stats`` and ``make_measurement`` fill every field with a plain default, and take any field
by keyword. A test passes the fields its assertions depend on, even where they equal a default,
so that what it checks is visible where it checks it; a new field of WindowStats or Measurement
is given its default here, once.
"""

from __future__ import annotations

from typing import Any

from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.measure.window_stats import WindowStats

# 1 J a sample at 100 samples a second, over 10 windows of 0.1 s.
STATS_DEFAULTS: dict[str, Any] = {
    "joules_per_sample_mean": 1.0,
    "joules_per_sample_std": 0.1,
    "joules_per_sample_ci95": 0.01,
    "seconds_per_sample_mean": 0.01,
    "seconds_per_sample_std": 0.0,
    "frames_per_second": 100.0,
    "windows": 10,
    "samples_measured": 100.0,
    "seconds_measured": 1.0,
    "warmup_seconds": 0.5,
}


def make_stats(**overrides: Any) -> WindowStats:
    """WindowStats of the defaults above, any field overridden by keyword."""
    return WindowStats(**{**STATS_DEFAULTS, **overrides})


def make_measurement(model: str, batch_size: int = 8, **overrides: Any) -> Measurement:
    """A measurement of ``model`` (a file stem) at ``batch_size`` on a CPU board meter, any
    field overridden by keyword (``stats=make_stats(...)`` for the statistics)."""
    fields: dict[str, Any] = {
        "path": f"/models/{model}.pth",
        "input_shape": (3, 32, 32),
        "device": "cpu",
        "meter": "rapl",
        "meter_description": "RAPL",
        "meter_is_estimate": False,
        "params": 1000,
        "macs": 400,
        "stats": make_stats(),
    }
    return Measurement(model=model, batch_size=batch_size, **{**fields, **overrides})
