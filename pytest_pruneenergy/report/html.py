"""The result table -> one self-contained ``report.html``: figures, findings, a sortable table.

Self-contained means one file that a reader can mail, attach to a CI run or open offline: the
figures are embedded as data URIs, the CSS and the small sorting script are inline, and a
Content-Security-Policy forbids every network request, so that the page never fetches anything.

Every piece of text from the table (model names, errors, meter descriptions) is escaped: a model
file may be named by anyone, and its name must not become markup in the reader's browser.
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ..common.files import write_atomically
from . import schema as col
from .metadata import metadata_note, pareto_metric_problem
from .page import PAGE_CSS, SORT_SCRIPT, escape_html, page
from .schema import estimate_mask, measured_rows, meter_label, normalize_results

HTML_NAME = "report.html"
DEFAULT_TITLE = "Energy of pruned models"

# What each of report/plots/'s figures answers (docs/report.md#figures); others get their file name.
FIGURE_CAPTIONS = {
    "cr_vs_energy_reduction_flops.png": "Does energy fall in proportion to the FLOPs removed? "
    "Points below the dashed diagonal saved less energy than FLOPs.",
    "cr_vs_energy_reduction_params.png": "Does removing parameters predict the energy saved?",
    "pd_vs_energy_reduction.png": "Which pruning distribution saves the most energy?",
    "architecture_vs_energy.png": "How much does the architecture set the energy, and how wide "
    "is the spread that pruning makes?",
    "batch_size_vs_energy.png": "How does batch size change energy per sample?",
    "batch_size_vs_fps.png": "How does batch size change throughput?",
    "cr_vs_energy_per_sample.png": "How much energy does a sample take at each compression, "
    "and at each batch size?",
    "cr_vs_fps.png": "How much faster does compression make the model, at each batch size?",
    "energy_and_metric.png": "What does each GPR cost in the metric for what it saves in energy?",
}
_IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}


_TABLE_HEADERS = (
    "model",
    "batch",
    "J/sample ± CI95",
    "FPS",
    "p99 ms",
    "energy reduction %",
    "FLOPs CR %",
    "params CR %",
    "meter",
)


@dataclass(frozen=True)
class ReportFindings:
    """What report.html says in words: the summary at its top, the findings per question, and a
    note (why there are none, or what the reader must know about the metadata)."""

    summary: tuple[str, ...] = ()
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()
    note: str | None = None
    # Why the Pareto findings were left out (the metadata cannot be read, or no metric chosen).
    pareto_problem: str | None = None

    @property
    def sentences(self) -> list[str]:
        """Every finding, section by section (the summary not included)."""
        return [sentence for _, sentences in self.sections for sentence in sentences]


def findings_or_reason(
    table: pd.DataFrame,
    *,
    metadata_path: str | os.PathLike[str] | None = None,
    metric: str | None = None,
    max_joules: float | None = None,
    min_fps: float | None = None,
    metric_option: str = "--energy-metric",
) -> ReportFindings:
    """The analysis' summary and findings in words, or why there are none: the report renders
    either way. With metadata, the note counts the rows of either side that found no partner.
    Metadata that cannot be read, or a metric that cannot be chosen (``metric_option`` names
    the option that chooses it), costs the Pareto findings only, and the note says why.

    ``analysis`` is imported here, not at the top, so that a broken or missing analysis module
    costs the findings section only, never the figures or the table.
    """
    try:
        from . import analysis
    except ImportError as error:
        return ReportFindings(
            note=f"Findings unavailable: the analysis module could not be imported ({error})."
        )
    try:
        metadata, pareto_problem = _metadata_for_pareto(
            analysis.read_metadata, table, metadata_path, metric, metric_option
        )
        sections = analysis.findings_by_question(
            table,
            metadata,
            metric=metric,
            max_joules=max_joules,
            min_fps=min_fps,
            pareto=pareto_problem is None,
        )
        summary = analysis.summary(table)
        note = None if metadata is None else metadata_note(table, metadata)
    except Exception as error:  # analysis of odd tables may raise anything; the report goes on
        return ReportFindings(
            note=f"Findings could not be computed: {type(error).__name__}: {error}"
        )
    from .doubts import doubt_lines
    from .terminal import model_notes

    noted = [*doubt_lines(table), *model_notes(table)]
    notes = tuple(" ".join(line.split()) for line in _joined(noted))
    if pareto_problem is not None:
        note = " ".join(filter(None, [f"No Pareto findings: {pareto_problem}.", note]))
    return ReportFindings(
        notes + tuple(str(sentence) for sentence in summary),
        tuple(
            (str(question), tuple(str(sentence) for sentence in sentences))
            for question, sentences in sections
        ),
        note,
        pareto_problem,
    )


def _metadata_for_pareto(
    read_metadata: Any,
    table: pd.DataFrame,
    metadata_path: str | os.PathLike[str] | None,
    metric: str | None,
    metric_option: str,
) -> tuple[pd.DataFrame | None, str | None]:
    """The metadata (None without a file, or where it cannot be read) and why the Pareto
    findings cannot be drawn from it, if they cannot."""
    if metadata_path is None:
        metadata = None
    else:
        try:
            metadata = read_metadata(metadata_path)
        except ValueError as error:  # read_metadata's errors name the file and what is wrong
            return None, str(error)
    problem = pareto_metric_problem(
        table, metadata, metric, option=metric_option, metadata_source=str(metadata_path)
    )
    return metadata, problem


def _joined(lines: list[str]) -> list[str]:
    """Summary lines as sentences: a line's indented continuation joins it."""
    joined: list[str] = []
    for line in lines:
        if line.startswith("  ") and joined:
            joined[-1] += " " + line.strip()
        else:
            joined.append(line)
    return joined


