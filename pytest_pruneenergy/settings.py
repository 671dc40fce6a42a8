"""Every option in one table, resolved once into one frozen Settings value.

One option is one row of ``OPTIONS``: its command-line flag, its ini name, earlier spellings of
both, its parser, its default and its help. The plugin registers the rows with pytest
(``plugin/options.py``), and ``resolve_settings`` turns what the command line and the ini file
said into ``Settings``, whose fields are the rows' keys.

Precedence: command line > ini (``[tool.pytest.ini_options]`` or pytest.ini) > default.
Every parser raises SettingsError naming where the value was written (``--flag`` or
``ini_name (ini)``), the bad value and what is allowed. Relative paths start at the folder the
value was written for: the invocation folder for the command line, the ini file's folder for
the ini file.

Nothing here imports pytest: the core reads plain values, never Settings.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common.shapes import format_shape
from .items.numerics import DTYPE_TAGS, dtype_name
from .measure.meters import DEFAULT_WATTS_PER_BUSY_CORE, METER_KINDS, OLD_METER_NAMES
from .measure.protocol import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_TARGET_CI_FRACTION,
    PROTOCOLS,
    ProtocolSettings,
)
from .models.manifest import ManifestError, ManifestLine, parse_manifest
from .models.sharding import Shard
from .track.gates import (
    MAX_JOULES,
    MIN_FPS,
    MIN_REDUCTION,
    SOURCE_COMMAND_LINE,
    SOURCE_INI,
    GateSettings,
    Threshold,
    ThresholdError,
    ThresholdRule,
    parse_rule,
    parse_value,
)
from .track.run_end import StoreRequest
from .track.store import COMPARE_LATEST, DEFAULT_STORE_DIR

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
    index, slash, count = text.strip().partition("/")
    if not slash:
        raise SettingsError(f"{option}: {text!r} is not I/N (e.g. 2/4: the second of four)")
    (shard_index,) = parse_positive_ints(option, index)
    (shard_count,) = parse_positive_ints(option, count)
    if shard_index > shard_count:
        raise SettingsError(f"{option}: {text!r}: shard {shard_index} of only {shard_count}")
    return Shard(shard_index, shard_count)


def parse_dtypes(option: str, text: str) -> tuple[str, ...]:
    """``float32,bf16`` -> ("float32", "bfloat16"), in the given order, repeats dropped."""
    names: list[str] = []
    for part in text.split(","):
        if not part.strip():
            continue
        name = dtype_name(part)
        if name is None:
            raise SettingsError(
                f"{option}: {part.strip()!r} is not one of {', '.join(DTYPE_TAGS)} (or "
                f"{', '.join(DTYPE_TAGS.values())})"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise SettingsError(f"{option}: no numeric format given (got {text!r})")
    return tuple(names)


def parse_report_dir(text: str, base: Path) -> Path | None:
    """An ini value: a folder, ``true`` for the default folder, ``false`` or empty for none."""
    lowered = text.strip().lower()
    if lowered in ("", "0", "false", "no", "off"):
        return None
    if lowered in ("1", "true", "yes", "on"):
        return base / DEFAULT_REPORT_DIR
    return base / text.strip()


def _gate(kind: str) -> Callable[[str, str], float]:
    """A gate option's parser: ThresholdError, which names kind and value, as SettingsError."""

    def parse(option: str, text: str) -> float:
        try:
            return parse_value(kind, text, option)
        except ThresholdError as error:
            raise SettingsError(str(error)) from None

    return parse


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Where a value was written: its name for errors, and the folder its paths start at."""

    name: str
    base: Path
    from_command_line: bool


# Kinds of option, by how pytest takes them and how their text becomes a value:
VALUE = "value"  # --flag=TEXT; ini TEXT
SWITCH = "switch"  # --flag (store_true: can only switch on); ini true/false
OPTIONAL = "optional"  # --flag or --flag=TEXT (nargs="?"); ini TEXT
APPEND = "append"  # --flag=TEXT, repeatable; ini one per line
LINES = "lines"  # ini only: one per line


@dataclass(frozen=True)
class Option:
    """One option: a Settings field, how it is given and read, its default and its help."""

    key: str
    flag: str | None
    ini: str | None
    kind: str
    parse: Callable[[Any, Source], Any]
    # A value, or a function of the ini file's folder (the rootdir without one).
    default: Any
    help: str
    ini_help: str = ""
    metavar: str | None = None
    # For OPTIONAL: the text the bare flag stands for.
    const: str | None = None
    old_flags: tuple[str, ...] = ()
    old_ini_names: tuple[str, ...] = ()
    # The setting changes an item's figures: a journaled measurement made with another value
    # is not reused by --energy-resume, and stored runs that differ here are flagged when
    # compared (numbers_settings).
    changes_numbers: bool = False

    @property
    def dest(self) -> str | None:
        return self.flag.lstrip("-").replace("-", "_") if self.flag else None


def _text(parse: Callable[[str, str], Any]) -> Callable[[Any, Source], Any]:
    """A parser of one text, given the option's name for its errors."""
    return lambda text, source: parse(source.name, str(text))


