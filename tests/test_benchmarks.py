"""The arithmetic and the loops of the GPU benchmark scripts, run on the CPU: the figures in
docs/benchmarks come from them."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from pytest_pruneenergy.measure.meters.base import MeterReadError

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
REPOSITORY = BENCHMARKS.parent


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scripts import their shared module as ``benchlib``, as when run from benchmarks/.
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_the_cv_slope_is_a_half_where_the_cv_falls_as_one_over_root_time(scripts):
    from precision import cv_slope

    assert cv_slope(40.0, 1.0, 10.0, 2.0) == pytest.approx(0.5)
    assert cv_slope(40.0, 0.5, 10.0, 2.0) == pytest.approx(1.0)
    assert cv_slope(40.0, 3.0, 10.0, 2.0) < 0  # a CV that rose with time
    for undefined in ((10.0, 1.0, 10.0, 2.0), (40.0, 0.0, 10.0, 2.0), (40.0, math.nan, 10, 2)):
        assert math.isnan(cv_slope(*undefined))


def test_time_at_equal_cv_scales_with_the_chosen_law(scripts):
    from precision import seconds_at_equal_cv

    assert seconds_at_equal_cv(10.0, 2.0, 1.0, exponent=2) == pytest.approx(40.0)
    assert seconds_at_equal_cv(10.0, 2.0, 1.0, exponent=1) == pytest.approx(20.0)
    assert seconds_at_equal_cv(10.0, 0.5, 1.0, exponent=2) == pytest.approx(2.5)
    assert math.isnan(seconds_at_equal_cv(10.0, 2.0, 0.0, exponent=2))


def test_seed_trials_for_a_time_budget_cover_its_passes_and_meter_reads(scripts):
    from precision import trials_for_seconds

    from pytest_pruneenergy.measure.protocol import ProtocolSettings

    seed = ProtocolSettings(protocol="seed")
    # 600 passes of batch 8 at 8000 FPS = 0.6 s, plus two 4 ms reads: 0.608 s a trial
    assert trials_for_seconds(60.8, 8000.0, 8, seed) == 100
    assert trials_for_seconds(60.9, 8000.0, 8, seed) == 101  # never under the budget
    assert trials_for_seconds(0.01, 8000.0, 8, seed) == 1
    with pytest.raises(ValueError, match="positive seconds, FPS and batch"):
        trials_for_seconds(60.0, 0.0, 8, seed)


def _record(method: str, joules: float, seconds: float, **extra: object) -> dict:
    return {
        "method": method,
        "model": "vgg16",
        "batch": 8,
        "joules_per_sample": joules,
        "seconds_total": seconds,
        **extra,
    }


def test_the_seed_at_a_time_ratio_is_judged_against_ours_of_the_same_run(scripts):
    from precision import seed_at_ratio_section

    ours = [_record("ours", j, 3.0) for j in (1.00, 1.01, 0.99, 1.00, 1.00)]
    # The seed at 20x: a CV five times ours' (worse), the target holds ...
    worse = [
        _record("seed-40", j, 60.0, trials=40, time_ratio_target=20.0) for j in (1.05, 0.95, 1.0)
    ]
    lines = seed_at_ratio_section(ours + worse)
    row = next(line for line in lines if line.startswith("| vgg16 | 8 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[4:6] == ["40", "3"]
    assert float(cells[8]) == pytest.approx(20.0)
    assert cells[9] == "yes"
    assert cells[10] == "yes"  # 1.0 and 1.0: the means agree
    far = [_record("seed-40", j, 60.0, trials=40, time_ratio_target=20.0) for j in (2.0, 2.01)]
    row = next(line for line in seed_at_ratio_section(ours + far) if line.startswith("| vgg16"))
    assert row.strip("|").split("|")[10].strip() == "no"
    # One seed repeat has no CV: no verdict rather than a "no" that reads as "more precise".
    single = [_record("seed-40", 1.0, 60.0, trials=40, time_ratio_target=20.0)]
    row = next(line for line in seed_at_ratio_section(ours + single) if line.startswith("| vgg16"))
    assert [cell.strip() for cell in row.strip("|").split("|")][9:] == ["", ""]
    # ... and a seed more precise than ours fails it.
    better = [
        _record("seed-40", j, 60.0, trials=40, time_ratio_target=20.0) for j in (1.0, 1.001, 0.999)
    ]
    row = next(
        line for line in seed_at_ratio_section(ours + better) if line.startswith("| vgg16 |")
    )
    assert row.strip("|").split("|")[9].strip() == "no"
    # Seed runs of a fixed length, or without ours beside them, make no section.
    assert seed_at_ratio_section(ours + [_record("seed", 1.0, 9.0, trials=20)] * 3) == []
    assert seed_at_ratio_section(worse) == []


def test_a_trial_is_placed_against_the_nearest_whole_number_of_meter_updates(scripts):
    from precision import periods_off_whole

    assert periods_off_whole(1.2978, 0.1) == pytest.approx(0.022)
    assert periods_off_whole(1.288, 0.1) == pytest.approx(0.12)
    assert periods_off_whole(0.25, 0.1) == pytest.approx(0.5)
    assert math.isnan(periods_off_whole(1.0, 0.0))


def test_the_seed_phase_table_lists_each_seed_length_with_its_offset_and_scatter(scripts):
    from precision import seed_phase_section

    ours = [_record("ours", 1.0, 3.0, update_period=0.1) for _ in range(2)]
    # 36 trials of 1.2978 s timed: 0.022 of a period off 13 updates
    seed = [
        _record("seed-36", j, 50.0, trials=36, seconds_measured=46.72, trial_std=0.0025)
        for j in (0.99, 1.0, 1.01)
    ]
    lines = seed_phase_section(ours + seed)
    assert "100.00 ms" in "\n".join(lines)
    row = next(line for line in lines if line.startswith("| vgg16 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:4] == ["seed-36", "3"]
    assert cells[4] == "1.298"
    assert cells[5] == "0.022-0.022"
    assert float(cells[6]) == pytest.approx(0.25, rel=0.01)
    assert float(cells[7]) == pytest.approx(1.0)
    # Without ours' observed period, or without per-trial scatter, there is nothing to place.
    assert seed_phase_section(seed) == []
    assert seed_phase_section([*ours, _record("seed", 1.0, 9.0, trials=20)]) == []


def test_a_seed_time_ratio_needs_ours_in_the_same_run(scripts, tmp_path, capsys):
    from precision import main

    for bad in (["--part", "seed", "--seed-time-ratio", "20"], ["--seed-time-ratio", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["run", "--out", str(tmp_path / "x.jsonl"), *bad])
        assert exit_info.value.code == 2
        assert "--seed-time-ratio needs --part all" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()


PRECISION_RENDER = "python benchmarks/precision.py render "
PRECISION_PAGES = sorted((REPOSITORY / "docs/benchmarks/precision").glob("precision-run*.md"))


@pytest.mark.parametrize("page", PRECISION_PAGES, ids=[page.stem for page in PRECISION_PAGES])
def test_each_precision_page_is_rendered_from_its_committed_data(
    scripts, monkeypatch, tmp_path, page
):
    from precision import main

    # The page names the command that rendered it, its own path last.
    [command] = [
        line for line in page.read_text().splitlines() if line.startswith(PRECISION_RENDER)
    ]
    *data, named = command.removeprefix(PRECISION_RENDER).split()
    assert named == str(page.relative_to(REPOSITORY))
    monkeypatch.chdir(REPOSITORY)
    again = tmp_path / page.name
    assert main(["render", *data, str(again)]) == 0
    assert again.read_text().replace(str(again), named) == page.read_text()


class CountingMeter:
    """A meter whose value changes every 100 ms and whose reads take 4 ms, as NVML's."""

    def __init__(self, fail_after_reads: int | None = None) -> None:
        self.reads = 0
        self._fail_after_reads = fail_after_reads

    def read_joules(self) -> float:
        self.reads += 1
        if self._fail_after_reads is not None and self.reads > self._fail_after_reads:
            raise MeterReadError("NVML_ERROR_GPU_IS_LOST")
        time.sleep(0.004)
        return float(int(time.perf_counter() * 10))


ARMS = ("bare", "reused", "bare+poller", "reused+poller")


@pytest.mark.parametrize("poller", ["gate", "restart"])
def test_every_arm_gets_a_chunk_a_round_and_polled_arms_run_the_poller(scripts, poller):
    from harness_cost import interleaved_fps

    meter = CountingMeter()
    reads_by_arm: dict[str, int] = {}

    def run_chunk(arm: str) -> float:
        before = meter.reads
        time.sleep(0.05)
        reads_by_arm[arm] = reads_by_arm.get(arm, 0) + meter.reads - before
        return 100.0

    chunks = interleaved_fps(
        ARMS, 2, run_chunk, settle=lambda: time.sleep(0.1), meter=meter, poller=poller
    )
    assert sorted(arm for _, arm, _ in chunks) == sorted(ARMS * 2)
    assert [round_index for round_index, _, _ in chunks] == [0] * 4 + [1] * 4
    assert reads_by_arm["bare+poller"] > 0 and reads_by_arm["reused+poller"] > 0
    # Unpolled chunks see no reads, but for one already under way as the gate closed.
    assert reads_by_arm["bare"] <= 2 and reads_by_arm["reused"] <= 2


@pytest.mark.parametrize("poller", ["gate", "restart"])
def test_a_failing_meter_read_fails_the_run_rather_than_unpolling_the_arms(scripts, poller):
    from harness_cost import interleaved_fps

    with pytest.raises(MeterReadError, match="GPU_IS_LOST"):
        interleaved_fps(
            ARMS,
            2,
            lambda arm: (time.sleep(0.02), 100.0)[1],
            settle=lambda: time.sleep(0.05),
            meter=CountingMeter(fail_after_reads=3),
            poller=poller,
        )


def test_round_pairing_runs_each_arm_once_a_round_in_rotating_order(scripts):
    from harness_cost import round_order

    assert round_order(ARMS, 0, pairing="round") == list(ARMS)
    assert round_order(ARMS, 1, pairing="round") == [*ARMS[1:], ARMS[0]]


def test_adjacent_pairing_puts_a_bare_chunk_on_each_side_of_every_arm(scripts):
    from harness_cost import round_order

    order = round_order(ARMS, 1, pairing="adjacent")
    assert order == ["bare", "bare+poller", "bare", "reused+poller", "bare", "reused", "bare"]


def test_each_arm_is_set_against_its_own_rounds_bare_chunk_or_its_neighbours(scripts):
    from harness_cost import ratios_to_bare

    rounds = [(0, "bare", 100.0), (0, "reused", 90.0), (1, "reused", 60.0), (1, "bare", 50.0)]
    assert ratios_to_bare(rounds, pairing="round") == {"reused": [0.9, 1.2]}
    adjacent = [(0, "bare", 100.0), (0, "reused", 90.0), (0, "bare", 80.0), (0, "spaced", 52.0)]
    adjacent.append((0, "bare", 50.0))
    assert ratios_to_bare(adjacent, pairing="adjacent") == {
        "reused": [pytest.approx(1.0)],
        "spaced": [pytest.approx(0.8)],
    }
    with pytest.raises(ValueError, match="reused has no bare chunk on each side"):
        ratios_to_bare(
            [(0, "bare", 1.0), (0, "reused", 1.0), (0, "spaced", 1.0)], pairing="adjacent"
        )


@pytest.mark.parametrize("poller, homes", [("gate", 1), ("restart", 4)])
def test_every_poller_thread_starts_in_the_home_given_it(scripts, poller, homes):
    import threading
    from contextlib import contextmanager

    from harness_cost import interleaved_fps

    started_inside: list[int] = []

    @contextmanager
    def home():
        before = threading.active_count()
        yield
        started_inside.append(threading.active_count() - before)

    interleaved_fps(
        ARMS,
        2,
        lambda arm: (time.sleep(0.01), 100.0)[1],
        settle=lambda: time.sleep(0.02),
        meter=CountingMeter(),
        poller=poller,
        poller_home=home,
    )
    # One poller for the whole run at a gate, one per polled chunk restarted: each started
    # inside its home.
    assert started_inside == [1] * homes


def test_a_pinned_loop_keeps_its_cpu_and_the_threads_it_starts_run_elsewhere(scripts):
    import os
    import threading

    from benchlib import pin_to_current_cpu

    allowed = os.sched_getaffinity(0)
    assert len(allowed) >= 2, "this test needs two CPUs (CI has two)"
    pinning = pin_to_current_cpu()
    assert pinning is not None
    try:
        assert os.sched_getaffinity(0) == {pinning.cpu}
        seen: list[set[int]] = []
        with pinning.elsewhere():
            thread = threading.Thread(target=lambda: seen.append(os.sched_getaffinity(0)))
            thread.start()
        thread.join()
        assert seen == [allowed - {pinning.cpu}]
        assert os.sched_getaffinity(0) == {pinning.cpu}  # the loop is pinned again
    finally:
        pinning.release()
    assert os.sched_getaffinity(0) == allowed


def test_the_ratio_interval_is_a_geometric_mean_with_a_t_interval_on_logs(scripts):
    from harness_cost import ratio_interval

    low, mean, high = ratio_interval([0.5, 2.0, 1.0])
    assert mean == pytest.approx(1.0)
    # logs -0.693, 0.693, 0: sd 0.693, t(0.95, 2) = 4.303, half-width 4.303 * 0.693 / sqrt(3)
    assert math.log(high) == pytest.approx(4.303 * 0.6931 / math.sqrt(3), rel=1e-3)
    assert low == pytest.approx(1 / high)
    assert ratio_interval([0.97, 0.97, 0.97]) == pytest.approx((0.97, 0.97, 0.97))


@pytest.mark.parametrize("pairing", ["round", "adjacent"])
def test_a_runs_chunks_are_rebuilt_in_run_order_from_each_arms_fps(scripts, pairing):
    from harness_cost import chunks_in_run_order, round_order

    chunks = [
        (round_index, arm, float(100 * round_index + position))
        for round_index in range(3)
        for position, arm in enumerate(round_order(ARMS, round_index, pairing=pairing))
    ]
    fps = {arm: [value for _, chunk_arm, value in chunks if chunk_arm == arm] for arm in ARMS}
    assert chunks_in_run_order(fps, pairing) == chunks
    fps["reused"].pop()
    with pytest.raises(ValueError, match="do not make whole rounds"):
        chunks_in_run_order(fps, pairing)


def test_a_bound_is_settled_only_where_the_whole_interval_lies_on_one_side(scripts):
    from harness_cost import settles

    assert settles((0.981, 0.99, 1.0)) == ">= 98 %"
    assert settles((0.95, 0.96, 0.979)) == "< 98 %"
    assert settles((0.95, 0.99, 1.03)) == "unsettled"


