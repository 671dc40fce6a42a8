"""Does pruning's energy saving survive compilation, and what does rounding channels to 8 buy?

``run`` writes, with ``pruneenergy zoo --source torchvision``'s code, ResNet-50 and VGG16
(1000 classes, 224x224) unpruned and pruned by Torch-Pruning (random channels: energy depends
on the shapes, not on which channels go) at each PD and GPR asked, twice: with Torch-Pruning's
free widths (method ``random``) and with every pruned layer kept a multiple of 8 channels
(``round_to=8``, renamed method ``random-round8`` so both pair with the one unpruned model).
It measures them all with the plugin in FP32 and bf16 (``--prune-dtypes``), eager and compiled
(``--prune-runtimes=eager,compile``), writing the report folder, pytest's JUnit XML and
``run.json``. A run cut short (``--stop-after``) goes on with ``--resume``, the journal keeping
every item measured.

    python benchmarks/deployed.py run --out deployed      # GPU, torchvision, torch-pruning
    python benchmarks/deployed.py render deployed docs/deployed.md

``render`` writes the page, answers first: per architecture and format, pruning's mean energy
reduction eager and compiled; rounded against free widths at the same PD and GPR (energy per
sample, FPS, compression); then every item.
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

from pytest_pruneenergy.report.doubts import WARMING_CELSIUS, said_rows, warmed_rows
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    CI_TARGET_MET,
    COMPILE_SECONDS,
    CR_PARAMETERS,
    DISTURBANCES,
    DTYPE,
    ENERGY_REDUCTION,
    FPS,
    GPR,
    ITEM_SECONDS,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_CI95,
    METHOD,
    MODEL_NAME,
    PRUNING_DISTRIBUTION,
    RUNTIME,
    UNALIGNED_X8,
)
from pytest_pruneenergy.report.table import reduction_ci95_or_nan

ARCHITECTURES = ("resnet50", "vgg16")
PDS = "1"
GPRS = "30,60"
ROUND_TO = 8
FREE = "random"
ROUNDED = f"random-round{ROUND_TO}"
DATASET = "IMAGENET"
BATCH_SIZES = "64"
DTYPES = "float32,bfloat16"
RUNTIMES = "eager,compile"
ROUNDING = "rounding"
ROUNDING_SAID = {"free": "free widths", "rounded": f"widths rounded to {ROUND_TO}"}
SHAPING_OPTIONS = (
    "--prune-batch-sizes=",
    "--prune-dtypes=",
    "--prune-runtimes=",
    "--energy-max-seconds=",
)


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def build_models(models: Path, pds: list[int], gprs: list[int]) -> None:
    """The unpruned models, each pruned at every PD x GPR with free widths (``random``) and
    rounded to multiples of 8 (``random-round8``), in one folder."""
    from pytest_pruneenergy.models.torch_pruning_zoo import build_pruned_zoo

    references = [{"source": "torchvision", "name": name, "kwargs": {}} for name in ARCHITECTURES]
    zoo = {"references": references, "pds": pds, "gprs": gprs, "dataset": DATASET}
    build_pruned_zoo(models, **zoo)
    rounded = models / "rounded"
    for path in build_pruned_zoo(rounded, round_to=ROUND_TO, **zoo):
        if "_PRUNED" in path.stem:  # the unpruned models are the same files as above
            path.rename(models / path.name.replace(f"_{FREE}_", f"_{ROUNDED}_"))
        else:
            path.unlink()
    rounded.rmdir()


def run(args: argparse.Namespace) -> int:
    out: Path = args.out.resolve()
    models = out / "models"
    if not (args.resume and models.is_dir()):  # the journal knows the files by their mtimes
        build_models(models, numbers(args.pds), numbers(args.gprs))
    options = plugin_study_options(args, out, f"--prune-runtimes={args.runtimes}")
    command = plugin_pytest_command(models, out / STUDY_REPORT, options)
    print(" ".join(command[1:]), flush=True)
    record_path = out / STUDY_RUN_JSON
    record = json.loads(record_path.read_text()) if args.resume else {}
    record.setdefault("pds", numbers(args.pds))
    record.setdefault("gprs", numbers(args.gprs))
    calls = record.setdefault("calls", [])
    # Written before pytest starts, so that a call cut before pytest returns (a GPU machine's
    # time limit) still leaves its command; its status and wall time stay null.
    calls.append({"command": command[1:], "exit_status": None, "wall_seconds": None})
    record_path.write_text(json.dumps(record, indent=1))
    status, wall_seconds = run_for_at_most(command, args.stop_after)
    calls[-1].update(exit_status=status, wall_seconds=wall_seconds)
    record_path.write_text(json.dumps(record, indent=1))
    return 0


def results(folder: Path) -> pd.DataFrame:
    """The measured rows with each pruned row's reduction CI and how its widths were chosen
    (``free``, ``rounded``; None for an unpruned model)."""
    table = study_results(folder)
    table[ROUNDING] = table[METHOD].map({FREE: "free", ROUNDED: "rounded"})
    return table


def survives_compilation(table: pd.DataFrame) -> list[str]:
    """Per architecture, format, batch size and rounding: pruning's mean energy reduction
    eager and compiled, and what compiling did to the unpruned model's energy per sample."""
    lines = [
        "| architecture | format | batch | widths | mean energy reduction eager (%) "
        "| compiled (%) | unpruned: compiled J / eager J |",
        "|---|---|---|---|---|---|---|",
    ]
    pruned = table[table[ROUNDING].notna()]
    unpruned = table[table[ROUNDING].isna()]
    keys = [ARCHITECTURE, DTYPE, BATCH_SIZE, ROUNDING]
    for (architecture, dtype, batch, rounding), rows in pruned.groupby(keys):
        means = rows.groupby(RUNTIME)[ENERGY_REDUCTION].mean()
        base = unpruned[
            (unpruned[ARCHITECTURE] == architecture)
            & (unpruned[DTYPE] == dtype)
            & (unpruned[BATCH_SIZE] == batch)
        ].set_index(RUNTIME)[JOULES_PER_SAMPLE]
        ratio = base.get("compile", math.nan) / base.get("eager", math.nan)
        lines.append(
            f"| {architecture} | {dtype} | {batch} | {rounding} | "
            f"{signed(means.get('eager', math.nan))} | "
            f"{signed(means.get('compile', math.nan))} | {ratio:.2f} |"
        )
    return lines


