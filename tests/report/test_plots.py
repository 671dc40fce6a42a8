"""The figures: which are drawn for which data, and what each one says."""

from __future__ import annotations

import dataclasses
import io
import math
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

from pytest_pruneenergy.items.measurement import ItemFailure, Measurement
from pytest_pruneenergy.report import plots
from pytest_pruneenergy.report.plots import build_figures, pd_legend_label, write_figures
from pytest_pruneenergy.report.schema import write_csv
from pytest_pruneenergy.report.table import build_table, reduction_ci95_or_nan

from ..factories import make_measurement, make_stats
from .figure_names import ALL_FIGURES, METRIC_FIGURE, REDUCTION_FIGURES

CR_FIGURES = ("cr_vs_energy_reduction_flops.png", "cr_vs_energy_reduction_params.png")
BATCH_SIZES = (1, 8, 64)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The seed paper's grid: 3 architectures x 5 PDs x 13 GPRs x 5 batch sizes pruned models.
SEED_ARCHITECTURES = ("AlexNet", "VGG11", "VGG16")
SEED_PDS = (1, 2, 3, 4, 5)
SEED_GPRS = tuple(range(10, 75, 5))
SEED_BATCH_SIZES = (1, 8, 32, 64, 128)


def measurement(
    model: str,
    batch_size: int,
    joules_per_sample: float,
    *,
    macs: int = 400,
    is_estimate: bool = False,
) -> Measurement:
    """Energy with a CI95 of a twentieth of it; FPS and counts that follow energy and MACs."""
    return make_measurement(
        model,
        batch_size,
        meter="estimate" if is_estimate else "rapl",
        meter_is_estimate=is_estimate,
        params=macs * 2,
        macs=macs,
        stats=make_stats(
            joules_per_sample_mean=joules_per_sample,
            joules_per_sample_ci95=joules_per_sample / 20,
            seconds_per_sample_mean=joules_per_sample / 100,
            frames_per_second=100 / joules_per_sample,
        ),
    )


def grid(*, with_baselines: bool = True, is_estimate: bool = False) -> list[Measurement]:
    """AlexNet and VGG11, PD1/PD2/PD4 at two rates, three batch sizes."""
    measured = []
    for architecture, joules in (("AlexNet", 0.1), ("VGG11", 1.0)):
        for batch_size in BATCH_SIZES:
            if with_baselines:
                name = f"{architecture}_CIFAR10_UNPRUNED"
                measured.append(measurement(name, batch_size, joules, is_estimate=is_estimate))
            for pd_number in (1, 2, 4):
                for rate in (30, 60):
                    kept = 1 - rate / 100 * (0.8 + 0.1 * pd_number)
                    measured.append(
                        measurement(
                            f"{architecture}_CIFAR10_random_PD{pd_number}_GPR-{rate}_PRUNED",
                            batch_size,
                            joules * kept,
                            macs=int(400 * kept),
                            is_estimate=is_estimate,
                        )
                    )
    return measured


def seed_grid() -> list[Measurement]:
    """The seed paper's full grid, each architecture's unpruned model included."""
    measured = []
    for architecture, joules in zip(SEED_ARCHITECTURES, (0.1, 1.0, 2.0), strict=True):
        for batch_size in SEED_BATCH_SIZES:
            measured.append(measurement(f"{architecture}_CIFAR10_UNPRUNED", batch_size, joules))
            for pd_number in SEED_PDS:
                for rate in SEED_GPRS:
                    kept = 1 - rate / 100 * (0.6 + 0.08 * pd_number)
                    name = f"{architecture}_CIFAR10_random_PD{pd_number}_GPR-{rate}_PRUNED"
                    measured.append(
                        measurement(name, batch_size, joules * kept, macs=int(400 * kept))
                    )
    return measured


def bending_line() -> list[Measurement]:
    """VGG11 PD1 saving 20, 40, then 30 and 20 % at CRs of 20, 40, 60 and 80 %: it breaks at
    CR 40 %, by far more than the data's CIs."""
    return [
        measurement("VGG11_CIFAR10_UNPRUNED", 8, 1.0),
        measurement("VGG11_CIFAR10_random_PD1_GPR-20_PRUNED", 8, 0.8, macs=320),
        measurement("VGG11_CIFAR10_random_PD1_GPR-40_PRUNED", 8, 0.6, macs=240),
        measurement("VGG11_CIFAR10_random_PD1_GPR-60_PRUNED", 8, 0.7, macs=160),
        measurement("VGG11_CIFAR10_random_PD1_GPR-80_PRUNED", 8, 0.8, macs=80),
    ]


