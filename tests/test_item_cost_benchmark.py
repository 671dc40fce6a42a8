"""benchmarks/item_cost.py: where an item's seconds go, read from a profile and the runs' CSVs."""

from __future__ import annotations

import json
import marshal
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
OURS = "/venv/site-packages/pytest_pruneenergy/"
RUNTESTPROTOCOL = ("/venv/site-packages/_pytest/runner.py", 123, "runtestprotocol")
PLUGGY = ("/venv/site-packages/pluggy/_callers.py", 76, "_multicall")
TEST_FUNCTION = (OURS + "plugin/collection.py", 78, "_energy_test")
RUN_ITEM = (OURS + "plugin/running.py", 91, "run_item")
MEASURE_ITEM = (OURS + "items/runner.py", 213, "measure_item")
WARM_UP = (OURS + "measure/protocol/warmup.py", 40, "warm_up")
BENCHMARK = (OURS + "plugin/benchmark.py", 60, "record_in_benchmark")
PEDANTIC = ("/venv/site-packages/pytest_benchmark/fixture.py", 150, "pedantic")
PEDANTIC_INSIDE = ("/venv/site-packages/pytest_benchmark/fixture.py", 190, "_raw_pedantic")
JOURNAL = (OURS + "plugin/running.py", 250, "_journal_measurement")
SESSION_FINISH = (OURS + "plugin/ending.py", 48, "pytest_sessionfinish")


@pytest.fixture
def item_cost(monkeypatch: pytest.MonkeyPatch):
    # The scripts import their shared module as ``benchlib``, as when run from benchmarks/.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import item_cost

    return item_cost


def write_profile(path: Path, calls: dict) -> Path:
    """A pstats file as cProfile writes one: ``calls`` maps (caller, callee) to (number of
    calls, cumulative seconds); each function's own seconds are what its callees leave."""
    functions = {function for pair in calls for function in pair if function is not None}
    stats = {}
    for function in functions:
        callers = {
            caller: (count, count, 0.0, seconds)
            for (caller, callee), (count, seconds) in calls.items()
            if callee == function and caller is not None
        }
        count = sum(n for (_caller, callee), (n, _s) in calls.items() if callee == function)
        cumulative = sum(s for (_caller, callee), (_n, s) in calls.items() if callee == function)
        below = sum(s for (caller, _callee), (_n, s) in calls.items() if caller == function)
        stats[function] = (count, count, max(cumulative - below, 0.0), cumulative, callers)
    path.write_bytes(marshal.dumps(stats))
    return path


# Two items: a run_item of 1.75 s each, 1.5 s of it measuring, 0.1 s pytest-benchmark, 2 ms of
# journal (under the 5 ms a row needs), and 0.5 s of pytest around them; 4 s for the report.
TWO_ITEMS = {
    (None, RUNTESTPROTOCOL): (2, 4.0),
    (RUNTESTPROTOCOL, PLUGGY): (2, 3.9),
    (PLUGGY, TEST_FUNCTION): (2, 3.5),
    (TEST_FUNCTION, RUN_ITEM): (2, 3.5),
    (RUN_ITEM, MEASURE_ITEM): (2, 3.0),
    (MEASURE_ITEM, WARM_UP): (2, 1.0),
    (RUN_ITEM, BENCHMARK): (2, 0.2),
    (BENCHMARK, PEDANTIC): (2, 0.19),
    (PEDANTIC, PEDANTIC_INSIDE): (2, 0.18),
    (RUN_ITEM, JOURNAL): (2, 0.004),
    (PLUGGY, SESSION_FINISH): (1, 4.0),
}


