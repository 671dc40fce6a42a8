"""Write the demo run's results as a Markdown page for docs/.

    python benchmarks/demo_table.py pruneenergy-demo/report/pruneenergy_results.csv docs/demo-gpu.md

Every number on the page comes from the CSV; the page says which device and meter made it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

COLUMNS = {
    "MODEL_NAME": "model",
    "BATCH_SIZE": "batch",
    "Mean Energy per Sample (J)": "J/sample",
    "CI95 Energy per Sample (J)": "± CI95",
    "CI Target Met": "CI met",
    "Dynamic Energy per Sample (J)": "dynamic J/sample",
    "FPS": "FPS",
    "Energy Reduction (%)": "energy red. %",
    "CR (%) measured in FLOPs": "FLOPs CR %",
    "CR (%) measured in Parameters": "params CR %",
}


def markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def render(table: pd.DataFrame, command: str) -> str:
    measured = table[table["Status"] == "measured"]
    failed = table[table["Status"] == "failed"]
    shown = measured[list(COLUMNS)].rename(columns=COLUMNS)
    shown["J/sample"] = shown["J/sample"].map(lambda v: f"{v:.4g}")
    shown["± CI95"] = shown["± CI95"].map(lambda v: f"{v:.2g}")
    shown["FPS"] = shown["FPS"].map(lambda v: f"{v:.1f}")
    shown["dynamic J/sample"] = shown["dynamic J/sample"].map(
        lambda v: "" if pd.isna(v) else f"{v:.4g}"
    )
    for column in ("energy red. %", "FLOPs CR %", "params CR %"):
        shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    devices = ", ".join(sorted(set(measured["Device"])))
    meters = "; ".join(sorted(set(measured["Meter Description"])))
    protocols = ", ".join(sorted(set(measured["Protocol"].astype(str))))
    idle = ", ".join(f"{w:.1f} W" for w in sorted(set(measured["Idle Power (W)"].dropna())))
    lines = [
        "# The demo zoo, measured",
        "",
        f"Device: {devices}  ",
        f"Meter: {meters}  ",
        f"Protocol: {protocols}; idle power: {idle or 'not measured'}  ",
        f"Items measured: {len(measured)}, failed: {len(failed)}",
        "",
        "Regenerate with:",
        "",
        "```",
        command,
        "```",
        "",
        markdown_table(shown),
        "",
    ]
    if len(failed):
        lines += ["Failed items:", ""]
        lines += [f"- {r.MODEL_NAME} bs {r.BATCH_SIZE}: {r.Error}" for r in failed.itertuples()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--command",
        default="python -m pytest_pruneenergy demo --device cuda -- --prune-batch-sizes=8,64 && "
        "python benchmarks/demo_table.py pruneenergy-demo/report/pruneenergy_results.csv "
        "docs/demo-gpu.md",
    )
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(pd.read_csv(args.csv), args.command))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