def table_of(measured: list[Measurement], failures: list[ItemFailure] = ()) -> pd.DataFrame:
    return build_table(measured, list(failures))


def legends(figure: Figure) -> list[object]:
    on_axes = [ax.get_legend() for ax in figure.axes if ax.get_legend() is not None]
    return [*figure.legends, *on_axes]


def legend_texts(figure: Figure) -> list[str]:
    return [text.get_text() for legend in legends(figure) for text in legend.get_texts()]


def error_bars(ax: Axes) -> list[ErrorbarContainer]:
    return [item for item in ax.containers if isinstance(item, ErrorbarContainer)]


def breaking_point_markers(ax: Axes) -> list[object]:
    return [line for line in ax.get_lines() if line.get_label() == plots.BREAKING_POINT_LABEL]


def y_label(figure: Figure) -> str:
    """The figure's y label: its own where it has lines of panels, else its first axes's."""
    # Figure.get_supylabel needs matplotlib 3.8; 3.6 is supported.
    own = figure._supylabel
    return own.get_text() if own is not None else figure.axes[0].get_ylabel()


def pd_lines(ax: Axes) -> list[object]:
    return [line for line in ax.get_lines() if re.fullmatch(r"PD\d+", line.get_label())]


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    return build_figures(table_of(grid()))


# The figures each constrained-layout pass ran on while ``written`` wrote the grid's figures.
LAYOUTS: list[object] = []


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The grid's figures written to a folder: the folder, and what write_figures returned;
    every constrained-layout pass meanwhile is counted in ``LAYOUTS``."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    real_execute = ConstrainedLayoutEngine.execute

    def counted(engine, figure):
        LAYOUTS.append(figure)
        return real_execute(engine, figure)

    folder = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ConstrainedLayoutEngine, "execute", counted)
        return folder, write_figures(table_of(grid()), folder)


def test_write_figures_writes_every_figure_as_a_png(written: tuple[Path, list[Path]]) -> None:
    _, pngs = written
    assert {path.name for path in pngs} == ALL_FIGURES
    for path in pngs:
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert path.stat().st_size > 10_000


def test_write_figures_saves_an_svg_of_the_same_figure_beside_every_png(
    written: tuple[Path, list[Path]],
) -> None:
    folder, pngs = written
    svgs = sorted(path.name for path in folder.glob("*.svg"))
    assert svgs == sorted(path.with_suffix(".svg").name for path in pngs)
    for path in pngs:
        assert "<svg" in path.with_suffix(".svg").read_text(encoding="utf-8")[:1000]


def test_each_figure_is_laid_out_once_for_its_png_and_its_svg(
    written: tuple[Path, list[Path]],
) -> None:
    # The constrained layout is most of a figure's drawing time; the SVG takes the PNG's.
    _, pngs = written
    assert len(LAYOUTS) == len(pngs) == len(set(map(id, LAYOUTS)))


def test_write_figures_returns_only_the_pngs(written: tuple[Path, list[Path]]) -> None:
    _, pngs = written
    assert {path.suffix for path in pngs} == {".png"}


def test_svgs_of_figures_without_data_this_run_are_removed(tmp_path: Path) -> None:
    write_figures(table_of(grid()), tmp_path)
    write_figures(table_of(grid(with_baselines=False)), tmp_path)
    svgs = {path.name for path in tmp_path.glob("*.svg")}
    assert svgs == {name.replace(".png", ".svg") for name in ALL_FIGURES - REDUCTION_FIGURES}


