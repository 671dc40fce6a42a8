"""Command line, ini file and defaults resolved once into one frozen Settings value.

Precedence: command line > ini (``[tool.pytest.ini_options]`` or pytest.ini) > default.
Every parser here raises SettingsError with the option's name, the bad value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from .history import COMPARE_LATEST, DEFAULT_STORE_DIR
from .meters import DEFAULT_WATTS_PER_BUSY_CORE, METER_KINDS
from .thresholds import KINDS, GateSettings, ThresholdError, resolve_gates

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
    # Reuse the journal's measurements of unchanged items (journal.py).
    resume: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.model_dirs)


# -- the options, as pytest registers them ---------------------------------------------------


@dataclass(frozen=True)
class OptionSpec:
    """One setting as pytest registers it: a command-line flag, an ini name, or both.

    ``key`` names the RawOptions fields that carry its values (``cli_<key>``, ``ini_<key>``);
    the other fields are ``parser.addoption``'s and ``parser.addini``'s arguments. The flag's
    destination, and the ini name where both exist, is the flag without dashes.
    ``old_flags`` and ``old_ini_names`` are earlier spellings, still accepted.
    """

    key: str
    flag: str | None
    ini: str | None
    old_flags: tuple[str, ...] = ()
    old_ini_names: tuple[str, ...] = ()
    help: str = ""
    ini_help: str = ""
    metavar: str | None = None
    action: str | None = None
    nargs: str | None = None
    const: str | None = None
    ini_type: str | None = None

    @property
    def dest(self) -> str | None:
        return self.flag.lstrip("-").replace("-", "_") if self.flag else None

    def name(self, *, from_cli: bool, ini_name: str | None = None) -> str:
        """How an error names the option a value came from (``ini_name``: the old name an ini
        file used)."""
        if from_cli and self.flag:
            return self.flag
        return f"{ini_name or self.ini} (ini)" if self.ini else str(self.flag)


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        key="model_dirs",
        flag="--prune-models",
        ini="prune_models",
        action="append",
        metavar="DIR",
        help="folder of model files to measure; repeatable. ini: prune_models",
        ini_help="folders of model files to measure",
        ini_type="linelist",
    ),
    OptionSpec(
        key="batch_sizes",
        flag="--prune-batch-sizes",
        ini="prune_batch_sizes",
        metavar="N,N,...",
        help=(
            "batch sizes to measure each model at (default: "
            f"{','.join(map(str, DEFAULT_BATCH_SIZES))}). ini: prune_batch_sizes"
        ),
        ini_help="batch sizes, comma separated",
    ),
    OptionSpec(
        key="input_shape",
        flag="--prune-input-shape",
        ini="prune_input_shape",
        metavar="C,H,W",
        help=(
            "shape of one input sample (default: the shape the model file records, else "
            "3,224,224). ini: prune_input_shape"
        ),
        ini_help="shape of one input sample, e.g. 3,224,224",
    ),
    OptionSpec(
        key="device",
        flag="--prune-device",
        ini="prune_device",
        metavar="DEVICE",
        help="auto (default: first CUDA GPU, else cpu), cuda, cuda:N or cpu. ini: prune_device",
        ini_help="auto, cuda, cuda:N or cpu",
    ),
    OptionSpec(
        key="allow_pickle",
        flag="--prune-allow-pickle",
        ini="prune_allow_pickle",
        action="store_true",
        help=(
            "also load whole pickled modules (torch.save(model)); unpickling runs code "
            "from the file, so only for files you trust. ini: prune_allow_pickle"
        ),
        ini_help="load whole pickled modules (true/false)",
    ),
    OptionSpec(
        key="report_dir",
        flag="--energy-report",
        ini="energy_report",
        nargs="?",
        const=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=(
            f"write the CSV and figures to DIR (default: {DEFAULT_REPORT_DIR}/); write it "
            "as --energy-report=DIR so a following test path is not taken for DIR. ini: "
            "energy_report"
        ),
        ini_help="report folder, or true for the default folder",
    ),
    OptionSpec(
        key="resume",
        flag="--energy-resume",
        ini="energy_resume",
        action="store_true",
        help=(
            "continue an interrupted run: reuse the measurements in the journal of the "
            "--energy-report folder made of the same files with the same settings, and "
            "measure only the rest. ini: energy_resume"
        ),
        ini_help="continue from the report folder's journal (true/false)",
    ),
    OptionSpec(
        key="meter",
        flag="--energy-meter",
        ini="energy_meter",
        metavar="KIND",
        help=(
            f"one of {', '.join(METER_KINDS)} (default: auto, the best meter the device "
            "has; an estimate only where nothing can be measured, and then labelled). "
            "ini: energy_meter"
        ),
        ini_help=f"one of {', '.join(METER_KINDS)}",
    ),
    OptionSpec(
        key="max_seconds",
        flag="--energy-max-seconds",
        ini="energy_max_seconds",
        metavar="S",
        help=(
            f"time cap per item, warm-up included (default: {DEFAULT_MAX_SECONDS:g}). "
            "ini: energy_max_seconds"
        ),
        ini_help="time cap per item in seconds",
    ),
    OptionSpec(
        key="estimate_watts_per_core",
        flag="--energy-estimate-watts-per-core",
        ini="energy_estimate_watts_per_core",
        metavar="W",
        help=(
            "watts per busy CPU core assumed by the estimate meter (default: "
            f"{DEFAULT_ESTIMATE_WATTS_PER_CORE:g}). ini: energy_estimate_watts_per_core"
        ),
        ini_help="watts per busy CPU core for estimates",
    ),
    OptionSpec(
        key="protocol",
        flag="--energy-protocol",
        ini="energy_protocol",
        metavar="NAME",
        help=(
            "adaptive (default: windows aligned to the meter's updates until the CI "
            "target or the time cap) or seed (the seed tool's 20 trials of 100 warm-up "
            "and 500 measured passes, for comparison). ini: energy_protocol"
        ),
        ini_help=f"one of {', '.join(PROTOCOLS)}",
    ),
    OptionSpec(
        key="target_ci",
        flag="--energy-target-ci",
        ini="energy_target_ci",
        metavar="PCT",
        help=(
            "the adaptive protocol stops once the 95 %% confidence half-width of energy "
            "per sample is below PCT %% of the mean (default: "
            f"{DEFAULT_TARGET_CI_PERCENT:g}). ini: energy_target_ci"
        ),
        ini_help="CI target of the adaptive protocol, in percent",
    ),
    OptionSpec(
        key="idle_seconds",
        flag="--energy-idle-seconds",
        ini="energy_idle_seconds",
        metavar="S",
        help=(
            "seconds to measure idle power once per device, for dynamic energy = gross - "
            f"idle power x time (default: {DEFAULT_IDLE_SECONDS:g}; 0: not measured). "
            "ini: energy_idle_seconds"
        ),
        ini_help="seconds to measure idle power; 0: not measured",
    ),
    OptionSpec(
        key="cuda_graphs",
        flag="--energy-cuda-graphs",
        ini="energy_cuda_graphs",
        action="store_true",
        help=(
            "replay each forward pass as one captured CUDA graph: measures launch-bound "
            "models (small ones at small batches) on the GPU rather than the host's "
            "launch speed; results say so in the CSV column 'CUDA Graph'. ini: "
            "energy_cuda_graphs"
        ),
        ini_help="replay forward passes as CUDA graphs (true/false)",
    ),
    OptionSpec(
        key="min_reduction",
        flag="--energy-min-reduction",
        ini="energy_min_reduction",
        metavar="PCT",
        help=(
            "energy gate: fail a pruned model whose energy reduction against its "
            "baseline is below PCT %% with 95 %% confidence (checked at the end of the "
            "session). ini: energy_min_reduction, or per model: energy_thresholds"
        ),
        ini_help="energy gate: minimum energy reduction in percent",
    ),
    OptionSpec(
        key="max_joules",
        flag="--energy-max-joules",
        ini="energy_max_joules",
        metavar="J",
        help=(
            "energy gate: fail an item whose energy per sample is above J with 95 %% "
            "confidence. ini: energy_max_joules, or per model: energy_thresholds"
        ),
        ini_help="energy gate: maximum joules per sample",
    ),
    OptionSpec(
        key="min_fps",
        flag="--energy-min-fps",
        ini="energy_min_fps",
        old_flags=("--min-fps",),
        old_ini_names=("min_fps",),
        metavar="N",
        help=(
            "energy gate: fail an item below N frames per second (FPS has no CI: taken "
            "as exact). ini: energy_min_fps, or per model: energy_thresholds"
        ),
        ini_help="energy gate: minimum frames per second",
    ),
    OptionSpec(
        key="strict",
        flag="--energy-strict",
        ini="energy_strict",
        action="store_true",
        help=(
            "an inconclusive energy gate (its 95 %% CI straddles the threshold) fails "
            "instead of warning. ini: energy_strict"
        ),
        ini_help="inconclusive energy gates fail (true/false)",
    ),
    OptionSpec(
        key="store_dir",
        flag="--energy-store",
        ini="energy_store",
        metavar="DIR",
        help=(
            f"folder of stored runs (default: {DEFAULT_STORE_DIR} beside the ini file). "
            "ini: energy_store"
        ),
        ini_help="folder of stored runs",
    ),
    OptionSpec(
        key="save",
        flag="--energy-save",
        ini="energy_save",
        action="store_true",
        help="store this run (one new JSON file) in the run store. ini: energy_save",
        ini_help="store every run in the run store (true/false)",
    ),
    OptionSpec(
        key="compare",
        flag="--energy-compare",
        ini=None,
        nargs="?",
        const=COMPARE_LATEST,
        metavar="RUN",
        help=(
            "compare with a stored run: a run id or a file (default: the latest run from "
            "this machine); write it as --energy-compare=RUN"
        ),
    ),
    OptionSpec(
        key="compare_fail",
        flag="--energy-compare-fail",
        ini=None,
        action="append",
        metavar="MEASURE:PCT",
        help=(
            "fail the session when an item regressed beyond PCT against the compared "
            "run: joules:5%%, fps:5%%; repeatable or comma separated; implies "
            "--energy-compare"
        ),
    ),
    OptionSpec(
        key="recommend_joules",
        flag="--energy-recommend-joules",
        ini="energy_recommend_joules",
        old_flags=("--recommend-joules",),
        old_ini_names=("recommend_joules",),
        metavar="J",
        help=(
            "advice in the report: per model, the smallest batch size at or under J "
            "joules per sample (not a gate). ini: energy_recommend_joules"
        ),
        ini_help="joules per sample budget for batch size advice",
    ),
    OptionSpec(
        key="recommend_fps",
        flag="--energy-recommend-fps",
        ini="energy_recommend_fps",
        old_flags=("--recommend-fps",),
        old_ini_names=("recommend_fps",),
        metavar="N",
        help=(
            "advice in the report: per model, the smallest batch size reaching N FPS. "
            "ini: energy_recommend_fps"
        ),
        ini_help="FPS need for batch size advice",
    ),
    OptionSpec(
        key="metadata",
        flag="--energy-metadata",
        ini="energy_metadata",
        metavar="FILE",
        help=(
            "CSV with MODEL_NAME and a metric per model (e.g. accuracy, the seed's "
            "metadata.csv): the report adds the Pareto front of energy and that metric. "
            "ini: energy_metadata"
        ),
        ini_help="CSV of MODEL_NAME and per-model metrics",
    ),
    OptionSpec(
        key="metric",
        flag="--energy-metric",
        ini="energy_metric",
        metavar="NAME",
        help="which column of --energy-metadata (default: its only metric). ini: energy_metric",
        ini_help="the metric column of energy_metadata",
    ),
    OptionSpec(
        key="thresholds",
        flag=None,
        ini="energy_thresholds",
        ini_help="energy gates per model, one a line: PATTERN[:bsN]:KIND=VALUE[,KIND=VALUE...]",
        ini_type="linelist",
    ),
)
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}


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
    meter = text.strip().lower()
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


def _pick(raw: RawOptions, key: str, parse: Callable[[str, str], _T], default: _T) -> _T:
    """The command line's value, else the ini file's, else ``default``; ``parse`` gets the
    name of the option the value came from, for its errors."""
    option = OPTIONS_BY_KEY[key]
    cli_text: str | None = getattr(raw, f"cli_{key}")
    ini_text: str = getattr(raw, f"ini_{key}")
    if cli_text is not None:
        return parse(option.name(from_cli=True), cli_text)
    if ini_text.strip():
        return parse(option.name(from_cli=False, ini_name=raw.ini_old_names.get(key)), ini_text)
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
    cli_resume: bool | None = None
    ini_resume: str = ""
    # By option key: the old name an ini value was read from (OptionSpec.old_ini_names), so
    # that an error names what the file says.
    ini_old_names: Mapping[str, str] = field(default_factory=dict)


def resolve_gates_of(raw: RawOptions) -> GateSettings:
    """The energy gates of the command line and the ini file; each item adds its marker."""
    # Each gate kind is the key of its option (OPTIONS), whose names its errors use.
    try:
        return resolve_gates(
            command_line={kind: getattr(raw, f"cli_{kind}") for kind in KINDS},
            rules=raw.ini_thresholds,
            ini={kind: getattr(raw, f"ini_{kind}") for kind in KINDS},
            strict=True if raw.cli_strict else parse_bool("energy_strict", raw.ini_strict),
            option_names={kind: str(OPTIONS_BY_KEY[kind].flag) for kind in KINDS},
            ini_names={
                kind: raw.ini_old_names.get(kind, str(OPTIONS_BY_KEY[kind].ini)) for kind in KINDS
            },
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
    resume = True if raw.cli_resume else parse_bool("energy_resume", raw.ini_resume)
    if resume and report_dir is None:
        raise SettingsError(
            "--energy-resume continues from the journal in the report folder: give "
            "--energy-report=DIR (the folder of the run to continue)"
        )
    compare_fail = parse_compare_fail(raw.cli_compare_fail or ())
    compare_run = raw.cli_compare
    if compare_run is None and compare_fail:  # a gate needs a baseline: the latest run
        compare_run = COMPARE_LATEST

    return Settings(
        model_dirs=tuple(dict.fromkeys(d.resolve() for d in model_dirs)),
        batch_sizes=_pick(
            raw,
            "batch_sizes",
            lambda option, text: parse_positive_ints(option, text, unique=True),
            DEFAULT_BATCH_SIZES,
        ),
        input_shape=_pick(raw, "input_shape", parse_positive_ints, None),
        device=_pick(raw, "device", parse_device, "auto"),
        allow_pickle=True
        if raw.cli_allow_pickle
        else parse_bool("prune_allow_pickle", raw.ini_allow_pickle),
        report_dir=report_dir,
        meter=_pick(raw, "meter", parse_meter, "auto"),
        max_seconds=_pick(raw, "max_seconds", parse_positive_float, DEFAULT_MAX_SECONDS),
        estimate_watts_per_core=_pick(
            raw, "estimate_watts_per_core", parse_positive_float, DEFAULT_ESTIMATE_WATTS_PER_CORE
        ),
        protocol=_pick(raw, "protocol", parse_protocol, "adaptive"),
        target_ci_fraction=_pick(
            raw, "target_ci", parse_target_ci_fraction, DEFAULT_TARGET_CI_PERCENT / 100
        ),
        idle_seconds=_pick(raw, "idle_seconds", parse_non_negative_float, DEFAULT_IDLE_SECONDS),
        cuda_graphs=(
            True if raw.cli_cuda_graphs else parse_bool("energy_cuda_graphs", raw.ini_cuda_graphs)
        ),
        store_dir=store_dir,
        save=True if raw.cli_save else parse_bool("energy_save", raw.ini_save),
        compare_run=compare_run,
        compare_fail_joules_fraction=compare_fail.get("joules"),
        compare_fail_fps_fraction=compare_fail.get("fps"),
        gates=resolve_gates_of(raw),
        recommend_joules=_pick(raw, "recommend_joules", parse_positive_float, None),
        recommend_fps=_pick(raw, "recommend_fps", parse_positive_float, None),
        metadata_path=(
            invocation_dir / raw.cli_metadata
            if raw.cli_metadata
            else (ini_dir / raw.ini_metadata.strip() if raw.ini_metadata.strip() else None)
        ),
        metric=(raw.cli_metric or raw.ini_metric.strip() or None),
        resume=resume,
    )
