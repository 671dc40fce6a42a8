"""``pruneenergy count``: parameters and FLOPs of model files, as a table or a CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..common.shapes import format_shape
from ..models.loading import DEFAULT_INPUT_SHAPE

if TYPE_CHECKING:
    from ..models.counting import ModelCounts
from .common import EXIT_FAILED, EXIT_OK, positive_int_list, usage_error

COUNT_CSV_HEADER = ("model", "params", "macs", "flops_2x_macs", "input_shape", "fvcore_flops")
CountRow = tuple[str, "ModelCounts", tuple[int, ...]]  # model name, counts, input shape


def add_command(commands: argparse._SubParsersAction) -> None:
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
    from ..models.loading import MODEL_FILE_SUFFIXES

    missing = [path for path in args.paths if not path.exists()]
    if missing:
        return usage_error(
            "count", "; ".join(f"{path}: no such file or folder" for path in missing)
        )
    files = model_files(args.paths)
    if not files:
        return usage_error(
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
    """Files as given; folders give their model files as the plugin finds them. A file named
    twice (itself and in its folder, or the folder twice) is counted once."""
    from ..models.discovery import list_model_files

    files: dict[Path, Path] = {}
    for path in paths:
        for file in list_model_files(path) if path.is_dir() else [path]:
            files.setdefault(file.resolve(), file)
    return list(files.values())


def _count_file(
    path: Path, input_shape: list[int] | None, *, allow_pickle: bool
) -> CountRow | None:
    from ..common.errors import COUNT_SHAPE_OPTION, count_failure
    from ..models.counting import count_description, count_model
    from ..models.loading import ModelLoadError, PickleRefused, load_model_file, read_description

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
