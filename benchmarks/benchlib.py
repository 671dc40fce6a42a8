"""Pieces the benchmark scripts share: the bare timing loop they hold the harness against, and
reading their JSON-lines results back."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


def passes_per_second(
    run_pass: Callable[[], object], synchronize: Callable[[], None], seconds: float
) -> float:
    """Back-to-back passes for ``seconds``, bracketed by two synchronizations: nothing else
    runs in the loop, so this is the speed the harness must not reduce."""
    synchronize()
    start = time.perf_counter()
    passes = 0
    while time.perf_counter() - start < seconds:
        run_pass()
        passes += 1
    synchronize()
    return passes / (time.perf_counter() - start)


def read_json_lines(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record of every file, in order; blank lines skipped."""
    return [
        json.loads(line)
        for path in paths
        for line in Path(path).read_text().splitlines()
        if line.strip()
    ]


def gpus_of(records: Iterable[dict[str, Any]]) -> str:
    """The GPUs (with drivers) that a results file's records were measured on, for its page."""
    return ", ".join(sorted({f"{r['gpu']} (driver {r['driver']})" for r in records}))


def add_model_grid_arguments(
    parser: argparse.ArgumentParser, layouts: Sequence[str], batch_sizes: Sequence[int]
) -> None:
    """``--repeats``, ``--layouts`` and ``--batch-sizes``: which rows a GPU run measures."""
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layouts", type=lambda t: t.split(","), default=list(layouts))
    parser.add_argument(
        "--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=list(batch_sizes)
    )
