"""Items in doubt measured once more at the end of the run, as a user's run does it.

The models count their own energy (no noise, every CI 0), and a neighbour comes and goes on
cue: ``NEIGHBOUR_LEAVES`` makes one that the meter reports on the GPU, and that doubles every
model's energy, until the items are done (a conftest ``pytest_sessionfinish`` that runs before
the plugin's); the reruns then find the board quiet.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
import torch

from pytest_pruneenergy.items.idle_power import IdlePower
from pytest_pruneenergy.testing.gpu_load import GPU_NEIGHBOUR_SCRIPT

from .conftest import TWO_WORKERS, run_in_process, write_hooked_zoo

COUNTED_BOARD = """
import time

import pytest
import torch

from pytest_pruneenergy.measure.conditions import GpuActivity
from pytest_pruneenergy.measure.meters.base import DeviceState

STATE = {"joules": 0.0, "items_done": False, "capped_ns": 0, "last": ""}
JOULES_PER_SAMPLE = {"UNPRUNED": 1.0, "PD1": 0.5}

def neighbour_present():
    return NEIGHBOUR and not STATE["items_done"]

class SampleMeter:
    name = "samples"
    is_estimate = False
    description = "joules counted per sample by the model itself"
    reads_host = False
    gpu_facts = {}

    def read_joules(self):
        return STATE["joules"]

    def gpu_activity(self):
        capped = STATE["capped_ns"]
        if neighbour_present():
            return GpuActivity(
                other_processes=1,
                other_pids=(4242,),
                board_watts=board_watts(),
                power_violation_ns=capped,
            )
        return GpuActivity(other_processes=0, board_watts=board_watts(), power_violation_ns=capped)

    def device_state(self):
        return DeviceState(sm_clock_mhz=sm_clock(STATE["last"]))

    def close(self):
        pass

class Counted(torch.nn.Module):
    def __init__(self, stem):
        super().__init__()
        self.linear = torch.nn.Linear(8, 2)
        self.stem = stem

    def forward(self, x):
        joules = next(j for key, j in JOULES_PER_SAMPLE.items() if key in self.stem)
        joules *= spike(self.stem, x.shape[0]) * (2 if neighbour_present() else 1)
        if STATE["items_done"] and FAILS_LATER:
            raise RuntimeError("the device went away")
        STATE["joules"] += joules * x.shape[0]
        STATE["last"] = self.stem
        if CAPPED and CAPPED in self.stem:
            STATE["capped_ns"] += 1000
        return self.linear(x)

def pytest_pruneenergy_make_meter(device, kind, estimate_watts_per_core):
    return SampleMeter()

def pytest_pruneenergy_load_model(path, allow_pickle):
    time.sleep(LOAD_SECONDS)
    return Counted(path.stem)

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    STATE["items_done"] = True
"""
QUIET = """
FAILS_LATER = False
LOAD_SECONDS = 0.0
CAPPED = None
def board_watts():
    return None
def sm_clock(stem):
    return None
def spike(stem, batch):
    return 1
"""
NEIGHBOUR_LEAVES = QUIET + "NEIGHBOUR = True\n"
# A neighbour that NVML's process list does not show draws 300 W until the items are done;
# loading a model takes 0.2 s, which leaves the board quiet long enough to be read.
UNLISTED_NEIGHBOUR = (
    QUIET
    + """NEIGHBOUR = False
LOAD_SECONDS = 0.2
def board_watts():
    return 60.0 if STATE["items_done"] else 300.0
"""
)
# At batch 2 the unpruned model costs three times as much throughout (its own behaviour), and
# the pruned one only while the items run (a burst nobody saw).
SPIKES = (
    QUIET
    + """NEIGHBOUR = False
def spike(stem, batch):
    if batch != 2:
        return 1
    return 3 if "UNPRUNED" in stem or not STATE["items_done"] else 1
"""
)
# The unpruned model's own load holds the board at its power limit whenever it runs, at a
# lower SM clock than the pruned one's: what VGG16 at batch 64 does on an H100.
OWN_POWER_LIMIT = (
    QUIET
    + """NEIGHBOUR = False
