"""The results CSV: its columns, their types, and writing it (reading: report/reading.py).

One row per (model, batch size). The first fifteen columns carry the seed tool's
(PruneEnergyAnalyzer) exact names and meanings, so that its notebooks (parse names, add
compression ratios, plot energy against a metric) run unchanged on ours; ours follow them, each
added column after the ones earlier CSVs had, so that scripts indexing by position keep working.
With a metadata file, its metric columns (the seed's ``YOUR_METRIC``) come last, after ours.

The seed's meanings, kept exactly:

- ``MODEL_NAME`` is the model's file name with its extension (``AlexNet_X_UNPRUNED.pth``), as the
  seed's notebooks look models up; a folder problem's row has the item's id instead.
- ``FLOPs`` is fvcore's count for ONE BATCH at the row's batch size, as the seed's CSV has it: a
  multiply-add counts as one, plus the elements of the adaptive average pool and the norm layers
  (models/counting.py), times ``BATCH_SIZE``. Empty where that count is unknown (a TorchScript
  model, or measurements recorded before it was counted).
- ``Pruning Distribution`` is ``PDn``, and ``N/A`` for an unpruned model, as the seed's notebook 2
  writes it (pandas reads it, like the seed's empty cells, as missing); ``GPR`` is 0 there.
- ``CR (%) measured in FLOPs`` is the reduction of ``FLOPs`` against the unpruned model at the
  same batch size (the batch size cancels); of ``MACs`` where ``FLOPs`` is empty.
- Our reductions are not rounded; the seed's notebook 3 rounds them to whole numbers.

Our own counts are per sample (a batch of one), named so that nobody takes them for the seed's:

- ``MACs``: multiply-accumulates per sample (torchvision's "GFLOPS" convention);
- ``FLOPs per Sample (2 x MACs)``: the physical count, a multiply-add being two operations.

Items that could not be measured are rows too (``Status`` ``failed``, ``Error`` the reason, the
numbers empty), so that a reader of the CSV sees which model failed and why.

Energy: ``Mean Energy per Sample (J)`` is gross, what the board drew, as MLPerf and ML.ENERGY
report it. ``Dynamic Energy per Sample (J)`` is gross less ``Idle Power (W)`` x ``Mean Time per
Sample (s)``; both are empty where idle power was not measured (estimates, or
``--energy-idle-seconds=0``). ``CI Target Met`` and ``Stop Reason`` (``target``, ``out of
reach``, ``time cap``: why measuring stopped) are empty for the seed protocol, which has no
target. ``Naive Two-Read Energy per Sample (J)`` is what two meter reads bracketing the run give.

The run's metadata CSV has a row per device: its meter, GPU facts, idle power, and the items
and seconds it measured.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..common.files import write_atomically
from ..measure.window_stats import STOP_REASONS_JOINER
from ..models.loading import MODEL_FILE_SUFFIXES

CSV_NAME = "pruneenergy_results.csv"
RUN_CSV_NAME = "pruneenergy_run.csv"

MODEL_NAME = "MODEL_NAME"
BATCH_SIZE = "BATCH_SIZE"
SECONDS_PER_SAMPLE = "Mean Time per Sample (s)"
FPS = "FPS"
SECONDS_PER_SAMPLE_STD = "STD Time per Sample (s)"
JOULES_PER_SAMPLE = "Mean Energy per Sample (J)"
JOULES_PER_SAMPLE_STD = "STD Energy per Sample (J)"
PARAMETERS = "Parameters"
FLOPS_SEED = "FLOPs"
GPR = "GPR"
ARCHITECTURE = "Architecture"
PRUNING_DISTRIBUTION = "Pruning Distribution"
CR_PARAMETERS = "CR (%) measured in Parameters"
CR_FLOPS = "CR (%) measured in FLOPs"
ENERGY_REDUCTION = "Energy Reduction (%)"

JOULES_PER_SAMPLE_CI95 = "CI95 Energy per Sample (J)"
FPS_REDUCTION = "FPS Reduction (%)"
MACS = "MACs"
FLOPS_PHYSICAL = "FLOPs per Sample (2 x MACs)"
DATASET = "Dataset"
METHOD = "Method"
PD_SHAPE = "PD Shape"
SEED = "Seed"
FINE_TUNED = "Fine-tuned"
BASELINE_MODEL = "Baseline Model"
WINDOWS = "Windows"
SAMPLES_MEASURED = "Samples Measured"
SECONDS_MEASURED = "Seconds Measured"
METER = "Meter"
METER_IS_ESTIMATE = "Meter Is Estimate"
METER_DESCRIPTION = "Meter Description"
DEVICE = "Device"
INPUT_SHAPE = "Input Shape"
MODEL_PATH = "Model Path"
STATUS = "Status"
ERROR = "Error"
DYNAMIC_JOULES_PER_SAMPLE = "Dynamic Energy per Sample (J)"
IDLE_WATTS = "Idle Power (W)"
PROTOCOL = "Protocol"
CI_TARGET_MET = "CI Target Met"
NAIVE_JOULES_PER_SAMPLE = "Naive Two-Read Energy per Sample (J)"
METER_UPDATE_PERIOD_SECONDS = "Meter Update Period (s)"
TEMPERATURE_START_CELSIUS = "Temperature Start (C)"
TEMPERATURE_END_CELSIUS = "Temperature End (C)"
SM_CLOCK_START_MHZ = "SM Clock Start (MHz)"
SM_CLOCK_END_MHZ = "SM Clock End (MHz)"
GPU = "GPU"
DRIVER = "Driver"
POWER_LIMIT_WATTS = "Power Limit (W)"
GATE = "Gate"
GATE_MESSAGE = "Gate Message"
CUDA_GRAPH = "CUDA Graph"
LOAD_SECONDS = "Load Seconds"
WARMUP_SECONDS = "Warm-up Seconds"
ITEM_SECONDS = "Item Seconds"
ROUNDS = "Rounds"
DTYPE = "Dtype"
CHANNELS_LAST = "Channels Last"
ZERO_WEIGHTS = "Zero Weights (%)"
DISTURBANCES = "Disturbances"
REMEASURED = "Remeasured"
SET_ASIDE_JOULES_PER_SAMPLE = "Set-Aside Energy per Sample (J)"
SET_ASIDE_JOULES_PER_SAMPLE_CI95 = "Set-Aside CI95 Energy per Sample (J)"
SET_ASIDE_FPS = "Set-Aside FPS"
KWH_PER_MILLION = "Energy per Million Inferences (kWh)"
CO2E_GRAMS_PER_MILLION = "CO2e per Million Inferences (g)"
COST_PER_MILLION = "Cost per Million Inferences"
UNALIGNED_X8 = "Widths Not x8 (%)"
UNALIGNED_X16 = "Widths Not x16 (%)"
UNALIGNED_X64 = "Widths Not x64 (%)"
RUNTIME = "Runtime"
COMPILE_SECONDS = "Compile Seconds"
STOP_REASON = "Stop Reason"
LATENCY_P50_MS = "Latency p50 (ms)"
LATENCY_P90_MS = "Latency p90 (ms)"
LATENCY_P99_MS = "Latency p99 (ms)"

TEXT = "object"
INTEGER = "Int64"
BOOLEAN = "boolean"
FLOAT = "float64"
# Every column in CSV order, with its type: nullable ones, so that a failed row's empty numbers do
# not turn counts into floats. The seed's fifteen come first, in its order.
_COLUMN_TYPES: tuple[tuple[str, str], ...] = (
    (MODEL_NAME, TEXT),
    (BATCH_SIZE, INTEGER),
    (SECONDS_PER_SAMPLE, FLOAT),
    (FPS, FLOAT),
    (SECONDS_PER_SAMPLE_STD, FLOAT),
    (JOULES_PER_SAMPLE, FLOAT),
    (JOULES_PER_SAMPLE_STD, FLOAT),
    (PARAMETERS, INTEGER),
    (FLOPS_SEED, INTEGER),
    (GPR, FLOAT),
    (ARCHITECTURE, TEXT),
    (PRUNING_DISTRIBUTION, TEXT),
    (CR_PARAMETERS, FLOAT),
    (CR_FLOPS, FLOAT),
    (ENERGY_REDUCTION, FLOAT),
    (JOULES_PER_SAMPLE_CI95, FLOAT),
    (FPS_REDUCTION, FLOAT),
    (MACS, INTEGER),
    (FLOPS_PHYSICAL, INTEGER),
    (DATASET, TEXT),
    (METHOD, TEXT),
    (PD_SHAPE, TEXT),
    (SEED, INTEGER),
    (FINE_TUNED, BOOLEAN),
    (BASELINE_MODEL, TEXT),
    (WINDOWS, INTEGER),
    # Fractional: a window edge may fall inside a pass, which then counts in part.
    (SAMPLES_MEASURED, FLOAT),
    (SECONDS_MEASURED, FLOAT),
    (METER, TEXT),
    (METER_IS_ESTIMATE, BOOLEAN),
    (METER_DESCRIPTION, TEXT),
    (DEVICE, TEXT),
    (INPUT_SHAPE, TEXT),
    (MODEL_PATH, TEXT),
    (STATUS, TEXT),
    (ERROR, TEXT),
    # Added later, so after the columns earlier CSVs had: scripts that index by position
    # keep working.
    (DYNAMIC_JOULES_PER_SAMPLE, FLOAT),
    (IDLE_WATTS, FLOAT),
    (PROTOCOL, TEXT),
    (CI_TARGET_MET, BOOLEAN),
    (NAIVE_JOULES_PER_SAMPLE, FLOAT),
    (METER_UPDATE_PERIOD_SECONDS, FLOAT),
    (TEMPERATURE_START_CELSIUS, FLOAT),
    (TEMPERATURE_END_CELSIUS, FLOAT),
    (SM_CLOCK_START_MHZ, FLOAT),
    (SM_CLOCK_END_MHZ, FLOAT),
    (GPU, TEXT),
    (DRIVER, TEXT),
    (POWER_LIMIT_WATTS, FLOAT),
    (GATE, TEXT),
    (GATE_MESSAGE, TEXT),
    (CUDA_GRAPH, TEXT),
    # Where an item's time went (the measurement itself: Seconds Measured).
    (LOAD_SECONDS, FLOAT),
    (WARMUP_SECONDS, FLOAT),
    (ITEM_SECONDS, FLOAT),
    # How many rounds (--energy-rounds) the row's figures combine.
    (ROUNDS, INTEGER),
    # The numeric format the model ran in, its memory layout, and its share of zero weights.
    (DTYPE, TEXT),
    (CHANNELS_LAST, BOOLEAN),
    (ZERO_WEIGHTS, FLOAT),
    # What could have corrupted the row's figures, seen while it (or its baseline) ran:
    # measure/conditions.py; empty when nothing was.
    (DISTURBANCES, TEXT),
    # An item in doubt measured once more at the end of the run (items/remeasure.py): why,
    # and what the second measurement said; the figures of the one the row does not show.
    (REMEASURED, TEXT),
    (SET_ASIDE_JOULES_PER_SAMPLE, FLOAT),
    (SET_ASIDE_JOULES_PER_SAMPLE_CI95, FLOAT),
    (SET_ASIDE_FPS, FLOAT),
    # Per million inferences (report/units.py): the board's kWh; the facility's CO2e (PUE x
    # grid intensity) and cost (PUE x price; empty without a price).
    (KWH_PER_MILLION, FLOAT),
    (CO2E_GRAMS_PER_MILLION, FLOAT),
    (COST_PER_MILLION, FLOAT),
    # Weight widths that a tensor core pads (items/numerics.py), per multiple.
    (UNALIGNED_X8, FLOAT),
    (UNALIGNED_X16, FLOAT),
    (UNALIGNED_X64, FLOAT),
    # The time of one pass of the batch, back to back, over the measured passes
    # (measure/latency.py); empty where it could not be known.
    (LATENCY_P50_MS, FLOAT),
    (LATENCY_P90_MS, FLOAT),
    (LATENCY_P99_MS, FLOAT),
    # How the model ran (items/runtimes.py: eager, compile), and a compiling runtime's first
    # pass at the row's batch size, which compiled: not part of the measurement.
    (RUNTIME, TEXT),
    (COMPILE_SECONDS, FLOAT),
    # Why the adaptive protocol stopped measuring: target, out of reach, time cap
    # (measure/window_stats.py); empty for the seed protocol.
    (STOP_REASON, TEXT),
)
COLUMNS: tuple[str, ...] = tuple(column for column, _ in _COLUMN_TYPES)
SEED_COLUMNS: tuple[str, ...] = COLUMNS[:15]
EXTRA_COLUMNS: tuple[str, ...] = COLUMNS[15:]
DTYPES: dict[str, str] = {column: kind for column, kind in _COLUMN_TYPES if kind != TEXT}

ITEMS_MEASURED = "Items Measured"
# The run's metadata: one row per device (and its meter), where idle power is reported.
RUN_COLUMNS: tuple[str, ...] = (
    DEVICE,
    METER,
    METER_DESCRIPTION,
    GPU,
    DRIVER,
    POWER_LIMIT_WATTS,
    IDLE_WATTS,
    ITEMS_MEASURED,
    SECONDS_MEASURED,
)

STATUS_MEASURED = "measured"
STATUS_FAILED = "failed"
# The seed's label for an unpruned model in its ``Pruning Distribution`` column (notebook 2's;
# its notebook 3 leaves the cell empty), and the labels read as one: ours before, and empty.
UNPRUNED_LABEL = "N/A"
_UNPRUNED_LABELS = frozenset({"n/a", "na", "nan", "none", "unpruned", ""})
# The metric column of the seed's metadata file, which its notebooks plot against energy.
SEED_METRIC = "YOUR_METRIC"


def is_unpruned_label(value: Any) -> bool:
    """Whether a ``Pruning Distribution`` cell says "unpruned": ``N/A``, empty (the seed's
    forms), or ``UNPRUNED`` (ours before)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return True
    return str(value).strip().casefold() in _UNPRUNED_LABELS