def test_render_recomputes_each_runs_medians_and_refuses_a_file_that_disagrees(scripts, tmp_path):
    import json
    import statistics

    from harness_cost import chunks_in_run_order, main, ratios_to_bare, round_order

    arms = ("bare", "spaced-2ms", "bare+poller", "spaced-2ms+poller")
    fps = {arm: [] for arm in arms}
    for round_index in range(4):
        for arm in round_order(arms, round_index, pairing="adjacent"):
            fps[arm].append(1000.0 if arm == "bare" else 990.0 - round_index)
    ratios = ratios_to_bare(chunks_in_run_order(fps, "adjacent"), pairing="adjacent")
    row = {
        "model": "alexnet",
        "batch": 1,
        "poller": "restart",
        "pairing": "adjacent",
        "fps": fps,
        "median_over_bare": {arm: statistics.median(r) for arm, r in ratios.items()},
    }
    run = {"gpu": "NVIDIA H200", "driver": "580", "torch": "2.11", "rows": [row]}
    (tmp_path / "run.json").write_text(json.dumps(run))
    page = tmp_path / "cost.md"
    assert main(["render", str(page), str(tmp_path / "run.json")]) == 0
    text = page.read_text()
    # 990, 989, 988, 987 over 1000: median 98.85 %, a tight interval above 98 %
    assert "| alexnet | 1 | restart | 1000 | 0.0 | spaced-2ms | 98.8 % |" in text
    assert ">= 98 %" in text and "4 rounds" in text
    del row["poller"]  # run 3's files: the gated poller, before the key was written
    (tmp_path / "run.json").write_text(json.dumps(run))
    assert main(["render", str(page), str(tmp_path / "run.json")]) == 0
    assert "| alexnet | 1 | gate | 1000 |" in page.read_text()
    row["median_over_bare"]["spaced-2ms"] = 0.5
    (tmp_path / "run.json").write_text(json.dumps(run))
    with pytest.raises(ValueError, match="spaced-2ms does not give the median the run wrote"):
        main(["render", str(page), str(tmp_path / "run.json")])


def test_a_family_measured_on_two_devices_shows_both(scripts):
    from multi_gpu import families_on_devices

    rows = [
        {"model": "VGG11_CIFAR10_UNPRUNED", "device": "cuda:0"},
        {"model": "VGG11_CIFAR10_random_PD1_GPR-30_PRUNED", "device": "cuda:1"},
        {"model": "AlexNet_CIFAR10_UNPRUNED", "device": "cuda:1"},
        {"model": "my model", "device": "cuda:0"},
    ]
    assert families_on_devices(rows) == {
        "alexnet_cifar10": ["cuda:1"],
        "my model": ["cuda:0"],
        "vgg11_cifar10": ["cuda:0", "cuda:1"],
    }


@pytest.mark.slow
def test_multi_gpu_reads_the_plugins_own_output_and_renders_each_family_on_its_devices(
    scripts, tmp_path
):
    import json

    from multi_gpu import families_on_devices, main, pytest_command, run_way

    from .conftest import NO_HYPOTHESIS, write_second_family, write_tiny_model

    # Two families of tiny models: what is tested is how the script reads the plugin's output,
    # which full-size layouts would only make slower to draw and count.
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_model(models / "AlexNet_TINY_UNPRUNED.pth")
    write_tiny_model(models / "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth", conv_channels=(2,) * 5)
    write_second_family(models)
    ways = {}
    for way, extra in (("parallel", ["-n", "2", "--dist", "loadgroup"]), ("serial", ["-n", "0"])):
        report = tmp_path / way
        command = pytest_command(models, report, "1", 0.3, input_size=64)
        # Beside the suite's other worker every CPU item is disturbed: measuring each again
        # would double the run and test nothing here (nor would reading an idle power).
        quick = ["--energy-remeasure=false", "--energy-idle-seconds=0", *NO_HYPOTHESIS]
        ways[way] = run_way([*command, "--prune-device=cpu", *quick, *extra], report)
        assert ways[way]["exit_status"] == 0
        assert len(ways[way]["results"]) == 4
    (cpu,) = {row["device"] for row in ways["serial"]["results"]}  # "cpu (x86_64)" or so
    assert families_on_devices(ways["parallel"]["results"]) == {
        "alexnet_other": [cpu],
        "alexnet_tiny": [cpu],
    }
    result = tmp_path / "multi.json"
    result.write_text(json.dumps({"gpu": "CPU", "driver": "none", "gpus": 1, "workers": 2, **ways}))
    page = tmp_path / "multi.md"
    assert main(["render", str(result), str(page)]) == 0
    text = page.read_text()
    assert "| parallel | 0 |" in text and "| serial | 0 |" in text
    assert f"alexnet_other: {cpu}; alexnet_tiny: {cpu}" in text
    assert f"| {cpu} | " in text  # the run table's row
    assert f"Median ratio by device: {cpu}:" in text


def test_seed_pass_counts_step_the_trial_length_through_one_update_period(scripts):
    from seed_phase import STEPS, pass_counts

    # 2.5 ms passes, 100 ms period: a period is 40 passes, a step 5
    counts = pass_counts(500, 0.0025, 0.1)
    assert counts == list(range(480, 521, 5))
    assert len(counts) == STEPS + 1
    # Passes longer than a step's time: counts stay distinct and positive
    assert pass_counts(2, 0.05, 0.1) == [1, 2, 3]
    with pytest.raises(ValueError, match="need positive times"):
        pass_counts(500, 0.0, 0.1)


def test_the_seed_phase_page_sets_each_seed_length_against_ours_on_the_same_machine(
    scripts, tmp_path
):
    import json

    from seed_phase import main

    def record(passes: int, off: float, joules: float, cv_percent: float) -> dict:
        return {
            "gpu": "NVIDIA H200",
            "driver": "580",
            "model": "vgg11",
            "batch": 8,
            "trials": 10,
            "timed_passes": passes,
            "period_seconds": 0.1,
            "trial_seconds": 0.8,
            "off_whole_periods": off,
            "joules_per_sample": joules,
            "trial_std": joules * cv_percent / 100,
        }

    phase = tmp_path / "phase.jsonl"
    rows = [record(500, 0.07, 0.110, 5.0), record(524, 0.3, 0.105, 0.3)]
    phase.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ours = tmp_path / "ours.jsonl"
    repeats = [
        {"method": "ours", "model": "vgg11", "batch": 8, "joules_per_sample": j}
        for j in (0.1099, 0.1100, 0.1101)
    ]
    ours.write_text("".join(json.dumps(r) + "\n" for r in repeats))
    page = tmp_path / "phase.md"
    assert main(["render", str(phase), str(ours), str(page)]) == 0
    text = page.read_text()
    # 5 % per trial over 10 trials: CI 2.262 * 5 / sqrt(10) = 3.58 %, holding ours' mean
    assert (
        "| vgg11 | 8 | 100.00 | 500 | 0.8000 | 0.070 | 5.00 | 0.11 | 3.58 | +0.00 % | yes |" in text
    )
    # A tight seed CI 4.5 % below ours leaves ours' mean outside it
    assert "| 524 | 0.8000 | 0.300 | 0.30 | 0.105 | 0.21 | -4.55 % | no |" in text
    assert "Ours, vgg11 at 8: 0.11 J/sample, CV 0.09 % over 3 repeats." in text
    assert "- vgg11 at 8: 500-524 timed passes, trials 0.8000-0.8000 s, 0.00 of an update" in text
    # Without ours the comparison cells stay empty
    assert main(["render", str(phase), str(page)]) == 0
    assert "| 0.105 | 0.21 |  |  |" in page.read_text()


def test_seed_parameters_sets_published_counts_against_structural_ones(scripts):
    import pandas as pd
    from seed_parameters import compare, render

    published = pd.DataFrame(
        {
            "MODEL_NAME": [
                "AlexNet_D_UNPRUNED.pth",
                "AlexNet_D_random_PD3_GPR-40_PRUNED_SEED_2.pth",
            ],
            "Parameters": [1000, 600],
        }
    )
    counts = pd.DataFrame(
        {
            "model": ["AlexNet_D_UNPRUNED", "AlexNet_D_random_PD3_GPR-40_PRUNED"],
            "params": [1000, 500],
        }
    )
    table = compare(published, counts)
    pruned = table[table["pd"] == "PD3"].iloc[0]
    assert (pruned["published CR (%)"], pruned["structural CR (%)"]) == (40.0, 50.0)
    assert render(table) == (
        "alexnet: 1 of 1 pruned models published with more parameters than their structure "
        "(100 to 100 more); parameter CR understated by 10.0 to 10.0 points"
    )


@pytest.mark.slow
def test_history_demo_measures_each_commit_plants_one_change_and_renders_the_page(
    scripts, tmp_path, inner_pytest_runs_without_hypothesis, monkeypatch
):
    import json
    import os

    # Beside the suite's other worker every CPU item is disturbed: measuring each again would
    # double the three runs and test nothing here.
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{os.environ['PYTEST_ADDOPTS']} --energy-remeasure=false")

    from history_demo import BUNDLE, LOG, main

    from pytest_pruneenergy.track.history import in_commit_order
    from pytest_pruneenergy.track.store import RunRecord

    from .conftest import write_tiny_model, write_tiny_zoo

    swapped = "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth"
    write_tiny_zoo(tmp_path / "models")
    write_tiny_model(tmp_path / "heavier.pth", conv_channels=(16, 16, 16, 16, 16))
    out = tmp_path / "out"
    arguments = ["run", "--out", str(out), "--device", "cpu", "--meter", "estimate"]
    arguments += ["--commits", "3", "--change-at", "2", "--batch-sizes", "1"]
    arguments += ["--max-seconds", "0.3", "--models", str(tmp_path / "models")]
    arguments += ["--swap", swapped, "--heavier", str(tmp_path / "heavier.pth")]
    assert main(arguments) == 0
    assert sorted(path.name for path in out.iterdir()) == [BUNDLE, LOG]
    bundle = json.loads((out / BUNDLE).read_text())
    runs = in_commit_order(RunRecord.from_dict(data, BUNDLE) for data in bundle["runs"])
    # One run per commit, in commit order, each of a clean checkout of its commit, one machine.
    assert [run.git.commit for run in runs] == bundle["commits"]
    assert len(set(bundle["commits"])) == 3 and len(bundle["exit_statuses"]) == 3
    assert all(run.git.commit_time and run.git.dirty is False for run in runs)
    assert len({run.machine_key for run in runs}) == 1
    # The heavier model replaced the pruned one at commit 2, and stayed.
    params = [next(item.params for item in run.items if item.model == swapped[:-4]) for run in runs]
    assert params[0] < params[1] == params[2]
    assert "--energy-step-fail=joules:5%" in bundle["command"]
    assert "--energy-store=STORE" in bundle["command"]

    page_dir = tmp_path / "page"
    assert main(["render", str(out), str(page_dir)]) == 0
    assert len(list((page_dir / "runs").glob("*.json"))) == 3
    assert (page_dir / "energy_history.html").is_file()
    readme = (page_dir / "README.md").read_text()
    assert f"| 2 `{bundle['commits'][1][:7]}` | planted |" in readme
    assert "Energy ESTIMATED from CPU time" in readme


def test_history_demo_says_whether_the_planted_step_was_found_at_its_commit(scripts, tmp_path):
    import json
    import re

    from history_demo import BUNDLE, main

    from .track.test_history import stored_history
    from .track.test_store import MODEL

    store = tmp_path / "store"
    commits = stored_history(store, [1.0] * 4 + [1.2] * 4, seed=3)
    bundle = {
        "runs": [json.loads(path.read_text()) for path in sorted(store.iterdir())],
        "commits": commits,
        "exit_statuses": [0] * 5 + [1] * 3,
        "change_at": 5,
        "swapped": f"{MODEL}.pth",
        "heavier": "heavier.pth",
        "models": [f"{MODEL}.pth"],
        "command": ["models", "--energy-save"],
        "seconds": 12.0,
    }
    (tmp_path / BUNDLE).write_text(json.dumps(bundle))
    assert main(["render", str(tmp_path), str(tmp_path / "page")]) == 0
    readme = (tmp_path / "page" / "README.md").read_text()
    assert (
        "The planted change found at its commit: yes (1 of 1 batch sizes); steps anywhere "
        "else: 0." in readme
    )
    row = rf"\| 5 `{commits[4][:7]}` \| planted \| 0 \| 1\.[12]\d* ± 0\.012 \|"
    assert re.search(row, readme), readme
    assert "ESTIMATED" not in readme


def test_history_demo_refuses_a_change_at_the_first_commit(scripts, tmp_path, capsys):
    from history_demo import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--out", str(tmp_path), "--commits", "5", "--change-at", "1"])
    assert exit_info.value.code == 2
    assert "--change-at must be a commit after the first" in capsys.readouterr().err


def rendered_again(monkeypatch, main, argv: list[str], committed: Path) -> tuple[str, str]:
    """The committed page and the same render of the committed data, into a temporary page,
    without the line naming the command (it names the page)."""
    monkeypatch.chdir(REPOSITORY)
    assert main(argv) == 0

    def body(path: Path) -> str:
        return "\n".join(
            line for line in path.read_text().splitlines() if not line.startswith("Rendered by")
        )

    return body(committed), body(Path(argv[-1]))


def test_the_history_page_is_rendered_from_the_committed_runs(scripts, monkeypatch, tmp_path):
    from history_demo import main

    committed = REPOSITORY / "docs/benchmarks/history"
    monkeypatch.chdir(REPOSITORY)
    assert main(["render", str(committed), str(tmp_path)]) == 0
    for name in ("README.md", "energy_history.csv"):
        assert (tmp_path / name).read_text() == (committed / name).read_text(), name
    # The planted change is found at its commit and nowhere else, from the GPU's runs.
    readme = (tmp_path / "README.md").read_text()
    assert "found at its commit: yes (2 of 2 batch sizes); steps anywhere else: 0." in readme
    assert "NVIDIA H200" in readme


def test_the_ci_proof_page_is_rendered_from_its_committed_runs(scripts, monkeypatch, tmp_path):
    import sys

    from regression_proof import main

    argv = ["regression_proof.py", "render", "docs/ci-proof", str(tmp_path / "ci-proof.md")]
    monkeypatch.setattr(sys, "argv", argv)
    committed, again = rendered_again(
        monkeypatch, lambda _: main(), argv, REPOSITORY / "docs/ci-proof.md"
    )
    assert again == committed


def test_the_demo_gpu_page_is_rendered_from_its_committed_results(scripts, monkeypatch, tmp_path):
    from demo_table import main

    argv = ["docs/demo-gpu/pruneenergy_results.csv", str(tmp_path / "demo-gpu.md")]
    committed, again = rendered_again(monkeypatch, main, argv, REPOSITORY / "docs/demo-gpu.md")
    assert again == committed


