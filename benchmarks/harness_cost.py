"""What does the harness's own loop cost a launch-bound model? Bare loop against the harness's
loop, in interleaved chunks so that the host's drift (15 % between chunks on an H200 host, see
host_drift.py) falls on all arms alike.

Arms, each a chunk of ``--chunk-seconds`` of back-to-back forward passes, in rotating order
within each round:

- ``bare``: the passes alone;
- ``reused``: the harness's loop with a CUDA event after each pass (``protocol.EventPassClock``,
  events reused once read, the queue bound, completions read every 0.1 s), as it was before
  markers were spaced;
- ``spaced-Nms``: the same loop with one event per ~N ms of passes
  (``ProtocolSettings.marker_spacing_seconds``; the harness's default is 2 ms), for each of
  ``--spacings`` (seconds);
- each of these again as ``...+poller``: with the NVML tick poller (``ticks.TickRecorder``)
  reading the counter in its thread, as it does during a measurement.

``--poller gate`` (the default, run 3's way): the poller runs for the whole row; between its
chunks it is held at a closed gate (its next read waits, using no CPU and no GIL), so that
chunks with and without it interleave too. This understates its load: the read held at the
gate sees a new value when it opens, counts a tick and sleeps most of a period, so in its
chunks the poller reads less often than when it runs freely, as in a measurement.
``--poller restart``: each polled chunk gets a poller of its own, started 0.6 s before the
chunk (past its first five ticks, read back to back, after which it sleeps between ticks as
in a measurement) and stopped after it: its load as in a measurement, at 0.6 s more a chunk.

``--pin`` holds the loop's thread on the CPU it is on and starts every poller on the other
CPUs (``benchlib.Pinning``; a poller that inherited the loop's CPU would compete with it, which
no measurement does). The loop is pinned once CUDA and NVML have started, so their own threads
keep every CPU. On one H200 host pinning quieted a launch-bound loop's chunks from a CV of 15 %
to 4-8 % (host_drift.py); in harness-cost run 6 it did not (14-20 %), but that run pinned
before CUDA started, so CUDA's threads shared the loop's CPU.

Each round's arm FPS over that round's bare FPS is one ratio (``--pairing round``, the
default), or over the mean of the bare chunks run just before and just after it (``--pairing
adjacent``: a bare chunk between every two others, nearer in time on a drifting host); the
median over rounds is the cost, beside the geometric mean of the ratios with its 95 % CI
(Student's t on their logarithms): the cost is settled where that CI leaves out the bound
asked of it (98 %). Models: AlexNet and VGG11 at batch 1, AlexNet at batch 8
(unpruned, 224x224, FP32), the launch-bound rows of docs/benchmarks/precision/.

    python benchmarks/harness_cost.py --out cost.json      # on the GPU, ~2.5 min
    python benchmarks/harness_cost.py --poller restart --out cost.json      # ~4 min
    python benchmarks/harness_cost.py --poller restart --pairing adjacent --pin --no-reused \
        --spacings 0.002 --rounds 24 --out cost.json                        # ~4 min
    python benchmarks/harness_cost.py render \
        docs/benchmarks/harness-cost/harness-cost.md cost.json ...

``render`` rebuilds each row's chunks in the order they ran (``round_order``), checks that they
give the medians the run wrote, and writes one table per run: each arm's median ratio and
geometric mean with its 95 % CI, and whether that CI settles the 98 % bound.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from benchlib import passes_per_second, pin_to_current_cpu, write_page

from pytest_pruneenergy.measure.stats import confidence_half_width

ROUNDS = 12
CHUNK_SECONDS = 0.25
CHECK_SECONDS = 0.1  # as protocol.ProtocolSettings.check_interval_seconds
ROWS = (("alexnet", 1), ("vgg11", 1), ("alexnet", 8))
SPACINGS_SECONDS = (0.002, 0.005)
POLLED = "+poller"
TARGET_RATIO = 0.98  # issue 3: the harness keeps at least 98 % of the bare loop's FPS
# A fresh poller reads back to back until it has seen 5 ticks (ticks.QUIET_HISTORY), ~0.5 s.
POLLER_SETTLE_SECONDS = 0.6


def spaced_arm(spacing_seconds: float) -> str:
    return f"spaced-{spacing_seconds * 1000:g}ms"


class GatedMeter:
    """A meter whose reads wait while its gate is closed: the poller pauses between chunks."""

    def __init__(self, meter: Any) -> None:
        self._meter = meter
        self.gate = threading.Event()

    def read_joules(self) -> float:
        self.gate.wait()
        return self._meter.read_joules()


def harness_chunk(run_batch: Callable[[], Any], clock: Any, seconds: float) -> float:
    """Passes per second of the harness's loop (``protocol.EventPassClock``) for ``seconds``."""
    start = clock.begin()
    passes = 0
    next_check = start + CHECK_SECONDS
    while True:
        run_batch()
        clock.after_pass()
        passes += 1
        now = time.perf_counter()
        if now - start >= seconds:
            break
        if now >= next_check:
            clock.completions()
            next_check = now + CHECK_SECONDS
    clock.completions(wait=True)
    return passes / (time.perf_counter() - start)


