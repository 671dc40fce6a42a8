"""What does the seed's grid cost, item by item and in all, and where do an item's seconds go?

``run`` writes the seed's zoo (AlexNet, VGG11, VGG16; unpruned and PD1-PD5 at GPR 5, 10, ..., 65;
1000 classes; 224x224: 198 models, as the paper measured them) and measures it with the plugin as
a user would, one shard (``--shard I/N``) or a chosen part of the zoo (``--archs``, ``--pds``,
``--gprs``) at a time, writing the report folder, pytest's JUnit XML and a ``run.json`` (the
command, its exit status, its wall seconds). ``--code DIR`` runs another checkout's package
instead of the installed one (``git archive COMMIT pytest_pruneenergy | tar -x -C DIR``): the
same items before and after a change. ``--stop-after SECONDS`` interrupts pytest (SIGTERM, which
the plugin turns into an interrupted report with everything measured so far), so a run, the
zoo's build included, fits a time limit; ``--resume`` continues it (on the same host: the journal
keys items by host). ``--zoo DIR`` measures a zoo built before (by an earlier
run, in its ``models/``) instead of building one, so parts of one family at different batch
sizes measure the same files and pay for one build. ``--plugin-option=--energy-cuda-graphs``
(repeatable) passes an option on to pytest: the same items measured another way.

    python benchmarks/grid_cost.py run --shard 1/2 --batch-sizes 8,64 --out grid-1    # GPU
    python benchmarks/grid_cost.py run --shard 2/2 --batch-sizes 8,64 --out grid-2    # GPU
    python benchmarks/grid_cost.py render grid-1 grid-2 --page docs/benchmarks/grid-cost/grid.md

``join`` writes the results CSVs of a grid's parts as one (``pruneenergy_results.csv`` in
``--out``), for ``reproduction.py``: the parts' journals need not be kept, since each part
measures whole families at its batch sizes, so its rows, reductions included, stand as they are.

    python benchmarks/grid_cost.py join grid-1 grid-2 --out joined

``render`` reads each run's folder and says, per run and in all: items measured, wall seconds,
seconds per item split into load, warm-up, measuring and the rest of the item (pytest, counting,
pytest-benchmark), the share of items whose CI met the target, and what the full 990-item grid
(five batch sizes) would take at that pace. ``--same-items-as RUN`` adds each run's figures over
only the items RUN measured: the same models before and after a change.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pandas as pd
from benchlib import (
    MEASURING_PATHS,
    code_commit,
    int_list,
    listed,
    median_ci_percent,
    option_value,
    run_for_at_most,
    source_digest,
    write_page,
)

from pytest_pruneenergy.measure.window_stats import STOP_OUT_OF_REACH, STOP_TIME_CAP
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    CI_TARGET_MET,
    CSV_NAME,
    CUDA_GRAPH,
    DEVICE,
    DTYPE,
    GPU,
    ITEM_SECONDS,
    JOULES_PER_SAMPLE,
    LOAD_SECONDS,
    MODEL_NAME,
    PROTOCOL,
    RUN_CSV_NAME,
    RUNTIME,
    SECONDS_MEASURED,
    SECONDS_PER_SAMPLE,
    SECONDS_PER_SAMPLE_STD,
    STATUS,
    STATUS_MEASURED,
    STOP_REASON,
    WARMUP_SECONDS,
    stopped_for,
)
from pytest_pruneenergy.report.terminal import HOST_BOUND_DRIFT_FRACTION, host_paced

SEED_LAYOUTS = ("alexnet", "vgg11", "vgg16")
SEED_PDS = (1, 2, 3, 4, 5)
SEED_GPRS = tuple(range(5, 70, 5))
SEED_CLASSES = 1000
SEED_DATASET = "DATASET"  # the seed's file names carry the placeholder itself
SEED_MODELS = 198
SEED_BATCH_SIZES = 5
RUN_JSON = "run.json"
REPORT = "report"
JUNIT = "junit.xml"
# A resumed run's earlier calls' JUnit files, kept beside the last one's: junit-call1.xml, ...
EARLIER_JUNIT = "junit-call{number}.xml"


def pytest_command(args: argparse.Namespace, models: Path, out: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(models),
        f"--prune-models={models}",
        f"--prune-batch-sizes={args.batch_sizes}",
        f"--prune-device={args.device}",
        f"--energy-report={out / REPORT}",
        f"--junitxml={out / JUNIT}",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    if args.max_seconds is not None:
        command.append(f"--energy-max-seconds={args.max_seconds:g}")
    if args.shard:
        command.append(f"--prune-shard={args.shard}")
    if args.resume:
        command.append("--energy-resume")
    command.extend(args.plugin_option)
    return command


def run(args: argparse.Namespace) -> int:
    from pytest_pruneenergy.models.zoo import build_zoo

    began = time.monotonic()
    out: Path = args.out.resolve()
    models = args.zoo.resolve() if args.zoo is not None else out / "models"
    out.mkdir(parents=True, exist_ok=True)
    # The journal knows the files by their mtimes: a resumed run, or one given a zoo, keeps them.
    if args.zoo is None and not (args.resume and models.is_dir()):
        build_zoo(
            models,
            layouts=args.archs.split(","),
            pds=int_list(args.pds),
            gprs=int_list(args.gprs),
            input_size=224,
            num_classes=SEED_CLASSES,
            dataset=SEED_DATASET,
        )
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.code is not None:
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(args.code.resolve()), environment.get("PYTHONPATH", "")]
        )
    command = pytest_command(args, models, out)
    previous = _read_json(out / RUN_JSON)
    if args.resume and (out / JUNIT).exists():  # pytest would write over the last call's
        earlier = EARLIER_JUNIT.format(number=previous.get("calls", 1))
        (out / JUNIT).replace(out / earlier)
    print(" ".join(command[1:]), flush=True)
    # From the output folder: run from the repository, `python -m pytest` would import the
    # checkout's package ahead of --code's.
    # --stop-after counts the zoo's build too, so that a call fits its time limit.
    status, wall_seconds = run_for_at_most(
        command,
        pytest_seconds_left(args.stop_after, time.monotonic() - began),
        env=environment,
        cwd=out,
    )
    record = {
        "command": command[1:],
        "code": str(args.code) if args.code else "installed",
        # The installed checkout's commit ($PRUNEENERGY_CODE_COMMIT on a copy sent to a GPU).
        "commit": None if args.code else code_commit()["commit"],
        # What measured: runs of two commits with the same digest ran one protocol.
        "measuring_sha256": None if args.code else source_digest(paths=MEASURING_PATHS),
        "exit_status": status,
        "wall_seconds": wall_seconds + (previous.get("wall_seconds", 0.0) if args.resume else 0.0),
        "calls": (previous.get("calls", 0) if args.resume else 0) + 1,
        # Each call's pytest seconds, in order: the runs of at most some minutes a grid is made of.
        "call_wall_seconds": (previous.get("call_wall_seconds", []) if args.resume else [])
        + [wall_seconds],
    }
    (out / RUN_JSON).write_text(json.dumps(record, indent=1))
    print(f"exit status {status} after {wall_seconds:.0f} s", flush=True)
    return 0


def pytest_seconds_left(stop_after: float | None, spent_seconds: float) -> float | None:
    """What is left of ``--stop-after`` for pytest once ``spent_seconds`` went to building the
    zoo; at least one second, so that a run always starts (and ends by SIGTERM at once)."""
    return None if stop_after is None else max(1.0, stop_after - spent_seconds)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def junit_seconds(path: Path) -> float:
    """The seconds pytest spent in its tests (setup, call and teardown), from JUnit XML."""
    if not path.exists():
        return float("nan")
    return sum(float(case.get("time", 0)) for case in ElementTree.parse(path).iter("testcase"))


def run_test_seconds(folder: Path) -> float:
    """A run's seconds in its tests over all its calls: the last call's JUnit file and the
    earlier calls' kept beside it. A resumed item counts in the call that measured it; in a
    later call it takes next to nothing."""
    earlier = sorted(folder.glob(EARLIER_JUNIT.format(number="*")))
    return junit_seconds(folder / JUNIT) + sum(junit_seconds(path) for path in earlier)


def read_items(folder: Path) -> pd.DataFrame:
    """A run's rows, measured and failed, from its report's results CSV."""
    return pd.read_csv(folder / REPORT / CSV_NAME)


def measured_of(table: pd.DataFrame) -> pd.DataFrame:
    """The measured rows of a run's ``table`` (its failed ones left out)."""
    return table[table[STATUS] == STATUS_MEASURED] if STATUS in table else table