CAPPED = "UNPRUNED"
def sm_clock(stem):
    return 1760.0 if "UNPRUNED" in stem else 1980.0
"""
)
STEMS = ("Lin_TINY_UNPRUNED", "Lin_TINY_random_PD1_GPR-50_PRUNED")
ARGS = (
    "--prune-models=models",
    "--prune-input-shape=8",
    "--energy-protocol=seed",
    "--energy-idle-seconds=0",
    "--energy-report",
    "--energy-remeasure=true",
    "-p",
    "no:benchmark",
)


def counted_board(tmp_path, behaviour: str):
    write_hooked_zoo(tmp_path, COUNTED_BOARD + behaviour, STEMS)


def by_stem(table):
    return table.set_index("stem")


def test_items_measured_beside_a_neighbour_are_measured_again_and_show_the_clean_rerun(tmp_path):
    counted_board(tmp_path, NEIGHBOUR_LEAVES)
    result = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1", "--energy-strict")
    # Strict passes: no row shows a disturbed figure any more.
    assert result.returncode == 0, result.output
    assert "pruneenergy: measuring 2 item(s) in doubt once more" in result.output
    assert "[2/2] Lin_TINY_random_PD1_GPR-50_PRUNED (bs 1): kept the rerun" in result.output
    rows = by_stem(result.table())
    assert rows["Mean Energy per Sample (J)"].to_dict() == {STEMS[0]: 1.0, STEMS[1]: 0.5}
    assert rows["Set-Aside Energy per Sample (J)"].to_dict() == {STEMS[0]: 2.0, STEMS[1]: 1.0}
    assert rows["Energy Reduction (%)"][STEMS[1]] == 50.0
    assert rows["Disturbances"].isna().all()
    remeasured = rows["Remeasured"][STEMS[1]]
    assert remeasured.startswith(
        "measured while disturbed: 1 other process(es) on the GPU (pid 4242). Measured again"
    )
    assert "the row shows the clean rerun" in remeasured
    assert "REMEASURED: 2 of 2 item(s) were in doubt" in result.summary()
    assert "DISTURBED" not in result.summary()
    html = (tmp_path / "pruneenergy-report" / "report.html").read_text()
    assert "REMEASURED: 2 of 2 item(s)" in html


def test_without_remeasuring_the_disturbed_rows_stay_and_strict_fails(tmp_path):
    counted_board(tmp_path, NEIGHBOUR_LEAVES)
    result = run_in_process(
        tmp_path, *ARGS, "--prune-batch-sizes=1", "--energy-strict", "--energy-remeasure=false"
    )
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.output
    assert "in doubt once more" not in result.output
    rows = by_stem(result.table())
    assert rows["Mean Energy per Sample (J)"].to_dict() == {STEMS[0]: 2.0, STEMS[1]: 1.0}
    assert rows["Remeasured"].isna().all()
    assert "DISTURBED: 2 of 2 item(s)" in result.summary()


def test_a_model_at_its_own_power_limit_twice_alike_leaves_no_row_disturbed(tmp_path):
    counted_board(tmp_path, OWN_POWER_LIMIT)
    options = (*ARGS, "--prune-batch-sizes=1", "--energy-min-reduction=40")
    result = run_in_process(tmp_path, *options, "--energy-strict")
    # Strict passes and the gate is judged: neither row is disturbed, the pruned one's SM
    # clock against its capped baseline's included.
    assert result.returncode == 0, result.output
    assert "pruneenergy: measuring 1 item(s) in doubt once more" in result.output
    rows = by_stem(result.table())
    assert rows["Disturbances"].isna().all()
    assert rows["Energy Reduction (%)"][STEMS[1]] == 50.0
    assert rows["Remeasured"][STEMS[0]].startswith(
        "measured while disturbed: clocks held back (power cap). Measured again at the end of "
        "the run: held at the power limit again, and agrees within the CIs"
    )
    assert pd.isna(rows["Remeasured"][STEMS[1]])
    assert "DISTURBED" not in result.summary()
    # Without the second measurement nothing tells its own load from a neighbour's.
    once = run_in_process(tmp_path, *options, "--energy-strict", "--energy-remeasure=false")
    assert once.returncode == pytest.ExitCode.TESTS_FAILED, once.output
    assert by_stem(once.table())["Disturbances"].to_dict() == {
        STEMS[0]: "clocks held back (power cap)",
        STEMS[1]: "its baseline: clocks held back (power cap); SM clock 1980 MHz against its "
        "baseline's 1760 MHz",
    }


def test_a_rerun_that_fails_keeps_the_first_measurement_and_says_why(tmp_path):
    counted_board(tmp_path, NEIGHBOUR_LEAVES.replace("FAILS_LATER = False", "FAILS_LATER = True"))
    result = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1")
    assert result.returncode == 0, result.output
    rows = by_stem(result.table())
    assert rows["Mean Energy per Sample (J)"].to_dict() == {STEMS[0]: 2.0, STEMS[1]: 1.0}
    assert rows["Set-Aside Energy per Sample (J)"].isna().all()
    assert rows["Disturbances"].notna().all()
    assert "the rerun failed (" in rows["Remeasured"][STEMS[0]]
    assert "the device went away" in rows["Remeasured"][STEMS[0]]
    assert "[1/2] Lin_TINY_UNPRUNED (bs 1): rerun failed" in result.output


def test_a_contradicted_batch_size_is_measured_again_and_a_disagreement_is_flagged(tmp_path):
    counted_board(tmp_path, SPIKES)
    result = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1,2,4")
    assert result.returncode == 0, result.output
    assert "pruneenergy: measuring 2 item(s) in doubt once more" in result.output
    table = result.table()
    at_two = by_stem(table[table["BATCH_SIZE"] == 2])
    # The unpruned model's spike is its own: the rerun agrees, and the row is vouched for.
    assert "the rerun agrees within the CIs" in at_two["Remeasured"][STEMS[0]]
    assert at_two["Mean Energy per Sample (J)"][STEMS[0]] == 3.0
    assert at_two["Set-Aside Energy per Sample (J)"][STEMS[0]] == 3.0
    # The pruned one's was a burst: the rerun disagrees, both are kept, the row is in doubt.
    assert "the rerun disagrees beyond the CIs" in at_two["Remeasured"][STEMS[1]]
    assert at_two["Mean Energy per Sample (J)"][STEMS[1]] == 1.5
    assert at_two["Set-Aside Energy per Sample (J)"][STEMS[1]] == 0.5
    assert at_two["Disturbances"][STEMS[1]].startswith("measured again at the end of the run")
    assert table[table["BATCH_SIZE"] != 2]["Remeasured"].isna().all()


def test_a_resumed_run_keeps_the_settled_rows_and_measures_nothing_again(tmp_path):
    counted_board(tmp_path, NEIGHBOUR_LEAVES)
    first = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1")
    assert first.returncode == 0, first.output
    resumed = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1", "--energy-resume")
    assert resumed.returncode == 0, resumed.output
    assert "in doubt once more" not in resumed.output
    rows = by_stem(resumed.table())
    assert rows["Mean Energy per Sample (J)"].to_dict() == {STEMS[0]: 1.0, STEMS[1]: 0.5}
    assert rows["Remeasured"].str.contains("the row shows the clean rerun").all()


def test_a_board_drawing_power_before_an_item_is_a_neighbour_and_the_item_is_measured_again(
    tmp_path, monkeypatch
):
    # Idle power is measured on GPUs only; this board's is given: 50 W.
    monkeypatch.setattr(IdlePower, "of", lambda self, meter, device, warn: 50.0)
    counted_board(tmp_path, UNLISTED_NEIGHBOUR)
    result = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1")
    assert result.returncode == 0, result.output
    rows = by_stem(result.table())
    # The first item is the run's first work on the board: there is no quiet time to go by.
    # The second follows its model's load, which left the board quiet for long enough.
    assert pd.isna(rows["Remeasured"][STEMS[0]])
    assert rows["Remeasured"][STEMS[1]].startswith(
        "measured while disturbed: the board drew 300 W before the item, while this process "
        "left it quiet (idle 50 W). Measured again"
    )
    assert rows["Disturbances"].isna().all()


@pytest.mark.slow
def test_under_xdist_the_controller_measures_the_items_in_doubt_again(tmp_path):
    counted_board(tmp_path, NEIGHBOUR_LEAVES)
    result = run_in_process(tmp_path, *ARGS, "--prune-batch-sizes=1", *TWO_WORKERS)
    assert result.returncode == 0, result.output
    assert "pruneenergy: measuring 2 item(s) in doubt once more" in result.output
    rows = by_stem(result.table())
    assert rows["Mean Energy per Sample (J)"].to_dict() == {STEMS[0]: 1.0, STEMS[1]: 0.5}
    assert rows["Set-Aside Energy per Sample (J)"].to_dict() == {STEMS[0]: 2.0, STEMS[1]: 1.0}


# -- on a GPU ------------------------------------------------------------------------------------

CONV_NET = """
import os
import signal
import time