def test_an_items_steps_are_its_calls_per_item_with_what_each_leaves_over(item_cost, tmp_path):
    import pstats

    stats = pstats.Stats(str(write_profile(tmp_path / "p.pstats", TWO_ITEMS)))
    root = item_cost.find_function(stats, *item_cost.ITEM_ROOT)
    assert root == RUN_ITEM
    rows = item_cost.step_rows(stats, root, 2, min_seconds_per_item=0.005)
    table = [(row.depth, row.name, row.seconds_per_item) for row in rows]
    assert table == [
        (0, "plugin/running.py:run_item", pytest.approx(1.75)),
        (1, "items/runner.py:measure_item", pytest.approx(1.5)),
        (2, "measure/protocol/warmup.py:warm_up", pytest.approx(0.5)),
        (2, "(the rest)", pytest.approx(1.0)),
        (1, "plugin/benchmark.py:record_in_benchmark", pytest.approx(0.1)),
        # another library's call is a leaf: pedantic's inside is not opened
        (2, "pytest_benchmark/fixture.py:pedantic", pytest.approx(0.095)),
        (2, "(the rest)", pytest.approx(0.005)),
        # the journal's 2 ms an item is below the bar: it is in its caller's rest
        (1, "(the rest)", pytest.approx(0.15)),
    ]
    assert rows[0].calls_per_item == 1 and math.isnan(rows[3].calls_per_item)


def test_a_runs_span_and_its_entries_into_the_plugin_are_told_apart(item_cost, tmp_path):
    import pstats

    stats = pstats.Stats(str(write_profile(tmp_path / "p.pstats", TWO_ITEMS)))
    span = item_cost.run_span(stats)
    assert (span.items, span.item_seconds) == (2, pytest.approx(3.5))
    assert span.pytest_item_seconds == pytest.approx(4.0)
    assert span.end_seconds == pytest.approx(4.0)
    entries = item_cost.entry_rows(stats, 2, min_seconds=0.05)
    # run_item, called from the plugin's own test function, is no entry
    assert [(e.name, e.calls_per_item, e.seconds_per_item) for e in entries] == [
        ("plugin/ending.py:pytest_sessionfinish", 0.5, pytest.approx(2.0)),
        ("plugin/collection.py:_energy_test", 1.0, pytest.approx(1.75)),
    ]


def test_a_profile_without_an_item_is_refused(item_cost, tmp_path):
    import pstats

    stats = pstats.Stats(
        str(write_profile(tmp_path / "p.pstats", {(None, SESSION_FINISH): (1, 1)}))
    )
    with pytest.raises(SystemExit, match="no call of the plugin's run_item"):
        item_cost.run_span(stats)


