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
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..common.files import write_atomically
from ..report.html import PAGE_CSS, escape_html, page
from .history import (
    FPS,
    JOULES,
    HistorySeries,
    history_series,
    in_commit_order,
    machine_label,
    machines_of,
)
from .steps import Step
from .store import RunRecord

HISTORY_PAGE_NAME = "energy_history.html"
DEFAULT_TITLE = "Energy across commits"
ESTIMATE_METER = "estimate"

METRIC_LABELS = {JOULES: "Energy per sample (J)", FPS: "Frames per second"}

_CSS = """
.chooser { display: flex; flex-wrap: wrap; gap: 1rem; margin: 1rem 0; }
.chooser label { font-weight: 600; }
.chooser select { margin-left: .4rem; font-size: 1rem; max-width: 32rem; }
#chart { width: 100%; height: auto; border: 1px solid #e4e4e4; background: #fff; }
#chart text { font-size: 12px; fill: #333; }
#chart .title { font-size: 15px; font-weight: 600; }
#chart .step text { fill: #D55E00; font-weight: 600; }
#legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1.2rem; }
#legend span { display: inline-block; width: 1.6rem; height: .6rem; margin-right: .4rem; }
#steps tbody tr { cursor: pointer; }
#steps tbody tr:hover { background: #fff4d6; }
"""

