"""Session end: measurements -> table -> CSVs -> figures -> report.html -> terminal lines.

The CSVs are written before the figures, so a figure that fails never costs the numbers.
Beside the results CSV (a row per model and batch size) sits the run's metadata (a row per
device: its meter, GPU facts, idle power, items and seconds measured).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..items.measurement import ItemFailure, Measurement
from .schema import CSV_NAME, RUN_CSV_NAME, model_stem
from .table import GateCells
from .units import DeploymentUnits


@dataclass(frozen=True)
class Advice:
    """What the user wants advice on: batch sizes under a budget, a metric's Pareto front."""

    max_joules: float | None = None
    min_fps: float | None = None
    metadata_path: Path | None = None
    metric: str | None = None
    # The option that names the metric, for messages: the plugin's, or pruneenergy report's.
    metric_option: str = "--energy-metric"


def advice_lines(table: Any, advice: Advice) -> list[str]:
    """The batch size recommendation, in the terminal (the HTML report has it with the rest)."""
    if advice.max_joules is None and advice.min_fps is None:
        return []
    from .analysis import recommend_batch_size

    try:
        recommendations = recommend_batch_size(
            table, max_joules=advice.max_joules, min_fps=advice.min_fps
        )
    except Exception as error:  # advice must never cost the report
        return [f"batch size advice could not be computed: {type(error).__name__}: {error}"]
    # The terminal names models by stem, as the summary table and the item ids do.
    return [f"advice: {model_stem(r.model)}: {r.reason}" for r in recommendations]


def advised_findings(table: Any, advice: Advice) -> Any:
    """``html.findings_or_reason`` for what ``advice`` asks (its metadata, metric and needs)."""
    from .html import findings_or_reason

    return findings_or_reason(
        table,
        metadata_path=advice.metadata_path,
        metric=advice.metric,
        max_joules=advice.max_joules,
        min_fps=advice.min_fps,
        metric_option=advice.metric_option,
    )


def with_metadata(table: Any, advice: Advice) -> tuple[Any, list[str]]:
    """The table with the metadata's metric columns after its own (the seed's CSV has its
    ``YOUR_METRIC`` so, and its notebooks plot it), and the terminal lines on models the
    metadata and the results do not share; the table as it was where there is no metadata or
    it cannot be read (the findings say why)."""
    if advice.metadata_path is None:
        return table, []
    from .metadata import metadata_note, read_metadata, with_metadata_columns

    try:
        metadata = read_metadata(advice.metadata_path)
        joined = with_metadata_columns(table, metadata)
    except ValueError as error:
        return table, [f"metadata not added to the CSV: {error}"]
    note = metadata_note(table, metadata)
    return joined, [] if note is None else [note]


@dataclass(frozen=True)
class ReportOutcome:
    """The terminal summary, and the lines (among them) of report parts that were not written:
    any of those fails the session, since a CI job must not pass on a report it did not get."""

    lines: list[str]
    not_written: list[str]
    # The result table the report was made from (pandas DataFrame), for other summaries.
    table: Any = None


def write_report(
    measurements: list[Measurement],
    failures: list[ItemFailure],
    report_dir: Path | None,
    hook: Any = None,
    *,
    gates: Mapping[tuple[str, int], GateCells] | None = None,
    advice: Advice | None = None,
    notes: Sequence[str] = (),
    units: DeploymentUnits | None = None,
) -> ReportOutcome:
    """Write the report files (when ``report_dir`` is set) and make the terminal table.
    ``gates``: the energy gates' outcome and messages per (model, batch size), for the CSV;
    ``advice``: the budgets and metadata the findings answer to; ``notes``: lines about the
    run itself (resumed items, an interruption), printed after the table; ``units``: where the
    model would run, for the per-million columns (report/units.py; default: its defaults)."""
    advice = advice or Advice()
    from .table import build_table
    from .terminal import VariantColumns, terminal_table_lines
    from .units import with_units

    built = with_units(build_table(measurements, failures, gates), units or DeploymentUnits())
    table, metadata_lines = with_metadata(built, advice)
    items = [*measurements, *failures]
    variants = VariantColumns(
        dtypes=any(item.dtype is not None for item in items),
        runtimes=any(item.runtime is not None for item in items),
    )
    lines = [
        *terminal_table_lines(table, variants=variants),
        *advice_lines(table, advice),
        *metadata_lines,
        *notes,
    ]
    if report_dir is None:
        return ReportOutcome(
            [*lines, "(add --energy-report to write the CSV and figures)"], [], table
        )
    return _write_files(table, report_dir, lines, hook, advice)


def _write_files(
    table: Any, report_dir: Path, lines: list[str], hook: Any, advice: Advice
) -> ReportOutcome:
    """The CSVs, the figures, report.html and the user's report hook, in that order: each
    failure costs only what comes after it that needs it, and is said in ``lines``."""
    from .schema import write_csv
    from .table import build_run_table

    not_written: list[str] = []

    def failed(line: str) -> None:
        lines.append(line)
        not_written.append(line)

    try:
        csv_path = write_csv(table, report_dir / CSV_NAME)
        run_csv_path = write_csv(build_run_table(table), report_dir / RUN_CSV_NAME)
    except OSError as error:  # the table above still reaches the terminal
        failed(f"REPORT NOT WRITTEN to {report_dir}: {error}")
        return ReportOutcome(lines, not_written, table)
    lines.append(f"CSV: {csv_path}")
    lines.append(f"run metadata (devices, idle power): {run_csv_path}")
    figures: list[Path] = []
    try:
        from .plots import write_figures

        figures = write_figures(table, report_dir)
    except Exception as error:  # the CSV is written; say what went wrong and go on
        failed(f"figures could not be drawn: {type(error).__name__}: {error}")
    else:
        lines.append(f"figures: {len(figures)} PNG in {report_dir}")
    html_line, html_written, pareto_problem = _write_html(table, report_dir, figures, advice)
    if html_written:
        lines.append(html_line)
    else:
        failed(html_line)
    if pareto_problem is not None:
        lines.append(f"WARNING: no Pareto findings in report.html: {pareto_problem}")
    if hook is not None:
        try:
            hook.pytest_pruneenergy_report(table=table, report_dir=report_dir)
        except Exception as error:  # a user's hook must not cost the report written above
            failed(f"pytest_pruneenergy_report hook failed: {type(error).__name__}: {error}")
    return ReportOutcome(lines, not_written, table)


def _write_html(
    table: Any, report_dir: Path, figures: list[Path], advice: Advice
) -> tuple[str, bool, str | None]:
    """Write report.html beside the CSV; return the terminal line that says how it went,
    whether it was written, and why its Pareto findings were left out, if they were. Written
    after the figures (it embeds them); any failure here costs this page only."""
    try:
        from .html import write_html_report

        findings = advised_findings(table, advice)
        path = write_html_report(table, report_dir, figures=figures, findings=findings)
    except Exception as error:  # the CSV and figures are written; say what went wrong
        return f"HTML report could not be written: {type(error).__name__}: {error}", False, None
    return f"HTML report: {path}", True, findings.pareto_problem
