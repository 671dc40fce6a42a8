"""Does a run of the seed's grid reproduce the paper's published table?

Sets a report of the seed's zoo (``grid_cost.py run`` shards, joined with ``pruneenergy merge``)
against the seed's own ``results_with_compression_ratios.csv`` (RTX 3080), pruned model by
pruned model: the same architecture, pruning distribution, GPR and batch size. Writes a page
with the Pearson correlation of energy reduction (all pairs, and per architecture and batch
size), whether the two runs rank the pruning distributions alike, whether pruning costs energy
in the same region (negative reduction), and how the two GPUs' levels differ.

    python benchmarks/reproduction.py \\
        docs/benchmarks/reproduction/whole-h100/pruneenergy_results.csv \\
        tests/data/seed/results_with_compression_ratios.csv docs/reproduction.md \\
        [--beside ANOTHER_GPUS_RESULTS.csv]

``--beside`` sets a second run of ours (another GPU) beside the first, over the pruned models
and batch sizes both measured: each one's mean saving, how the two agree, and how each agrees
with the paper beyond the shared trend.

Both CSVs are read with the plugin's own reader (``pruneenergy report`` reads them alike), so
reductions are computed as the report computes them: 100 - 100 * pruned / unpruned.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
from benchlib import listed, median_ci_percent, write_page

from pytest_pruneenergy.report.reading import read_results_csv
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    CI_TARGET_MET,
    CR_FLOPS,
    ENERGY_REDUCTION,
    FLOPS_SEED,
    FPS,
    GPR,
    GPU,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_CI95,
    PRUNING_DISTRIBUTION,
    is_unpruned_label,
)
from pytest_pruneenergy.report.terminal import HOST_BOUND_DRIFT_FRACTION, host_paced

KEY = [ARCHITECTURE, PRUNING_DISTRIBUTION, GPR, BATCH_SIZE]
OURS, SEED = "ours", "seed"


FPS_GAIN = "FPS Gain (%)"
FLOP_RATE = "FLOP Rate (%)"


def pruned_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The pruned rows with an energy reduction, keyed by architecture, PD, GPR and batch, with
    each one's FPS gain over its unpruned model (100 * pruned / unpruned - 100) and the rate at
    which it ran its FLOPs, in % of its unpruned model's (FLOPs x FPS, pruned over unpruned)."""
    table = table.astype({BATCH_SIZE: int})
    rate = table[FLOPS_SEED].astype(float) * table[FPS].astype(float)
    table = table.assign(rate=rate)
    unpruned = table[PRUNING_DISTRIBUTION].map(is_unpruned_label)
    bases = table[unpruned].groupby([ARCHITECTURE, BATCH_SIZE])[[FPS, "rate"]].mean()
    pruned = table[~unpruned & table[ENERGY_REDUCTION].notna()]
    pruned = pruned[[*KEY, ENERGY_REDUCTION, CR_FLOPS, FPS, "rate"]].astype({GPR: float})
    keys = pd.MultiIndex.from_arrays([pruned[ARCHITECTURE], pruned[BATCH_SIZE]])
    base = bases.reindex(keys)
    pruned[FPS_GAIN] = 100 * pruned[FPS].astype(float) / base[FPS].to_numpy(dtype=float) - 100
    pruned[FLOP_RATE] = 100 * pruned["rate"] / base["rate"].to_numpy(dtype=float)
    return pruned.drop(columns=[FPS, "rate"])


def paired(ours: pd.DataFrame, seed: pd.DataFrame) -> pd.DataFrame:
    """One row per pruned model and batch size measured in both, with both reductions."""
    return pruned_rows(ours).merge(pruned_rows(seed), on=KEY, suffixes=(f" {OURS}", f" {SEED}"))