# Draws the chosen series into the static <svg id="chart">. Elements are made in that element's
# own namespace, and every text from the data goes in as textContent, never as markup.
_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("history-data").textContent);
  var chart = document.getElementById("chart");
  var NS = chart.namespaceURI;
  var colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000"];
  var STEP = "#D55E00";
  var W = 960, H = 440, L = 120, R = 20, T = 40, B = 95;
  var select = {
    model: document.getElementById("model"),
    batch: document.getElementById("batch"),
    metric: document.getElementById("metric")
  };
  function el(name, attributes, text) {
    var node = document.createElementNS(NS, name);
    for (var key in attributes) { node.setAttribute(key, attributes[key]); }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function unique(values) {
    var seen = {}, out = [];
    values.forEach(function (v) { if (!seen.hasOwnProperty(v)) { seen[v] = 1; out.push(v); } });
    return out;
  }
  function fill(box, values, labels) {
    while (box.firstChild) { box.removeChild(box.firstChild); }
    values.forEach(function (value, i) {
      var option = document.createElement("option");
      option.value = String(value);
      option.textContent = labels ? labels[i] : String(value);
      box.appendChild(option);
    });
  }
  function batchesOf(model) {
    var sizes = unique(data.series.filter(function (s) { return s.model === model; })
      .map(function (s) { return s.batch; }));
    // "64" or, with numeric formats, "64 bfloat16": by size, then by format.
    return sizes.sort(function (a, b) {
      return (parseFloat(a) || 0) - (parseFloat(b) || 0) || a.localeCompare(b);
    });
  }
  function chosen() {
    return {model: select.model.value, batch: select.batch.value, metric: select.metric.value};
  }
  function fromHash() {
    var wanted = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var pair = part.split("=");
      if (pair.length === 2) { wanted[decodeURIComponent(pair[0])] = decodeURIComponent(pair[1]); }
    });
    return wanted;
  }
  function toHash(choice) {
    var text = "#model=" + encodeURIComponent(choice.model) + "&batch=" +
      encodeURIComponent(choice.batch) + "&metric=" + encodeURIComponent(choice.metric);
    try { history.replaceState(null, "", text); } catch (error) { /* file: URLs may refuse */ }
  }
  function nice(span) {
    var step = Math.pow(10, Math.floor(Math.log(span / 5) / Math.LN10));
    var ratio = span / 5 / step;
    return step * (ratio > 5 ? 10 : ratio > 2 ? 5 : ratio > 1 ? 2 : 1);
  }
  function format(value) { return Number(value.toPrecision(4)).toString(); }
  function percent(change) {
    return change === null ? "" : (change > 0 ? "+" : "") + (100 * change).toFixed(1) + " %";
  }
  function draw() {
    var choice = chosen();
    toHash(choice);
    while (chart.firstChild) { chart.removeChild(chart.firstChild); }
    var legend = document.getElementById("legend");
    while (legend.firstChild) { legend.removeChild(legend.firstChild); }
    var metric = data.metrics[choice.metric];
    var column = choice.metric === "joules" ? 1 : 3;
    var lines = data.series.filter(function (s) {
      return s.model === choice.model && s.batch === choice.batch;
    });
    var shown = [], values = [];
    lines.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p[column] === null) { return; }
        shown.push(p[0]);
        var ci = metric.ci && p[2] !== null ? p[2] : 0;
        values.push(p[column] - ci, p[column] + ci);
      });
    });
    shown = unique(shown).sort(function (a, b) { return a - b; });
    chart.appendChild(el("text", {x: L, y: 22, "class": "title"},
      choice.model + " at batch " + choice.batch + ": " + metric.label));
    if (!shown.length) {
      chart.appendChild(el("text", {x: W / 2, y: H / 2, "text-anchor": "middle"},
        "no measured run of this series"));
      return;
    }
    var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
    var pad = (high - low) * 0.08 || Math.abs(high) * 0.02 || 1;
    low -= pad; high += pad;
    var position = {};
    shown.forEach(function (run, i) { position[run] = i; });
    function x(run) {
      return shown.length === 1 ? (L + W - R) / 2 :
        L + position[run] * (W - L - R) / (shown.length - 1);
    }
    function y(value) { return T + (high - value) * (H - T - B) / (high - low); }
    var tick = nice(high - low);
    for (var v = Math.ceil(low / tick) * tick; v <= high; v += tick) {
      chart.appendChild(el("line", {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e4e4e4"}));
      chart.appendChild(el("text", {x: L - 6, y: y(v) + 4, "text-anchor": "end"}, format(v)));
    }
    chart.appendChild(el("text", {x: 56, y: (T + H - B) / 2, "text-anchor": "middle",
      transform: "rotate(-90 56 " + (T + H - B) / 2 + ")"},
      metric.label + (metric.ci ? ", band: 95 % CI" : "")));
    var every = Math.ceil(shown.length / 30);
    shown.forEach(function (run, i) {
      if (i % every) { return; }
      var info = data.runs[run];
      var label = el("text", {x: x(run), y: H - B + 16, "text-anchor": "end",
        transform: "rotate(-40 " + x(run) + " " + (H - B + 16) + ")"});
      label.appendChild(el("tspan", {}, info.short + (info.dirty ? "*" : "")));
      label.appendChild(el("tspan", {dx: "0.4em", fill: "#777"}, info.date));
      chart.appendChild(label);
    });
    lines.forEach(function (s, number) {
      var colour = colours[s.machine % colours.length];
      var points = s.points.filter(function (p) { return p[column] !== null; });
      if (metric.ci) {
        var upper = points.map(function (p) { return x(p[0]) + "," + y(p[1] + (p[2] || 0)); });
        var lower = points.map(function (p) { return x(p[0]) + "," + y(p[1] - (p[2] || 0)); });
        chart.appendChild(el("polygon", {points: upper.concat(lower.reverse()).join(" "),
          fill: colour, "fill-opacity": 0.18, stroke: "none", "class": "band"}));
      }
      chart.appendChild(el("polyline", {fill: "none", stroke: colour, "stroke-width": 2,
        points: points.map(function (p) { return x(p[0]) + "," + y(p[column]); }).join(" ")}));
      points.forEach(function (p) {
        var info = data.runs[p[0]];
        var dot = el("circle", {cx: x(p[0]), cy: y(p[column]), r: 4, stroke: colour,
          "stroke-width": 2, fill: info.dirty ? "#fff" : colour, "class": "point"});
        var text = (info.commit || info.id) + " (" + info.date + ")" +
          (info.dirty ? ", uncommitted changes" : "") + ": " + format(p[column]) +
          (metric.ci && p[2] !== null ? " \\u00b1 " + format(p[2]) : "");
        dot.appendChild(el("title", {}, text));
        chart.appendChild(dot);
      });
      (s.steps[choice.metric] || []).forEach(function (step) {
        var at = position[step[0]];
        var previous = at > 0 ? shown[at - 1] : step[0];
        var sx = Math.round((x(previous) + x(step[0])) / 2) + 0.5;
        var group = el("g", {"class": "step"});
        group.appendChild(el("line", {x1: sx, x2: sx, y1: T, y2: H - B, stroke: STEP,
          "stroke-width": 3, "stroke-dasharray": "8 5", "shape-rendering": "crispEdges"}));
        group.appendChild(el("text", {x: sx + 5, y: T + 14 + 16 * number},
          "step " + percent(step[1])));
        group.appendChild(el("title", {}, "level " + format(step[2]) + " \\u2192 " +
          format(step[3]) + " from " + data.runs[step[0]].short + " on (t " +
          step[4].toFixed(1) + " > " + step[5].toFixed(1) + ")"));
        chart.appendChild(group);
      });
      var item = document.createElement("li");
      var swatch = document.createElement("span");
      swatch.style.background = colour;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(data.machines[s.machine]));
      legend.appendChild(item);
    });
  }
  function choose(model, batch, metric) {
    if (data.series.some(function (s) { return s.model === model; })) {
      select.model.value = model;
    }
    fill(select.batch, batchesOf(select.model.value));
    if (batch !== undefined && batchesOf(select.model.value).indexOf(batch) >= 0) {
      select.batch.value = batch;
    }
    if (metric === "joules" || metric === "fps") { select.metric.value = metric; }
    draw();
  }
  var models = unique(data.series.map(function (s) { return s.model; })).sort();
  fill(select.model, models);
  fill(select.metric, ["joules", "fps"], [data.metrics.joules.label, data.metrics.fps.label]);
  select.model.addEventListener("change", function () { choose(select.model.value); });
  select.batch.addEventListener("change", draw);
  select.metric.addEventListener("change", draw);
  Array.prototype.forEach.call(document.querySelectorAll("#steps tbody tr"), function (row) {
    row.addEventListener("click", function () {
      choose(row.getAttribute("data-model"), row.getAttribute("data-batch"),
        row.getAttribute("data-metric"));
      chart.scrollIntoView();
    });
  });
  var wanted = fromHash();
  var first = data.first || {};
  choose(wanted.model || first.model || models[0], wanted.batch || first.batch,
    wanted.metric || first.metric);
  document.documentElement.setAttribute("data-drawn", "yes");
})();
"""


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
    return page(title, PAGE_CSS + _CSS, body, _SCRIPT)


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
                        step.t_statistic,
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
        f"{step.t_statistic:.1f} / {step.threshold:.1f}",
    ]
    attributes = (
        f'data-model="{escape_html(one.model)}" data-batch="{escape_html(_batch_text(one))}" '
        f'data-metric="{metric}"'
    )
    return f"<tr {attributes}>" + "".join(f"<td>{escape_html(c)}</td>" for c in cells) + "</tr>"
