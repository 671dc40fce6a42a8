"""What does pruning buy the models people deploy, in FP32 and in bf16, and what do masks buy?

``run`` writes, with ``pruneenergy zoo --source torchvision``'s code, ResNet-50 and MobileNetV2
(1000 classes, 224x224) unpruned and pruned by Torch-Pruning at PD1, PD3 and PD5 x GPR 20, 40
and 60 (random channels: energy depends on the shapes, not on which channels go), and VGG16 with
50 % of every convolution's and linear layer's weights zeroed by magnitude
(``torch.nn.utils.prune.l1_unstructured``, then ``prune.remove``) beside the same VGG16 unpruned.
It measures them all with the plugin at batch sizes 1 and 64 in float32 and bfloat16
(``--prune-dtypes``), writing the report folder, pytest's JUnit XML and ``run.json``.

    python benchmarks/real_models.py run --out real             # GPU, torchvision, torch-pruning
    python benchmarks/real_models.py render real docs/real-models.md

``render`` writes the page: per architecture, format and batch size, each pruned model's
compression, energy reduction with its 95 % CI and FPS change; whether pruning saves as much in
bf16 as in FP32; where pruning costs energy; what the masked VGG16 saves.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd
from benchlib import (
    REDUCTION_CI,
    STUDY_REPORT,
    STUDY_RUN_JSON,
    option_value,
    plugin_pytest_command,
    plugin_study_options,
    plugin_study_parser,
    recorded_options,
    run_for_at_most,
    signed,
    study_gpus,
    study_results,
    with_ci,
    write_page,
)

from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    CI_TARGET_MET,
    CR_FLOPS,
    CR_PARAMETERS,
    DTYPE,
    ENERGY_REDUCTION,
    FPS,
    FPS_REDUCTION,
    GPR,
    JOULES_PER_SAMPLE,
    MODEL_NAME,
    PRUNING_DISTRIBUTION,
    ZERO_WEIGHTS,
)

ARCHITECTURES = ("resnet50", "mobilenet_v2")
PDS = (1, 3, 5)
GPRS = (20, 40, 60)
MASKED_ARCHITECTURE = "vgg16"
MASKED_FRACTION = 0.5
DATASET = "IMAGENET"
BATCH_SIZES = "1,64"
DTYPES = "float32,bfloat16"


def write_masked_pair(models: Path, seed: int = 0) -> None:
    """VGG16 unpruned, and the same weights with half of each layer's zeroed by magnitude."""
    import torch
    from torch import nn
    from torch.nn.utils import prune

    from pytest_pruneenergy.models.naming import format_model_name
    from pytest_pruneenergy.models.referenced import build_reference, save_referenced_model

    reference = {"source": "torchvision", "name": MASKED_ARCHITECTURE, "kwargs": {}}
    torch.manual_seed(seed)
    module = build_reference(reference).eval()
    unpruned = format_model_name(MASKED_ARCHITECTURE, DATASET)
    shape = (3, 224, 224)
    save_referenced_model(
        models / f"{unpruned}.pth", module, reference, input_shape=shape, with_weights=True
    )
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(layer, "weight", amount=MASKED_FRACTION)
            prune.remove(layer, "weight")
    masked = format_model_name(
        MASKED_ARCHITECTURE,
        DATASET,
        method="magnitude-unstructured",
        pruning_distribution=1,
        global_pruning_rate_percent=round(100 * MASKED_FRACTION),
    )
    save_referenced_model(
        models / f"{masked}.pth", module, reference, input_shape=shape, with_weights=True
    )


def run(args: argparse.Namespace) -> int:
    from pytest_pruneenergy.models.torch_pruning_zoo import build_pruned_zoo

    out: Path = args.out.resolve()
    models = out / "models"
    if not (args.resume and models.is_dir()):  # the journal knows the files by their mtimes
        references = [
            {"source": "torchvision", "name": name, "kwargs": {}} for name in ARCHITECTURES
        ]
        build_pruned_zoo(models, references=references, pds=PDS, gprs=GPRS, dataset=DATASET)
        write_masked_pair(models)
    options = plugin_study_options(args, out)
    command = plugin_pytest_command(models, out / STUDY_REPORT, options)
    print(" ".join(command[1:]), flush=True)
    status, wall_seconds = run_for_at_most(command, args.stop_after)
    record = {"command": command[1:], "exit_status": status, "wall_seconds": wall_seconds}
    (out / STUDY_RUN_JSON).write_text(json.dumps(record, indent=1))
    return 0


# The recorded pytest options that shape the numbers.
SHAPING_OPTIONS = ("--prune-batch-sizes=", "--prune-dtypes=", "--energy-max-seconds=")


def _percent(value: float) -> str:
    """A share in whole percent; "n/a" where it is unknown (an empty cell)."""
    return "n/a" if not math.isfinite(value) else f"{value:.0f}"


def _reduction(row: pd.Series) -> str:
    return with_ci(row[ENERGY_REDUCTION], row[REDUCTION_CI])


