"""report.html: one self-contained page with findings, a sortable table and the figures; and
``pruneenergy report``, which writes it from a results CSV (ours or the seed tool's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import pytest_pruneenergy.report
from pytest_pruneenergy import cli
from pytest_pruneenergy.items.measurement import ItemFailure
from pytest_pruneenergy.report import html as report_html
from pytest_pruneenergy.report import writer as reporting
from pytest_pruneenergy.report.html import (
    HTML_NAME,
    ReportFindings,
    findings_or_reason,
    render_html,
    write_html_report,
)
from pytest_pruneenergy.report.plots import write_figures
from pytest_pruneenergy.report.reading import ResultsFileError, read_results_csv
from pytest_pruneenergy.report.schema import CSV_NAME, SEED_COLUMNS

ESTIMATE_RED = (0xB2, 0x18, 0x2B)  # report_html's banner colour


def seed_row(model: str, batch_size: int, joules: float, **columns: Any) -> dict[str, Any]:
    """A row in the seed tool's 15 columns; a name by the naming convention."""
    parts = model.split("_")
    baseline = parts[-1] == "UNPRUNED"
    row = {
        "MODEL_NAME": model,
        "BATCH_SIZE": batch_size,
        "Mean Time per Sample (s)": joules / 100,
        "FPS": 100 / joules,
        "STD Time per Sample (s)": 0.0,
        "Mean Energy per Sample (J)": joules,
        "STD Energy per Sample (J)": joules / 10,
        "Parameters": 1000,
        "FLOPs": 4000,
        "GPR": 0 if baseline else float(parts[-2].removeprefix("GPR-")),
        "Architecture": parts[0],
        "Pruning Distribution": "UNPRUNED" if baseline else parts[3],
        "CR (%) measured in Parameters": 0.0 if baseline else 40.0,
        "CR (%) measured in FLOPs": 0.0 if baseline else 50.0,
        "Energy Reduction (%)": 0.0 if baseline else 100 - 100 * joules / 2.0,
    }
    row.update(columns)
    return row


def seed_table() -> pd.DataFrame:
    rows = []
    for batch_size in (1, 8):
        rows += [
            seed_row("AlexNet_CIFAR10_UNPRUNED", batch_size, 2.0),
            seed_row("AlexNet_CIFAR10_random_PD1_GPR-50_PRUNED", batch_size, 1.2),
            seed_row("AlexNet_CIFAR10_random_PD2_GPR-50_PRUNED", batch_size, 1.5),
        ]
    return pd.DataFrame(rows, columns=list(SEED_COLUMNS))


def our_table(*, estimate: bool = False, failed: bool = False) -> pd.DataFrame:
    """Our columns: the seed's rows plus a meter, a CI, and optionally a failed row."""
    table = report_html.normalize_results(seed_table())
    table["CI95 Energy per Sample (J)"] = 0.05
    table["Meter"] = "estimate" if estimate else "nvml-counter"
    table["Meter Is Estimate"] = estimate
    table["Meter Description"] = "estimate: 10 W per busy CPU core" if estimate else "NVML"
    table["Device"] = "cuda:0 (NVIDIA H100 80GB HBM3)"
    if failed:
        failure = {
            "MODEL_NAME": "VGG16_CIFAR10_random_PD3_GPR-50_PRUNED",
            "BATCH_SIZE": 8,
            "Status": "failed",
            "Error": "not a readable model file\nTraceback ...",
        }
        table = pd.concat([table, pd.DataFrame([failure])], ignore_index=True)
    return table


def fake_analysis(found: list[str] | Exception) -> types.ModuleType:
    """A stand-in for the analysis module: ``findings_by_question`` returns ``found`` as one
    question's (or raises it), ``summary`` one sentence, metadata a two-model table."""
    module = types.ModuleType("pytest_pruneenergy.report.analysis")

    def findings_by_question(table: pd.DataFrame, metadata: Any = None, **_: Any) -> list:
        if isinstance(found, Exception):
            raise found
        extra = [f"metadata: {len(metadata)} rows"] if metadata is not None else []
        return [("Which PD?", [*found, *extra])] if found or extra else []

    def read_metadata(path: Any) -> pd.DataFrame:
        names = ["AlexNet_CIFAR10_UNPRUNED.pth", "Other_CIFAR10_UNPRUNED.pth"]
        return pd.DataFrame({"MODEL_NAME": names, "top1": [0.7, 0.8]})

    module.findings_by_question = findings_by_question  # type: ignore[attr-defined]
    module.summary = lambda table: ["In short."]  # type: ignore[attr-defined]
    module.read_metadata = read_metadata  # type: ignore[attr-defined]
    return module