def write_html_report(
    table: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    *,
    figures: Sequence[Path],
    findings: Sequence[str] | ReportFindings,
    title: str = DEFAULT_TITLE,
    findings_note: str | None = None,
) -> Path:
    """Write ``out_dir/report.html`` atomically and return its path.

    ``figures``: image files to embed, in order (PNG, SVG or JPEG); ``findings``: sentences, or
    ``findings_or_reason``'s summary and sections; ``findings_note``: shown with the findings
    (instead of them where there are none), e.g. why the analysis failed.
    """
    page = render_html(
        table, figures=figures, findings=findings, title=title, findings_note=findings_note
    )
    return write_atomically(Path(out_dir) / HTML_NAME, lambda handle: handle.write(page))


def render_html(
    table: pd.DataFrame,
    *,
    figures: Sequence[Path],
    findings: Sequence[str] | ReportFindings,
    title: str = DEFAULT_TITLE,
    findings_note: str | None = None,
) -> str:
    """The whole page as a string (``write_html_report`` without the file)."""
    if not isinstance(findings, ReportFindings):
        findings = ReportFindings(sections=(("", tuple(findings)),) if findings else ())
    notes = [note for note in (findings.note, findings_note) if note]
    complete = normalize_results(table)
    measured = measured_rows(complete)
    failed = complete[complete[col.STATUS].astype(str) == col.STATUS_FAILED]
    body = [
        f"<h1>{_text(title)}</h1>",
        _meta_line(measured, failed),
        _estimate_banner(measured),
        _summary_section(findings.summary),
        _findings_section(findings.sections, " ".join(notes) or None),
        _failures_section(failed),
        _figures_section(figures),
        _table_section(measured),
    ]
    return page(title, PAGE_CSS, body, SORT_SCRIPT)


_text = escape_html  # the short name the markup below uses


def _meta_line(measured: pd.DataFrame, failed: pd.DataFrame) -> str:
    devices = sorted({str(device) for device in measured[col.DEVICE].dropna()})
    parts = [f"{len(measured)} measured rows", f"{len(failed)} failed"]
    if devices:
        parts.append("on " + "; ".join(devices))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"written {generated}")
    return f'<p class="meta">{_text(", ".join(parts))}</p>'


def _estimate_banner(measured: pd.DataFrame) -> str:
    """Loud, first on the page: estimated joules must never pass for measured ones."""
    estimated = measured[estimate_mask(measured)]
    if estimated.empty:
        return ""
    descriptions = sorted({str(text) for text in estimated[col.METER_DESCRIPTION].dropna()})
    details = "".join(f"<li>{_text(text)}</li>" for text in descriptions)
    return (
        '<div class="banner" role="alert">ESTIMATED energy: '
        f"{len(estimated)} of {len(measured)} rows were not measured by an energy counter; "
        "their joules, energy reductions and energy figures are estimates, not measurements."
        + (f"<ul>{details}</ul>" if details else "")
        + "</div>"
    )


def _summary_section(summary: Sequence[str]) -> str:
    """The answers over all curves at once, first on the page after any estimate banner."""
    if not summary:
        return ""
    items = "".join(f"<li>{_text(sentence)}</li>" for sentence in summary)
    return f'<h2>Summary</h2>\n<ul class="summary">{items}</ul>'


