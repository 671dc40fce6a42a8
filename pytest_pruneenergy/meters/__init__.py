"""Energy meters: one small interface over NVML, RAPL and a labelled estimate.

Importing this package imports neither torch nor pynvml; meters import them when built.
``meters.simulated`` (a simulated pynvml for tests) is not imported here: it imports pynvml.
"""

from .auto import METER_KINDS, cuda_index_of, make_meter
from .base import (
    DeviceState,
    EstimatedEnergyWarning,
    IntegratedPowerWarning,
    Meter,
    MeterReadError,
    MeterUnavailable,
)
from .estimate import DEFAULT_WATTS_PER_BUSY_CORE, EstimateMeter
from .nvml import EnergyCounterMissing, NvmlCounterMeter
from .nvml_power import NvmlPowerMeter
from .rapl import RaplMeter, energy_delta_microjoules

__all__ = [
    "DEFAULT_WATTS_PER_BUSY_CORE",
    "METER_KINDS",
    "DeviceState",
    "EnergyCounterMissing",
    "EstimateMeter",
    "EstimatedEnergyWarning",
    "IntegratedPowerWarning",
    "Meter",
    "MeterReadError",
    "MeterUnavailable",
    "NvmlCounterMeter",
    "NvmlPowerMeter",
    "RaplMeter",
    "cuda_index_of",
    "energy_delta_microjoules",
    "make_meter",
]