def test_the_grid_cost_page_is_rendered_from_the_committed_runs(scripts, monkeypatch, tmp_path):
    import sys

    from grid_cost import main

    folder = Path("docs/benchmarks/grid-cost")
    runs = [
        str(folder / name) for name in ("vgg16-shard3of3", "vgg11-shard2of3", "alexnet-shard1of3")
    ]
    monkeypatch.setattr(
        sys, "argv", ["grid_cost.py", "render", *runs, "--page", str(tmp_path / "page.md")]
    )
    committed, again = rendered_again(
        monkeypatch, lambda _: main(), [str(tmp_path / "page.md")], folder / "grid-cost.md"
    )
    assert again == committed
    assert "default settings (vgg16-shard3of3, vgg11-shard2of3, alexnet-shard1of3)" in again
    assert "Phase by phase" in again


# The grid at one protocol on an H100: a part per family and group of batch sizes.
WHOLE_H100_PARTS = tuple(
    f"{family}-bs{sizes}"
    for family in ("alexnet", "vgg11", "vgg16")
    for sizes in ("1", "8-16", "32-64")
)


@pytest.mark.parametrize(
    ("runs", "options", "page"),
    [
        (("h100/alexnet-bs1", "h100/vgg16-bs1"), [], "grid-h100.md"),
        (
            ("h100/alexnet-bs1", "h100/alexnet-bs1-pd1"),
            ["--same-items-as", "docs/benchmarks/grid-cost/h100/alexnet-bs1-pd1"],
            "out-of-reach-h100.md",
        ),
        (
            tuple(f"whole-h100/{part}" for part in WHOLE_H100_PARTS),
            [],
            "grid-whole-h100.md",
        ),
    ],
)
def test_the_h100_grid_pages_are_rendered_from_the_committed_runs(
    scripts, monkeypatch, tmp_path, runs, options, page
):
    import sys

    from grid_cost import main

    folder = Path("docs/benchmarks/grid-cost")
    argv = ["grid_cost.py", "render", *(str(folder / run) for run in runs), *options]
    monkeypatch.setattr(sys, "argv", [*argv, "--page", str(tmp_path / page)])
    committed, again = rendered_again(
        monkeypatch, lambda _: main(), [str(tmp_path / page)], folder / page
    )
    assert again == committed
    assert "NVIDIA H100 80GB HBM3" in again


def test_runs_are_compared_over_the_items_of_one_of_them(scripts):
    from grid_cost import same_items_rows

    everything, some = grid_items(6, (1, 8)), grid_items(2, (1,))
    rows = same_items_rows([everything, some], ["all", "two"], some)
    assert [(row["run"], row["items"]) for row in rows] == [("all", 2), ("two", 2)]
    # Models 0 and 1 at batch 1, first items of 2.5 s; (model + 1) % 3 is never 0 for them.
    assert rows[0]["seconds_per_item"] == pytest.approx(2.5)
    assert rows[0]["ci_met"] == 2
    assert rows[0]["ci_median_percent"] == pytest.approx(2.0)  # the median of 1 % and 3 %
    assert rows[1]["energy_off_median_percent"] == 0.0  # the reference against itself
    lower = some.assign(**{"Mean Energy per Sample (J)": [1.8, 2.2]})  # 10 % under and over
    [row] = same_items_rows([lower], ["moved"], some)
    assert row["energy_off_median_percent"] == pytest.approx(10.0)
    assert same_items_rows([grid_items(2, (8,))], ["other"], some) == []  # none in common


def grid_run(**phases):
    summary = {"items": 4, "first_items": 2, "wall_seconds": 12.5, "test_seconds": 11.5}
    return {**summary, **phases}


def test_the_full_grid_is_extrapolated_phase_by_phase(scripts):
    from grid_cost import full_grid_minutes

    # Two models at two batch sizes: per model a load of 0.1 s and a warm-up of 1 s, a re-warm
    # of 0.25 s, per item 2 s of measuring and 0.2 s of the rest; 1 s outside the items.
    run = grid_run(
        load_seconds=0.2, first_warmup_seconds=2.0, warmup_seconds=2.5, measured_seconds=8.0
    )
    # Ten models at five batch sizes: 10 x 1.1 + 40 x 0.25 + 50 x 2.2 + 1 seconds.
    assert full_grid_minutes([run], models=10, batch_sizes=5) == pytest.approx(132 / 60)
    # A second run of the same pace changes nothing; outside time counts once.
    assert full_grid_minutes([run, run], models=10, batch_sizes=5) == pytest.approx(132 / 60)


def grid_items(models: int, batch_sizes: tuple[int, ...]):
    import pandas as pd

    from pytest_pruneenergy.report.schema import (
        ARCHITECTURE,
        BATCH_SIZE,
        CI_TARGET_MET,
        CUDA_GRAPH,
        DEVICE,
        ITEM_SECONDS,
        JOULES_PER_SAMPLE,
        JOULES_PER_SAMPLE_CI95,
        LOAD_SECONDS,
        MODEL_NAME,
        PROTOCOL,
        SECONDS_MEASURED,
        SECONDS_PER_SAMPLE,
        SECONDS_PER_SAMPLE_STD,
    )

    rows = [
        {
            MODEL_NAME: f"M{model}.pth",
            BATCH_SIZE: size,
            # A model's first batch size loads it, inside the item's seconds; every third item
            # misses the CI target.
            LOAD_SECONDS: 0.5 if size == batch_sizes[0] else 0.0,
            ITEM_SECONDS: 2.5 if size == batch_sizes[0] else 2.0,
            SECONDS_MEASURED: 1.5,
            CI_TARGET_MET: (model + size) % 3 != 0,
            # A CI of 1 % for even models, 3 % for odd ones.
            JOULES_PER_SAMPLE: 2.0,
            JOULES_PER_SAMPLE_CI95: 0.02 if model % 2 == 0 else 0.06,
            # Models 0 and 1 are one architecture, the rest another; every fourth model's time
            # per sample varies by 5 % between windows (host-paced), the others' by 1 %.
            ARCHITECTURE: "AlexNet" if model < 2 else "VGG11",
            SECONDS_PER_SAMPLE: 0.01,
            SECONDS_PER_SAMPLE_STD: 0.0005 if model % 4 == 0 else 0.0001,
            # Eager items of the adaptive protocol on a GPU, as the grid measures them.
            DEVICE: "cuda:0 (NVIDIA H100 80GB HBM3)",
            PROTOCOL: "adaptive",
            CUDA_GRAPH: False,
        }
        for model in range(models)
        for size in batch_sizes
    ]
    return pd.DataFrame(rows)


def test_a_grid_is_whole_only_with_every_model_at_five_batch_sizes_once(scripts):
    import pandas as pd
    from grid_cost import SEED_MODELS, covers_the_grid

    small, large = grid_items(SEED_MODELS, (1, 8)), grid_items(SEED_MODELS, (16, 32, 64))
    assert covers_the_grid([small, large])
    assert not covers_the_grid([small])  # two batch sizes of five
    assert not covers_the_grid([small, large.iloc[1:]])  # one item missing
    assert not covers_the_grid([small, large, small.iloc[:1]])  # one item twice
    assert not covers_the_grid([grid_items(SEED_MODELS - 1, (1, 8, 16, 32, 64))])
    assert covers_the_grid([pd.concat([small, large]).sample(frac=1, random_state=0)])


def test_the_grids_minutes_are_summed_per_batch_size(scripts):
    from grid_cost import batch_size_rows

    rows = batch_size_rows([grid_items(3, (1, 8)), grid_items(3, (16,))])
    assert [row["batch_size"] for row in rows] == [1, 8, 16]
    first = rows[0]  # three items of 2.5 s, each with its load
    assert first["items"] == 3
    assert first["seconds_per_item"] == pytest.approx(2.5)
    assert first["minutes"] == pytest.approx(7.5 / 60)
    assert first["measuring_per_item"] == pytest.approx(1.5)
    # models 0, 1, 2 at batch 1: (model + 1) % 3 is 0 for model 2 only.
    assert first["ci_met"] == 2
    assert rows[1]["seconds_per_item"] == pytest.approx(2.0)  # its own run's second size
    assert rows[2]["seconds_per_item"] == pytest.approx(2.5)  # its own run's first size
    assert first["grid_minutes"] == pytest.approx(2.5 * 198 / 60)  # all the seed's models


def test_the_grid_is_told_per_architecture_and_batch_size_with_its_host_paced_misses(scripts):
    from grid_cost import _family_lines, family_rows

    rows = family_rows([grid_items(5, (1, 8))])
    cells = [(row["family"], row["batch_size"]) for row in rows]
    assert cells == [("AlexNet", 1), ("AlexNet", 8), ("VGG11", 1), ("VGG11", 8)]
    alexnet_1, _, vgg11_1, vgg11_8 = rows
    # AlexNet: models 0 and 1; at batch 1, model 0 is host-paced and (0 + 1) % 3 met.
    assert (alexnet_1["items"], alexnet_1["ci_met"]) == (2, 2)
    assert (alexnet_1["host_paced"], alexnet_1["host_paced_missed"]) == (1, 0)
    assert alexnet_1["seconds_per_item"] == pytest.approx(2.5)
    # VGG11: models 2, 3, 4; model 4 is host-paced. At batch 1 model 2 misses ((2 + 1) % 3),
    # at batch 8 model 4 does ((4 + 8) % 3): a host-paced miss.
    assert (vgg11_1["ci_met"], vgg11_1["host_paced"], vgg11_1["host_paced_missed"]) == (2, 1, 0)
    assert (vgg11_8["ci_met"], vgg11_8["host_paced"], vgg11_8["host_paced_missed"]) == (2, 1, 1)
    assert (
        _family_lines([grid_items(5, (1, 8))])[-1] == "| VGG11 | 8 | 3 | 2.00 | 2 (67 %) | 1, 1 |"
    )
    # Replayed as CUDA graphs, the same varying items are not the host's pace: none counted.
    graphs = family_rows([grid_items(5, (1, 8)).assign(**{"CUDA Graph": True})])
    assert [row["host_paced"] for row in graphs] == [0, 0, 0, 0]
    # A run from before the columns it needs: no table, rather than one of guesses.
    assert _family_lines([grid_items(5, (1, 8)).drop(columns=["Device"])]) == []


def test_the_missed_items_are_counted_by_why_they_stopped_where_every_run_says(scripts):
    from grid_cost import _batch_size_lines, batch_size_rows

    said = grid_items(3, (1, 8))
    # Of the items that missed, at batch 1 one stopped out of reach; at batch 8 one at the cap.
    said["Stop Reason"] = said["CI Target Met"].map({True: "target", False: None})
    said.loc[~said["CI Target Met"] & (said["BATCH_SIZE"] == 1), "Stop Reason"] = "out of reach"
    said.loc[~said["CI Target Met"] & (said["BATCH_SIZE"] == 8), "Stop Reason"] = "time cap"
    rows = batch_size_rows([said])
    assert [(row["out_of_reach"], row["time_cap"]) for row in rows] == [(1, 0), (0, 1)]
    lines = _batch_size_lines([said])
    assert lines[3].endswith("models, minutes | stopped: out of reach, time cap |")
    assert lines[4] == "|---|---|---|---|---|---|---|---|"
    assert lines[5].endswith("| 1, 0 |") and lines[6].endswith("| 0, 1 |")
    # A run before the column (or an item without a reason): no counts, the table as it was.
    for older in ([said, grid_items(3, (16,))], [said.assign(**{"Stop Reason": None})]):
        assert all(row["out_of_reach"] is None for row in batch_size_rows(older)[-1:])
        assert not any("stopped:" in line for line in _batch_size_lines(older))


def test_per_batch_size_minutes_are_projected_only_where_models_are_missing(scripts):
    from grid_cost import SEED_MODELS, _batch_size_lines

    whole = _batch_size_lines(
        [grid_items(SEED_MODELS, (1, 8)), grid_items(SEED_MODELS, (16, 32, 64))]
    )
    # Per model: 2.5 s at its run's first batch size, 2.0 s at the others.
    minutes = SEED_MODELS * (2.5 + 2.0 + 2.5 + 2.0 + 2.0) / 60
    assert whole[-1] == f"All five batch sizes: {minutes:.1f} minutes of items."
    assert not any("(projected" in line for line in whole)

    part = _batch_size_lines([grid_items(66, (1, 8)), grid_items(SEED_MODELS, (16, 32, 64))])
    assert part[-1] == f"All five batch sizes: {minutes:.1f} minutes of items (in part projected)."
    assert sum("(projected from 66)" in line for line in part) == 2

    three = _batch_size_lines([grid_items(SEED_MODELS, (16, 32, 64))])
    assert not any(line.startswith("All five") for line in three)


def test_a_runs_code_is_named_with_its_commit_where_recorded(scripts):
    from grid_cost import _code_cell

    assert _code_cell({"code": "installed", "commit": "b2cff862752d"}) == "installed b2cff86"
    assert _code_cell({"code": "installed", "commit": None}) == "installed"  # older runs
    assert _code_cell({"code": "/tmp/old", "commit": None}) == "/tmp/old"


def test_a_run_of_one_batch_size_has_no_rewarm_to_extrapolate_from(scripts):
    from grid_cost import rewarmed

    assert not rewarmed({"items": 66, "first_items": 66})
    assert rewarmed({"items": 132, "first_items": 66})
    assert not rewarmed({"items": 66})  # code from before the load and warm-up columns


@pytest.mark.parametrize(
    ("script", "data", "page", "heading"),
    [
        (
            "real_models",
            "docs/benchmarks/real-models",
            "docs/real-models.md",
            "## Masks: VGG16 with half its weights zeroed",
        ),
        (
            "deployed",
            "docs/benchmarks/deployed",
            "docs/deployed.md",
            "## What rounding to 8 channels buys",
        ),
    ],
)
def test_a_plugin_studys_page_is_rendered_from_the_committed_run(
    scripts, monkeypatch, tmp_path, script, data, page, heading
):
    import importlib
    import sys

    main = importlib.import_module(script).main
    rendered = tmp_path / "page.md"
    monkeypatch.setattr(sys, "argv", [f"{script}.py", "render", data, str(rendered)])
    committed, again = rendered_again(
        monkeypatch, lambda _: main(), [str(rendered)], REPOSITORY / page
    )
    assert again == committed
    assert heading in again


