"""What a measured item records in JUnit XML (``--junitxml``): its numbers as test properties.

CI dashboards that read JUnit XML (GitHub's test reporters, GitLab, Jenkins) show a test's
``<property>`` elements; pytest writes there what an item holds in ``user_properties`` (the
``record_property`` fixture's list). Names carry units; values are plain numbers, and a number
that does not exist (no CI, no baseline) is left out rather than written as NaN.
"""

from __future__ import annotations

import math

from ..items.measurement import Measurement
from ..measure.latency import milliseconds_by_percentile
from . import schema as col
from .schema import meter_label
from .table import reduction_columns

PREFIX = "pruneenergy_"
# The result table's reduction columns, by the property that carries each.
REDUCTION_PROPERTIES = {
    col.ENERGY_REDUCTION: "energy_reduction_percent",
    col.FPS_REDUCTION: "fps_reduction_percent",
    col.CR_FLOPS: "flops_reduction_percent",
    col.CR_PARAMETERS: "params_reduction_percent",
}


def item_properties(
    measurement: Measurement, baseline: Measurement | None
) -> list[tuple[str, float | int | str]]:
    """The item's energy, FPS, latency percentiles where known, counts and meter; and its
    reductions against ``baseline`` as the results CSV has them (a baseline's own are 0; None:
    no reductions)."""
    stats = measurement.stats
    properties: list[tuple[str, float | int | str]] = [
        ("joules_per_sample", stats.joules_per_sample_mean),
        ("joules_per_sample_ci95", stats.joules_per_sample_ci95),
        ("fps", stats.frames_per_second),
        *(
            (f"latency_p{percentile}_ms", milliseconds)
            for percentile, milliseconds in milliseconds_by_percentile(
                stats.pass_time_percentiles
            ).items()
            if milliseconds is not None
        ),
        ("params", measurement.params),
        ("flops", measurement.flops),
        ("meter", meter_label(measurement.meter, measurement.meter_is_estimate)),
    ]
    reductions = reduction_columns(measurement, measurement.name, baseline)
    properties += [
        (name, reductions[column])
        for column, name in REDUCTION_PROPERTIES.items()
        if column in reductions
    ]
    return [(PREFIX + name, value) for name, value in properties if _present(value)]


def _present(value: float | int | str) -> bool:
    return isinstance(value, str) or math.isfinite(value)
