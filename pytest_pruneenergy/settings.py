"""Command line, ini file and defaults resolved once into one frozen Settings value.

Precedence: command line > ini (``[tool.pytest.ini_options]`` or pytest.ini) > default.
Every parser here raises SettingsError with the option's name, the bad value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .history import COMPARE_LATEST, DEFAULT_STORE_DIR
from .meters import DEFAULT_WATTS_PER_BUSY_CORE, METER_KINDS
from .thresholds import (
    MAX_JOULES,
    MIN_FPS,
    MIN_REDUCTION,
    GateSettings,
    ThresholdError,
    resolve_gates,
)

DEFAULT_BATCH_SIZES = (1, 8, 16, 32, 64)  # the seed tool's
DEFAULT_INPUT_SHAPE = (3, 224, 224)
DEFAULT_REPORT_DIR = "pruneenergy-report"
DEFAULT_MAX_SECONDS = 10.0
DEFAULT_ESTIMATE_WATTS_PER_CORE = DEFAULT_WATTS_PER_BUSY_CORE
# adaptive: windows until the CI target or the time cap; seed: the seed tool's fixed trials.
PROTOCOLS = ("adaptive", "seed")
DEFAULT_TARGET_CI_PERCENT = 1.0
DEFAULT_IDLE_SECONDS = 3.0

_T = TypeVar("_T")


class SettingsError(ValueError):
    """An option value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    model_dirs: tuple[Path, ...]
    batch_sizes: tuple[int, ...]
    # None: use the shape a model file records, else DEFAULT_INPUT_SHAPE.
    input_shape: tuple[int, ...] | None
    device: str
    allow_pickle: bool
    report_dir: Path | None
    meter: str
    max_seconds: float
    estimate_watts_per_core: float
    protocol: str
    # 95 % CI half-width over mean at which the adaptive protocol stops: 0.01 for 1 %.
    target_ci_fraction: float
    # 0: idle power is not measured, and dynamic energy is left empty.
    idle_seconds: float
    # Each pass replayed as one captured CUDA graph (cuda_graphs.py), for launch-bound models.
    cuda_graphs: bool = False
    # The run store (history.py); defaults so that code building Settings by hand needs none.
    store_dir: Path = Path(DEFAULT_STORE_DIR)
    save: bool = False
    # None: no comparison; COMPARE_LATEST: the newest stored run from this machine; else a run
    # id or the path of a run file.
    compare_run: str | None = None
    # --energy-compare-fail gates, as fractions (0.05 for 5 %); None: that measure is no gate.
    compare_fail_joules_fraction: float | None = None
    compare_fail_fps_fraction: float | None = None
    # Energy gates (thresholds.py), all but each item's marker, which is read when it runs.
    gates: GateSettings = field(default_factory=GateSettings)
    # Advice in the report (analysis.py), never a gate: the smallest batch size meeting a
    # J/sample budget or an FPS need; a per-model metric for the Pareto front.
    recommend_joules: float | None = None
    recommend_fps: float | None = None
    metadata_path: Path | None = None
    metric: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.model_dirs)


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


