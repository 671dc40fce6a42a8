"""Write docs/example-report/ (figures and report.html) from the committed GPU demo results.

    python benchmarks/example_report.py

The same as ``pruneenergy report docs/demo-gpu/pruneenergy_results.csv --out
docs/example-report``, run from any folder; rerun it whenever the report's look changes, so
that the example in the docs shows what ``pruneenergy report`` writes today.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_pruneenergy import cli

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS_CSV = REPOSITORY / "docs" / "demo-gpu" / "pruneenergy_results.csv"
OUT_DIR = REPOSITORY / "docs" / "example-report"


def main() -> int:
    """Run ``pruneenergy report`` on the demo results; return its exit code."""
    return cli.main(["report", str(RESULTS_CSV), "--out", str(OUT_DIR)])


if __name__ == "__main__":
    sys.exit(main())