def install_analysis(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType | None) -> None:
    """Put ``module`` where ``from . import analysis`` finds it; None: the import fails."""
    monkeypatch.setitem(sys.modules, "pytest_pruneenergy.report.analysis", module)
    if module is None:
        monkeypatch.delattr(pytest_pruneenergy.report, "analysis", raising=False)
    else:
        monkeypatch.setattr(pytest_pruneenergy.report, "analysis", module, raising=False)


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_figures(our_table(), tmp_path_factory.mktemp("figures"))


def page(table: pd.DataFrame | None = None, **kwargs: Any) -> str:
    defaults: dict[str, Any] = {"figures": [], "findings": []}
    defaults.update(kwargs)
    return render_html(our_table() if table is None else table, **defaults)


# -- the page ----------------------------------------------------------------------------------


def test_report_is_one_file_named_report_html(tmp_path: Path, figures: list[Path]) -> None:
    path = write_html_report(our_table(), tmp_path / "out", figures=figures, findings=[])
    assert path == tmp_path / "out" / HTML_NAME
    assert [p.name for p in path.parent.iterdir()] == [HTML_NAME]


def test_figures_are_embedded_as_base64_png(figures: list[Path]) -> None:
    html = page(figures=figures)
    assert figures
    assert html.count('src="data:image/png;base64,iVBORw0KGgo') == len(figures)


def test_findings_are_listed_in_words() -> None:
    html = page(findings=["PD1 saves the most energy on AlexNet.", "Batch 8 is best."])
    assert "<li>PD1 saves the most energy on AlexNet.</li><li>Batch 8 is best.</li>" in html


def test_findings_note_says_why_there_are_no_findings() -> None:
    html = page(findings_note="Findings could not be computed: KeyError: 'GPR'")
    assert "Findings could not be computed: KeyError: &#x27;GPR&#x27;" in html


def test_table_has_a_row_per_measured_item_and_the_sorting_script() -> None:
    html = page()
    assert html.count("<tr><td>") == len(our_table())
    assert 'id="results"' in html
    assert 'addEventListener("click"' in html


def test_numeric_cells_sort_by_their_number_not_their_text() -> None:
    html = page()
    assert '<td data-sort="2.0">2.000 ± 0.05</td>' in html  # J/sample ± CI sorts by the mean


def test_model_name_with_markup_is_escaped() -> None:
    table = our_table()
    table.loc[0, "MODEL_NAME"] = "<script>alert(1)</script>"
    html = page(table, findings=["<b>bold</b> & co"])
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html


def test_no_estimate_banner_when_every_row_is_measured() -> None:
    assert 'class="banner"' not in page(our_table(estimate=False))


def test_estimate_banner_when_a_row_is_an_estimate() -> None:
    table = our_table(estimate=False)
    table.loc[2, ["Meter", "Meter Is Estimate"]] = ["estimate", True]
    table.loc[2, "Meter Description"] = "estimate: 10 W per busy CPU core"
    html = page(table)
    assert 'class="banner" role="alert">ESTIMATED energy: 1 of 6 rows' in html
    assert "<li>estimate: 10 W per busy CPU core</li>" in html


def test_estimate_banner_reads_the_flag_from_a_csv(tmp_path: Path) -> None:
    our_table(estimate=True).to_csv(tmp_path / "results.csv", index=False)
    assert 'class="banner"' in page(read_results_csv(tmp_path / "results.csv"))


