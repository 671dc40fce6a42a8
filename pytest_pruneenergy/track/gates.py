"""Energy gates: thresholds per item, resolved once, and verdicts that respect the 95 % CI.

Three kinds of threshold:

- ``min_reduction``: energy reduction in % against the baseline at the same batch size
  (``100 - 100 * pruned / baseline``, as in the result table) must be at least this;
- ``max_joules``: gross energy per sample must be at most this;
- ``min_fps``: frames per second must be at least this.

Where a threshold comes from, highest first: the item's ``pruneenergy_thresholds`` marker, the
command line, the first ini ``energy_thresholds`` rule that matches the item and sets that kind,
the ini option of that kind, else none. Each kind is resolved on its own, so a marker that sets
``min_fps`` leaves ``min_reduction`` to the command line or the ini file.

A verdict is a statistical one: FAIL only when the whole 95 % CI lies on the wrong side of the
threshold, PASS when it lies wholly on the right side, INCONCLUSIVE when it straddles the
threshold. FPS carries no CI in a Measurement and is taken as exact.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..items.measurement import (
    ItemKey,
    Measurement,
    baseline_measurements,
    disturbances_against,
    item_label,
)
from ..measure.stats import reduction_ci95_points

MIN_REDUCTION = "min_reduction"
MAX_JOULES = "max_joules"
MIN_FPS = "min_fps"
KINDS = (MIN_REDUCTION, MAX_JOULES, MIN_FPS)
# Checked by the item itself; min_reduction needs the baseline's measurement, which another
# item (perhaps on another xdist worker) makes, so it is checked at the end of the session.
IN_ITEM_KINDS = (MAX_JOULES, MIN_FPS)
SESSION_KINDS = (MIN_REDUCTION,)

RULES_INI_NAME = "energy_thresholds"
MARKER_NAME = "pruneenergy_thresholds"
RULE_SYNTAX = "PATTERN[:bsN]:KIND=VALUE[,KIND=VALUE...]"

SOURCE_MARKER = "marker"
SOURCE_COMMAND_LINE = "command line"
SOURCE_INI = "ini"

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"
_SEVERITY = {PASS: 0, INCONCLUSIVE: 1, FAIL: 2}

_BATCH_SIZE_PATTERN = re.compile(r"bs(\d+)", re.IGNORECASE)


class ThresholdError(ValueError):
    """A threshold that cannot be used: the option or line, the bad value and what is allowed."""


@dataclass(frozen=True)
class Threshold:
    kind: str
    value: float
    # "marker", "command line", "ini rule '<line>'" or "ini": said in every verdict message.
    source: str

    def describe(self) -> str:
        return f"{self.kind}={self.value:g} set by {self.source}"


@dataclass(frozen=True)
class ThresholdRule:
    """One ini ``energy_thresholds`` line: a glob on the model name, maybe a batch size."""

    text: str
    pattern: str
    batch_size: int | None
    values: tuple[tuple[str, float], ...]

    def matches(self, model: str, batch_size: int) -> bool:
        # Case-insensitive, as model names are parsed (VGG16 and vgg16 are one architecture).
        if self.batch_size is not None and self.batch_size != batch_size:
            return False
        return fnmatch.fnmatchcase(model.casefold(), self.pattern.casefold())

    def threshold(self, kind: str) -> Threshold | None:
        for rule_kind, value in self.values:
            if rule_kind == kind:
                return Threshold(kind, value, f"ini rule '{self.text}'")
        return None


@dataclass(frozen=True)
class ItemThresholds:
    """The thresholds one item is held to, at most one per kind, in KINDS order."""

    thresholds: tuple[Threshold, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.thresholds)

    def get(self, kind: str) -> Threshold | None:
        return next((t for t in self.thresholds if t.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": [[t.kind, t.value, t.source] for t in self.thresholds]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemThresholds:
        return cls(
            tuple(Threshold(kind, value, source) for kind, value, source in data["thresholds"])
        )


@dataclass(frozen=True)
class GateSettings:
    """Everything but the marker, which belongs to each item and is read when it runs."""

    command_line: tuple[Threshold, ...] = ()
    rules: tuple[ThresholdRule, ...] = ()
    ini: tuple[Threshold, ...] = ()
    # An inconclusive verdict fails instead of warning.
    strict: bool = False

    def for_item(
        self, model: str, batch_size: int, marker: Mapping[str, float | None] | None = None
    ) -> ItemThresholds:
        """``marker``: what the item's marker sets; a kind set to None there has no threshold,
        whatever the command line or the ini file say."""
        chosen = []
        for kind in KINDS:
            threshold = self._resolve(kind, model, batch_size, marker or {})
            if threshold is not None:
                chosen.append(threshold)
        return ItemThresholds(tuple(chosen))

    def _resolve(
        self, kind: str, model: str, batch_size: int, marker: Mapping[str, float | None]
    ) -> Threshold | None:
        if kind in marker:
            value = marker[kind]
            return None if value is None else Threshold(kind, value, SOURCE_MARKER)
        candidates: list[Threshold | None] = [_of_kind(self.command_line, kind)]
        candidates.extend(
            rule.threshold(kind) for rule in self.rules if rule.matches(model, batch_size)
        )
        candidates.append(_of_kind(self.ini, kind))
        return next((c for c in candidates if c is not None), None)


def _of_kind(thresholds: Iterable[Threshold], kind: str) -> Threshold | None:
    return next((t for t in thresholds if t.kind == kind), None)


# -- parsing ----------------------------------------------------------------------------------


def check_value(kind: str, value: float, where: str) -> float:
    """``value`` if a threshold of ``kind`` can be met by some measurement, else ThresholdError."""
    if not math.isfinite(value):
        raise ThresholdError(f"{where}: {kind} {value!r} is not a finite number")
    if kind == MIN_REDUCTION and value >= 100:
        # 100 % would mean a model that draws no energy at all.
        raise ThresholdError(f"{where}: {kind} {value:g} must be below 100 (percent)")
    if kind in (MAX_JOULES, MIN_FPS) and value <= 0:
        raise ThresholdError(f"{where}: {kind} {value:g} must be greater than 0")
    return value


def parse_value(kind: str, text: str, where: str) -> float:
    """A number; ``min_reduction`` may end in ``%``."""
    cleaned = text.strip()
    if kind == MIN_REDUCTION:
        cleaned = cleaned.removesuffix("%").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise ThresholdError(f"{where}: {kind} {text.strip()!r} is not a number") from None
    return check_value(kind, value, where)


def parse_rule(line: str) -> ThresholdRule:
    """``VGG16_*_PD3_*:bs32:min_reduction=30,max_joules=0.5`` -> a ThresholdRule."""
    text = line.strip()
    where = f"{RULES_INI_NAME} line '{text}'"
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or not parts[0] or not parts[-1]:
        raise ThresholdError(f"{where}: expected {RULE_SYNTAX}, e.g. VGG16_*:min_reduction=30")
    batch_size = None
    if len(parts) == 3:
        match = _BATCH_SIZE_PATTERN.fullmatch(parts[1])
        if match is None or int(match[1]) < 1:
            raise ThresholdError(
                f"{where}: {parts[1]!r} is not a batch size; write bsN, e.g. bs32, or leave it out"
            )
        batch_size = int(match[1])
    values: list[tuple[str, float]] = []
    for assignment in parts[-1].split(","):
        kind, equals, value_text = (piece.strip() for piece in assignment.partition("="))
        if not equals or kind not in KINDS:
            raise ThresholdError(
                f"{where}: {assignment.strip()!r} is not KIND=VALUE with KIND one of "
                f"{', '.join(KINDS)}"
            )
        if any(kind == seen for seen, _ in values):
            raise ThresholdError(f"{where}: {kind} is given twice")
        values.append((kind, parse_value(kind, value_text, where)))
    return ThresholdRule(text=text, pattern=parts[0], batch_size=batch_size, values=tuple(values))


def parse_marker(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, float | None]:
    """The keywords of ``@pytest.mark.pruneenergy_thresholds(...)``; None switches a kind off."""
    where = f"{MARKER_NAME} marker"
    if args:
        raise ThresholdError(
            f"{where}: give thresholds as keywords, e.g. {MARKER_NAME}(min_reduction=30), "
            f"not {', '.join(map(repr, args))}"
        )
    values: dict[str, float | None] = {}
    for kind, value in kwargs.items():
        if kind not in KINDS:
            raise ThresholdError(f"{where}: {kind!r} is not one of {', '.join(KINDS)}")
        if value is None:
            values[kind] = None
        elif isinstance(value, str):
            values[kind] = parse_value(kind, value, where)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            values[kind] = check_value(kind, float(value), where)
        else:
            raise ThresholdError(f"{where}: {kind}={value!r} is not a number")
    return values


def resolve_gates(
    *,
    command_line: Mapping[str, str | None],
    rules: Sequence[str],
    ini: Mapping[str, str],
    strict: bool,
    option_names: Mapping[str, str],
    ini_names: Mapping[str, str],
) -> GateSettings:
    """``command_line``/``ini``: the text each option was given, by kind (None or blank: not
    given); ``rules``: the ini ``energy_thresholds`` lines; ``option_names``/``ini_names``: by
    kind, the names the values were given under, for their errors."""
    return GateSettings(
        command_line=tuple(
            Threshold(kind, parse_value(kind, text, option_names[kind]), SOURCE_COMMAND_LINE)
            for kind, text in command_line.items()
            if text is not None
        ),
        rules=tuple(parse_rule(line) for line in rules if line.strip()),
        ini=tuple(
            Threshold(kind, parse_value(kind, text, ini_names[kind]), SOURCE_INI)
            for kind, text in ini.items()
            if text.strip()
        ),
        strict=strict,
    )


# -- verdicts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    threshold: Threshold
    outcome: str  # PASS, FAIL or INCONCLUSIVE
    message: str

    def fails(self, strict: bool) -> bool:
        return self.outcome == FAIL or (strict and self.outcome == INCONCLUSIVE)


def interval_outcome(low: float, high: float, threshold: Threshold) -> str:
    """FAIL when all of [low, high] is on the wrong side, PASS when all is on the right side
    (meeting the threshold exactly counts as meeting it); INCONCLUSIVE otherwise, NaN included."""
    if threshold.kind == MAX_JOULES:
        if high <= threshold.value:
            return PASS
        if low > threshold.value:
            return FAIL
    else:
        if low >= threshold.value:
            return PASS
        if high < threshold.value:
            return FAIL
    return INCONCLUSIVE


def reduction_with_ci95(
    pruned_mean: float, pruned_ci95: float, baseline_mean: float, baseline_ci95: float
) -> tuple[float, float]:
    """Energy reduction ``r = 100 - 100 * Ep / Eb`` in % and its 95 % half-width.

    First-order propagation of two independent half-widths:
    ``r_ci = 100 * (Ep / Eb) * sqrt((ci_p / Ep)^2 + (ci_b / Eb)^2)``, written here as
    ``100 * sqrt(ci_p^2 + (Ep * ci_b / Eb)^2) / Eb`` so that Ep = 0 does not divide by zero.
    NaN when the baseline's energy is not a positive number.
    """
    if not baseline_mean > 0:
        return math.nan, math.nan
    half_width = reduction_ci95_points(pruned_mean, pruned_ci95, baseline_mean, baseline_ci95)
    return 100 - 100 * pruned_mean / baseline_mean, half_width


def judge_min_reduction(
    threshold: Threshold, measurement: Measurement, baseline: Measurement | None
) -> Verdict:
    if baseline is None:
        message = (
            f"energy reduction unknown: no baseline was measured at batch size "
            f"{measurement.batch_size} in this run, so {threshold.describe()} cannot be checked"
        )
        return Verdict(threshold, INCONCLUSIVE, message)
    pruned, base = measurement.stats, baseline.stats
    reduction, half_width = reduction_with_ci95(
        pruned.joules_per_sample_mean,
        pruned.joules_per_sample_ci95,
        base.joules_per_sample_mean,
        base.joules_per_sample_ci95,
    )
    return _verdict(threshold, "energy reduction", reduction, half_width, "{:.1f}", " %")


def judge_max_joules(threshold: Threshold, measurement: Measurement) -> Verdict:
    stats = measurement.stats
    mean, half_width = stats.joules_per_sample_mean, stats.joules_per_sample_ci95
    return _verdict(threshold, "energy", mean, half_width, "{:.4g}", " J per sample")


def judge_min_fps(threshold: Threshold, measurement: Measurement) -> Verdict:
    fps = measurement.stats.frames_per_second
    outcome = interval_outcome(fps, fps, threshold)
    relation = {PASS: "meets", FAIL: "is below", INCONCLUSIVE: "cannot be compared with"}
    message = f"FPS {fps:.1f} (no CI: taken as exact) {relation[outcome]} {threshold.describe()}"
    return Verdict(threshold, outcome, message)


def judge_measurement(
    measurement: Measurement,
    thresholds: ItemThresholds,
    *,
    baseline: Measurement | None = None,
    kinds: Sequence[str] = KINDS,
) -> tuple[Verdict, ...]:
    """One verdict per threshold of ``kinds``. A baseline model has no min_reduction verdict:
    its reduction against itself is 0 by definition."""
    verdicts = []
    for threshold in thresholds.thresholds:
        if threshold.kind not in kinds:
            continue
        if threshold.kind == MAX_JOULES:
            verdict = judge_max_joules(threshold, measurement)
            disturbed = measurement.disturbances
        elif threshold.kind == MIN_FPS:
            verdict = judge_min_fps(threshold, measurement)
            disturbed = measurement.disturbances
        elif measurement.name is None or not measurement.name.is_baseline:
            verdict = judge_min_reduction(threshold, measurement, baseline)
            disturbed = disturbances_against(measurement, baseline)
        else:
            continue
        verdicts.append(unvouched(verdict, disturbed))
    return tuple(verdicts)


def unvouched(verdict: Verdict, disturbances: Sequence[str]) -> Verdict:
    """A verdict on a figure measured while something could have corrupted it is
    inconclusive, whatever the figure says."""
    if not disturbances or verdict.outcome == INCONCLUSIVE:
        return verdict
    message = (
        f"{verdict.message}; inconclusive: measured while disturbed ({'; '.join(disturbances)})"
    )
    return Verdict(verdict.threshold, INCONCLUSIVE, message)


def worst_outcome(verdicts: Iterable[Verdict]) -> str | None:
    """FAIL over INCONCLUSIVE over PASS; None without verdicts."""
    outcomes = [verdict.outcome for verdict in verdicts]
    return max(outcomes, key=_SEVERITY.__getitem__) if outcomes else None


def gate_cells(verdicts: Sequence[Verdict]) -> tuple[str, str] | None:
    """What the result table shows of an item's verdicts: the worst outcome, and every
    verdict's message, failures first; None without verdicts."""
    worst = worst_outcome(verdicts)
    if worst is None:
        return None
    ordered = sorted(verdicts, key=lambda verdict: verdict.outcome == PASS)
    return worst, "; ".join(verdict.message for verdict in ordered)


