"""``energy_history.html``: a model's energy and FPS over commits, as one self-contained page.

Like report.html (report/html.py, whose page frame it uses) the page is one file that fetches
nothing: the runs travel inside it as JSON, and a small inline script draws the chosen series as
SVG. Per model and batch size it shows one line per machine (the store's ``machine_key``; runs
of other machines never share a line), in commit order, with a 95 % CI band for energy, and marks
the steps that ``steps.py`` finds. A chooser picks the model, batch size and metric; the choice
is kept in the address (``#model=...&batch=...&metric=...``), so that a link shows one series.

The page lives here rather than in report/ because it draws the run store's concepts (series,
machines, steps), which report/ must not import.

Everything from the records (model names, commits, branches) reaches the page as text: escaped
in the HTML, and in the JSON with ``<``, ``>`` and ``&`` written as \\u escapes, so that no name
can end the script element; the script inserts it with ``textContent`` only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..common.files import write_atomically
from ..report.page import PAGE_CSS, escape_html, page
from .history import (
    FPS,
    JOULES,
    HistorySeries,
    history_series,
    in_commit_order,
    machine_label,
    machines_of,
)
from .history_script import HISTORY_CSS, HISTORY_SCRIPT
from .steps import Step
from .store import RunRecord

HISTORY_PAGE_NAME = "energy_history.html"
DEFAULT_TITLE = "Energy across commits"
ESTIMATE_METER = "estimate"

METRIC_LABELS = {JOULES: "Energy per sample (J)", FPS: "Frames per second"}


def write_history_page(
    runs: Sequence[RunRecord],
    out_dir: Path,
    *,
    title: str = DEFAULT_TITLE,
    model_glob: str | None = None,
    batch_size: int | None = None,
) -> Path:
    """Write ``out_dir/energy_history.html`` atomically and return its path."""
    text = render_history_page(runs, title=title, model_glob=model_glob, batch_size=batch_size)
    return write_atomically(Path(out_dir) / HISTORY_PAGE_NAME, lambda handle: handle.write(text))


def render_history_page(
    runs: Sequence[RunRecord],
    *,
    title: str = DEFAULT_TITLE,
    model_glob: str | None = None,
    batch_size: int | None = None,
) -> str:
    """The whole page as a string; ``runs`` in any order, their items those that ``model_glob``
    and ``batch_size`` select (None: all)."""
    ordered = in_commit_order(runs)
    series = history_series(ordered, model_glob=model_glob, batch_size=batch_size)
    steps = {
        (index, metric): one.steps(metric)
        for index, one in enumerate(series)
        for metric in (JOULES, FPS)
    }
    data = page_data(ordered, series, steps)
    labels = {key: machine_label(machine) for key, machine in machines_of(ordered).items()}
    body = [
        f"<h1>{escape_html(title)}</h1>",
        _meta_line(ordered),
        _estimate_banner(series, ordered),
        '<form class="chooser" onsubmit="return false">'
        '<label>Model<select id="model"></select></label>'
        '<label>Batch size<select id="batch"></select></label>'
        '<label>Metric<select id="metric"></select></label></form>',
        '<noscript><p class="notice">The chart needs JavaScript; the steps found are listed '
        "below.</p></noscript>",
        f'<svg id="chart" viewBox="0 0 960 440" role="img" aria-label="{escape_html(title)}">'
        "</svg>",
        '<ul id="legend"></ul>',
        '<p class="meta">One line per machine (GPU, driver, power limit, CPU and torch '
        "version: the store's machine key), runs in commit order (short hash and date; "
        "* and a hollow dot: uncommitted changes); band: the run's 95 % CI; dashed line: a step "
        "in the level, found over the whole series (docs/ci.md). Hover a dot for its run.</p>",
        _steps_section(series, steps, labels),
        '<script type="application/json" id="history-data">' + _json_for_script(data) + "</script>",
    ]
    return page(title, PAGE_CSS + HISTORY_CSS, body, HISTORY_SCRIPT)


def page_data(
    ordered: Sequence[RunRecord],
    series: Sequence[HistorySeries],
    steps: dict[tuple[int, str], list[Step]],
) -> dict[str, Any]:
    """What the script draws: runs by position in commit order, machines, series and steps."""
    position = {run.run_id: index for index, run in enumerate(ordered)}
    machines = machines_of(ordered)
    machine_index = {key: index for index, key in enumerate(machines)}
    data: dict[str, Any] = {
        "runs": [_run_entry(run) for run in ordered],
        "machines": [machine_label(machine) for machine in machines.values()],
        "metrics": {
            JOULES: {"label": METRIC_LABELS[JOULES], "ci": True},
            FPS: {"label": METRIC_LABELS[FPS], "ci": False},
        },
        "series": [],
    }
    first = None
    for index, one in enumerate(series):
        points = [
            [position[p.run_id], p.joules_per_sample, p.joules_per_sample_ci95, p.fps]
            for p in one.points
        ]
        entry = {
            "model": one.model,
            "batch": _batch_text(one),
            "machine": machine_index[one.machine_key],
            "points": points,
            "steps": {
                metric: [
                    [
                        points[step.index][0],
                        step.change_fraction,
                        step.before_mean,
                        step.after_mean,
                        # infinite where runs without scatter or CIs changed: JSON has no
                        # infinity, the script shows null as one
                        step.t_statistic if math.isfinite(step.t_statistic) else None,
                        step.threshold,
                    ]
                    for step in steps[(index, metric)]
                ]
                for metric in (JOULES, FPS)
            },
        }
        data["series"].append(entry)
        if first is None and steps[(index, JOULES)]:
            first = {"model": one.model, "batch": _batch_text(one), "metric": JOULES}
    # The page opens on the first series with an energy step: the reason to look at it.
    data["first"] = first
    return data


def _run_entry(run: RunRecord) -> dict[str, Any]:
    time = run.git.commit_time or run.created_utc
    commit = run.git.commit
    return {
        "id": run.run_id,
        "commit": commit,
        "short": commit[:7] if commit else run.run_id[:15],
        "date": time[:10],
        "dirty": bool(run.git.dirty),
    }


def _batch_text(one: HistorySeries) -> str:
    """The batch chooser's value: ``64``, or ``64 bfloat16`` for a series of one format."""
    size = "-" if one.batch_size is None else str(one.batch_size)
    return size if one.dtype is None else f"{size} {one.dtype}"