def side_by_side(
    table: pd.DataFrame, column: str, values: tuple[str, str], keys: list[str]
) -> pd.DataFrame:
    """The rows whose ``column`` holds the first value joined on ``keys`` to those holding the
    second: one row per key measured both ways, every other column twice, suffixed with the
    value (``Mean Energy per Sample (J) free``)."""
    first, second = (table[table[column] == value] for value in values)
    return pd.merge(first, second, on=keys, suffixes=tuple(f" {value}" for value in values))


def rounding_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (architecture, format, runtime, batch, PD, GPR) measured both ways: the
    rounded model's energy per sample against the free one's, in percent with its 95 % CI,
    its FPS against the free one's, and both compressions and unaligned shares."""
    keys = [ARCHITECTURE, DTYPE, RUNTIME, BATCH_SIZE, PRUNING_DISTRIBUTION, GPR]
    both = side_by_side(table, ROUNDING, ("free", "rounded"), keys).set_index(keys)
    energy_free, energy_rounded = (both[f"{JOULES_PER_SAMPLE} {w}"] for w in ("free", "rounded"))
    ci_free, ci_rounded = (both[f"{JOULES_PER_SAMPLE_CI95} {w}"] for w in ("free", "rounded"))
    pairs = pd.DataFrame(index=both.index)
    pairs["energy change (%)"] = 100 * energy_rounded / energy_free - 100
    pairs["energy change CI95"] = [
        reduction_ci95_or_nan(r, rc, f, fc)
        for r, rc, f, fc in zip(energy_rounded, ci_rounded, energy_free, ci_free, strict=True)
    ]
    pairs["FPS change (%)"] = 100 * both[f"{FPS} rounded"] / both[f"{FPS} free"] - 100
    for widths in ("free", "rounded"):
        pairs[f"CR params {widths} (%)"] = both[f"{CR_PARAMETERS} {widths}"]
        pairs[f"not x8 {widths} (%)"] = both[f"{UNALIGNED_X8} {widths}"]
    return pairs.reset_index().sort_values(keys)