def gate_summary_lines(gates: Mapping[ItemKey, Sequence[Verdict]], *, strict: bool) -> list[str]:
    """A count of verdicts, then a line per verdict that is not a pass."""
    ordered = sorted(gates.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or ""))
    verdicts = [(key, verdict) for key, found in ordered for verdict in found]
    if not verdicts:
        return []
    counts = {outcome: 0 for outcome in (PASS, FAIL, INCONCLUSIVE)}
    for _, verdict in verdicts:
        counts[verdict.outcome] += 1
    lines = [
        f"energy gates: {counts[PASS]} passed, {counts[FAIL]} failed, "
        f"{counts[INCONCLUSIVE]} inconclusive"
        + (" (inconclusive fails: --energy-strict)" if strict and counts[INCONCLUSIVE] else "")
    ]
    for key, verdict in verdicts:
        if verdict.outcome != PASS:
            label = "GATE FAILED" if verdict.fails(strict) else "gate inconclusive"
            lines.append(f"{label} {item_label(key)}: {verdict.message}")
    return lines


def _verdict(
    threshold: Threshold, what: str, value: float, half_width: float, number: str, unit: str
) -> Verdict:
    # A CI that could not be computed (too few windows) is as wide as it gets.
    if not math.isfinite(half_width):
        half_width = math.inf
    low, high = value - half_width, value + half_width
    outcome = interval_outcome(low, high, threshold)
    if math.isfinite(half_width):
        ci = f"95 % CI {number.format(low)} to {number.format(high)}"
    else:
        ci = "95 % CI unknown"
    is_max = threshold.kind == MAX_JOULES
    relation = {
        PASS: "is within" if is_max else "meets",
        FAIL: "is above" if is_max else "is below",
        INCONCLUSIVE: "is inconclusive against",
    }[outcome]
    message = f"{what} {number.format(value)}{unit} ({ci}) {relation} {threshold.describe()}"
    if outcome == INCONCLUSIVE and math.isfinite(half_width):
        message += "; the CI straddles the threshold (a longer measurement narrows it)"
    return Verdict(threshold, outcome, message)


def judge_gates(
    measurements: Sequence[Measurement], thresholds: Mapping[ItemKey, ItemThresholds]
) -> dict[ItemKey, tuple[Verdict, ...]]:
    """Every item's verdicts, once every measurement (the baselines' too) has arrived."""
    if not any(thresholds.values()):
        return {}
    baselines = baseline_measurements(measurements)
    gates = {}
    for measurement in measurements:
        key = measurement.key
        item_thresholds = thresholds.get(key)
        if item_thresholds:
            gates[key] = judge_measurement(
                measurement, item_thresholds, baseline=baselines.get(key)
            )
    return gates


def table_cells(
    gates: Mapping[ItemKey, Sequence[Verdict]],
) -> dict[ItemKey, tuple[str, str]]:
    """The gates as the result table shows them (``gate_cells``), items without left out."""
    cells = {key: gate_cells(verdicts) for key, verdicts in gates.items()}
    return {key: cell for key, cell in cells.items() if cell is not None}
