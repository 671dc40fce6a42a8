"""What else happened while an item was measured: other processes on the GPU and the host, and
clocks held back (measure/conditions.py)."""

from __future__ import annotations

import os

import pytest

from pytest_pruneenergy.measure.conditions import (
    LAUNCHING_HOST,
    METERED_HOST,
    UNJUDGED,
    Conditions,
    GpuActivity,
    HostCpu,
    busy_seconds_from_proc_stat,
    busy_while_quiet,
    conditions_between,
    gpu_activity_of,
    host_role_of,
    other_compute_processes,
    others_cpu_cores,
    read_host_cpu,
    reason_names,
)
from pytest_pruneenergy.testing.simulated_nvml import SimulatedNvml, simulated_counter_meter

PROC_STAT = "cpu  100 20 30 400 50 6 4 10 5 0\ncpu0 50 10 15 200 25 3 2 5 2 0\nintr 1 2 3\n"


def test_busy_time_adds_user_nice_system_irq_softirq_and_steal_not_idle_or_iowait():
    # user 100 + nice 20 + system 30 + irq 6 + softirq 4 + steal 10 = 170 ticks; guest is in user.
    assert busy_seconds_from_proc_stat(PROC_STAT, ticks_per_second=100) == pytest.approx(1.70)


def test_a_proc_stat_without_its_aggregate_line_is_refused():
    with pytest.raises(ValueError, match="no aggregate cpu line"):
        busy_seconds_from_proc_stat("intr 1 2 3\n", ticks_per_second=100)


def test_the_host_reads_as_unknown_where_proc_stat_is_missing(tmp_path):
    assert read_host_cpu(tmp_path / "no-such-file") is None


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="a Linux host's /proc/stat")
def test_this_host_is_read_with_its_cores_and_this_processs_own_time():
    reading = read_host_cpu()
    assert reading is not None
    assert reading.cores == os.cpu_count()
    assert 0 < reading.own_seconds <= reading.busy_seconds


def host(busy: float, own: float, wall: float, cores: int = 4) -> HostCpu:
    return HostCpu(busy_seconds=busy, own_seconds=own, wall_seconds=wall, cores=cores)


def test_other_processes_cores_are_the_hosts_busy_time_less_ours_over_the_wall_time():
    # 3 busy seconds in 2 wall seconds, 1 of them ours: others kept one core busy.
    assert others_cpu_cores(host(10, 5, 100), host(13, 6, 102)) == pytest.approx(1.0)


def test_other_processes_never_use_less_than_nothing():
    # The host's ticks are coarser than this process's own time.
    assert others_cpu_cores(host(10, 5, 100), host(10.5, 6, 101)) == 0.0


def test_our_own_process_is_counted_out_of_nvmls_list():
    assert other_compute_processes([os.getpid(), 4242], os.getpid()) == (1, (4242,))
    assert other_compute_processes([os.getpid()], os.getpid()) == (0, ())


def test_in_a_container_nvmls_process_ids_are_the_hosts_and_one_entry_is_ours():
    assert other_compute_processes([111, 222], own_pid=7) == (1, ())
    assert other_compute_processes([111], own_pid=7) == (0, ())
    assert other_compute_processes([], own_pid=7) == (0, ())


def test_only_reasons_that_hold_clocks_back_are_named_each_once():
    # GPU idle (0x1) and sync boost (0x10) are states; software and hardware thermal slowdown
    # (0x20, 0x40) are one name.
    assert reason_names(0x1 | 0x10) == ()
    assert reason_names(0x4 | 0x20 | 0x40 | 0x80) == (
        "power cap",
        "thermal slowdown",
        "power brake",
    )
    assert reason_names(None) == ()


def test_a_neighbour_on_a_cpu_meter_is_a_disturbance_from_a_quarter_of_a_core():
    quiet = Conditions(others_cpu_cores=0.2, host_cores=2, host_role=METERED_HOST)
    busy = Conditions(others_cpu_cores=0.3, host_cores=2, host_role=METERED_HOST)
    assert quiet.disturbances == ()
    assert busy.disturbances == ("other processes kept 0.30 CPU cores busy of 2",)


def test_a_gpu_item_is_disturbed_by_the_host_only_when_less_than_a_core_is_left_to_launch():
    roomy = Conditions(
        others_cpu_cores=10.0, own_cpu_cores=1.5, host_cores=16, host_role=LAUNCHING_HOST
    )
    crowded = Conditions(
        others_cpu_cores=0.8, own_cpu_cores=1.4, host_cores=2, host_role=LAUNCHING_HOST
    )
    assert roomy.disturbances == ()
    assert crowded.disturbances == ("other processes kept 0.80 CPU cores busy of 2",)