def _pruned(table: pd.DataFrame) -> pd.DataFrame:
    return table[table[MODEL_NAME].str.contains("_PRUNED")]


def bf16_against_fp32(table: pd.DataFrame) -> list[str]:
    """Per architecture and batch size: the mean energy reduction in each format."""
    pruned = _pruned(table[table[ARCHITECTURE] != MASKED_ARCHITECTURE])
    lines = [
        "| architecture | batch | mean energy reduction FP32 (%) | bf16 (%) "
        "| bf16 energy / FP32 energy, unpruned |",
        "|---|---|---|---|---|",
    ]
    unpruned = table[~table[MODEL_NAME].str.contains("_PRUNED")]
    for (architecture, batch), rows in pruned.groupby([ARCHITECTURE, BATCH_SIZE]):
        means = rows.groupby(DTYPE)[ENERGY_REDUCTION].mean()
        base = unpruned[(unpruned[ARCHITECTURE] == architecture) & (unpruned[BATCH_SIZE] == batch)]
        joules = base.set_index(DTYPE)[JOULES_PER_SAMPLE]
        ratio = joules.get("bfloat16", math.nan) / joules.get("float32", math.nan)
        lines.append(
            f"| {architecture} | {batch} | {signed(means.get('float32', math.nan))} | "
            f"{signed(means.get('bfloat16', math.nan))} | {ratio:.2f} |"
        )
    return lines


def costs_energy(table: pd.DataFrame) -> list[str]:
    """The pruned rows whose energy rose beyond their CI."""
    pruned = _pruned(table)
    rose = pruned[pruned[ENERGY_REDUCTION] + pruned[REDUCTION_CI].fillna(0) < 0]
    if rose.empty:
        return ["No pruned model used more energy than its unpruned model beyond the CI."]
    lines = [
        "| model | format | batch | CR params (%) | energy reduction (%) |",
        "|---|---|---|---|---|",
    ]
    for _, row in rose.iterrows():
        lines.append(
            f"| {row[MODEL_NAME]} | {row[DTYPE]} | {row[BATCH_SIZE]} | "
            f"{row[CR_PARAMETERS]:.0f} | {_reduction(row)} |"
        )
    return lines