def parse_device(text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``; ``cuda`` means ``cuda:0``."""
    device = text.strip().lower()
    if device in ("auto", "cpu"):
        return device
    if device == "cuda":
        return "cuda:0"
    if device.startswith("cuda:") and device[5:].isdigit():
        return device
    raise SettingsError(f"--prune-device: {text!r} is not one of auto, cpu, cuda, cuda:N")


def parse_meter(text: str) -> str:
    meter = text.strip().lower()
    if meter not in METER_KINDS:
        raise SettingsError(f"--energy-meter: {text!r} is not one of {', '.join(METER_KINDS)}")
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


def parse_non_negative_float(option: str, text: str) -> float:
    value = parse_number(option, text)
    if not value >= 0:
        raise SettingsError(f"{option}: {text!r} must be 0 or more")
    return value


def parse_protocol(text: str) -> str:
    protocol = text.strip().lower()
    if protocol not in PROTOCOLS:
        message = f"--energy-protocol: {text!r} is not one of {', '.join(PROTOCOLS)}"
        raise SettingsError(message)
    return protocol


def parse_target_ci_fraction(text: str) -> float:
    """A percentage, ``"1"``, ``"0.5"`` or ``"0.5%"``, as a fraction: 0.01 or 0.005."""
    percent = parse_number("--energy-target-ci", text.strip().removesuffix("%"))
    if not 0 < percent < 100:
        message = f"--energy-target-ci: {text!r} must be a percentage above 0 and below 100"
        raise SettingsError(message)
    return percent / 100


def parse_bool(option: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{option}: {text!r} is not true or false")


COMPARE_FAIL_MEASURES = ("joules", "fps")


def parse_compare_fail(texts: Sequence[str]) -> dict[str, float]:
    """``["joules:5%", "fps:10"]`` or ``["joules:5%,fps:10%"]`` -> fractions by measure:
    ``{"joules": 0.05, "fps": 0.1}``; a measure given twice keeps its last value."""
    fractions: dict[str, float] = {}
    for text in texts:
        for part in text.split(","):
            measure, colon, percent = part.strip().partition(":")
            measure = measure.strip().lower()
            if not colon or measure not in COMPARE_FAIL_MEASURES:
                raise SettingsError(
                    f"--energy-compare-fail: {part.strip()!r} is not MEASURE:PERCENT with MEASURE "
                    f"one of {', '.join(COMPARE_FAIL_MEASURES)} (e.g. joules:5%)"
                )
            value = parse_number("--energy-compare-fail", percent.strip().removesuffix("%"))
            if not value >= 0:
                raise SettingsError(f"--energy-compare-fail: {part.strip()!r} must be 0 % or more")
            fractions[measure] = value / 100
    return fractions


def parse_report_dir(text: str, base: Path) -> Path | None:
    """An ini value: a folder, ``true`` for the default folder, ``false`` or empty for none."""
    lowered = text.strip().lower()
    if lowered in ("", "0", "false", "no", "off"):
        return None
    if lowered in ("1", "true", "yes", "on"):
        return base / DEFAULT_REPORT_DIR
    return base / text.strip()


def _pick(cli_text: str | None, ini_text: str, parse: Callable[[str], _T], default: _T) -> _T:
    if cli_text is not None:
        return parse(cli_text)
    if ini_text.strip():
        return parse(ini_text)
    return default


@dataclass(frozen=True)
class RawOptions:
    """What the command line said (None: not given) and what the ini file said (text)."""

    cli_model_dirs: Sequence[str] | None = None
    cli_batch_sizes: str | None = None
    cli_input_shape: str | None = None
    cli_device: str | None = None
    cli_allow_pickle: bool | None = None
    cli_report_dir: str | None = None
    cli_meter: str | None = None
    cli_max_seconds: str | None = None
    cli_estimate_watts_per_core: str | None = None
    cli_protocol: str | None = None
    cli_target_ci: str | None = None
    cli_idle_seconds: str | None = None
    ini_model_dirs: Sequence[str] = ()
    ini_batch_sizes: str = ""
    ini_input_shape: str = ""
    ini_device: str = ""
    ini_allow_pickle: str = ""
    ini_report_dir: str = ""
    ini_meter: str = ""
    ini_max_seconds: str = ""
    ini_estimate_watts_per_core: str = ""
    ini_protocol: str = ""
    ini_target_ci: str = ""
    ini_idle_seconds: str = ""
    cli_cuda_graphs: bool | None = None
    ini_cuda_graphs: str = ""
    cli_store_dir: str | None = None
    cli_save: bool | None = None
    cli_compare: str | None = None
    cli_compare_fail: Sequence[str] | None = None
    ini_store_dir: str = ""
    ini_save: str = ""
    cli_min_reduction: str | None = None
    cli_max_joules: str | None = None
    cli_min_fps: str | None = None
    cli_strict: bool | None = None
    ini_thresholds: Sequence[str] = ()
    ini_min_reduction: str = ""
    ini_max_joules: str = ""
    ini_min_fps: str = ""
    ini_strict: str = ""
    cli_recommend_joules: str | None = None
    cli_recommend_fps: str | None = None
    cli_metadata: str | None = None
    cli_metric: str | None = None
    ini_recommend_joules: str = ""
    ini_recommend_fps: str = ""
    ini_metadata: str = ""
    ini_metric: str = ""


def resolve_gates_of(raw: RawOptions) -> GateSettings:
    """The energy gates of the command line and the ini file; each item adds its marker."""
    try:
        return resolve_gates(
            command_line={
                MIN_REDUCTION: raw.cli_min_reduction,
                MAX_JOULES: raw.cli_max_joules,
                MIN_FPS: raw.cli_min_fps,
            },
            rules=raw.ini_thresholds,
            ini={
                MIN_REDUCTION: raw.ini_min_reduction,
                MAX_JOULES: raw.ini_max_joules,
                MIN_FPS: raw.ini_min_fps,
            },
            strict=True if raw.cli_strict else parse_bool("energy_strict", raw.ini_strict),
        )
    except ThresholdError as error:
        raise SettingsError(str(error)) from None


def resolve_settings(raw: RawOptions, *, invocation_dir: Path, ini_dir: Path) -> Settings:
    """Relative paths from the command line start at the invocation folder, ini ones at the
    ini file's folder, as a user reading either would expect."""
    if raw.cli_model_dirs:
        model_dirs = tuple(invocation_dir / d for d in raw.cli_model_dirs)
    else:
        model_dirs = tuple(ini_dir / d for d in raw.ini_model_dirs if d.strip())

    if raw.cli_report_dir is not None:
        report_dir: Path | None = invocation_dir / raw.cli_report_dir
    else:
        report_dir = parse_report_dir(raw.ini_report_dir, ini_dir)

    if raw.cli_store_dir is not None:
        store_dir = invocation_dir / raw.cli_store_dir
    else:
        store_dir = ini_dir / (raw.ini_store_dir.strip() or DEFAULT_STORE_DIR)
    compare_fail = parse_compare_fail(raw.cli_compare_fail or ())
    compare_run = raw.cli_compare
    if compare_run is None and compare_fail:  # a gate needs a baseline: the latest run
        compare_run = COMPARE_LATEST

    return Settings(
        model_dirs=tuple(dict.fromkeys(d.resolve() for d in model_dirs)),
        batch_sizes=_pick(
            raw.cli_batch_sizes,
            raw.ini_batch_sizes,
            lambda text: parse_positive_ints("--prune-batch-sizes", text, unique=True),
            DEFAULT_BATCH_SIZES,
        ),
        input_shape=_pick(
            raw.cli_input_shape,
            raw.ini_input_shape,
            lambda text: parse_positive_ints("--prune-input-shape", text),
            None,
        ),
        device=_pick(raw.cli_device, raw.ini_device, parse_device, "auto"),
        allow_pickle=True
        if raw.cli_allow_pickle
        else parse_bool("prune_allow_pickle", raw.ini_allow_pickle),
        report_dir=report_dir,
        meter=_pick(raw.cli_meter, raw.ini_meter, parse_meter, "auto"),
        max_seconds=_pick(
            raw.cli_max_seconds,
            raw.ini_max_seconds,
            lambda text: parse_positive_float("--energy-max-seconds", text),
            DEFAULT_MAX_SECONDS,
        ),
        estimate_watts_per_core=_pick(
            raw.cli_estimate_watts_per_core,
            raw.ini_estimate_watts_per_core,
            lambda text: parse_positive_float("--energy-estimate-watts-per-core", text),
            DEFAULT_ESTIMATE_WATTS_PER_CORE,
        ),
        protocol=_pick(raw.cli_protocol, raw.ini_protocol, parse_protocol, "adaptive"),
        target_ci_fraction=_pick(
            raw.cli_target_ci,
            raw.ini_target_ci,
            parse_target_ci_fraction,
            DEFAULT_TARGET_CI_PERCENT / 100,
        ),
        idle_seconds=_pick(
            raw.cli_idle_seconds,
            raw.ini_idle_seconds,
            lambda text: parse_non_negative_float("--energy-idle-seconds", text),
            DEFAULT_IDLE_SECONDS,
        ),
        cuda_graphs=(
            True if raw.cli_cuda_graphs else parse_bool("energy_cuda_graphs", raw.ini_cuda_graphs)
        ),
        store_dir=store_dir,
        save=True if raw.cli_save else parse_bool("energy_save", raw.ini_save),
        compare_run=compare_run,
        compare_fail_joules_fraction=compare_fail.get("joules"),
        compare_fail_fps_fraction=compare_fail.get("fps"),
        gates=resolve_gates_of(raw),
        recommend_joules=_pick(
            raw.cli_recommend_joules,
            raw.ini_recommend_joules,
            lambda text: parse_positive_float("--recommend-joules", text),
            None,
        ),
        recommend_fps=_pick(
            raw.cli_recommend_fps,
            raw.ini_recommend_fps,
            lambda text: parse_positive_float("--recommend-fps", text),
            None,
        ),
        metadata_path=(
            invocation_dir / raw.cli_metadata
            if raw.cli_metadata
            else (ini_dir / raw.ini_metadata.strip() if raw.ini_metadata.strip() else None)
        ),
        metric=(raw.cli_metric or raw.ini_metric.strip() or None),
    )