def pearson(x: pd.Series, y: pd.Series) -> float:
    """Pearson's r; NaN for fewer than three pairs or a constant series."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(xs) < 3 or xs.std() == 0 or ys.std() == 0:
        return math.nan
    return float(np.corrcoef(xs, ys)[0, 1])


def correlations(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pearson r of energy reduction per architecture and batch size, and over all pairs."""
    ours, seed = f"{ENERGY_REDUCTION} {OURS}", f"{ENERGY_REDUCTION} {SEED}"
    rows = [
        {
            ARCHITECTURE: architecture,
            BATCH_SIZE: str(batch),
            "pairs": len(group),
            "r": pearson(group[ours], group[seed]),
        }
        for (architecture, batch), group in pairs.groupby([ARCHITECTURE, BATCH_SIZE])
    ]
    rows.append(
        {
            ARCHITECTURE: "all",
            BATCH_SIZE: "all",
            "pairs": len(pairs),
            "r": pearson(pairs[ours], pairs[seed]),
        }
    )
    return pd.DataFrame(rows)


def within_gpr(pairs: pd.DataFrame, column: str) -> pd.Series:
    """``column`` less its mean over the PDs at the same architecture, batch size and GPR: what
    is left once the shared trend with compression is taken out, the PDs' differences."""
    means = pairs.groupby([ARCHITECTURE, BATCH_SIZE, GPR])[column].transform("mean")
    return pairs[column] - means