def test_failed_items_are_listed_with_their_reason() -> None:
    html = page(our_table(failed=True))
    assert "<h2>Failed items (1)</h2>" in html
    assert (
        "<li><strong>VGG16_CIFAR10_random_PD3_GPR-50_PRUNED</strong> (batch 8): "
        "not a readable model file<details><summary>details</summary>"
        "<pre>not a readable model file\nTraceback ...</pre></details></li>"
    ) in html
    assert "VGG16_CIFAR10_random_PD3_GPR-50_PRUNED</td>" not in html  # not a table row


def test_page_fetches_nothing_from_the_network(figures: list[Path]) -> None:
    html = page(figures=figures)
    assert "default-src 'none'; img-src data:" in html
    assert "http://" not in html and "https://" not in html


def test_page_without_data_says_so() -> None:
    html = page(our_table().iloc[0:0])
    assert "No item was measured." in html
    assert "No figure: the table has no data to draw." in html


# -- findings ----------------------------------------------------------------------------------


def test_findings_come_from_the_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    install_analysis(monkeypatch, fake_analysis(["PD1 is best."]))
    assert findings_or_reason(our_table()) == ReportFindings(
        ("In short.",), (("Which PD?", ("PD1 is best.",)),), None
    )


def test_metadata_is_read_and_unmatched_rows_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    install_analysis(monkeypatch, fake_analysis(["PD1 is best."]))
    found = findings_or_reason(our_table(), metadata_path="accuracy.csv", metric="top1")
    assert found.sentences == ["PD1 is best.", "metadata: 2 rows"]
    assert found.note == (
        "metadata: 1 of 2 metadata rows name no model in the results (e.g. "
        "Other_CIFAR10_UNPRUNED.pth); 2 of 3 models in the results have no metadata row (e.g. "
        "AlexNet_CIFAR10_random_PD1_GPR-50_PRUNED); models match by file name, extension or not"
    )


def test_missing_analysis_module_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    install_analysis(monkeypatch, None)
    found = findings_or_reason(our_table())
    assert (found.summary, found.sections) == ((), ())
    assert found.note is not None and found.note.startswith("Findings unavailable")


def test_failing_analysis_is_a_note_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    install_analysis(monkeypatch, fake_analysis(KeyError("GPR")))
    assert findings_or_reason(our_table()) == ReportFindings(
        note="Findings could not be computed: KeyError: 'GPR'"
    )


def write_two_metrics(path: Path) -> Path:
    path.write_text(
        "MODEL_NAME,top1,top5\n"
        "AlexNet_CIFAR10_UNPRUNED,0.7,0.9\n"
        "AlexNet_CIFAR10_random_PD1_GPR-50_PRUNED,0.6,0.8\n"
        "AlexNet_CIFAR10_random_PD2_GPR-50_PRUNED,0.65,0.85\n",
        encoding="utf-8",
    )
    return path


def test_two_metrics_and_none_named_cost_the_pareto_findings_only(tmp_path: Path) -> None:
    from pytest_pruneenergy.report.analysis import PARETO_QUESTION

    path = write_two_metrics(tmp_path / "acc.csv")
    without_metadata = findings_or_reason(our_table())
    found = findings_or_reason(our_table(), metadata_path=path)
    assert found.sections and found.sections == without_metadata.sections
    assert found.summary == without_metadata.summary
    assert found.pareto_problem == (
        f"{path} has 2 metric columns (top1, top5) and no metric was named: choose one with "
        "--energy-metric, e.g. --energy-metric top1"
    )
    assert found.note == f"No Pareto findings: {found.pareto_problem}."
    chosen = findings_or_reason(our_table(), metadata_path=path, metric="top5")
    assert chosen.sections[-1][0] == PARETO_QUESTION and chosen.pareto_problem is None


def test_an_unreadable_metadata_file_costs_the_pareto_findings_only(tmp_path: Path) -> None:
    path = tmp_path / "acc.csv"
    path.write_text("model,top1\nA,0.5\n", encoding="utf-8")
    found = findings_or_reason(our_table(), metadata_path=path)
    assert found.sections and found.sections == findings_or_reason(our_table()).sections
    assert found.pareto_problem is not None
    assert found.pareto_problem.startswith(f"{path}: no MODEL_NAME column")


