"""Measurements -> one result table: reductions against the baseline, the CSV schema, a summary.

One row per (model, batch size). The first fifteen columns carry the seed tool's
(PruneEnergyAnalyzer) exact names and meanings, so notebooks written for its CSV keep working;
ours follow them.

FLOPs convention, read this before comparing numbers:

- ``FLOPs`` (seed column) keeps the seed's fvcore convention: one multiply-add counts as ONE
  FLOP, so it equals ``MACs``. Published PruneEnergyAnalyzer figures therefore compare with it.
- ``FLOPs (2 x MACs)`` is the physical count: a multiply-add is two floating-point operations.
- Both are per sample (a batch of one). The seed's CSV scaled its ``FLOPs`` with the batch
  size; the compression ratio ``CR (%) measured in FLOPs`` is the same either way, because a
  pruned model is only ever compared with its baseline at the same batch size.

Reductions are ``100 - 100 * pruned / unpruned``, against the unpruned model (``_UNPRUNED``) of
the same architecture AND dataset (case-insensitive) measured at the same batch size: positive
means the pruned model needs less. ``FPS Reduction (%)`` is negative when the pruned model is
faster. Baseline rows have reductions of 0 and, as in the seed, ``GPR`` 0 and ``Pruning
Distribution`` ``UNPRUNED``; rows without such a baseline, and names that follow neither naming
convention, have empty reductions.

Items that could not be measured are rows too (``Status`` ``failed``, ``Error`` the reason, the
numbers empty), so that a reader of the CSV sees which model failed and why.

Energy: ``Mean Energy per Sample (J)`` is gross, what the board drew, as MLPerf and ML.ENERGY
report it. ``Dynamic Energy per Sample (J)`` is gross less ``Idle Power (W)`` x ``Mean Time per
Sample (s)``; both are empty where idle power was not measured (estimates, or
``--energy-idle-seconds=0``). ``CI Target Met`` is empty for the seed protocol, which has no
target. ``Naive Two-Read Energy per Sample (J)`` is what two meter reads bracketing the run give.

The run's metadata (``build_run_table``) has a row per device: its meter, GPU facts, idle power,
and the items and seconds it measured.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .files import write_atomically
from .labels import shorten_end, shorten_middle, shorten_names
from .measurement import ItemFailure, Measurement, WindowStats, format_shape
from .naming import ModelName, parse_model_name
from .thresholds import PASS, Verdict, worst_outcome

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
FLOPS_PHYSICAL = "FLOPs (2 x MACs)"
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

SEED_COLUMNS: tuple[str, ...] = (
    MODEL_NAME,
    BATCH_SIZE,
    SECONDS_PER_SAMPLE,
    FPS,
    SECONDS_PER_SAMPLE_STD,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_STD,
    PARAMETERS,
    FLOPS_SEED,
    GPR,
    ARCHITECTURE,
    PRUNING_DISTRIBUTION,
    CR_PARAMETERS,
    CR_FLOPS,
    ENERGY_REDUCTION,
)
EXTRA_COLUMNS: tuple[str, ...] = (
    JOULES_PER_SAMPLE_CI95,
    FPS_REDUCTION,
    MACS,
    FLOPS_PHYSICAL,
    DATASET,
    METHOD,
    PD_SHAPE,
    SEED,
    FINE_TUNED,
    BASELINE_MODEL,
    WINDOWS,
    SAMPLES_MEASURED,
    SECONDS_MEASURED,
    METER,
    METER_IS_ESTIMATE,
    METER_DESCRIPTION,
    DEVICE,
    INPUT_SHAPE,
    MODEL_PATH,
    STATUS,
    ERROR,
    # Added later, so after the columns earlier CSVs had: scripts that index by position keep
    # working.
    DYNAMIC_JOULES_PER_SAMPLE,
    IDLE_WATTS,
    PROTOCOL,
    CI_TARGET_MET,
    NAIVE_JOULES_PER_SAMPLE,
    METER_UPDATE_PERIOD_SECONDS,
    TEMPERATURE_START_CELSIUS,
    TEMPERATURE_END_CELSIUS,
    SM_CLOCK_START_MHZ,
    SM_CLOCK_END_MHZ,
    GPU,
    DRIVER,
    POWER_LIMIT_WATTS,
    GATE,
    GATE_MESSAGE,
    CUDA_GRAPH,
)
COLUMNS: tuple[str, ...] = SEED_COLUMNS + EXTRA_COLUMNS

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
# The seed's label for an unpruned model in its ``Pruning Distribution`` column.
UNPRUNED_LABEL = "UNPRUNED"

# Nullable dtypes, so that a failed row's empty numbers do not turn counts into floats.
_INTEGER_COLUMNS = (
    BATCH_SIZE,
    PARAMETERS,
    FLOPS_SEED,
    MACS,
    FLOPS_PHYSICAL,
    SEED,
    WINDOWS,
)
_BOOLEAN_COLUMNS = (FINE_TUNED, METER_IS_ESTIMATE, CI_TARGET_MET)
_FLOAT_COLUMNS = (
    SECONDS_PER_SAMPLE,
    FPS,
    SECONDS_PER_SAMPLE_STD,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_STD,
    GPR,
    CR_PARAMETERS,
    CR_FLOPS,
    ENERGY_REDUCTION,
    JOULES_PER_SAMPLE_CI95,
    FPS_REDUCTION,
    # Fractional: a window edge may fall inside a pass, which then counts in part.
    SAMPLES_MEASURED,
    SECONDS_MEASURED,
    DYNAMIC_JOULES_PER_SAMPLE,
    IDLE_WATTS,
    NAIVE_JOULES_PER_SAMPLE,
    METER_UPDATE_PERIOD_SECONDS,
    TEMPERATURE_START_CELSIUS,
    TEMPERATURE_END_CELSIUS,
    SM_CLOCK_START_MHZ,
    SM_CLOCK_END_MHZ,
    POWER_LIMIT_WATTS,
)

SUMMARY_MODEL_WIDTH = 40
SUMMARY_WIDTH = 120
# Marks an estimated meter in the summary table and begins the warning that explains it.
ESTIMATE_MARK = "!!"
# Marks, after the CI, an item whose CI did not reach its target before the time cap.
CI_TARGET_MISSED_MARK = "~"


def reduction_percent(pruned: float, unpruned: float) -> float:
    """``100 - 100 * pruned / unpruned``; NaN when the baseline value cannot divide."""
    if not math.isfinite(unpruned) or unpruned == 0 or not math.isfinite(pruned):
        return math.nan
    return 100.0 - 100.0 * pruned / unpruned


def ci_target_met(stats: WindowStats) -> bool | None:
    """Whether the CI reached its target before the time cap; None for the seed protocol,
    which runs a fixed number of trials and has no target."""
    if stats.protocol == "seed":
        return None
    return stats.converged


def power_limit_watts(gpu_facts: dict[str, str]) -> float | None:
    """The meter's ``power_limit_watts`` fact as a number; None where it gave none."""
    try:
        return float(gpu_facts["power_limit_watts"])
    except (KeyError, ValueError):
        return None