def agreement(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and batch size, then over all pairs: how the runs agree beyond the trend
    both share with compression. ``r``: Pearson's r of the reductions; ``r within GPR``: of
    their differences between PDs at one GPR (``within_gpr``); ``mean gap``: the mean absolute
    difference of the reductions, in points; ``FLOPs CR r`` and ``FLOPs CR r within GPR``: the
    same two correlations of the paper's reductions with the FLOPs CR alone, the baseline any
    run beats only by measuring more than the CR."""
    ours, seed = f"{ENERGY_REDUCTION} {OURS}", f"{ENERGY_REDUCTION} {SEED}"
    cr = f"{CR_FLOPS} {SEED}"
    pairs = pairs.assign(
        _ours=within_gpr(pairs, ours), _seed=within_gpr(pairs, seed), _cr=within_gpr(pairs, cr)
    )

    def row(architecture: str, batch: str, group: pd.DataFrame) -> dict[str, object]:
        return {
            ARCHITECTURE: architecture,
            BATCH_SIZE: batch,
            "pairs": len(group),
            "r": pearson(group[ours], group[seed]),
            "r within GPR": pearson(group["_ours"], group["_seed"]),
            "mean gap (points)": float((group[ours] - group[seed]).abs().mean()),
            "FLOPs CR r": pearson(group[cr], group[seed]),
            "FLOPs CR r within GPR": pearson(group["_cr"], group["_seed"]),
        }

    rows = [
        row(architecture, str(batch), group)
        for (architecture, batch), group in pairs.groupby([ARCHITECTURE, BATCH_SIZE])
    ]
    rows.append(row("all", "all", pairs))
    return pd.DataFrame(rows)


def pd_rankings(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and batch size: the PDs from most to least energy saved (mean over the
    GPRs both runs measured), in each run, and whether the best PD is the same."""
    rows = []
    for (architecture, batch), group in pairs.groupby([ARCHITECTURE, BATCH_SIZE]):
        means = group.groupby(PRUNING_DISTRIBUTION)[
            [f"{ENERGY_REDUCTION} {OURS}", f"{ENERGY_REDUCTION} {SEED}"]
        ].mean()
        order = {
            run: list(means[f"{ENERGY_REDUCTION} {run}"].sort_values(ascending=False).index)
            for run in (OURS, SEED)
        }
        rows.append(
            {
                ARCHITECTURE: architecture,
                BATCH_SIZE: batch,
                OURS: " > ".join(order[OURS]),
                SEED: " > ".join(order[SEED]),
                "same best": order[OURS][0] == order[SEED][0],
                "rank r": pearson(
                    pd.Series([order[OURS].index(pd_) for pd_ in means.index], dtype=float),
                    pd.Series([order[SEED].index(pd_) for pd_ in means.index], dtype=float),
                ),
            }
        )
    return pd.DataFrame(rows)


def negative_region(pairs: pd.DataFrame) -> pd.DataFrame:
    """Pairs by whether each run found the pruned model using more energy than its baseline."""
    ours = pairs[f"{ENERGY_REDUCTION} {OURS}"] < 0
    seed = pairs[f"{ENERGY_REDUCTION} {SEED}"] < 0
    rows = []
    for label, mask in (
        ("both negative", ours & seed),
        ("negative in ours only", ours & ~seed),
        ("negative in the seed's only", ~ours & seed),
        ("both positive or zero", ~ours & ~seed),
    ):
        chosen = pairs[mask]
        rows.append(
            {
                "pairs": label,
                "count": int(mask.sum()),
                "GPRs": _gpr_range(chosen),
            }
        )
    return pd.DataFrame(rows)


def _gpr_range(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "-"
    gprs = rows[GPR]
    return f"{gprs.min():g}-{gprs.max():g} (median {gprs.median():g})"


def levels(ours: pd.DataFrame, seed: pd.DataFrame) -> pd.DataFrame:
    """Per architecture and batch size: the unpruned model's energy per sample and FPS on each
    GPU, and the mean energy reduction of the pruned models on each."""
    rows = []
    pairs = paired(ours, seed)
    for (architecture, batch), group in pairs.groupby([ARCHITECTURE, BATCH_SIZE]):
        row = {ARCHITECTURE: architecture, BATCH_SIZE: batch}
        for run, table in ((OURS, ours), (SEED, seed)):
            base = table[
                table[PRUNING_DISTRIBUTION].map(is_unpruned_label)
                & (table[ARCHITECTURE] == architecture)
                & (table[BATCH_SIZE].astype(int) == batch)
            ]
            row[f"J/sample {run}"] = float(base[JOULES_PER_SAMPLE].mean())
            row[f"FPS {run}"] = float(base[FPS].mean())
            row[f"mean reduction {run}"] = float(group[f"{ENERGY_REDUCTION} {run}"].mean())
            row[f"mean FPS gain {run}"] = float(group[f"{FPS_GAIN} {run}"].mean())
            row[f"mean FLOP rate {run}"] = float(group[f"{FLOP_RATE} {run}"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _gpu_name(table: pd.DataFrame) -> str:
    """The GPU (or GPUs) a run's rows name; "?" where its form has no such column."""
    if GPU not in table:
        return "?"
    return ", ".join(sorted(table[GPU].dropna().astype(str).unique())) or "?"


def side_by_side(ours: pd.DataFrame, other: pd.DataFrame, seed: pd.DataFrame) -> pd.DataFrame:
    """Two of our runs on different GPUs, over the pruned models and batch sizes both measured,
    per architecture and batch size and then over all: each run's mean energy reduction, how the
    two agree (r, r within GPR, mean gap, as ``agreement``) and how each agrees with the
    paper's table within GPR. What moves between two GPUs of ours is the GPU (and the lease);
    what the paper's differs in besides is its RTX 3080 and its protocol."""
    both = paired(ours, other)
    if both.empty:
        return pd.DataFrame()
    keys = both[KEY]
    against = {
        name: agreement(paired(run, seed).merge(keys, on=KEY))
        for name, run in (("this run", ours), ("beside", other))
    }
    agreed = agreement(both)
    means = [
        both.groupby([ARCHITECTURE, BATCH_SIZE])[f"{ENERGY_REDUCTION} {run}"].mean()
        for run in (OURS, SEED)
    ]
    table = pd.DataFrame(
        {
            ARCHITECTURE: agreed[ARCHITECTURE],
            BATCH_SIZE: agreed[BATCH_SIZE],
            "pairs": agreed["pairs"],
            "mean reduction, this run": [
                *means[0].to_numpy(),
                float(both[f"{ENERGY_REDUCTION} {OURS}"].mean()),
            ],
            "mean reduction, beside": [
                *means[1].to_numpy(),
                float(both[f"{ENERGY_REDUCTION} {SEED}"].mean()),
            ],
            "r": agreed["r"],
            "r within GPR": agreed["r within GPR"],
            "mean gap (points)": agreed["mean gap (points)"],
        }
    )
    for name, found in against.items():
        table[f"r within GPR with the paper, {name}"] = found["r within GPR"].to_numpy()
    return table


def _side_by_side_lines(
    table: pd.DataFrame, gpu: str, other_gpu: str, other: Path
) -> tuple[list[str], list[str]]:
    """The lead's bullet and the section for a run set beside this one (``--beside``), each
    a list of lines."""
    if table.empty:
        return [
            f"- **Beside {other_gpu}.** The run in `{other}` measured none of this run's pruned "
            "models at the same batch size: nothing to set side by side."
        ], []
    whole, cells = table.iloc[-1], table.iloc[:-1]
    sizes = sorted({int(size) for size in cells[BATCH_SIZE]})
    bullet = (
        f"- **{gpu} beside {other_gpu}.** Over the {int(whole['pairs'])} pruned models and "
        f"batch sizes both measured (batch {listed(sizes)}; `{other}`), pruning "
        f"{_saved(whole['mean reduction, this run'])} on {gpu} and "
        f"{_saved(whole['mean reduction, beside'])} on {other_gpu}; the two runs' reductions "
        f"differ by {whole['mean gap (points)']:.1f} points on average and their PDs' "
        f"differences at one GPR correlate at r = {whole['r within GPR']:.2f}. Against the "
        f"paper within GPR: r = {whole['r within GPR with the paper, this run']:.2f} on {gpu}, "
        f"{whole['r within GPR with the paper, beside']:.2f} on {other_gpu}."
    )
    section = [
        "",
        f"## {gpu} beside {other_gpu}",
        "",
        f"This run against `{other}`, over the pruned models and batch sizes both measured; the "
        "last two columns: each run's PDs' differences at one GPR against the paper's.",
        "",
        *markdown_table(
            table, {column: ".2f" for column in table.columns if column not in ("pairs",)}
        ),
    ]
    return [bullet], section


def markdown_table(table: pd.DataFrame, formats: dict[str, str] | None = None) -> list[str]:
    formats = formats or {}
    header = [str(column) for column in table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = []
        for column in table.columns:
            value = row[column]
            spec = formats.get(column)
            cells.append(format(value, spec) if spec and isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scatter(pairs: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 6))
    for (architecture, batch), group in pairs.groupby([ARCHITECTURE, BATCH_SIZE]):
        axes.scatter(
            group[f"{ENERGY_REDUCTION} {SEED}"],
            group[f"{ENERGY_REDUCTION} {OURS}"],
            s=14,
            label=f"{architecture} bs{batch}",
        )
    low = min(pairs[f"{ENERGY_REDUCTION} {SEED}"].min(), pairs[f"{ENERGY_REDUCTION} {OURS}"].min())
    high = max(pairs[f"{ENERGY_REDUCTION} {SEED}"].max(), pairs[f"{ENERGY_REDUCTION} {OURS}"].max())
    axes.plot([low, high], [low, high], color="grey", linewidth=0.8, label="equal")
    axes.axhline(0, color="black", linewidth=0.5)
    axes.axvline(0, color="black", linewidth=0.5)
    axes.set_xlabel("energy reduction (%), the paper's table (RTX 3080)")
    axes.set_ylabel("energy reduction (%), this run")
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(figure)


def _precision_lines(ours: pd.DataFrame) -> list[str]:
    """How precise this run's rows are: those that met the CI target, and the median CI."""
    if CI_TARGET_MET not in ours or JOULES_PER_SAMPLE_CI95 not in ours:
        return []
    rows = ours.dropna(subset=[JOULES_PER_SAMPLE_CI95])
    met = int(rows[CI_TARGET_MET].astype(bool).sum())
    ci = median_ci_percent(rows)
    line = (
        f"- **Our precision.** {met} of this run's {len(rows)} rows met the CI target; the "
        f"median 95 % CI is {ci:.2f} % of the energy per sample. A reduction is only as sure as "
        "its pruned row and its baseline together."
    )
    paced = int(host_paced(rows).sum())
    if paced:
        line += (
            f" {paced} of the rows ran at the host's pace (their time per sample varied by more "
            f"than {100 * HOST_BOUND_DRIFT_FRACTION:g} % between windows): their energy follows "
            "the host's speed, which a CI within one run does not cover, and so do reductions "
            "between them."
        )
    return [line]


def coverage_gaps(seed_pruned: pd.DataFrame, pairs: pd.DataFrame) -> list[str]:
    """The architectures and batch sizes of the paper's table that this run has no pair of."""
    gaps = []
    for column, name in ((ARCHITECTURE, "architecture"), (BATCH_SIZE, "batch size")):
        missing = sorted(set(seed_pruned[column]) - set(pairs[column]))
        if missing:
            gaps.append(f"{name}{'s' if len(missing) > 1 else ''} {listed(missing)}")
    if gaps:
        gaps[0] = gaps[0][0].upper() + gaps[0][1:]
    return gaps


def _saved(percent: float) -> str:
    """A mean energy reduction in words: a saving, or a cost where it is negative."""
    if percent < 0:
        return f"cost {-percent:.1f} % more energy per sample"
    return f"saved {percent:.1f} %"


def _pace(percent: float) -> str:
    """A mean FPS gain in words: above, or below where it is negative."""
    return f"{abs(percent):.0f} % {'below' if percent < 0 else 'above'}"


def render(args: argparse.Namespace) -> int:
    ours = read_results_csv(args.ours)
    seed = read_results_csv(args.seed)
    pairs = paired(ours, seed)
    if pairs.empty:
        raise SystemExit("no pruned model and batch size is in both tables")
    found = correlations(pairs)
    overall = found[found[ARCHITECTURE] == "all"].iloc[0]
    agreed = agreement(pairs)
    whole = agreed.iloc[-1]
    cells = agreed.iloc[:-1]
    rankings = pd_rankings(pairs)
    region = negative_region(pairs).set_index("pairs")["count"]
    level = levels(ours, seed)
    gpu = _gpu_name(ours)
    beside_bullet: list[str] = []
    beside_section: list[str] = []
    if args.beside is not None:
        other = read_results_csv(args.beside)
        beside_bullet, beside_section = _side_by_side_lines(
            side_by_side(ours, other, seed), gpu, _gpu_name(other), args.beside
        )
    figure = args.page.with_name(args.page.stem + "-scatter.png")
    scatter(pairs, figure)
    agree = int(region["both negative"] + region["both positive or zero"])
    sizes = sorted(pairs[BATCH_SIZE].unique())
    seed_pruned = pruned_rows(seed)
    at_our_sizes = seed_pruned[seed_pruned[BATCH_SIZE].isin(sizes)]
    gaps = coverage_gaps(seed_pruned, pairs)
    rate_ours, rate_seed = level["mean FLOP rate ours"].mean(), level["mean FLOP rate seed"].mean()
    dearer = gpu if rate_ours < rate_seed else "the RTX 3080"
    lines = [
        f"# Reproduction: the seed's grid{' (in part)' if gaps else ''} on {gpu} against the "
        "paper's table",
        "",
        f"Rendered by `python benchmarks/reproduction.py {args.ours} {args.seed} {args.page}"
        + (f" --beside {args.beside}" if args.beside is not None else "")
        + "`. "
        "This run: the seed's zoo built and measured in parts by `benchmarks/grid_cost.py`, "
        "joined into one CSV (the [data index](benchmarks/README.md) says how each data "
        "folder was joined; [grid-cost](benchmarks/grid-cost/README.md) has the parts, their "
        "caps and their raw files). The paper's: its own CSV, as published.",
        "",
        f"- **Beyond the shared trend.** Both runs' savings grow with compression, and so does "
        "the FLOPs CR itself: it alone correlates with the paper's reductions at r = "
        f"{whole['FLOPs CR r']:.2f}. With each GPR's mean over the PDs taken out of both runs, "
        "what is left is how the PDs differ at one compression: ours and the paper's agree at "
        f"r = {whole['r within GPR']:.2f} (per architecture and batch size "
        f"{cells['r within GPR'].min():.2f} to {cells['r within GPR'].max():.2f}), the FLOPs "
        f"CR alone at r = {whole['FLOPs CR r within GPR']:.2f}.",
        f"- **Gaps.** Our reduction and the paper's differ by {whole['mean gap (points)']:.1f} "
        f"points on average ({cells['mean gap (points)'].min():.1f} to "
        f"{cells['mean gap (points)'].max():.1f} per architecture and batch size), on two GPUs "
        "of different generations (below).",
        # Where nothing is missing, the coverage bullet below says it all.
        *(
            [
                f"- **Not covered.** {'; '.join(gaps)}: {len(seed_pruned) - len(pairs)} of the "
                "paper's pruned rows that this run has no pair of."
            ]
            if gaps
            else []
        ),
        f"- **Correlation.** Over {int(overall['pairs'])} pruned models and batch sizes measured "
        f"in both, the energy reductions correlate with Pearson r = {overall['r']:.2f}; per "
        f"architecture and batch size r runs from {found['r'].iloc[:-1].min():.2f} to "
        f"{found['r'].iloc[:-1].max():.2f}.",
        f"- **Which PD saves most.** The best PD is the same in {int(rankings['same best'].sum())} "
        f"of {len(rankings)} architecture and batch size cells.",
        f"- **Where pruning costs energy.** {agree} of {len(pairs)} pairs agree on the sign of "
        f"the reduction; {int(region['both negative'])} are negative in both, "
        f"{int(region['negative in the seed' + chr(39) + 's only'])} only in the paper's, "
        f"{int(region['negative in ours only'])} only in ours.",
        f"- **Two GPUs.** On {gpu} pruning {_saved(level['mean reduction ours'].mean())} on "
        f"average, on the RTX 3080 it {_saved(level['mean reduction seed'].mean())} (table "
        f"below). The pruned models' FPS lay on average "
        f"{_pace(level['mean FPS gain ours'].mean())} their unpruned model's on {gpu}, "
        f"{_pace(level['mean FPS gain seed'].mean())} on the RTX 3080: removed FLOPs bought "
        "less time on one GPU than on the other, and with it less or more energy.",
        f"- **Why.** A pruned model ran its remaining FLOPs on average at "
        f"{rate_ours:.0f} % of its unpruned model's rate on {gpu}, at {rate_seed:.0f} % on "
        "the RTX 3080 (FLOPs x FPS, pruned over unpruned): its FLOPs cost more time than its "
        f"unpruned model's on both GPUs, and more on {dearer}."
        + (
            " Narrower layers leave more of a larger GPU idle (the H200 has 132 SMs, the RTX "
            "3080 68); this run does not measure that directly."
            if "H200" in gpu and rate_ours < rate_seed
            else ""
        ),
        *_precision_lines(ours),
        *beside_bullet,
        f"- **Coverage.** {len(pairs)} of the paper's {len(at_our_sizes)} pruned rows at batch "
        f"{'size' if len(sizes) == 1 else 'sizes'} {listed(sizes)} (the pairs "
        "per architecture and batch size are in the first table).",
        "",
        f"![this run against the paper, per pruned model]({figure.name})",
        "",
        "## Agreement per architecture and batch size",
        "",
        "r within GPR: the correlation of the PDs' differences at one GPR (each GPR's mean "
        "over the PDs taken out of both runs); FLOPs CR: the same correlations of the paper's "
        "reductions with the FLOPs CR alone.",
        "",
        *markdown_table(
            agreed,
            {column: ".2f" for column in agreed.columns if column not in ("pairs",)},
        ),
        "",
        "## The PDs ranked by mean energy reduction",
        "",
        *markdown_table(rankings, {"rank r": ".2f"}),
        "",
        "## Where pruning costs energy",
        "",
        *markdown_table(negative_region(pairs)),
        "",
        "## The two GPUs' levels",
        "",
        *markdown_table(level, {column: ".4g" for column in level.columns[2:]}),
        *beside_section,
    ]
    write_page(args.page, lines)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours", type=Path, help="a report CSV of the seed's zoo")
    parser.add_argument("seed", type=Path, help="the seed's results_with_compression_ratios.csv")
    parser.add_argument("page", type=Path)
    parser.add_argument(
        "--beside",
        type=Path,
        default=None,
        help="another report CSV of the seed's zoo, on another GPU: the two set side by side",
    )
    return render(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