def model_stem(model_name: str) -> str:
    """A MODEL_NAME without a model file's suffix: the name pruneenergy keys items on."""
    stem, suffix = os.path.splitext(model_name)
    return stem if suffix.lower() in MODEL_FILE_SUFFIXES else model_name


# What sets a model's rows apart beside its batch size: its numeric format and its runtime.
VARIANT_COLUMNS = (DTYPE, RUNTIME)


def variant_label(row: pd.Series) -> str:
    """A row's numeric format and runtime as one label (``bfloat16 compile``); "" where it
    gives neither (a seed tool's row)."""
    parts = (row.get(column) for column in VARIANT_COLUMNS)
    return " ".join(str(part) for part in parts if not pd.isna(part) and str(part))


def with_dtypes(table: pd.DataFrame) -> pd.DataFrame:
    """Our columns as their types (``DTYPES``)."""
    return table.astype(DTYPES)


def measured_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that hold numbers: not failed (a table without ``Status`` counts as measured)."""
    if STATUS not in table.columns:
        return table
    return table[table[STATUS].astype(str) != STATUS_FAILED]


def estimate_mask(table: pd.DataFrame) -> pd.Series:
    """True where the row's energy is an estimate; robust to a table read back from CSV."""
    if METER_IS_ESTIMATE not in table.columns:
        return pd.Series(False, index=table.index)
    return table[METER_IS_ESTIMATE].map(is_true).astype(bool)


