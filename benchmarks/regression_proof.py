"""Does ``--energy-compare`` catch a model that got heavier, and only that one? Proof on a GPU.

Three runs of the demo zoo at one batch size, each stored in a fresh run store:

1. ``--energy-save``: the baseline;
2. ``--energy-save --energy-compare --energy-compare-fail=joules:PCT``: the same models again, so
   every difference is measurement noise and nothing may be flagged (exit status 0);
3. the same, after one file has been replaced by a heavier model under the same name (by default
   VGG11 PD1 GPR-50 by VGG11 PD1 GPR-20: the same architecture, ~2.3x the FLOPs): exactly that
   model must be flagged (exit status 1).

    python benchmarks/regression_proof.py run --out proof          # on the GPU, ~4 min
    python benchmarks/regression_proof.py render proof docs/ci-proof.md

``run`` keeps each pytest run's terminal output (``run-N.txt``) and ``proof.json`` (the three
stored runs, exit statuses, which file was swapped); ``render`` writes the table from it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

from pytest_pruneenergy.demo import (
    DEMO_GPRS,
    DEMO_LAYOUTS,
    DEMO_PDS,
    choose_plan,
    pytest_arguments,
)
from pytest_pruneenergy.track.compare import (
    ItemComparison,
    change_percent_text,
    compare_runs,
    stored_joules_text,
)
from pytest_pruneenergy.track.store import RunRecord

SWAPPED = "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth"
HEAVIER = "VGG11_CIFAR10_random_PD1_GPR-20_PRUNED.pth"


def run(args: argparse.Namespace) -> int:
    from pytest_pruneenergy.models.zoo import build_zoo

    out: Path = args.out
    plan = choose_plan(args.device)
    batch_size = args.batch_size or max(plan.batch_sizes)
    if out.exists():
        shutil.rmtree(out)
    models = out / "models"
    build_zoo(
        models, layouts=DEMO_LAYOUTS, pds=DEMO_PDS, gprs=DEMO_GPRS, input_size=plan.input_size
    )
    for name in (SWAPPED, HEAVIER):
        if not (models / name).is_file():
            raise SystemExit(f"the demo zoo has no {name}")
    store = out / "store"
    base = [
        sys.executable,
        "-m",
        "pytest",
        *pytest_arguments(plan, models, out / "report"),
        f"--prune-device={args.device}",
        f"--prune-batch-sizes={batch_size}",
        f"--energy-store={store}",
        "--energy-save",
    ]
    gate = f"--energy-compare-fail=joules:{args.fail_percent:g}%"
    exit_statuses = []
    for number, extra in enumerate(([], [gate], [gate]), start=1):
        if number == 3:
            shutil.copyfile(models / HEAVIER, models / SWAPPED)
        completed = subprocess.run([*base, *extra], capture_output=True, text=True, check=False)
        (out / f"run-{number}.txt").write_text(completed.stdout + completed.stderr)
        exit_statuses.append(completed.returncode)
        print(f"run {number}: exit status {completed.returncode}", flush=True)
        print("\n".join(completed.stdout.splitlines()[-30:]), flush=True)
    # The stored runs travel inside proof.json: one file to fetch from a GPU machine.
    stored = [json.loads(path.read_text()) for path in sorted(store.glob("*.json"))]
    (out / "proof.json").write_text(
        json.dumps(
            {
                "runs": stored,
                "exit_statuses": exit_statuses,
                "swapped": SWAPPED,
                "heavier": HEAVIER,
                "batch_size": batch_size,
                "fail_percent": args.fail_percent,
            },
            indent=1,
        )
        + "\n"
    )
    # Rebuilt by the zoo command; only the records matter, and a GPU machine returns few files.
    for folder in (models, store, out / "report"):
        shutil.rmtree(folder)
    return 0


def render(args: argparse.Namespace) -> int:
    folder: Path = args.folder
    proof = json.loads((folder / "proof.json").read_text())
    runs = sorted(
        (RunRecord.from_dict(data, "proof.json") for data in proof["runs"]),
        key=lambda run: run.created_utc,
    )
    if len(runs) != 3:
        raise SystemExit(f"expected 3 stored runs in proof.json, found {len(runs)}")
    fraction = proof["fail_percent"] / 100
    second = compare_runs(runs[0], runs[1], threshold_joules_fraction=fraction)
    third = compare_runs(runs[1], runs[2], threshold_joules_fraction=fraction)
    swapped_model = proof["swapped"].removesuffix(".pth")
    machine = runs[0].machine
    lines = [
        "# Proof: the energy-compare gate flags a heavier model, and only it",
        "",
        f"GPU: {machine.gpu_name} (driver {machine.driver}, power limit "
        f"{machine.power_limit_watts} W), torch {machine.torch_version}.",
        f"The demo zoo (21 models) at batch size {proof['batch_size']}, three runs, gate "
        f"`--energy-compare-fail=joules:{proof['fail_percent']:g}%`. Before run 3, "
        f"`{proof['swapped']}` was overwritten with `{proof['heavier']}`: a heavier model under "
        "the same name.",
        "",
        f"Exit statuses: run 2 (same models) {proof['exit_statuses'][1]}, run 3 (one swapped) "
        f"{proof['exit_statuses'][2]}.",
        "",
        "Regenerate (on the GPU, then anywhere):",
        "",
        "```",
        "python benchmarks/regression_proof.py run --out proof",
        "python benchmarks/regression_proof.py render proof docs/ci-proof.md",
        "```",
        "",
        "J/sample is gross energy per sample with its 95 % CI; change is against the run before;",
        "a verdict other than unchanged needs the change beyond the threshold AND outside both",
        "CIs.",
        "",
        "| model | run 1 J/sample | run 2 J/sample | change 1->2 | verdict 2 | "
        "run 3 J/sample | change 2->3 | verdict 3 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_key_second = {(c.model, c.batch_size): c for c in second}
    for comparison in third:
        key = (comparison.model, comparison.batch_size)
        earlier = by_key_second[key]
        name = f"**{comparison.model}**" if comparison.model == swapped_model else comparison.model
        cells = [
            name,
            stored_joules_text(earlier.baseline),
            stored_joules_text(earlier.current),
            change_percent_text(earlier.joules_change_fraction),
            earlier.verdict,
            stored_joules_text(comparison.current),
            change_percent_text(comparison.joules_change_fraction),
            comparison.verdict,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    noise = max(second, key=lambda c: abs(c.joules_change_fraction or 0.0))
    outside = [c.model for c in second if c.joules_outside_cis]
    flagged_second = [c.model for c in second if c.joules_regressed]
    flagged_third = [c.model for c in third if c.joules_regressed]
    lines += [
        "",
        f"Flagged in run 2: {', '.join(flagged_second) or 'none'}. "
        f"Flagged in run 3: {', '.join(flagged_third) or 'none'}.",
        "",
        _noise_text(second, noise, outside, fraction, proof["fail_percent"]),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


def _noise_text(
    second: list[ItemComparison],
    noise: ItemComparison,
    outside: list[str],
    fraction: float,
    fail_percent: float,
) -> str:
    """Runs 1 and 2 (the same models): the largest change, and how many changes fell outside
    both CIs, of those whose CIs are known."""
    largest = f"{change_percent_text(noise.joules_change_fraction)} ({noise.model})"
    if not all(abs(c.joules_change_fraction or 0.0) < fraction for c in second):
        return f"Noise between runs 1 and 2: the largest change was {largest}."
    judged = [c for c in second if c.joules_outside_cis is not None]
    unknown = len(second) - len(judged)
    return (
        f"Noise between runs 1 and 2 (same models): the largest change was {largest}; "
        f"{len(outside)} of {len(judged)} changes fell outside both CIs "
        + (f"(the CIs of {unknown} more unknown) " if unknown else "")
        + f"({', '.join(outside) or 'none'}), all under the {fail_percent:g} % threshold "
        "that a gate adds on top."
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--device", default="cuda")
    run_parser.add_argument(
        "--batch-size", type=int, help="default: the demo's largest for the device (GPU: 64)"
    )
    run_parser.add_argument("--fail-percent", type=float, default=5.0)
    render_parser = commands.add_parser("render")
    render_parser.add_argument("folder", type=Path)
    render_parser.add_argument("out", type=Path)
    args = parser.parse_args()
    return run(args) if args.command == "run" else render(args)


if __name__ == "__main__":
    raise SystemExit(main())
