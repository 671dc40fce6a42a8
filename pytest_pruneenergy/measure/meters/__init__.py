"""Energy meters: one small interface over NVML, RAPL and a labelled estimate.

Importing this package imports neither torch nor pynvml; meters import them when built.
The simulated pynvml for tests is in ``pytest_pruneenergy.testing.simulated_nvml``.
"""

from .auto import METER_KINDS, OLD_METER_NAMES, cuda_index_of, make_meter
from .base import (
    DeviceState,
    EstimatedEnergyWarning,
    GpuFacts,
    IntegratedPowerWarning,
    Meter,
    MeterReadError,
    MeterUnavailable,
    gpu_facts_of,
)
from .estimate import DEFAULT_WATTS_PER_BUSY_CORE, EstimateMeter
from .nvml import EnergyCounterMissing, NvmlCounterMeter
from .nvml_power import NvmlPowerMeter
from .rapl import RaplMeter, energy_delta_microjoules

__all__ = [
    "DEFAULT_WATTS_PER_BUSY_CORE",
    "METER_KINDS",
    "OLD_METER_NAMES",
    "DeviceState",
    "EnergyCounterMissing",
    "EstimateMeter",
    "EstimatedEnergyWarning",
    "GpuFacts",
    "IntegratedPowerWarning",
    "Meter",
    "MeterReadError",
    "MeterUnavailable",
    "NvmlCounterMeter",
    "NvmlPowerMeter",
    "RaplMeter",
    "cuda_index_of",
    "energy_delta_microjoules",
    "gpu_facts_of",
    "make_meter",
]
