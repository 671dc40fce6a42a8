"""energy_history.html and ``pruneenergy history``: the page from stored runs, in text and in a
real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_pruneenergy import cli
from pytest_pruneenergy.track.history_page import (
    HISTORY_PAGE_NAME,
    render_history_page,
    write_history_page,
)
from pytest_pruneenergy.track.store import load_runs

from ..report.test_html import run_chromium
from .test_history import A100, commit_of, stored_history
from .test_store import MODEL, item, run_dict, write_run

STEP_COLOUR = (0xD5, 0x5E, 0x00)  # the page's step marker
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "history"


def page_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="history-data">(.*?)</script>', html)
    assert found is not None
    return json.loads(found[1])


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A planted +8 % step on an H100 at commit 6, and an A100 without one."""
    folder = tmp_path / "runs"
    stored_history(folder, [1.0] * 6 + [1.08] * 6, seed=1)
    stored_history(folder, [1.5] * 8, seed=2, machine=A100, first_hour=12)
    return folder


# -- the page ----------------------------------------------------------------------------------


def test_the_page_holds_each_machines_series_in_commit_order_and_its_steps(store):
    html = render_history_page(load_runs(store).runs)
    data = page_data(html)
    assert [run["short"] for run in data["runs"]] == [commit_of(n)[:7] for n in range(20)]
    # Machines are numbered in the order their runs first come.
    assert data["machines"][0].startswith("NVIDIA H100") and "NVIDIA A100" in data["machines"][1]
    h100, a100 = sorted(data["series"], key=lambda s: s["machine"])
    assert (len(h100["points"]), len(a100["points"])) == (12, 8)
    [step] = h100["steps"]["joules"]
    assert step[0] == 6  # the run, by position in commit order
    assert step[1] == pytest.approx(0.08, abs=0.01)
    assert a100["steps"] == {"joules": [], "fps": []}
    assert data["first"] == {"model": MODEL, "batch": "8", "metric": "joules"}
    assert "<h2>Steps (2)</h2>" in html  # energy and FPS, one commit
    assert f"<td>{commit_of(6)[:7]}</td>" in html


def test_the_page_fetches_nothing_and_is_one_file(store, tmp_path):
    path = write_history_page(load_runs(store).runs, tmp_path / "out")
    assert [p.name for p in path.parent.iterdir()] == [HISTORY_PAGE_NAME]
    html = path.read_text(encoding="utf-8")
    assert "default-src 'none'" in html
    assert "http://" not in html and "https://" not in html and " src=" not in html


def test_names_cannot_become_markup_or_end_the_script(tmp_path):
    evil = "</script><script>alert(1)</script>&<b>"
    write_run(tmp_path, run_dict(items=[item(model=evil)]))
    html = render_history_page(load_runs(tmp_path).runs, title="<i>t</i>")
    assert "<script>alert(1)" not in html and "<b>" not in html and "<i>t" not in html
    assert page_data(html)["series"][0]["model"] == evil
    assert "&lt;i&gt;t&lt;/i&gt;" in html


def test_a_history_without_steps_says_so_and_estimates_are_flagged(tmp_path):
    estimated = item()
    estimated["meter"] = "estimate"
    write_run(tmp_path, run_dict(items=[estimated, item(batch_size=1)]))
    html = render_history_page(load_runs(tmp_path).runs)
    assert "No step: no series changed its level" in html
    assert 'class="banner" role="alert">ESTIMATED energy: 1 of 2 points' in html
    assert page_data(html)["first"] is None


def test_the_page_shows_only_the_items_asked_for(store):
    write_run(store, run_dict(items=[item(model="VGG11_X_UNPRUNED", batch_size=1)]))
    data = page_data(render_history_page(load_runs(store).runs, model_glob="VGG*"))
    assert {s["model"] for s in data["series"]} == {"VGG11_X_UNPRUNED"}


# -- the command line --------------------------------------------------------------------------


