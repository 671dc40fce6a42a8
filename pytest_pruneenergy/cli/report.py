"""``pruneenergy report``: figures, findings and report.html from a results CSV (ours or the
seed's)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_FAILED, EXIT_OK, out_folder, positive_number, usage_error


def add_command(commands: argparse._SubParsersAction) -> None:
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
        "--out", type=out_folder, metavar="DIR", help="where to write; default: the CSV's folder"
    )
    report.add_argument(
        "--metadata", type=Path, metavar="FILE", help="per-model metadata (e.g. accuracy)"
    )
    report.add_argument("--metric", metavar="NAME", help="the metadata column to trade off")
    report.add_argument(
        "--max-joules",
        type=positive_number,
        metavar="J",
        help="recommend per model the smallest batch size at or below J joules per sample",
    )
    report.add_argument(
        "--min-fps",
        type=positive_number,
        metavar="FPS",
        help="recommend per model the smallest batch size reaching FPS frames per second",
    )
    report.add_argument(
        "--csv",
        type=Path,
        metavar="OUT.csv",
        help="also write the measured rows in the seed's 16-column form "
        "(results_with_compression_ratios.csv, YOUR_METRIC from --metadata), our columns after "
        "it, for the seed's notebook 4",
    )
    report.set_defaults(run=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from ..report.html import write_html_report
    from ..report.plots import write_figures
    from ..report.reading import ResultsFileError, read_results_file
    from ..report.writer import Advice, advised_findings

    if args.metadata is not None and not args.metadata.is_file():
        return usage_error("report", f"{args.metadata}: no such metadata file")
    try:
        results = read_results_file(args.results_csv)
    except ResultsFileError as error:
        return usage_error("report", str(error))
    table = results.table
    metadata, problem = _metadata_and_problem(table, args.metadata, args.metric)
    if problem is not None:  # a wrong command: fixed and run again, nothing half written
        return usage_error("report", problem)
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
    if args.csv is not None and _write_seed_form(table, metadata, args) != EXIT_OK:
        return EXIT_FAILED
    print(
        f"wrote {html_path} ({len(figures)} figures, {len(findings.summary)} summary sentences, "
        f"{len(findings.sentences)} findings; read as {results.form})"
    )
    return EXIT_OK


def _metadata_and_problem(
    table: Any, metadata_path: Path | None, metric: str | None
) -> tuple[Any, str | None]:
    """The ``--metadata`` file read (None without one), and why it and ``--metric`` give no
    metric to weigh against energy, if they do not: a file that cannot be read, or no metric
    column chosen."""
    from ..report.metadata import pareto_metric_problem, read_metadata

    metadata = None
    if metadata_path is not None:
        try:
            metadata = read_metadata(metadata_path)
        except ValueError as error:  # it names the file and what is wrong with it
            return None, str(error)
    problem = pareto_metric_problem(
        table, metadata, metric, option="--metric", metadata_source=str(metadata_path)
    )
    return metadata, problem


def _write_seed_form(table: Any, metadata: Any, args: argparse.Namespace) -> int:
    """``--csv``: the table in the seed's 16-column form, the metric from ``--metadata`` (read
    already: ``metadata``)."""
    from ..report.metadata import metric_by_stem, metric_names
    from ..report.schema import write_csv
    from ..report.seed_form import seed_form

    metric = None
    if metadata is not None:
        chosen = args.metric or next(iter(metric_names(metadata)), None)
        metric = None if chosen is None else metric_by_stem(metadata, chosen)
    form = seed_form(table, metric)
    try:
        write_csv(form, args.csv)
    except OSError as error:
        print(f"pruneenergy report: cannot write {args.csv}: {error}", file=sys.stderr)
        return EXIT_FAILED
    left_out = len(table) - len(form)
    print(
        f"wrote {args.csv} ({len(form)} rows in the seed's 16 columns, then ours"
        + (f"; {left_out} failed rows left out)" if left_out else ")")
    )
    return EXIT_OK
