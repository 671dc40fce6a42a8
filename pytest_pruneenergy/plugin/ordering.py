"""The run's first phase: which items there are and in what order they run.

The energy items of every model folder join pytest's collection; this shard's families are
kept; families are ordered for xdist (largest first) and rounds interleaved; the controller
learns which items it must account for, and gives each xdist worker its slot (hence its GPU).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ..items.ids import parse_item_id
from ..items.ledger import duplicated
from ..models.discovery import DiscoveryError, ModelEntry, find_model_files, pair_with_baselines
from ..models.manifest import name_from_manifest
from ..models.naming import ModelName, parse_model_name
from ..models.sharding import deal_families, largest_first
from .collection import (
    ENTRY_KEY,
    ROUND_KEY,
    EnergyItem,
    ModelFolder,
    groups_families,
    relative_nodeid,
)
from .state import RunState
from .xdist import SLOT_KEY, SlotPool, idle_workers_message, worker_count


class Ordering:
    """Collection and order hooks, over the run's shared state."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self._entries: dict[Path, ModelEntry] | None = None
        self._slots = SlotPool()  # on an xdist controller: the workers' slots

    def entry_for(self, path: Path) -> ModelEntry:
        """Entries are paired across all folders, so a baseline may sit in another folder."""
        return self._paired_entries()[path]

    def namesakes_of(self, path: Path) -> list[Path]:
        """Other model files with this file's stem: the report names models by stem, so two
        would be two rows of one name, and one could be taken for the other's baseline."""
        entries = self._paired_entries()
        return [other for other in entries if other.stem == path.stem and other != path]

    def _paired_entries(self) -> dict[Path, ModelEntry]:
        if self._entries is None:
            paths: list[Path] = []
            for folder in self.state.settings.model_dirs:
                try:
                    paths.extend(find_model_files(folder))
                except DiscoveryError:
                    continue  # reported by that folder's FolderProblem item
            entries = pair_with_baselines(paths, parse=self._parse_name)
            self._entries = {entry.path: entry for entry in entries}
        return self._entries

    def _parse_name(self, path: Path) -> ModelName | None:
        """A conftest hook, else a manifest line, else the seed's naming convention."""
        named = self.state.config.hook.pytest_pruneenergy_parse_name(path=path)
        if named is not None:
            return named
        listed = name_from_manifest(path.stem, path.name, self.state.settings.manifest)
        return listed if listed is not None else parse_model_name(path.stem)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        # tryfirst: -k and -m deselection, which run later, then see the energy items too.
        config = self.state.config
        for folder in self.state.settings.model_dirs:
            collector = ModelFolder.from_parent(
                session, path=folder, nodeid=relative_nodeid(folder, config.rootpath)
            )
            items.extend(session.genitems(collector))
        self._keep_this_shard(items)
        self._largest_families_first(items)
        self._round_by_round(items)
        clashes = duplicated(item.nodeid for item in items if isinstance(item, EnergyItem))
        if clashes:  # one item would stand for two, and one of them would never be measured
            raise pytest.UsageError(
                f"{len(clashes)} energy item id(s) occur twice, e.g. {clashes[0]}; please report "
                "this as a bug of pytest-pruneenergy, with your pytest and pytest-xdist versions"
            )

    def _keep_this_shard(self, items: list[pytest.Item]) -> None:
        """With --prune-shard=I/N, deselect the items of the families dealt to other shards."""
        shard = self.state.settings.shard
        if shard is None:
            return
        energy = [item for item in items if isinstance(item, EnergyItem)]
        dealt = deal_families(_work_by_family(energy), shard.count)
        others = [item for item in energy if dealt[item.stash[ENTRY_KEY].family] != shard.index]
        if others:
            self.state.config.hook.pytest_deselected(items=others)
            unwanted = set(map(id, others))
            items[:] = [item for item in items if id(item) not in unwanted]

    def _largest_families_first(self, items: list[pytest.Item]) -> None:
        """Under --dist loadgroup, the families with the most items first: xdist hands groups
        to workers in the order it meets them, so the longest family starts first and the
        short ones fill in around it (the longest-processing-time rule)."""
        if not groups_families(self.state.config):
            return
        energy = [item for item in items if isinstance(item, EnergyItem)]
        rank = {
            family: index for index, family in enumerate(largest_first(_work_by_family(energy)))
        }
        _sort_energy_items(items, key=lambda item: rank[item.stash[ENTRY_KEY].family])

    def _round_by_round(self, items: list[pytest.Item]) -> None:
        """With several rounds, every item's round 1 first, then round 2...: so that a baseline
        and its pruned models alternate in time, on one worker too (xdist keeps the order)."""
        if self.state.settings.rounds < 2:
            return
        _sort_energy_items(items, key=lambda item: item.stash[ROUND_KEY])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Without xdist, this process collected: the items it must account for."""
        if self.state.is_controller:
            self.state.expect_items(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist controller: every worker collects the same ids; the first tells."""
        ledger = self.state.ledger
        if ledger.expected is not None:
            return
        self.state.expect_items(ids)
        config = self.state.config
        if groups_families(config):
            families = {
                parsed.family for parsed in map(parse_item_id, ids) if parsed and parsed.family
            }
            message = idle_workers_message(worker_count(config.getoption("tx", None)), families)
            if message is not None:
                self.state.say_now(f"WARNING: {message}")

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: a slot, hence a GPU, for each worker it starts."""
        node.workerinput[SLOT_KEY] = self._slots.take()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        """xdist controller: a worker that went down leaves its GPU to its replacement."""
        slot = getattr(node, "workerinput", {}).get(SLOT_KEY)
        if slot is not None:
            self._slots.give_back(slot)


def _sort_energy_items(items: list[pytest.Item], key: Callable[[EnergyItem], Any]) -> None:
    """Sort the energy items among ``items`` by ``key``, stably, in the places energy items
    hold: other tests keep theirs."""
    energy = [item for item in items if isinstance(item, EnergyItem)]
    ordered = iter(sorted(energy, key=key))
    items[:] = [next(ordered) if isinstance(item, EnergyItem) else item for item in items]


def _work_by_family(items: list[EnergyItem]) -> dict[str, float]:
    """Each family's work: its number of items (every item costs about the same)."""
    work: dict[str, float] = {}
    for item in items:
        family = item.stash[ENTRY_KEY].family
        work[family] = work.get(family, 0) + 1
    return work