def test_the_h100_reproduction_data_is_the_join_of_the_grids_committed_parts(scripts, tmp_path):
    import sys

    from grid_cost import main

    parts = [str(Path("docs/benchmarks/grid-cost/whole-h100") / part) for part in WHOLE_H100_PARTS]
    argv = ["grid_cost.py", "join", *parts, "--out", str(tmp_path)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", argv)
        assert main() == 0
    committed = REPOSITORY / "docs/benchmarks/reproduction/whole-h100/pruneenergy_results.csv"
    assert (tmp_path / "pruneenergy_results.csv").read_text() == committed.read_text()


def _part(folder: Path, rows: list[tuple[str, int, str]], columns=("J",)) -> Path:
    report = folder / "report"
    report.mkdir(parents=True)
    lines = [",".join(("MODEL_NAME", "BATCH_SIZE", *columns))]
    lines += [f"{model},{batch},{value}" for model, batch, value in rows]
    (report / "pruneenergy_results.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_join_keeps_each_parts_text_and_refuses_an_item_twice_or_other_columns(scripts, tmp_path):
    from grid_cost import joined_results

    one = _part(tmp_path / "one", [("A_UNPRUNED", 1, "0.10"), ("A_PD1", 1, "")])
    two = _part(tmp_path / "two", [("A_UNPRUNED", 8, "1e-05")])
    joined = joined_results([one, two])
    assert joined.values.tolist() == [
        ["A_UNPRUNED", "1", "0.10"],
        ["A_PD1", "1", ""],
        ["A_UNPRUNED", "8", "1e-05"],
    ]
    again = _part(tmp_path / "again", [("A_PD1", 1, "0.09")])
    with pytest.raises(SystemExit, match="A_PD1 at batch 1 is in the parts twice"):
        joined_results([one, two, again])
    # The same model and batch size in another numeric format is another item.
    bf16 = _part(tmp_path / "bf16", [("A_PD1", 1, "bf16")], columns=("Dtype",))
    fp32 = _part(tmp_path / "fp32", [("A_PD1", 1, "fp32")], columns=("Dtype",))
    assert len(joined_results([bf16, fp32])) == 2
    with pytest.raises(SystemExit, match=r"A_PD1 at batch 1 \(bf16\) is in the parts twice"):
        joined_results([bf16, fp32, bf16])
    other = _part(tmp_path / "other", [("B_UNPRUNED", 1, "0.2")], columns=("FPS",))
    with pytest.raises(SystemExit, match="its columns are not those of"):
        joined_results([one, other])


@pytest.mark.parametrize(
    ("data", "name", "gpu", "options"),
    [
        ("docs/benchmarks/reproduction", "reproduction-h200", "NVIDIA H200", []),
        ("docs/benchmarks/reproduction/h100-bs1", "reproduction-h100-bs1", "NVIDIA H100", []),
        (
            "docs/benchmarks/reproduction/whole-h100",
            "reproduction",
            "NVIDIA H100",
            ["--beside", "docs/benchmarks/reproduction/pruneenergy_results.csv"],
        ),
    ],
)
def test_the_reproduction_page_is_rendered_from_the_committed_data(
    scripts, monkeypatch, tmp_path, data, name, gpu, options
):
    import sys

    from reproduction import main

    page = tmp_path / f"{name}.md"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "reproduction.py",
            f"{data}/pruneenergy_results.csv",
            "tests/data/seed/results_with_compression_ratios.csv",
            str(page),
            *options,
        ],
    )
    committed, again = rendered_again(
        monkeypatch, lambda _: main(), [str(page)], REPOSITORY / f"docs/{name}.md"
    )
    assert again == committed
    title = again.splitlines()[0]
    # Only the H100's grid is whole.
    whole = name == "reproduction"
    assert title.startswith(f"# Reproduction: the seed's grid{'' if whole else ' (in part)'} on")
    assert gpu in title
    assert ("Not covered." in again) != whole
    assert (tmp_path / f"{name}-scatter.png").stat().st_size > 0


def test_reproduction_says_savings_costs_and_pace_in_words(scripts):
    import pandas as pd
    from reproduction import _pace, _precision_lines, _saved

    assert _saved(23.34) == "saved 23.3 %"
    assert _saved(-5.2) == "cost 5.2 % more energy per sample"
    assert _pace(28.0) == "28 % above"
    assert _pace(-24.4) == "24 % below"
    rows = pd.DataFrame(
        {
            "CI Target Met": [True, False, True],
            "Mean Energy per Sample (J)": [1.0, 1.0, 2.0],
            "CI95 Energy per Sample (J)": [0.005, 0.03, 0.02],
        }
    )
    [line] = _precision_lines(rows)
    assert "2 of this run's 3 rows met the CI target" in line
    assert "median 95 % CI is 1.00 %" in line  # of 0.5, 3 and 1 %
    assert "host's pace" not in line  # no time per sample, nothing to judge it by
    timed = rows.assign(
        **{"Mean Time per Sample (s)": [1.0, 1.0, 1.0], "STD Time per Sample (s)": [0.01, 0.05, 0]}
    )
    assert "host's pace" not in _precision_lines(timed)[0]  # where and how: not said
    eager_on_a_gpu = timed.assign(
        **{"Device": "cuda:0 (NVIDIA H100)", "Protocol": "adaptive", "CUDA Graph": False}
    )
    [line] = _precision_lines(eager_on_a_gpu)
    assert "1 of the rows ran at the host's pace" in line  # 5 % between windows, over 2 %
    graphs = eager_on_a_gpu.assign(**{"CUDA Graph": True})
    assert "host's pace" not in _precision_lines(graphs)[0]  # a replayed graph sets its pace
    assert _precision_lines(rows.drop(columns=["CI Target Met"])) == []  # a form without it


def seed_like(reductions: dict[tuple[str, int, int], float], fps_gain: float = 0.0):
    """A table as the plugin's reader gives it: per architecture and batch size an unpruned
    row, and a pruned row per (PD, GPR) with the given energy reduction."""
    import pandas as pd

    rows = []
    for architecture, batch in {(architecture, 8) for architecture, _, _ in reductions}:
        rows.append(
            {
                "Architecture": architecture,
                "Pruning Distribution": "N/A",
                "GPR": 0,
                "BATCH_SIZE": batch,
                "Energy Reduction (%)": 0.0,
                "FPS": 100.0,
                "FLOPs": 100.0,
            }
        )
    for (architecture, pd_number, gpr), reduction in reductions.items():
        rows.append(
            {
                "Architecture": architecture,
                "Pruning Distribution": f"PD{pd_number}",
                "GPR": gpr,
                "BATCH_SIZE": 8,
                "Energy Reduction (%)": reduction,
                "FPS": 100.0 + fps_gain,
                "FLOPs": 40.0,  # 60 % fewer than the unpruned model's
                "CR (%) measured in FLOPs": gpr + pd_number,
            }
        )
    return pd.DataFrame(rows)


def test_reproduction_pairs_by_architecture_pd_gpr_and_batch_and_counts_signs(scripts):
    from reproduction import correlations, negative_region, paired, pd_rankings

    seed = seed_like(
        {
            ("VGG11", 1, 10): -5.0,
            ("VGG11", 1, 40): 30.0,
            ("VGG11", 2, 10): 5.0,
            ("VGG11", 2, 40): 20.0,
        },
        fps_gain=50.0,
    )
    ours = seed_like(
        {
            ("VGG11", 1, 10): 2.0,
            ("VGG11", 1, 40): 25.0,
            ("VGG11", 2, 10): 4.0,
            ("VGG11", 2, 40): 30.0,
            ("VGG11", 3, 40): 60.0,
        }
    )
    pairs = paired(ours, seed)
    assert len(pairs) == 4  # PD3 is in ours only
    assert pairs["FPS Gain (%) seed"].tolist() == [50.0] * 4
    # 40 % of the FLOPs at 1.5x the FPS: FLOPs run at 60 % of the unpruned model's rate.
    assert pairs["FLOP Rate (%) seed"].tolist() == pytest.approx([60.0] * 4)
    assert pairs["FLOP Rate (%) ours"].tolist() == pytest.approx([40.0] * 4)
    [cell, overall] = correlations(pairs).to_dict("records")
    import statistics

    expected = statistics.correlation([2.0, 25.0, 4.0, 30.0], [-5.0, 30.0, 5.0, 20.0])
    assert cell["pairs"] == overall["pairs"] == 4
    assert overall["r"] == pytest.approx(expected)
    region = negative_region(pairs).set_index("pairs")["count"].to_dict()
    assert region == {
        "both negative": 0,
        "negative in ours only": 0,
        "negative in the seed's only": 1,
        "both positive or zero": 3,
    }
    [ranking] = pd_rankings(pairs).to_dict("records")
    assert (ranking["ours"], ranking["seed"]) == ("PD2 > PD1", "PD1 > PD2")
    assert not ranking["same best"]


# Both runs grow with the GPR alike; at each GPR, ours ranks the PDs as the paper does at GPR 10
# and the other way round at GPR 40.
PAPER_AT_TWO_GPRS = {
    ("VGG11", 1, 10): 10.0,
    ("VGG11", 2, 10): 14.0,
    ("VGG11", 1, 40): 40.0,
    ("VGG11", 2, 40): 46.0,
}
OURS_AT_TWO_GPRS = {
    ("VGG11", 1, 10): 12.0,
    ("VGG11", 2, 10): 16.0,
    ("VGG11", 1, 40): 47.0,
    ("VGG11", 2, 40): 43.0,
}


def test_agreement_beyond_the_trend_compares_the_pds_differences_at_one_gpr(scripts):
    import statistics

    from reproduction import agreement, paired, within_gpr

    seed, ours = seed_like(PAPER_AT_TWO_GPRS), seed_like(OURS_AT_TWO_GPRS)
    pairs = paired(ours, seed)
    assert within_gpr(pairs, "Energy Reduction (%) ours").tolist() == [-2.0, 2.0, 2.0, -2.0]
    [cell, overall] = agreement(pairs).to_dict("records")
    assert overall["r"] > 0.9  # the shared trend
    assert overall["r within GPR"] == pytest.approx(
        statistics.correlation([-2.0, 2.0, 2.0, -2.0], [-2.0, 2.0, -3.0, 3.0])
    )
    assert overall["mean gap (points)"] == pytest.approx((2 + 2 + 7 + 3) / 4)
    assert cell["r within GPR"] == overall["r within GPR"]  # one cell: the whole
    # The CR grows with the GPR too, and by PD number: PD2 always above PD1, as in the paper.
    assert overall["FLOPs CR r within GPR"] == pytest.approx(
        statistics.correlation([-0.5, 0.5, -0.5, 0.5], [-2.0, 2.0, -3.0, 3.0])
    )


def test_two_of_our_runs_are_set_side_by_side_over_what_both_measured(scripts):
    from reproduction import side_by_side

    seed = seed_like(PAPER_AT_TWO_GPRS)
    ours = seed_like({**OURS_AT_TWO_GPRS, ("VGG11", 3, 40): 50.0})  # PD3: not beside, left out
    # The other GPU saves 4 points less everywhere and ranks the PDs as the paper does.
    other = seed_like(
        {
            ("VGG11", 1, 10): 8.0,
            ("VGG11", 2, 10): 12.0,
            ("VGG11", 1, 40): 39.0,
            ("VGG11", 2, 40): 45.0,
        }
    )
    [cell, overall] = side_by_side(ours, other, seed).to_dict("records")
    assert overall["pairs"] == cell["pairs"] == 4
    assert overall["mean reduction, this run"] == pytest.approx((12 + 16 + 47 + 43) / 4)
    assert overall["mean reduction, beside"] == pytest.approx((8 + 12 + 39 + 45) / 4)
    assert overall["mean gap (points)"] == pytest.approx((4 + 4 + 8 + 2) / 4)
    assert overall["r within GPR with the paper, beside"] == pytest.approx(1.0)
    assert overall["r within GPR with the paper, this run"] < 0  # GPR 40 ranked the other way
    assert side_by_side(ours, seed_like({("VGG16", 1, 10): 5.0}), seed).empty  # nothing shared


def test_what_a_run_does_not_cover_names_architectures_and_batch_sizes(scripts):
    import pandas as pd
    from reproduction import coverage_gaps

    paper = pd.DataFrame(
        {"Architecture": ["AlexNet", "VGG11", "VGG16"] * 2, "BATCH_SIZE": [1, 1, 1, 8, 8, 8]}
    )
    assert coverage_gaps(paper, paper) == []
    assert coverage_gaps(paper, paper.iloc[[0, 3]]) == ["Architectures VGG11 and VGG16"]
    assert coverage_gaps(paper, paper.iloc[[0, 1, 2]]) == ["Batch size 8"]
    assert coverage_gaps(paper, paper.iloc[[1]]) == [
        "Architectures AlexNet and VGG16",
        "batch size 8",
    ]


def test_the_reproduction_page_sets_a_run_beside_another(scripts, monkeypatch, tmp_path):
    import sys

    from reproduction import main

    data = "docs/benchmarks/reproduction/pruneenergy_results.csv"
    seed = "tests/data/seed/results_with_compression_ratios.csv"
    for beside, said in (
        (data, "differ by 0.0 points on average"),  # a run beside itself
        ("docs/benchmarks/reproduction/h100-bs1/pruneenergy_results.csv", "nothing to set"),
    ):
        page = tmp_path / "page.md"
        monkeypatch.setattr(
            sys, "argv", ["reproduction.py", data, seed, str(page), "--beside", beside]
        )
        assert main() == 0
        text = page.read_text()
        assert f"--beside {beside}`" in text and said in text


def test_a_run_past_its_time_is_ended_with_sigterm_and_its_status_kept(scripts):
    import signal
    import sys

    from benchlib import run_for_at_most

    status, seconds = run_for_at_most(
        [sys.executable, "-c", "import time; time.sleep(30)"], stop_after=0.5
    )
    assert status == -signal.SIGTERM and 0.5 <= seconds < 10
    assert run_for_at_most([sys.executable, "-c", "raise SystemExit(3)"], None)[0] == 3


def test_an_options_value_is_read_back_from_a_recorded_command(scripts):
    from benchlib import option_value

    command = ["-m", "pytest", "--energy-max-seconds=1.5", "--prune-dtypes=float32"]
    assert option_value(command, "--energy-max-seconds") == "1.5"
    assert option_value(command, "--energy-report") is None


# -- the code's commit in records ----------------------------------------------------------------


def _copy_of_the_code(folder: Path) -> Path:
    for name, text in (("pytest_pruneenergy/a.py", "A = 1\n"), ("benchmarks/b.py", "B = 2\n")):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_a_records_commit_is_gits_with_whether_tracked_files_changed(
    scripts, tmp_path, monkeypatch
):
    import subprocess

    from benchlib import COMMIT_VARIABLE, code_commit

    monkeypatch.delenv(COMMIT_VARIABLE, raising=False)

    code = _copy_of_the_code(tmp_path)

    def git(*arguments: str) -> str:
        identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
        done = subprocess.run(["git", *identity, *arguments], cwd=code, capture_output=True)
        return done.stdout.decode().strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "code")
    clean = code_commit(code)
    assert clean["commit"] == git("rev-parse", "HEAD") and clean["dirty"] is False
    (code / "untracked.txt").write_text("not code\n")
    assert code_commit(code)["dirty"] is False
    (code / "benchmarks/b.py").write_text("B = 3\n")
    changed = code_commit(code)
    assert changed["dirty"] is True and changed["commit"] == clean["commit"]
    assert changed["source_sha256"] != clean["source_sha256"]