def _path(text: Any, source: Source) -> Path | None:
    return source.base / str(text).strip() if str(text).strip() else None


def _folders(texts: Any, source: Source) -> tuple[Path, ...]:
    folders = (source.base / text.strip() for text in texts if text.strip())
    return tuple(dict.fromkeys(folder.resolve() for folder in folders))


def _report_dir(text: Any, source: Source) -> Path | None:
    if source.from_command_line:
        return source.base / str(text)
    return parse_report_dir(str(text), source.base)


def _compare_fail(texts: Any, source: Source) -> dict[str, float]:
    return parse_compare_fail(list(texts), source.name)


def _manifest(lines: Any, source: Source) -> tuple[ManifestLine, ...]:
    try:
        return parse_manifest(list(lines))
    except ManifestError as error:
        raise SettingsError(f"{source.name}: {error}") from None


def _rules(lines: Any, source: Source) -> tuple[ThresholdRule, ...]:
    try:
        return tuple(parse_rule(line) for line in lines if line.strip())
    except ThresholdError as error:
        raise SettingsError(str(error)) from None


OPTIONS: tuple[Option, ...] = (
    Option(
        key="model_dirs",
        flag="--prune-models",
        ini="prune_models",
        kind=APPEND,
        parse=_folders,
        default=(),
        metavar="DIR",
        help="folder of model files to measure; repeatable",
        ini_help="folders of model files to measure",
    ),
    Option(
        key="batch_sizes",
        flag="--prune-batch-sizes",
        ini="prune_batch_sizes",
        kind=VALUE,
        parse=_text(parse_batch_sizes),
        default=DEFAULT_BATCH_SIZES,
        metavar="N,N,...",
        help="batch sizes to measure each model at (default: "
        f"{','.join(map(str, DEFAULT_BATCH_SIZES))})",
        ini_help="batch sizes, comma separated",
    ),
    Option(
        key="input_shape",
        changes_numbers=True,
        flag="--prune-input-shape",
        ini="prune_input_shape",
        kind=VALUE,
        parse=_text(parse_positive_ints),
        default=None,
        metavar="C,H,W",
        help="shape of one input sample (default: the shape the model file records, else "
        "3,224,224)",
        ini_help="shape of one input sample, e.g. 3,224,224",
    ),
    Option(
        key="manifest",
        flag=None,
        ini="prune_manifest",
        kind=LINES,
        parse=_manifest,
        default=(),
        help="",
        ini_help="pairs for files outside the naming convention, one a line: "
        "GLOB -> BASELINE [method=M] [pd=N] [gpr=P] [architecture=A] [dataset=D]",
    ),
    Option(
        key="dtypes",
        flag="--prune-dtypes",
        ini="prune_dtypes",
        kind=VALUE,
        parse=_text(parse_dtypes),
        default=(),
        metavar="DTYPE,...",
        help=(
            "measure every model in each numeric format, model and input cast: float32, "
            "bfloat16, float16 (default: as the file saved it)"
        ),
        ini_help="numeric formats, comma separated",
    ),
    Option(
        key="channels_last",
        changes_numbers=True,
        flag="--prune-channels-last",
        ini="prune_channels_last",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help="lay model and input out channels-last (the layout tensor cores read fastest)",
        ini_help="channels-last memory layout (true/false)",
    ),
    Option(
        key="device",
        flag="--prune-device",
        ini="prune_device",
        kind=VALUE,
        parse=_text(parse_device),
        default="auto",
        metavar="DEVICE",
        help="auto (default: first CUDA GPU, else cpu), cuda, cuda:N or cpu",
        ini_help="auto, cuda, cuda:N or cpu",
    ),
    Option(
        key="allow_pickle",
        flag="--prune-allow-pickle",
        ini="prune_allow_pickle",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help=(
            "also load whole pickled modules (torch.save(model)); unpickling runs code from the "
            "file, so only for files you trust"
        ),
        ini_help="load whole pickled modules (true/false)",
    ),
    Option(
        key="report_dir",
        flag="--energy-report",
        ini="energy_report",
        kind=OPTIONAL,
        parse=_report_dir,
        default=None,
        const=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=(
            f"write the CSV and figures to DIR (default: {DEFAULT_REPORT_DIR}/); write it as "
            "--energy-report=DIR so a following test path is not taken for DIR"
        ),
        ini_help="report folder, or true for the default folder",
    ),
    Option(
        key="resume",
        flag="--energy-resume",
        ini="energy_resume",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help=(
            "continue an interrupted run: reuse the measurements in the journal of the "
            "--energy-report folder made of the same files with the same settings, and measure "
            "only the rest"
        ),
        ini_help="continue from the report folder's journal (true/false)",
    ),
    Option(
        key="shard",
        flag="--prune-shard",
        ini="prune_shard",
        kind=VALUE,
        parse=_text(parse_shard),
        default=None,
        metavar="I/N",
        help=(
            "measure only the I-th of N shards of the model families (each family, a baseline "
            "and the models compared with it, stays whole; shards are balanced by their number "
            "of items); pruneenergy merge joins the shards' reports"
        ),
        ini_help="the shard of the model families to measure, I/N",
    ),
    Option(
        key="rounds",
        flag="--energy-rounds",
        ini="energy_rounds",
        kind=VALUE,
        parse=_text(parse_positive_int),
        default=1,
        metavar="N",
        help=(
            "measure every item N times, in rounds over the whole run, and combine them: the CI "
            "then covers drift between items, which one round's cannot (default: 1)"
        ),
        ini_help="rounds to measure every item in",
    ),
    Option(
        key="meter",
        changes_numbers=True,
        flag="--energy-meter",
        ini="energy_meter",
        kind=VALUE,
        parse=_text(parse_meter),
        default="auto",
        metavar="KIND",
        help=(
            f"one of {', '.join(METER_KINDS)} (default: auto, the best meter the device has; an "
            "estimate only where nothing can be measured, and then labelled)"
        ),
        ini_help=f"one of {', '.join(METER_KINDS)}",
    ),
    Option(
        key="max_seconds",
        changes_numbers=True,
        flag="--energy-max-seconds",
        ini="energy_max_seconds",
        kind=VALUE,
        parse=_text(parse_positive_float),
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help=f"time cap per item, warm-up included (default: {DEFAULT_MAX_SECONDS:g})",
        ini_help="time cap per item in seconds",
    ),
    Option(
        key="estimate_watts_per_core",
        changes_numbers=True,
        flag="--energy-estimate-watts-per-core",
        ini="energy_estimate_watts_per_core",
        kind=VALUE,
        parse=_text(parse_positive_float),
        default=DEFAULT_WATTS_PER_BUSY_CORE,
        metavar="W",
        help=(
            "watts per busy CPU core assumed by the estimate meter (default: "
            f"{DEFAULT_WATTS_PER_BUSY_CORE:g})"
        ),
        ini_help="watts per busy CPU core for estimates",
    ),
    Option(
        key="protocol",
        changes_numbers=True,
        flag="--energy-protocol",
        ini="energy_protocol",
        kind=VALUE,
        parse=_text(parse_protocol),
        default="adaptive",
        metavar="NAME",
        help=(
            "adaptive (default: windows aligned to the meter's updates until the CI target or "
            "the time cap) or seed (the seed tool's 20 trials of 100 warm-up and 500 measured "
            "passes, for comparison)"
        ),
        ini_help=f"one of {', '.join(PROTOCOLS)}",
    ),
    Option(
        key="target_ci_fraction",
        changes_numbers=True,
        flag="--energy-target-ci",
        ini="energy_target_ci",
        kind=VALUE,
        parse=_text(parse_target_ci_fraction),
        default=DEFAULT_TARGET_CI_FRACTION,
        metavar="PCT",
        help=(
            "the adaptive protocol stops once the 95 %% confidence half-width of energy per "
            "sample is below PCT %% of the mean (default: "
            f"{100 * DEFAULT_TARGET_CI_FRACTION:g})"
        ),
        ini_help="CI target of the adaptive protocol, in percent",
    ),
    Option(
        key="idle_seconds",
        changes_numbers=True,
        flag="--energy-idle-seconds",
        ini="energy_idle_seconds",
        kind=VALUE,
        parse=_text(parse_non_negative_float),
        default=3.0,
        metavar="S",
        help=(
            "seconds to measure idle power once per device, for dynamic energy = gross - idle "
            "power x time (default: 3; 0: not measured)"
        ),
        ini_help="seconds to measure idle power; 0: not measured",
    ),
    Option(
        key="cuda_graphs",
        changes_numbers=True,
        flag="--energy-cuda-graphs",
        ini="energy_cuda_graphs",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help=(
            "replay each forward pass as one captured CUDA graph: measures launch-bound models "
            "(small ones at small batches) on the GPU rather than the host's launch speed; "
            "results say so in the CSV column 'CUDA Graph'"
        ),
        ini_help="replay forward passes as CUDA graphs (true/false)",
    ),
    Option(
        key="remeasure",
        flag="--energy-remeasure",
        ini="energy_remeasure",
        kind=VALUE,
        parse=_text(parse_bool),
        default=True,
        metavar="true|false",
        help=(
            "measure once more, at the end of the run, each item measured while disturbed or "
            "whose energy contradicts its model's at the neighbouring batch sizes; the row "
            "keeps both (default: true)"
        ),
        ini_help="measure items in doubt once more at the end of the run (true/false)",
    ),
    Option(
        key="min_reduction",
        flag="--energy-min-reduction",
        ini="energy_min_reduction",
        kind=VALUE,
        parse=_text(_gate(MIN_REDUCTION)),
        default=None,
        metavar="PCT",
        help=(
            "energy gate: fail a pruned model whose energy reduction against its baseline is "
            "below PCT %% with 95 %% confidence (checked at the end of the session); per model: "
            "ini energy_thresholds"
        ),
        ini_help="energy gate: minimum energy reduction in percent",
    ),
    Option(
        key="max_joules",
        flag="--energy-max-joules",
        ini="energy_max_joules",
        kind=VALUE,
        parse=_text(_gate(MAX_JOULES)),
        default=None,
        metavar="J",
        help=(
            "energy gate: fail an item whose energy per sample is above J with 95 %% confidence;"
            " per model: ini energy_thresholds"
        ),
        ini_help="energy gate: maximum joules per sample",
    ),
    Option(
        key="min_fps",
        flag="--energy-min-fps",
        ini="energy_min_fps",
        kind=VALUE,
        parse=_text(_gate(MIN_FPS)),
        default=None,
        metavar="N",
        old_flags=("--min-fps",),
        old_ini_names=("min_fps",),
        help=(
            "energy gate: fail an item below N frames per second (FPS has no CI: taken as "
            "exact); per model: ini energy_thresholds"
        ),
        ini_help="energy gate: minimum frames per second",
    ),
    Option(
        key="thresholds",
        flag=None,
        ini="energy_thresholds",
        kind=LINES,
        parse=_rules,
        default=(),
        help="",
        ini_help="energy gates per model, one a line: PATTERN[:bsN]:KIND=VALUE[,KIND=VALUE...]",
    ),
    Option(
        key="strict",
        flag="--energy-strict",
        ini="energy_strict",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help=(
            "an inconclusive energy gate (its 95 %% CI straddles the threshold) fails instead "
            "of warning"
        ),
        ini_help="inconclusive energy gates fail (true/false)",
    ),
    Option(
        key="store_dir",
        flag="--energy-store",
        ini="energy_store",
        kind=VALUE,
        parse=_path,
        default=lambda ini_dir: ini_dir / DEFAULT_STORE_DIR,
        metavar="DIR",
        help=f"folder of stored runs (default: {DEFAULT_STORE_DIR} beside the ini file)",
        ini_help="folder of stored runs",
    ),
    Option(
        key="save",
        flag="--energy-save",
        ini="energy_save",
        kind=SWITCH,
        parse=_text(parse_bool),
        default=False,
        help="store this run (one new JSON file) in the run store",
        ini_help="store every run in the run store (true/false)",
    ),
    Option(
        key="compare",
        flag="--energy-compare",
        ini=None,
        kind=OPTIONAL,
        parse=_text(parse_text),
        default=None,
        const=COMPARE_LATEST,
        metavar="RUN",
        help=(
            "compare with a stored run: a run id or a file (default: the latest complete run "
            "from this machine); write it as --energy-compare=RUN"
        ),
    ),
    Option(
        key="compare_fail",
        flag="--energy-compare-fail",
        ini=None,
        kind=APPEND,
        parse=_compare_fail,
        default={},
        metavar="MEASURE:PCT",
        help=(
            "fail the session when an item regressed beyond PCT against the compared run: "
            "joules:5%%, fps:5%%; repeatable or comma separated; implies --energy-compare"
        ),
    ),
    Option(
        key="step_fail",
        flag="--energy-step-fail",
        ini=None,
        kind=APPEND,
        parse=_compare_fail,
        default={},
        metavar="MEASURE:PCT",
        help=(
            "fail the session when this run sits on a new level: a step found over the stored "
            "runs of this machine and this one, in commit order, beyond PCT (joules:3%%, "
            "fps:3%%); catches a creep that passes every pairwise gate; repeatable or comma "
            "separated"
        ),
    ),
    Option(
        key="step_since",
        flag="--energy-step-since",
        ini="energy_step_since",
        kind=VALUE,
        parse=_text(parse_text),
        default=None,
        metavar="COMMIT",
        help=(
            "--energy-step-fail judges the stored runs from the first run of COMMIT (a hash or "
            "its prefix) on: accepts the level of the runs before it"
        ),
        ini_help="commit from whose runs on --energy-step-fail judges",
    ),
    Option(
        key="markdown_path",
        flag="--energy-markdown",
        ini="energy_markdown",
        kind=VALUE,
        parse=_path,
        default=None,
        metavar="FILE",
        help=(
            "write a markdown summary of the run (key rows, gate, compare and step verdicts) "
            "to FILE; it is also appended to $GITHUB_STEP_SUMMARY where that is set"
        ),
        ini_help="file for the run's markdown summary",
    ),
    Option(
        key="recommend_joules",
        flag="--energy-recommend-joules",
        ini="energy_recommend_joules",
        kind=VALUE,
        parse=_text(parse_positive_float),
        default=None,
        metavar="J",
        old_flags=("--recommend-joules",),
        old_ini_names=("recommend_joules",),
        help="advice in the report: per model, the smallest batch size at or under J joules per "
        "sample (not a gate)",
        ini_help="joules per sample budget for batch size advice",
    ),
    Option(
        key="recommend_fps",
        flag="--energy-recommend-fps",
        ini="energy_recommend_fps",
        kind=VALUE,
        parse=_text(parse_positive_float),
        default=None,
        metavar="N",
        old_flags=("--recommend-fps",),
        old_ini_names=("recommend_fps",),
        help="advice in the report: per model, the smallest batch size reaching N FPS",
        ini_help="FPS need for batch size advice",
    ),
    Option(
        key="metadata_path",
        flag="--energy-metadata",
        ini="energy_metadata",
        kind=VALUE,
        parse=_path,
        default=None,
        metavar="FILE",
        help=(
            "CSV with MODEL_NAME and a metric per model (e.g. accuracy, the seed's "
            "metadata.csv): the report adds the Pareto front of energy and that metric"
        ),
        ini_help="CSV of MODEL_NAME and per-model metrics",
    ),
    Option(
        key="metric",
        flag="--energy-metric",
        ini="energy_metric",
        kind=VALUE,
        parse=_text(parse_text),
        default=None,
        metavar="NAME",
        help="which column of --energy-metadata (default: its only metric)",
        ini_help="the metric column of energy_metadata",
    ),
)
OPTIONS_BY_KEY = {option.key: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """One field per option of OPTIONS (same key), then values derived from several."""

    model_dirs: tuple[Path, ...] = ()
    batch_sizes: tuple[int, ...] = DEFAULT_BATCH_SIZES
    # None: the shape a model file records, else the default input shape.
    input_shape: tuple[int, ...] | None = None
    # Pairs for files outside the naming convention (models/manifest.py).
    manifest: tuple[ManifestLine, ...] = ()
    # Numeric formats to measure each model in (items/numerics.py); empty: as saved.
    dtypes: tuple[str, ...] = ()
    channels_last: bool = False
    device: str = "auto"
    allow_pickle: bool = False
    report_dir: Path | None = None
    # Reuse the journal's measurements of unchanged items (items/journal.py).
    resume: bool = False
    # Only this shard of the families (models/sharding.py); None: all of them.
    shard: Shard | None = None
    # Rounds every item is measured in (items/rounds.py).
    rounds: int = 1
    meter: str = "auto"
    max_seconds: float = DEFAULT_MAX_SECONDS
    estimate_watts_per_core: float = DEFAULT_WATTS_PER_BUSY_CORE
    protocol: str = "adaptive"
    # 95 % CI half-width over mean at which the adaptive protocol stops: 0.01 for 1 %.
    target_ci_fraction: float = DEFAULT_TARGET_CI_FRACTION
    # 0: idle power is not measured, and dynamic energy is left empty.
    idle_seconds: float = 3.0
    # Each pass replayed as one captured CUDA graph (measure/cuda_graphs.py).
    cuda_graphs: bool = False
    # Items in doubt measured once more at the end of the run (items/remeasure.py).
    remeasure: bool = True
    # Energy gates (track/gates.py), all but each item's marker, which is read when it runs.
    min_reduction: float | None = None
    max_joules: float | None = None
    min_fps: float | None = None
    thresholds: tuple[ThresholdRule, ...] = ()
    strict: bool = False
    # The run store (track/store.py).
    store_dir: Path = Path(DEFAULT_STORE_DIR)
    save: bool = False
    # None: no comparison unless a compare_fail gate asks for one; COMPARE_LATEST: the newest
    # complete stored run from this machine; else a run id or the path of a run file.
    compare: str | None = None
    # --energy-compare-fail gates by measure, as fractions (0.05 for 5 %).
    compare_fail: Mapping[str, float] = field(default_factory=dict)
    # --energy-step-fail gates by measure, as fractions, and the commit whose runs they start at
    # (track/history.py).
    step_fail: Mapping[str, float] = field(default_factory=dict)
    step_since: str | None = None
    # A markdown summary of the run (report/markdown.py); None: only $GITHUB_STEP_SUMMARY.
    markdown_path: Path | None = None
    # Advice in the report (report/analysis.py), never a gate.
    recommend_joules: float | None = None
    recommend_fps: float | None = None
    metadata_path: Path | None = None
    metric: str | None = None
    # Gate thresholds by kind: where each came from, for its messages.
    gate_sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.model_dirs)

    @property
    def compare_run(self) -> str | None:
        """The run to compare with: a gate on the comparison needs one, the latest by default."""
        if self.compare is None and self.compare_fail:
            return COMPARE_LATEST
        return self.compare

    @property
    def uses_store(self) -> bool:
        """Whether the end of the run reads or writes the run store."""
        return self.save or self.compare_run is not None or bool(self.step_fail)

    @property
    def protocol_settings(self) -> ProtocolSettings:
        return ProtocolSettings(
            protocol=self.protocol,
            target_ci_fraction=self.target_ci_fraction,
            max_seconds=self.max_seconds,
        )

    @property
    def store_request(self) -> StoreRequest:
        """What --energy-save, --energy-compare and the store's gates ask of the run store."""
        return StoreRequest(
            store_dir=self.store_dir,
            save=self.save,
            compare_run=self.compare_run,
            compare_fail=self.compare_fail,
            step_fail=self.step_fail,
            step_since=self.step_since,
        )

    @functools.cached_property
    def gates(self) -> GateSettings:
        """The energy gates of the command line and the ini file; each item adds its marker."""
        kinds = (MIN_REDUCTION, MAX_JOULES, MIN_FPS)
        given = [(kind, getattr(self, kind)) for kind in kinds if getattr(self, kind) is not None]
        by_source: dict[str, list[Threshold]] = {SOURCE_COMMAND_LINE: [], SOURCE_INI: []}
        for kind, value in given:
            source = self.gate_sources.get(kind, SOURCE_COMMAND_LINE)
            by_source[source].append(Threshold(kind, value, source))
        return GateSettings(
            command_line=tuple(by_source[SOURCE_COMMAND_LINE]),
            rules=self.thresholds,
            ini=tuple(by_source[SOURCE_INI]),
            strict=self.strict,
        )