def build_table(
    measurements: list[Measurement],
    failures: list[ItemFailure],
    gates: Mapping[tuple[str, int], Sequence[Verdict]] | None = None,
) -> pd.DataFrame:
    """One row per measured or failed (model, batch size), in a deterministic order.
    ``gates``: the energy gates' verdicts per (model, batch size); rows without any have an
    empty ``Gate``."""
    keyed_rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    baselines = _baselines_by_group_and_batch(measurements)
    for measurement in measurements:
        name = parse_model_name(measurement.model)
        baseline = _baseline_for(name, measurement.batch_size, baselines)
        row = _measured_row(measurement, name, baseline)
        verdicts = (gates or {}).get((measurement.model, measurement.batch_size), ())
        row.update(_gate_columns(verdicts))
        keyed_rows.append((_sort_key(measurement.model, measurement.batch_size, name), row))
    for failure in failures:
        name = parse_model_name(failure.model)
        row = _failure_row(failure, name)
        keyed_rows.append((_sort_key(failure.model, failure.batch_size, name), row))
    keyed_rows.sort(key=lambda keyed: keyed[0])
    table = pd.DataFrame([row for _, row in keyed_rows], columns=list(COLUMNS))
    return _with_dtypes(table)


def baseline_measurements(
    measurements: list[Measurement],
) -> dict[tuple[str, int], Measurement]:
    """Each pruned measurement's baseline by (model, batch size): the pairing that
    ``Energy Reduction (%)`` uses. Baselines and models without one are left out."""
    baselines = _baselines_by_group_and_batch(measurements)
    paired = {}
    for measurement in measurements:
        name = parse_model_name(measurement.model)
        baseline = _baseline_for(name, measurement.batch_size, baselines)
        if name is not None and not name.is_baseline and baseline is not None:
            paired[(measurement.model, measurement.batch_size)] = baseline
    return paired