def meter_label(meter: str, is_estimate: bool) -> str:
    """The meter's name, saying "(estimate)" where it estimates and its name does not say so
    (a hook's meter may estimate under any name)."""
    if is_estimate and "estimate" not in meter.casefold():
        return f"{meter or 'meter'} (estimate)"
    return meter


def text_or_blank(values: pd.Series) -> pd.Series:
    """``values`` as strings, missing ones as ``""``."""
    # object first: fillna("") on an all-NaN float column is deprecated in pandas.
    return values.astype(object).where(values.notna(), "").astype(str)


def stopped_for(stop_reasons: pd.Series, reason: str) -> pd.Series:
    """Whether each row's ``Stop Reason`` names ``reason``: its own, or one of its rounds'
    (``STOP_REASONS_JOINER``); False where it is empty."""
    return (
        text_or_blank(stop_reasons)
        .str.split(STOP_REASONS_JOINER)
        .map(lambda names: reason in names)
    )


def is_true(value: Any) -> bool:
    """True for True in any of its forms: bool, numpy bool, pandas boolean, "True" from a CSV."""
    return str(value).casefold() == "true"


def is_false(value: Any) -> bool:
    """False in any of its forms; an empty value (NA, NaN, None) is neither true nor false."""
    return str(value).casefold() == "false"


def write_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``path`` atomically: readers see the old file or the whole new one."""
    return write_atomically(Path(path), lambda handle: table.to_csv(handle, index=False))


def normalize_results(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with our columns in our order, then any others it has (a metadata metric such
    as ``YOUR_METRIC``); a row without a status counts as measured."""
    extra = [column for column in table.columns if column not in COLUMNS]
    normalized = table.reindex(columns=[*COLUMNS, *extra])
    normalized[STATUS] = normalized[STATUS].astype(object).fillna(STATUS_MEASURED)
    return normalized
