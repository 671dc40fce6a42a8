"""The run's markdown summary: verdicts first, rows with a verdict first, text kept as text."""

from __future__ import annotations

import pandas as pd

from pytest_pruneenergy.report.markdown import MAX_ROWS, markdown_report

from .test_html import our_table

PD1 = "AlexNet_CIFAR10_random_PD1_GPR-50_PRUNED"
PD2 = "AlexNet_CIFAR10_random_PD2_GPR-50_PRUNED"


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| `")]


def test_the_summary_counts_the_items_and_lists_every_verdict():
    text = markdown_report(
        our_table(failed=True),
        verdict_lines=["energy gates: 5 passed, 1 failed, 0 inconclusive", "steps: 0 found"],
    )
    assert text.startswith("### Energy of pruned models\n\n6 items measured, 1 failed.\n")
    assert "- energy gates: 5 passed, 1 failed, 0 inconclusive\n- steps: 0 found\n" in text
    assert len(table_rows(text)) == 6
    assert (
        "| model | bs | J/sample ± CI95 | FPS | p99 ms | energy red. % | FLOPs CR % | gate |"
        in text
    )
    assert (
        "- FAILED `VGG16_CIFAR10_random_PD3_GPR-50_PRUNED` (bs 8): not a readable model file"
        in text
    )


def test_rows_with_a_verdict_come_first():
    table = our_table()
    table["Gate"] = pd.Series([None] * len(table), dtype="object")
    table.loc[(table["MODEL_NAME"] == PD2) & (table["BATCH_SIZE"] == 8), "Gate"] = "fail"
    cells = {
        (PD1, 1, None): "improved -9.0%",
        (PD1, 8, None): "regressed +12.0%",
        (PD2, 1, None): "unchanged +0.1%",
    }
    rows = table_rows(markdown_report(table, compare_cells=cells))
    assert rows[0].startswith(f"| `{PD1}` | 8 | 1.200 ± 0.05 |")
    assert rows[0].endswith("| regressed +12.0% |")
    assert rows[1].startswith(f"| `{PD2}` | 8 |") and "| fail |" in rows[1]
    assert rows[2].startswith(f"| `{PD1}` | 1 |") and rows[2].endswith("| improved -9.0% |")
    assert rows[3].startswith(
        "| `AlexNet_CIFAR10_UNPRUNED` | 1 | 2.000 ± 0.05 | 50.0 |  | 0.0 |"
    )  # p99 unknown: blank


def test_long_tables_are_cut_and_say_where_the_rest_is():
    table = pd.concat([our_table()] * 10, ignore_index=True)
    text = markdown_report(table)
    assert len(table_rows(text)) == MAX_ROWS
    assert f"{len(table) - MAX_ROWS} more rows in the results CSV." in text


def test_names_and_verdicts_cannot_break_the_table_or_become_markup():
    table = our_table()
    table.loc[0, "MODEL_NAME"] = "a|b`<script>"
    text = markdown_report(table, verdict_lines=["<b>x</b> | *y*"])
    assert "| `a/b'<script>` |" in text  # inside backticks markup is text
    assert "- \\<b\\>x\\</b\\> \\| \\*y\\*" in text


def test_estimates_are_flagged():
    text = markdown_report(our_table(estimate=True))
    assert "> **ESTIMATED energy:** 6 of 6 rows were not measured by an energy counter" in text
    assert "ESTIMATED" not in markdown_report(our_table())


def test_the_compare_column_matches_each_row_in_its_own_numeric_format():
    table = our_table()
    table["Dtype"] = "bfloat16"
    cells = {(PD1, 8, "bfloat16"): "regressed +12.0%", (PD1, 8, "float32"): "improved -3.0%"}
    rows = table_rows(markdown_report(table, compare_cells=cells))
    assert rows[0].startswith(f"| `{PD1}` | 8 |") and rows[0].endswith("| regressed +12.0% |")
    assert not any("improved" in row for row in rows)


def test_a_run_without_numeric_formats_fills_the_compare_column_and_puts_regressions_first():
    # The CSV's Dtype is the weights' format (float32) even where no --prune-dtypes was given;
    # the comparison then keys its items without one.
    table = our_table()
    table["Dtype"] = "float32"
    cells = {(PD1, 8, None): "regressed +12.0%", (PD2, 8, None): "regressed +9.0%"}
    rows = table_rows(markdown_report(table, compare_cells=cells))
    assert rows[0].startswith(f"| `{PD1}` | 8 |") and rows[0].endswith("| regressed +12.0% |")
    assert rows[1].startswith(f"| `{PD2}` | 8 |") and rows[1].endswith("| regressed +9.0% |")
