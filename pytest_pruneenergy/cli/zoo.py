"""``pruneenergy zoo``: write a grid of pruned model files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    int_list,
    name_list,
    number_list,
    positive_int_list,
    progress_bar,
    usage_error,
)

ROUND_TO_PROBLEM = (
    "--round-to takes one number, and is Torch-Pruning's: use it with --source torchvision or timm"
)


def add_command(commands: argparse._SubParsersAction) -> None:
    zoo = commands.add_parser(
        "zoo",
        help="write a grid of pruned model files: the seed's AlexNet/VGG, or any torchvision "
        "or timm CNN pruned by Torch-Pruning",
        description="Write one unpruned model per architecture and one pruned model per "
        "(architecture, PD, GPR). --source seed (default): the seed's AlexNet/VGG layouts as "
        "described-model files. --source torchvision or timm: those libraries' models (by "
        "name in --archs, e.g. resnet50,mobilenet_v2) pruned by Torch-Pruning with the seed's "
        "PD shapes over depth, as referenced-model files (no code, weights only with "
        "--with-weights; needs pip install 'pytest-pruneenergy[prune]').",
    )
    zoo.add_argument("out_dir", metavar="OUTDIR", type=Path)
    zoo.add_argument("--archs", type=name_list, default=["alexnet", "vgg11", "vgg16"])
    zoo.add_argument("--pds", type=int_list, default=[1, 2, 3, 4, 5])
    zoo.add_argument("--gprs", type=number_list, default=[10, 30, 50], help="percent")
    zoo.add_argument("--input-size", type=int, default=224, help="pixels per side")
    zoo.add_argument(
        "--num-classes",
        type=int,
        default=None,
        help="output classes (default: 10 for --source seed, 1000 otherwise)",
    )
    zoo.add_argument(
        "--dataset",
        default=None,
        help="dataset part of the file names (default: CIFAR10 for --source seed, "
        "IMAGENET otherwise, as their classifiers are ImageNet's)",
    )
    zoo.add_argument("--method", default="random")
    zoo.add_argument("--with-weights", action="store_true", help="store random weights too")
    zoo.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    zoo.add_argument(
        "--source",
        choices=("seed", "torchvision", "timm"),
        default="seed",
        help="where the architectures come from (default: seed)",
    )
    zoo.add_argument(
        "--round-to",
        type=positive_int_list,
        default=None,
        metavar="N",
        help="with --source torchvision or timm: Torch-Pruning keeps each pruned layer's "
        "channels a multiple of N (8 for tensor cores), as its round_to does",
    )
    zoo.set_defaults(run=_run_zoo)


def _run_zoo(args: argparse.Namespace) -> int:
    seed_source = args.source == "seed"
    if args.round_to is not None and (seed_source or len(args.round_to) != 1):
        return usage_error("zoo", ROUND_TO_PROBLEM)
    if args.num_classes is None:
        args.num_classes = 10 if seed_source else 1000
    if args.dataset is None:
        args.dataset = "CIFAR10" if seed_source else "IMAGENET"
    common = {
        "pds": args.pds,
        "gprs": args.gprs,
        "input_size": args.input_size,
        "dataset": args.dataset,
        "method": args.method,
        "with_weights": args.with_weights,
        "seed": args.seed,
        "progress": progress_bar(sys.stderr),
    }
    if seed_source:
        from ..models.architectures import ArchitectureError
        from ..models.zoo import build_zoo

        def build() -> list[Path]:
            return build_zoo(
                args.out_dir, layouts=args.archs, num_classes=args.num_classes, **common
            )

        usage_errors: tuple[type[Exception], ...] = (
            ArchitectureError,
            ValueError,
            NotADirectoryError,
        )
    else:
        from ..models.referenced import ReferenceProblem
        from ..models.torch_pruning_zoo import TorchPruningMissing, build_pruned_zoo

        references = [
            {"source": args.source, "name": name, "kwargs": {"num_classes": args.num_classes}}
            for name in args.archs
        ]

        def build() -> list[Path]:
            round_to = None if args.round_to is None else args.round_to[0]
            return build_pruned_zoo(
                args.out_dir, references=references, round_to=round_to, **common
            )

        usage_errors = (TorchPruningMissing, ReferenceProblem, ValueError)
    try:
        paths = build()
    except usage_errors as error:
        return usage_error("zoo", str(error))
    except OSError as error:
        print(f"pruneenergy zoo: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {len(paths)} model files to {args.out_dir}")
    return EXIT_OK