def test_a_meter_that_does_not_read_the_host_is_not_judged_by_its_load():
    assert Conditions(others_cpu_cores=2.0, host_cores=2, host_role=UNJUDGED).disturbances == ()


def test_what_a_meter_reads_decides_how_the_hosts_load_is_judged():
    class Unsaid:
        pass

    class Immune:
        reads_host = False

    assert host_role_of("cuda:1", Immune()) == LAUNCHING_HOST
    assert host_role_of("cpu", Unsaid()) == METERED_HOST  # unsaid: taken to read the host
    assert host_role_of("cpu", Immune()) == UNJUDGED


def test_other_gpu_processes_and_throttling_seen_at_either_end_are_said():
    before = GpuActivity(other_processes=0, clock_event_reasons=0)
    after = GpuActivity(other_processes=2, other_pids=(31, 30), clock_event_reasons=0x40)
    seen = conditions_between(None, None, before, after, host_role=LAUNCHING_HOST)
    assert seen.disturbances == (
        "2 other process(es) on the GPU (pid 30, 31)",
        "clocks held back (thermal slowdown)",
    )


def test_throttling_between_the_two_readings_shows_in_the_violation_times():
    before = GpuActivity(power_violation_ns=10, thermal_violation_ns=5)
    after = GpuActivity(power_violation_ns=900, thermal_violation_ns=5)
    seen = conditions_between(None, None, before, after, host_role=LAUNCHING_HOST)
    assert seen.clock_events == ("power cap",)


@pytest.mark.parametrize(
    ("board_watts", "idle_watts", "busy"),
    [
        (109.0, 70.0, False),  # idle 70 W: 40 W is the larger margin
        (111.0, 70.0, True),
        (299.0, 200.0, False),  # idle 200 W: half of it is
        (301.0, 200.0, True),
        (500.0, None, False),  # no idle power measured: nothing to judge against
        (None, 70.0, False),  # the board's power not read
    ],
)
def test_a_board_left_quiet_drawing_well_above_idle_is_someone_elses_work(
    board_watts, idle_watts, busy
):
    assert busy_while_quiet(board_watts, idle_watts) is busy


def test_a_quiet_boards_power_above_idle_is_said_with_both_figures():
    quiet = GpuActivity(board_watts=312.4)
    seen = conditions_between(
        None, None, None, None, host_role=LAUNCHING_HOST, quiet_board=quiet, idle_watts=74.6
    )
    assert seen.disturbances == (
        "the board drew 312 W before the item, while this process left it quiet (idle 75 W)",
    )
    calm = conditions_between(
        None,
        None,
        None,
        None,
        host_role=LAUNCHING_HOST,
        quiet_board=GpuActivity(board_watts=80.0),
        idle_watts=74.6,
    )
    assert calm.disturbances == ()


def test_what_cannot_be_read_says_nothing():
    unknown = GpuActivity()
    seen = conditions_between(None, None, unknown, unknown, host_role=METERED_HOST)
    assert seen == Conditions(host_role=METERED_HOST)
    assert seen.disturbances == ()


def test_the_nvml_meter_reads_the_gpus_neighbours_and_clock_events():
    sim = SimulatedNvml(power_watts=100.0)
    meter = simulated_counter_meter(sim)
    assert gpu_activity_of(meter) == GpuActivity(
        other_processes=None,
        clock_event_reasons=0,
        power_violation_ns=0,
        thermal_violation_ns=0,
        board_watts=100.0,
    )
    sim.power_field_supported = False  # an older GPU: the board's power is not known
    assert gpu_activity_of(meter).board_watts is None
    sim.compute_pids = [os.getpid(), 4242]
    sim.clock_event_reasons = 0x4
    sim.thermal_violation_ns = None  # not supported on this GPU
    activity = gpu_activity_of(meter)
    assert activity is not None
    assert (activity.other_processes, activity.other_pids) == (1, (4242,))
    assert (activity.clock_event_reasons, activity.thermal_violation_ns) == (0x4, None)
    meter.close()


def test_a_meter_without_gpu_activity_or_one_that_raises_tells_nothing():
    class Raises:
        def gpu_activity(self) -> GpuActivity:
            raise RuntimeError("driver gone")

    assert gpu_activity_of(object()) is None
    assert gpu_activity_of(Raises()) is None
