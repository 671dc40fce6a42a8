"""The run's last phase, on the controller: items in doubt measured again (rerun.py), then the
report written, the session's gates judged, the run compared and stored (track/run_end.py),
the markdown summary written, and what failed the run counted on pytest's last line.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from typing import Any

import pytest

from ..items.measurement import ItemKey, Measurement, item_label
from ..items.rounds import combine_rounds
from ..settings import numbers_settings
from ..track.gates import (
    INCONCLUSIVE,
    Verdict,
    gate_lines,
    judge_gates,
    table_cells,
)
from ..track.run_end import RunAccount, StoreOutcome, compare_and_save, compare_cells, run_notes
from ..track.thresholds import (
    KINDS,
    SESSION_KINDS,
)
from .categories import EnergyGateWarning, PruneEnergyWarning
from .finish import (
    STEP_SUMMARY_VARIABLE,
    count_on_last_line,
    write_markdown,
)
from .running import Running
from .state import RunState


class Ending:
    """The end-of-run hooks, over the run's shared state (and the running phase, which the
    second look at items in doubt measures with)."""

    def __init__(self, state: RunState, running: Running) -> None:
        self.state = state
        self.running = running

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        state = self.state
        now_rerun: set[ItemKey] = set()
        if state.is_controller and state.measurements:
            # Where every result is (xdist workers' arrive here on their reports).
            from .rerun import measure_in_doubt_again

            now_rerun = measure_in_doubt_again(self.running, session)
        state.cache.clear()
        if state.journal is not None:
            state.journal.close()
        if state.is_controller and (state.measurements or state.failures):
            self._report(session, now_rerun)
        self._close_meters()

    def _report(self, session: pytest.Session, now_rerun: set[ItemKey]) -> None:
        """The report, the gates, the stored run and the markdown summary, each of which may
        fail the run."""
        from ..report.terminal import disturbed_items
        from ..report.writer import Advice, write_report

        state = self.state
        settings = state.settings
        measurements = combine_rounds(state.measurements)
        gates = judge_gates(measurements, state.thresholds)
        missing = state.ledger.missing()
        interrupted = bool(missing) or session.exitstatus == pytest.ExitCode.INTERRUPTED
        account = RunAccount(
            expected_items=len(state.ledger.expected or ()),
            missing=missing,
            interrupted=interrupted,
            resumed_items=state.resumed_count,
            unreadable_journal_lines=state.resumable.unreadable_lines,
        )
        outcome = write_report(
            measurements,
            state.failures,
            settings.report_dir,
            state.config.hook,
            gates=table_cells(gates),
            advice=Advice(
                max_joules=settings.recommend_joules,
                min_fps=settings.recommend_fps,
                metadata_path=settings.metadata_path,
                metric=settings.metric,
            ),
            notes=run_notes(settings.model_dirs, settings.report_dir, account),
            units=settings.deployment_units,
        )
        state.report_lines = outcome.lines
        self._fail_run(session, outcome.not_written)
        disturbed = disturbed_items(outcome.table)
        if disturbed and settings.gates.strict:
            problem = f"{disturbed} energy item(s) measured while disturbed (--energy-strict)"
            state.report_lines.append(f"FAILED: {problem}: the run fails (exit status 1)")
            self._fail_run(session, [problem])
        if missing and session.exitstatus == pytest.ExitCode.OK:
            # Nobody stopped the run, yet items have no result: never a silent pass.
            self._fail_run(session, [f"{len(missing)} energy item(s) produced no result"])
        verdicts = self._finish_gates(session, gates, now_rerun)
        if missing:
            verdicts.append(f"INTERRUPTED: {len(missing)} energy item(s) have no result")
        cells: dict[tuple[str, int], str] = {}
        if settings.uses_store:
            store = self._compare_and_save(session, measurements, interrupted=interrupted)
            verdicts += store.verdicts
            cells = compare_cells(store.comparisons)
        self._write_markdown(session, outcome.table, verdicts, cells)

    def _close_meters(self) -> None:
        for meter in self.state.meters.values():
            try:
                meter.close()
            except Exception as error:  # after the report: a failing close costs no result
                warnings.warn(
                    PruneEnergyWarning(f"closing the {meter.name} meter failed: {error}"),
                    stacklevel=1,
                )

    def _finish_gates(
        self,
        session: pytest.Session,
        gates: dict[ItemKey, tuple[Verdict, ...]],
        now_rerun: set[ItemKey],
    ) -> list[str]:
        """Warn about or fail the gates judged only now (the items judged their own already,
        but for those whose row now shows a rerun); returns the gates' summary lines."""
        strict = self.state.settings.gates.strict
        summary = gate_lines(gates, strict=strict)
        self.state.report_lines += summary
        # With several rounds, no item judged itself: every kind is judged now.
        kinds = SESSION_KINDS if self.state.settings.rounds == 1 else KINDS
        session_verdicts = [
            (key, verdict)
            for key, verdicts in gates.items()
            for verdict in verdicts
            if verdict.threshold.kind in (KINDS if key in now_rerun else kinds)
        ]
        failed = []
        for key, verdict in session_verdicts:
            message = f"{item_label(key)}: {verdict.message}"
            if verdict.fails(strict):
                failed.append(message)
            elif verdict.outcome == INCONCLUSIVE:
                warnings.warn(EnergyGateWarning(message), stacklevel=1)
        if failed:
            self._fail_gates(session, failed)
            self.state.report_lines.append("energy gates failed: the run fails (exit status 1)")
        return summary

    def _fail_gates(self, session: pytest.Session, failed: list[str]) -> None:
        """Gates that fail the run though every item passed; pytest's last line counts them."""
        self.state.session_gate_failures += failed
        _fail_session(session)

    def _fail_run(self, session: pytest.Session, problems: list[str]) -> None:
        """Problems that fail the run though no item failed; pytest's last line counts them."""
        if problems:
            self.state.run_problems += problems
            _fail_session(session)

    def _write_markdown(
        self,
        session: pytest.Session,
        table: Any,
        verdicts: list[str],
        cells: dict[tuple[str, int], str],
    ) -> None:
        """The run's markdown summary, to --energy-markdown and $GITHUB_STEP_SUMMARY."""
        steps_found_line = os.environ.get(STEP_SUMMARY_VARIABLE)
        path = self.state.settings.markdown_path
        if path is None and not steps_found_line:
            return
        from ..report.markdown import markdown_report

        text = markdown_report(table, verdict_lines=verdicts, compare_cells=cells)
        lines, problems = write_markdown(text, path, steps_found_line)
        self.state.report_lines += lines
        self._fail_run(session, problems)

    def _compare_and_save(
        self, session: pytest.Session, measurements: list[Measurement], *, interrupted: bool
    ) -> StoreOutcome:
        state = self.state
        outcome = compare_and_save(
            measurements,
            state.failures,
            state.settings.store_request,
            recorded_settings=numbers_settings(state.settings),
            repository_dir=state.config.rootpath,
            interrupted=interrupted,
        )
        if outcome.save_failure is not None:
            self._fail_run(session, [outcome.save_failure])
        state.report_lines += outcome.lines
        if outcome.gate_failures:  # a broken gate fails the run even when every item passed
            self._fail_gates(session, outcome.gate_failures)
        return outcome

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(
        self, config: pytest.Config, machine_info: dict[str, Any]
    ) -> None:
        """pytest-benchmark's saved runs say which GPU, driver and power limit they ran on."""
        from ..measure.meters import gpu_facts_of

        facts = {device: gpu_facts_of(meter) for device, meter in self.state.meters.items()}
        if facts:
            machine_info["pruneenergy"] = {
                device: {} if gpu is None else dataclasses.asdict(gpu)
                for device, gpu in facts.items()
            }

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        state = self.state
        stats = terminalreporter.stats
        count_on_last_line(
            stats, state.session_gate_failures, "energy gate failed", "energy gates failed"
        )
        count_on_last_line(stats, state.run_problems, "energy run problem", "energy run problems")
        if not state.report_lines:
            return
        terminalreporter.section("pruneenergy")
        for line in state.report_lines:
            terminalreporter.write_line(line)


def _fail_session(session: pytest.Session) -> None:
    """pytest returns ``session.exitstatus`` after pytest_sessionfinish: a run that passed
    fails; a worse status it has (interrupted, an internal error) is kept."""
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