def run_summary(folder: Path, table: pd.DataFrame) -> dict[str, Any]:
    """One run's items, seconds and phases, from its rows (``read_items``) and run.json."""
    record = _read_json(folder / RUN_JSON)
    measured = measured_of(table)
    items = len(measured)
    summary: dict[str, Any] = {
        "run": folder.name,
        "code": record.get("code", "installed"),
        "commit": record.get("commit"),
        "measuring_sha256": record.get("measuring_sha256"),
        "items": items,
        "failed": len(table) - items,
        "batch_sizes": sorted(int(size) for size in measured[BATCH_SIZE].unique()),
        "wall_seconds": record.get("wall_seconds", float("nan")),
        # Runs from before the list was kept were one call each.
        "call_seconds": record.get("call_wall_seconds")
        or [record.get("wall_seconds", float("nan"))],
        "test_seconds": run_test_seconds(folder),
        "measured_seconds": float(measured[SECONDS_MEASURED].sum()),
        "ci_met": int(measured[CI_TARGET_MET].astype(bool).sum())
        if CI_TARGET_MET in measured
        else None,
        "gpu": _gpu(folder),
        "max_seconds": option_value(record.get("command", []), "--energy-max-seconds") or "default",
        "ci_median_percent": median_ci_percent(measured),
    }
    for column, key in (
        (LOAD_SECONDS, "load_seconds"),
        (WARMUP_SECONDS, "warmup_seconds"),
        (ITEM_SECONDS, "item_seconds"),
    ):
        summary[key] = float(measured[column].sum()) if column in measured else None
    if LOAD_SECONDS in measured and WARMUP_SECONDS in measured:
        # A model's first item loads it and warms up in full; its next batch sizes re-warm.
        first = measured[LOAD_SECONDS] > 0
        summary["first_items"] = int(first.sum())
        summary["models"] = int(measured[MODEL_NAME].nunique())
        summary["first_warmup_seconds"] = float(measured.loc[first, WARMUP_SECONDS].sum())
    return summary


