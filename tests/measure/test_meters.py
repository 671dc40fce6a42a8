"""Energy meters: NVML through a fake pynvml, RAPL through a fake sysfs tree, the estimate.

Timing of the NVML meters (ticks, read cost, the power meter's thread) is tested against the
simulated GPU in test_simulated_nvml.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pynvml
import pytest

from pytest_pruneenergy.measure.meters import (
    DeviceState,
    EstimatedEnergyWarning,
    EstimateMeter,
    GpuFacts,
    Meter,
    MeterReadError,
    MeterUnavailable,
    NvmlCounterMeter,
    NvmlPowerMeter,
    RaplMeter,
    auto,
    energy_delta_microjoules,
    make_meter,
)
from pytest_pruneenergy.measure.meters.nvml import normalize_gpu_uuid
from pytest_pruneenergy.measure.meters.nvml_power import PowerIntegral
from pytest_pruneenergy.testing.simulated_nvml import SimulatedNvml

TORCH_UUID_OF_SECOND_GPU = "bbbbbbbb-0000-0000-0000-000000000002"


class FakeGpu:
    def __init__(self, uuid: str, millijoules: int = 0, power_limit_milliwatts: int = 700_000):
        self.uuid = uuid
        self.millijoules = millijoules
        self.power_limit_milliwatts = power_limit_milliwatts
        self.energy_error: int | None = None
        self.power_limit_error: int | None = None


class FakeNvml:
    """The part of pynvml the meter uses, with pynvml's real error classes."""

    NVMLError = pynvml.NVMLError
    NVML_ERROR_NOT_SUPPORTED = pynvml.NVML_ERROR_NOT_SUPPORTED

    def __init__(self, gpus: list[FakeGpu], init_error: int | None = None):
        self.gpus = gpus
        self.init_error = init_error
        self.init_count = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self.init_count -= 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> str:
        return gpu.uuid

    def nvmlDeviceGetName(self, gpu: FakeGpu) -> str:
        return "NVIDIA H200"

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.03"

    def nvmlDeviceGetEnforcedPowerLimit(self, gpu: FakeGpu) -> int:
        if gpu.power_limit_error is not None:
            raise pynvml.NVMLError(gpu.power_limit_error)
        return gpu.power_limit_milliwatts

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        if gpu.energy_error is not None:
            raise pynvml.NVMLError(gpu.energy_error)
        return gpu.millijoules


def two_gpus() -> FakeNvml:
    return FakeNvml(
        [
            FakeGpu("GPU-aaaaaaaa-0000-0000-0000-000000000001", millijoules=1_000),
            FakeGpu("GPU-BBBBBBBB-0000-0000-0000-000000000002", millijoules=123_456),
        ]
    )


def nvml_meter(nvml: FakeNvml) -> NvmlCounterMeter:
    return NvmlCounterMeter(0, nvml=nvml, cuda_uuid=TORCH_UUID_OF_SECOND_GPU)


# --- NVML ---------------------------------------------------------------------------------------


def test_gpu_uuids_compare_equal_across_torch_and_nvml_spellings():
    assert normalize_gpu_uuid("GPU-1B5E-77") == normalize_gpu_uuid("1b5e-77")


def test_nvml_meter_reads_the_gpu_whose_uuid_torch_reports_in_joules():
    # torch's cuda:0 is NVML's GPU 1, as under CUDA_VISIBLE_DEVICES=1.
    meter = nvml_meter(two_gpus())
    assert meter.nvml_index == 1
    assert meter.read_joules() == pytest.approx(123.456)


def test_nvml_meter_reads_follow_the_counter():
    nvml = two_gpus()
    meter = nvml_meter(nvml)
    before = meter.read_joules()
    nvml.gpus[1].millijoules += 2_500
    assert meter.read_joules() - before == pytest.approx(2.5)


def test_nvml_meter_exposes_device_facts_for_reports():
    meter = nvml_meter(two_gpus())
    assert (meter.gpu_name, meter.driver_version, meter.power_limit_watts) == (
        "NVIDIA H200",
        "580.159.03",
        700.0,
    )
    assert meter.description == (
        "NVML total-energy counter of cuda:0 = NVML GPU 1 (NVIDIA H200, driver 580.159.03)"
    )
    assert (meter.name, meter.is_estimate) == ("nvml-counter", False)


