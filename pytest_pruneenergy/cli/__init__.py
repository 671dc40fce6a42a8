"""The ``pruneenergy`` command: one subcommand per job, each a parser builder plus a runner.

Heavy modules (torch and what imports it) load inside the runners, so ``pruneenergy --help``
stays fast. Exit codes: 0 success, 1 some model failed or a file could not be written,
2 usage error.
"""

from __future__ import annotations

import argparse

from . import count, demo, merge, report, zoo
from .common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    int_list,
    name_list,
    number_list,
    positive_int_list,
)
from .history import add_compare_command, add_history_command

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "int_list",
    "main",
    "name_list",
    "number_list",
    "positive_int_list",
]


def main(argv: list[str] | None = None) -> int:
    """Run ``pruneenergy`` with ``argv`` (default: the command line); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse has already printed usage or help; hand its code back instead of exiting so
        # that callers (and tests) get an int like from every other path.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    return args.run(args)


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand; each sets ``run``, the function that carries it out."""
    parser = argparse.ArgumentParser(
        prog="pruneenergy",
        description="Count, measure and compare pruned PyTorch models.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    zoo.add_command(commands)
    count.add_command(commands)
    demo.add_command(commands)
    add_history_command(commands)
    add_compare_command(commands)
    report.add_command(commands)
    merge.add_command(commands)
    return parser