def build_run_table(table: pd.DataFrame) -> pd.DataFrame:
    """The run's metadata from the result table: per device and meter, the board's facts, its
    idle power, how many items it measured and the seconds spent measuring them (warm-up not
    included)."""
    measured = measured_rows(table.reindex(columns=list(COLUMNS)))
    keys = [DEVICE, METER, METER_DESCRIPTION]
    grouped = measured.groupby(keys, sort=True, dropna=False)
    run = grouped.agg(
        **{
            GPU: (GPU, "first"),
            DRIVER: (DRIVER, "first"),
            POWER_LIMIT_WATTS: (POWER_LIMIT_WATTS, "first"),
            IDLE_WATTS: (IDLE_WATTS, "first"),
            ITEMS_MEASURED: (MODEL_NAME, "size"),
            SECONDS_MEASURED: (SECONDS_MEASURED, "sum"),
        }
    )
    return run.reset_index().reindex(columns=list(RUN_COLUMNS))


def measured_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows that hold numbers: not failed (a table without ``Status`` counts as measured)."""
    if STATUS not in table.columns:
        return table
    return table[table[STATUS].astype(str) != STATUS_FAILED]


def estimate_mask(table: pd.DataFrame) -> pd.Series:
    """True where the row's energy is an estimate; robust to a table read back from CSV."""
    if METER_IS_ESTIMATE not in table.columns:
        return pd.Series(False, index=table.index)
    return table[METER_IS_ESTIMATE].map(_is_true).astype(bool)


