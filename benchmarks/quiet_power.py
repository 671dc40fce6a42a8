"""After its own work stops, how far above idle does a GPU still draw, and for how long? The
margin the quiet-board check (measure/conditions.py: a board left quiet drawing more than its
idle power plus the larger of half of it and 40 W is someone else's work) must stay above.

On the GPU at hand: idle power as the plugin measures it (``measure_idle``, 3 s), then rounds
of work (a conv net at batch 64 for ``--work-seconds``) each followed by reads of NVML's instant
power field at set delays after the work ends; last, the same reads with a second process doing
matmuls on the board (the neighbour the check is for). One JSON record with every reading, the
threshold and whether each reading would be flagged.

    python benchmarks/quiet_power.py --out quiet_power.json     # on the GPU, ~1 min
    python benchmarks/quiet_power.py --page docs/benchmarks/quiet-power/quiet_power.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import code_commit, write_page

from pytest_pruneenergy.testing.gpu_load import GPU_NEIGHBOUR_SCRIPT, conv_net

DELAYS_SECONDS = (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0)


def readings_after(work, delays: tuple[float, ...], read_watts) -> list[float]:
    """Work, then the board's power at each delay after the work ended."""
    import torch

    work()
    torch.cuda.synchronize()
    ended = time.perf_counter()
    watts = []
    for delay in delays:
        time.sleep(max(0.0, ended + delay - time.perf_counter()))
        watts.append(read_watts())
    return watts


def measure(rounds: int, work_seconds: float) -> dict[str, Any]:
    import torch

    from pytest_pruneenergy.items.idle_power import measure_idle
    from pytest_pruneenergy.measure.conditions import (
        BUSY_ABOVE_IDLE_FRACTION,
        BUSY_ABOVE_IDLE_WATTS,
        busy_while_quiet,
    )
    from pytest_pruneenergy.measure.meters import make_meter
    from pytest_pruneenergy.measure.meters.nvml import instant_power_field_watts

    device = "cuda:0"
    meter = make_meter("nvml-counter", device)
    model = conv_net().to(device)
    batch = torch.randn(64, 3, 64, 64, device=device)
    torch.cuda.synchronize()
    idle_watts = measure_idle(meter, device, seconds=3.0)

    def read_watts() -> float:
        return instant_power_field_watts(meter._nvml, meter._handle)

    def work() -> None:
        end = time.perf_counter() + work_seconds
        with torch.inference_mode():
            while time.perf_counter() < end:
                model(batch)
                torch.cuda.synchronize()

    own = [readings_after(work, DELAYS_SECONDS, read_watts) for _ in range(rounds)]
    neighbour = subprocess.Popen(
        [sys.executable, "-c", GPU_NEIGHBOUR_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert neighbour.stdout is not None and neighbour.stdout.readline().strip() == "ready"
        time.sleep(0.5)
        crowded = [readings_after(work, DELAYS_SECONDS, read_watts) for _ in range(rounds)]
    finally:
        neighbour.kill()
        neighbour.wait()
    margin = max(BUSY_ABOVE_IDLE_FRACTION * idle_watts, BUSY_ABOVE_IDLE_WATTS)
    record = {
        "gpu": meter.gpu_name,
        "driver": meter.driver_version,
        "torch": torch.__version__,
        **code_commit(),
        "idle_watts": idle_watts,
        "threshold_watts": idle_watts + margin,
        "work_seconds": work_seconds,
        "delays_seconds": list(DELAYS_SECONDS),
        "own_work_watts": own,
        "with_neighbour_watts": crowded,
        "own_flagged": [[busy_while_quiet(w, idle_watts) for w in row] for row in own],
        "neighbour_flagged": [[busy_while_quiet(w, idle_watts) for w in row] for row in crowded],
    }
    meter.close()
    return record


def page(record: dict[str, Any]) -> list[str]:
    delays = record["delays_seconds"]
    idle, threshold = record["idle_watts"], record["threshold_watts"]
    own_max = [max(row[i] for row in record["own_work_watts"]) for i in range(len(delays))]
    crowded_min = [
        min(row[i] for row in record["with_neighbour_watts"]) for i in range(len(delays))
    ]
    quiet_from = delays.index(0.15)
    own_after = max(own_max[quiet_from:])
    crowded_after = min(crowded_min[quiet_from:])
    verdict = "holds" if own_after <= threshold < crowded_after else "does not hold on this GPU"
    lines = [
        "# A board left quiet: how much does it still draw?",
        "",
        f"**Answer.** On {record['gpu']} (driver {record['driver']}), idle {idle:.0f} W: from "
        f"0.15 s after this process's own work ended, the board drew at most {own_after:.0f} W; "
        f"with a second process doing matmuls on it, at least {crowded_after:.0f} W. The "
        f"quiet-board check's threshold, {threshold:.0f} W (idle plus the larger of half of it "
        f"and 40 W), lies between: the margin {verdict}.",
        "",
        f"`python benchmarks/quiet_power.py --out quiet_power.json` made "
        f"[quiet_power.json](quiet_power.json) (code {record.get('commit') or 'unknown'}): "
        f"{len(record['own_work_watts'])} rounds of {record['work_seconds']:.0f} s of a conv "
        "net at batch 64, each followed by reads of NVML's instant power field at the delays "
        "below; then the same with the neighbour.",
        "",
        "| delay after the work (s) | own work: most (W) | own work: median (W) "
        "| with a neighbour: least (W) |",
        "|---|---|---|---|",
    ]
    for i, delay in enumerate(delays):
        median = statistics.median(row[i] for row in record["own_work_watts"])
        lines.append(f"| {delay:g} | {own_max[i]:.0f} | {median:.0f} | {crowded_min[i]:.0f} |")
    lines += [
        "",
        "Readings before 0.15 s still hold the work's own draw (the field is refreshed every "
        "~100 ms): the check reads only a board left quiet at least that long.",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the record (JSON) here")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work-seconds", type=float, default=2.0)
    parser.add_argument("--page", help="a record to render as a page instead of measuring")
    parser.add_argument("--out-page", help="where the page goes (with --page)")
    args = parser.parse_args(argv)
    if args.page:
        record = json.loads(Path(args.page).read_text())
        write_page(args.out_page or Path(args.page).with_name("README.md"), page(record))
        return 0
    record = measure(args.rounds, args.work_seconds)
    text = json.dumps(record, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print("\n".join(page(record)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