def _t_text(t_statistic: float) -> str:
    return f"{t_statistic:.1f}" if math.isfinite(t_statistic) else "∞"


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that cannot end its script element, whatever the names in it."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _meta_line(ordered: Sequence[RunRecord]) -> str:
    commits = {run.git.commit for run in ordered if run.git.commit}
    machines = {run.machine_key for run in ordered}
    parts = [f"{len(ordered)} runs of {len(commits)} commits on {len(machines)} machine(s)"]
    if ordered:
        first = (ordered[0].git.commit_time or ordered[0].created_utc)[:10]
        last = (ordered[-1].git.commit_time or ordered[-1].created_utc)[:10]
        parts.append(f"{first} to {last}")
    parts.append("written " + datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    return f'<p class="meta">{escape_html(", ".join(parts))}</p>'


def _estimate_banner(series: Sequence[HistorySeries], ordered: Sequence[RunRecord]) -> str:
    """As on report.html: estimated joules must never pass for measured ones."""
    shown = {(one.model, one.batch_size, one.dtype) for one in series}
    meters = [
        item.meter
        for run in ordered
        for item in run.items
        if item.key in shown and item.joules_per_sample is not None
    ]
    estimated = meters.count(ESTIMATE_METER)
    if not estimated:
        return ""
    return (
        '<div class="banner" role="alert">ESTIMATED energy: '
        f"{estimated} of {len(meters)} points were estimated from CPU time (meter "
        f"{ESTIMATE_METER}), not measured by an energy counter.</div>"
    )


def _steps_section(
    series: Sequence[HistorySeries],
    steps: dict[tuple[int, str], list[Step]],
    labels: dict[str, str],
) -> str:
    rows = []
    for index, one in enumerate(series):
        for metric in (JOULES, FPS):
            for step in steps[(index, metric)]:
                rows.append(_step_row(one, metric, step, labels[one.machine_key]))
    if not rows:
        return (
            "<h2>Steps</h2>\n<p>No step: no series changed its level beyond the noise its CIs "
            "and its scatter show.</p>"
        )
    header = "".join(
        f"<th>{name}</th>"
        for name in (
            "model",
            "batch",
            "machine",
            "metric",
            "from commit",
            "date",
            "level",
            "change",
            "t / threshold",
        )
    )
    return (
        f'<h2>Steps ({len(rows)})</h2>\n<p class="meta">Where a series\' level changed beyond '
        "its noise (click a row to show it).</p>\n"
        f'<div class="scroll"><table id="steps"><thead><tr>{header}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _step_row(one: HistorySeries, metric: str, step: Step, machine: str) -> str:
    point = one.points[step.index]
    change = step.change_fraction
    cells = [
        one.model,
        _batch_text(one),
        machine,
        METRIC_LABELS[metric],
        point.commit[:7] if point.commit else point.run_id,
        point.time[:10],
        f"{step.before_mean:.4g} → {step.after_mean:.4g}",
        "" if change is None else f"{100 * change:+.1f} %",
        f"{_t_text(step.t_statistic)} / {step.threshold:.1f}",
    ]
    attributes = (
        f'data-model="{escape_html(one.model)}" data-batch="{escape_html(_batch_text(one))}" '
        f'data-metric="{metric}"'
    )
    return f"<tr {attributes}>" + "".join(f"<td>{escape_html(c)}</td>" for c in cells) + "</tr>"
