"""The built-in demo: a small zoo of pruned AlexNet/VGG models, measured by the plugin.

One zoo for every machine; what changes with the device is how hard it is measured. On a GPU
the seed's setting (224x224 input, batch sizes up to 64); on a CPU a lighter one that finishes
in a few minutes on two cores.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

DEMO_LAYOUTS = ("alexnet", "vgg11", "vgg16")
DEMO_PDS = (1, 2, 3)
DEMO_GPRS = (20, 50)


@dataclass(frozen=True)
class DemoPlan:
    device: str
    input_size: int
    batch_sizes: tuple[int, ...]
    max_seconds_per_item: float


GPU_PLAN = DemoPlan(
    device="cuda", input_size=224, batch_sizes=(1, 8, 32, 64), max_seconds_per_item=4.0
)
CPU_PLAN = DemoPlan(device="cpu", input_size=64, batch_sizes=(1, 8), max_seconds_per_item=1.5)


def choose_plan(device: str) -> DemoPlan:
    """``auto`` takes the GPU plan where torch sees a CUDA device."""
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return GPU_PLAN if device.startswith("cuda") else CPU_PLAN


def pytest_arguments(plan: DemoPlan, models_dir: Path, report_dir: Path) -> list[str]:
    """The plugin's command line for the demo, as a user would type it."""
    return [
        str(models_dir),  # named, so pytest collects nothing else from the current folder
        f"--prune-models={models_dir}",
        f"--prune-batch-sizes={','.join(map(str, plan.batch_sizes))}",
        f"--prune-input-shape=3,{plan.input_size},{plan.input_size}",
        f"--prune-device={plan.device}",
        f"--energy-max-seconds={plan.max_seconds_per_item:g}",
        f"--energy-report={report_dir}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:benchmark",
    ]


def command_line(pytest_args: Sequence[str]) -> str:
    """The pytest command as the demo prints it: quoted for a POSIX shell, so that it can be
    copied and rerun as it is (``-k 'VGG11 and bs1'``)."""
    return "pytest " + shlex.join(pytest_args)