def test_every_figure_has_a_title(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        assert figure.get_suptitle(), name


def test_every_axes_has_an_x_label_and_the_first_a_y_label(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        assert all(ax.get_xlabel() for ax in figure.axes), name
        assert y_label(figure), name


def test_energy_axes_state_their_unit(figures: dict[str, Figure]) -> None:
    assert figures["architecture_vs_energy.png"].axes[0].get_ylabel() == "Energy per sample (J)"
    assert figures["batch_size_vs_energy.png"].axes[0].get_ylabel() == "Energy per sample (J)"


def test_every_figure_has_exactly_one_legend(figures: dict[str, Figure]) -> None:
    for name, figure in figures.items():
        assert len(legends(figure)) == 1, name


def test_reduction_figures_have_one_axes_per_architecture_and_batch_size(
    figures: dict[str, Figure],
) -> None:
    # The paper's curves: every architecture at every batch size, smallest batch size first.
    panels = [f"{arch}, batch size {size}" for size in BATCH_SIZES for arch in ("AlexNet", "VGG11")]
    for name in REDUCTION_FIGURES - set(BY_BATCH_SIZE_FIGURES):
        assert [ax.get_title() for ax in figures[name].axes] == panels, name
        assert "batch size" not in figures[name].get_suptitle()
    # Those that draw a line per batch size keep a panel per architecture.
    for name in BY_BATCH_SIZE_FIGURES:
        assert [ax.get_title() for ax in figures[name].axes] == ["AlexNet", "VGG11"]


def test_the_architecture_figure_has_a_panel_per_batch_size(figures: dict[str, Figure]) -> None:
    figure = figures["architecture_vs_energy.png"]
    assert [ax.get_title() for ax in figure.axes] == [f"batch size {s}" for s in BATCH_SIZES]
    for ax in figure.axes:
        assert [tick.get_text() for tick in ax.get_xticklabels()] == ["AlexNet", "VGG11"]


def test_with_one_batch_size_the_figures_title_states_it() -> None:
    one_size = [m for m in grid() if m.batch_size == 8]
    drawn = build_figures(table_of(one_size))
    for name in (*CR_FIGURES, "pd_vs_energy_reduction.png", "architecture_vs_energy.png"):
        assert "batch size 8" in drawn[name].get_suptitle(), name
        assert all("batch size" not in ax.get_title() for ax in drawn[name].axes), name


BY_BATCH_SIZE_FIGURES = ("cr_vs_energy_per_sample.png", "cr_vs_fps.png")


def test_compression_figures_draw_one_line_per_batch_size(figures: dict[str, Figure]) -> None:
    for name in BY_BATCH_SIZE_FIGURES:
        figure = figures[name]
        assert "one line per batch size" in figure.get_suptitle()
        labels = [text.get_text() for text in legends(figure)[0].get_texts()]
        assert [label for label in labels if label.startswith("batch ")] == [
            f"batch {size}" for size in BATCH_SIZES
        ], name
        # Each line starts at the unpruned model, at CR 0.
        for ax in figure.axes:
            lines = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
            assert len(lines) == len(BATCH_SIZES)
            assert all(line.get_xdata()[0] == 0.0 for line in lines)


def test_the_energy_band_says_what_uncertainty_it_draws(figures: dict[str, Figure]) -> None:
    ours = figures["cr_vs_energy_per_sample.png"].axes[0].get_ylabel()
    assert ours == "Energy per sample (J)\nband: 95 % CI"
    # The seed's 15 columns: its trial STD, not a CI.
    results = table_of(grid())
    seed_only = results.iloc[:, :15].assign(
        **{"STD Energy per Sample (J)": 0.1 * results["Mean Energy per Sample (J)"]}
    )
    seed = build_figures(seed_only)["cr_vs_energy_per_sample.png"].axes[0].get_ylabel()
    assert seed == "Energy per sample (J)\nband: one STD of the trials (the CSV has no CI)"
    # Neither: no band, and no claim of one.
    bare = results.iloc[:, :15].assign(**{"STD Energy per Sample (J)": None})
    assert build_figures(bare)["cr_vs_energy_per_sample.png"].axes[0].get_ylabel() == (
        "Energy per sample (J)"
    )


def test_the_energy_and_metric_figure_needs_a_metric() -> None:
    results = table_of(grid())
    assert METRIC_FIGURE not in build_figures(results)
    with_metric = results.assign(top1=[0.9 - 0.001 * index for index in range(len(results))])
    figure = build_figures(with_metric)[METRIC_FIGURE]
    assert figure.get_suptitle() == "Energy and top1 vs GPR, batch size 64"
    left, right = figure.axes[0], figure.axes[-1]
    assert left.get_ylabel() == "Energy per sample (J)"
    assert right.get_ylabel() == "top1"


def test_the_pd_figure_shows_the_mean_with_its_ci_and_every_gpr(figures: dict[str, Figure]) -> None:
    ax = figures["pd_vs_energy_reduction.png"].axes[0]
    assert y_label(figures["pd_vs_energy_reduction.png"]) == (
        "Energy reduction (%)\nmean over GPRs (bars: its 95 % CI); dots: each GPR"
    )
    assert len(ax.collections) >= 2  # the dots of each PD, beside its error bar


def test_cr_figure_legend_names_pd_shapes_and_the_reference_line(
    figures: dict[str, Figure],
) -> None:
    texts = legend_texts(figures["cr_vs_energy_reduction_flops.png"])
    assert "PD2 (bottom-up)" in texts
    assert "reduction = CR" in texts


def test_pd4_legend_names_each_shape_where_architectures_disagree(
    figures: dict[str, Figure],
) -> None:
    texts = legend_texts(figures["cr_vs_energy_reduction_flops.png"])
    assert "PD4 (ends-heavy on AlexNet; middle-heavy on VGG11)" in texts


def test_pd_legend_label_without_a_known_shape() -> None:
    assert pd_legend_label("PD7", {}) == "PD7"


def test_cr_lines_start_at_the_unpruned_origin(figures: dict[str, Figure]) -> None:
    pd1_line = figures["cr_vs_energy_reduction_flops.png"].axes[0].get_lines()[0]
    assert (pd1_line.get_xdata()[0], pd1_line.get_ydata()[0]) == (0.0, 0.0)


def test_cr_points_carry_error_bars_where_the_table_has_cis(figures: dict[str, Figure]) -> None:
    for name in CR_FIGURES:
        for ax in figures[name].axes:
            assert len(error_bars(ax)) == 3, (name, ax.get_title())  # one per PD line


def test_an_error_bar_spans_the_reductions_95_percent_ci(figures: dict[str, Figure]) -> None:
    # AlexNet PD1 at GPR 30 keeps 73 % of the energy; each CI95 is a twentieth of its mean.
    pd1_bars = error_bars(figures["cr_vs_energy_reduction_flops.png"].axes[0])[0]
    _, _, (bar_lines,) = pd1_bars.lines
    (low, high) = bar_lines.get_segments()[0][:, 1]
    expected = reduction_ci95_or_nan(0.1 * 0.73, 0.1 * 0.73 / 20, 0.1, 0.1 / 20)
    assert (high - low) / 2 == pytest.approx(expected)


def test_cr_figures_say_the_bars_are_95_percent_cis(figures: dict[str, Figure]) -> None:
    for name in CR_FIGURES:
        assert "95 % CI" in y_label(figures[name])


def test_a_seed_tool_tables_bars_are_its_trial_std_and_say_so() -> None:
    results = table_of(grid())
    seed_only = results.iloc[:, :15].assign(
        **{"STD Energy per Sample (J)": 0.05 * results["Mean Energy per Sample (J)"]}
    )
    figures = build_figures(seed_only)
    for name in CR_FIGURES:
        assert any(error_bars(ax) for ax in figures[name].axes), name
        assert y_label(figures[name]).endswith("bars: one STD of the trials (the CSV has no CI)")
    # Neither a CI nor a STD: no bars, and no claim of any.
    bare = build_figures(results.iloc[:, :15].assign(**{"STD Energy per Sample (J)": None}))
    for name in CR_FIGURES:
        assert not any(error_bars(ax) for ax in bare[name].axes), name
        assert "bars" not in y_label(bare[name])


def test_a_breaking_point_is_ringed_on_its_line() -> None:
    figures = build_figures(table_of(bending_line()))
    for name in CR_FIGURES:
        (marker,) = breaking_point_markers(figures[name].axes[0])
        assert (list(marker.get_xdata()), list(marker.get_ydata())) == ([40.0], [40.0])
        assert marker.get_markerfacecolor() == "none"


def test_breaking_points_have_one_legend_entry() -> None:
    figure = build_figures(table_of(bending_line()))["cr_vs_energy_reduction_flops.png"]
    assert legend_texts(figure).count("breaking point") == 1


def test_straight_lines_have_no_breaking_point(figures: dict[str, Figure]) -> None:
    for name in CR_FIGURES:
        assert not any(breaking_point_markers(ax) for ax in figures[name].axes)
        assert "breaking point" not in legend_texts(figures[name])


def test_breaking_points_are_those_of_the_figures_batch_size() -> None:
    # At batch size 64 the same models save energy in step with CR: nothing breaks there.
    straight = [
        measurement(item.model, 64, 1.0 - 0.2 * index, macs=400 - 80 * index)
        for index, item in enumerate(bending_line())
    ]
    figure = build_figures(table_of([*bending_line(), *straight]))[
        "cr_vs_energy_reduction_flops.png"
    ]
    at_8, at_64 = figure.axes
    assert at_8.get_title().endswith("batch size 8") and breaking_point_markers(at_8)
    assert at_64.get_title().endswith("batch size 64") and not breaking_point_markers(at_64)


def test_a_single_architecture_title_fits_its_figure() -> None:
    figure = build_figures(table_of(bending_line()))["cr_vs_energy_reduction_params.png"]
    figure.canvas.draw()
    title = figure._suptitle.get_window_extent()
    assert title.x0 >= 0
    assert title.x1 <= figure.bbox.width


def test_batch_size_axis_has_ticks_at_the_measured_sizes(figures: dict[str, Figure]) -> None:
    ax = figures["batch_size_vs_fps.png"].axes[0]
    assert ax.get_xscale() == "log"
    assert list(ax.get_xticks()) == list(BATCH_SIZES)
    assert [label.get_text() for label in ax.get_xticklabels()] == ["1", "8", "64"]


def test_no_title_warns_of_an_estimate_without_one(figures: dict[str, Figure]) -> None:
    assert not any("ESTIMATED" in figure.get_suptitle() for figure in figures.values())


def test_energy_titles_warn_in_red_when_energy_is_estimated() -> None:
    estimated = build_figures(table_of(grid(is_estimate=True)))
    for name in ALL_FIGURES - {"batch_size_vs_fps.png", "cr_vs_fps.png"}:
        title = estimated[name]._suptitle
        assert "(ESTIMATED energy — see meter)" in title.get_text(), name
        assert title.get_color() == plots.ESTIMATE_COLOUR


def test_fps_title_does_not_call_timed_throughput_an_estimate() -> None:
    estimated = build_figures(table_of(grid(is_estimate=True)))
    assert "ESTIMATED" not in estimated["batch_size_vs_fps.png"].get_suptitle()


def test_without_baselines_reduction_figures_are_skipped(tmp_path: Path) -> None:
    written = write_figures(table_of(grid(with_baselines=False)), tmp_path)
    assert {path.name for path in written} == ALL_FIGURES - REDUCTION_FIGURES
    assert sorted(path.name for path in tmp_path.glob("*.png")) == sorted(p.name for p in written)


def test_a_single_model_gets_the_figures_it_has_data_for() -> None:
    single = table_of([measurement("AlexNet_CIFAR10_UNPRUNED", 8, 0.1)])
    assert set(build_figures(single)) == ALL_FIGURES - REDUCTION_FIGURES


def test_an_unparseable_name_is_drawn_under_its_own_name() -> None:
    figure = build_figures(table_of([measurement("my_model", 8, 0.1)]))["batch_size_vs_energy.png"]
    assert legend_texts(figure) == ["my_model", "bars: 95 % CI"]


def test_failed_rows_are_left_out() -> None:
    failure = ItemFailure("VGG16_CIFAR10_UNPRUNED", "/m.pt", 8, "out of memory")
    figure = build_figures(table_of(grid(), [failure]))["architecture_vs_energy.png"]
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == ["AlexNet", "VGG11"]


def test_only_failures_draw_nothing(tmp_path: Path) -> None:
    failure = ItemFailure("AlexNet_CIFAR10_UNPRUNED", "/m.pt", None, "could not load")
    assert write_figures(table_of([], [failure]), tmp_path / "figures") == []


def test_nan_energy_skips_the_energy_figures_but_keeps_fps() -> None:
    nan_energy = table_of([measurement("AlexNet_CIFAR10_UNPRUNED", 8, 0.1)])
    nan_energy["Mean Energy per Sample (J)"] = math.nan
    assert set(build_figures(nan_energy)) == {"batch_size_vs_fps.png"}


def test_a_table_read_back_from_csv_draws_the_same_figures(tmp_path: Path) -> None:
    read = pd.read_csv(write_csv(table_of(grid()), tmp_path / "results.csv"))
    assert set(build_figures(read)) == ALL_FIGURES


def test_a_seed_tool_table_without_our_columns_still_draws() -> None:
    seed_only = table_of(grid()).iloc[:, :15]
    assert set(build_figures(seed_only)) == ALL_FIGURES


def test_datasets_are_told_apart_when_the_table_holds_several() -> None:
    measured = [*grid(), measurement("AlexNet_ImageNet_UNPRUNED", 64, 0.2)]
    figure = build_figures(table_of(measured))["architecture_vs_energy.png"]
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels()]
    assert labels == ["AlexNet / CIFAR10", "AlexNet / ImageNet", "VGG11 / CIFAR10"]


def test_figures_of_an_earlier_run_do_not_survive_a_run_without_data(tmp_path):
    from pytest_pruneenergy.report.plots import FIGURE_FILES, write_figures
    from pytest_pruneenergy.report.table import build_table

    for name in FIGURE_FILES:
        (tmp_path / name).write_bytes(b"old")
    assert write_figures(build_table([], []), tmp_path) == []
    assert not any((tmp_path / name).exists() for name in FIGURE_FILES)


# -- the seed paper's full grid ----------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_grid_table() -> pd.DataFrame:
    table = table_of(seed_grid())
    assert len(table) == 3 * 5 * 13 * 5 + 3 * 5  # and one unpruned model per architecture
    return table


def drawing_seconds(table: pd.DataFrame) -> tuple[float, set[str]]:
    """This process's CPU seconds to build ``table``'s figures and render each as the PNG
    ``write_figures`` saves (in memory: the SVG beside it redraws the same artists), and the
    figures' names."""
    started = time.process_time()
    figures = build_figures(table)
    for figure in figures.values():
        figure.savefig(io.BytesIO(), dpi=plots.DPI, format="png")
    return time.process_time() - started, set(figures)


@pytest.mark.slow
def test_the_seed_grid_costs_at_most_twelve_small_reports_to_draw(
    seed_grid_table: pd.DataFrame,
) -> None:
    # Against a small report drawn in this process just before, not a number of seconds: this
    # process's CPU time moves with the machine and with what shares its cores, and CI's
    # machine is not this one. The grid has far more rows and panels than the small report yet
    # draws in well under 12 of its times; drawing that grows with the rows (a per-row artist,
    # a quadratic lookup) crosses 12.
    small = table_of(bending_line())
    drawing_seconds(small)  # fonts and caches loaded, outside the timing
    small_seconds, _ = drawing_seconds(small)
    grid_seconds, names = drawing_seconds(seed_grid_table)
    assert grid_seconds < 12 * small_seconds, (grid_seconds, small_seconds)
    assert names == ALL_FIGURES


@pytest.fixture(scope="module")
def seed_grid_figures(seed_grid_table: pd.DataFrame) -> dict[str, Figure]:
    return build_figures(seed_grid_table)


def test_every_seed_grid_figure_has_exactly_one_legend(
    seed_grid_figures: dict[str, Figure],
) -> None:
    for name, figure in seed_grid_figures.items():
        assert len(legends(figure)) == 1, name


def test_seed_grid_cr_axes_have_at_most_five_pd_lines(seed_grid_figures: dict[str, Figure]) -> None:
    for name in CR_FIGURES:
        axes = seed_grid_figures[name].axes
        assert [ax.get_title() for ax in axes] == [
            f"{architecture}, batch size {size}"
            for size in SEED_BATCH_SIZES
            for architecture in SEED_ARCHITECTURES
        ]
        assert [len(pd_lines(ax)) for ax in axes] == [5] * len(axes), name


def test_rows_in_two_runtimes_are_drawn_as_curves_of_their_own() -> None:
    eager = [m for m in grid() if m.batch_size == 8]
    compiled = [dataclasses.replace(m, runtime="compile") for m in eager]
    figure = build_figures(table_of([*eager, *compiled]))["cr_vs_energy_reduction_flops.png"]
    titles = [ax.get_title() for ax in figure.axes]
    assert sorted(titles) == [
        "AlexNet · compile",
        "AlexNet · eager",
        "VGG11 · compile",
        "VGG11 · eager",
    ]


def bar_half_heights(ax: Axes) -> list[float]:
    """Each error bar's half height on ``ax``, NaN where the bar is not drawn."""
    heights = []
    for container in error_bars(ax):
        for collection in container.lines[2]:
            for segment in collection.get_segments():  # empty where matplotlib drew none
                drawn = len(segment) == 2
                heights.append(abs(segment[1][1] - segment[0][1]) / 2 if drawn else math.nan)
    return heights


def _energy_figure(name: str, table: pd.DataFrame) -> Figure:
    """One of the two figures with the unpruned models' energy bars, drawn alone."""
    from pytest_pruneenergy.report.plots.batch_size import batch_size_vs
    from pytest_pruneenergy.report.plots.reduction import architecture_vs_energy
    from pytest_pruneenergy.report.plots.style import plottable_rows

    rows = plottable_rows(table)
    if name == "architecture":
        return architecture_vs_energy(rows, estimated=False)
    return batch_size_vs(rows, "Mean Energy per Sample (J)", "Energy per sample (J)", False)


@pytest.mark.parametrize("name", ["batch_size", "architecture"])
def test_the_unpruned_energy_bars_are_the_seeds_std_where_it_has_no_ci_and_none_where_unknown(
    name,
) -> None:
    results = table_of(grid())
    std = 0.05 * results["Mean Energy per Sample (J)"]
    unpruned = results["MODEL_NAME"].str.contains("_UNPRUNED")
    # One unpruned row's STD unknown: it gets no bar, never a bar of zero.
    unknown = results.index[unpruned & (results["BATCH_SIZE"] == 8)][0]
    seed_only = results.iloc[:, :15].assign(
        **{"STD Energy per Sample (J)": std.mask(results.index == unknown)}
    )
    figure = _energy_figure(name, seed_only)
    drawn = [height for ax in figure.axes for height in bar_half_heights(ax)]
    expected = std[unpruned & (results.index != unknown)]
    # Every known STD drawn, and nothing at the unknown one (a bar of zero would be one more).
    assert sorted(h for h in drawn if not math.isnan(h)) == pytest.approx(sorted(expected))
    assert any("one STD of the trials" in text for text in legend_texts(figure))
    # Neither a CI nor a STD: no bar at all, and no words claiming one.
    bare = _energy_figure(name, results.iloc[:, :15].assign(**{"STD Energy per Sample (J)": None}))
    assert all(math.isnan(h) for ax in bare.axes for h in bar_half_heights(ax))
    assert not any("STD" in text or "CI" in text for text in legend_texts(bare))


@pytest.mark.parametrize("name", ["batch_size", "architecture"])
def test_an_uncertainty_known_only_for_pruned_rows_gives_the_unpruned_no_bar_and_no_words(
    name,
) -> None:
    results = table_of(grid())
    unpruned = results["MODEL_NAME"].str.contains("_UNPRUNED")
    # Every unpruned row's CI unknown (each model's yerr is NaN alone), the pruned rows' known.
    table = results.assign(
        **{"CI95 Energy per Sample (J)": results["CI95 Energy per Sample (J)"].mask(unpruned)}
    )
    figure = _energy_figure(name, table)
    assert not [h for ax in figure.axes for h in bar_half_heights(ax) if not math.isnan(h)]
    assert not any("CI" in text for text in legend_texts(figure))


def test_the_history_band_has_a_gap_where_a_runs_ci_is_unknown() -> None:
    from pytest_pruneenergy.report.plots.history import energy_history_figure

    runs = [("r1", "aaaaaaa1", 0.010), ("r2", "aaaaaaa2", None), ("r3", "aaaaaaa3", 0.020)]
    history = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "commit": commit,
                "dirty": False,
                "model": "AlexNet_CIFAR10_UNPRUNED",
                "batch_size": 8,
                "joules_per_sample": 1.0,
                "joules_per_sample_ci95": ci95,
                "status": "measured",
            }
            for run_id, commit, ci95 in runs
        ]
    )
    (band,) = energy_history_figure(history).axes[0].collections
    # The band spans the known CIs and nothing at the unknown one: no width of zero drawn
    # there as if the run were exact.
    heights = [path.vertices[:, 1] for path in band.get_paths()]
    assert min(h.min() for h in heights) == pytest.approx(0.98)
    assert max(h.max() for h in heights) == pytest.approx(1.02)
    xs = {round(x, 6) for path in band.get_paths() for x in path.vertices[:, 0]}
    assert 1.0 not in xs