def run_arm(
    arm: str,
    *,
    clocks: dict[str, Any],
    run_batch: Callable[[], Any],
    synchronize: Callable[[], None],
    seconds: float,
) -> float:
    """One chunk of an arm's loop (the poller is the caller's business): its passes a second."""
    loop = arm.removesuffix(POLLED)
    if loop == "bare":
        return passes_per_second(run_batch, synchronize, seconds)
    return harness_chunk(run_batch, clocks[loop], seconds)


Chunk = tuple[int, str, float]  # round, arm, passes per second


def round_order(arms: Sequence[str], round_index: int, *, pairing: str) -> list[str]:
    """The arms of one round, rotated by the round's index. ``round``: every arm once, bare
    among them. ``adjacent``: a bare chunk before every other arm and after the last, so that
    each arm has bare chunks on both sides."""
    if pairing == "round":
        shift = round_index % len(arms)
        return [*arms[shift:], *arms[:shift]]
    others = [arm for arm in arms if arm != "bare"]
    shift = round_index % len(others)
    order: list[str] = []
    for arm in [*others[shift:], *others[:shift]]:
        order += ["bare", arm]
    return [*order, "bare"]


def ratios_to_bare(chunks: Sequence[Chunk], *, pairing: str) -> dict[str, list[float]]:
    """Each arm's FPS over the bare loop's: the bare chunk of its round (``round``), or the mean
    of the bare chunks just before and just after it (``adjacent``)."""
    ratios: dict[str, list[float]] = {}
    if pairing == "round":
        bare = {round_index: fps for round_index, arm, fps in chunks if arm == "bare"}
        for round_index, arm, fps in chunks:
            if arm != "bare":
                ratios.setdefault(arm, []).append(fps / bare[round_index])
        return ratios
    for before, (_, arm, fps), after in zip(chunks, chunks[1:], chunks[2:], strict=False):
        if arm != "bare":
            if before[1] != "bare" or after[1] != "bare":
                raise ValueError(f"{arm} has no bare chunk on each side")
            ratios.setdefault(arm, []).append(fps / ((before[2] + after[2]) / 2))
    return ratios


def ratio_interval(ratios: Sequence[float]) -> tuple[float, float, float]:
    """The geometric mean of ``ratios`` and its 95 % CI (Student's t on the logarithms), low,
    mean, high: a ratio's noise is multiplicative, a host faster or slower by a factor."""
    logs = [math.log(ratio) for ratio in ratios]
    mean = statistics.fmean(logs)
    half_width = confidence_half_width(logs)
    return math.exp(mean - half_width), math.exp(mean), math.exp(mean + half_width)