def test_a_commit_named_in_the_environment_beats_a_copys_stale_git(scripts, tmp_path, monkeypatch):
    import subprocess

    from benchlib import COMMIT_VARIABLE, code_commit

    code = _copy_of_the_code(tmp_path)
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    for arguments in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "older"]):
        subprocess.run(["git", *identity, *arguments], cwd=code, check=True, capture_output=True)
    (code / "benchmarks/b.py").write_text("B = 3\n")
    monkeypatch.setenv(COMMIT_VARIABLE, "0edcc88")
    assert code_commit(code)["commit"] == "0edcc88"
    assert code_commit(code)["dirty"] is None


def test_without_git_the_commit_comes_from_the_environment_and_the_digest_stays(
    scripts, tmp_path, monkeypatch
):
    from benchlib import COMMIT_VARIABLE, code_commit

    code = _copy_of_the_code(tmp_path)
    monkeypatch.delenv(COMMIT_VARIABLE, raising=False)
    unnamed = code_commit(code)
    assert (unnamed["commit"], unnamed["dirty"]) == (None, None)
    monkeypatch.setenv(COMMIT_VARIABLE, "4fe4b01")
    named = code_commit(code)
    assert (named["commit"], named["dirty"]) == ("4fe4b01", None)
    # The same code gives the same digest, wherever it lies.
    assert (
        named["source_sha256"]
        == code_commit(_copy_of_the_code(tmp_path / "again"))["source_sha256"]
    )


# -- accuracy.py: the reference's arithmetic -----------------------------------------------------


def test_a_reference_tick_lies_halfway_between_the_reads_around_the_change(scripts):
    from accuracy import Read, ReferenceTick, ticks_from_reads

    reads = [
        Read(0.000, 0.004, 10.0),  # midpoint 0.002
        Read(0.004, 0.008, 10.0),  # 0.006
        Read(0.008, 0.012, 12.5),  # 0.010: changed since 0.006
        Read(0.080, 0.084, 12.5),
        Read(0.106, 0.110, 15.0),  # 0.108, after a rest: changed since 0.082
    ]
    assert ticks_from_reads(reads) == [
        ReferenceTick(
            seconds=pytest.approx(0.008), joules=12.5, error_seconds=pytest.approx(0.002)
        ),
        ReferenceTick(
            seconds=pytest.approx(0.095), joules=15.0, error_seconds=pytest.approx(0.013)
        ),
    ]


def test_passes_done_by_an_instant_are_interpolated_between_markers(scripts):
    from accuracy import passes_done_at

    markers = [(10.0, 0), (10.01, 10), (10.03, 20)]  # 10 passes in 10 ms, then 10 in 20 ms
    assert passes_done_at(10.005, markers) == pytest.approx(5.0)
    assert passes_done_at(10.02, markers) == pytest.approx(15.0)
    assert passes_done_at(10.03, markers) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="outside the run"):
        passes_done_at(10.04, markers)


def test_the_reference_is_the_energy_from_first_to_last_tick_over_the_samples_between(scripts):
    from accuracy import ReferenceTick, tick_to_tick

    watts, passes_per_second, batch = 400.0, 500.0, 8
    # A 6 s run from 10 s, a marker every 10 passes; the counter ticks every 0.1 s from 9.537 s
    # (before the run) to 16.437 s (after it): only the ticks inside count.
    markers = [(10.0 + k * 10 / passes_per_second, k * 10) for k in range(301)]
    ticks = [
        ReferenceTick(
            seconds=9.537 + 0.1 * k, joules=watts * (9.537 + 0.1 * k), error_seconds=0.0015
        )
        for k in range(70)
    ]
    figures = tick_to_tick(ticks, markers, batch)
    assert figures.ticks == 60  # 10.037 s to 15.937 s
    assert figures.seconds == pytest.approx(5.9)
    assert figures.samples == pytest.approx(5.9 * passes_per_second * batch)
    assert figures.joules_per_sample == pytest.approx(watts / (passes_per_second * batch))
    assert figures.samples_per_second == pytest.approx(passes_per_second * batch)
    assert figures.edge_seconds == (0.0015, 0.0015)


def test_the_reference_counts_the_passes_of_an_uneven_run_where_they_were_done(scripts):
    from accuracy import ReferenceTick, tick_to_tick

    # 100 passes in the first second, 300 in the next: ticks at 0.5 s and 1.5 s bracket
    # 50 + 150 = 200 passes of batch 2, and 30 J.
    markers = [(0.0, 0), (1.0, 100), (2.0, 400)]
    ticks = [ReferenceTick(0.5, 100.0, 0.001), ReferenceTick(1.5, 130.0, 0.001)]
    assert tick_to_tick(ticks, markers, 2).joules_per_sample == pytest.approx(30.0 / 400)


def test_the_reference_needs_two_counter_changes_inside_its_run(scripts):
    from accuracy import ReferenceTick, tick_to_tick

    markers = [(0.0, 0), (0.05, 10)]
    with pytest.raises(ValueError, match=r"1 counter change\(s\) inside .*\(--reference-seconds\)"):
        tick_to_tick([ReferenceTick(0.02, 1.0, 0.001), ReferenceTick(0.2, 2.0, 0.001)], markers, 1)


def test_the_reference_marks_about_ten_milliseconds_of_passes_at_a_time(scripts):
    from accuracy import passes_per_marker

    assert passes_per_marker(0.001) == 10
    assert passes_per_marker(0.0004) == 25
    assert passes_per_marker(0.05) == 1  # a pass longer than 10 ms: an event each
    assert passes_per_marker(0.0) == 1


def test_the_reference_poller_rests_most_of_an_update_period_after_a_tick(scripts):
    from accuracy import POLLER_MIN_REST_SECONDS, quiet_seconds

    assert quiet_seconds([0.1, 0.2, 0.3]) == POLLER_MIN_REST_SECONDS  # too few periods yet
    assert quiet_seconds([0.1 * k for k in range(1, 20)]) == pytest.approx(0.07)
    # A meter that changes at every read is read no faster than every millisecond.
    assert quiet_seconds([0.0001 * k for k in range(10)]) == POLLER_MIN_REST_SECONDS


@pytest.mark.slow  # 1.5 s of passes on real threads
def test_the_reference_on_a_simulated_board_is_off_by_no_more_than_its_edges_allow(scripts):
    import time

    from accuracy import open_reference_device, reference_arm

    from pytest_pruneenergy.testing.simulated_nvml import DEFAULT_UUID, SimulatedNvml

    watts = 300.0
    nvml = SimulatedNvml(power_watts=watts, update_period_seconds=0.1, read_cost_seconds=0.003)
    reference = open_reference_device("cpu", "nvml-counter", nvml=nvml, cuda_uuid=DEFAULT_UUID)
    try:
        record = reference_arm(
            lambda: time.sleep(0.002), reference, 4, seconds=1.2, warmup_seconds=0.3
        )
    finally:
        reference.close()
    assert nvml.init_count == 0  # closed as opened
    assert record["ticks"] >= 8 and record["passes_per_marker"] >= 3
    assert record["sm_clock_mhz"] == [1980.0, 1980.0]
    # Constant power: joules per sample x samples per second between the ticks is the board's
    # draw, but for where the two ticks were placed, within half the gap around each, and for
    # the passes of the marker span each tick fell in, taken to end evenly (on a loaded host a
    # sleep of 2 ms can last several times that).
    drawn = record["joules_per_sample"] * record["fps_between_ticks"]
    edges = sum(record["edge_seconds"]) + 2 * record["marker_span_seconds"]
    assert abs(drawn / watts - 1) <= edges / record["seconds"]
    assert record["fps_between_ticks"] == pytest.approx(record["fps"], rel=0.1)


# -- accuracy.py: the page ------------------------------------------------------------------------


def _arm(arm, batch, joules, fps, ci=None, *, gpu="NVIDIA H100 80GB HBM3", mode="eager", **more):
    return {
        "run": f"run-{gpu}",
        "command": "python benchmarks/accuracy.py run --out acc.jsonl",
        "gpu": gpu,
        "driver": "580.159.04",
        "power_limit_watts": 700.0,
        "torch": "2.11.0",
        "code": {"commit": "4fe4b018a037ae34625af7fc236b7ec1deab86c0", "dirty": False},
        "layout": "vgg16",
        "batch": batch,
        "mode": mode,
        "arm": arm,
        "joules_per_sample": joules,
        "ci95": ci,
        "fps": fps,
        "seconds": 2.0,
        "sm_clock_mhz": [1980.0, 1755.0],
        "temperature_celsius": [40.0, 52.0],
        **more,
    }


def _aba(batch, a1, b, a2, *, ci=0.003, fps=(1000.0, 1000.0, 1000.0), **where):
    """A1, B, A2 of one item: J/sample given relative to B's 1.0, CI as a fraction."""
    return [
        _arm("A1", batch, a1, fps[0], ci * a1, **where),
        _arm("B", batch, b, fps[1], **where),
        _arm("A2", batch, a2, fps[2], ci * a2, **where),
    ]


def test_an_item_is_within_the_energy_target_by_half_a_percent_or_its_own_ci(scripts):
    from accuracy import comparisons

    [row] = comparisons(_aba(8, 1.008, 1.0, 1.004, ci=0.01))
    assert row.energy_off_percent("A1") == pytest.approx(0.8)
    assert row.drift_percent() == pytest.approx(100 * (1.004 / 1.008 - 1))
    assert row.ci_percent("A1") == pytest.approx(1.0)
    assert row.energy_within("A1") is True  # 0.8 % within a 1 % CI
    [tight] = comparisons(_aba(8, 1.008, 1.0, 1.004, ci=0.003))
    assert (tight.energy_within("A1"), tight.energy_within("A2")) == (False, True)
    # At batch 1 the energy target does not apply; the FPS target does.
    [first] = comparisons(_aba(1, 1.05, 1.0, 1.05, fps=(985.0, 1000.0, 970.0)))
    assert first.energy_within("A1") is None
    assert (first.fps_within("A1"), first.fps_within("A2")) == (True, False)
    assert tight.fps_within("A1") is None


def test_the_answer_says_the_targets_were_met_with_the_spread(scripts):
    from accuracy import answer, comparisons

    records = _aba(8, 1.002, 1.0, 1.001) + _aba(32, 0.999, 1.0, 1.003)
    records += _aba(1, 1.04, 1.0, 1.03, fps=(995.0, 1000.0, 1010.0))
    [paragraph] = answer(comparisons(records))
    assert paragraph.startswith("**Both targets met on NVIDIA H100 80GB HBM3.**")
    assert "lay -0.10 % to +0.30 % from the reference's (mean +0.12 %, SD 0.17 %" in paragraph
    assert "within max(0.5 %, its CI) in 4 of 4" in paragraph
    assert "A1 and A2 of an item differed by up to 0.40 %" in paragraph
    assert (
        "At batch 1 its FPS was 99.5 % to 101.0 % of the plain loop's, within 2 % in 2 of 2."
        in (paragraph)
    )
    assert "Missed" not in paragraph


def test_the_answer_names_each_item_that_missed_a_target(scripts):
    from accuracy import answer, comparisons

    records = _aba(8, 1.0102, 1.0, 1.001) + _aba(1, 1.04, 1.0, 1.03, fps=(940.0, 1000.0, 990.0))
    records += _aba(64, 1.0, 1.0, 1.0, gpu="NVIDIA H200")
    h100, h200 = answer(comparisons(records))
    assert h100.startswith("**Target missed on NVIDIA H100 80GB HBM3.**")
    assert "within max(0.5 %, its CI) in 1 of 2" in h100
    assert "within 2 % in 1 of 2" in h100
    assert h100.endswith(
        "Missed: vgg16 batch 8 eager A1 energy +1.02 % (CI 0.30 %); "
        "vgg16 batch 1 eager A1 FPS 94.0 %."
    )
    assert h200.startswith("**Met on NVIDIA H200.**")  # batch 64 only: no FPS target applies


def test_the_accuracy_page_starts_with_the_commands_then_the_answer_then_the_table(
    scripts, tmp_path
):
    import json

    from accuracy import main

    records = _aba(8, 1.002, 1.0, 1.001) + _aba(1, 1.04, 1.0, 1.03, fps=(940.0, 1000.0, 990.0))
    records += [_arm("A1", 32, 1.0, 500.0, 0.003)]  # a run cut short before B: no row
    data = tmp_path / "acc.jsonl"
    data.write_text("".join(json.dumps(record) + "\n" for record in records))
    page = tmp_path / "acc.md"
    assert main(["render", str(data), str(page)]) == 0
    lines = page.read_text().splitlines()
    assert lines[0] == "# Accuracy: the plugin against an independent plain loop, A-B-A"
    assert lines[5] == "python benchmarks/accuracy.py run --out acc.jsonl"
    assert lines[11] == f"python benchmarks/accuracy.py render {data} {page}"
    assert lines[14].startswith("**Target missed on NVIDIA H100 80GB HBM3.**")
    assert "4fe4b018a037" in page.read_text()
    rows = [line for line in lines if line.startswith("| NVIDIA H100")]
    assert rows[0] == (
        "| NVIDIA H100 80GB HBM3 | vgg16 | 8 | eager | +0.20 % | +0.10 % | -0.10 % | 0.30 % "
        "| 0.30 % | yes | 100.0 % | 100.0 % |  |"
    )
    assert rows[1].endswith("| 94.0 % | 99.0 % | **no** |")
    assert len(rows) == 4  # two items, in two tables
    assert "| 1980-1755 | 1980-1755 | 1980-1755 | 40-52 |" in rows[2]


def test_the_accuracy_run_refuses_graphs_without_a_cuda_device(scripts, capsys):
    from accuracy import main

    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--out", "x.jsonl", "--device", "cpu", "--meter", "estimate"])
    assert exit_info.value.code == 2
    assert "--modes graphs needs a CUDA device" in capsys.readouterr().err


def test_an_arm_that_failed_leaves_its_item_out_of_the_comparison_and_is_listed(scripts):
    from accuracy import comparisons, page

    failed = {**_arm("B", 64, 1.0, 100.0), "error": "ValueError: 1 counter change(s) inside"}
    del failed["joules_per_sample"], failed["fps"]
    records = [*_aba(8, 1.002, 1.0, 1.001), _arm("A1", 64, 1.0, 100.0, 0.003), failed]
    assert [row.batch for row in comparisons(records)] == [8]
    lines = page(records, "python benchmarks/accuracy.py render acc.jsonl acc.md")
    assert lines[-2:] == [
        "",
        "- NVIDIA H100 80GB HBM3, vgg16 batch 64 eager B: ValueError: 1 counter change(s) inside",
    ]


# -- gpu_check.py ---------------------------------------------------------------------------------

