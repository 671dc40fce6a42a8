"""The seed's published parameter counts against the zoo's structural ones (docs/seed-paper.md).

    pruneenergy zoo seedzoo --num-classes 1000 --dataset DATASET \\
        --gprs 5,10,15,20,25,30,35,40,45,50,55,60,65
    pruneenergy count seedzoo --csv counts.csv
    python benchmarks/seed_parameters.py tests/data/seed/results.csv counts.csv

Prints, per architecture, how many pruned models the seed publishes more parameters for than
their structure has, by how many, and how many points its parameter CR understates the
structural one (each against its own unpruned model); then one model's numbers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from pytest_pruneenergy.models.naming import parse_model_name
from pytest_pruneenergy.report.schema import model_stem

EXAMPLE = "AlexNet_DATASET_random_PD3_GPR-40_PRUNED_SEED_23.pth"


def model_key(name: str) -> tuple[str, str, float] | None:
    """(architecture, PD, GPR) of a model name, the seed's or the zoo's; ``UNPRUNED`` for PD."""
    parsed = parse_model_name(model_stem(str(name)))
    if parsed is None:
        return None
    if parsed.is_baseline:
        return (parsed.architecture.casefold(), "UNPRUNED", 0.0)
    return (
        parsed.architecture.casefold(),
        str(parsed.pd_label),
        float(parsed.global_pruning_rate_percent),
    )


def compare(published: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """One row per published model: published and structural parameters, and both CRs."""
    structural = {
        model_key(name): int(params)
        for name, params in zip(counts["model"], counts["params"], strict=True)
    }
    models = published.drop_duplicates("MODEL_NAME")
    rows = []
    for name, parameters in zip(models["MODEL_NAME"], models["Parameters"], strict=True):
        key = model_key(name)
        if key is None or key not in structural:
            continue
        rows.append(
            {
                "model": name,
                "architecture": key[0],
                "pd": key[1],
                "published": int(parameters),
                "structural": structural[key],
            }
        )
    table = pd.DataFrame(rows)
    unpruned = table[table["pd"] == "UNPRUNED"].set_index("architecture")
    for column in ("published", "structural"):
        base = table["architecture"].map(unpruned[column])
        table[f"{column} CR (%)"] = 100 - 100 * table[column] / base
    table["understated (points)"] = table["structural CR (%)"] - table["published CR (%)"]
    return table


def render(table: pd.DataFrame) -> str:
    pruned = table[table["pd"] != "UNPRUNED"]
    lines = []
    for architecture, rows in pruned.groupby("architecture", sort=True):
        extra = rows["published"] - rows["structural"]
        points = rows["understated (points)"]
        lines.append(
            f"{architecture}: {int((extra > 0).sum())} of {len(rows)} pruned models published "
            f"with more parameters than their structure ({extra.min():,} to {extra.max():,} "
            f"more); parameter CR understated by {points.min():.1f} to {points.max():.1f} points"
        )
    example = table[table["model"] == EXAMPLE]
    if not example.empty:
        row = example.iloc[0]
        lines.append(
            f"{EXAMPLE}: published {row['published']:,}, structural {row['structural']:,} "
            f"(+{row['published'] - row['structural']:,}); CR {row['published CR (%)']:.2f} % "
            f"published, {row['structural CR (%)']:.2f} % structural"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seed_results", type=Path, help="the seed's results.csv")
    parser.add_argument("counts", type=Path, help="pruneenergy count --csv of the seed's zoo")
    args = parser.parse_args(argv)
    table = compare(pd.read_csv(args.seed_results), pd.read_csv(args.counts))
    if table.empty:
        print("no model of the seed's CSV is in the counts", file=sys.stderr)
        return 1
    print(render(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