def interleaved_fps(
    arms: Sequence[str],
    rounds: int,
    run_chunk: Callable[[str], float],
    *,
    settle: Callable[[], object],
    meter: Any,
    poller: str,
    pairing: str = "round",
    poller_home: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> list[Chunk]:
    """Every chunk's FPS in the order run, ``rounds`` rounds of ``round_order``; ``+poller``
    arms with the tick poller reading ``meter`` in its thread, held at a gate or restarted
    (``--poller``), each poller thread started inside ``poller_home()`` (``Pinning.elsewhere``
    to keep it off a pinned loop's CPU)."""
    from pytest_pruneenergy.measure.ticks import TickRecorder

    chunks: list[Chunk] = []

    def started(stack: ExitStack, polled_meter: Any) -> TickRecorder:
        """A poller whose thread starts in ``poller_home()`` and stops as ``stack`` closes."""
        with poller_home():
            return stack.enter_context(TickRecorder(polled_meter))

    def run_rounds(run: Callable[[str], float]) -> None:
        for round_index in range(rounds):
            for arm in round_order(arms, round_index, pairing=pairing):
                chunks.append((round_index, arm, run(arm)))

    if poller == "gate":
        gated = GatedMeter(meter)

        def gated_chunk(arm: str) -> float:
            if arm.endswith(POLLED):
                gated.gate.set()
            else:
                gated.gate.clear()
            return run_chunk(arm)

        with ExitStack() as stack:
            recorder = started(stack, gated)
            try:
                gated.gate.set()
                settle()  # past the poller's first 5 ticks, after which it sleeps
                run_rounds(gated_chunk)
            finally:
                gated.gate.set()  # the poller reads once more after its stop
        recorder.check()  # a failed read would have turned the +poller arms into bare ones
    else:

        def restarted_chunk(arm: str) -> float:
            if not arm.endswith(POLLED):
                return run_chunk(arm)
            with ExitStack() as stack:
                fresh = started(stack, meter)
                settle()
                value = run_chunk(arm)
            fresh.check()
            return value

        run_rounds(restarted_chunk)
    return chunks


def chunks_in_run_order(fps: dict[str, list[float]], pairing: str) -> list[Chunk]:
    """A row's chunks in the order they ran, rebuilt from each arm's FPS in run order (the
    arms in the order the run listed them)."""
    arms = list(fps)
    bare_per_round = 1 if pairing == "round" else len(arms)
    rounds, left_over = divmod(len(fps["bare"]), bare_per_round)
    queues = {arm: iter(values) for arm, values in fps.items()}
    try:
        chunks = [
            (round_index, arm, next(queues[arm]))
            for round_index in range(rounds)
            for arm in round_order(arms, round_index, pairing=pairing)
        ]
    except StopIteration:
        chunks = []
    if left_over or not chunks or any(next(queue, None) is not None for queue in queues.values()):
        counts = {arm: len(values) for arm, values in fps.items()}
        raise ValueError(f"chunk counts {counts} do not make whole rounds of {pairing} pairing")
    return chunks


def settles(interval: tuple[float, float, float], bound: float = TARGET_RATIO) -> str:
    low, _, high = interval
    if low >= bound:
        return f">= {100 * bound:g} %"
    if high < bound:
        return f"< {100 * bound:g} %"
    return "unsettled"


# How each run file ran the poller: a string since run 3; runs 1 and 2 ran whole blocks of
# rows with the poller on or off.
POLLER_NAMES: dict[Any, str] = {True: "on, whole block", False: "off"}


def ratios_of(row: dict[str, Any]) -> dict[str, list[float]]:
    pairing = row.get("pairing", "round")
    return ratios_to_bare(chunks_in_run_order(row["fps"], pairing), pairing=pairing)


def ratio_cells(values: Sequence[float]) -> str:
    """median | geomean [CI] | bound, as table cells."""
    low, mean, high = ratio_interval(values)
    return (
        f"{100 * statistics.median(values):.1f} % | {100 * mean:.1f} % "
        f"[{100 * low:.1f}, {100 * high:.1f}] | {settles((low, mean, high))}"
    )


def render(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="harness_cost.py render")
    parser.add_argument("out", type=Path)
    parser.add_argument("results", type=Path, nargs="+")
    args = parser.parse_args(argv)
    lines = [
        "# What the harness's loop costs a launch-bound model",
        "",
        "Each arm's FPS over the bare loop's, chunk against bare chunk (`pairing`), from",
        "`benchmarks/harness_cost.py` (its docstring describes the arms and the pollers),",
        "rendered by:",
        "",
        "```",
        f"python benchmarks/harness_cost.py render {args.out} "
        + " ".join(str(path) for path in args.results),
        "```",
        "",
        "`median` is the median ratio over rounds; `geomean [95 % CI]` the geometric mean of",
        "the ratios with Student's t interval on their logarithms. `bound` says whether that",
        f"interval lies above or below {100 * TARGET_RATIO:g} % of the bare loop, or straddles it",
        "(`unsettled`). `bare CV` is how much the bare chunks themselves varied.",
    ]
    pooled: dict[tuple[str, int, str], list[float]] = {}
    for path in args.results:
        result = json.loads(path.read_text())
        rows = result["rows"]
        rounds = len(next(iter(ratios_of(rows[0]).values())))
        lines += [
            "",
            f"## {path.name}",
            "",
            f"{result['gpu']} (driver {result['driver']}), torch {result['torch']}; pairing "
            f"{rows[0].get('pairing', 'round')}"
            + (
                f", loop pinned to CPU {result['pinned_cpu']}"
                if result.get("pinned_cpu") is not None
                else ""
            )
            + f", {rounds} rounds.",
            "",
            "| model | batch | poller | bare FPS | bare CV % | arm | median "
            "| geomean [95 % CI] | bound |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            ratios = ratios_of(row)
            for arm, values in ratios.items():
                if not math.isclose(statistics.median(values), row["median_over_bare"][arm]):
                    raise ValueError(f"{path}: {arm} does not give the median the run wrote")
            bare = row["fps"]["bare"]
            bare_cv = 100 * statistics.stdev(bare) / statistics.fmean(bare)
            bare_fps = statistics.median(bare) * row["batch"]
            poller = row.get("poller", "gate")
            poller = POLLER_NAMES.get(poller, poller)
            for arm, values in ratios.items():
                # With the poller on for a whole block, the bare chunks ran with it too: the
                # ratio is the markers' cost beside a poller, not the two together.
                pooled_arm = f"{arm} (poller on both sides)" if row.get("poller") is True else arm
                pooled.setdefault((row["model"], row["batch"], pooled_arm), []).extend(values)
                lines.append(
                    f"| {row['model']} | {row['batch']} | {poller} | {bare_fps:.0f} "
                    f"| {bare_cv:.1f} | {arm} | {ratio_cells(values)} |"
                )
    lines += [
        "",
        "## All runs together",
        "",
        "Every ratio of an arm, from every run above, in one interval (the runs' pollers and",
        "pairings differ; their loops do not).",
        "",
        "| model | batch | arm | ratios | median | geomean [95 % CI] | bound |",
        "|---|---|---|---|---|---|---|",
    ]
    for (model, batch, arm), values in pooled.items():
        lines.append(f"| {model} | {batch} | {arm} | {len(values)} | {ratio_cells(values)} |")
    write_page(args.out, lines)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["render"]:
        return render(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    parser.add_argument(
        "--spacings",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=SPACINGS_SECONDS,
        help="marker spacings to try, seconds, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--poller",
        choices=("gate", "restart"),
        default="gate",
        help="how the +poller arms run the poller (see the module's docstring)",
    )
    parser.add_argument(
        "--pairing",
        choices=("round", "adjacent"),
        default="round",
        help="set each arm against its round's bare chunk, or against the bare chunks on "
        "either side of it (more bare chunks: ~1.75x as long)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="hold the loop on its CPU and start pollers on the others (see the docstring)",
    )
    parser.add_argument(
        "--no-reused",
        dest="reused",
        action="store_false",
        help="leave out the event-per-pass loop (the harness's before markers were spaced)",
    )
    args = parser.parse_args(argv)
    loops = ("bare", *(("reused",) if args.reused else ()), *(spaced_arm(s) for s in args.spacings))
    arms = loops + tuple(loop + POLLED for loop in loops)

    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.measure.protocol import (
        CudaEvents,
        EventPassClock,
        ProtocolSettings,
        passes_per_marker,
        queue_limit_passes,
    )
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    torch.zeros(1, device=device)  # the CUDA context, and the driver's threads, before pinning
    # Pinned only now: threads started earlier (CUDA's, NVML's) keep every CPU.
    pinning = pin_to_current_cpu() if args.pin else None
    if args.pin and pinning is None:
        parser.error("--pin needs Linux CPU affinity and two CPUs or more")
    result: dict[str, Any] = {
        "gpu": meter.gpu_name,
        "driver": meter.driver_version,
        "torch": torch.__version__,
        "options": {k: v for k, v in vars(args).items() if k != "out"},
        "pinned_cpu": pinning.cpu if pinning else None,
        "rows": [],
    }

    def synchronize() -> None:
        torch.cuda.synchronize(device)

    for layout, batch in ROWS:
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        x = torch.randn(batch, 3, 224, 224, device=device)
        with torch.inference_mode():

            def run_batch(model=model, x=x) -> Any:
                return model(x)

            for _ in range(4):  # warm-up: cuDNN, allocator, clocks
                rate = passes_per_second(run_batch, synchronize, args.chunk_seconds)
            limit = queue_limit_passes(1 / rate, ProtocolSettings())
            clocks = {"reused": EventPassClock(CudaEvents(device))}
            passes_per_spaced_marker = {}
            for spacing_seconds in args.spacings:
                arm = spaced_arm(spacing_seconds)
                spacing = ProtocolSettings(marker_spacing_seconds=spacing_seconds)
                passes_per_spaced_marker[arm] = passes_per_marker(1 / rate, spacing)
                clocks[arm] = EventPassClock(CudaEvents(device))
                clocks[arm].space_markers(passes_per_spaced_marker[arm])
            for clock in clocks.values():
                clock.limit_queue(limit)
            chunks = interleaved_fps(
                arms,
                args.rounds,
                partial(
                    run_arm,
                    clocks=clocks,
                    run_batch=run_batch,
                    synchronize=synchronize,
                    seconds=args.chunk_seconds,
                ),
                settle=partial(passes_per_second, run_batch, synchronize, POLLER_SETTLE_SECONDS),
                meter=meter,
                poller=args.poller,
                pairing=args.pairing,
                poller_home=pinning.elsewhere if pinning else nullcontext,
            )
            fps: dict[str, list[float]] = {arm: [] for arm in arms}
            for _, arm, chunk_fps in chunks:
                fps[arm].append(chunk_fps)
            ratios = ratios_to_bare(chunks, pairing=args.pairing)
            row = {
                "model": layout,
                "batch": batch,
                "poller": args.poller,
                "pairing": args.pairing,
                "passes_per_marker": passes_per_spaced_marker,
                "fps": fps,
                "median_over_bare": {arm: statistics.median(r) for arm, r in ratios.items()},
                "geomean_ci95_over_bare": {arm: ratio_interval(r) for arm, r in ratios.items()},
                "bare_fps_median": statistics.median(fps["bare"]),
            }
            result["rows"].append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "fps"}), flush=True)
        del model
        torch.cuda.empty_cache()
    meter.close()
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