def test_nvml_meter_gives_its_gpu_facts_typed():
    meter = nvml_meter(two_gpus())
    assert meter.gpu_facts == GpuFacts("NVIDIA H200", "580.159.03", 700.0)


def test_nvml_meter_without_power_limit_still_measures():
    nvml = two_gpus()
    nvml.gpus[1].power_limit_error = pynvml.NVML_ERROR_NOT_SUPPORTED
    meter = nvml_meter(nvml)
    assert meter.power_limit_watts is None
    assert meter.gpu_facts == GpuFacts("NVIDIA H200", "580.159.03", None)
    assert meter.read_joules() == pytest.approx(123.456)


def test_nvml_meter_unavailable_without_energy_counter():
    nvml = two_gpus()
    nvml.gpus[1].energy_error = pynvml.NVML_ERROR_NOT_SUPPORTED
    with pytest.raises(MeterUnavailable, match=r"no NVML total-energy counter.*Volta"):
        nvml_meter(nvml)
    assert nvml.init_count == 0


def test_nvml_meter_unavailable_without_driver():
    nvml = FakeNvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(MeterUnavailable, match="Driver Not Loaded"):
        nvml_meter(nvml)


def test_nvml_meter_unavailable_when_no_nvml_device_has_the_uuid():
    nvml = FakeNvml([FakeGpu("GPU-aaaaaaaa-0000-0000-0000-000000000001")])
    with pytest.raises(MeterUnavailable, match="no NVML device has the UUID of cuda:0"):
        nvml_meter(nvml)
    assert nvml.init_count == 0


def test_nvml_meter_unavailable_for_a_cuda_index_torch_does_not_have():
    with pytest.raises(MeterUnavailable):
        NvmlCounterMeter(999, nvml=two_gpus())


def test_nvml_read_failing_mid_run_raises_meter_read_error_with_nvml_text():
    nvml = two_gpus()
    meter = nvml_meter(nvml)
    nvml.gpus[1].energy_error = pynvml.NVML_ERROR_GPU_IS_LOST
    with pytest.raises(MeterReadError, match="GPU is lost"):
        meter.read_joules()


def test_nvml_meters_share_nvml_and_each_releases_only_its_own_init():
    nvml = two_gpus()
    first, second = nvml_meter(nvml), nvml_meter(nvml)
    first.close()
    first.close()
    assert nvml.init_count == 1
    second.close()
    assert nvml.init_count == 0


# --- NVML power integral ------------------------------------------------------------------------


def test_power_integral_starts_at_zero_joules():
    assert PowerIntegral(seconds=5.0, watts=300.0).joules == 0.0


def test_power_integral_of_a_linear_ramp_is_exact():
    # 100 W rising to 300 W over 2 s, sampled unevenly: trapezoids are exact for a line.
    integral = PowerIntegral(seconds=0.0, watts=100.0)
    for seconds in (0.1, 0.7, 1.5, 2.0):
        integral = integral.advanced(seconds, 100.0 + 100.0 * seconds)
    assert integral.joules == pytest.approx(400.0)
    assert (integral.seconds, integral.watts) == (2.0, 300.0)


@pytest.mark.gpu
def test_real_nvml_counter_grows_during_gpu_work():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    meter = NvmlCounterMeter(0)
    try:
        matrix = torch.randn(4096, 4096, device="cuda:0")
        torch.cuda.synchronize(0)
        joules_before = meter.read_joules()
        start = time.perf_counter()
        while time.perf_counter() - start < 0.5:
            matrix = (matrix @ matrix).clamp_(-1, 1)
            torch.cuda.synchronize(0)
        joules_after = meter.read_joules()
    finally:
        meter.close()
    assert joules_after > joules_before


# --- RAPL ---------------------------------------------------------------------------------------


def add_zone(root: Path, zone: str, name: str, microjoules: int, max_range: int = 10**9) -> Path:
    path = root / zone
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{microjoules}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    return path


