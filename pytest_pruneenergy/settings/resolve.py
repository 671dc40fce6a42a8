"""What the command line and the ini file said, resolved into ``Settings``: the command line
over the ini file over the default; then the rules that tie options together."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..common.shapes import format_shape
from ..track.thresholds import (
    SOURCE_COMMAND_LINE,
    SOURCE_INI,
)
from .option import (
    APPEND,
    LINES,
    SWITCH,
    Source,
)
from .parsers import (
    SettingsError,
)
from .table import OPTIONS, OPTIONS_BY_KEY
from .values import Settings


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