import pytest

from pytest_pruneenergy.testing.gpu_load import conv_net


def pytest_pruneenergy_load_model(path, allow_pickle):
    return conv_net(64)

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session):
    # The neighbour leaves once the items are done, before the reruns.
    pid = os.environ.get("NEIGHBOUR_PID")
    if pid:
        os.kill(int(pid), signal.SIGKILL)
        os.waitpid(int(pid), 0)
        time.sleep(1.0)  # its context torn down, NVML's process list up to date
"""
ON_THE_GPU = (
    "--prune-models=models",
    "--prune-device=cuda:0",
    "--energy-meter=nvml-counter",
    "--prune-batch-sizes=64",
    "--prune-input-shape=3,64,64",
    "--energy-max-seconds=3",
    "--energy-idle-seconds=1",
    "-p",
    "no:benchmark",
)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_a_neighbours_matmuls_are_seen_and_the_clean_rerun_agrees_with_a_quiet_run(
    tmp_path,
):
    write_hooked_zoo(tmp_path, CONV_NET, ["Conv_TEST_UNPRUNED"])
    options = ("-p", "no:cacheprovider")
    quiet = run_in_process(tmp_path, *ON_THE_GPU, "--energy-report=quiet", options=options)
    assert quiet.returncode == 0, quiet.output
    neighbour = subprocess.Popen(
        [sys.executable, "-c", GPU_NEIGHBOUR_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert neighbour.stdout is not None and neighbour.stdout.readline().strip() == "ready"
        crowded = run_in_process(
            tmp_path,
            *ON_THE_GPU,
            "--energy-report=crowded",
            env={"NEIGHBOUR_PID": str(neighbour.pid)},
            options=options,
        )
    finally:
        if neighbour.poll() is None:
            neighbour.kill()
            neighbour.wait()
    assert crowded.returncode == 0, crowded.output
    (quiet_row,) = quiet.table("quiet").to_dict("records")
    (row,) = crowded.table("crowded").to_dict("records")
    assert pd.isna(quiet_row["Disturbances"]) and pd.isna(quiet_row["Remeasured"])
    assert row["Remeasured"].startswith("measured while disturbed: 1 other process(es) on the GPU")
    assert "the row shows the clean rerun" in row["Remeasured"]
    assert pd.isna(row["Disturbances"])
    # The neighbour's energy landed in the set-aside figure; the clean rerun agrees with the
    # quiet run within 3 % or their CIs, whichever is wider.
    joules = quiet_row["Mean Energy per Sample (J)"]
    assert row["Set-Aside Energy per Sample (J)"] > joules
    bound = max(
        0.03 * joules,
        quiet_row["CI95 Energy per Sample (J)"] + row["CI95 Energy per Sample (J)"],
    )
    assert abs(row["Mean Energy per Sample (J)"] - joules) <= bound, (joules, row)
