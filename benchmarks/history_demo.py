"""A history of real runs over commits, with one planted change: does the step check find it?

``run`` makes a throwaway git repository holding a few models of the demo zoo (AlexNet and
VGG11, unpruned and PD1 GPR-50), and for each of N commits measures them with the plugin on the
same machine, storing every run (``--energy-save``) and judging it with the step gate
(``--energy-step-fail``). At one commit it overwrites VGG11 PD1 GPR-50 with the heavier VGG11
PD1 GPR-45 under the same name (about 1.2x the FLOPs): the planted change, as
``regression_proof.py`` plants its own, but smaller. ``render`` puts the stored runs in a run
store and draws the history page from it with ``pruneenergy history --html``, and writes a page
that says where the steps were found and what the gate said at each commit.

    python benchmarks/history_demo.py run --out history-run          # on the GPU, ~3-4 min
    python benchmarks/history_demo.py render history-run docs/benchmarks/history

``run`` leaves two files in OUT: ``history_demo.json`` (every stored run, the commits, the
exit statuses, what was planted where) and ``history_demo.log`` (each run's summary).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import option_value

from pytest_pruneenergy.track.history import (
    JOULES,
    StepFinding,
    describe_step,
    history_series,
    in_commit_order,
    machine_label,
)
from pytest_pruneenergy.track.store import RunRecord, save_run

BUNDLE = "history_demo.json"
LOG = "history_demo.log"
LAYOUTS = ("alexnet", "vgg11")
PDS = (1,)
MEASURED_GPR = 50
HEAVIER_GPR = 45
SWAPPED = f"VGG11_CIFAR10_random_PD1_GPR-{MEASURED_GPR}_PRUNED.pth"
HEAVIER = f"VGG11_CIFAR10_random_PD1_GPR-{HEAVIER_GPR}_PRUNED.pth"
STEP_FAIL = "joules:5%"
# Enough of the summary to see each run's rows, its steps and its verdict in the log.
LOG_LINES = 40


def run(args: argparse.Namespace) -> int:
    if shutil.which("git") is None:
        raise SystemExit("history_demo needs git: it commits to a throwaway repository")
    out: Path = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    repository, store = out / "repo", out / "store"
    models = repository / "models"
    swapped, heavier, input_size = _models(args, out, models)
    _git(repository, "init", "-q")
    _git(repository, "config", "user.name", "history demo")
    _git(repository, "config", "user.email", "history-demo@example.invalid")
    # An ini file of its own: pytest's rootdir, hence the commit a run records, is this one.
    (repository / "pytest.ini").write_text("[pytest]\n")
    (repository / "CHANGES").write_text("")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "models",
        "--prune-models=models",
        f"--prune-batch-sizes={args.batch_sizes}",
        f"--prune-device={args.device}",
        f"--energy-meter={args.meter}",
        f"--energy-max-seconds={args.max_seconds:g}",
        "--energy-idle-seconds=0",
        "--energy-save",
        f"--energy-store={store}",
        f"--energy-step-fail={STEP_FAIL}",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:benchmark",
    ]
    if input_size is not None:
        command.append(f"--prune-input-shape=3,{input_size},{input_size}")
    commits, exit_statuses, log = [], [], []
    started = time.perf_counter()
    for number in range(1, args.commits + 1):
        with (repository / "CHANGES").open("a") as changes:
            changes.write(f"commit {number}\n")
        message = f"commit {number}"
        if number == args.change_at:
            shutil.copyfile(heavier, models / swapped)
            message += f": {swapped} replaced by the heavier {heavier.name}"
        _git(repository, "add", "-A")
        _git(repository, "commit", "-q", "-m", message)
        commits.append(_git(repository, "rev-parse", "HEAD"))
        completed = subprocess.run(
            command, cwd=repository, capture_output=True, text=True, check=False
        )
        exit_statuses.append(completed.returncode)
        tail = completed.stdout.splitlines()[-LOG_LINES:]
        log += [f"== {message} ({commits[-1][:7]}): exit status {completed.returncode}", *tail]
        print(f"{message}: exit status {completed.returncode}", flush=True)
        print("\n".join(tail[-12:]), flush=True)
    stored = [json.loads(path.read_text()) for path in sorted(store.glob("*.json"))]
    bundle = {
        "runs": stored,
        "commits": commits,
        "exit_statuses": exit_statuses,
        "change_at": args.change_at,
        "swapped": swapped,
        "heavier": heavier.name,
        "models": sorted(path.name for path in models.iterdir()),
        # The store's folder is a temporary one: named by its option alone.
        "command": [
            "--energy-store=STORE" if part.startswith("--energy-store=") else part
            for part in command[3:]
        ],
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / BUNDLE).write_text(json.dumps(bundle, indent=1) + "\n")
    (out / LOG).write_text("\n".join(log) + "\n")
    # Only the records matter, and a GPU machine gives few files back.
    for folder in (repository, store, out / "zoo"):
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {out / BUNDLE} and {out / LOG} ({bundle['seconds']} s)")
    return 0 if len(stored) == args.commits else 1


def _models(args: argparse.Namespace, out: Path, models: Path) -> tuple[str, Path, int | None]:
    """The measured model files in ``models``, the name of the one to replace, the heavier
    file, and the input size to measure at (None: the files' own)."""
    models.mkdir(parents=True)
    if args.models is not None:
        for path in sorted(args.models.iterdir()):
            if path.is_file():
                shutil.copyfile(path, models / path.name)
        if not (models / args.swap).is_file():
            raise SystemExit(f"{args.models} has no {args.swap}")
        return args.swap, args.heavier.resolve(), None
    from pytest_pruneenergy.demo import choose_plan
    from pytest_pruneenergy.models.zoo import build_zoo

    input_size = choose_plan(args.device).input_size
    zoo = out / "zoo"
    built = build_zoo(
        zoo,
        layouts=LAYOUTS,
        pds=PDS,
        gprs=(HEAVIER_GPR, MEASURED_GPR),
        input_size=input_size,
    )
    for path in built:
        if f"GPR-{HEAVIER_GPR}_" not in path.name:
            shutil.copyfile(path, models / path.name)
    return SWAPPED, zoo / HEAVIER, input_size


def _git(repository: Path, *arguments: str) -> str:
    repository.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.check_output(
        ["git", *arguments], cwd=repository, text=True, env=environment
    ).strip()


# -- render ------------------------------------------------------------------------------------


def render(args: argparse.Namespace) -> int:
    from pytest_pruneenergy import cli

    bundle = json.loads((args.folder / BUNDLE).read_text())
    runs = in_commit_order(RunRecord.from_dict(data, BUNDLE) for data in bundle["runs"])
    store = args.page_dir / "runs"
    shutil.rmtree(store, ignore_errors=True)
    for record in runs:
        save_run(record, store)
    code = cli.main(["history", "--html", "--store", str(store), "--out", str(args.page_dir)])
    if code != 0:
        return code
    # The page's data beside it, so that the page can be rendered again from what is committed.
    if (args.folder / BUNDLE).resolve() != (args.page_dir / BUNDLE).resolve():
        shutil.copyfile(args.folder / BUNDLE, args.page_dir / BUNDLE)
    lines = page_lines(bundle, runs, store)
    (args.page_dir / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {args.page_dir / 'README.md'}")
    return 0


def page_lines(bundle: dict[str, Any], runs: list[RunRecord], store: Path) -> list[str]:
    """The page beside the history: how it was made, each commit's verdict, the steps found
    and whether the planted change is among them, at its commit."""
    commits = bundle["commits"]
    planted = commits[bundle["change_at"] - 1]
    swapped_model = bundle["swapped"].removesuffix(".pth")
    series = history_series(runs)
    findings = [StepFinding(one, JOULES, step) for one in series for step in one.steps(JOULES)]
    at_planted = [f for f in findings if planted_step(f, swapped_model, planted)]
    swapped_series = [one for one in series if one.model == swapped_model]
    machines = sorted({machine_label(run.machine) for run in runs})
    estimated = any(item.meter == "estimate" for run in runs for item in run.items)
    models = ", ".join(f"`{name}`" for name in bundle["models"])
    lines = [
        "# A history with one planted change, and the steps found in it",
        "",
        answer(bundle, runs, at_planted, len(swapped_series), len(findings) - len(at_planted)),
        "",
        f"Machine: {'; '.join(machines)}."
        + (" Energy ESTIMATED from CPU time (no energy counter)." if estimated else ""),
        f"{len(runs)} runs of {len(commits)} commits of a throwaway repository holding {models}, "
        f"measured in {bundle['seconds']:g} s in all. At commit {bundle['change_at']} "
        f"(`{planted[:7]}`) `{bundle['swapped']}` was overwritten with `{bundle['heavier']}`: a "
        "heavier model under the same name.",
        "",
        "The page: [energy_history.html](energy_history.html), drawn by `pruneenergy history "
        f"--html` from the stored runs in [{store.name}/]({store.name}/). Regenerate (on the "
        "GPU, then anywhere):",
        "",
        "```",
        run_command(bundle),
        "python benchmarks/history_demo.py render history-run docs/benchmarks/history",
        "```",
        "",
        "Each run: `pytest " + " ".join(bundle["command"]) + "`; exit status 1: the step gate "
        "found that run on a new level.",
        "",
        "| commit | change | exit status | "
        + " | ".join(f"bs{one.batch_size} J/sample of the swapped model" for one in swapped_series)
        + " |",
        "|---|---|---|" + "---|" * len(swapped_series),
    ]
    for number, (commit, status) in enumerate(zip(commits, bundle["exit_statuses"], strict=True)):
        cells = [_joules_at(one, commit) for one in swapped_series]
        change = "planted" if commit == planted else ""
        lines.append(f"| {number + 1} `{commit[:7]}` | {change} | {status} | {' | '.join(cells)} |")
    lines += [
        "",
        "Energy steps found over the whole history "
        "([docs/ci.md](../../ci.md#steps-over-the-whole-history-and-their-gate)):",
        "",
        *(f"- {describe_step(finding)}" for finding in findings),
        *(["- none"] if not findings else []),
        "",
        f"The planted change found at its commit: {'yes' if at_planted else 'no'} "
        f"({len(at_planted)} of {len(swapped_series)} batch sizes); steps anywhere else: "
        f"{len(findings) - len(at_planted)}.",
    ]
    return lines


def answer(
    bundle: dict[str, Any],
    runs: list[RunRecord],
    at_planted: list[StepFinding],
    batch_sizes: int,
    elsewhere: int,
) -> str:
    """The page's first paragraph: was the planted change found where it was planted, what
    it was, and what the gate said."""
    swapped_model = bundle["swapped"].removesuffix(".pth")
    macs = [
        next((item.macs for item in run.items if item.model == swapped_model), None)
        for run in (runs[0], runs[-1])
    ]
    heavier = f" ({macs[1] / macs[0]:.2f}x the MACs)" if None not in macs and macs[0] else ""
    sizes = sorted(
        100 * finding.step.change_fraction
        for finding in at_planted
        if finding.step.change_fraction is not None
    )
    size = (
        f", energy {sizes[0]:+.1f} %" + (f" to {sizes[-1]:+.1f} %" if len(sizes) > 1 else "")
        if sizes
        else ""
    )
    failed = [number + 1 for number, status in enumerate(bundle["exit_statuses"]) if status == 1]
    verdict = "yes" if len(at_planted) == batch_sizes and elsewhere == 0 else "no"
    gate = (
        f"the step gate failed the runs of commits {', '.join(map(str, failed))}"
        if failed
        else "the step gate failed no run"
    )
    return (
        f"**Answer: {verdict}.** The heavier model planted at commit {bundle['change_at']}"
        f"{heavier} was found as a step at that commit in {len(at_planted)} of {batch_sizes} "
        f"batch sizes{size}, with {elsewhere} steps anywhere else; {gate} (a step needs two "
        "runs on its new level, so the run of the planted commit itself is the pairwise "
        "gate's to catch)."
    )


def run_command(bundle: dict[str, Any]) -> str:
    """The ``run`` command that made the bundle, read back from what it recorded."""
    command = bundle["command"]
    options = [f"--commits {len(bundle['commits'])}", f"--change-at {bundle['change_at']}"]
    for option, recorded, default in (
        ("--device", "--prune-device", "cuda"),
        ("--meter", "--energy-meter", "auto"),
        ("--batch-sizes", "--prune-batch-sizes", None),
        ("--max-seconds", "--energy-max-seconds", None),
    ):
        value = option_value(command, recorded)
        if value is not None and value != default:
            options.append(f"{option} {value}")
    return "python benchmarks/history_demo.py run --out history-run " + " ".join(options)


def planted_step(finding: StepFinding, model: str, commit: str) -> bool:
    """A step of the swapped model whose first point is the planted commit."""
    return (
        finding.series.model == model and finding.series.points[finding.step.index].commit == commit
    )


def _joules_at(series: Any, commit: str) -> str:
    point = next((p for p in series.points if p.commit == commit), None)
    if point is None:
        return "-"
    return f"{point.joules_per_sample:.4g} ± {point.joules_per_sample_ci95 or 0:.2g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--device", default="cuda")
    run_parser.add_argument("--meter", default="auto")
    run_parser.add_argument("--commits", type=int, default=7)
    run_parser.add_argument("--change-at", type=int, default=4, help="1-based commit number")
    run_parser.add_argument("--batch-sizes", default="8,64")
    run_parser.add_argument("--max-seconds", type=float, default=2.0)
    run_parser.add_argument(
        "--models", type=Path, help="measure these model files instead of the demo zoo's"
    )
    run_parser.add_argument("--swap", default=SWAPPED, help="with --models: the file to replace")
    run_parser.add_argument("--heavier", type=Path, help="with --models: what replaces it")
    render_parser = commands.add_parser("render")
    render_parser.add_argument("folder", type=Path)
    render_parser.add_argument("page_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        if not 1 < args.change_at <= args.commits:
            parser.error("--change-at must be a commit after the first, at most --commits")
        if args.models is not None and args.heavier is None:
            parser.error("--models needs --heavier (and --swap)")
        return run(args)
    return render(args)


if __name__ == "__main__":
    raise SystemExit(main())
