"""The terminal table, printed at the end of a run: a fixed-width row per measured item, then
what the reader must know about them (CI targets missed, host-bound items, the seed protocol's
CI, cross-device reductions, estimates, idle power) and the failures.

Models are named by stem (the file name without its extension, as pytest's item ids and the
gates name them), although the CSV's ``MODEL_NAME`` is the file name."""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..items.numerics import DTYPE_TAGS
from ..measure.window_stats import STOP_OUT_OF_REACH, STOP_TARGET, STOP_TIME_CAP
from . import schema as col
from .doubts import doubt_lines, said_rows
from .labels import TERMINAL_WIDTH, shorten_end, shorten_middle, shorten_names
from .schema import estimate_mask, is_false, is_true, measured_rows, model_stem

TERMINAL_MODEL_WIDTH = 40
# Under --prune-dtypes, each row's numeric format as item ids tag it (``bf16``), in a column
# whose width the model column gives up, so that rows keep within TERMINAL_WIDTH.
DTYPE_COLUMN_WIDTH = 6
# Likewise under --prune-runtimes, each row's runtime (eager, compile).
RUNTIME_COLUMN_WIDTH = 8
# Marks an estimated meter in the terminal's table and begins the warning that explains it.
ESTIMATE_MARK = "!!"
# Marks, after the CI, an item whose CI did not reach its target before the time cap.
CI_TARGET_MISSED_MARK = "~"


@dataclass(frozen=True)
class VariantColumns:
    """What sets apart rows of one model and batch size, each in a column of its own where the
    run measured several: the numeric format (--prune-dtypes), the runtime (--prune-runtimes)."""

    dtypes: bool = False
    runtimes: bool = False

    @property
    def model_width(self) -> int:
        widths = DTYPE_COLUMN_WIDTH * self.dtypes + RUNTIME_COLUMN_WIDTH * self.runtimes
        return TERMINAL_MODEL_WIDTH - widths

    def header(self) -> str:
        dtype = f" {'dtype':<{DTYPE_COLUMN_WIDTH - 1}}" if self.dtypes else ""
        runtime = f" {'runtime':<{RUNTIME_COLUMN_WIDTH - 1}}" if self.runtimes else ""
        return dtype + runtime

    def cells(self, row: pd.Series) -> str:
        dtype = _dtype_cell(row) if self.dtypes else ""
        if not self.runtimes:
            return dtype
        runtime = row[col.RUNTIME]
        name = "-" if pd.isna(runtime) or not str(runtime) else str(runtime)
        return f"{dtype} {name:<{RUNTIME_COLUMN_WIDTH - 1}}"


def terminal_table_lines(
    table: pd.DataFrame, *, variants: VariantColumns = VariantColumns()
) -> list[str]:
    """The terminal's table: a fixed-width row per measured item, then estimates and failures.
    ``variants``: the columns that tell apart rows of one model and batch size."""
    # Missing columns (a seed-tool CSV, say) read as empty rather than fail the table.
    complete = table.reindex(columns=list(col.COLUMNS))
    measured = measured_rows(complete)
    header = _header(variants)
    lines = [header, "-" * len(header)]
    labels = shorten_names(
        measured[col.MODEL_NAME].astype(str).map(model_stem), variants.model_width
    )
    lines.extend(_row(row, labels, variants) for _, row in measured.iterrows())
    if measured.empty:
        lines.append("(no item was measured)")
    lines.extend(_ci_missed_lines(measured))
    lines.extend(_host_bound_lines(measured))
    lines.extend(_seed_protocol_lines(measured))
    lines.extend(_cross_device_lines(measured))
    lines.extend(_estimate_warnings(measured))
    lines.extend(model_notes(measured))
    lines.extend(doubt_lines(measured))
    lines.extend(_idle_power_lines(measured))
    failed = complete[complete[col.STATUS].astype(str) == col.STATUS_FAILED]
    for _, row in failed.iterrows():
        lines.extend(_failure_lines(row))
    return lines


