"""The run's hooks, registered only when models are measured: its phases over one state.

As pytest-xdist splits its controller and workers by role, the run is split by pytest's
phases: ordering.py (collection and order), running.py (an item measured), results.py (its
result carried to the controller on its report), ending.py (the report, the gates and the
stored run, on the controller). Each is a pytest plugin of its own; they share one
``RunState`` (state.py). ``PruneEnergySession`` is what collection and the energy test
function ask of the run (collection.EnergySession).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..models.discovery import ModelEntry
from ..settings import Settings
from .ending import Ending
from .ordering import Ordering
from .results import Results
from .running import Running
from .state import RunState

if TYPE_CHECKING:
    from ..measure.meters import Meter


class PruneEnergySession:
    """The run's phases over one state, each registered with pytest."""

    def __init__(self, config: pytest.Config, settings: Settings, *, device: str) -> None:
        self.state = RunState.start(config, settings, device=device)
        self.ordering = Ordering(self.state)
        self.running = Running(self.state)
        self.results = Results(self.state)
        self.ending = Ending(self.state, self.running)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    def register(self, pluginmanager: pytest.PytestPluginManager) -> None:
        pluginmanager.register(self.ordering, "pruneenergy-ordering")
        pluginmanager.register(self.running, "pruneenergy-running")
        pluginmanager.register(self.results, "pruneenergy-results")
        pluginmanager.register(self.ending, "pruneenergy-ending")

    def entry_for(self, path: Path) -> ModelEntry:
        return self.ordering.entry_for(path)

    def namesakes_of(self, path: Path) -> list[Path]:
        return self.ordering.namesakes_of(path)

    def meter(self) -> Meter:
        return self.running.meter()

    def run_item(self, item: pytest.Item, meter: Meter, benchmark: Any) -> None:
        self.running.run_item(item, meter, benchmark)