def _calls_text(summaries: list[dict[str, Any]]) -> str:
    """How many pytest processes the runs took (a run resumed with --energy-resume is several)
    and the longest of them, in minutes."""
    calls = [seconds for summary in summaries for seconds in summary["call_seconds"]]
    return f"{len(calls)} pytest calls, the longest {max(calls) / 60:.1f} minutes"


def _code_versions_sentence(summaries: list[dict[str, Any]]) -> str:
    """Where the runs of a grid ran different code (or did not say which), a sentence saying
    so: the protocol may differ between them."""
    commits = sorted(
        {str(s.get("commit"))[:7] if s.get("commit") else "unrecorded" for s in summaries}
    )
    if len(commits) == 1 and commits != ["unrecorded"]:
        return ""
    digests = {s.get("measuring_sha256") for s in summaries}
    if (
        len(commits) > 1
        and "unrecorded" not in commits
        and len(digests) == 1
        and None not in digests
    ):
        return (
            f" The runs ran {len(commits)} commits ({', '.join(commits)}) with the same measuring "
            "code (`measuring_sha256` in run.json): one protocol."
        )
    return (
        f" The runs ran {len(commits)} versions of the code ({', '.join(commits)}): one commit "
        "for every run would make them one protocol."
        if len(commits) > 1
        else " The runs did not record their commit."
    )


def _code_cell(summary: dict[str, Any]) -> str:
    """``installed``, with its commit where the run recorded one, or the --code folder."""
    code, commit = summary["code"], summary.get("commit")
    return f"{code} {commit[:7]}" if code == "installed" and commit else code


def rest_seconds(summary: dict[str, Any]) -> float:
    """What pytest spent on a run's items beyond measuring, loading and warming up (all of it
    where those were not recorded)."""
    accounted = sum(
        summary[key] or 0.0 for key in ("measured_seconds", "load_seconds", "warmup_seconds")
    )
    return summary["test_seconds"] - accounted


def rewarmed(summary: dict[str, Any]) -> bool:
    """Whether a run re-warmed a model: measured one at a second batch size."""
    return summary.get("first_items") is not None and summary["items"] > summary["first_items"]


def rewarm_seconds(summary: dict[str, Any]) -> float:
    """The warm-up seconds of a run's items that were not a model's first."""
    return summary["warmup_seconds"] - summary["first_warmup_seconds"]