def test_the_summary_comes_first_and_the_findings_under_their_questions() -> None:
    findings = ReportFindings(
        ("Pruning costs energy at low compression.",),
        (("Which PD saves most?", ("PD3 saves most.",)), ("What does batch size do?", ())),
    )
    html = page(findings=findings)
    assert html.index("<h2>Summary</h2>") < html.index("<h2>Findings</h2>")
    assert '<ul class="summary"><li>Pruning costs energy at low compression.</li></ul>' in html
    assert "<h3>Which PD saves most?</h3>" in html
    assert "What does batch size do?" not in html  # a question without findings


# -- reading results CSVs ----------------------------------------------------------------------


def test_seed_csv_reads_into_our_columns_as_measured_rows(tmp_path: Path) -> None:
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    table = read_results_csv(tmp_path / "seed.csv")
    assert list(table.columns[: len(SEED_COLUMNS)]) == list(SEED_COLUMNS)
    assert set(table["Status"]) == {"measured"}
    assert table["CI95 Energy per Sample (J)"].isna().all()


def test_missing_results_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError, match=r"nothing\.csv: no such file"):
        read_results_csv(tmp_path / "nothing.csv")


def test_csv_of_neither_format_names_the_missing_columns(tmp_path: Path) -> None:
    pd.DataFrame({"model": ["a"], "joules": [1.0]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(ResultsFileError, match="missing columns: MODEL_NAME, BATCH_SIZE"):
        read_results_csv(tmp_path / "other.csv")


# -- pruneenergy report ------------------------------------------------------------------------


def test_report_command_on_a_seed_csv_writes_html_and_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install_analysis(monkeypatch, fake_analysis(["PD1 saves the most energy."]))
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    assert cli.main(["report", str(tmp_path / "seed.csv"), "--out", str(tmp_path / "out")]) == 0
    html = (tmp_path / "out" / HTML_NAME).read_text(encoding="utf-8")
    pngs = sorted((tmp_path / "out").glob("*.png"))
    assert len(pngs) >= 4
    assert html.count("data:image/png;base64,") == len(pngs)
    assert "<li>PD1 saves the most energy.</li>" in html
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'out' / HTML_NAME}")


def test_report_command_writes_beside_the_csv_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_analysis(monkeypatch, fake_analysis([]))
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    assert cli.main(["report", str(tmp_path / "seed.csv")]) == 0
    assert (tmp_path / HTML_NAME).is_file()


def test_report_command_renders_when_the_analysis_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    install_analysis(monkeypatch, fake_analysis(ZeroDivisionError("no baseline")))
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    assert cli.main(["report", str(tmp_path / "seed.csv")]) == 0
    assert "ZeroDivisionError: no baseline" in (tmp_path / HTML_NAME).read_text(encoding="utf-8")
    assert "ZeroDivisionError: no baseline" in capsys.readouterr().err


def test_report_command_passes_metadata_and_metric_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_analysis(monkeypatch, fake_analysis([]))
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    (tmp_path / "accuracy.csv").write_text("MODEL_NAME,top1\n", encoding="utf-8")
    arguments = ["--metadata", str(tmp_path / "accuracy.csv"), "--metric", "top1"]
    assert cli.main(["report", str(tmp_path / "seed.csv"), *arguments]) == 0
    assert "<li>metadata: 2 rows</li>" in (tmp_path / HTML_NAME).read_text("utf-8")


def test_report_command_on_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", str(tmp_path / "nothing.csv")]) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("pruneenergy report: error:")
    assert "nothing.csv: no such file" in error


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-joules=-1"], "argument --max-joules: '-1' must be greater than 0"),
        (["--min-fps=nan"], "argument --min-fps: 'nan' is not a finite number"),
        (["--min-fps=0"], "argument --min-fps: '0' must be greater than 0"),
    ],
)
def test_report_command_refuses_a_need_no_batch_size_could_meet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    # Taken before, report.html said "no measured batch size meets <= nan J/sample".
    csv = tmp_path / "results.csv"
    csv.write_text("MODEL_NAME\n")
    assert cli.main(["report", str(csv), *arguments]) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (tmp_path / HTML_NAME).exists()