def rounding_summary(pairs: pd.DataFrame) -> list[str]:
    lines = [
        "| architecture | format | runtime | batch | pairs | mean energy change, rounded vs "
        "free (%) | beyond CI: lower / higher | mean FPS change (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (architecture, dtype, runtime, batch), rows in pairs.groupby(
        [ARCHITECTURE, DTYPE, RUNTIME, BATCH_SIZE]
    ):
        change = rows["energy change (%)"]
        lower, higher = beyond_ci(change, rows["energy change CI95"])
        lines.append(
            f"| {architecture} | {dtype} | {runtime} | {batch} | {len(rows)} | "
            f"{signed(change.mean())} | {lower} / {higher} | "
            f"{signed(rows['FPS change (%)'].mean())} |"
        )
    return lines


def compiled_against_eager(table: pd.DataFrame) -> pd.DataFrame:
    """One row per pruned model, format and batch size measured both ways: its energy
    reduction compiled minus eager, in points, with the 95 % CI of that difference (the two
    reductions' CIs in quadrature: independent measurements)."""
    keys = [MODEL_NAME, ARCHITECTURE, DTYPE, BATCH_SIZE, ROUNDING]
    both = side_by_side(table[table[ROUNDING].notna()], RUNTIME, ("eager", "compile"), keys)
    both["difference"] = both[f"{ENERGY_REDUCTION} compile"] - both[f"{ENERGY_REDUCTION} eager"]
    both["difference CI95"] = (
        both[f"{REDUCTION_CI} compile"] ** 2 + both[f"{REDUCTION_CI} eager"] ** 2
    ) ** 0.5
    reductions = [f"{ENERGY_REDUCTION} eager", f"{ENERGY_REDUCTION} compile"]
    return both[[*keys, *reductions, "difference", "difference CI95"]]


def beyond_ci(change: pd.Series, ci: pd.Series) -> tuple[int, int]:
    """How many changes lie below zero, and how many above, by more than their CI (an unknown
    CI counts as neither)."""
    known = ci.fillna(math.inf)
    return int((change + known < 0).sum()), int((change - known > 0).sum())


def headline(compiled: pd.DataFrame) -> str:
    """The answer in one line: per kind of widths, pruning's mean energy reduction eager and
    compiled over the pruned models measured both ways."""
    eager, compile_ = f"{ENERGY_REDUCTION} eager", f"{ENERGY_REDUCTION} compile"
    parts = [
        f"{ROUNDING_SAID[kind]}: {signed(rows[eager].mean())} % eager, "
        f"{signed(rows[compile_].mean())} % compiled"
        for kind, rows in compiled.groupby(ROUNDING, sort=True)
    ]
    return (
        "- **Answer.** Pruning's mean energy saving against the unpruned model, over the "
        f"pruned models measured both ways ({len(compiled)}): " + "; ".join(parts) + "."
    )


