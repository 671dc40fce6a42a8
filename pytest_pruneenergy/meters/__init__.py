"""Energy meters: one small interface over NVML, RAPL and a labelled estimate.

Importing this package imports neither torch nor pynvml; meters import them when built.
"""

from .auto import METER_KINDS, cuda_index_of, make_meter
from .base import EstimatedEnergyWarning, Meter, MeterReadError, MeterUnavailable
from .estimate import DEFAULT_WATTS_PER_BUSY_CORE, EstimateMeter
from .nvml import NvmlCounterMeter
from .rapl import RaplMeter, energy_delta_microjoules

__all__ = [
    "DEFAULT_WATTS_PER_BUSY_CORE",
    "METER_KINDS",
    "EstimateMeter",
    "EstimatedEnergyWarning",
    "Meter",
    "MeterReadError",
    "MeterUnavailable",
    "NvmlCounterMeter",
    "RaplMeter",
    "cuda_index_of",
    "energy_delta_microjoules",
    "make_meter",
]
