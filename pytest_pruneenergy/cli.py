"""The ``pruneenergy`` command: one subcommand per job, each a parser builder plus a runner.

Heavy modules (torch and what imports it) load inside the runners, so ``pruneenergy --help``
stays fast. Exit codes: 0 success, 1 some model failed or a file could not be written,
2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .common.shapes import format_shape
from .models.loading import DEFAULT_INPUT_SHAPE

if TYPE_CHECKING:
    from .models.counting import ModelCounts
    from .track.history import HistorySeries

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PROGRESS_BAR_WIDTH = 30
COUNT_CSV_HEADER = ("model", "params", "macs", "flops_2x_macs", "input_shape", "fvcore_flops")
HISTORY_CSV_NAME = "energy_history.csv"

CountRow = tuple[str, "ModelCounts", tuple[int, ...]]  # model name, counts, input shape


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
    _add_zoo_command(commands)
    _add_count_command(commands)
    _add_demo_command(commands)
    _add_history_command(commands)
    _add_compare_command(commands)
    _add_report_command(commands)
    _add_merge_command(commands)
    return parser


# -- list options ----------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    """``"1,2,3"`` -> ``[1, 2, 3]``; argparse reports the error with the option's name."""
    return [_whole_number(item) for item in _items(text)]


def positive_int_list(text: str) -> list[int]:
    """Like ``int_list``, for sizes: every number must be above zero."""
    numbers = int_list(text)
    for number in numbers:
        if number <= 0:
            raise argparse.ArgumentTypeError(f"'{number}' is not a positive number")
    return numbers


def number_list(text: str) -> list[float]:
    """``"10,12.5"`` -> ``[10, 12.5]``: whole numbers stay ints, so file names read ``GPR-10``."""
    return [_number(item) for item in _items(text)]


def name_list(text: str) -> list[str]:
    """``"AlexNet,vgg16"`` -> ``["alexnet", "vgg16"]``."""
    return [item.lower() for item in _items(text)]


def _items(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if "" in items:
        raise argparse.ArgumentTypeError(f"{text!r} has an empty item")
    return items


def _whole_number(item: str) -> int:
    number = _number(item)
    if not isinstance(number, int):
        raise argparse.ArgumentTypeError(f"{item!r} is not a whole number")
    return number


def _number(item: str) -> float:
    try:
        number = float(item)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{item!r} is not a number") from None
    return int(number) if number.is_integer() else number


# -- zoo -------------------------------------------------------------------------------------


def _add_zoo_command(commands: argparse._SubParsersAction) -> None:
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
    zoo.set_defaults(run=_run_zoo)


def _run_zoo(args: argparse.Namespace) -> int:
    seed_source = args.source == "seed"
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
        "progress": _progress_bar(sys.stderr),
    }
    if seed_source:
        from .models.architectures import ArchitectureError
        from .models.zoo import build_zoo

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
        from .models.referenced import ReferenceProblem
        from .models.torch_pruning_zoo import TorchPruningMissing, build_pruned_zoo

        references = [
            {"source": args.source, "name": name, "kwargs": {"num_classes": args.num_classes}}
            for name in args.archs
        ]

        def build() -> list[Path]:
            return build_pruned_zoo(args.out_dir, references=references, **common)

        usage_errors = (TorchPruningMissing, ReferenceProblem, ValueError)
    try:
        paths = build()
    except usage_errors as error:
        return _usage_error("zoo", str(error))
    except OSError as error:
        print(f"pruneenergy zoo: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {len(paths)} model files to {args.out_dir}")
    return EXIT_OK


def _progress_bar(stream: TextIO) -> Callable[[int, int, str], None] | None:
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


# -- demo ------------------------------------------------------------------------------------