@pytest.mark.parametrize("form", ["ours", "seed"])
def test_report_command_refuses_a_csv_with_an_item_in_two_rows_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str
) -> None:
    # Taken before, the item counted twice in every ranking, count and figure.
    table = our_table() if form == "ours" else seed_table()
    twice = pd.concat([table, table.iloc[[1]]], ignore_index=True)
    csv = tmp_path / "results.csv"
    twice.to_csv(csv, index=False)
    assert cli.main(["report", str(csv)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "1 item(s) have more than one row (first: AlexNet_CIFAR10_random_PD1_GPR-50" in err
    assert "at batch size 1, 2 rows): one row an item" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.csv"]


def test_report_command_leaves_blank_what_a_hand_edited_row_made_from_no_energy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Taken before, the row kept its energy reduction and kWh with its energy erased, silently.
    table = our_table()
    table.loc[1, "Mean Energy per Sample (J)"] = None
    table.loc[1, "Energy per Million Inferences (kWh)"] = 0.33
    table.to_csv(tmp_path / "results.csv", index=False)
    assert cli.main(["report", str(tmp_path / "results.csv")]) == cli.EXIT_OK
    err = capsys.readouterr().err
    assert "results.csv: 1 row(s) without a number for 'Mean Energy per Sample (J)' (first: " in err
    assert "AlexNet_CIFAR10_random_PD1_GPR-50_PRUNED) held figures made from it" in err
    assert (tmp_path / HTML_NAME).exists()  # every other row reported


def test_report_command_on_a_folder_says_it_wants_the_csv_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["report", str(tmp_path)]) == cli.EXIT_USAGE
    assert f"{tmp_path}: a folder; name its results CSV" in capsys.readouterr().err


def test_report_command_on_a_foreign_csv_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"model": ["a"]}).to_csv(tmp_path / "other.csv", index=False)
    assert cli.main(["report", str(tmp_path / "other.csv")]) == cli.EXIT_USAGE
    assert "neither a pruneenergy nor a PruneEnergyAnalyzer" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        (
            [],
            "has 2 metric columns (top1, top5) and no metric was named: choose one with "
            "--metric, e.g. --metric top1",
        ),
        (
            ["--metric", "top3"],
            "has no metric column 'top3': choose one of its metric columns, top1 or top5, with "
            "--metric",
        ),
    ],
)
def test_report_command_without_a_metric_it_can_use_is_a_usage_error_naming_the_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metric: list[str], message: str
) -> None:
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    path = write_two_metrics(tmp_path / "acc.csv")
    arguments = ["report", str(tmp_path / "seed.csv"), "--metadata", str(path), *metric]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert capsys.readouterr().err == f"pruneenergy report: error: {path} {message}\n"
    assert not (tmp_path / HTML_NAME).exists()


def test_report_command_on_an_unreadable_metadata_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    (tmp_path / "acc.csv").write_text("model,top1\nA,0.5\n", encoding="utf-8")
    arguments = ["report", str(tmp_path / "seed.csv"), "--metadata", str(tmp_path / "acc.csv")]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert f"{tmp_path / 'acc.csv'}: no MODEL_NAME column" in capsys.readouterr().err
    assert not (tmp_path / HTML_NAME).exists()


def test_report_command_on_a_missing_metadata_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_table().to_csv(tmp_path / "seed.csv", index=False)
    arguments = ["report", str(tmp_path / "seed.csv"), "--metadata", str(tmp_path / "acc.csv")]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert "acc.csv: no such metadata file" in capsys.readouterr().err


