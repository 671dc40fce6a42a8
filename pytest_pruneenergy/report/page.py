"""The frame of a self-contained page (report.html, the history page): one file that fetches
nothing. A Content-Security-Policy forbids every network request; the CSS and the script are
inline; every text from the data is escaped, quotes too."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

# Images only from data URIs, no fetch, no form: the page stays offline whatever it contains.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)

PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
  max-width: 1200px; padding: 1.5rem; color: #1b1b1b; background: #fff; line-height: 1.45; }
h1 { margin: 0 0 .25rem; font-size: 1.7rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; font-size: 1.25rem; }
h3 { margin: 1.2rem 0 .3rem; font-size: 1.05rem; }
ul.summary { background: #f2f6fb; border-left: 4px solid #0072B2; padding: .6rem 1rem .6rem 2rem; }
.meta { color: #555; margin: 0; }
.banner { background: #B2182B; color: #fff; padding: .9rem 1.1rem; border-radius: 6px;
  margin: 1rem 0; font-weight: 600; }
.banner ul { margin: .4rem 0 0; font-weight: 400; }
.notice { background: #fff4d6; border-left: 4px solid #E69F00; padding: .6rem .9rem; }
.failed li { color: #8a1020; }
.failed pre { color: #333; background: #f6f6f6; padding: .5rem; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #e4e4e4; text-align: right;
  white-space: nowrap; }
th:first-child, td:first-child, th:last-child, td:last-child { text-align: left; }
.scroll { overflow-x: auto; }
thead th { background: #f2f4f7; cursor: pointer; user-select: none; }
thead th[aria-sort="ascending"]::after { content: " \\25B2"; }
thead th[aria-sort="descending"]::after { content: " \\25BC"; }
tbody tr:nth-child(even) { background: #fafafa; }
tr.estimate td:last-child { color: #B2182B; font-weight: 600; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: .92rem; }
"""

# Sorts by a cell's data-sort (a number) where it has one, else by its text; empty cells last in
# either direction, so that a failed or unpaired row never hides the ranking.
SORT_SCRIPT = """
(function () {
  var table = document.getElementById("results");
  if (!table) { return; }
  var headers = table.tHead.rows[0].cells;
  function key(row, column) {
    var cell = row.cells[column];
    var sort = cell.getAttribute("data-sort");
    if (sort !== null) { return sort === "" ? null : parseFloat(sort); }
    var text = cell.textContent.trim();
    return text === "" ? null : text.toLowerCase();
  }
  function sortBy(column) {
    var header = headers[column];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    for (var i = 0; i < headers.length; i++) { headers[i].setAttribute("aria-sort", "none"); }
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, column), y = key(b, column);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var order = x < y ? -1 : (x > y ? 1 : 0);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(headers, function (header, column) {
    header.setAttribute("aria-sort", "none");
    header.setAttribute("tabindex", "0");
    header.title = "click to sort";
    header.addEventListener("click", function () { sortBy(column); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(column); }
    });
  });
})();
"""


def page(title: str, css: str, body: Sequence[str], script: str) -> str:
    """A whole self-contained page: the network forbidden, the CSS and the script inline.
    ``body``: HTML parts, already escaped, empty ones left out."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape_html(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{script}</script>\n</body>\n</html>\n"
    )


def escape_html(value: Any) -> str:
    """Escaped text; quotes too, so that the same helper is safe inside attributes."""
    return html.escape(str(value), quote=True)