def test_history_html_reads_several_stores_and_prints_the_steps(tmp_path, capsys):
    stored_history(tmp_path / "h100", [1.0] * 6 + [1.08] * 6, seed=1)
    stored_history(tmp_path / "a100", [1.5] * 8, seed=2, machine=A100, first_hour=12)
    out = tmp_path / "out"
    arguments = ["history", "--html", "--out", str(out)]
    code = cli.main(
        [*arguments, "--store", str(tmp_path / "h100"), "--store", str(tmp_path / "a100")]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert f"wrote {out / HISTORY_PAGE_NAME}" in printed
    assert "steps: 2 in 2 series" in printed
    assert f"{MODEL} (bs 8): energy +" in printed and f"from commit {commit_of(6)[:7]}" in printed
    assert len(pd.read_csv(out / "energy_history.csv")) == 20
    assert len(page_data((out / HISTORY_PAGE_NAME).read_text("utf-8"))["series"]) == 2


def test_history_without_html_writes_no_page_and_says_when_nothing_steps(tmp_path, capsys):
    stored_history(tmp_path / "runs", [1.0] * 6)
    assert cli.main(["history", "--store", str(tmp_path / "runs"), "--out", str(tmp_path)]) == 0
    assert "steps: none in 1 series" in capsys.readouterr().out
    assert not (tmp_path / HISTORY_PAGE_NAME).exists()


def test_history_of_stores_that_do_not_exist_is_a_usage_error_naming_them(tmp_path, capsys):
    stored_history(tmp_path / "runs", [1.0] * 6)
    arguments = ["history", "--store", str(tmp_path / "runs"), "--store", str(tmp_path / "a")]
    assert cli.main([*arguments, "--store", str(tmp_path / "b"), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"pruneenergy history: error: --store {tmp_path / 'a'}: no such folder; "
        f"--store {tmp_path / 'b'}: no such folder (a store is the folder "
        "pytest --energy-save wrote runs to, --energy-store, default .pruneenergy/runs)\n"
    )
    assert not (tmp_path / "energy_history.csv").exists()


def test_history_of_stores_that_hold_no_matching_run_says_so(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    arguments = ["history", "--store", str(tmp_path / "a"), "--out", str(tmp_path)]
    assert cli.main(arguments) == cli.EXIT_FAILED
    assert f"no stored runs with matching items in {tmp_path / 'a'}" in capsys.readouterr().err


def flat_then_doubled(store: Path) -> Path:
    """Runs without CIs whose values do not scatter, then double: a step of infinite t."""
    for number, joules in enumerate([1.0, 1.0, 1.0, 2.0, 2.0, 2.0]):
        git = {
            "commit": commit_of(number),
            "dirty": False,
            "branch": "main",
            "commit_time": f"2024-01-01T{number:02d}:00:00+00:00",
        }
        run_id = f"20240101T{number:02d}0000.000000Z-aaaa{number:04d}"
        write_run(store, run_dict(run_id=run_id, items=[item(joules=joules, ci95=None)], git=git))
    return store


def test_a_step_of_infinite_t_is_drawn_and_listed_not_a_crash(tmp_path):
    # JSON has no infinity: the page failed with "Out of range float values".
    html = render_history_page(load_runs(flat_then_doubled(tmp_path / "runs")).runs)
    [series] = page_data(html)["series"]
    [step] = series["steps"]["joules"]
    assert step[0] == 3 and step[4] is None
    assert "<td>∞ / " in html


# -- in a real browser -------------------------------------------------------------------------


@pytest.fixture
def page(store: Path, tmp_path: Path) -> Path:
    return write_history_page(load_runs(store).runs, tmp_path / "page")


@pytest.mark.browser
def test_the_chart_is_drawn_with_its_step_in_chromium(tmp_path, page):
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert 'data-drawn="yes"' in dom.stdout, dom.stderr
    # It opens on the series with a step: one line of 12 runs and one of 8, each with its
    # band, and one step marker.
    assert dom.stdout.count('class="point"') == 20
    assert dom.stdout.count('class="band"') == 2
    assert dom.stdout.count('class="step"') == 1
    assert f"{MODEL} at batch 8: Energy per sample (J)" in dom.stdout


@pytest.mark.browser
def test_a_run_whose_ci_is_unknown_leaves_a_gap_in_the_band_in_chromium(tmp_path):
    # Read as 0 there, the band pinched to the line: a CI of zero that nobody measured.
    folder = tmp_path / "runs"
    stored_history(folder, [1.0] * 5, seed=3)
    third = sorted(folder.glob("*.json"))[2]
    data = json.loads(third.read_text())
    data["items"][0]["joules_per_sample_ci95"] = None
    third.write_text(json.dumps(data))
    html = write_history_page(load_runs(folder).runs, tmp_path / "page")
    dom = run_chromium(tmp_path, "--dump-dom", html.as_uri())
    assert dom.stdout.count('class="point"') == 5, dom.stderr
    bands = re.findall(r'<polygon points="([^"]*)"[^>]*class="band"', dom.stdout)
    assert [len(points.split()) for points in bands] == [4, 4]  # runs 1-2 and 4-5, each 2 x 2


@pytest.mark.browser
def test_a_step_of_infinite_t_is_drawn_in_chromium(tmp_path):
    html = write_history_page(load_runs(flat_then_doubled(tmp_path / "runs")).runs, tmp_path / "p")
    dom = run_chromium(tmp_path, "--dump-dom", html.as_uri())
    assert 'data-drawn="yes"' in dom.stdout, dom.stderr
    assert dom.stdout.count('class="step"') == 1 and "(t ∞ &gt; " in dom.stdout


@pytest.mark.browser
def test_the_chooser_follows_the_address_in_chromium(tmp_path, page):
    uri = f"{page.as_uri()}#model={MODEL}&batch=8&metric=fps"
    dom = run_chromium(tmp_path, "--dump-dom", uri)
    assert f"{MODEL} at batch 8: Frames per second" in dom.stdout, dom.stderr
    assert dom.stdout.count('class="band"') == 0  # FPS has no CI
    assert dom.stdout.count('class="step"') == 1  # FPS fell at the same commit


def screenshot(tmp_path: Path, page: Path) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / "screenshot.png"
    result = run_chromium(tmp_path, f"--screenshot={shot}", page.as_uri())
    assert shot.is_file(), result.stderr
    with Image.open(shot) as image:
        return np.asarray(image.convert("RGB"))


def step_marker_pixels(pixels: np.ndarray) -> int:
    """Checks that the chart is drawn; returns how many pixels have the step marker's colour."""
    assert pixels.shape[:2] == (1600, 1280)
    chart = pixels[150:700, 40:1240]  # below the title and the chooser
    assert chart.std() > 15  # lines, bands, dots and labels, not a blank box
    assert len(np.unique(chart.reshape(-1, 3), axis=0)) > 50
    return int(np.all(chart == STEP_COLOUR, axis=-1).sum())


@pytest.mark.browser
def test_a_screenshot_shows_the_chart_and_its_step_marker(tmp_path, page):
    assert step_marker_pixels(screenshot(tmp_path, page)) > 300  # the dashed step marker


@pytest.mark.browser
def test_a_screenshot_of_a_history_without_a_step_has_no_marker(tmp_path):
    stored_history(tmp_path / "runs", [1.0] * 8, seed=2)
    flat = write_history_page(load_runs(tmp_path / "runs").runs, tmp_path / "page")
    assert step_marker_pixels(screenshot(tmp_path, flat)) == 0


def without_time(html: str) -> str:
    return re.sub(r", written [^<]* UTC", "", html)


def test_the_committed_example_page_is_drawn_from_the_committed_runs(tmp_path):
    runs = load_runs(EXAMPLE / "runs").runs
    assert len({run.git.commit for run in runs}) >= 5
    committed = (EXAMPLE / HISTORY_PAGE_NAME).read_text(encoding="utf-8")
    assert without_time(committed) == without_time(render_history_page(runs))


@pytest.mark.browser
def test_the_committed_example_page_renders_and_marks_its_steps(tmp_path):
    page = EXAMPLE / HISTORY_PAGE_NAME
    # The example plants a heavier model at one commit: the page opens on the step it made.
    assert page_data(page.read_text(encoding="utf-8"))["first"] is not None
    assert step_marker_pixels(screenshot(tmp_path, page)) > 300


def test_each_numeric_format_is_a_choice_of_its_own_on_the_page(tmp_path):
    for hour in range(2):
        items = [item(dtype="float32"), item(joules=0.5, dtype="bfloat16"), item(batch_size=1)]
        write_run(tmp_path, run_dict(f"20240101T0{hour}0000.000000Z-aaaa000{hour}", items))
    data = page_data(render_history_page(load_runs(tmp_path).runs))
    assert sorted(str(one["batch"]) for one in data["series"]) == [
        "1",
        "8 bfloat16",
        "8 float32",
    ]
