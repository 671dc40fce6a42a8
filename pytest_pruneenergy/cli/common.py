"""What the subcommands share: exit codes, the comma-separated list arguments (read by the
option parsers of ``settings``, so that a number means the same on the command line of
``pytest`` and of ``pruneenergy``), the progress bar and the usage error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO, TypeVar

from ..settings import SettingsError, parse_number, parse_positive_float, parse_positive_int

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
PROGRESS_BAR_WIDTH = 30

Item = TypeVar("Item")
# The settings' parsers name the option in their errors; argparse names it itself.
_UNNAMED = "\0"


def int_list(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``; argparse reports the error with the option's name."""
    return _list_of(_whole_number)(text)


def positive_int_list(text: str) -> list[int]:
    """Like ``int_list``, for sizes: every number must be at least 1."""
    return _list_of(parse_positive_int)(text)


def number_list(text: str) -> list[float]:
    """``"10,12.5"`` -> ``[10, 12.5]``: whole numbers stay ints, so file names read ``GPR-10``."""
    return _list_of(_number)(text)


def name_list(text: str) -> list[str]:
    """``"AlexNet,vgg16"`` -> ``["alexnet", "vgg16"]``."""
    return [item.lower() for item in _items(text)]


def out_folder(text: str) -> Path:
    """A folder to write to, refused before any work where it cannot be one: empty (an unset
    variable would otherwise mean the current folder) or a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (an unset variable?); give a folder")
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder")
    return path


def batch_size(text: str) -> int:
    """One batch size: a whole number of at least 1, as ``--prune-batch-sizes`` takes."""
    return _argument(parse_positive_int)(text)


def positive_number(text: str) -> float:
    """A number greater than 0 and finite, as the plugin's ``--energy-recommend-*`` take."""
    return _argument(parse_positive_float)(text)


def _list_of(parse: Callable[[str, str], Item]) -> Callable[[str], list[Item]]:
    """A list argument whose items ``parse`` (a settings parser) reads, its SettingsError as
    argparse's ArgumentTypeError."""
    one = _argument(parse)
    return lambda text: [one(item) for item in _items(text)]


def _argument(parse: Callable[[str, str], Item]) -> Callable[[str], Item]:
    """An argument ``parse`` (a settings parser) reads, its SettingsError as argparse's
    ArgumentTypeError, which argparse reports with the option's name."""

    def parse_one(text: str) -> Item:
        try:
            return parse(_UNNAMED, text)
        except SettingsError as error:
            message = str(error).removeprefix(f"{_UNNAMED}: ")
            raise argparse.ArgumentTypeError(message) from None

    return parse_one


def _items(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if "" in items:
        raise argparse.ArgumentTypeError(f"{text!r} has an empty item")
    return items


def _number(option: str, text: str) -> float:
    number = parse_number(option, text)
    return int(number) if number.is_integer() else number


def _whole_number(option: str, text: str) -> int:
    number = _number(option, text)
    if not isinstance(number, int):
        raise SettingsError(f"{option}: {text!r} is not a whole number")
    return number


def usage_error(command: str, message: str) -> int:
    print(f"pruneenergy {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def progress_bar(stream: TextIO) -> Callable[[int, int, str], None] | None:
    # A redrawn bar only makes sense on a terminal; in CI logs it would be one line per model.
    if not stream.isatty():
        return None

    def draw(done: int, total: int, name: str) -> None:
        filled = PROGRESS_BAR_WIDTH * done // total
        bar = "#" * filled + "." * (PROGRESS_BAR_WIDTH - filled)
        stream.write(f"\r[{bar}] {done}/{total} {name}\x1b[K")  # \x1b[K: erase a longer name
        if done == total:
            stream.write("\n")
        stream.flush()

    return draw