def _findings_section(
    sections: Sequence[tuple[str, Sequence[str]]], findings_note: str | None
) -> str:
    parts = ["<h2>Findings</h2>"]
    if findings_note:
        parts.append(f'<p class="notice">{_text(findings_note)}</p>')
    for question, sentences in sections:
        if not sentences:
            continue
        if question:
            parts.append(f"<h3>{_text(question)}</h3>")
        items = "".join(f"<li>{_text(sentence)}</li>" for sentence in sentences)
        parts.append(f'<ul class="findings">{items}</ul>')
    if len(parts) == 1:
        parts.append("<p>No findings: the table has too little data to compare.</p>")
    return "\n".join(parts)


def _failures_section(failed: pd.DataFrame) -> str:
    if failed.empty:
        return ""
    items = []
    for _, row in failed.iterrows():
        batch = _format(row[col.BATCH_SIZE], "d")
        where = f" (batch {batch})" if batch else ""
        reason = "" if pd.isna(row[col.ERROR]) else str(row[col.ERROR]).strip()
        first_line, _, rest = reason.partition("\n")
        # A traceback would drown the list: its first line shows, the rest folds away.
        details = f"<details><summary>details</summary><pre>{_text(reason)}</pre></details>"
        items.append(
            f"<li><strong>{_text(row[col.MODEL_NAME])}</strong>{_text(where)}: "
            f"{_text(first_line or 'no reason given')}{details if rest else ''}</li>"
        )
    return f'<h2>Failed items ({len(items)})</h2>\n<ul class="failed">{"".join(items)}</ul>'


def _table_section(measured: pd.DataFrame) -> str:
    header = "".join(f"<th>{_text(name)}</th>" for name in _TABLE_HEADERS)
    estimates = estimate_mask(measured)
    rows = [
        _table_row(row, bool(is_estimate))
        for (_, row), is_estimate in zip(measured.iterrows(), estimates, strict=True)
    ]
    if not rows:
        return "<h2>Results</h2>\n<p>No item was measured.</p>"
    return (
        '<h2>Results</h2>\n<p class="meta">Energy and time per sample; reductions against the '
        "unpruned model at the same batch size (positive: the pruned model needs less). "
        "Click a header to sort.</p>\n"
        f'<div class="scroll"><table id="results"><thead><tr>{header}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _table_row(row: pd.Series, is_estimate: bool) -> str:
    energy = _format(row[col.JOULES_PER_SAMPLE], "#.4g")
    ci95 = _format(row[col.JOULES_PER_SAMPLE_CI95], ".2g")
    if energy and ci95:
        energy += f" ± {ci95}"
    # A hook's meter may estimate under any name: then the cell says so, not only its colour.
    meter = meter_label("" if pd.isna(row[col.METER]) else str(row[col.METER]), is_estimate)
    cells = [
        f"<td>{_text(row[col.MODEL_NAME])}</td>",
        _number_cell(row[col.BATCH_SIZE], "d"),
        _number_cell(row[col.JOULES_PER_SAMPLE], "", text=energy),
        _number_cell(row[col.FPS], ".1f"),
        _number_cell(row[col.LATENCY_P99_MS], ".3g"),
        _number_cell(row[col.ENERGY_REDUCTION], ".1f"),
        _number_cell(row[col.CR_FLOPS], ".1f"),
        _number_cell(row[col.CR_PARAMETERS], ".1f"),
        f"<td>{_text(meter)}</td>",
    ]
    css_class = ' class="estimate"' if is_estimate else ""
    return f"<tr{css_class}>{''.join(cells)}</tr>"


def _number_cell(value: Any, spec: str, *, text: str | None = None) -> str:
    """A cell that sorts by its number (``data-sort``), whatever its text shows."""
    number = _finite(value)
    sort_key = "" if number is None else repr(number)
    shown = _format(value, spec) if text is None else text
    return f'<td data-sort="{sort_key}">{_text(shown)}</td>'


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _format(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``; empty where the table has no number."""
    number = _finite(value)
    if number is None:
        return ""
    return format(int(number), spec) if spec == "d" else format(number, spec)


def _figures_section(figures: Sequence[Path]) -> str:
    embedded = [_figure(Path(path)) for path in figures]
    if not embedded:
        return "<h2>Figures</h2>\n<p>No figure: the table has no data to draw.</p>"
    return "<h2>Figures</h2>\n" + "\n".join(embedded)


def _figure(path: Path) -> str:
    mime = _IMAGE_TYPES.get(path.suffix.lower(), "application/octet-stream")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = FIGURE_CAPTIONS.get(path.name, "")
    caption_html = f"{_text(caption)} <code>{_text(path.name)}</code>"
    return (
        f'<figure><img src="data:{mime};base64,{data}" alt="{_text(caption or path.name)}">'
        f"<figcaption>{caption_html}</figcaption></figure>"
    )
