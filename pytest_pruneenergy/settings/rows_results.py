"""The table's rows for what a run does with its results: the gates, the run store and its
comparisons, the Markdown summary and the report's advice."""

from __future__ import annotations

from ..report.units import DEFAULT_GRID_GCO2E_PER_KWH, DEFAULT_PUE
from ..track.store import COMPARE_LATEST, DEFAULT_STORE_DIR
from ..track.thresholds import (
    MAX_JOULES,
    MAX_P99_MS,
    MIN_FPS,
    MIN_REDUCTION,
)
from .option import (
    APPEND,
    LINES,
    OPTIONAL,
    SWITCH,
    VALUE,
    Option,
    compare_fail_value,
    from_text,
    path_value,
    rules_value,
)
from .parsers import (
    gate_parser,
    parse_bool,
    parse_non_negative_float,
    parse_positive_float,
    parse_pue,
    parse_text,
)

RESULTS_ROWS: tuple[Option, ...] = (
    Option(
        key="min_reduction",
        flag="--energy-min-reduction",
        kind=VALUE,
        parse=from_text(gate_parser(MIN_REDUCTION)),
        default=None,
        metavar="PCT",
        help=(
            "energy gate: fail a pruned model whose energy reduction against its baseline is "
            "below PCT %% with 95 %% confidence (checked at the end of the session); per model: "
            "ini energy_thresholds"
        ),
        ini_help="energy gate: minimum energy reduction in percent",
    ),
    Option(
        key="max_joules",
        flag="--energy-max-joules",
        kind=VALUE,
        parse=from_text(gate_parser(MAX_JOULES)),
        default=None,
        metavar="J",
        help=(
            "energy gate: fail an item whose energy per sample is above J with 95 %% confidence;"
            " per model: ini energy_thresholds"
        ),
        ini_help="energy gate: maximum joules per sample",
    ),
    Option(
        key="min_fps",
        flag="--energy-min-fps",
        kind=VALUE,
        parse=from_text(gate_parser(MIN_FPS)),
        default=None,
        metavar="N",
        old_flags=("--min-fps",),
        old_ini_names=("min_fps",),
        help=(
            "energy gate: fail an item below N frames per second (FPS has no CI: taken as "
            "exact); per model: ini energy_thresholds"
        ),
        ini_help="energy gate: minimum frames per second",
    ),
    Option(
        key="max_p99_ms",
        flag="--energy-max-p99-ms",
        kind=VALUE,
        parse=from_text(gate_parser(MAX_P99_MS)),
        default=None,
        metavar="MS",
        help=(
            "latency gate: fail an item whose 99th-percentile time per pass of the batch is above"
            " MS milliseconds (no CI: taken as exact; inconclusive where it is unknown); per "
            "model: ini energy_thresholds"
        ),
        ini_help="latency gate: maximum p99 time per pass in milliseconds",
    ),
    Option(
        key="thresholds",
        flag=None,
        ini="energy_thresholds",
        kind=LINES,
        parse=rules_value,
        default=(),
        help="",
        ini_help="energy gates per model, one a line: PATTERN[:bsN]:KIND=VALUE[,KIND=VALUE...]",
    ),
    Option(
        key="strict",
        flag="--energy-strict",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help=(
            "an inconclusive energy gate (its 95 %% CI straddles the threshold) fails instead "
            "of warning"
        ),
        ini_help="inconclusive energy gates fail (true/false)",
    ),
    Option(
        key="store_dir",
        flag="--energy-store",
        kind=VALUE,
        parse=path_value,
        default=lambda ini_dir: ini_dir / DEFAULT_STORE_DIR,
        metavar="DIR",
        help=f"folder of stored runs (default: {DEFAULT_STORE_DIR} beside the ini file)",
        ini_help="folder of stored runs",
    ),
    Option(
        key="save",
        flag="--energy-save",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help="store this run (one new JSON file) in the run store",
        ini_help="store every run in the run store (true/false)",
    ),
    Option(
        key="compare",
        flag="--energy-compare",
        ini=None,
        kind=OPTIONAL,
        parse=from_text(parse_text),
        default=None,
        const=COMPARE_LATEST,
        metavar="RUN",
        help=(
            "compare with a stored run: a run id or a file (default: the latest complete run "
            "from this machine); write it as --energy-compare=RUN"
        ),
    ),
    Option(
        key="compare_fail",
        flag="--energy-compare-fail",
        ini=None,
        kind=APPEND,
        parse=compare_fail_value,
        default={},
        metavar="MEASURE:PCT",
        help=(
            "fail the session when an item regressed beyond PCT against the compared run: "
            "joules:5%%, fps:5%%; repeatable or comma separated; implies --energy-compare"
        ),
    ),
    Option(
        key="step_fail",
        flag="--energy-step-fail",
        ini=None,
        kind=APPEND,
        parse=compare_fail_value,
        default={},
        metavar="MEASURE:PCT",
        help=(
            "fail the session when this run sits on a new level: a step found over the stored "
            "runs of this machine and this one, in commit order, beyond PCT (joules:3%%, "
            "fps:3%%); catches a creep that passes every pairwise gate; repeatable or comma "
            "separated"
        ),
    ),
    Option(
        key="step_since",
        flag="--energy-step-since",
        kind=VALUE,
        parse=from_text(parse_text),
        default=None,
        metavar="COMMIT",
        help=(
            "--energy-step-fail judges the stored runs from the first run of COMMIT (a hash or "
            "its prefix) on: accepts the level of the runs before it"
        ),
        ini_help="commit from whose runs on --energy-step-fail judges",
    ),
    Option(
        key="markdown_path",
        flag="--energy-markdown",
        kind=VALUE,
        parse=path_value,
        default=None,
        metavar="FILE",
        help=(
            "write a markdown summary of the run (key rows, gate, compare and step verdicts) "
            "to FILE; it is also appended to $GITHUB_STEP_SUMMARY where that is set"
        ),
        ini_help="file for the run's markdown summary",
    ),
    Option(
        key="recommend_joules",
        flag="--energy-recommend-joules",
        kind=VALUE,
        parse=from_text(parse_positive_float),
        default=None,
        metavar="J",
        old_flags=("--recommend-joules",),
        old_ini_names=("recommend_joules",),
        help="advice in the report: per model, the smallest batch size at or under J joules per "
        "sample (not a gate)",
        ini_help="joules per sample budget for batch size advice",
    ),
    Option(
        key="recommend_fps",
        flag="--energy-recommend-fps",
        kind=VALUE,
        parse=from_text(parse_positive_float),
        default=None,
        metavar="N",
        old_flags=("--recommend-fps",),
        old_ini_names=("recommend_fps",),
        help="advice in the report: per model, the smallest batch size reaching N FPS",
        ini_help="FPS need for batch size advice",
    ),
    Option(
        key="metadata_path",
        flag="--energy-metadata",
        kind=VALUE,
        parse=path_value,
        default=None,
        metavar="FILE",
        help=(
            "CSV with MODEL_NAME and a metric per model (e.g. accuracy, the seed's "
            "metadata.csv): the report adds the Pareto front of energy and that metric"
        ),
        ini_help="CSV of MODEL_NAME and per-model metrics",
    ),
    Option(
        key="metric",
        flag="--energy-metric",
        kind=VALUE,
        parse=from_text(parse_text),
        default=None,
        metavar="NAME",
        help="which column of --energy-metadata (default: its only metric)",
        ini_help="the metric column of energy_metadata",
    ),
    Option(
        key="grid_gco2e_per_kwh",
        flag="--energy-grid-intensity",
        kind=VALUE,
        parse=from_text(parse_non_negative_float),
        default=DEFAULT_GRID_GCO2E_PER_KWH,
        metavar="G",
        help=(
            "the grid's carbon intensity in gCO2e per kWh, for the CO2e per million inferences "
            f"(default: {DEFAULT_GRID_GCO2E_PER_KWH:g}, the world's in 2023, Ember)"
        ),
        ini_help="gCO2e per kWh of the grid the model would run on",
    ),
    Option(
        key="pue",
        flag="--energy-pue",
        kind=VALUE,
        parse=from_text(parse_pue),
        default=DEFAULT_PUE,
        metavar="P",
        help=(
            "the facility's power usage effectiveness, for CO2e and cost per million inferences "
            f"(default: {DEFAULT_PUE:g}, the average data centre in 2023, Uptime Institute)"
        ),
        ini_help="the facility's PUE (1 or more)",
    ),
    Option(
        key="price_per_kwh",
        flag="--energy-price-per-kwh",
        kind=VALUE,
        parse=from_text(parse_non_negative_float),
        default=None,
        metavar="PRICE",
        help=(
            "the price of a kWh, in any currency, for the cost per million inferences (default: "
            "none, and the cost column stays empty)"
        ),
        ini_help="the price of a kWh, for the cost per million inferences",
    ),
)