PYTEST_OUTPUT = """\
tests/measure/test_meters.py::test_real_nvml_counter_grows_during_gpu_work
=========================== short test summary info ============================
PASSED tests/measure/test_meters.py::test_real_nvml_counter_grows_during_gpu_work
PASSED tests/items/test_runner.py::test_cuda_graph_replays_the_forward_pass
SKIPPED [1] tests/items/test_gpu.py:40: needs two GPUs
ERROR tests/items/test_gpu.py::test_setup_broke
FAILED tests/measure/test_gpu.py::test_event_clock - AssertionError: 3 - 2 = 1
1 failed, 2 passed, 1 skipped, 2 warnings, 1 error in 11.31s
"""


def test_pytests_counts_and_failures_are_read_from_its_summary(scripts):
    from gpu_check import pytest_counts, pytest_failures, pytest_skips

    assert pytest_counts(PYTEST_OUTPUT) == {
        "passed": 2,
        "failed": 1,
        "skipped": 1,
        "deselected": 0,
        "errors": 1,
    }
    assert pytest_failures(PYTEST_OUTPUT) == [
        "tests/items/test_gpu.py::test_setup_broke",
        "tests/measure/test_gpu.py::test_event_clock",
    ]
    assert pytest_skips(PYTEST_OUTPUT) == ["tests/items/test_gpu.py:40: needs two GPUs"]
    framed = "==== 12 passed, 810 deselected in 40.02s ===="
    assert pytest_counts(framed)["passed"] == 12
    assert pytest_counts(framed)["deselected"] == 810
    assert pytest_counts("810 deselected in 3.0s")["passed"] == 0


def test_the_gpu_tests_pass_only_where_pytest_passed_some_and_failed_none(scripts):
    from gpu_check import pytest_counts, tests_status

    assert tests_status(0, pytest_counts("3 passed, 1 skipped in 1.0s")) == "passed"
    assert tests_status(1, pytest_counts(PYTEST_OUTPUT)) == "failed"
    # Every gpu test skipped (torch saw no GPU), or none collected: nothing was checked.
    assert tests_status(0, pytest_counts("5 skipped, 800 deselected in 2.0s")) == "failed"
    assert tests_status(5, pytest_counts("no tests ran in 0.01s")) == "failed"


def _results_table(changes=None):
    """A plugin run's results as read back: two models at batch 1 and 32, measured by NVML;
    ``changes``: {(column constant of schema, row): value}."""
    import pandas as pd

    from pytest_pruneenergy.report import schema

    unpruned, pruned = "VGG11_CIFAR10_UNPRUNED.pth", "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth"
    table = pd.DataFrame(
        {
            schema.MODEL_NAME: [unpruned, unpruned, pruned, pruned],
            schema.BATCH_SIZE: [1, 32, 1, 32],
            schema.STATUS: ["measured"] * 4,
            schema.ERROR: [None] * 4,
            schema.METER: ["nvml-counter"] * 4,
            schema.JOULES_PER_SAMPLE: [0.3, 0.1, 0.29, 0.04],
            schema.ENERGY_REDUCTION: [0.0, 0.0, 3.0, 60.0],
            schema.CUDA_GRAPH: [False] * 4,
            schema.DTYPE: [None] * 4,
            schema.CHANNELS_LAST: [False] * 4,
            schema.STOP_REASON: ["out of reach", "target", "time cap", "target"],
        }
    )
    for (column, index), value in (changes or {}).items():
        table.loc[index, getattr(schema, column)] = value
    return table


def test_a_plugin_runs_results_pass_where_every_row_is_measured_and_pruning_saved(scripts):
    from gpu_check import check_results

    def check(table, way=()):
        return check_results(table, meter="nvml-counter", batch_sizes=(1, 32), models=2, way=way)

    assert check(_results_table()) == []
    # A reduction is asked of batch 32 only: at batch 1 the host may set the pace.
    assert check(_results_table({("ENERGY_REDUCTION", 2): -1.0})) == []
    assert check(_results_table({("ENERGY_REDUCTION", 3): -1.0})) == [
        "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth at batch 32: energy reduction -1.0 %, "
        "expected a reduction"
    ]
    failed = _results_table({("STATUS", 0): "failed", ("ERROR", 0): "out of memory"})
    assert check(failed) == ["VGG11_CIFAR10_UNPRUNED.pth at batch 1: status failed (out of memory)"]
    assert check(_results_table({("METER", 1): "estimate", ("JOULES_PER_SAMPLE", 3): 0.0})) == [
        "VGG11_CIFAR10_UNPRUNED.pth at batch 32: meter estimate, expected nvml-counter",
        "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth at batch 32: energy per sample 0.0",
    ]
    # A measured row must say why measuring stopped (a journal before the column, or a bug).
    assert check(_results_table({("STOP_REASON", 1): None, ("STOP_REASON", 3): "bored"})) == [
        "VGG11_CIFAR10_UNPRUNED.pth at batch 32: Stop Reason is empty, expected one of the "
        "protocol's",
        "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth at batch 32: Stop Reason is bored, expected "
        "one of the protocol's",
    ]
    assert check(_results_table().iloc[:3]) == [
        "3 rows, expected 4",
        "no pruned model measured at batch 32",
    ]


def test_a_plugin_runs_results_must_say_its_way_was_applied(scripts):
    from gpu_check import WAYS, check_results

    def check(table, way):
        return check_results(table, meter="nvml-counter", batch_sizes=(1, 32), models=2, way=way)

    graphs = check(
        _results_table({("CUDA_GRAPH", k): True for k in (0, 1, 2)}), WAYS["cuda-graphs"]
    )
    assert graphs == [
        "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth at batch 32: CUDA Graph is False, expected True"
    ]
    formats = {("DTYPE", k): "bfloat16" for k in range(4)} | {
        ("CHANNELS_LAST", k): True for k in range(4)
    }
    assert check(_results_table(formats), WAYS["bf16-channels-last"]) == []
    wrong = check(_results_table({**formats, ("DTYPE", 0): "float32"}), WAYS["bf16-channels-last"])
    assert wrong == ["VGG11_CIFAR10_UNPRUNED.pth at batch 1: Dtype is float32, expected bfloat16"]


def test_a_plugin_runs_journal_must_keep_the_windows_its_figures_were_made_of(scripts, tmp_path):
    from gpu_check import check_journal_windows

    from pytest_pruneenergy.items.journal import JournalWriter, item_key
    from pytest_pruneenergy.measure.ticks import TickWindow

    from .factories import make_measurement, make_stats

    model = tmp_path / "AlexNet_TINY_UNPRUNED.pth"
    model.write_bytes(b"weights")
    windows = (TickWindow(0.0, 0.2, 8.0, 2.0), TickWindow(0.2, 0.4, 8.0, 2.0))
    # 16 J over 4 passes of batch 2: 2 J per sample.
    sound = make_stats(windows=2, joules_per_sample_mean=2.0)
    cases = {
        "sound": (sound, windows),
        "none kept": (sound, ()),
        "another figure": (make_stats(windows=2, joules_per_sample_mean=2.5), windows),
    }
    found = {}
    for case, (stats, kept) in cases.items():
        writer = JournalWriter(tmp_path / case / "journal", "main")
        key = item_key(model, 2, device="cpu", settings={})
        writer.append(key, make_measurement(model.stem, 2, stats=stats, windows=kept))
        writer.close()
        found[case] = check_journal_windows(tmp_path / case / "journal")
    assert found == {
        "sound": [],
        "none kept": ["AlexNet_TINY_UNPRUNED at batch 2: 0 windows journaled, 2 counted"],
        "another figure": [
            "AlexNet_TINY_UNPRUNED at batch 2: windows give 2.0 J/sample from 0.0 s, the figure "
            "is 2.5 J/sample"
        ],
    }
    assert check_journal_windows(tmp_path / "nowhere") == [
        f"no journaled item in {tmp_path / 'nowhere'}"
    ]


def _gpu_record(steps, verdict):
    return {
        "code": {"commit": "4fe4b018a037ae34625af7fc236b7ec1deab86c0", "dirty": True},
        "gpu": {"name": "NVIDIA H100 80GB HBM3", "driver": "580.159.04"},
        "torch": "2.11.0",
        "steps": steps,
        "verdict": verdict,
        "seconds": 241.4,
    }


def test_the_verdict_fails_on_a_failed_step_and_reports_a_missed_accuracy_target(scripts):
    from gpu_check import summary_lines, verdict

    passed = {"status": "passed", "summary": "12 passed"}
    skipped = {"status": "skipped", "summary": ""}
    missed = {"status": "passed", "summary": "Target missed", "targets_met": False}
    assert verdict(
        {"tests": passed, "plugin": passed, "accuracy": skipped}, strict_accuracy=False
    ) == ("passed")
    steps = {
        "tests": {"status": "failed", "summary": "1 failed"},
        "plugin": passed,
        "accuracy": missed,
    }
    assert verdict(steps, strict_accuracy=False) == "failed: tests"
    steps["tests"] = passed
    assert verdict(steps, strict_accuracy=False) == "passed; accuracy target missed"
    assert verdict(steps, strict_accuracy=True) == "failed: accuracy (targets)"
    lines = summary_lines(_gpu_record(steps, "passed; accuracy target missed"))
    assert lines[0] == (
        "GPU check of 4fe4b018a037 (dirty) on NVIDIA H100 80GB HBM3 (driver 580.159.04), "
        "torch 2.11.0:"
    )
    assert lines[1] == "  tests     passed   12 passed"
    assert lines[-1] == "verdict: passed; accuracy target missed (241 s)"


def test_the_gpu_check_refuses_in_one_line_where_torch_sees_no_gpu(scripts, tmp_path, capsys):
    import torch
    from gpu_check import main

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["--out", str(tmp_path / "check")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gpu_check: torch ") and "sees no CUDA GPU" in error
    assert error.count("\n") == 1
    assert not (tmp_path / "check").exists()


@pytest.mark.slow
def test_the_gpu_checks_plugin_step_runs_pytest_as_a_user_and_checks_its_rows(
    scripts, tmp_path, inner_pytest_runs_without_hypothesis
):
    from gpu_check import WAYS, plugin_step

    from .conftest import write_tiny_zoo

    write_tiny_zoo(tmp_path / "models")
    step = plugin_step(
        tmp_path / "models",
        tmp_path,
        tmp_path / "plugin.txt",
        device="cpu",
        meter="estimate",
        batch_sizes=(1, 8),
        ways={"bf16-channels-last": WAYS["bf16-channels-last"]},
        max_seconds=0.3,
    )
    run = step["runs"]["bf16-channels-last"]
    assert run["exit_status"] == 0 and run["options"] == list(WAYS["bf16-channels-last"])
    assert len(run["rows"]) == 6 and {row["status"] for row in run["rows"]} == {"measured"}
    assert {row["meter"] for row in run["rows"]} == {"estimate"}
    # On a CPU with 0.3 s an item, whether pruning saved energy is chance: that check alone
    # may fail here.
    assert [p for p in run["problems"] if "energy reduction" not in p] == []
    assert step["command"].startswith("pytest MODELS --prune-models=MODELS --prune-device=cpu")
    log = (tmp_path / "plugin.txt").read_text()
    assert "=== bf16-channels-last ===" in log and "--prune-channels-last" in log


@pytest.mark.slow
def test_the_gpu_checks_accuracy_step_measures_a_b_a_and_renders_its_page(scripts, tmp_path):
    import json

    from gpu_check import ACCURACY_DATA, ACCURACY_LOG, ACCURACY_PAGE, accuracy_step

    options = ["--device", "cpu", "--meter", "estimate", "--layouts", "alexnet"]
    options += ["--batch-sizes", "1", "--modes", "eager", "--input-size", "64"]
    options += ["--reference-seconds", "0.3", "--reference-warmup-seconds", "0.1"]
    options += ["--max-seconds", "0.4"]
    step = accuracy_step(tmp_path, options=options)
    assert (step["status"], step["problems"]) == ("passed", [])
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [ACCURACY_DATA, ACCURACY_LOG, ACCURACY_PAGE]
    )
    records = [json.loads(line) for line in (tmp_path / ACCURACY_DATA).read_text().splitlines()]
    assert [record["arm"] for record in records] == ["A1", "B", "A2"]
    assert all(record["code"]["source_sha256"] for record in records)
    reference = records[1]
    assert reference["ticks"] >= 2 and reference["samples"] > 0 and reference["ci95"] is None
    assert records[0]["ci95"] > 0 and records[2]["rewarm"] is True
    # At batch 1 only the FPS target applies: "Met" when it is, and the host's pace decides.
    assert step["answer"].startswith(("Met on cpu.", "Target missed on cpu."))
    assert step["targets_met"] is step["answer"].startswith("Met")
    [item] = step["items"]
    assert (item["layout"], item["batch"], item["mode"]) == ("alexnet", 1, "eager")
    page = (tmp_path / ACCURACY_PAGE).read_text()
    assert page.startswith("# Accuracy") and "| cpu | alexnet | 1 | eager |" in page
    assert "item 1 of 1" in (tmp_path / ACCURACY_LOG).read_text()


@pytest.mark.slow  # writes the zoo's two VGG11 files: ~1 s
def test_the_gpu_check_writes_its_record_and_fails_with_a_failed_step(
    scripts, tmp_path, monkeypatch, capsys
):
    import json

    import gpu_check

    zoos = []

    def plugin_step(models, work, log):
        zoos.append(sorted(path.name for path in models.iterdir()))
        return {"status": "failed", "summary": "cuda-graphs failed", "seconds": 60.0}

    monkeypatch.setattr(gpu_check, "refusal", lambda: None)
    monkeypatch.setattr(gpu_check, "gpu_facts", lambda: {"name": "NVIDIA H100", "driver": "580"})
    monkeypatch.setattr(gpu_check, "plugin_step", plugin_step)

    def accuracy_step(out):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(gpu_check, "accuracy_step", accuracy_step)
    out = tmp_path / "check"
    assert gpu_check.main(["--out", str(out), "--skip-tests"]) == 1
    assert zoos == [["VGG11_CIFAR10_UNPRUNED.pth", "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth"]]
    record = json.loads((out / gpu_check.RECORD).read_text())
    assert record["verdict"] == "failed: plugin, accuracy"
    assert [step["status"] for step in record["steps"].values()] == ["skipped", "failed", "failed"]
    # A step that raised fails alone, with its error, and the record is still written.
    assert record["steps"]["accuracy"]["summary"] == (
        "RuntimeError: CUDA error: an illegal memory access was encountered"
    )
    assert record["code"]["source_sha256"] and record["gpu"]["name"] == "NVIDIA H100"
    assert record["command"] == f"python benchmarks/gpu_check.py --out {out} --skip-tests"
    assert "verdict: failed: plugin, accuracy" in capsys.readouterr().out
    assert len(list(out.iterdir())) <= 8  # what a GPU machine returns of a folder


