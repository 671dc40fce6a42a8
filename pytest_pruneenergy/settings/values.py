"""``Settings``: one frozen value holding every option, its defaults the table's."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..measure.protocol import (
    ProtocolSettings,
)
from ..models.manifest import ManifestLine
from ..models.sharding import Shard
from ..report.units import DeploymentUnits
from ..track.run_end import StoreRequest
from ..track.store import COMPARE_LATEST
from ..track.thresholds import (
    KINDS,
    SOURCE_COMMAND_LINE,
    SOURCE_INI,
    GateSettings,
    Threshold,
    ThresholdRule,
)
from .table import OPTIONS_BY_KEY


def row_default(key: str) -> Any:
    """A field's default: its row's, so that ``Settings()`` is what resolving nothing gives. A
    row whose default depends on the ini file's folder is taken at the current folder (a
    relative path); a mapping gets a fresh copy per value."""
    default = OPTIONS_BY_KEY[key].default
    if callable(default):
        return default(Path())
    if isinstance(default, dict):
        return field(default_factory=functools.partial(dict, default))
    return default


@dataclass(frozen=True)
class Settings:
    """One field per option of OPTIONS (same key), then values derived from several."""

    model_dirs: tuple[Path, ...] = row_default("model_dirs")
    batch_sizes: tuple[int, ...] = row_default("batch_sizes")
    # None: the shape a model file records, else the default input shape.
    input_shape: tuple[int, ...] | None = row_default("input_shape")
    # Pairs for files outside the naming convention (models/manifest.py).
    manifest: tuple[ManifestLine, ...] = row_default("manifest")
    # Numeric formats to measure each model in (items/numerics.py); empty: as saved.
    dtypes: tuple[str, ...] = row_default("dtypes")
    runtimes: tuple[str, ...] = row_default("runtimes")
    channels_last: bool = row_default("channels_last")
    device: str = row_default("device")
    allow_pickle: bool = row_default("allow_pickle")
    report_dir: Path | None = row_default("report_dir")
    # Reuse the journal's measurements of unchanged items (items/journal.py).
    resume: bool = row_default("resume")
    # Only this shard of the families (models/sharding.py); None: all of them.
    shard: Shard | None = row_default("shard")
    # Rounds every item is measured in (items/rounds.py).
    rounds: int = row_default("rounds")
    # How often the run says how far it has got (items/progress.py).
    progress_seconds: float = row_default("progress_seconds")
    meter: str = row_default("meter")
    max_seconds: float = row_default("max_seconds")
    estimate_watts_per_core: float = row_default("estimate_watts_per_core")
    protocol: str = row_default("protocol")
    # 95 % CI half-width over mean at which the adaptive protocol stops: 0.01 for 1 %.
    target_ci_fraction: float = row_default("target_ci_fraction")
    # 0: idle power is not measured, and dynamic energy is left empty.
    idle_seconds: float = row_default("idle_seconds")
    # Each pass replayed as one captured CUDA graph (measure/cuda_graphs.py).
    cuda_graphs: bool = row_default("cuda_graphs")
    # Items in doubt measured once more at the end of the run (items/remeasure.py).
    remeasure: bool = row_default("remeasure")
    # Energy gates (track/gates.py), all but each item's marker, which is read when it runs.
    min_reduction: float | None = row_default("min_reduction")
    max_joules: float | None = row_default("max_joules")
    min_fps: float | None = row_default("min_fps")
    max_p99_ms: float | None = row_default("max_p99_ms")
    thresholds: tuple[ThresholdRule, ...] = row_default("thresholds")
    strict: bool = row_default("strict")
    # The run store (track/store.py).
    store_dir: Path = row_default("store_dir")
    save: bool = row_default("save")
    # None: no comparison unless a compare_fail gate asks for one; COMPARE_LATEST: the newest
    # complete stored run from this machine; else a run id or the path of a run file.
    compare: str | None = row_default("compare")
    # --energy-compare-fail gates by measure, as fractions (0.05 for 5 %).
    compare_fail: Mapping[str, float] = row_default("compare_fail")
    # --energy-step-fail gates by measure, as fractions, and the commit whose runs they start at
    # (track/history.py).
    step_fail: Mapping[str, float] = row_default("step_fail")
    step_since: str | None = row_default("step_since")
    # A markdown summary of the run (report/markdown.py); None: only $GITHUB_STEP_SUMMARY.
    markdown_path: Path | None = row_default("markdown_path")
    # Advice in the report (report/analysis.py), never a gate.
    recommend_joules: float | None = row_default("recommend_joules")
    recommend_fps: float | None = row_default("recommend_fps")
    metadata_path: Path | None = row_default("metadata_path")
    metric: str | None = row_default("metric")
    # Where the model would run, for the per-million columns (report/units.py).
    grid_gco2e_per_kwh: float = row_default("grid_gco2e_per_kwh")
    pue: float = row_default("pue")
    price_per_kwh: float | None = row_default("price_per_kwh")
    # Gate thresholds by kind: where each came from, for its messages.
    gate_sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.model_dirs)

    @property
    def compare_run(self) -> str | None:
        """The run to compare with: a gate on the comparison needs one, the latest by default."""
        if self.compare is None and self.compare_fail:
            return COMPARE_LATEST
        return self.compare

    @property
    def uses_store(self) -> bool:
        """Whether the end of the run reads or writes the run store."""
        return self.save or self.compare_run is not None or bool(self.step_fail)

    @property
    def protocol_settings(self) -> ProtocolSettings:
        return ProtocolSettings(
            protocol=self.protocol,
            target_ci_fraction=self.target_ci_fraction,
            max_seconds=self.max_seconds,
        )

    @property
    def deployment_units(self) -> DeploymentUnits:
        return DeploymentUnits(self.grid_gco2e_per_kwh, self.pue, self.price_per_kwh)

    @property
    def store_request(self) -> StoreRequest:
        """What --energy-save, --energy-compare and the store's gates ask of the run store."""
        return StoreRequest(
            store_dir=self.store_dir,
            save=self.save,
            compare_run=self.compare_run,
            compare_fail=self.compare_fail,
            step_fail=self.step_fail,
            step_since=self.step_since,
        )

    @functools.cached_property
    def gates(self) -> GateSettings:
        """The energy gates of the command line and the ini file; each item adds its marker."""
        given = [(kind, getattr(self, kind)) for kind in KINDS if getattr(self, kind) is not None]
        by_source: dict[str, list[Threshold]] = {SOURCE_COMMAND_LINE: [], SOURCE_INI: []}
        for kind, value in given:
            source = self.gate_sources.get(kind, SOURCE_COMMAND_LINE)
            by_source[source].append(Threshold(kind, value, source))
        return GateSettings(
            command_line=tuple(by_source[SOURCE_COMMAND_LINE]),
            rules=self.thresholds,
            ini=tuple(by_source[SOURCE_INI]),
            strict=self.strict,
        )