def full_grid_minutes(summaries: list[dict[str, Any]], models: int, batch_sizes: int) -> float:
    """The minutes ``models`` x ``batch_sizes`` items would take on one GPU, phase by phase
    from the runs: per model a load and a full warm-up, per further batch size a re-warm, per
    item the measuring and the rest of the item, and once pytest's time outside the items.

    Built from phases rather than the runs' pace, because the runs' share of re-warmed items
    (one in two at two batch sizes) is not the grid's (four in five at five).
    """
    items = sum(s["items"] for s in summaries)
    first_items = sum(s["first_items"] for s in summaries)
    load = sum(s["load_seconds"] for s in summaries)
    first_warmup = sum(s["first_warmup_seconds"] for s in summaries)
    rewarm = sum(rewarm_seconds(s) for s in summaries)
    measured = sum(s["measured_seconds"] for s in summaries)
    rest = sum(rest_seconds(s) for s in summaries)
    outside = sum(s["wall_seconds"] - s["test_seconds"] for s in summaries) / len(summaries)
    seconds = (
        models * (load + first_warmup) / first_items
        + models * (batch_sizes - 1) * rewarm / (items - first_items)
        + models * batch_sizes * (measured + rest) / items
        + outside
    )
    return seconds / 60


def batch_size_rows(tables: list[pd.DataFrame]) -> list[dict[str, Any]]:
    """Per batch size over the runs' measured items: how many, how many met the CI target,
    and the minutes their items took (``Item Seconds``: load, warm-up, measuring and the
    item's own wrapping up; pytest's time around the item is not in the CSV)."""
    items = pd.concat(tables, ignore_index=True)
    rows = []
    for batch_size, of_size in items.groupby(BATCH_SIZE):
        seconds = of_size[ITEM_SECONDS].sum()
        rows.append(
            {
                "batch_size": int(batch_size),
                "items": len(of_size),
                "ci_met": int(of_size[CI_TARGET_MET].astype(bool).sum()),
                "seconds_per_item": float(seconds / len(of_size)),
                "measuring_per_item": float(of_size[SECONDS_MEASURED].mean()),
                "minutes": float(seconds / 60),
                # At this pace, all of the seed's models at this batch size.
                "grid_minutes": float(seconds / len(of_size) * SEED_MODELS / 60),
                # Why the items that missed the target stopped; None where a run predates it.
                "out_of_reach": _stopped_for(of_size, STOP_OUT_OF_REACH),
                "time_cap": _stopped_for(of_size, STOP_TIME_CAP),
            }
        )
    return rows


def family_rows(tables: list[pd.DataFrame]) -> list[dict[str, Any]]:
    """Per architecture and batch size over the runs' measured items: how many, their
    seconds each, how many met the CI target, how many ran at the host's pace (``host_paced``,
    the terminal's host-bound line: eager GPU items whose time per sample varied between
    windows) and how many of those missed the target."""
    items = pd.concat(tables, ignore_index=True)
    paced_by_host = host_paced(items)
    met = items[CI_TARGET_MET].astype(bool)
    rows = []
    for (family, batch_size), of_cell in items.groupby([ARCHITECTURE, BATCH_SIZE], sort=False):
        paced = paced_by_host.loc[of_cell.index]
        rows.append(
            {
                "family": str(family),
                "batch_size": int(batch_size),
                "items": len(of_cell),
                "seconds_per_item": float(of_cell[ITEM_SECONDS].mean()),
                "ci_met": int(met.loc[of_cell.index].sum()),
                "host_paced": int(paced.sum()),
                "host_paced_missed": int((paced & ~met.loc[of_cell.index]).sum()),
            }
        )
    return sorted(rows, key=lambda row: (row["family"].casefold(), row["batch_size"]))