class RawOptions:
    """What the command line said (None: not given) and what the ini file said, by option key:
    ``RawOptions(cli_batch_sizes="1,8", ini_meter="nvml-counter")``. ``ini_old_names`` says,
    by key, the earlier ini name a value was read from, so that an error names what the file
    says."""

    def __init__(self, *, ini_old_names: Mapping[str, str] | None = None, **values: Any) -> None:
        self.command_line: dict[str, Any] = {}
        self.ini: dict[str, Any] = {}
        self.ini_old_names = dict(ini_old_names or {})
        for name, value in values.items():
            source, _, key = name.partition("_")
            option = OPTIONS_BY_KEY.get(key)
            if source == "cli" and option is not None and option.flag:
                self.command_line[key] = value
            elif source == "ini" and option is not None and option.ini:
                self.ini[key] = value
            else:
                raise TypeError(f"RawOptions: no option value {name!r}")


def numbers_settings(settings: Settings) -> dict[str, Any]:
    """The settings whose rows say they change an item's figures, by key (a shape as text):
    what a journaled measurement must share to be reused, and what a stored run records for
    compare."""
    values = {
        option.key: getattr(settings, option.key) for option in OPTIONS if option.changes_numbers
    }
    if values.get("input_shape") is not None:
        values["input_shape"] = format_shape(values["input_shape"])
    return values


