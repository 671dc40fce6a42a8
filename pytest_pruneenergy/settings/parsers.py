"""Option parsers: (where the value was written, its text) -> value, or a SettingsError that
names the option, the bad value and what is allowed. The CLI reads its own arguments with the
same parsers."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..items.numerics import DTYPE_TAGS, dtype_name
from ..items.runtimes import RUNTIMES
from ..measure.meters import METER_KINDS, OLD_METER_NAMES
from ..measure.protocol import (
    PROTOCOLS,
)
from ..models.sharding import Shard
from ..track.thresholds import (
    ThresholdError,
    parse_value,
)

DEFAULT_BATCH_SIZES = (1, 8, 16, 32, 64)  # the seed tool's
DEFAULT_REPORT_DIR = "pruneenergy-report"
COMPARE_FAIL_MEASURES = ("joules", "fps")


class SettingsError(ValueError):
    """An option value that cannot be used."""


# -- parsers: (where the value was written, its text) -> value ---------------------------------


def parse_positive_ints(option: str, text: str, *, unique: bool = False) -> tuple[int, ...]:
    """``"1,8,16"`` -> (1, 8, 16), in the given order; ``unique`` drops repeated values."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            message = f"{option}: {part!r} is not a whole number (got {text!r})"
            raise SettingsError(message) from None
        if value < 1:
            raise SettingsError(f"{option}: {value} must be at least 1 (got {text!r})")
        if not (unique and value in values):
            values.append(value)
    if not values:
        raise SettingsError(f"{option}: no values given (got {text!r})")
    return tuple(values)


def parse_batch_sizes(option: str, text: str) -> tuple[int, ...]:
    return parse_positive_ints(option, text, unique=True)


def parse_device(option: str, text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; ``cuda`` means ``cuda:0``."""
    device = text.strip().lower()
    if device in ("auto", "cpu"):
        return device
    if device == "cuda":
        return "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        return device
    raise SettingsError(f"{option}: {text!r} is not one of auto, cpu, cuda, cuda:N")


def parse_meter(option: str, text: str) -> str:
    """A meter kind; an earlier spelling (``nvml``) reads as today's (``nvml-counter``)."""
    meter = text.strip().lower()
    meter = OLD_METER_NAMES.get(meter, meter)
    if meter not in METER_KINDS:
        raise SettingsError(f"{option}: {text!r} is not one of {', '.join(METER_KINDS)}")
    return meter


def parse_number(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{option}: {text!r} is not a number") from None
    if not math.isfinite(value):  # an infinite time would never end the run
        raise SettingsError(f"{option}: {text!r} is not a finite number")
    return value


def parse_positive_float(option: str, text: str) -> float:
    value = parse_number(option, text)
    if not value > 0:
        raise SettingsError(f"{option}: {text!r} must be greater than 0")
    return value


def parse_pue(option: str, text: str) -> float:
    """A power usage effectiveness: the facility's energy over its IT equipment's, 1 or more."""
    value = parse_number(option, text)
    if not value >= 1:
        raise SettingsError(
            f"{option}: {text!r} must be 1 or more (the facility's energy over its IT's)"
        )
    return value


def parse_non_negative_float(option: str, text: str) -> float:
    value = parse_number(option, text)
    if not value >= 0:
        raise SettingsError(f"{option}: {text!r} must be 0 or more")
    return value


def parse_protocol(option: str, text: str) -> str:
    protocol = text.strip().lower()
    if protocol not in PROTOCOLS:
        message = f"{option}: {text!r} is not one of {', '.join(PROTOCOLS)}"
        raise SettingsError(message)
    return protocol


def parse_target_ci_fraction(option: str, text: str) -> float:
    """A percentage, ``"1"``, ``"0.5"`` or ``"0.5%"``, as a fraction: 0.01 or 0.005."""
    percent = parse_number(option, text.strip().removesuffix("%"))
    if not 0 < percent < 100:
        message = f"{option}: {text!r} must be a percentage above 0 and below 100"
        raise SettingsError(message)
    return percent / 100


def parse_bool(option: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{option}: {text!r} is not true or false")


def parse_text(option: str, text: str) -> str | None:
    return text.strip() or None


def parse_compare_fail(
    texts: Sequence[str], option: str = "--energy-compare-fail"
) -> dict[str, float]:
    """``["joules:5%", "fps:10"]`` or ``["joules:5%,fps:10%"]`` -> fractions by measure:
    ``{"joules": 0.05, "fps": 0.1}``; a measure given twice keeps its last value."""
    fractions: dict[str, float] = {}
    for text in texts:
        for part in text.split(","):
            measure, colon, percent = part.strip().partition(":")
            measure = measure.strip().lower()
            if not colon or measure not in COMPARE_FAIL_MEASURES:
                raise SettingsError(
                    f"{option}: {part.strip()!r} is not MEASURE:PERCENT with MEASURE "
                    f"one of {', '.join(COMPARE_FAIL_MEASURES)} (e.g. joules:5%)"
                )
            value = parse_number(option, percent.strip().removesuffix("%"))
            if not value >= 0:
                raise SettingsError(f"{option}: {part.strip()!r} must be 0 % or more")
            fractions[measure] = value / 100
    return fractions


def parse_positive_int(option: str, text: str) -> int:
    if "," in text:
        raise SettingsError(f"{option}: {text!r} is one whole number, not a list")
    return parse_positive_ints(option, text)[0]


def parse_shard(option: str, text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as error:
        raise SettingsError(f"{option}: {text!r}: {error}") from None


def parse_dtypes(option: str, text: str) -> tuple[str, ...]:
    """``float32,bf16`` -> ("float32", "bfloat16"), in the given order, repeats dropped."""
    choices = f"{', '.join(DTYPE_TAGS)} (or {', '.join(DTYPE_TAGS.values())})"
    return _parse_names(option, text, dtype_name, choices, "numeric format")


def parse_runtimes(option: str, text: str) -> tuple[str, ...]:
    """``eager,compile`` -> ("eager", "compile"), in the given order, repeats dropped."""

    def runtime_name(part: str) -> str | None:
        name = part.strip().lower()
        return name if name in RUNTIMES else None

    return _parse_names(option, text, runtime_name, ", ".join(RUNTIMES), "runtime")


def _parse_names(
    option: str, text: str, name_of: Callable[[str], str | None], choices: str, what: str
) -> tuple[str, ...]:
    """A comma-separated list of names, each read by ``name_of`` (None: not one of
    ``choices``), in the given order, repeats dropped; at least one."""
    names: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        name = name_of(part)
        if name is None:
            raise SettingsError(f"{option}: {part.strip()!r} is not one of {choices}")
        if name not in names:
            names.append(name)
    if not names:
        raise SettingsError(f"{option}: no {what} given (got {text!r})")
    return tuple(names)


def parse_report_dir(text: str, base: Path) -> Path | None:
    """An ini value: a folder, ``true`` for the default folder, ``false`` or empty for none."""
    lowered = text.strip().lower()
    if lowered in ("", "0", "false", "no", "off"):
        return None
    if lowered in ("1", "true", "yes", "on"):
        return base / DEFAULT_REPORT_DIR
    return base / text.strip()


def gate_parser(kind: str) -> Callable[[str, str], float]:
    """A gate option's parser: ThresholdError, which names kind and value, as SettingsError."""

    def parse(option: str, text: str) -> float:
        try:
            return parse_value(kind, text, option)
        except ThresholdError as error:
            raise SettingsError(str(error)) from None

    return parse
