"""What one option is: a row of the table (``Option``), where a value was written (``Source``),
how pytest takes it (the kinds), and the converters from what was written to a value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models.manifest import ManifestError, ManifestLine, parse_manifest
from ..track.thresholds import (
    ThresholdError,
    ThresholdRule,
    parse_rule,
)
from .parsers import (
    SettingsError,
    parse_compare_fail,
    parse_report_dir,
)


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


# The default of Option.ini: named after the flag.
INI_FROM_FLAG = "<from the flag>"


@dataclass(frozen=True)
class Option:
    """One option: a Settings field, how it is given and read, its default and its help."""

    key: str
    flag: str | None
    kind: str
    parse: Callable[[Any, Source], Any]
    # A value, or a function of the ini file's folder (the rootdir without one).
    default: Any
    help: str
    # The ini name: by default the flag's (--energy-max-seconds: energy_max_seconds); None for
    # a flag that has none.
    ini: str | None = INI_FROM_FLAG
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

    def __post_init__(self) -> None:
        if self.ini is INI_FROM_FLAG:
            if self.flag is None:
                raise ValueError(f"option {self.key}: no flag to take its ini name from")
            object.__setattr__(self, "ini", self.dest)

    @property
    def dest(self) -> str | None:
        return self.flag.lstrip("-").replace("-", "_") if self.flag else None


def from_text(parse: Callable[[str, str], Any]) -> Callable[[Any, Source], Any]:
    """A parser of one text, given the option's name for its errors."""
    return lambda text, source: parse(source.name, str(text))


def path_value(text: Any, source: Source) -> Path | None:
    """A path; None for an empty ini value (the option's default then), but an error for an
    empty one on the command line (``--energy-store=$UNSET``), which names no path at all."""
    if not str(text).strip():
        _refuse_empty(source)
        return None
    return source.base / str(text).strip()


def _refuse_empty(source: Source) -> None:
    if source.from_command_line:
        raise SettingsError(
            f"{source.name}: an empty path (an unset variable?); give a path, or leave the "
            "option out"
        )


def folders_value(texts: Any, source: Source) -> tuple[Path, ...]:
    folders = (source.base / text.strip() for text in texts if text.strip())
    return tuple(dict.fromkeys(folder.resolve() for folder in folders))


def report_dir_value(text: Any, source: Source) -> Path | None:
    if source.from_command_line:
        if not str(text).strip():  # "--energy-report=": no folder, not the current one
            _refuse_empty(source)
        return source.base / str(text)
    return parse_report_dir(str(text), source.base)


def compare_fail_value(texts: Any, source: Source) -> dict[str, float]:
    return parse_compare_fail(list(texts), source.name)


def manifest_value(lines: Any, source: Source) -> tuple[ManifestLine, ...]:
    try:
        return parse_manifest(list(lines))
    except ManifestError as error:
        raise SettingsError(f"{source.name}: {error}") from None


def rules_value(lines: Any, source: Source) -> tuple[ThresholdRule, ...]:
    try:
        return tuple(parse_rule(line) for line in lines if line.strip())
    except ThresholdError as error:
        raise SettingsError(str(error)) from None