def _add_demo_command(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="build the demo zoo and measure it with the pytest plugin",
        description="Write a small zoo (AlexNet, VGG11, VGG16; PD1-3; GPR 20 and 50) to "
        "OUT/models, then run pytest --prune-models on it and write the report to OUT/report. "
        "On a GPU it measures at 224x224 and batch sizes 1-64; on a CPU at 64x64 and batch "
        "sizes 1 and 8, so that it ends in minutes. Arguments after -- go to pytest.",
    )
    demo.add_argument("--out", type=Path, default=Path("pruneenergy-demo"), metavar="OUT")
    demo.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    demo.add_argument("pytest_args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    demo.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    import pytest

    from .demo import DEMO_GPRS, DEMO_LAYOUTS, DEMO_PDS, choose_plan, command_line, pytest_arguments
    from .models.zoo import build_zoo
    from .settings import SettingsError, parse_device

    try:
        parse_device("--device", args.device)
    except SettingsError as error:
        return _usage_error("demo", str(error))
    plan = choose_plan(args.device)
    models_dir = args.out / "models"
    try:
        paths = build_zoo(
            models_dir,
            layouts=DEMO_LAYOUTS,
            pds=DEMO_PDS,
            gprs=DEMO_GPRS,
            input_size=plan.input_size,
            progress=_progress_bar(sys.stderr),
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


# -- count -----------------------------------------------------------------------------------


def _add_count_command(commands: argparse._SubParsersAction) -> None:
    count = commands.add_parser(
        "count",
        help="print parameters, MACs and FLOPs of model files",
        description="Print parameters, MACs, FLOPs (= 2 x MACs) and fvcore's FLOPs (the seed "
        "tool's count) per sample of model files, or of the model files directly inside "
        "folders. Described-model files (pruneenergy zoo) are counted from their description "
        "alone, without drawing or reading weights.",
    )
    count.add_argument("paths", metavar="PATH", type=Path, nargs="+")
    count.add_argument("--csv", type=Path, metavar="FILE", help="also write the table as CSV")
    count.add_argument(
        "--input-shape",
        type=positive_int_list,
        help="C,H,W without the batch; default: the file's own, else 3,224,224",
    )
    count.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load whole pickled modules (runs code from the file: only for trusted files)",
    )
    count.set_defaults(run=_run_count)


def _run_count(args: argparse.Namespace) -> int:
    from .models.loading import MODEL_FILE_SUFFIXES

    missing = [path for path in args.paths if not path.exists()]
    if missing:
        return _usage_error(
            "count", "; ".join(f"{path}: no such file or folder" for path in missing)
        )
    files = model_files(args.paths)
    if not files:
        return _usage_error(
            "count", f"no model files ({', '.join(MODEL_FILE_SUFFIXES)}) in the given folders"
        )
    rows = []
    for path in files:
        row = _count_file(path, args.input_shape, allow_pickle=args.allow_pickle)
        if row is not None:
            rows.append(row)
    if rows:
        print(format_count_table(rows))
    if args.csv is not None:
        try:
            write_count_csv(args.csv, rows)
        except OSError as error:
            print(f"pruneenergy count: cannot write {args.csv}: {error}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK if len(rows) == len(files) else EXIT_FAILED


def model_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders give their model files as the plugin finds them."""
    from .models.discovery import list_model_files

    files = []
    for path in paths:
        files += list_model_files(path) if path.is_dir() else [path]
    return files


def _count_file(
    path: Path, input_shape: list[int] | None, *, allow_pickle: bool
) -> CountRow | None:
    from .common.errors import COUNT_SHAPE_OPTION, count_failure
    from .models.counting import count_description, count_model
    from .models.loading import ModelLoadError, PickleRefused, load_model_file, read_description

    description = read_description(path)
    if description is not None:
        shape = tuple(input_shape or description.input_shape)
        try:
            counts = count_description(description, shape)
        except Exception:  # e.g. an input too small: the full load below reports it
            counts = None
        if counts is not None:
            return (path.stem, counts, shape)
    try:
        loaded = load_model_file(path, allow_pickle=allow_pickle)
    except PickleRefused as error:
        print(
            f"pruneenergy count: {error} (here: pruneenergy count --allow-pickle)", file=sys.stderr
        )
        return None
    except ModelLoadError as error:
        print(f"pruneenergy count: {error}", file=sys.stderr)
        return None
    shape = tuple(input_shape or loaded.input_shape or DEFAULT_INPUT_SHAPE)
    try:
        counts = count_model(loaded.module, shape)
    except Exception as error:  # the model's own forward code can raise anything
        line = count_failure(str(path), shape, error, COUNT_SHAPE_OPTION)
        print(f"pruneenergy count: {line}", file=sys.stderr)
        return None
    return (path.stem, counts, shape)


def format_count_table(rows: Sequence[CountRow]) -> str:
    """A plain-text table, one model per line, numbers with thousands separators."""
    header = ("model", "params", "MACs", "FLOPs", "fvcore", "input")
    lines = [
        (
            name,
            f"{counts.params:,}",
            f"{counts.macs:,}",
            f"{counts.flops:,}",
            "-" if counts.fvcore_flops is None else f"{counts.fvcore_flops:,}",
            format_shape(shape),
        )
        for name, counts, shape in rows
    ]
    widths = [max(len(line[column]) for line in [header, *lines]) for column in range(6)]

    def render(cells: Sequence[str]) -> str:
        name, *numbers, shape = cells
        aligned = [number.rjust(width) for number, width in zip(numbers, widths[1:5], strict=True)]
        return "  ".join([name.ljust(widths[0]), *aligned, shape]).rstrip()

    notes = [
        "per sample (batch of one); FLOPs = 2 x MACs (one multiply-add = 2 FLOPs)",
        "fvcore = the seed tool's FLOPs (fvcore: MACs plus pooling and norm elements; its CSV "
        "multiplies them by the batch size)",
    ]
    return "\n".join([*notes, render(header), *(render(line) for line in lines)])


def write_count_csv(path: Path, rows: Sequence[CountRow]) -> None:
    """The table of ``format_count_table`` as CSV, with raw integers (``fvcore_flops`` empty
    where unknown)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COUNT_CSV_HEADER)
        for name, counts, shape in rows:
            fvcore = "" if counts.fvcore_flops is None else counts.fvcore_flops
            writer.writerow(
                [name, counts.params, counts.macs, counts.flops, format_shape(shape), fvcore]
            )


# -- history and compare -----------------------------------------------------------------------


def _add_history_command(commands: argparse._SubParsersAction) -> None:
    from .track.store import DEFAULT_STORE_DIR

    history = commands.add_parser(
        "history",
        help="energy per sample across the stored runs, as CSV, a figure and a page",
        description="Write energy_history.csv (one row per run, model and batch size, in commit "
        "order: commit, its date, dirty, machine, joules per sample, CI95, FPS) and "
        "energy_history.png (joules per sample across runs with 95 % CI bands) from the runs "
        "pytest --energy-save stored, and print the steps found in each series (a change of "
        "level beyond its noise). With --html also energy_history.html: one self-contained "
        "page with a chart per model, batch size and metric, one line per machine, steps "
        f"marked. --store is repeatable (default: {DEFAULT_STORE_DIR}): several machines' "
        "stores make one history.",
    )
    history.add_argument(
        "--store", type=Path, action="append", metavar="DIR", help="a run store; repeatable"
    )
    history.add_argument("--model", metavar="GLOB", help="only models matching GLOB, e.g. 'VGG*'")
    history.add_argument("--batch", type=int, metavar="N", help="only batch size N")
    history.add_argument("--out", type=Path, default=Path("."), metavar="DIR")
    history.add_argument(
        "--html", action="store_true", help="also write the page energy_history.html"
    )
    history.set_defaults(run=_run_history)


def _run_history(args: argparse.Namespace) -> int:
    from .track.history import HISTORY_COLUMNS, history_rows, history_series, in_commit_order
    from .track.store import DEFAULT_STORE_DIR, load_stores

    stores = args.store or [Path(DEFAULT_STORE_DIR)]
    # A store that is not there would read as one without runs, and hide a mistyped path.
    absent = [store for store in stores if not store.is_dir()]
    if absent:
        named = "--store" if args.store else "the default --store"
        problems = "; ".join(
            f"{named} {store}: {'not a folder' if store.exists() else 'no such folder'}"
            for store in absent
        )
        return _usage_error(
            "history",
            f"{problems} (a store is the folder pytest --energy-save wrote runs to, "
            f"--energy-store, default {DEFAULT_STORE_DIR})",
        )
    loaded = load_stores(stores)
    for problem in loaded.problems:
        print(f"pruneenergy history: skipped: {problem}", file=sys.stderr)
    rows = history_rows(loaded.runs, model_glob=args.model, batch_size=args.batch)
    if not rows:
        where = ", ".join(str(store) for store in stores)
        print(
            f"pruneenergy history: no stored runs with matching items in {where}", file=sys.stderr
        )
        return EXIT_FAILED
    import pandas as pd

    from .report.plots import ENERGY_HISTORY_FIGURE, energy_history_figure
    from .track.history_page import write_history_page

    runs = [run for run in loaded.runs if run.run_id in {row["run_id"] for row in rows}]
    table = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    csv_path = args.out / HISTORY_CSV_NAME
    page_path = None
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv_path, index=False)
        figure = energy_history_figure(table)
        if figure is not None:
            figure.savefig(args.out / ENERGY_HISTORY_FIGURE)
        if args.html:
            page_path = write_history_page(
                runs, args.out, model_glob=args.model, batch_size=args.batch
            )
    except OSError as error:
        print(f"pruneenergy history: cannot write to {args.out}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {csv_path} ({len(table)} rows from {table['run_id'].nunique()} runs)")
    if figure is not None:
        print(f"wrote {args.out / ENERGY_HISTORY_FIGURE}")
    if page_path is not None:
        print(f"wrote {page_path}")
    series = history_series(in_commit_order(runs), model_glob=args.model, batch_size=args.batch)
    print("\n".join(step_lines(series)))
    return EXIT_OK