def test_the_accuracy_page_is_rendered_from_the_committed_runs(scripts, monkeypatch, tmp_path):
    from accuracy import main

    folder = Path("docs/benchmarks/accuracy")
    runs = [str(path) for path in sorted(folder.glob("accuracy-*.jsonl"))]
    assert len(runs) >= 3
    monkeypatch.chdir(REPOSITORY)
    assert main(["render", *runs, str(tmp_path / "accuracy.md")]) == 0

    def body(path: Path) -> list[str]:
        # Less the render command, which names the page it wrote.
        lines = path.read_text().splitlines()
        return [
            line for line in lines if not line.startswith("python benchmarks/accuracy.py render")
        ]

    again = body(tmp_path / "accuracy.md")
    assert again == body(REPOSITORY / folder / "accuracy.md")
    assert any(line.startswith("**Target missed on NVIDIA H100 80GB HBM3.**") for line in again)


# -- floors.py: the floors study ------------------------------------------------------------------


def _floors_record(arm, batch, joules, *, ci=0.004, seconds=2.0, warmup=1.0, measure=1.5, **more):
    record = {
        "run": "run-1",
        "command": "python benchmarks/floors.py run --out f.jsonl",
        "gpu": "NVIDIA H200",
        "driver": "580.159.04",
        "layout": "vgg16",
        "batch": batch,
        "arm": arm,
        "joules_per_sample": joules,
        **more,
    }
    if arm == "plugin":
        record |= {
            "ci95": ci * joules,
            "seconds_total": seconds,
            "seconds": seconds - warmup,
            "converged": True,
            "warmup_floor_seconds": warmup,
            "measure_floor_seconds": measure,
        }
    return record


def test_each_round_runs_every_pair_of_floors_in_a_new_order(scripts):
    from floors import floor_pairs, rotated

    pairs = floor_pairs([0.25, 1.0], [0.5, 1.0, 1.5])
    assert len(pairs) == 6
    orders = [rotated(pairs, index) for index in range(3)]
    assert all(sorted(order, key=str) == sorted(pairs, key=str) for order in orders)
    assert len({order[0] for order in orders}) == 3  # no pair always first


def test_an_items_error_is_against_the_mean_of_its_cells_two_references(scripts):
    from floors import cells

    records = [
        _floors_record("reference", 8, 1.0),
        _floors_record("plugin", 8, 1.012, ci=0.01),
        _floors_record("failed", 8, 0.0, error="RuntimeError: out of memory"),
        _floors_record("reference", 8, 1.02),
    ]
    [cell] = cells(records)
    assert cell.reference_joules == pytest.approx(1.01)
    assert cell.drift_percent == pytest.approx(2.0)
    [item] = cell.items
    assert item.error_percent == pytest.approx(100 * (1.012 / 1.01 - 1))
    assert item.ci_percent == pytest.approx(1.0)
    assert (item.within_target, item.covered) == (True, True)


def test_the_cheapest_pair_within_target_in_nine_of_ten_items_is_chosen(scripts):
    from floors import Floors, answer, cells, chosen, pooled

    # Each cell between two references that agree: steady, so its items are judged.
    records = [_floors_record("reference", batch, 1.0) for batch in (1, 8, 32)]
    for batch in (8, 32):
        records.append(_floors_record("reference", batch, 1.001))
        for index in range(10):
            # Short floors: cheap, but 2 of 10 items 1 % off with a 0.4 % CI.
            short = 1.01 if index < 2 else 1.001
            records.append(_floors_record("plugin", batch, short, seconds=1.0, measure=0.5))
            records.append(_floors_record("plugin", batch, 1.002, seconds=1.5, measure=1.0))
            records.append(_floors_record("plugin", batch, 1.001, seconds=2.5))
    # Batch 1 is not judged: a wild error there changes nothing.
    records.append(_floors_record("plugin", 1, 1.5, seconds=0.5, measure=0.5))
    rows = pooled(cells(records))
    assert [row.floors.measure_seconds for row in rows] == [0.5, 1.0, 1.5]
    assert [row.share_within for row in rows] == [0.8, 1.0, 1.0]
    best = chosen(rows)
    assert best is not None and best.floors == Floors(1.0, 1.0)
    # A pair measured fewer than ten times is not put to the test, however well it did.
    assert chosen([rows[1]], min_items=21) is None
    [paragraph] = answer(cells(records))
    assert "**warm-up 1 s, measure 1 s**, within max(0.5 %, CI) in 100% of 20 items" in paragraph
    assert "took 2.50 s an item, within target in 100%; this pair takes 1.50 s (40 % less)" in (
        paragraph
    )


def test_no_pair_is_chosen_where_none_stays_within_target(scripts):
    from floors import answer, cells

    records = [_floors_record("reference", 8, 1.0), _floors_record("plugin", 8, 1.02)]
    records.append(_floors_record("reference", 8, 1.0))
    [paragraph] = answer(cells(records))
    assert paragraph.startswith("**NVIDIA H200.** No pair of floors kept 90% of its items")


def test_a_cell_whose_references_drifted_is_named_and_left_out_of_the_answer(scripts):
    from floors import answer, cells, pooled

    records = []
    # 3 % drift at batch 8, its item with the later reference (1.5 % off the cells' mean);
    # 0.2 % at batch 32, its item on the mean.
    for batch, second_reference, item in ((8, 1.03, 1.03), (32, 1.002, 1.001)):
        records.append(_floors_record("reference", batch, 1.0))
        records += [_floors_record("plugin", batch, item) for _ in range(10)]
        records.append(_floors_record("reference", batch, second_reference))
    found = cells(records)
    assert [cell.steady for cell in found] == [False, True]
    assert [len(row.items) for row in pooled(found, steady_only=True)] == [10]
    [paragraph] = answer(found)
    assert "within max(0.5 %, CI) in 100% of 10 items" in paragraph
    assert "agreed within 0.5 %: vgg16 batch 32." in paragraph
    assert "drifted while they ran" in paragraph and "vgg16 batch 8 (+3.00 %)" in paragraph


# -- rewarm.py: a larger batch size right after a smaller one ------------------------------------


def _rewarm_record(arm, joules, *, floor=None, ci=0.004, seconds=2.0, warmed=(50.0, 52.0)):
    record = {
        "run": "run-1",
        "command": "python benchmarks/rewarm.py run --out r.jsonl",
        "gpu": "NVIDIA H200",
        "driver": "580",
        "layout": "vgg16",
        "batch": 64,
        "arm": arm,
        "joules_per_sample": joules,
        "ci95": ci * joules,
        "seconds": 1.5,
        "seconds_total": seconds,
        "converged": True,
        "default_rewarm_floor_seconds": 0.25,
    }
    if arm == "plugin":
        record |= {
            "warmup_floor_seconds": floor,
            "measure_floor_seconds": 1.5,
            "temperature_celsius": list(warmed),
        }
    return record


def test_the_rewarm_answer_names_the_shortest_floor_within_target_and_the_defaults_error(scripts):
    from floors import cells
    from rewarm import answer, floor_rows

    records = [_rewarm_record("reference", 1.0)]
    for _ in range(3):
        # The default floor reads low while the board heats; 2 s settles it.
        records.append(_rewarm_record("plugin", 0.988, floor=0.25, seconds=2.1, warmed=(50, 53)))
        records.append(_rewarm_record("plugin", 0.993, floor=1.0, seconds=2.9, warmed=(51, 53)))
        records.append(_rewarm_record("plugin", 1.001, floor=2.0, seconds=3.9, warmed=(52, 53)))
    records.append(_rewarm_record("reference", 1.002))
    found = cells(records)
    rows = floor_rows(found)
    assert [row.floors.warmup_seconds for row in rows] == [0.25, 1.0, 2.0]
    assert [row.share_within for row in rows] == [0.0, 0.0, 1.0]
    assert rows[0].mean_warmed_celsius == 3.0
    [paragraph, _] = answer(found, default=0.25)
    assert paragraph.startswith(
        "**NVIDIA H200.** The shortest re-warm floor within target in 90% of its items is 2 s: "
        "3 of 3 items within target, mean error +0.00 %, 3.90 s an item, the board warming by "
        "1.0 °C on average."
    )
    assert "The plugin's default, 0.25 s: 0 of 3 items within target, mean error -1.30 %" in (
        paragraph
    )


def test_the_rewarm_answer_judges_nothing_where_the_references_drifted(scripts):
    from floors import cells
    from rewarm import answer

    records = [_rewarm_record("reference", 1.0), _rewarm_record("plugin", 1.0, floor=0.25)]
    records.append(_rewarm_record("reference", 1.02))
    found = cells(records)
    assert answer(found, default=0.25)[0] == (
        "**NVIDIA H200.** No cell's references held steady (vgg16 batch 64 +2.00 %): nothing "
        "can be judged against the target. Over all its cells, each floor's errors against the "
        "references' mean: 0.25 s, -0.99 to -0.99 % (mean -0.99 %, warming 2.0 °C)."
    )


# Each cell study's own arguments for a run on the CPU in seconds, what its items' records
# carry, and how its page begins.
CELL_STUDIES_ON_THE_CPU = [
    (
        "floors",
        "--measure-floors 0.2,0.3 --warmup-floors 0.1",
        {"rewarm": False, "measure_floor_seconds": [0.2, 0.3]},
        "# How short may the protocol's floors be?",
    ),
    (
        "rewarm",
        "--lead-batch 2 --lead-seconds 0.1 --floors 0.1,0.2",
        {"rewarm": True, "lead_batch": 2, "warmup_floor_seconds": [0.1, 0.2]},
        "# Re-warm: does a larger batch size read low right after a smaller one?",
    ),
]


@pytest.mark.parametrize(("script", "own", "items", "heading"), CELL_STUDIES_ON_THE_CPU)
def test_a_cell_study_runs_on_the_cpu_and_renders_its_page(
    scripts, tmp_path, script, own, items, heading
):
    import importlib

    study = importlib.import_module(script)
    data, page = tmp_path / f"{script}.jsonl", tmp_path / f"{script}.md"
    arguments = f"run --device cpu --meter estimate --layouts alexnet --batch-sizes 8 {own}"
    arguments += " --repeats 1 --input-size 64 --max-seconds 1 --reference-seconds 0.3"
    arguments += " --reference-warmup-seconds 0.1"
    assert study.main([*arguments.split(), "--out", str(data)]) == 0
    records = study.read_json_lines([data])
    assert [record["arm"] for record in records] == ["reference", "plugin", "plugin", "reference"]
    for field, expected in items.items():
        found = [record[field] for record in records[1:3]]
        assert found == (expected if isinstance(expected, list) else [expected] * 2), field
    assert study.main(["render", str(data), str(page)]) == 0
    text = page.read_text()
    assert text.startswith(heading)
    assert "| cpu | alexnet | 8 |" in text


@pytest.mark.parametrize(
    ("script", "arguments"),
    [
        ("floors", "--measure-floors 4 --max-seconds 3"),
        ("rewarm", "--floors 2 --max-seconds 3"),  # the warm-up may take 40 % of the cap
    ],
)
def test_a_cell_study_refuses_a_floor_it_could_never_reach(scripts, capsys, script, arguments):
    import importlib

    study = importlib.import_module(script)
    with pytest.raises(SystemExit):
        study.main(["run", "--out", "x.jsonl", *arguments.split()])
    assert "would never be reached" in capsys.readouterr().err


# -- every rendered benchmark page, rendered again from its committed data ------------------------

# Pages rendered from committed data by the command they print, beside those tested above with
# checks of their own (accuracy, grid cost, history, real models, reproduction).
RENDERED_PAGES = (
    *(f"docs/benchmarks/precision/precision-run{run}.md" for run in range(2, 10)),
    "docs/benchmarks/harness-cost/harness-cost.md",
    "docs/benchmarks/floors/floors.md",
    "docs/benchmarks/rewarm/rewarm.md",
    "docs/benchmarks/multi-gpu/multi-gpu.md",
    "docs/benchmarks/seed-phase/seed-phase.md",
    "docs/benchmarks/ci-calibration/ci-calibration.md",
    "docs/benchmarks/ci-calibration/ci-calibration-before-grid.md",
)


