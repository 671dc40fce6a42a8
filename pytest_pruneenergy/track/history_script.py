"""The history page's own style and script: a chooser of model, batch size and metric, and the
chart drawn as SVG from the runs the page carries as JSON (track/history_page.py)."""

HISTORY_CSS = """
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
HISTORY_SCRIPT = """
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
        // A band over each stretch of two or more runs whose CI is known; a gap where it is
        // not, never a band of zero width. A lone run's CI is in its dot's title (as the PNG).
        var stretch = [];
        points.concat([null]).forEach(function (p) {
          if (p !== null && p[2] !== null) { stretch.push(p); return; }
          if (stretch.length > 1) {
            var upper = stretch.map(function (q) { return x(q[0]) + "," + y(q[1] + q[2]); });
            var lower = stretch.map(function (q) { return x(q[0]) + "," + y(q[1] - q[2]); });
            chart.appendChild(el("polygon", {points: upper.concat(lower.reverse()).join(" "),
              fill: colour, "fill-opacity": 0.18, stroke: "none", "class": "band"}));
          }
          stretch = [];
        });
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
          (step[4] === null ? "\\u221e" : step[4].toFixed(1)) + " > " + step[5].toFixed(1) +
          ")"));
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
