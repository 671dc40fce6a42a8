"""A model's energy across stored runs: one row per run, model and batch size."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

from .store import RunRecord

HISTORY_COLUMNS = (
    "run_id",
    "time_utc",
    "commit",
    "dirty",
    "branch",
    "machine_key",
    "model",
    "batch_size",
    "joules_per_sample",
    "joules_per_sample_ci95",
    "fps",
    "status",
)


def history_rows(
    runs: Sequence[RunRecord], *, model_glob: str | None = None, batch_size: int | None = None
) -> list[dict[str, Any]]:
    """One row per run x model x batch size, oldest run first."""
    rows = []
    for run in runs:
        for item in run.items:
            if model_glob is not None and not fnmatch.fnmatchcase(item.model, model_glob):
                continue
            if batch_size is not None and item.batch_size != batch_size:
                continue
            rows.append(
                {
                    "run_id": run.run_id,
                    "time_utc": run.created_utc,
                    "commit": run.git.commit,
                    "dirty": run.git.dirty,
                    "branch": run.git.branch,
                    "machine_key": run.machine_key,
                    "model": item.model,
                    "batch_size": item.batch_size,
                    "joules_per_sample": item.joules_per_sample,
                    "joules_per_sample_ci95": item.joules_per_sample_ci95,
                    "fps": item.fps,
                    "status": item.status,
                }
            )
    return rows