@pytest.mark.slow
@pytest.mark.parametrize("page", RENDERED_PAGES)
def test_a_committed_page_is_what_its_own_render_command_writes(page, tmp_path):
    import re
    import shlex
    import subprocess
    import sys

    repository = BENCHMARKS.parent
    text = (repository / page).read_text()
    [command] = {
        found
        for found in re.findall(r"python (benchmarks/\S+\.py (?:render|analyze) [^`\n]+)", text)
        if page in found.split()
    }
    arguments = [tmp_path / "page.md" if part == page else part for part in shlex.split(command)]
    done = subprocess.run(
        [sys.executable, *map(str, arguments)], cwd=repository, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr

    def body(path: Path) -> list[str]:
        # The lines naming the command name the page they wrote.
        lines = path.read_text().splitlines()
        return [line for line in lines if "render" not in line and " analyze " not in line]

    assert body(tmp_path / "page.md") == body(repository / page)


def _deployed_row(model, runtime, joules, ci, reduction=None, reduction_ci=None, **more):
    from deployed import FREE, REDUCTION_CI, ROUNDED

    from pytest_pruneenergy.report import schema as col

    method = {"free": FREE, "rounded": ROUNDED}.get(more.get("rounding"))
    return {
        col.MODEL_NAME: model,
        col.ARCHITECTURE: "resnet50",
        col.DTYPE: more.get("dtype", "float32"),
        col.RUNTIME: runtime,
        col.BATCH_SIZE: 64,
        col.PRUNING_DISTRIBUTION: more.get("pd"),
        col.GPR: more.get("gpr"),
        col.METHOD: method,
        "rounding": more.get("rounding"),
        col.JOULES_PER_SAMPLE: joules,
        col.JOULES_PER_SAMPLE_CI95: ci,
        col.FPS: more.get("fps", 1.0 / joules),
        col.CR_PARAMETERS: more.get("cr", 0.0),
        col.UNALIGNED_X8: more.get("unaligned", 0.0),
        col.ENERGY_REDUCTION: reduction,
        REDUCTION_CI: reduction_ci,
    }


def test_rounded_models_are_set_against_free_ones_of_the_same_pd_gpr_format_and_runtime(scripts):
    import pandas as pd
    from deployed import beyond_ci, rounding_pairs

    pruned = {"pd": "PD1", "gpr": 30.0}
    table = pd.DataFrame(
        [
            _deployed_row("R_free", "eager", 0.10, 0.001, rounding="free", cr=40.0, **pruned),
            _deployed_row("R_round", "eager", 0.09, 0.001, rounding="rounded", cr=41.0, **pruned),
            _deployed_row("R_free", "compile", 0.05, 0.001, rounding="free", cr=40.0, **pruned),
            # A compiled rounded model that costs more, but within the CI of the difference.
            _deployed_row("R_round", "compile", 0.0502, 0.001, rounding="rounded", **pruned),
            # Measured one way only: no pair.
            _deployed_row(
                "R_free", "eager", 0.2, 0.001, rounding="free", dtype="bfloat16", **pruned
            ),
        ]
    )
    pairs = rounding_pairs(table).set_index("Runtime")
    assert list(pairs.index) == ["compile", "eager"]
    assert pairs.loc["eager", "energy change (%)"] == pytest.approx(-10.0)
    assert pairs.loc["eager", "FPS change (%)"] == pytest.approx(100 * 0.10 / 0.09 - 100)
    assert pairs.loc["eager", "CR params rounded (%)"] == 41.0
    lower, higher = beyond_ci(pairs["energy change (%)"], pairs["energy change CI95"])
    assert (lower, higher) == (1, 0)


def test_compiled_savings_are_set_against_eager_ones_with_the_ci_of_their_difference(scripts):
    import pandas as pd
    from deployed import beyond_ci, compiled_against_eager, headline

    pruned = {"pd": "PD1", "gpr": 60.0, "rounding": "free"}
    table = pd.DataFrame(
        [
            _deployed_row("U", "eager", 0.1, 0.001),
            _deployed_row("U", "compile", 0.05, 0.001),
            _deployed_row("P", "eager", 0.05, 0.001, 50.0, 3.0, **pruned),
            _deployed_row("P", "compile", 0.03, 0.001, 40.0, 4.0, **pruned),
        ]
    )
    compared = compiled_against_eager(table)
    assert list(compared["MODEL_NAME"]) == ["P"]
    assert compared["difference"].item() == pytest.approx(-10.0)
    assert compared["difference CI95"].item() == pytest.approx(5.0)  # 3 and 4 in quadrature
    assert beyond_ci(compared["difference"], compared["difference CI95"]) == (1, 0)
    assert "(1): free widths: +50.0 % eager, +40.0 % compiled." in headline(compared)
    # An unknown CI counts as neither smaller nor larger.
    assert beyond_ci(pd.Series([-10.0]), pd.Series([float("nan")])) == (0, 0)


def test_the_deployed_page_says_what_was_seen_and_which_items_ran_at_the_power_cap(scripts):
    import pandas as pd
    from deployed import seen

    from pytest_pruneenergy.report import schema as col

    pruned = {"pd": "PD1", "gpr": 30.0, "rounding": "free"}
    rows = [
        _deployed_row("U.pth", "eager", 0.1, 0.001),
        _deployed_row("P.pth", "eager", 0.05, 0.001, **pruned),
        _deployed_row("Q.pth", "compile", 0.05, 0.001, **pruned),
    ]
    rows[0] |= {col.DISTURBANCES: "clocks held back (power cap)"}
    rows[1] |= {
        col.DISTURBANCES: "its baseline: clocks held back (power cap); SM clock 1980 MHz "
        "against its baseline's 1762 MHz"
    }
    temperatures = [(50.0, 53.0), (55.0, 56.0), (None, None)]
    for row, (start, end) in zip(rows, temperatures, strict=True):
        row |= {col.TEMPERATURE_START_CELSIUS: start, col.TEMPERATURE_END_CELSIUS: end}
    said = seen(pd.DataFrame(rows))
    assert said.startswith(
        "- **What was seen.** 2 of 3 items were measured while something could have corrupted "
        "them or their comparison"
    )
    assert ": 1 themselves, the rest through their baseline." in said
    assert (
        "ran at the board's power cap themselves, their clocks held back: U (float32 eager)."
        in (said)
    )
    assert said.endswith(
        "1 of 3 items were measured while the GPU warmed by 2 °C or more "
        "(the report's `WARMING`), and may read low."
    )


def test_a_deployed_run_leaves_its_command_even_where_its_call_is_cut(
    scripts, tmp_path, monkeypatch
):
    import json
    import sys

    import deployed

    seen = {}

    def cut_call(command, stop_after):
        # The GPU machine's limit ends the call here: the record must already name the command.
        seen["record"] = json.loads((tmp_path / "run" / deployed.STUDY_RUN_JSON).read_text())
        return 0, 12.5

    monkeypatch.setattr(
        deployed, "build_models", lambda models, pds, gprs: models.mkdir(parents=True)
    )
    monkeypatch.setattr(deployed, "run_for_at_most", cut_call)
    monkeypatch.setattr(sys, "argv", ["deployed.py", "run", "--out", str(tmp_path / "run")])
    assert deployed.main() == 0
    (during,) = seen["record"]["calls"]
    assert during["exit_status"] is None and during["wall_seconds"] is None
    assert "--prune-runtimes=eager,compile" in during["command"]
    monkeypatch.setattr(sys, "argv", [*sys.argv, "--resume"])
    assert deployed.main() == 0
    record = json.loads((tmp_path / "run" / deployed.STUDY_RUN_JSON).read_text())
    assert (record["pds"], record["gprs"]) == ([1], [30, 60])
    assert [call["wall_seconds"] for call in record["calls"]] == [12.5, 12.5]
    assert "--energy-resume" in record["calls"][1]["command"]
    assert deployed.planned_items(record, record["calls"][0]["command"]) == 5 * 2 * 2


def test_a_grid_run_measures_a_given_zoo_with_the_options_passed_on(scripts, monkeypatch, tmp_path):
    import json
    import sys

    import grid_cost

    import pytest_pruneenergy.models.zoo as zoo_module

    commands, built = [], []
    monkeypatch.setenv("PRUNEENERGY_CODE_COMMIT", "0123abc")
    monkeypatch.setattr(
        grid_cost,
        "run_for_at_most",
        lambda command, *_, **__: (commands.append(command), (0, 2.0))[1],
    )
    monkeypatch.setattr(zoo_module, "build_zoo", lambda folder, **_: built.append(folder))
    zoo, out = tmp_path / "zoo", tmp_path / "out"
    zoo.mkdir()
    arguments = ["run", "--out", str(out), "--batch-sizes", "1"]
    graphs = "--plugin-option=--energy-cuda-graphs"
    monkeypatch.setattr(sys, "argv", ["grid_cost.py", *arguments, "--zoo", str(zoo), graphs])
    assert grid_cost.main() == 0
    assert built == []  # the zoo given is measured as it is, its files' mtimes kept
    assert f"--prune-models={zoo.resolve()}" in commands[0]
    assert commands[0][-1] == "--energy-cuda-graphs"
    record = json.loads((out / "run.json").read_text())
    assert record["command"] == commands[0][1:]
    assert record["commit"] == "0123abc"  # the installed code's, as named on a GPU machine

    monkeypatch.setattr(sys, "argv", ["grid_cost.py", *arguments])
    assert grid_cost.main() == 0
    assert built == [out.resolve() / "models"]  # no zoo given: one is built in the run's folder
    assert f"--prune-models={out.resolve() / 'models'}" in commands[1]
    assert not any(part.startswith("--energy-cuda-graphs") for part in commands[1])


def test_the_ci_calibration_runs_every_measurement_to_its_cap(scripts):
    """Against its target of 0 the out-of-reach stop would end every item at its tenth window;
    the calibration needs all the windows a cap gives."""
    import dataclasses
    import functools

    from ci_calibration import run_to_the_cap

    from pytest_pruneenergy.measure.protocol import measure
    from pytest_pruneenergy.testing.simulated_clock import SimulatedClock, TickingMeter

    clock = SimulatedClock()
    settings = dataclasses.replace(
        run_to_the_cap(), max_seconds=2.0, min_window_seconds=0.05, warmup_min_seconds=0.1
    )
    stats = measure(
        functools.partial(clock.sleep, 0.001),
        "cpu",
        TickingMeter(clock, 100.0),
        4,
        settings,
        clock=clock,
        tick_recorder=clock.tick_recorder,
    )
    assert not stats.converged
    assert clock() >= settings.max_seconds - 2 * settings.check_interval_seconds


def test_a_grid_of_runs_at_several_commits_says_so(scripts):
    from grid_cost import _code_versions_sentence

    one = {"commit": "b2cff862752d"}
    assert _code_versions_sentence([one, one]) == ""
    two = _code_versions_sentence([one, {"commit": "12286d22c2f8"}])
    assert "2 versions of the code (12286d2, b2cff86)" in two
    assert "unrecorded" in _code_versions_sentence([one, {"commit": None}])
    assert _code_versions_sentence([{"commit": None}]) == " The runs did not record their commit."


def test_numbers_are_listed_with_and_and_a_median_ci_is_in_percent(scripts):
    import pandas as pd
    from benchlib import listed, median_ci_percent

    assert listed([1]) == "1"
    assert listed([8, 64]) == "8 and 64"
    assert listed([1, 8, 64]) == "1, 8 and 64"
    rows = pd.DataFrame(
        {
            "Mean Energy per Sample (J)": [1.0, 2.0, 4.0],
            "CI95 Energy per Sample (J)": [0.01, 0.1, 0.04],
        }
    )
    assert median_ci_percent(rows) == pytest.approx(1.0)  # of 1, 5 and 1 %


def test_the_grids_time_limit_counts_the_zoos_build(scripts):
    from grid_cost import pytest_seconds_left

    assert pytest_seconds_left(None, 30.0) is None  # no limit
    assert pytest_seconds_left(300.0, 40.0) == pytest.approx(260.0)
    assert pytest_seconds_left(300.0, 400.0) == 1.0  # spent already: pytest starts and stops


def test_a_whole_grid_says_its_runs_calls_and_the_longest_of_them(scripts):
    from grid_cost import SEED_MODELS, _grid_lines

    small, large = grid_items(SEED_MODELS, (1, 8)), grid_items(SEED_MODELS, (16, 32, 64))

    def summary(rows, call_seconds):
        return {
            "run": "part",
            "code": "installed",
            "commit": "abcdef0123",
            "max_seconds": "default",
            "items": len(rows),
            "ci_met": int(rows["CI Target Met"].sum()) if "CI Target Met" in rows else 0,
            "wall_seconds": sum(call_seconds),
            "call_seconds": call_seconds,
        }

    # The first part resumed twice (three pytest calls), the second in one.
    text = " ".join(
        _grid_lines([small, large], [summary(small, [500.0, 540.0, 60.0]), summary(large, [420.0])])
    )
    assert "measured whole" in text
    assert "in 2 runs" in text and "4 pytest calls, the longest 9.0 minutes" in text
    assert "versions of the code" not in text  # one commit
    assert "the longest run 18.3" in text


def test_a_resumed_runs_test_seconds_add_every_calls_junit_file(scripts, tmp_path):
    from grid_cost import run_test_seconds

    def junit(path, *seconds):
        cases = "".join(f'<testcase name="t{i}" time="{s}"/>' for i, s in enumerate(seconds))
        path.write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")

    junit(tmp_path / "junit-call1.xml", 2.0, 3.0)  # the first call measured two items
    junit(tmp_path / "junit.xml", 0.01, 0.01, 4.0)  # the last resumed them, measured one
    assert run_test_seconds(tmp_path) == pytest.approx(9.02)
    (tmp_path / "junit-call1.xml").unlink()
    assert run_test_seconds(tmp_path) == pytest.approx(4.02)  # a run of one call


def test_the_measuring_codes_digest_moves_with_the_protocol_not_the_report(scripts, tmp_path):
    from benchlib import MEASURING_PATHS, source_digest

    for name in ("measure/protocol.py", "report/table.py", "__init__.py"):
        path = tmp_path / "pytest_pruneenergy" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    before = source_digest(tmp_path, MEASURING_PATHS)
    (tmp_path / "pytest_pruneenergy/report/table.py").write_text("x = 2\n")
    assert source_digest(tmp_path, MEASURING_PATHS) == before  # a report's change: same protocol
    (tmp_path / "pytest_pruneenergy/__init__.py").write_text("x = 2\n")
    assert source_digest(tmp_path, MEASURING_PATHS) != before  # the version is in the journal key


def test_a_grid_of_two_commits_is_one_protocol_only_where_their_measuring_code_is(scripts):
    from grid_cost import _code_versions_sentence

    def run(commit, digest):
        return {"commit": commit, "measuring_sha256": digest}

    assert _code_versions_sentence([run("aaaaaaa1", "d1"), run("aaaaaaa1", "d1")]) == ""
    same = _code_versions_sentence([run("aaaaaaa1", "d1"), run("bbbbbbb2", "d1")])
    assert "2 commits (aaaaaaa, bbbbbbb) with the same measuring code" in same
    for other in ("d2", None):  # another protocol, or one not recorded
        said = _code_versions_sentence([run("aaaaaaa1", "d1"), run("bbbbbbb2", other)])
        assert "2 versions of the code" in said and "one commit for every run" in said


def test_parts_of_one_family_at_other_batch_sizes_are_no_shards(scripts):
    from grid_cost import shards_of_models

    small, large = grid_items(3, (1, 8)), grid_items(3, (16, 32, 64))
    assert not shards_of_models([small, large])  # the same three models
    other = large.assign(MODEL_NAME=large["MODEL_NAME"].str.replace("M", "N"))
    assert shards_of_models([small, other])
    assert shards_of_models([small])


@pytest.mark.parametrize(
    ("folder", "arguments", "figures"),
    [
        # benchmarks/example_report.py: the committed GPU demo results.
        ("docs/example-report", ["docs/demo-gpu/pruneenergy_results.csv"], 9),
        # docs/seed-paper.md's command: the seed's own published table and its metadata.
        (
            "docs/seed-report",
            [
                "tests/data/seed/results_with_compression_ratios.csv",
                "--metadata",
                "tests/data/seed/metadata.csv",
            ],
            9,
        ),
    ],
)
def test_a_committed_report_is_what_pruneenergy_report_writes_today(
    monkeypatch, tmp_path, folder, arguments, figures
):
    """The committed report.html, as its command writes it today: the same page but for the
    moment it was written and the figures' pixels. The figures are the committed ones, in the
    report's order: drawing them again is most of the command's time, and their code has tests
    of its own (the report's summary, findings and tables are what is held here)."""
    import re

    from pytest_pruneenergy import cli
    from pytest_pruneenergy.report import plots

    committed_figures = [
        REPOSITORY / folder / name
        for name in plots.FIGURE_FILES
        if (REPOSITORY / folder / name).exists()
    ]
    monkeypatch.setattr(plots, "write_figures", lambda table, out_dir: committed_figures)
    monkeypatch.chdir(REPOSITORY)
    assert cli.main(["report", *arguments, "--out", str(tmp_path)]) == 0

    def page(folder: Path) -> str:
        text = (folder / "report.html").read_text()
        text = re.sub(r'src="data:image/png;base64,[^"]*"', 'src="FIGURE"', text)
        return re.sub(r"written \d{4}-\d\d-\d\d \d\d:\d\d UTC", "written WHEN", text)

    committed = page(REPOSITORY / folder)
    assert committed.count('src="FIGURE"') == figures
    assert page(tmp_path) == committed