def _family_lines(tables: list[pd.DataFrame]) -> list[str]:
    """The table per architecture and batch size; none where a run predates the columns it
    needs."""
    needed = {
        ARCHITECTURE,
        SECONDS_PER_SAMPLE,
        SECONDS_PER_SAMPLE_STD,
        DEVICE,
        PROTOCOL,
        CUDA_GRAPH,
    }
    if not all(needed <= set(table.columns) for table in tables):
        return []
    lines = [
        "",
        "Per architecture and batch size (*host-paced*: time per sample varying by more than "
        f"{100 * HOST_BOUND_DRIFT_FRACTION:g} % between windows, the terminal's `host-bound` "
        "line; *of them missed*: those that did not meet the CI target):",
        "",
        "| architecture | batch | items | s/item | CI met | host-paced, of them missed |",
        "|---|---|---|---|---|---|",
    ]
    for row in family_rows(tables):
        lines.append(
            f"| {row['family']} | {row['batch_size']} | {row['items']} | "
            f"{row['seconds_per_item']:.2f} | {row['ci_met']} "
            f"({100 * row['ci_met'] / row['items']:.0f} %) | {row['host_paced']}, "
            f"{row['host_paced_missed']} |"
        )
    return lines


def _stopped_for(items: pd.DataFrame, reason: str) -> int | None:
    """How many of ``items`` stopped for ``reason`` (``Stop Reason``); None where some item
    does not say why it stopped (a run before the column)."""
    if STOP_REASON not in items or items[STOP_REASON].isna().any():
        return None
    return int(stopped_for(items[STOP_REASON], reason).sum())


def covers_the_grid(tables: list[pd.DataFrame]) -> bool:
    """Whether the runs measured every one of the seed's items: its models at five batch sizes,
    each once."""
    items = pd.concat(tables, ignore_index=True)
    pairs = set(zip(items[MODEL_NAME], items[BATCH_SIZE], strict=True))
    models = {model for model, _ in pairs}
    sizes = {size for _, size in pairs}
    return (
        len(models) == SEED_MODELS
        and len(sizes) == SEED_BATCH_SIZES
        and len(pairs) == len(items) == SEED_MODELS * SEED_BATCH_SIZES
    )