def step_lines(series: Sequence[HistorySeries]) -> list[str]:
    """A line per step found in energy or FPS, or one saying there is none."""
    from .track.history import METRICS, StepFinding, describe_step

    found = [
        describe_step(StepFinding(one, metric, step))
        for one in series
        for metric in METRICS
        for step in one.steps(metric)
    ]
    if not found:
        return [f"steps: none in {len(series)} series (no level changed beyond its noise)"]
    return [f"steps: {len(found)} in {len(series)} series", *(f"  {line}" for line in found)]


def _add_compare_command(commands: argparse._SubParsersAction) -> None:
    from .track.store import DEFAULT_STORE_DIR

    compare = commands.add_parser(
        "compare",
        help="compare two stored runs, item by item",
        description="Print a verdict per model and batch size of RUN_B against RUN_A: improved, "
        "regressed or unchanged (energy: outside both 95 % CIs), new or missing. RUN is a run "
        "id (a file name in the store without .json) or the path of a run file.",
    )
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--store", type=Path, default=Path(DEFAULT_STORE_DIR), metavar="DIR")
    compare.set_defaults(run=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from .track.compare import compare_runs, comparison_lines
    from .track.store import RunStoreError, find_run

    try:
        run_a = find_run(args.run_a, args.store)
        run_b = find_run(args.run_b, args.store)
    except RunStoreError as error:
        return _usage_error("compare", str(error))
    print("\n".join(comparison_lines(run_a, run_b, compare_runs(run_a, run_b))))
    return EXIT_OK


# -- report ------------------------------------------------------------------------------------


def _add_report_command(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser(
        "report",
        help="redraw the figures and write report.html from a results CSV",
        description="Read a results CSV (pruneenergy's, or any of PruneEnergyAnalyzer's: "
        "results.csv, prepared_results.csv, results_with_compression_ratios.csv), redraw the "
        "figures and write report.html: one self-contained page with a summary, the findings "
        "per question, a sortable results table and the figures embedded.",
    )
    report.add_argument("results_csv", metavar="RESULTS.csv", type=Path)
    report.add_argument(
        "--out", type=Path, metavar="DIR", help="where to write; default: the CSV's folder"
    )
    report.add_argument(
        "--metadata", type=Path, metavar="FILE", help="per-model metadata (e.g. accuracy)"
    )
    report.add_argument("--metric", metavar="NAME", help="the metadata column to trade off")
    report.add_argument(
        "--max-joules",
        type=float,
        metavar="J",
        help="recommend per model the smallest batch size at or below J joules per sample",
    )
    report.add_argument(
        "--min-fps",
        type=float,
        metavar="FPS",
        help="recommend per model the smallest batch size reaching FPS frames per second",
    )
    report.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from .report.html import write_html_report
    from .report.plots import write_figures
    from .report.reading import ResultsFileError, read_results_file
    from .report.writer import Advice, advised_findings

    if args.metadata is not None and not args.metadata.is_file():
        return _usage_error("report", f"{args.metadata}: no such metadata file")
    try:
        results = read_results_file(args.results_csv)
    except ResultsFileError as error:
        return _usage_error("report", str(error))
    table = results.table
    problem = _metric_problem(table, args.metadata, args.metric)
    if problem is not None:  # a wrong command: fixed and run again, nothing half written
        return _usage_error("report", problem)
    for note in results.notes:
        print(f"pruneenergy report: {note}", file=sys.stderr)
    out_dir = args.out if args.out is not None else args.results_csv.parent
    advice = Advice(
        max_joules=args.max_joules,
        min_fps=args.min_fps,
        metadata_path=args.metadata,
        metric=args.metric,
        metric_option="--metric",
    )
    findings = advised_findings(table, advice)
    if findings.note is not None:
        print(f"pruneenergy report: {findings.note}", file=sys.stderr)
    try:
        figures = write_figures(table, out_dir)
        html_path = write_html_report(table, out_dir, figures=figures, findings=findings)
    except OSError as error:
        print(f"pruneenergy report: cannot write to {out_dir}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"wrote {html_path} ({len(figures)} figures, {len(findings.summary)} summary sentences, "
        f"{len(findings.sentences)} findings; read as {results.form})"
    )
    return EXIT_OK


def _metric_problem(table: Any, metadata_path: Path | None, metric: str | None) -> str | None:
    """Why ``--metadata`` and ``--metric`` give no metric to weigh against energy, if they
    do not: a metadata file that cannot be read, or no metric column chosen."""
    from .report.metadata import pareto_metric_problem, read_metadata

    metadata = None
    if metadata_path is not None:
        try:
            metadata = read_metadata(metadata_path)
        except ValueError as error:  # it names the file and what is wrong with it
            return str(error)
    return pareto_metric_problem(
        table, metadata, metric, option="--metric", metadata_source=str(metadata_path)
    )


# -- merge -------------------------------------------------------------------------------------


def _add_merge_command(commands: argparse._SubParsersAction) -> None:
    from .track.store import DEFAULT_STORE_DIR

    merge = commands.add_parser(
        "merge",
        help="join the report folders of shards (--prune-shard) into one report",
        description="Read the journal (and the failed rows of the results CSV) of each report "
        "folder that pytest --energy-report wrote for a shard, and write one report of them "
        "all: the CSVs, the figures and report.html. Refuses items measured twice and "
        "reductions across GPU models.",
    )
    merge.add_argument("folders", metavar="DIR", type=Path, nargs="+")
    merge.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write")
    merge.add_argument("--save", action="store_true", help="store the merged run in the run store")
    merge.add_argument("--store", type=Path, default=Path(DEFAULT_STORE_DIR), metavar="DIR")
    merge.set_defaults(run=_run_merge)


def _run_merge(args: argparse.Namespace) -> int:
    from .report.merge import MergeError, merge_folders
    from .report.writer import write_report

    missing = [folder for folder in args.folders if not folder.is_dir()]
    if missing:
        return _usage_error("merge", "; ".join(f"{f}: no such folder" for f in missing))
    try:
        merged = merge_folders(args.folders)
    except MergeError as error:
        return _usage_error("merge", str(error))
    outcome = write_report(merged.measurements, merged.failures, args.out)
    print("\n".join(outcome.lines))
    if merged.unreadable_lines:
        print(f"pruneenergy merge: {merged.unreadable_lines} journal line(s) could not be read")
    incomplete = missing_shards_line(merged.missing_shards, merged.shards)
    if incomplete is not None:
        print(f"pruneenergy merge: {incomplete}", file=sys.stderr)
    failed = bool(outcome.not_written) or incomplete is not None
    if args.save:
        from .track.run_end import StoreRequest, compare_and_save

        saved = compare_and_save(
            merged.measurements,
            merged.failures,
            StoreRequest(store_dir=args.store, save=True),
            recorded_settings=merged.settings,
            repository_dir=Path.cwd(),
            # A run without some shards' families is stored as a run cut short is.
            interrupted=incomplete is not None,
        )
        print("\n".join(saved.lines))
        failed = failed or saved.save_failure is not None
    return EXIT_FAILED if failed else EXIT_OK


def missing_shards_line(missing: Sequence[str], present: set[str]) -> str | None:
    """What a merge that lacks shards says (it then exits 1); None where it lacks none."""
    if not missing:
        return None
    noun = "shard" if len(missing) == 1 else "shards"
    verb = "is" if len(missing) == 1 else "are"
    held = ", ".join(sorted(present))
    return (
        f"INCOMPLETE: {noun} {', '.join(missing)} {verb} missing (the folders hold shard "
        f"{held}): the report lacks its model families; merge every shard's folder"
    )


def _usage_error(command: str, message: str) -> int:
    print(f"pruneenergy {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