def results_csv(path: Path, rows: list[tuple]) -> None:
    """A results CSV of the columns the study reads: model, batch size, item, load, warm-up
    and measured seconds, status."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "MODEL_NAME,BATCH_SIZE,Item Seconds,Load Seconds,Warm-up Seconds,Seconds Measured,Status"
    )
    lines = [header] + [",".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_the_rest_is_what_an_item_took_beyond_load_warm_up_and_windows(item_cost, tmp_path):
    results_csv(
        tmp_path / "r.csv",
        [
            ("A", 1, 2.0, 0.1, 0.5, 1.0, "measured"),  # first: rest 0.4
            ("A", 8, 1.6, 0.0, 0.25, 1.15, "measured"),  # later: rest 0.2
            ("B", 8, 1.5, 0.2, 0.5, 0.5, "measured"),  # B's first (its batch 1 failed): 0.3
            ("B", 1, "", "", "", "", "failed"),  # not measured: left out
            ("C", 1, 9.0, "", 0.5, 1.0, "measured"),  # no load recorded: no rest to tell
            ("D", 8, 9.0, 0.0, "", 1.0, "measured"),  # no warm-up recorded: no rest to tell
        ],
    )
    import pandas as pd

    rest = item_cost.rest_by_position(pd.read_csv(tmp_path / "r.csv"), [1, 8])
    assert (rest["items"], rest["left_out"], rest["models"]) == (3, 2, 2)
    assert rest["first_rest_seconds"] == pytest.approx(0.35)
    assert rest["later_rest_seconds"] == pytest.approx(0.2)
    assert rest["rest_seconds"] == pytest.approx(0.3)
    # every mean over the same items: the parts and the rest add up to the item
    parts = ("load_seconds", "warmup_seconds", "measured_seconds", "rest_seconds")
    assert sum(rest[part] for part in parts) == pytest.approx(rest["item_seconds"])


def test_a_run_without_an_item_that_recorded_its_parts_is_refused(item_cost, tmp_path):
    results_csv(tmp_path / "r.csv", [("A", 1, "", "", "", "", "failed")])
    import pandas as pd

    with pytest.raises(SystemExit, match="no measured item recorded its seconds"):
        item_cost.rest_by_position(pd.read_csv(tmp_path / "r.csv"), [1])


def test_run_measures_the_same_items_three_ways_and_render_tells_them(
    item_cost, tmp_path, monkeypatch
):
    import pytest_pruneenergy.models.zoo as zoo

    commands = []

    def fake_run(command, stop_after, **popen):
        # what each pytest call would leave: its results CSV, and the profile where profiled
        commands.append(command)
        folder = Path(popen["cwd"])
        later_rest = {"plain": 0.3, "plain-no-benchmark": 0.2, "profiled": 0.9}[folder.name]
        results_csv(
            folder / "report" / "pruneenergy_results.csv",
            [
                ("A", 1, 2.0, 0.0, 0.5, 1.0, "measured"),
                ("A", 8, 1.5 + later_rest, 0, 0.5, 1, "measured"),
            ],
        )
        if "cProfile" in command:
            write_profile(Path(command[command.index("-o") + 1]), TWO_ITEMS)
        return 0, 1.0

    monkeypatch.setattr(zoo, "build_zoo", lambda folder, **kwargs: Path(folder).mkdir(parents=True))
    monkeypatch.setattr(item_cost, "run_for_at_most", fake_run)
    out = tmp_path / "item-cost-gpu"
    item_cost.main(["run", "--out", str(out), "--batch-sizes", "1,8", "--device", "cpu"])

    plain, bare, profiled = (command[1:] for command in commands)
    assert plain[:2] == ["-m", "pytest"] and "no:benchmark" not in plain
    assert "no:benchmark" in bare and "cProfile" not in bare
    assert profiled[:4] == ["-m", "cProfile", "-o", str(out / "profiled" / "profile.pstats")]
    assert "no:benchmark" in profiled
    assert all("--prune-batch-sizes=1,8" in command for command in commands)
    record = json.loads((out / "run.json").read_text())
    assert list(record["calls"]) == ["plain", "plain-no-benchmark", "profiled"]

    page = tmp_path / "page.md"
    item_cost.main(["render", str(out), "--page", str(page)])
    text = page.read_text()
    answer = next(line for line in text.splitlines() if line.startswith("**Answer.**"))
    # plain: first 0.5 s, later 0.3 s; without pytest-benchmark: 0.5 and 0.2
    assert (
        "an item took 400 ms more: 500 ms at a model's first batch size, 300 ms at its later"
        in answer
    )
    assert (
        "Without pytest-benchmark's timing the same items' rest was 350 ms (500 and 200)" in answer
    )
    assert "| &nbsp;&nbsp;`items/runner.py:measure_item` | 1 | 1500 |" in text
    assert "| `plugin/ending.py:pytest_sessionfinish` | 0.5 | 2000 |" in text


def test_render_names_a_run_that_left_no_results_and_why(item_cost, tmp_path):
    out = tmp_path / "item-cost"
    (out / "plain").mkdir(parents=True)
    calls = {"plain": {"command": ["--prune-batch-sizes=1,8"], "exit_status": 4, "seconds": 1}}
    (out / "run.json").write_text(json.dumps({"commit": "c0ffee", "calls": calls}))
    with pytest.raises(SystemExit, match=r"no results CSV; that pytest call ended with exit st"):
        item_cost.main(["render", str(out), "--page", str(tmp_path / "page.md")])
    assert not (tmp_path / "page.md").exists()