def _batch_size_lines(tables: list[pd.DataFrame]) -> list[str]:
    """The per-batch-size table over runs' measured rows; none where a run predates the
    columns it needs."""
    if not all({ITEM_SECONDS, CI_TARGET_MET} <= set(t.columns) for t in tables):
        return []
    lines = [
        "",
        "Per batch size, over these runs (*minutes*: the items' own seconds, from the model's "
        "load to the item's end, summed; pytest's time around them is not in the CSV):",
        "",
        f"| batch size | items | CI met | s/item | measuring s/item | minutes | {SEED_MODELS} "
        "models, minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = batch_size_rows(tables)
    reasons = all(row["out_of_reach"] is not None for row in rows)
    if reasons:  # the stops' reasons, where every run recorded them
        lines[-2] += " stopped: out of reach, time cap |"
        lines[-1] += "---|"
    for row in rows:
        lines.append(
            f"| {row['batch_size']} | {row['items']} | {row['ci_met']}/{row['items']} "
            f"({100 * row['ci_met'] / row['items']:.0f} %) | {row['seconds_per_item']:.2f} | "
            f"{row['measuring_per_item']:.2f} | {row['minutes']:.1f} | "
            f"{_measured_or_projected(row)} |"
            + (f" {row['out_of_reach']}, {row['time_cap']} |" if reasons else "")
        )
    lines += [
        "",
        f"*{SEED_MODELS} models, minutes*: the items' seconds where every model was measured at "
        "that batch size; else their pace times the seed's models (*projected*: the models "
        "not run are taken to cost what these did).",
    ]
    if len(rows) == SEED_BATCH_SIZES:
        total = sum(row["grid_minutes"] for row in rows)
        whole = all(row["items"] == SEED_MODELS for row in rows)
        lines += [
            "",
            f"All five batch sizes: {total:.1f} minutes of items"
            + ("." if whole else " (in part projected)."),
        ]
    return lines


def _measured_or_projected(row: dict[str, Any]) -> str:
    if row["items"] == SEED_MODELS:
        return f"{row['minutes']:.1f}"
    return f"{row['grid_minutes']:.1f} (projected from {row['items']})"


def same_items_rows(
    tables: list[pd.DataFrame], runs: list[str], reference: pd.DataFrame
) -> list[dict[str, Any]]:
    """Per run, over only the items (model and batch size) that ``reference`` measured: how
    many it has, their mean item and measuring seconds, CI met, median CI95 (%), and the
    median of how far their energy per sample lay from the reference's (%)."""
    theirs = f"{JOULES_PER_SAMPLE} reference"
    reference_energy = reference[[MODEL_NAME, BATCH_SIZE, JOULES_PER_SAMPLE]].rename(
        columns={JOULES_PER_SAMPLE: theirs}
    )
    rows = []
    for run, table in zip(runs, tables, strict=True):
        items = table.merge(reference_energy, on=[MODEL_NAME, BATCH_SIZE])
        if items.empty:
            continue
        off = 100 * (items[JOULES_PER_SAMPLE] - items[theirs]).abs() / items[theirs]
        rows.append(
            {
                "run": run,
                "items": len(items),
                "seconds_per_item": float(items[ITEM_SECONDS].mean()),
                "measuring_per_item": float(items[SECONDS_MEASURED].mean()),
                "ci_met": int(items[CI_TARGET_MET].astype(bool).sum()),
                "ci_median_percent": median_ci_percent(items),
                "energy_off_median_percent": float(off.median()),
            }
        )
    return rows


def _same_items_lines(
    tables: list[pd.DataFrame],
    summaries: list[dict[str, Any]],
    reference: pd.DataFrame,
    reference_folder: Path,
) -> list[str]:
    lines = [
        "",
        f"The same items in each run: the {len(reference)} that {reference_folder.name} "
        "measured (model and batch size):",
        "",
        "| run | code | items | s/item | measuring s/item | CI met | median CI95 (%) | "
        f"median off {reference_folder.name} (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    codes = {summary["run"]: _code_cell(summary) for summary in summaries}
    runs = [summary["run"] for summary in summaries]
    for row in same_items_rows(tables, runs, reference):
        lines.append(
            f"| {row['run']} | {codes[row['run']]} | {row['items']} | "
            f"{row['seconds_per_item']:.2f} | {row['measuring_per_item']:.2f} | "
            f"{row['ci_met']}/{row['items']} | {row['ci_median_percent']:.2f} | "
            f"{row['energy_off_median_percent']:.1f} |"
        )
    lines += [
        "",
        f"*median off {reference_folder.name}*: the median over these items of how far a run's "
        "energy per sample lay from that run's, in percent of it.",
    ]
    return lines


def _gpu(folder: Path) -> str:
    path = folder / REPORT / RUN_CSV_NAME
    if not path.exists():
        return "unknown"
    run_table = pd.read_csv(path)
    return (
        str(run_table[GPU].dropna().iloc[0])
        if GPU in run_table and run_table[GPU].notna().any()
        else "unknown"
    )


def _per_item(total: float | None, items: int) -> str:
    if total is None or items == 0:
        return "not recorded"
    return f"{total / items:.2f}"


def _warmup_cell(summary: dict[str, Any]) -> str:
    """Warm-up per item, and where recorded, a model's first item's and its next items'."""
    cell = _per_item(summary["warmup_seconds"], summary["items"])
    first_items = summary.get("first_items")
    if not first_items or first_items == summary["items"]:
        return cell
    first = summary["first_warmup_seconds"] / first_items
    rewarm = rewarm_seconds(summary) / (summary["items"] - first_items)
    return f"{cell} ({first:.2f} first, {rewarm:.2f} next)"


def render(args: argparse.Namespace) -> int:
    tables = [read_items(folder) for folder in args.folders]
    measured = [measured_of(table) for table in tables]
    summaries = [
        run_summary(folder, table) for folder, table in zip(args.folders, tables, strict=True)
    ]
    folders = " ".join(str(folder) for folder in args.folders)
    if args.same_items_as is not None:
        folders += f" --same-items-as {args.same_items_as}"
    lines = [
        "# Grid cost: rendered runs",
        "",
        f"Rendered by `python benchmarks/grid_cost.py render {folders} --page {args.page}`.",
        "",
        "Seconds per item are means over the run's measured items. *Measuring* is the energy "
        "protocol's timed windows; *load* reading and building the model (once per model, "
        "shown per item); *warm-up* the passes before the first window (in brackets: for a "
        "model's first batch size, and for its next ones, which re-warm a hot device); *rest "
        "of item* whatever else pytest spent on the item (the input, the first pass, "
        "pytest-benchmark's share, setup); "
        "*outside items* the wall time pytest spent outside its tests (start, collection, "
        "report, figures). Where load and warm-up are *not recorded* (code from before those "
        "columns), *rest of item* includes them.",
        "",
        "| run | code | GPU | items | batch sizes | cap s | wall s | s/item | measuring | load "
        "| warm-up | rest of item | outside items s | CI met | median CI95 (%) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for summary in summaries:
        items = summary["items"]
        rest = rest_seconds(summary)
        outside = summary["wall_seconds"] - summary["test_seconds"]
        met = summary["ci_met"]
        met_text = (
            "not recorded" if met is None else f"{met}/{items} ({100 * met / max(items, 1):.0f} %)"
        )
        lines.append(
            f"| {summary['run']} | {_code_cell(summary)} | {summary['gpu']} | {items} | "
            f"{','.join(map(str, summary['batch_sizes']))} | {summary['max_seconds']} | "
            f"{summary['wall_seconds']:.0f} | "
            f"{summary['wall_seconds'] / max(items, 1):.2f} | "
            f"{_per_item(summary['measured_seconds'], items)} | "
            f"{_per_item(summary['load_seconds'], items)} | "
            f"{_warmup_cell(summary)} | {_per_item(rest, items)} | "
            f"{outside:.0f} | "
            f"{met_text} | {summary['ci_median_percent']:.2f} |"
        )
    if args.same_items_as is None:
        lines += (
            _grid_lines(measured, summaries) + _batch_size_lines(measured) + _family_lines(measured)
        )
    else:  # a comparison of runs: no grid extrapolated from runs of different code
        reference = measured_of(read_items(args.same_items_as))
        lines += _same_items_lines(measured, summaries, reference, args.same_items_as)
    write_page(args.page, lines)
    return 0


def joined_results(folders: list[Path]) -> pd.DataFrame:
    """The parts' results CSVs, row after row, their text as it is (read as strings, so that
    no number is rewritten). Refuses parts with other columns, and an item (model, batch size,
    numeric format and runtime) found twice, as ``pruneenergy merge`` refuses an item measured
    twice."""
    tables = [
        pd.read_csv(folder / REPORT / CSV_NAME, dtype=str, keep_default_na=False)
        for folder in folders
    ]
    for folder, table in zip(folders[1:], tables[1:], strict=True):
        if list(table.columns) != list(tables[0].columns):
            raise SystemExit(f"{folder}: its columns are not those of {folders[0]}")
    joined = pd.concat(tables, ignore_index=True)
    item = [MODEL_NAME, BATCH_SIZE, *(c for c in (DTYPE, RUNTIME) if c in joined.columns)]
    twice = joined[joined.duplicated(item, keep=False)]
    if not twice.empty:
        first = twice.iloc[0]
        variant = " ".join(str(first[column]) for column in item[2:] if first[column])
        raise SystemExit(
            f"{first[MODEL_NAME]} at batch {first[BATCH_SIZE]}"
            + (f" ({variant})" if variant else "")
            + " is in the parts twice: join parts of one grid, each item measured once"
        )
    return joined


def join(args: argparse.Namespace) -> int:
    args.out.mkdir(parents=True, exist_ok=True)
    joined = joined_results(args.folders)
    joined.to_csv(args.out / CSV_NAME, index=False)
    print(f"{len(joined)} rows of {len(args.folders)} parts: {args.out / CSV_NAME}")
    return 0


def _grid_lines(measured: list[pd.DataFrame], summaries: list[dict[str, Any]]) -> list[str]:
    """The grid at the default settings: measured whole, or extrapolated from the runs."""
    lines: list[str] = []
    # The full grid's time is judged at the plugin's default settings only: a run with its own
    # cap measures a different protocol.
    at_defaults = [
        (rows, s)
        for rows, s in zip(measured, summaries, strict=True)
        if s["code"] == "installed" and s["max_seconds"] == "default"
    ]
    grid = [s for _, s in at_defaults]
    items = sum(s["items"] for s in grid)
    wall = sum(s["wall_seconds"] for s in grid)
    met = sum(s["ci_met"] or 0 for s in grid)
    if items and covers_the_grid([rows for rows, _ in at_defaults]):
        lines += [
            "",
            f"**The seed's grid measured whole** at the default settings: {items} items "
            f"({SEED_MODELS} models at {SEED_BATCH_SIZES} batch sizes) in {len(grid)} runs, "
            f"{wall / 60:.1f} minutes of wall time in all (the longest run "
            f"{max(s['wall_seconds'] for s in grid) / 60:.1f}; {_calls_text(grid)}), "
            f"{wall / items:.2f} s per item; "
            f"{met} of them ({100 * met / items:.0f} %) within the CI target."
            + _code_versions_sentence(grid),
        ]
    elif items:
        full_items = SEED_MODELS * SEED_BATCH_SIZES
        names = ", ".join(s["run"] for s in grid)
        lines += [
            "",
            f"Runs of the installed code at the default settings ({names}): "
            f"{items} items in {wall:.0f} s of wall time, {wall / items:.2f} s per item, {met} of "
            f"them ({100 * met / items:.0f} %) within the CI target. At that pace the seed's "
            f"{full_items} items (five batch sizes) take {full_items * wall / items / 60:.0f} "
            "minutes on one GPU (extrapolated from these runs, not measured)."
            + _code_versions_sentence(grid),
        ]
        # A phase-by-phase estimate needs a re-warm seen: runs of one batch size have none.
        if all("first_items" in s for s in grid) and any(rewarmed(s) for s in grid):
            minutes = full_grid_minutes(grid, SEED_MODELS, SEED_BATCH_SIZES)
            sizes = sorted({size for s in grid for size in s["batch_sizes"]})
            assumed = (
                "the models not run cost what these did"
                if len(sizes) == SEED_BATCH_SIZES
                else f"the batch sizes not run measure as long as {listed(sizes)} did"
            )
            lines += [
                "",
                f"Phase by phase (a load and a full warm-up per model, a re-warm for each of its "
                f"other four batch sizes, the measuring and the rest per item, as these runs "
                f"spent them): {minutes:.0f} minutes (extrapolated, not measured; it assumes "
                f"{assumed}).",
            ]
            # Parts of one family at different batch sizes are no shards: a run's own models
            # at five batch sizes would count the others' items again.
            if not shards_of_models([rows for rows, _ in at_defaults]):
                return lines
            per_shard = [
                f"{s['run']} {full_grid_minutes([s], s['models'], SEED_BATCH_SIZES):.1f}"
                for s in grid
                if rewarmed(s)
            ]
            lines += [
                "",
                "Each run's own models at five batch sizes, the same way (minutes): "
                f"{', '.join(per_shard)}. With a shard per GPU the grid takes as long as its "
                "longest shard.",
            ]
    return lines


def shards_of_models(tables: list[pd.DataFrame]) -> bool:
    """Whether no model is in two of the runs' tables: shards of the zoo (``--shard``,
    ``--archs``), not parts of one family at different batch sizes."""
    seen: set[str] = set()
    for table in tables:
        models = set(table[MODEL_NAME])
        if models & seen:
            return False
        seen |= models
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    run_parser = commands.add_parser("run", help="build the seed's zoo and measure (a shard of) it")
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--shard", default=None, help="I/N, as --prune-shard")
    run_parser.add_argument("--batch-sizes", default="8,64")
    run_parser.add_argument("--max-seconds", type=float, default=None, help="default: the plugin's")
    run_parser.add_argument("--archs", default=",".join(SEED_LAYOUTS))
    run_parser.add_argument("--pds", default=",".join(map(str, SEED_PDS)))
    run_parser.add_argument("--gprs", default=",".join(map(str, SEED_GPRS)))
    run_parser.add_argument("--device", default="cuda")
    run_parser.add_argument("--code", type=Path, default=None, help="a checkout's package to run")
    run_parser.add_argument("--stop-after", type=float, default=None, help="seconds, then SIGTERM")
    run_parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    run_parser.add_argument("--zoo", type=Path, default=None, help="a built zoo to measure")
    run_parser.add_argument(
        "--plugin-option",
        action="append",
        default=[],
        help="one more option for pytest, as --plugin-option=--energy-cuda-graphs (repeatable)",
    )
    run_parser.set_defaults(handler=run)
    join_parser = commands.add_parser("join", help="the parts' results CSVs as one")
    join_parser.add_argument("folders", type=Path, nargs="+")
    join_parser.add_argument("--out", type=Path, required=True)
    join_parser.set_defaults(handler=join)
    render_parser = commands.add_parser("render", help="a page from run folders")
    render_parser.add_argument("folders", type=Path, nargs="+")
    render_parser.add_argument("--page", type=Path, required=True)
    render_parser.add_argument(
        "--same-items-as",
        type=Path,
        default=None,
        help="a run folder: compare every run over only the items it measured (instead of "
        "the grid's totals)",
    )
    render_parser.set_defaults(handler=render)
    args = parser.parse_args()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
