"""Every option in one table, resolved once into one frozen Settings value.

One option is one row of the table (``table.OPTIONS``): its command-line flag, its ini name,
earlier spellings of both, its parser, its default, whether it changes the numbers, and its
help. The plugin registers the rows with pytest (``plugin/options.py``), and
``resolve_settings`` turns what the command line and the ini file said into ``Settings``, whose
fields are the rows' keys and whose defaults are the rows' defaults.

- ``parsers``: text -> value, each error naming the option, the value and what is allowed;
- ``option``: what a row is, and the converters from what was written to a value;
- ``rows_measuring``, ``rows_results``: the rows; ``table``: all of them, in help order;
- ``values``: ``Settings``; ``resolve``: command line > ini > default, then the rules that
  tie options together.

Precedence: command line > ini (``[tool.pytest.ini_options]`` or pytest.ini) > default.
Relative paths start at the folder the value was written for: the invocation folder for the
command line, the ini file's folder for the ini file.

Nothing here imports pytest: the core reads plain values, never Settings.
"""

from .option import APPEND, LINES, OPTIONAL, SWITCH, VALUE, Option, Source
from .parsers import (
    COMPARE_FAIL_MEASURES,
    DEFAULT_BATCH_SIZES,
    DEFAULT_REPORT_DIR,
    SettingsError,
    parse_batch_sizes,
    parse_bool,
    parse_compare_fail,
    parse_device,
    parse_dtypes,
    parse_meter,
    parse_non_negative_float,
    parse_number,
    parse_positive_float,
    parse_positive_int,
    parse_positive_ints,
    parse_protocol,
    parse_report_dir,
    parse_runtimes,
    parse_shard,
    parse_target_ci_fraction,
    parse_text,
)
from .resolve import RawOptions, numbers_settings, resolve_settings
from .table import OPTIONS, OPTIONS_BY_KEY
from .values import Settings

__all__ = [
    "APPEND",
    "COMPARE_FAIL_MEASURES",
    "DEFAULT_BATCH_SIZES",
    "DEFAULT_REPORT_DIR",
    "LINES",
    "OPTIONAL",
    "OPTIONS",
    "OPTIONS_BY_KEY",
    "SWITCH",
    "VALUE",
    "Option",
    "RawOptions",
    "Settings",
    "SettingsError",
    "Source",
    "numbers_settings",
    "parse_batch_sizes",
    "parse_bool",
    "parse_compare_fail",
    "parse_device",
    "parse_dtypes",
    "parse_meter",
    "parse_non_negative_float",
    "parse_number",
    "parse_positive_float",
    "parse_positive_int",
    "parse_positive_ints",
    "parse_protocol",
    "parse_report_dir",
    "parse_runtimes",
    "parse_shard",
    "parse_target_ci_fraction",
    "parse_text",
    "resolve_settings",
]