def detail(table: pd.DataFrame) -> list[str]:
    lines = []
    for (architecture, dtype, batch), rows in _pruned(table).groupby(
        [ARCHITECTURE, DTYPE, BATCH_SIZE]
    ):
        lines += [
            "",
            f"### {architecture}, {dtype}, batch {batch}",
            "",
            "| PD | GPR | CR params (%) | CR FLOPs (%) | energy (J/sample) | energy reduction (%) "
            "| FPS | FPS reduction (%) | zero weights (%) | CI met |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for _, row in rows.sort_values([PRUNING_DISTRIBUTION, GPR]).iterrows():
            lines.append(
                f"| {row[PRUNING_DISTRIBUTION]} | {row[GPR]:g} | {row[CR_PARAMETERS]:.1f} | "
                f"{row[CR_FLOPS]:.1f} | {row[JOULES_PER_SAMPLE]:.4g} | {_reduction(row)} | "
                f"{row[FPS]:.0f} | {signed(row[FPS_REDUCTION])} | {_percent(row[ZERO_WEIGHTS])} | "
                f"{row[CI_TARGET_MET]} |"
            )
    return lines


def _crosses_zero(row: pd.Series) -> bool:
    ci = row[REDUCTION_CI]
    return not math.isfinite(ci) or abs(row[ENERGY_REDUCTION]) <= ci


def answers(table: pd.DataFrame, max_seconds: str) -> list[str]:
    """The page's answers, first: each sentence computed from the run."""
    pruned = _pruned(table[table[ARCHITECTURE] != MASKED_ARCHITECTURE])
    largest, smallest = pruned[BATCH_SIZE].max(), pruned[BATCH_SIZE].min()
    lines = []
    at_largest = pruned[pruned[BATCH_SIZE] == largest]
    means = at_largest.groupby([ARCHITECTURE, DTYPE])[ENERGY_REDUCTION].mean()
    per_arch = "; ".join(
        f"{arch} {means.get((arch, 'float32'), math.nan):+.1f} % in FP32, "
        f"{means.get((arch, 'bfloat16'), math.nan):+.1f} % in bf16"
        for arch in sorted(at_largest[ARCHITECTURE].unique())
    )
    less = all(
        means.get((arch, "bfloat16"), math.nan) < means.get((arch, "float32"), math.nan)
        for arch in at_largest[ARCHITECTURE].unique()
    )
    unpruned = table[
        ~table[MODEL_NAME].str.contains("_PRUNED")
        & (table[ARCHITECTURE] != MASKED_ARCHITECTURE)
        & (table[BATCH_SIZE] == largest)
    ]
    joules = unpruned.groupby(DTYPE)[JOULES_PER_SAMPLE].sum()
    ratio = joules.get("bfloat16", math.nan) / joules.get("float32", math.nan)
    lines.append(
        f"- **bf16.** At batch {largest}, pruning saved "
        f"{'less energy in bf16 than in FP32' if less else 'not uniformly less in bf16'} "
        f"(mean energy reduction over the PD x GPR grid: {per_arch}). The unpruned models in "
        f"bf16 took {ratio:.2f}x their FP32 energy, so the same channels removed save a share "
        "of a smaller bill."
    )
    low = at_largest[at_largest[GPR] == at_largest[GPR].min()]
    noisy = int(low.apply(_crosses_zero, axis=1).sum())
    lines.append(
        f"- **The low-compression dip.** At batch {largest} and GPR {low[GPR].min():g}, "
        f"reductions ran from {low[ENERGY_REDUCTION].min():+.1f} % to "
        f"{low[ENERGY_REDUCTION].max():+.1f} %; {noisy} of {len(low)} are within their CI of "
        "zero: light pruning buys little, as on AlexNet/VGG."
    )
    at_smallest = pruned[pruned[BATCH_SIZE] == smallest]
    saved = at_smallest[
        (at_smallest[ENERGY_REDUCTION] > 0) & ~at_smallest.apply(_crosses_zero, axis=1)
    ]
    lines.append(
        f"- **Batch {smallest}.** {len(saved)} of {len(at_smallest)} pruned models saved energy "
        f"beyond their CI (mean reduction {at_smallest[ENERGY_REDUCTION].mean():+.1f} %), "
        "consistent with a GPU that waits on kernel launches at batch 1: pruning removes "
        "channels, not kernels."
    )
    masked = _pruned(table[table[ARCHITECTURE] == MASKED_ARCHITECTURE])
    if not masked.empty:
        worst = masked.loc[masked[ENERGY_REDUCTION].abs().idxmax()]
        lines.append(
            f"- **Masks.** VGG16 with {_percent(masked[ZERO_WEIGHTS].max())} % zero weights: "
            f"{int(masked.apply(_crosses_zero, axis=1).sum())} of {len(masked)} "
            "formats and batch sizes within their CI of zero saving (largest mean: "
            f"{_reduction(worst)} %, {worst[DTYPE]} at batch {worst[BATCH_SIZE]}); dense kernels "
            "multiply zeros like any weight."
        )
    met = int(table[CI_TARGET_MET].astype(str).eq("True").sum())
    lines.append(
        f"- **Precision.** {met} of {len(table)} items met the 1 % CI target within "
        f"`--energy-max-seconds={max_seconds}`; the CIs shown are what that budget bought, and "
        "a rerun at the default cap narrows them."
    )
    return lines


def render(args: argparse.Namespace) -> int:
    table = study_results(args.folder)
    run_record = json.loads((args.folder / STUDY_RUN_JSON).read_text())
    shaping = recorded_options(run_record["command"], SHAPING_OPTIONS)
    gpu = study_gpus(args.folder)
    masked = table[table[ARCHITECTURE] == MASKED_ARCHITECTURE]
    masked_pruned = _pruned(masked)
    lines = [
        "# Real models: ResNet-50 and MobileNetV2 pruned by Torch-Pruning, FP32 and bf16",
        "",
        f"Rendered by `python benchmarks/real_models.py render {args.folder} {args.page}` from a "
        f"run on {gpu} ({len(table)} items in {run_record['wall_seconds']:.0f} s; pytest exit "
        f"status {run_record['exit_status']}; measured with {shaping})."
        " The run: `python benchmarks/real_models.py run --out DIR` with those settings "
        "([benchmarks/README.md](../benchmarks/README.md#real_modelspy)).",
        "",
        *answers(
            table, option_value(run_record["command"], "--energy-max-seconds") or "the default"
        ),
        "",
        "## Does pruning save as much in bf16 as in FP32?",
        "",
        *bf16_against_fp32(table),
        "",
        "## Where pruning costs energy",
        "",
        *costs_energy(table),
        "",
        "## Masks: VGG16 with half its weights zeroed",
        "",
        "| format | batch | zero weights (%) | CR params (%) | energy reduction (%) "
        "| FPS reduction (%) |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in masked_pruned.sort_values([DTYPE, BATCH_SIZE]).iterrows():
        lines.append(
            f"| {row[DTYPE]} | {row[BATCH_SIZE]} | {_percent(row[ZERO_WEIGHTS])} | "
            f"{row[CR_PARAMETERS]:.0f} | {_reduction(row)} | {signed(row[FPS_REDUCTION])} |"
        )
    lines += [
        "",
        "## Every pruned model",
        *detail(table[table[ARCHITECTURE] != MASKED_ARCHITECTURE]),
    ]
    write_page(args.page, lines)
    return 0


def main() -> int:
    parser, _ = plugin_study_parser(
        __doc__.splitlines()[0], run, render, batch_sizes=BATCH_SIZES, dtypes=DTYPES
    )
    args = parser.parse_args()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