def _given(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return bool(value) or not isinstance(value, (list, tuple))


def resolve_settings(raw: RawOptions, *, invocation_dir: Path, ini_dir: Path) -> Settings:
    """Each option from the command line, else the ini file, else its default; then the rules
    that tie options together."""
    values: dict[str, Any] = {}
    gate_sources: dict[str, str] = {}
    for option in OPTIONS:
        cli_value = raw.command_line.get(option.key)
        ini_value = raw.ini.get(option.key)
        if option.kind == SWITCH and cli_value:
            values[option.key] = True
        elif cli_value is not None and option.kind != SWITCH and _given_on_command_line(cli_value):
            assert option.flag is not None
            values[option.key] = option.parse(cli_value, Source(option.flag, invocation_dir, True))
            gate_sources[option.key] = SOURCE_COMMAND_LINE
        elif _given(ini_value):
            name = raw.ini_old_names.get(option.key, option.ini)
            if isinstance(ini_value, list) and option.kind not in (APPEND, LINES):
                raise SettingsError(_toml_list_message(str(name), ini_value))
            values[option.key] = option.parse(ini_value, Source(f"{name} (ini)", ini_dir, False))
            gate_sources[option.key] = SOURCE_INI
        elif callable(option.default):
            values[option.key] = option.default(ini_dir)
        else:
            values[option.key] = option.default
    settings = Settings(**values, gate_sources=gate_sources)
    if settings.resume and settings.report_dir is None:
        raise SettingsError(
            "--energy-resume continues from the journal in the report folder: give "
            "--energy-report=DIR (the folder of the run to continue)"
        )
    return settings


def _toml_list_message(name: str, values: list[Any]) -> str:
    """pyproject.toml can hold a list where the option is read as one text
    (``prune_batch_sizes = [1, 8]``): say how to write it."""
    text = ",".join(str(value) for value in values)
    return (
        f"{name} (ini): {values!r} is a TOML list, but this option is one string: write "
        f'{name} = "{text}"'
    )


def _given_on_command_line(value: Any) -> bool:
    """A repeatable flag not given is an empty list; any other flag not given is None."""
    return bool(value) if isinstance(value, list) else True