def _ci_missed_lines(measured: pd.DataFrame) -> list[str]:
    """What the ``~`` mark means, with how many items missed the target for which reason
    (``Stop Reason``; rounds that stopped for both count under each)."""
    missed = measured[measured[col.CI_TARGET_MET].map(is_false)]
    if missed.empty:
        return []
    reasons = (
        col.text_or_blank(missed[col.STOP_REASON])
        if col.STOP_REASON in missed
        else pd.Series("", index=missed.index)
    )
    rounds = (
        pd.to_numeric(missed[col.ROUNDS], errors="coerce").fillna(1)
        if col.ROUNDS in missed
        else pd.Series(1, index=missed.index)
    )
    met_at_stop = reasons.eq(STOP_TARGET)
    counts = [
        (col.stopped_for(reasons, STOP_OUT_OF_REACH).sum(), "out of its reach, stopped early"),
        (
            col.stopped_for(reasons, STOP_TIME_CAP).sum(),
            "at the time cap (--energy-max-seconds)",
        ),
        # Each round met it; the rounds' scatter about each other widened the combined CI.
        ((met_at_stop & (rounds > 1)).sum(), "met it round by round, not combined"),
        # The check that stopped it saw the target met; what came after that check (the
        # passes still queued, the counter's last read) ends in the final windows, whose CI
        # is the one reported and judged.
        (
            (met_at_stop & (rounds <= 1)).sum(),
            "met it when it stopped, not over its final windows",
        ),
        (reasons.eq("").sum(), "for a reason not recorded"),
    ]
    said = "; ".join(f"{_item_count(n)} {why}" for n, why in counts if n)
    return [
        f"{CI_TARGET_MISSED_MARK} CI target (--energy-target-ci) not met: {said}; "
        "a longer cap narrows the CI"
    ]


def _item_count(count: int) -> str:
    """``1 item``, ``3 items``."""
    return "1 item" if count == 1 else f"{count} items"


def _header(variants: VariantColumns) -> str:
    return (
        f"{'model':<{variants.model_width}} {'bs':>4}{variants.header()}  "
        f"{'J/sample ± CI95':>19}   "
        f"{'FPS':>8}  {'p99 ms':>6}  {'E red %':>7}  {'FLOPs CR %':>10}  meter"
    )


def _dtype_cell(row: pd.Series) -> str:
    dtype = row[col.DTYPE]
    name = "-" if pd.isna(dtype) or not str(dtype) else str(dtype)
    return f" {DTYPE_TAGS.get(name, name):<{DTYPE_COLUMN_WIDTH - 1}}"


def _row(row: pd.Series, labels: dict[str, str], variants: VariantColumns) -> str:
    model = labels[_stem(row)]
    energy = _number(row[col.JOULES_PER_SAMPLE], "#.4g")
    ci95 = _number(row[col.JOULES_PER_SAMPLE_CI95], ".2g")
    if ci95 != "-":
        energy += f" ± {ci95}"
    missed = CI_TARGET_MISSED_MARK if is_false(row[col.CI_TARGET_MET]) else " "
    meter = "-" if pd.isna(row[col.METER]) else str(row[col.METER])
    if is_true(row[col.METER_IS_ESTIMATE]):
        meter += f" {ESTIMATE_MARK}"
    return (
        f"{model:<{variants.model_width}} {_number(row[col.BATCH_SIZE], 'd'):>4}"
        f"{variants.cells(row)}  "
        f"{energy:>19}{missed}  "
        f"{_number(row[col.FPS], '.1f'):>8}  {_milliseconds(row[col.LATENCY_P99_MS]):>6}  "
        f"{_number(row[col.ENERGY_REDUCTION], '.1f'):>7}  "
        f"{_number(row[col.CR_FLOPS], '.1f'):>10}  {meter}"
    )


def _milliseconds(value: Any) -> str:
    """Three significant figures, without an exponent below 10 s: 0.95, 12.4, 1234."""
    text = _number(value, ".3g")
    if text == "-" or float(value) < 1000:
        return text
    return _number(value, ".0f")


def _stem(row: pd.Series) -> str:
    return model_stem(str(row[col.MODEL_NAME]))


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
    pairs = (
        estimated.reindex(columns=[col.DEVICE, col.METER_DESCRIPTION]).astype(str).drop_duplicates()
    )
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
# its mean) means the host set the pace: eager batch-1 items vary far more than this between
# windows, GPU-bound ones far less (measured: docs/benchmarks/ci-calibration/).
HOST_BOUND_DRIFT_FRACTION = 0.02


def throughput_drift_fraction(row: pd.Series) -> float:
    """How much the time per sample varied between an item's windows, relative to its mean."""
    mean = pd.to_numeric(row.get(col.SECONDS_PER_SAMPLE), errors="coerce")
    std = pd.to_numeric(row.get(col.SECONDS_PER_SAMPLE_STD), errors="coerce")
    if not (mean > 0) or pd.isna(std):
        return math.nan
    return float(std / mean)