def write_csv(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``path`` atomically: readers see the old file or the whole new one."""
    return write_atomically(Path(path), lambda handle: table.to_csv(handle, index=False))


def summary_lines(table: pd.DataFrame) -> list[str]:
    """A terminal summary: a fixed-width row per measured item, then estimates and failures."""
    # Missing columns (a seed-tool CSV, say) read as empty rather than fail the summary.
    complete = table.reindex(columns=list(COLUMNS))
    measured = measured_rows(complete)
    lines = [_summary_header(), "-" * len(_summary_header())]
    labels = shorten_names(measured[MODEL_NAME].astype(str), SUMMARY_MODEL_WIDTH)
    lines.extend(_summary_row(row, labels) for _, row in measured.iterrows())
    if measured.empty:
        lines.append("(no item was measured)")
    if measured[CI_TARGET_MET].map(_is_false).any():
        lines.append(
            f"{CI_TARGET_MISSED_MARK} CI target (--energy-target-ci) not met before the time cap "
            "(--energy-max-seconds); a longer cap narrows the CI"
        )
    lines.extend(_host_bound_lines(measured))
    lines.extend(_seed_protocol_lines(measured))
    lines.extend(_cross_device_lines(measured))
    lines.extend(_estimate_warnings(measured))
    lines.extend(_idle_power_lines(measured))
    failed = complete[complete[STATUS].astype(str) == STATUS_FAILED]
    for _, row in failed.iterrows():
        lines.extend(_failure_lines(row))
    return lines


def _baselines_by_group_and_batch(
    measurements: list[Measurement],
) -> dict[tuple[tuple[str, str], int], Measurement]:
    """The unpruned measurement per (group key, batch size); ties go to the first in sort order."""
    candidates = []
    for measurement in measurements:
        name = parse_model_name(measurement.model)
        if name is not None and name.is_baseline:
            key = _sort_key(measurement.model, measurement.batch_size, name)
            candidates.append((key, name.group_key, measurement))
    candidates.sort(key=lambda candidate: candidate[0])
    baselines: dict[tuple[tuple[str, str], int], Measurement] = {}
    for _, group_key, measurement in candidates:
        baselines.setdefault((group_key, measurement.batch_size), measurement)
    return baselines


def _baseline_for(
    name: ModelName | None,
    batch_size: int,
    baselines: dict[tuple[tuple[str, str], int], Measurement],
) -> Measurement | None:
    if name is None:
        return None
    return baselines.get((name.group_key, batch_size))


def _sort_key(model: str, batch_size: int | None, name: ModelName | None) -> tuple[Any, ...]:
    """(architecture, dataset, baseline first, PD, GPR, seed, model, batch size).

    Unparseable names come after every group; a missing seed or batch size sorts first/last.
    """
    batch_key = (batch_size is None, batch_size or 0)
    if name is None:
        return (1, "", "", 0, 0, 0.0, (False, 0), model, batch_key)
    return (
        0,
        name.architecture.casefold(),
        name.dataset.casefold(),
        0 if name.is_baseline else 1,
        name.pruning_distribution or 0,
        float(name.global_pruning_rate_percent or 0),
        (name.seed is not None, name.seed or 0),
        model,
        batch_key,
    )


def _group_columns(name: ModelName | None) -> dict[str, Any]:
    """What the name says; empty for a name that follows neither convention."""
    if name is None:
        return {}
    return {
        GPR: 0 if name.is_baseline else name.global_pruning_rate_percent,
        ARCHITECTURE: name.architecture,
        PRUNING_DISTRIBUTION: UNPRUNED_LABEL if name.is_baseline else name.pd_label,
        DATASET: name.dataset,
        METHOD: name.method,
        PD_SHAPE: name.pd_shape,
        SEED: name.seed,
        FINE_TUNED: name.fine_tuned,
    }


def _reduction_columns(
    measurement: Measurement, name: ModelName | None, baseline: Measurement | None
) -> dict[str, Any]:
    if name is not None and name.is_baseline:
        return {
            CR_PARAMETERS: 0.0,
            CR_FLOPS: 0.0,
            ENERGY_REDUCTION: 0.0,
            FPS_REDUCTION: 0.0,
            BASELINE_MODEL: measurement.model,
        }
    if baseline is None:
        return {}
    return {
        CR_PARAMETERS: reduction_percent(measurement.params, baseline.params),
        CR_FLOPS: reduction_percent(measurement.macs, baseline.macs),
        ENERGY_REDUCTION: reduction_percent(
            measurement.stats.joules_per_sample_mean, baseline.stats.joules_per_sample_mean
        ),
        FPS_REDUCTION: reduction_percent(
            measurement.stats.frames_per_second, baseline.stats.frames_per_second
        ),
        BASELINE_MODEL: baseline.model,
    }


def _measured_row(
    measurement: Measurement, name: ModelName | None, baseline: Measurement | None
) -> dict[str, Any]:
    stats = measurement.stats
    return {
        MODEL_NAME: measurement.model,
        BATCH_SIZE: measurement.batch_size,
        SECONDS_PER_SAMPLE: stats.seconds_per_sample_mean,
        FPS: stats.frames_per_second,
        SECONDS_PER_SAMPLE_STD: stats.seconds_per_sample_std,
        JOULES_PER_SAMPLE: stats.joules_per_sample_mean,
        JOULES_PER_SAMPLE_STD: stats.joules_per_sample_std,
        PARAMETERS: measurement.params,
        FLOPS_SEED: measurement.macs,  # the seed's convention: 1 multiply-add = 1 FLOP
        JOULES_PER_SAMPLE_CI95: stats.joules_per_sample_ci95,
        MACS: measurement.macs,
        FLOPS_PHYSICAL: measurement.flops,
        WINDOWS: stats.windows,
        SAMPLES_MEASURED: stats.samples_measured,
        SECONDS_MEASURED: stats.seconds_measured,
        METER: measurement.meter,
        METER_IS_ESTIMATE: measurement.meter_is_estimate,
        METER_DESCRIPTION: measurement.meter_description,
        DEVICE: measurement.device,
        INPUT_SHAPE: format_shape(measurement.input_shape),
        MODEL_PATH: measurement.path,
        STATUS: STATUS_MEASURED,
        DYNAMIC_JOULES_PER_SAMPLE: measurement.dynamic_joules_per_sample,
        IDLE_WATTS: measurement.idle_watts,
        PROTOCOL: stats.protocol,
        CI_TARGET_MET: ci_target_met(stats),
        NAIVE_JOULES_PER_SAMPLE: stats.naive_joules_per_sample,
        METER_UPDATE_PERIOD_SECONDS: stats.update_period_seconds,
        TEMPERATURE_START_CELSIUS: stats.temperature_start_celsius,
        TEMPERATURE_END_CELSIUS: stats.temperature_end_celsius,
        SM_CLOCK_START_MHZ: stats.sm_clock_start_mhz,
        SM_CLOCK_END_MHZ: stats.sm_clock_end_mhz,
        GPU: measurement.gpu_facts.get("gpu_name"),
        DRIVER: measurement.gpu_facts.get("driver"),
        POWER_LIMIT_WATTS: power_limit_watts(measurement.gpu_facts),
        CUDA_GRAPH: measurement.cuda_graph,
        **_group_columns(name),
        **_reduction_columns(measurement, name, baseline),
    }


def _gate_columns(verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """The worst outcome, and what every verdict found, failures first."""
    if not verdicts:
        return {}
    ordered = sorted(verdicts, key=lambda verdict: verdict.outcome == PASS)
    return {
        GATE: worst_outcome(verdicts),
        GATE_MESSAGE: "; ".join(verdict.message for verdict in ordered),
    }


def _failure_row(failure: ItemFailure, name: ModelName | None) -> dict[str, Any]:
    return {
        MODEL_NAME: failure.model,
        BATCH_SIZE: failure.batch_size,
        MODEL_PATH: failure.path,
        STATUS: STATUS_FAILED,
        ERROR: failure.reason,
        **_group_columns(name),
    }


def _with_dtypes(table: pd.DataFrame) -> pd.DataFrame:
    dtypes: dict[str, str] = {column: "Int64" for column in _INTEGER_COLUMNS}
    dtypes.update({column: "boolean" for column in _BOOLEAN_COLUMNS})
    dtypes.update({column: "float64" for column in _FLOAT_COLUMNS})
    return table.astype(dtypes)


def _summary_header() -> str:
    return (
        f"{'model':<{SUMMARY_MODEL_WIDTH}} {'bs':>4}  {'J/sample ± CI95':>21}   {'FPS':>9}  "
        f"{'E red %':>7}  {'FLOPs CR %':>10}  meter"
    )


def _summary_row(row: pd.Series, labels: dict[str, str]) -> str:
    model = labels[str(row[MODEL_NAME])]
    energy = _number(row[JOULES_PER_SAMPLE], "#.4g")
    ci95 = _number(row[JOULES_PER_SAMPLE_CI95], ".2g")
    if ci95 != "-":
        energy += f" ± {ci95}"
    missed = CI_TARGET_MISSED_MARK if _is_false(row[CI_TARGET_MET]) else " "
    meter = "-" if pd.isna(row[METER]) else str(row[METER])
    if _is_true(row[METER_IS_ESTIMATE]):
        meter += f" {ESTIMATE_MARK}"
    return (
        f"{model:<{SUMMARY_MODEL_WIDTH}} {_number(row[BATCH_SIZE], 'd'):>4}  {energy:>21}{missed}  "
        f"{_number(row[FPS], '.1f'):>9}  {_number(row[ENERGY_REDUCTION], '.1f'):>7}  "
        f"{_number(row[CR_FLOPS], '.1f'):>10}  {meter}"
    )


def _is_true(value: Any) -> bool:
    """True for True in any of its forms: bool, numpy bool, pandas boolean, "True" from a CSV."""
    return str(value).casefold() == "true"


def _is_false(value: Any) -> bool:
    """False in any of its forms; an empty value (NA, NaN, None) is neither true nor false."""
    return str(value).casefold() == "false"


def _number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; ``-`` where the table has no number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(number):
        return "-"
    return format(int(number), spec) if spec == "d" else format(number, spec)


def _estimate_warnings(measured: pd.DataFrame) -> list[str]:
    """One loud line per (device, meter description) whose energy was estimated."""
    estimated = measured[estimate_mask(measured)]
    pairs = estimated.reindex(columns=[DEVICE, METER_DESCRIPTION]).astype(str).drop_duplicates()
    lines = []
    for device, description in pairs.itertuples(index=False):
        # Two lines, so that a long meter description does not push the width past ~120.
        lines.append(
            f"{ESTIMATE_MARK} ESTIMATED energy: no energy counter readable on {device}; "
            "figures are not measurements:"
        )
        lines.append(f"{ESTIMATE_MARK}   {description}")
    return lines


# Throughput that varies more than this between windows (std of their time per sample over
# its mean) means the host set the pace: on an H200 it varied 1.5-21 % between the windows of
# eager batch-1 items and 0.01-0.35 % for GPU-bound ones, batch 8 to 64
# (docs/benchmarks/ci-calibration-h200.jsonl).
HOST_BOUND_DRIFT_FRACTION = 0.02


def throughput_drift_fraction(row: pd.Series) -> float:
    """How much the time per sample varied between an item's windows, relative to its mean."""
    mean = pd.to_numeric(row.get(SECONDS_PER_SAMPLE), errors="coerce")
    std = pd.to_numeric(row.get(SECONDS_PER_SAMPLE_STD), errors="coerce")
    if not (mean > 0) or pd.isna(std):
        return math.nan
    return float(std / mean)


def metered_on_gpu(measured: pd.DataFrame) -> pd.Series:
    """True where a row was measured on a CUDA device by a meter, not estimated."""
    return measured[DEVICE].astype(str).str.startswith("cuda") & ~estimate_mask(measured)


def _host_bound_lines(measured: pd.DataFrame) -> list[str]:
    """Where eager items on a GPU ran at the host's pace, say so, and what to compare instead.

    A launch-bound pass leaves the GPU idle between kernels, so its gross energy per sample is
    mostly idle power times a duration the host sets, and drifts with the host's speed from
    run to run; the dynamic energy, and a pass replayed as a CUDA graph, do not.
    """
    # On a CPU the host is the device: its pace is the workload's, and there are no graphs.
    # An estimate's short windows scatter for reasons of its own; it has its own warning.
    adaptive = measured[metered_on_gpu(measured) & (measured[PROTOCOL].astype(str) == "adaptive")]
    eager = adaptive[~adaptive[CUDA_GRAPH].map(_is_true).astype(bool)]
    drift = eager.apply(throughput_drift_fraction, axis=1) if len(eager) else pd.Series(dtype=float)
    host_bound = eager[drift > HOST_BOUND_DRIFT_FRACTION]
    if host_bound.empty:
        return []
    percents = 100 * drift[host_bound.index]
    worst = host_bound.loc[percents.idxmax()]
    items = "1 item" if len(host_bound) == 1 else f"{len(host_bound)} items"
    span = (
        f"{percents.max():.1f} %"
        if len(host_bound) == 1
        else f"{percents.min():.1f}-{percents.max():.1f} %"
    )
    name = shorten_middle(str(worst[MODEL_NAME]), 40)
    return [
        f"host-bound: {items} ran at the host's pace, throughput varying {span} between windows",
        f"  (most: {name} at batch {_number(worst[BATCH_SIZE], 'd')}); their gross energy "
        "follows the host's speed:",
        "  compare their Dynamic Energy per Sample, or measure with --energy-cuda-graphs",
    ]


def _seed_protocol_lines(measured: pd.DataFrame) -> list[str]:
    """Where GPU items ran the seed protocol, say what its CI does not cover.

    Each trial reads the coarse counter twice, missing the energy since its last update each
    time. Trials that keep one phase against those updates miss alike, so they can agree with
    each other and still be off: on an H200, seed runs whose trials scattered 0.3-0.45 % sat
    0.65-4 % from the adaptive protocol's figure, outside their own CIs
    (docs/benchmarks/seed-phase.md).
    """
    seed = measured[metered_on_gpu(measured) & (measured[PROTOCOL].astype(str) == "seed")]
    if seed.empty:
        return []
    items = "1 item" if len(seed) == 1 else f"{len(seed)} items"
    return [
        f"seed protocol: {items}; its CI covers one run's trials, which can agree with each "
        "other and still be",
        "  several % off (trials keeping one phase against the meter's updates miss alike): to "
        "compare models,",
        "  measure with --energy-protocol=adaptive (docs/measurement.md)",
    ]


def _cross_device_lines(measured: pd.DataFrame) -> list[str]:
    """Where a reduction sets a model against a baseline measured on another device: two
    boards of one model differ by several percent (two H200s: up to 7 % on the same rows), so
    such a reduction mixes the model's effect with the boards'."""
    device_of = {
        (str(row[MODEL_NAME]), row[BATCH_SIZE]): str(row[DEVICE]) for _, row in measured.iterrows()
    }
    crossed = []
    for _, row in measured.iterrows():
        baseline = device_of.get((str(row[BASELINE_MODEL]), row[BATCH_SIZE]))
        if baseline is not None and baseline != str(row[DEVICE]):
            crossed.append((row, baseline))
    if not crossed:
        return []
    row, baseline = crossed[0]
    count = "1 reduction sets" if len(crossed) == 1 else f"{len(crossed)} reductions set"
    name = shorten_middle(str(row[MODEL_NAME]), 40)
    return [
        shorten_end(
            f"cross-device: {count} a model against a baseline measured on another device "
            "(boards differ by several %)",
            SUMMARY_WIDTH,
        ),
        shorten_end(
            f"  (e.g. {name} at batch {_number(row[BATCH_SIZE], 'd')}: {row[DEVICE]} against "
            f"{baseline})",
            SUMMARY_WIDTH,
        ),
        "  measure each family on one device (under pytest-xdist: --dist loadgroup)",
    ]


def _idle_power_lines(measured: pd.DataFrame) -> list[str]:
    """One line per device: the idle power that dynamic energy subtracts, or that there is none."""
    lines = []
    for device, rows in measured.groupby(DEVICE, sort=False):
        watts = rows[IDLE_WATTS].dropna()
        idle = f"{float(watts.iloc[0]):.1f} W" if len(watts) else "not measured"
        lines.append(shorten_end(f"idle power, {device}: {idle}", SUMMARY_WIDTH))
    return lines


def _failure_lines(row: pd.Series) -> list[str]:
    """``FAILED model (bs N): reason``, wrapped rather than cut: the cause of a failure often
    comes at the end of its reason."""
    reason = ("" if pd.isna(row[ERROR]) else str(row[ERROR])).strip().splitlines()
    batch = _number(row[BATCH_SIZE], "d")
    where = f" (bs {batch})" if batch != "-" else ""
    line = f"FAILED {row[MODEL_NAME]}{where}: {reason[0] if reason else 'no reason given'}"
    return textwrap.wrap(
        line, SUMMARY_WIDTH, subsequent_indent="  ", break_long_words=True, break_on_hyphens=False
    )