def set_energy(zone: Path, microjoules: int) -> None:
    (zone / "energy_uj").write_text(f"{microjoules}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    """Two packages, a core sub-zone, psys, and an MMIO mirror of package 0."""
    return {
        "package-0": add_zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000),
        "core": add_zone(tmp_path, "intel-rapl:0:0", "core", 500_000),
        "package-1": add_zone(tmp_path, "intel-rapl:1", "package-1", 2_000_000),
        "psys": add_zone(tmp_path, "intel-rapl:2", "psys", 9_000_000),
        "mmio": add_zone(tmp_path, "intel-rapl-mmio:0", "package-0", 1_000_000),
    }


def test_rapl_sums_packages_and_ignores_psys_subzones_and_mirrors(powercap, tmp_path):
    meter = RaplMeter(tmp_path)
    before = meter.read_joules()
    set_energy(powercap["package-0"], 2_000_000)  # +1 J
    set_energy(powercap["package-1"], 4_000_000)  # +2 J
    set_energy(powercap["core"], 5_000_000)
    set_energy(powercap["psys"], 90_000_000)
    set_energy(powercap["mmio"], 2_000_000)
    assert meter.read_joules() - before == pytest.approx(3.0)
    names = "package-0, package-1"
    assert meter.description == f"RAPL package energy counters ({names}) under {tmp_path}"


def test_energy_delta_without_wrap_is_the_difference():
    assert energy_delta_microjoules(100, 350, max_range=1_000) == 250


def test_energy_delta_across_wrap_adds_the_range():
    assert energy_delta_microjoules(900, 100, max_range=1_000) == 200


def test_rapl_accumulates_across_a_wrap_per_domain(tmp_path):
    near_max = add_zone(tmp_path, "intel-rapl:0", "package-0", 999_000_000, max_range=10**9)
    other = add_zone(tmp_path, "intel-rapl:1", "package-1", 0)
    meter = RaplMeter(tmp_path)
    set_energy(near_max, 500_000)  # 1 J to the wrap, then 0.5 J
    set_energy(other, 1_000_000)
    assert meter.read_joules() == pytest.approx(2.5)
    set_energy(near_max, 1_500_000)
    assert meter.read_joules() == pytest.approx(3.5)


def test_rapl_unavailable_without_powercap(tmp_path):
    with pytest.raises(MeterUnavailable, match="exposes no powercap"):
        RaplMeter(tmp_path / "missing")


def test_rapl_unavailable_without_package_domain(tmp_path):
    add_zone(tmp_path, "intel-rapl:0", "psys", 0)
    with pytest.raises(MeterUnavailable, match="no RAPL package domain"):
        RaplMeter(tmp_path)


def test_rapl_unavailable_when_counter_is_root_only(powercap, tmp_path, monkeypatch):
    # Tests may run as root, where chmod does not deny reads: deny them where Python reads.
    read_text = Path.read_text

    def deny_energy(path: Path, *args, **kwargs) -> str:
        if path.name == "energy_uj":
            raise PermissionError(13, "Permission denied", str(path))
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", deny_energy)
    with pytest.raises(MeterUnavailable, match=r"energy_uj: permission denied.*Linux 5\.10"):
        RaplMeter(tmp_path)


def test_rapl_read_failing_mid_run_raises_meter_read_error(powercap, tmp_path):
    meter = RaplMeter(tmp_path)
    (powercap["package-1"] / "energy_uj").unlink()
    with pytest.raises(MeterReadError, match="energy_uj"):
        meter.read_joules()


# --- estimate -----------------------------------------------------------------------------------


def test_estimate_is_cpu_seconds_times_watts_per_core():
    meter = EstimateMeter(12.5, cpu_seconds=lambda: 4.0)
    assert meter.read_joules() == 50.0


def test_estimate_says_it_is_one_and_states_its_watts():
    meter = EstimateMeter()
    assert (meter.name, meter.is_estimate) == ("estimate", True)
    assert meter.description == ("estimate: 10.0 W per busy CPU core x CPU-seconds of this process")


def test_estimate_rejects_non_positive_watts():
    with pytest.raises(ValueError, match="watts_per_busy_core"):
        EstimateMeter(0.0)


# --- every meter --------------------------------------------------------------------------------


def simulated_power_meter(tmp_path: Path) -> NvmlPowerMeter:
    sim = SimulatedNvml(power_watts=100.0)
    return NvmlPowerMeter(0, nvml=sim, cuda_uuid=sim.uuid)


def rapl_meter(tmp_path: Path) -> RaplMeter:
    return RaplMeter(add_zone(tmp_path, "intel-rapl:0", "package-0", 0).parent)


@pytest.mark.parametrize(
    "build",
    [
        lambda tmp_path: nvml_meter(two_gpus()),
        simulated_power_meter,
        rapl_meter,
        lambda tmp_path: EstimateMeter(),
    ],
    ids=["nvml-counter", "nvml-power", "rapl", "estimate"],
)
def test_every_meter_satisfies_the_meter_protocol(build, tmp_path):
    meter = build(tmp_path)
    try:
        assert isinstance(meter, Meter)
    finally:
        meter.close()


@pytest.mark.parametrize(
    "build", [rapl_meter, lambda tmp_path: EstimateMeter()], ids=["rapl", "estimate"]
)
def test_cpu_meters_have_no_gpu_facts_and_know_no_device_state(build, tmp_path):
    meter = build(tmp_path)
    assert meter.gpu_facts is None
    assert meter.device_state() == DeviceState()


# --- make_meter ---------------------------------------------------------------------------------


def unavailable(reason: str):
    def build(*args, **kwargs):
        raise MeterUnavailable(reason)

    return build


@pytest.fixture
def no_counters(monkeypatch):
    """Neither NVML nor RAPL readable, whatever the machine running the tests has."""
    monkeypatch.setattr(auto, "NvmlCounterMeter", unavailable("NVML: Driver Not Loaded"))
    monkeypatch.setattr(auto, "NvmlPowerMeter", unavailable("NVML: Driver Not Loaded"))
    monkeypatch.setattr(auto, "RaplMeter", unavailable("no powercap here"))


def test_make_meter_rejects_unknown_kind_listing_valid_ones():
    with pytest.raises(ValueError, match="auto, nvml-counter, nvml-power, rapl, estimate"):
        make_meter("zeus", "cpu")


def test_make_meter_rejects_unknown_device():
    with pytest.raises(ValueError, match="'cpu' or 'cuda:N'"):
        make_meter("auto", "gpu0")


@pytest.mark.parametrize(
    ("kind", "device"),
    [("nvml-counter", "cuda:0"), ("nvml", "cuda:0"), ("nvml-power", "cuda:0"), ("rapl", "cpu")],
)
def test_explicit_meter_that_cannot_read_raises_instead_of_estimating(no_counters, kind, device):
    with pytest.raises(MeterUnavailable):
        make_meter(kind, device)


@pytest.mark.parametrize("kind", ["nvml-counter", "nvml-power"])
def test_nvml_meters_for_cpu_device_are_unavailable(kind):
    with pytest.raises(MeterUnavailable, match=f"the {kind} meter measures a CUDA device"):
        make_meter(kind, "cpu")


@pytest.mark.parametrize(
    ("device", "reason"), [("cuda:0", "Driver Not Loaded"), ("cpu", "no powercap here")]
)
def test_auto_falls_back_to_estimate_with_a_warning_saying_why(no_counters, device, reason):
    with pytest.warns(EstimatedEnergyWarning, match=f"ESTIMATED.*{reason}") as warned:
        meter = make_meter("auto", device, estimate_watts_per_core=15.0)
    assert isinstance(meter, EstimateMeter)
    assert meter.watts_per_busy_core == 15.0
    assert "15.0 W per busy CPU core" in str(warned[0].message)


def test_auto_on_cpu_uses_readable_rapl_without_warning(monkeypatch, tmp_path, recwarn):
    add_zone(tmp_path, "intel-rapl:0", "package-0", 0)
    monkeypatch.setattr(auto, "RaplMeter", lambda: RaplMeter(tmp_path))
    assert isinstance(make_meter("auto", "cpu"), RaplMeter)
    assert not recwarn.list


def test_auto_on_cuda_uses_nvml_with_the_device_index(recwarn):
    meter = make_meter("auto", "cuda:3", nvml=two_gpus(), cuda_uuid=TORCH_UUID_OF_SECOND_GPU)
    assert isinstance(meter, NvmlCounterMeter)
    assert meter.cuda_index == 3
    assert not recwarn.list


def test_explicit_estimate_is_built_without_warning(recwarn):
    meter = make_meter("estimate", "cuda:0", estimate_watts_per_core=20.0)
    assert meter.description.startswith("estimate: 20.0 W")
    assert not recwarn.list