def metered_on_gpu(measured: pd.DataFrame) -> pd.Series:
    """True where a row was measured on a CUDA device by a meter, not estimated."""
    return measured[col.DEVICE].astype(str).str.startswith("cuda") & ~estimate_mask(measured)


def host_paced(measured: pd.DataFrame) -> pd.Series:
    """True for each eager item of the adaptive protocol metered on a GPU whose time per sample
    varied between its windows by more than ``HOST_BOUND_DRIFT_FRACTION``: it ran at the host's
    pace (the terminal's ``host-bound`` line). None in a table that does not say where and how
    its items ran (the seed's forms)."""
    # On a CPU the host is the device: its pace is the workload's, and there are no graphs.
    # An estimate's short windows scatter for reasons of its own; it has its own warning.
    said = all(column in measured for column in (col.DEVICE, col.PROTOCOL, col.CUDA_GRAPH))
    if measured.empty or not said:
        return pd.Series(False, index=measured.index, dtype=bool)
    adaptive = metered_on_gpu(measured) & (measured[col.PROTOCOL].astype(str) == "adaptive")
    eager = adaptive & ~measured[col.CUDA_GRAPH].map(is_true).astype(bool)
    drift = measured.apply(throughput_drift_fraction, axis=1)
    return eager & (drift > HOST_BOUND_DRIFT_FRACTION)


def _host_bound_lines(measured: pd.DataFrame) -> list[str]:
    """Where eager items on a GPU ran at the host's pace, say so, and what to compare instead.

    A launch-bound pass leaves the GPU idle between kernels, so its gross energy per sample is
    mostly idle power times a duration the host sets, and drifts with the host's speed from
    run to run; the dynamic energy, and a pass replayed as a CUDA graph, do not.
    """
    host_bound = measured[host_paced(measured)]
    if host_bound.empty:
        return []
    percents = 100 * host_bound.apply(throughput_drift_fraction, axis=1)
    worst = host_bound.loc[percents.idxmax()]
    items = _item_count(len(host_bound))
    span = (
        f"{percents.max():.1f} %"
        if len(host_bound) == 1
        else f"{percents.min():.1f}-{percents.max():.1f} %"
    )
    name = shorten_middle(_stem(worst), 40)
    return [
        f"host-bound: {items} ran at the host's pace, throughput varying {span} between windows",
        f"  (most: {name} at batch {_number(worst[col.BATCH_SIZE], 'd')}); their gross energy "
        "follows the host's speed:",
        "  compare their Dynamic Energy per Sample, or measure with --energy-cuda-graphs",
    ]


def _seed_protocol_lines(measured: pd.DataFrame) -> list[str]:
    """Where GPU items ran the seed protocol, say what its CI does not cover.

    Each trial reads the coarse counter twice, missing the energy since its last update each
    time. Trials that keep one phase against those updates miss alike, so they can agree with
    each other and still be off: the seed runs whose trials scattered least sat several percent
    from the adaptive protocol's figure, outside their own CIs (measured:
    docs/benchmarks/seed-phase/).
    """
    seed = measured[metered_on_gpu(measured) & (measured[col.PROTOCOL].astype(str) == "seed")]
    if seed.empty:
        return []
    items = _item_count(len(seed))
    return [
        f"seed protocol: {items}; its CI covers one run's trials, which can agree with each "
        "other and still be",
        "  several % off (trials keeping one phase against the meter's updates miss alike): to "
        "compare models,",
        "  measure with --energy-protocol=adaptive (docs/measurement.md)",
    ]


def _cross_device_lines(measured: pd.DataFrame) -> list[str]:
    """Where a reduction sets a model against a baseline measured on another device: two
    boards of one model differ by several percent (measured: docs/benchmarks/precision/), so
    such a reduction mixes the model's effect with the boards'."""
    device_of = {
        (str(row[col.MODEL_NAME]), row[col.BATCH_SIZE]): str(row[col.DEVICE])
        for _, row in measured.iterrows()
    }
    crossed = []
    for _, row in measured.iterrows():
        baseline = device_of.get((str(row[col.BASELINE_MODEL]), row[col.BATCH_SIZE]))
        if baseline is not None and baseline != str(row[col.DEVICE]):
            crossed.append((row, baseline))
    if not crossed:
        return []
    row, baseline = crossed[0]
    count = "1 reduction sets" if len(crossed) == 1 else f"{len(crossed)} reductions set"
    name = shorten_middle(_stem(row), 40)
    return [
        shorten_end(
            f"cross-device: {count} a model against a baseline measured on another device "
            "(boards differ by several %)",
            TERMINAL_WIDTH,
        ),
        shorten_end(
            f"  (e.g. {name} at batch {_number(row[col.BATCH_SIZE], 'd')}: {row[col.DEVICE]} "
            f"against {baseline})",
            TERMINAL_WIDTH,
        ),
        "  measure each family on one device (under pytest-xdist: --dist loadgroup)",
    ]


