"""The option table (settings.OPTIONS), registered with pytest and read back from it."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from ..settings import APPEND, LINES, OPTIONAL, OPTIONS, SWITCH, Option, RawOptions

GROUP_NAME = "pruneenergy"
GROUP_DESCRIPTION = "energy of pruned models (pytest-pruneenergy)"


def register(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP_NAME, GROUP_DESCRIPTION)
    for option in OPTIONS:
        if option.flag:
            group.addoption(
                option.flag, *option.old_flags, dest=option.dest, **_flag_arguments(option)
            )
        if option.ini:
            ini_type = "linelist" if option.kind in (APPEND, LINES) else None
            parser.addini(option.ini, option.ini_help, type=ini_type)
            for old_name in option.old_ini_names:
                parser.addini(old_name, f"old name of {option.ini}", type=ini_type)


def _flag_arguments(option: Option) -> dict[str, Any]:
    """``addoption``'s arguments for the option's kind; help ends with the ini name."""
    help_text = f"{option.help}. ini: {option.ini}" if option.ini else option.help
    arguments: dict[str, Any] = {"help": help_text}
    if option.kind == SWITCH:
        # None: not given, so that the ini value decides.
        arguments.update(action="store_true", default=None)
    elif option.kind == OPTIONAL:
        arguments.update(nargs="?", const=option.const)
    elif option.kind == APPEND:
        arguments.update(action="append")
    if option.metavar and option.kind != SWITCH:
        arguments["metavar"] = option.metavar
    return arguments


def raw_options(config: pytest.Config) -> RawOptions:
    """Every option's command-line value (None: not given) and ini value."""
    values: dict[str, Any] = {}
    old_names: dict[str, str] = {}
    for option in OPTIONS:
        if option.flag:
            values[f"cli_{option.key}"] = config.getoption(option.dest)
        if option.ini:
            ini_value = _getini(config, option.ini)
            for old_name in option.old_ini_names:  # read only where the current name is unset
                if not ini_value:
                    ini_value = _getini(config, old_name)
                    if ini_value:
                        old_names[option.key] = old_name
            # A TOML list for a text option goes on as a list: the settings say how to write it.
            values[f"ini_{option.key}"] = (
                ini_value
                if option.kind in (APPEND, LINES) or isinstance(ini_value, list)
                else str(ini_value or "")
            )
    return RawOptions(**values, ini_old_names=old_names)


def _getini(config: pytest.Config, name: str) -> Any:
    """The ini value as the file holds it. pytest 9.2 warns that a TOML list for an option of
    one string is deprecated; the settings turn it into an error that says what to write."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pytest.PytestDeprecationWarning)
        return config.getini(name)