def answers(table: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    """The page's answers, first: each sentence computed from the run."""
    lines = []
    compiled = compiled_against_eager(table)
    if not compiled.empty:
        lines.append(headline(compiled))
        smaller, larger = beyond_ci(compiled["difference"], compiled["difference CI95"])
        by_cell = compiled.groupby([ARCHITECTURE, DTYPE, ROUNDING])["difference"].mean()
        lines.append(
            f"- **Compilation.** Of {len(compiled)} pruned models (each format and batch size), "
            f"the energy saving against the unpruned model compiled was smaller than eager "
            f"beyond the CI in {smaller}, larger in {larger}, and the same within the CI in "
            f"{len(compiled) - smaller - larger}. Mean difference, compiled minus eager, in "
            "points: "
            + "; ".join(f"{a} {d} {w} widths {signed(v)}" for (a, d, w), v in by_cell.items())
            + "."
        )
    if not pairs.empty:
        change = pairs["energy change (%)"]
        lower, higher = beyond_ci(change, pairs["energy change CI95"])
        cr_change = (pairs["CR params rounded (%)"] - pairs["CR params free (%)"]).mean()
        lines.append(
            f"- **Rounding to {ROUND_TO}.** Of {len(pairs)} pairs (same architecture, format, "
            f"runtime, PD and GPR), the rounded model used less energy per sample beyond the CI "
            f"in {lower} and more in {higher} (mean change {signed(change.mean())} %, range "
            f"{signed(change.min())} to {signed(change.max())} %); its FPS changed by "
            f"{signed(pairs['FPS change (%)'].mean())} % on average, and its compression in "
            f"parameters by {signed(cr_change)} points (rounding keeps or drops whole groups "
            f"of {ROUND_TO} channels)."
        )
    compile_seconds = table[table[RUNTIME] == "compile"].groupby(ARCHITECTURE)[COMPILE_SECONDS]
    lines.append(
        "- **Compile time**, reported apart from the measurement (median per item): "
        + "; ".join(f"{a} {s.median():.0f} s" for a, s in compile_seconds)
        + "."
    )
    met = int(table[CI_TARGET_MET].astype(str).eq("True").sum())
    lines.append(f"- **Precision.** {met} of {len(table)} items met the 1 % CI target.")
    lines.append(seen(table))
    return lines


def seen(table: pd.DataFrame) -> str:
    """What the run saw that could have corrupted its figures (the CSV's ``Disturbances``, and
    the items measured while the GPU warmed), and which items hit the board's power cap
    themselves rather than through their baseline."""
    disturbed = said_rows(table, DISTURBANCES)
    own = disturbed[DISTURBANCES].astype(str).map(_own_disturbances)
    capped = disturbed[own.str.contains("power cap")]
    named = sorted(
        {
            f"{row[MODEL_NAME].removesuffix('.pth')} ({row[DTYPE]} {row[RUNTIME]})"
            for _, row in capped.iterrows()
        }
    )
    said = (
        f"- **What was seen.** {len(disturbed)} of {len(table)} items were measured while "
        "something could have corrupted them or their comparison (CSV column `Disturbances`; "
        f"their gates are inconclusive): {int((own != '').sum())} themselves, the rest through "
        "their baseline."
    )
    if named:
        said += (
            " The items that ran at the board's power cap themselves, their clocks held back: "
            + "; ".join(named)
            + "."
        )
    warmed = warmed_rows(table)
    return said + (
        f" {len(warmed)} of {len(table)} items were measured while the GPU warmed by "
        f"{WARMING_CELSIUS:g} °C or more (the report's `WARMING`), and may read low."
    )


def _own_disturbances(text: str) -> str:
    """What a ``Disturbances`` cell says of the item itself, less what it says of its baseline
    and of clocks against its baseline's."""
    parts = [part.strip() for part in text.split(";")]
    return "; ".join(part for part in parts if not part.startswith(("its baseline", "SM clock")))


def detail(table: pd.DataFrame) -> list[str]:
    lines = []
    for (architecture, dtype, runtime, batch), rows in table.groupby(
        [ARCHITECTURE, DTYPE, RUNTIME, BATCH_SIZE]
    ):
        lines += [
            "",
            f"### {architecture}, {dtype}, {runtime}, batch {batch}",
            "",
            "| PD | GPR | widths | CR params (%) | widths not x8 (%) | energy (J/sample) "
            "| energy reduction (%) | FPS |",
            "|---|---|---|---|---|---|---|---|",
        ]
        ordered = rows.assign(_pd=rows[PRUNING_DISTRIBUTION].fillna("")).sort_values(
            ["_pd", GPR, ROUNDING], na_position="first"
        )
        for _, row in ordered.iterrows():
            pruned = isinstance(row[ROUNDING], str)
            lines.append(
                f"| {row[PRUNING_DISTRIBUTION] if pruned else 'unpruned'} | "
                f"{f'{row[GPR]:g}' if pruned else ''} | {row[ROUNDING] if pruned else ''} | "
                f"{row[CR_PARAMETERS]:.1f} | {row[UNALIGNED_X8]:.0f} | "
                f"{row[JOULES_PER_SAMPLE]:.4g} | "
                f"{with_ci(row[ENERGY_REDUCTION], row[REDUCTION_CI]) if pruned else ''} | "
                f"{row[FPS]:.0f} |"
            )
    return lines


def planned_items(record: dict, command: list[str]) -> int:
    """How many items one architecture's part of the run holds: its unpruned model and two
    pruned ones (free and rounded) per PD x GPR, at every batch size, format and runtime."""
    models = 1 + 2 * len(record["pds"]) * len(record["gprs"])
    per_model = 1
    for option in ("--prune-batch-sizes", "--prune-dtypes", "--prune-runtimes"):
        per_model *= len((option_value(command, option) or "").split(","))
    return models * per_model


def coverage(table: pd.DataFrame, record: dict) -> str:
    """What the run measured of what it planned, per architecture."""
    planned = planned_items(record, record["calls"][0]["command"])
    counts = table.groupby(ARCHITECTURE).size()
    parts = [f"{a} {int(counts.get(a, 0))} of {planned}" for a in ARCHITECTURES]
    complete = all(int(counts.get(a, 0)) == planned for a in ARCHITECTURES)
    return (
        "Items measured: "
        + ", ".join(parts)
        + ("." if complete else " (the rest: `run --out DIR --resume` on the same folder).")
    )


def calls_said(table: pd.DataFrame, calls: list[dict]) -> str:
    """The run's calls and time: each call's wall time where it returned, and the items'
    own seconds (load, warm-up and measuring) from the CSV either way."""
    cut = sum(1 for call in calls if call["wall_seconds"] is None)
    item_minutes = table[ITEM_SECONDS].sum() / 60
    text = f"{len(calls)} call(s), {item_minutes:.1f} min of item time"
    return text + (f"; {cut} cut at the GPU machine's time limit" if cut else "")


def render(args: argparse.Namespace) -> int:
    table = results(args.folder)
    record = json.loads((args.folder / STUDY_RUN_JSON).read_text())
    calls = record["calls"]
    gpu = study_gpus(args.folder)
    shaping = recorded_options(calls[0]["command"], SHAPING_OPTIONS)
    pairs = rounding_pairs(table)
    lines = [
        "# Models as deployed: does pruning's saving survive compilation, and what does "
        "rounding buy?",
        "",
        f"Rendered by `python benchmarks/deployed.py render {args.folder} {args.page}` from a "
        f"run on {gpu} ({calls_said(table, calls)}; measured with {shaping}). The run: "
        "`python benchmarks/deployed.py run --out DIR` with those settings "
        "([benchmarks/README.md](../benchmarks/README.md#deployedpy)). " + coverage(table, record),
        "",
        *answers(table, pairs),
        "",
        "## Does pruning's saving survive compilation?",
        "",
        *survives_compilation(table),
        "",
        f"## What rounding to {ROUND_TO} channels buys",
        "",
        *rounding_summary(pairs),
        "",
        "## Every item",
        *detail(table),
    ]
    write_page(args.page, lines)
    return 0


def main() -> int:
    parser, run_parser = plugin_study_parser(
        __doc__.splitlines()[0], run, render, batch_sizes=BATCH_SIZES, dtypes=DTYPES
    )
    run_parser.add_argument("--pds", default=PDS)
    run_parser.add_argument("--gprs", default=GPRS, help="percent")
    run_parser.add_argument("--runtimes", default=RUNTIMES)
    args = parser.parse_args()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