def _idle_power_lines(measured: pd.DataFrame) -> list[str]:
    """One line per device: the idle power that dynamic energy subtracts, or that there is none."""
    lines = []
    for device, rows in measured.groupby(col.DEVICE, sort=False):
        watts = rows[col.IDLE_WATTS].dropna()
        idle = f"{float(watts.iloc[0]):.1f} W" if len(watts) else "not measured"
        lines.append(shorten_end(f"idle power, {device}: {idle}", TERMINAL_WIDTH))
    return lines


def _not_smaller_lines(rate: float, names: list[str]) -> list[str]:
    """Models named as pruned by ``rate`` % that are as big as their baselines, every name
    whole: a long list wraps (indented, so report.html joins it back), never cut."""
    baselines, unpruned = (
        ("its baseline", "model's") if len(names) == 1 else ("their baselines", "models'")
    )
    line = (
        f"named GPR-{rate:g} but no smaller than {baselines}: {', '.join(names)} "
        f"(parameters and FLOPs as the unpruned {unpruned})"
    )
    return textwrap.wrap(
        line,
        TERMINAL_WIDTH,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def _failure_lines(row: pd.Series) -> list[str]:
    """``FAILED model (bs N): reason``, wrapped rather than cut: the cause of a failure often
    comes at the end of its reason."""
    reason = ("" if pd.isna(row[col.ERROR]) else str(row[col.ERROR])).strip().splitlines()
    batch = _number(row[col.BATCH_SIZE], "d")
    where = f" (bs {batch})" if batch != "-" else ""
    line = f"FAILED {_stem(row)}{where}: {reason[0] if reason else 'no reason given'}"
    return textwrap.wrap(
        line, TERMINAL_WIDTH, subsequent_indent="  ", break_long_words=True, break_on_hyphens=False
    )


# From this share of zero weights on, a model is called masked: its zeros are pruning's.
MASKED_ZERO_PERCENT = 20.0
# A model named as pruned by at least this rate, and this little smaller than its baseline,
# was not pruned structurally.
NAMED_GPR_PERCENT = 5.0
UNCHANGED_CR_PERCENT = 1.0


def model_notes(table: pd.DataFrame) -> list[str]:
    """What the numbers of some models do not say by themselves: weights masked to zero (which
    dense kernels compute like any other), and files named as pruned that are no smaller."""
    rows = measured_rows(table.reindex(columns=list(col.COLUMNS)))
    lines = []
    zeros = pd.to_numeric(rows[col.ZERO_WEIGHTS], errors="coerce")
    masked = rows[zeros >= MASKED_ZERO_PERCENT].drop_duplicates(col.MODEL_NAME)
    if not masked.empty:
        most = masked.loc[zeros[masked.index].idxmax()]
        lines.append(
            f"zero weights: {len(masked)} model(s) are {MASKED_ZERO_PERCENT:g} % zeros or more "
            f"(most: {shorten_middle(str(most[col.MODEL_NAME]), 40)}, "
            f"{float(most[col.ZERO_WEIGHTS]):.1f} %):"
        )
        lines.append(
            "  dense kernels multiply zeros like any weight, so expect no energy saving from "
            "them; prune structurally (e.g. pruneenergy zoo --source torchvision)"
        )
    gpr = pd.to_numeric(rows[col.GPR], errors="coerce")
    crs = rows[[col.CR_PARAMETERS, col.CR_FLOPS]].apply(pd.to_numeric, errors="coerce")
    unchanged = rows[(gpr >= NAMED_GPR_PERCENT) & (crs.abs() < UNCHANGED_CR_PERCENT).all(axis=1)]
    unchanged = unchanged.drop_duplicates(col.MODEL_NAME)
    for rate, named in unchanged.groupby(gpr[unchanged.index], sort=True):
        lines.extend(_not_smaller_lines(float(rate), [str(name) for name in named[col.MODEL_NAME]]))
    return lines


def disturbed_items(table: pd.DataFrame) -> int:
    """How many measured rows say they were disturbed."""
    rows = measured_rows(table.reindex(columns=list(col.COLUMNS)))
    return len(said_rows(rows, col.DISTURBANCES))
