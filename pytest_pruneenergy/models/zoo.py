"""An example zoo: the seed's grid of pruned AlexNet/VGG models, written as described-model files.

Without weights a file holds only the architecture description (a few hundred bytes) and loads
with weights drawn from its seed; energy, FLOPs and parameters of a structurally pruned model do
not depend on trained weight values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from ..common.numbers import is_whole_number
from .architectures import (
    ArchitectureError,
    build_model,
    pruned_architecture,
    unpruned_architecture,
)
from .loading import save_described_model
from .naming import format_model_name

ARCHITECTURE_NAMES = {
    "alexnet": "AlexNet",
    "vgg11": "VGG11",
    "vgg13": "VGG13",
    "vgg16": "VGG16",
    "vgg19": "VGG19",
}
MODEL_FILE_SUFFIX = ".pth"

ProgressCallback = Callable[[int, int, str], None]


def build_zoo(
    out_dir: str | Path,
    *,
    layouts: Iterable[str] = ("alexnet", "vgg11", "vgg16"),
    pds: Iterable[int] = (1, 2, 3, 4, 5),
    gprs: Iterable[float] = (10, 30, 50),
    input_size: int = 224,
    num_classes: int = 10,
    dataset: str = "CIFAR10",
    method: str = "random",
    with_weights: bool = False,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Write one unpruned model per layout and one pruned model per (layout, PD, GPR).

    Every request is checked, and every description derived, before the first file is written:
    bad input raises ArchitectureError (layout, PD, GPR, a layer left without channels, an input
    too small for a layout), ValueError (a name part) or NotADirectoryError (``out_dir``), and
    leaves the disk untouched. ``out_dir`` is created if missing. With ``with_weights`` each file
    also holds the weights that loading it without them would draw from ``seed``.
    ``progress(written, total, file_name)`` is called after each file. Returns the written paths
    in ``plan_zoo``'s order.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: exists and is not a folder; pick another OUTDIR")
    planned = plan_zoo(
        layouts=layouts,
        pds=pds,
        gprs=gprs,
        input_size=input_size,
        num_classes=num_classes,
        dataset=dataset,
        method=method,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    input_shape = (3, input_size, input_size)
    paths = []
    for written, (file_name, architecture) in enumerate(planned.items(), start=1):
        path = out_dir / file_name
        save_described_model(
            path,
            architecture,
            input_shape=input_shape,
            state_dict=_seeded_weights(architecture, seed) if with_weights else None,
            init_seed=seed,
        )
        paths.append(path)
        if progress is not None:
            progress(written, len(planned), file_name)
    return paths


def plan_zoo(
    *,
    layouts: Iterable[str],
    pds: Iterable[int],
    gprs: Iterable[float],
    input_size: int,
    num_classes: int,
    dataset: str,
    method: str,
) -> dict[str, dict[str, Any]]:
    """File name -> architecture description for every model of the zoo.

    Ordered by layout name, then the unpruned model, then PD and GPR in numeric order.

    Pure: raises what ``build_zoo`` raises for bad input, writes nothing.
    """
    if not is_whole_number(input_size) or input_size <= 0:
        raise ArchitectureError(f"input size must be a positive int, got {input_size!r}")
    pds, gprs = sorted(set(pds)), sorted(set(gprs))
    planned: dict[str, dict[str, Any]] = {}
    for layout in sorted(set(layouts)):
        unpruned = unpruned_architecture(layout, num_classes)
        _check_input_fits(unpruned, input_size)
        name = ARCHITECTURE_NAMES[layout]
        planned[_file_name(format_model_name(name, dataset))] = unpruned
        for pd in pds:
            for gpr in gprs:
                stem = format_model_name(
                    name,
                    dataset,
                    method=method,
                    pruning_distribution=pd,
                    global_pruning_rate_percent=gpr,
                )
                planned[_file_name(stem)] = pruned_architecture(layout, pd, gpr, num_classes)
    return planned


def _file_name(stem: str) -> str:
    file_name = stem + MODEL_FILE_SUFFIX
    if Path(file_name).name != file_name or "\\" in file_name:
        raise ValueError(f"model name {stem!r} contains a path separator; check dataset/method")
    return file_name


def _check_input_fits(architecture: dict[str, Any], input_size: int) -> None:
    # Pooling shrinks the input past zero for small images (AlexNet needs 63x63, VGG 32x32);
    # a meta-device pass finds out now instead of when the zoo is measured.
    with torch.device("meta"):
        model = build_model(architecture)
        try:
            model(torch.empty(1, 3, input_size, input_size))
        except RuntimeError as error:
            raise ArchitectureError(
                f"{architecture['layout']} cannot take {input_size}x{input_size} inputs "
                f"({error}); use a larger input size"
            ) from error


def _seeded_weights(architecture: dict[str, Any], seed: int) -> dict[str, torch.Tensor]:
    # The same draw loading.load_model_file makes for a file without weights.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(architecture).state_dict()
