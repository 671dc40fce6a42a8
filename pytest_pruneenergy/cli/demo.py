"""``pruneenergy demo``: the built-in demo zoo written and measured."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import EXIT_FAILED, out_folder, progress_bar, usage_error


def add_command(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="build the demo zoo and measure it with the pytest plugin",
        description="Write a small zoo (AlexNet, VGG11, VGG16; PD1-3; GPR 20 and 50) to "
        "OUT/models, then run pytest --prune-models on it and write the report to OUT/report. "
        "On a GPU it measures at 224x224 and batch sizes 1-64; on a CPU at 64x64 and batch "
        "sizes 1 and 8, so that it ends in minutes. Arguments after -- go to pytest.",
    )
    demo.add_argument("--out", type=out_folder, default=Path("pruneenergy-demo"), metavar="OUT")
    demo.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    demo.add_argument("pytest_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import pytest

    from ..demo import (
        DEMO_GPRS,
        DEMO_LAYOUTS,
        DEMO_PDS,
        choose_plan,
        command_line,
        pytest_arguments,
    )
    from ..models.zoo import build_zoo
    from ..settings import SettingsError, parse_device

    try:
        parse_device("--device", args.device)
    except SettingsError as error:
        return usage_error("demo", str(error))
    plan = choose_plan(args.device)
    models_dir = args.out / "models"
    try:
        paths = build_zoo(
            models_dir,
            layouts=DEMO_LAYOUTS,
            pds=DEMO_PDS,
            gprs=DEMO_GPRS,
            input_size=plan.input_size,
            progress=progress_bar(sys.stderr),
        )
    except (NotADirectoryError, OSError) as error:
        print(f"pruneenergy demo: cannot write the zoo: {error}", file=sys.stderr)
        return EXIT_FAILED
    pytest_args = pytest_arguments(plan, models_dir, args.out / "report")
    if args.device.startswith("cuda:"):
        pytest_args = [*pytest_args, f"--prune-device={args.device}"]
    extra = [arg for arg in args.pytest_args if arg != "--"]
    print(f"wrote {len(paths)} demo models to {models_dir}; measuring with:")
    print(f"  {command_line([*pytest_args, *extra])}", flush=True)
    return int(pytest.main([*pytest_args, *extra]))
