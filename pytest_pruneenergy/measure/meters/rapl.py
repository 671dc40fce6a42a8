"""CPU package energy from Linux RAPL through the powercap sysfs interface (Intel and AMD)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import DeviceState, GpuFacts, MeterReadError, MeterUnavailable

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
MICROJOULES_PER_JOULE = 1_000_000.0

# Top-level zones only: ``intel-rapl:0:0`` (core, uncore, dram) lie inside their package and
# ``intel-rapl-mmio:0`` mirrors a package through another interface; adding either double counts.
_TOP_LEVEL_ZONE = re.compile(r"intel-rapl:(\d+)")


def energy_delta_microjoules(previous: int, current: int, max_range: int) -> int:
    """Energy between two reads of one counter that wraps to 0 after ``max_range``.

    A counter that wraps more than once between two reads loses ``max_range`` per extra wrap;
    ranges are hundreds of kilojoules (minutes at full load) and reads come seconds apart.
    """
    if current >= previous:
        return current - previous
    return max_range - previous + current


@dataclass
class _Domain:
    name: str
    energy_path: Path
    max_range_microjoules: int
    last_microjoules: int
    total_microjoules: int = 0


class RaplMeter:
    """Sum of the RAPL package domains (``name`` starting with ``package``) under ``root``.

    psys, where present, covers the whole platform including the packages, so it is left out.
    """

    name = "rapl"
    is_estimate = False
    # Other processes' CPU time on the host reaches its figure (see measure/conditions.py).
    reads_host = True

    def __init__(self, root: Path | str = DEFAULT_POWERCAP_ROOT) -> None:
        root = Path(root)
        self._domains = [_open_domain(zone) for zone in _package_zones(root)]
        names = ", ".join(domain.name for domain in self._domains)
        self.description = f"RAPL package energy counters ({names}) under {root}"
        self.gpu_facts: GpuFacts | None = None

    def read_joules(self) -> float:
        for domain in self._domains:
            try:
                current = _read_int(domain.energy_path)
            except (OSError, ValueError) as error:
                raise MeterReadError(f"reading {domain.energy_path} failed: {error}") from error
            domain.total_microjoules += energy_delta_microjoules(
                domain.last_microjoules, current, domain.max_range_microjoules
            )
            domain.last_microjoules = current
        total = sum(domain.total_microjoules for domain in self._domains)
        return total / MICROJOULES_PER_JOULE

    def device_state(self) -> DeviceState:
        """Nothing known: powercap holds energy only, no temperature or clock."""
        return DeviceState()

    def close(self) -> None:
        """Nothing to release: every read opens and closes its file."""


def _package_zones(root: Path) -> list[Path]:
    if not root.is_dir():
        raise MeterUnavailable(f"{root} does not exist: this machine exposes no powercap (RAPL)")
    zones = []
    for path in root.iterdir():
        match = _TOP_LEVEL_ZONE.fullmatch(path.name)
        if match and _read_setup_text(path / "name").startswith("package"):
            zones.append((int(match.group(1)), path))
    if not zones:
        raise MeterUnavailable(f"no RAPL package domain under {root}")
    return [path for _, path in sorted(zones)]


def _open_domain(zone: Path) -> _Domain:
    energy_path = zone / "energy_uj"
    return _Domain(
        name=_read_setup_text(zone / "name"),
        energy_path=energy_path,
        max_range_microjoules=int(_read_setup_text(zone / "max_energy_range_uj")),
        last_microjoules=int(_read_setup_text(energy_path)),
    )


def _read_setup_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except PermissionError as error:
        raise MeterUnavailable(
            f"{path}: permission denied; RAPL counters are readable by root only since "
            "Linux 5.10 (run as root, or grant read access to energy_uj knowing why it was "
            "revoked: the PLATYPUS power side channel)"
        ) from error
    except OSError as error:
        raise MeterUnavailable(f"{path}: cannot read ({error})") from error


def _read_int(path: Path) -> int:
    return int(path.read_text())
