"""Measurements -> the result table: one row per (model, batch size), with its reductions.

Reductions are ``100 - 100 * pruned / unpruned``, against the model's baseline
(models/pairing.py: the unpruned model of the same architecture AND dataset, measured at the
same batch size): positive means the pruned model needs less. ``FPS Reduction (%)`` is
negative when the pruned model is faster. Baseline rows have reductions of 0 and, as in the
seed, ``GPR`` 0 and ``Pruning Distribution`` ``N/A``; rows without a baseline, and names
that follow neither naming convention, have empty reductions. The columns are schema.py's:
``MODEL_NAME`` and ``Baseline Model`` are file names, ``FLOPs`` fvcore's count of one batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..common.shapes import format_shape
from ..items.measurement import (
    ItemFailure,
    ItemKey,
    Measurement,
    baselines_of_measurements,
    disturbances_against,
)
from ..items.remeasure import remeasure_words
from ..items.runtimes import EAGER
from ..measure.latency import milliseconds_by_percentile
from ..measure.stats import reduction_ci95_points
from ..measure.window_stats import WindowStats
from ..models.naming import ModelName, parse_model_name
from ..models.pairing import baselines_of
from . import schema as col
from .schema import measured_rows, model_stem, text_or_blank, with_dtypes

# A row's energy gates, as the table shows them: the worst outcome, and every verdict's message
# (track/gates.py makes them).
GateCells = tuple[str, str]


def reduction_percent(pruned: float, unpruned: float) -> float:
    """``100 - 100 * pruned / unpruned``; NaN when the baseline value cannot divide."""
    if not math.isfinite(unpruned) or unpruned == 0 or not math.isfinite(pruned):
        return math.nan
    return 100.0 - 100.0 * pruned / unpruned


def build_table(
    measurements: Sequence[Measurement],
    failures: Sequence[ItemFailure],
    gates: Mapping[ItemKey, GateCells] | None = None,
) -> pd.DataFrame:
    """One row per measured or failed item (model, batch size, numeric format), in a
    deterministic order. ``gates``: the energy gates' outcome and messages per item
    (``Measurement.key``); rows without have an empty ``Gate``."""
    keyed_rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    baselines = baselines_of_measurements(measurements)
    for measurement, baseline in zip(measurements, baselines, strict=True):
        row = _measured_row(measurement, measurement.name, baseline)
        cells = (gates or {}).get(measurement.key)
        if cells is not None:
            row.update({col.GATE: cells[0], col.GATE_MESSAGE: cells[1]})
        sort_key = _sort_key(measurement.model, measurement.batch_size, measurement.name)
        keyed_rows.append(((*sort_key, measurement.variant or ""), row))
    for failure in failures:
        sort_key = _sort_key(failure.model, failure.batch_size, failure.name)
        variant = failure.variant or ""
        keyed_rows.append(((*sort_key, variant), _failure_row(failure, failure.name)))
    keyed_rows.sort(key=lambda keyed: keyed[0])
    table = pd.DataFrame([row for _, row in keyed_rows], columns=list(col.COLUMNS))
    return with_dtypes(table)


def build_run_table(table: pd.DataFrame) -> pd.DataFrame:
    """The run's metadata from the result table: per device and meter, the board's facts, its
    idle power, how many items it measured and the seconds spent measuring them (warm-up not
    included)."""
    measured = measured_rows(table.reindex(columns=list(col.COLUMNS)))
    keys = [col.DEVICE, col.METER, col.METER_DESCRIPTION]
    grouped = measured.groupby(keys, sort=True, dropna=False)
    run = grouped.agg(
        **{
            col.GPU: (col.GPU, "first"),
            col.DRIVER: (col.DRIVER, "first"),
            col.POWER_LIMIT_WATTS: (col.POWER_LIMIT_WATTS, "first"),
            col.IDLE_WATTS: (col.IDLE_WATTS, "first"),
            col.ITEMS_MEASURED: (col.MODEL_NAME, "size"),
            col.SECONDS_MEASURED: (col.SECONDS_MEASURED, "sum"),
        }
    )
    return run.reset_index().reindex(columns=list(col.RUN_COLUMNS))


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


def model_file_name(model: str, path: str) -> str:
    """An item's ``MODEL_NAME``: its file's name with the extension, as the seed names models,
    where the item is a model file's; else the item's own name (a folder problem's id)."""
    file = Path(path)
    return file.name if file.stem == model else model


def seed_flops(measurement: Measurement) -> int | None:
    """fvcore's count for one batch, the seed's ``FLOPs``; None where fvcore's is unknown."""
    if measurement.fvcore_flops is None:
        return None
    return measurement.fvcore_flops * measurement.batch_size


def name_columns(name: ModelName | None) -> dict[str, Any]:
    """What the name says; empty for a name that follows neither convention."""
    if name is None:
        return {}
    return {
        col.GPR: 0 if name.is_baseline else name.global_pruning_rate_percent,
        col.ARCHITECTURE: name.architecture,
        col.PRUNING_DISTRIBUTION: col.UNPRUNED_LABEL if name.is_baseline else name.pd_label,
        col.DATASET: name.dataset,
        col.METHOD: name.method,
        col.PD_SHAPE: name.pd_shape,
        col.SEED: name.seed,
        col.FINE_TUNED: name.fine_tuned,
    }


def reduction_columns(
    measurement: Measurement, name: ModelName | None, baseline: Measurement | None
) -> dict[str, Any]:
    """A measured row's reductions against its baseline (a baseline's own are 0), and the
    baseline's name; empty without a baseline."""
    if name is not None and name.is_baseline:  # against itself
        return {
            col.CR_PARAMETERS: 0.0,
            col.CR_FLOPS: 0.0,
            col.ENERGY_REDUCTION: 0.0,
            col.FPS_REDUCTION: 0.0,
            col.BASELINE_MODEL: model_file_name(measurement.model, measurement.path),
        }
    if baseline is None:
        return {}
    flops, baseline_flops = seed_flops(measurement), seed_flops(baseline)
    if flops is None or baseline_flops is None:  # counted before fvcore's count was kept
        flops, baseline_flops = measurement.macs, baseline.macs
    return {
        col.CR_PARAMETERS: reduction_percent(measurement.params, baseline.params),
        col.CR_FLOPS: reduction_percent(flops, baseline_flops),
        col.ENERGY_REDUCTION: reduction_percent(
            measurement.stats.joules_per_sample_mean, baseline.stats.joules_per_sample_mean
        ),
        col.FPS_REDUCTION: reduction_percent(
            measurement.stats.frames_per_second, baseline.stats.frames_per_second
        ),
        col.BASELINE_MODEL: model_file_name(baseline.model, baseline.path),
    }


def _measured_row(
    measurement: Measurement, name: ModelName | None, baseline: Measurement | None
) -> dict[str, Any]:
    stats = measurement.stats
    return {
        col.MODEL_NAME: model_file_name(measurement.model, measurement.path),
        col.BATCH_SIZE: measurement.batch_size,
        col.SECONDS_PER_SAMPLE: stats.seconds_per_sample_mean,
        col.FPS: stats.frames_per_second,
        col.SECONDS_PER_SAMPLE_STD: stats.seconds_per_sample_std,
        col.JOULES_PER_SAMPLE: stats.joules_per_sample_mean,
        col.JOULES_PER_SAMPLE_STD: stats.joules_per_sample_std,
        col.PARAMETERS: measurement.params,
        col.FLOPS_SEED: seed_flops(measurement),
        col.JOULES_PER_SAMPLE_CI95: stats.joules_per_sample_ci95,
        col.MACS: measurement.macs,
        col.FLOPS_PHYSICAL: measurement.flops,
        col.WINDOWS: stats.windows,
        col.SAMPLES_MEASURED: stats.samples_measured,
        col.SECONDS_MEASURED: stats.seconds_measured,
        col.METER: measurement.meter,
        col.METER_IS_ESTIMATE: measurement.meter_is_estimate,
        col.METER_DESCRIPTION: measurement.meter_description,
        col.DEVICE: measurement.device,
        col.INPUT_SHAPE: format_shape(measurement.input_shape),
        col.MODEL_PATH: measurement.path,
        col.STATUS: col.STATUS_MEASURED,
        col.DYNAMIC_JOULES_PER_SAMPLE: measurement.dynamic_joules_per_sample,
        col.IDLE_WATTS: measurement.idle_watts,
        col.PROTOCOL: stats.protocol,
        col.CI_TARGET_MET: stats.ci_target_met,
        col.STOP_REASON: stats.stop_reason,
        col.NAIVE_JOULES_PER_SAMPLE: stats.naive_joules_per_sample,
        col.METER_UPDATE_PERIOD_SECONDS: stats.update_period_seconds,
        **_board_columns(measurement),
        col.CUDA_GRAPH: measurement.cuda_graph,
        col.LOAD_SECONDS: measurement.load_seconds,
        col.WARMUP_SECONDS: stats.warmup_seconds,
        col.ITEM_SECONDS: measurement.item_seconds,
        col.ROUNDS: measurement.rounds,
        col.DTYPE: measurement.weights_dtype,
        col.CHANNELS_LAST: measurement.channels_last,
        col.ZERO_WEIGHTS: measurement.zero_weight_percent,
        col.UNALIGNED_X8: measurement.unaligned_x8_percent,
        col.UNALIGNED_X16: measurement.unaligned_x16_percent,
        col.UNALIGNED_X64: measurement.unaligned_x64_percent,
        col.RUNTIME: measurement.runtime or EAGER,
        col.COMPILE_SECONDS: measurement.compile_seconds,
        **latency_columns(stats),
        col.DISTURBANCES: "; ".join(disturbances_against(measurement, baseline)) or None,
        **remeasure_columns(measurement),
        **name_columns(name),
        **reduction_columns(measurement, name, baseline),
    }


def _board_columns(measurement: Measurement) -> dict[str, Any]:
    """The board the item ran on: which GPU, and its temperature and clock around the windows."""
    stats, gpu = measurement.stats, measurement.gpu
    return {
        col.TEMPERATURE_START_CELSIUS: stats.temperature_start_celsius,
        col.TEMPERATURE_END_CELSIUS: stats.temperature_end_celsius,
        col.SM_CLOCK_START_MHZ: stats.sm_clock_start_mhz,
        col.SM_CLOCK_END_MHZ: stats.sm_clock_end_mhz,
        col.GPU: None if gpu is None else gpu.name,
        col.DRIVER: None if gpu is None else gpu.driver,
        col.POWER_LIMIT_WATTS: None if gpu is None else gpu.power_limit_watts,
    }


def latency_columns(stats: WindowStats) -> dict[str, float | None]:
    """The time of one pass at p50, p90 and p99 in ms; None where it is not known."""
    columns = (col.LATENCY_P50_MS, col.LATENCY_P90_MS, col.LATENCY_P99_MS)
    milliseconds = milliseconds_by_percentile(stats.pass_time_percentiles).values()
    return dict(zip(columns, milliseconds, strict=True))


def remeasure_columns(measurement: Measurement) -> dict[str, Any]:
    """What a second measurement at the end of the run said (items/remeasure.py); empty cells
    where there was none."""
    record = measurement.remeasure
    if record is None:
        return {}
    return {
        col.REMEASURED: remeasure_words(measurement),
        col.SET_ASIDE_JOULES_PER_SAMPLE: record.set_aside_joules_per_sample,
        col.SET_ASIDE_JOULES_PER_SAMPLE_CI95: record.set_aside_joules_per_sample_ci95,
        col.SET_ASIDE_FPS: record.set_aside_frames_per_second,
    }


def _failure_row(failure: ItemFailure, name: ModelName | None) -> dict[str, Any]:
    return {
        col.MODEL_NAME: model_file_name(failure.model, failure.path),
        col.BATCH_SIZE: failure.batch_size,
        col.MODEL_PATH: failure.path,
        col.STATUS: col.STATUS_FAILED,
        col.ERROR: failure.reason,
        col.DTYPE: failure.dtype,
        col.RUNTIME: failure.runtime or EAGER,
        **name_columns(name),
    }


def baseline_row_labels(table: pd.DataFrame) -> pd.Series:
    """For each row, the index label of its baseline row in ``table`` (None where it has none):
    by ``Baseline Model`` where the table says it (ours), else paired by the models' names
    (models/pairing.py), as a seed tool's CSV needs."""
    models = table[col.MODEL_NAME].astype(str)
    # A pruned model is compared at its own batch size, in its own numeric format and runtime.
    sizes = pd.to_numeric(table[col.BATCH_SIZE], errors="coerce")
    dtypes, runtimes = (
        text_or_blank(table[column])
        if column in table.columns
        else pd.Series("", index=table.index)
        for column in (col.DTYPE, col.RUNTIME)
    )
    # A seed CSV, and ours from before runtimes, ran eagerly.
    runtimes = runtimes.replace("", EAGER)
    settings = list(zip(sizes, dtypes, runtimes, strict=True))
    setting = dict(zip(table.index, settings, strict=True))
    said = table[col.BASELINE_MODEL] if col.BASELINE_MODEL in table.columns else None
    if said is not None and said.notna().any():
        where = {
            (model, row_setting): label
            for label, model, row_setting in zip(table.index, models, settings, strict=True)
        }
        # Without --prune-dtypes a pruned file saved in another format than its baseline is
        # still compared with it (the plugin pairs by the format asked for, not the weights').
        where_any_format = {
            (model, row_setting[0], row_setting[2]): label
            for label, model, row_setting in zip(table.index, models, settings, strict=True)
        }
        found = [
            None
            if pd.isna(baseline)
            else where.get(
                (str(baseline), row_setting),
                where_any_format.get((str(baseline), row_setting[0], row_setting[2])),
            )
            for baseline, row_setting in zip(said, settings, strict=True)
        ]
        return pd.Series(found, index=table.index, dtype=object)
    labels = list(table.index)
    baselines = baselines_of(
        labels,
        name_of=lambda label: parse_model_name(model_stem(models[label])),
        stem_of=lambda label: models[label],
        setting_of=lambda label: setting[label],
    )
    return pd.Series(baselines, index=table.index, dtype=object)


def reduction_ci95_column(table: pd.DataFrame) -> pd.Series:
    """Each pruned row's energy-reduction 95 % CI half-width, in percentage points, against its
    baseline row (measure/stats.py's propagation); NaN for baselines, rows without a baseline,
    and where a CI is unknown (the seed tool's CSV has none)."""
    return reduction_spread_column(table, col.JOULES_PER_SAMPLE_CI95)


def reduction_spread_column(table: pd.DataFrame, spread_column: str) -> pd.Series:
    """``reduction_ci95_column`` for any spread of the energy per sample given as a half-width
    (``STD Energy per Sample (J)``, one standard deviation, for the seed tool's CSV): the
    propagation is the same for any independent half-widths."""
    joules = pd.to_numeric(table[col.JOULES_PER_SAMPLE], errors="coerce").to_numpy(float)
    spread = pd.to_numeric(table[spread_column], errors="coerce").to_numpy(float)
    position = {label: index for index, label in enumerate(table.index)}
    values = []
    for index, baseline in enumerate(baseline_row_labels(table)):
        other = None if baseline is None else position[baseline]
        values.append(
            math.nan
            if other is None or other == index
            else reduction_ci95_or_nan(joules[index], spread[index], joules[other], spread[other])
        )
    return pd.Series(values, index=table.index, dtype=float)


def reduction_ci95_or_nan(
    pruned_joules: float, pruned_ci95: float, baseline_joules: float, baseline_ci95: float
) -> float:
    """stats.reduction_ci95_points where every value is known and both energies positive."""
    values = (pruned_joules, pruned_ci95, baseline_joules, baseline_ci95)
    if not all(math.isfinite(value) for value in values):
        return math.nan
    if pruned_joules <= 0 or baseline_joules <= 0:
        return math.nan
    return reduction_ci95_points(pruned_joules, pruned_ci95, baseline_joules, baseline_ci95)
