"""Energy thresholds: the three kinds, where each comes from, how they are written (the
command line, ini rules, the item's marker), and each item's thresholds resolved once.

Four kinds of threshold:

- ``min_reduction``: energy reduction in % against the baseline at the same batch size
  (``100 - 100 * pruned / baseline``, as in the result table) must be at least this;
- ``max_joules``: gross energy per sample must be at most this;
- ``min_fps``: frames per second must be at least this;
- ``max_p99_ms``: the 99th percentile of the time of one pass of the batch, in milliseconds
  (measure/latency.py), must be at most this.

Where a threshold comes from, highest first: the item's ``pruneenergy_thresholds`` marker, the
command line, the first ini ``energy_thresholds`` rule that matches the item and sets that kind,
the ini option of that kind, else none. Each kind is resolved on its own, so a marker that sets
``min_fps`` leaves ``min_reduction`` to the command line or the ini file.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..common.numbers import is_number

MIN_REDUCTION = "min_reduction"
MAX_JOULES = "max_joules"
MIN_FPS = "min_fps"
MAX_P99_MS = "max_p99_ms"
KINDS = (MIN_REDUCTION, MAX_JOULES, MIN_FPS, MAX_P99_MS)
# Checked by the item itself; min_reduction needs the baseline's measurement, which another
# item (perhaps on another xdist worker) makes, so it is checked at the end of the session.
IN_ITEM_KINDS = (MAX_JOULES, MIN_FPS, MAX_P99_MS)
SESSION_KINDS = (MIN_REDUCTION,)

RULES_INI_NAME = "energy_thresholds"
MARKER_NAME = "pruneenergy_thresholds"
RULE_SYNTAX = "PATTERN[:bsN]:KIND=VALUE[,KIND=VALUE...]"

SOURCE_MARKER = "marker"
SOURCE_COMMAND_LINE = "command line"
SOURCE_INI = "ini"


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
    if kind in (MAX_JOULES, MIN_FPS, MAX_P99_MS) and value <= 0:
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
        elif is_number(value):
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
