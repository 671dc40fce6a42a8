"""The end of a run, on the controller, as pytest sees it: the markdown summary's files and
pytest's last line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# GitHub Actions shows what a job appends to this file on the run's page.
STEP_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"


def write_markdown(
    text: str, path: Path | None, steps_found_line: str | None
) -> tuple[list[str], list[str]]:
    """Write the summary to ``path`` (replacing it) and append it to the step summary file
    (``$GITHUB_STEP_SUMMARY``); returns the summary's lines and, apart, those of files that
    could not be written (which fail the session, as a report not written does)."""
    lines: list[str] = []
    problems: list[str] = []
    targets = [(path, "w")] if path is not None else []
    if steps_found_line:
        targets.append((Path(steps_found_line), "a"))
    for target, mode in targets:
        try:
            with target.open(mode, encoding="utf-8") as handle:
                handle.write(text)
        except OSError as error:
            problems.append(f"MARKDOWN SUMMARY NOT WRITTEN to {target}: {error}")
        else:
            lines.append(f"markdown summary: {target}" + (" (appended)" if mode == "a" else ""))
    return lines + problems, problems


@dataclass
class CountedProblem:
    """An entry of pytest's terminal stats for a problem that failed the session (a gate, a
    report not written): plugins that read those stats (xdist, pytest-benchmark) expect
    objects with attributes, not strings."""

    message: str
    count_towards_summary: bool = True


def count_on_last_line(
    stats: dict[str, list[Any]], messages: Sequence[str], singular: str, plural: str
) -> None:
    """pytest's last line counts every key of its stats: "6 passed, 1 energy gate failed"
    instead of a bare "6 passed" over a run that exits with status 1."""
    if messages:
        key = singular if len(messages) == 1 else plural
        stats.setdefault(key, []).extend(CountedProblem(message) for message in messages)