def test_report_command_reads_the_seeds_runner_csv_and_answers_a_batch_size_need(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = pd.read_csv(Path(__file__).parents[1] / "data" / "seed" / "results.csv")
    alexnet = raw[raw["MODEL_NAME"].str.startswith("AlexNet") & raw["BATCH_SIZE"].isin([1, 64])]
    alexnet.to_csv(tmp_path / "results.csv", index=False)
    arguments = ["report", str(tmp_path / "results.csv"), "--max-joules", "0.1"]
    assert cli.main(arguments) == 0
    out = capsys.readouterr().out
    assert "read as PruneEnergyAnalyzer (9 columns)" in out
    html = (tmp_path / HTML_NAME).read_text(encoding="utf-8")
    assert "<h2>Summary</h2>" in html
    assert "AlexNet_DATASET_UNPRUNED.pth: batch 64 is the smallest measured batch size" in html
    assert "no unpruned model measured" not in html


# -- the plugin's report -----------------------------------------------------------------------


def only_a_failure() -> list[ItemFailure]:
    return [ItemFailure(model="AlexNet_TINY_UNPRUNED", batch_size=1, path="/m.pt", reason="bad")]


def test_plugin_report_writes_report_html_beside_the_csv(tmp_path: Path) -> None:
    outcome = reporting.write_report([], only_a_failure(), tmp_path)
    assert f"HTML report: {tmp_path / HTML_NAME}" in outcome.lines
    assert outcome.not_written == []
    assert "AlexNet_TINY_UNPRUNED" in (tmp_path / HTML_NAME).read_text(encoding="utf-8")


def test_plugin_report_puts_the_metadata_metric_into_the_csv(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text("MODEL_NAME,YOUR_METRIC\nAlexNet_TINY_UNPRUNED,0.5\n")
    advice = reporting.Advice(metadata_path=tmp_path / "meta.csv")
    outcome = reporting.write_report([], only_a_failure(), tmp_path, advice=advice)
    written = pd.read_csv(tmp_path / CSV_NAME)
    assert (written.columns[-1], written["YOUR_METRIC"].tolist()) == ("YOUR_METRIC", [0.5])
    # /m.pt is not the model's file by name: the row keeps the item's own name.
    assert written["MODEL_NAME"].tolist() == ["AlexNet_TINY_UNPRUNED"]
    assert not any(line.startswith("metadata not added") for line in outcome.lines)


def test_plugin_report_warns_that_the_pareto_findings_need_a_metric_named(tmp_path: Path) -> None:
    path = write_two_metrics(tmp_path / "meta.csv")
    advice = reporting.Advice(metadata_path=path)
    outcome = reporting.write_report([], only_a_failure(), tmp_path, advice=advice)
    assert (
        f"WARNING: no Pareto findings in report.html: {path} has 2 metric columns (top1, top5) "
        "and no metric was named: choose one with --energy-metric, e.g. --energy-metric top1"
    ) in outcome.lines
    assert outcome.not_written == []
    assert "No Pareto findings:" in (tmp_path / HTML_NAME).read_text(encoding="utf-8")


def test_plugin_report_survives_a_failing_html_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Path:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(report_html, "write_html_report", broken)
    outcome = reporting.write_report([], only_a_failure(), tmp_path)
    line = "HTML report could not be written: RuntimeError: disk on fire"
    assert line in outcome.lines
    assert outcome.not_written == [line]  # which fails the session
    assert (tmp_path / CSV_NAME).is_file()


# -- in a real browser -------------------------------------------------------------------------


# Set by .ci/run where it has Chromium: there a browser test must run, never skip.
NEED_CHROMIUM = "PRUNEENERGY_TESTS_NEED_CHROMIUM"


def chromium() -> str:
    for candidate in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        found = shutil.which(candidate)
        if found:
            return found
    if os.environ.get(NEED_CHROMIUM):
        pytest.fail(f"no Chromium on PATH, and {NEED_CHROMIUM} says this run needs it")
    pytest.skip("no Chromium on PATH (.ci/run installs it with apt-get)")


def run_chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,1600",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def rendered_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report with an estimate banner, a failed item, findings and figures."""
    table = our_table(estimate=True, failed=True)
    folder = tmp_path_factory.mktemp("report")
    figures = write_figures(table, folder)
    return write_html_report(
        table, folder, figures=figures, findings=["PD1 saves the most energy."]
    )


@pytest.mark.browser
def test_report_renders_in_chromium_as_a_non_blank_page(
    tmp_path: Path, rendered_report: Path
) -> None:
    from PIL import Image

    screenshot = tmp_path / "screenshot.png"
    result = run_chromium(tmp_path, f"--screenshot={screenshot}", rendered_report.as_uri())
    assert screenshot.is_file(), result.stderr
    with Image.open(screenshot) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[:2] == (1600, 1280)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 100  # text, table stripes and figures, not an empty or error page
    assert pixels.std() > 20
    banner = np.all(pixels == ESTIMATE_RED, axis=-1).sum()
    assert banner > 10_000  # the estimate banner is drawn, and large


# Loaded in Chromium, it writes each image's decoded size (or "broken") on the body.
FIGURE_PROBE = """<!DOCTYPE html><html><body>{images}<script>
window.addEventListener("load", () => {{
  const sizes = [...document.images].map(
    (image) => image.complete && image.naturalWidth
      ? `${{image.naturalWidth}}x${{image.naturalHeight}}` : "broken");
  document.body.setAttribute("data-sizes", sizes.join(" "));
}});
</script></body></html>"""


@pytest.mark.browser
def test_every_figure_of_the_report_decodes_in_chromium_at_its_size(tmp_path: Path) -> None:
    """Each figure report.html embeds (all nine: the table carries a metric) is an image the
    browser decodes, at the size of the PNG written beside the page."""
    import base64
    import io
    import re

    from PIL import Image

    from pytest_pruneenergy.report.schema import SEED_METRIC

    from .figure_names import ALL_FIGURES, METRIC_FIGURE

    table = our_table().assign(**{SEED_METRIC: 0.7})
    table.loc[table["MODEL_NAME"].str.contains("_PRUNED"), SEED_METRIC] = 0.6
    figures = write_figures(table, tmp_path / "report")
    assert {path.name for path in figures} == ALL_FIGURES | {METRIC_FIGURE}
    page = write_html_report(table, tmp_path / "report", figures=figures, findings=[])
    sources = re.findall(r'<img src="(data:image/png;base64,[^"]*)"', page.read_text())
    assert len(sources) == len(figures)
    expected = []
    for source in sources:
        with Image.open(io.BytesIO(base64.b64decode(source.partition(",")[2]))) as image:
            expected.append(f"{image.width}x{image.height}")
    assert sorted(expected) == sorted(
        f"{image.width}x{image.height}" for image in map(Image.open, figures)
    )
    probe = tmp_path / "probe.html"
    images = "".join(f'<img src="{source}">' for source in sources)
    probe.write_text(FIGURE_PROBE.format(images=images))
    result = run_chromium(tmp_path, "--dump-dom", "--virtual-time-budget=10000", probe.as_uri())
    [decoded] = re.findall(r'data-sizes="([^"]*)"', result.stdout) or [result.stderr]
    assert decoded.split() == expected


@pytest.mark.browser
def test_sorting_script_runs_in_chromium(tmp_path: Path, rendered_report: Path) -> None:
    result = run_chromium(tmp_path, "--dump-dom", rendered_report.as_uri())
    from pytest_pruneenergy.report.html import _TABLE_HEADERS

    # The script marks every header sortable once it ran without error.
    assert result.stdout.count('aria-sort="none"') == len(_TABLE_HEADERS) == 9, result.stderr
    assert result.stdout.count('title="click to sort"') == len(_TABLE_HEADERS)


SEED_DATA = Path(__file__).resolve().parents[1] / "data" / "seed"


def test_report_csv_turns_the_seeds_runner_file_into_its_notebook_3_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_pruneenergy.report import plots
    from pytest_pruneenergy.report.seed_form import SEED_FORM_COLUMNS

    # The CSV is what is tested here; the grid's figures, most of the command's time, are
    # drawn and tested in test_plots.py.
    monkeypatch.setattr(plots, "write_figures", lambda table, out_dir: [])
    out = tmp_path / "seed16.csv"
    arguments = ["report", str(SEED_DATA / "results.csv"), "--out", str(tmp_path)]
    arguments += ["--metadata", str(SEED_DATA / "metadata.csv"), "--csv", str(out)]
    assert cli.main(arguments) == 0
    assert f"wrote {out} (990 rows in the seed's 16 columns, then ours)" in capsys.readouterr().out
    ours = pd.read_csv(out)
    published = pd.read_csv(SEED_DATA / "results_with_compression_ratios.csv")
    assert tuple(ours.columns[:16]) == SEED_FORM_COLUMNS == tuple(published.columns)
    keys = ["MODEL_NAME", "BATCH_SIZE"]
    both = ours.merge(published, on=keys, suffixes=("", " (published)"), validate="1:1")
    assert len(both) == 990
    for column in ("Mean Energy per Sample (J)", "FLOPs", "GPR", "YOUR_METRIC"):
        assert np.allclose(both[column], both[f"{column} (published)"], rtol=1e-12), column
    # Ours unrounded, the seed's rounded to whole numbers (its notebook 3).
    for column in ("Energy Reduction (%)", "CR (%) measured in FLOPs"):
        gap = (both[column] - both[f"{column} (published)"]).abs()
        assert gap.max() <= 0.5 + 1e-9, column
    # Unpruned rows leave the distribution empty, as notebook 3 does.
    unpruned = both[both["MODEL_NAME"].str.contains("_UNPRUNED")]
    assert unpruned["Pruning Distribution"].isna().all()
    assert unpruned["Pruning Distribution (published)"].isna().all()
    # And it reads back as a results file of ours.
    assert len(read_results_csv(out)) == 990


@pytest.mark.parametrize(
    ("source", "rows", "metric"),
    [
        # The seed's notebook 2 form (its runner's nine columns, the model's four, YOUR_METRIC).
        (SEED_DATA / "prepared_results.csv", 990, True),
        # Notebook 3's own 16-column form: written again, it reads the same.
        (SEED_DATA / "results_with_compression_ratios.csv", 990, True),
        # A results CSV of ours (the GPU demo): no metric, so YOUR_METRIC stays empty.
        (Path(__file__).resolve().parents[2] / "docs/demo-gpu/pruneenergy_results.csv", 42, False),
    ],
)
def test_report_csv_writes_the_seed_form_from_every_form_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: Path, rows: int, metric: bool
) -> None:
    from pytest_pruneenergy.report import plots
    from pytest_pruneenergy.report.schema import SEED_METRIC
    from pytest_pruneenergy.report.seed_form import SEED_FORM_COLUMNS

    monkeypatch.setattr(plots, "write_figures", lambda table, out_dir: [])
    out = tmp_path / "seed16.csv"
    assert cli.main(["report", str(source), "--out", str(tmp_path), "--csv", str(out)]) == 0
    written = pd.read_csv(out)
    read = pd.read_csv(source)
    assert tuple(written.columns[:16]) == SEED_FORM_COLUMNS
    assert len(written) == rows
    both = written.merge(read, on=["MODEL_NAME", "BATCH_SIZE"], suffixes=("", " (read)"))
    assert len(both) == rows
    for column in ("Mean Energy per Sample (J)", "FPS", "FLOPs", "Parameters"):
        assert np.allclose(both[column], both[f"{column} (read)"], rtol=1e-12), column
    if metric:
        assert np.allclose(both[SEED_METRIC], both[f"{SEED_METRIC} (read)"], rtol=1e-12)
    else:
        assert written[SEED_METRIC].isna().all()
    # The reductions are computed again, as notebook 3 computes them, unrounded.
    pruned = both[both["MODEL_NAME"].str.contains("_PRUNED")]
    assert pruned["Energy Reduction (%)"].notna().all()
    assert len(read_results_csv(out)) == rows


def test_the_seed_form_keeps_measured_rows_only_and_the_metric_given() -> None:
    from pytest_pruneenergy.report.schema import SEED_METRIC
    from pytest_pruneenergy.report.seed_form import seed_form

    table = pd.DataFrame(
        {
            "MODEL_NAME": ["A_D_UNPRUNED.pth", "A_D_random_PD1_GPR-10_PRUNED.pth"],
            "BATCH_SIZE": [1, 1],
            "Status": ["measured", "failed"],
            SEED_METRIC: [0.5, 0.4],
        }
    )
    kept = seed_form(table)
    assert list(kept["MODEL_NAME"]) == ["A_D_UNPRUNED.pth"]
    assert kept[SEED_METRIC].tolist() == [0.5]  # the table's own, where none is given
    given = seed_form(table, pd.Series({"A_D_UNPRUNED": 0.9}))
    assert given[SEED_METRIC].tolist() == [0.9]
