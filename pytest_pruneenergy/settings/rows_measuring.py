"""The table's rows for what is measured and how: the models, the run, the meter and the
protocol. Their order is the order of pytest's help."""

from __future__ import annotations

from ..items.progress import PROGRESS_INTERVAL_SECONDS
from ..measure.meters import DEFAULT_WATTS_PER_BUSY_CORE, METER_KINDS
from ..measure.protocol import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_TARGET_CI_FRACTION,
    PROTOCOLS,
)
from .option import (
    APPEND,
    LINES,
    OPTIONAL,
    SWITCH,
    VALUE,
    Option,
    folders_value,
    from_text,
    manifest_value,
    report_dir_value,
)
from .parsers import (
    DEFAULT_BATCH_SIZES,
    DEFAULT_REPORT_DIR,
    parse_batch_sizes,
    parse_bool,
    parse_device,
    parse_dtypes,
    parse_meter,
    parse_non_negative_float,
    parse_positive_float,
    parse_positive_int,
    parse_positive_ints,
    parse_protocol,
    parse_runtimes,
    parse_shard,
    parse_target_ci_fraction,
)

MEASURING_ROWS: tuple[Option, ...] = (
    Option(
        key="model_dirs",
        flag="--prune-models",
        kind=APPEND,
        parse=folders_value,
        default=(),
        metavar="DIR",
        help="folder of model files to measure; repeatable",
        ini_help="folders of model files to measure",
    ),
    Option(
        key="batch_sizes",
        flag="--prune-batch-sizes",
        kind=VALUE,
        parse=from_text(parse_batch_sizes),
        default=DEFAULT_BATCH_SIZES,
        metavar="N,N,...",
        help="batch sizes to measure each model at (default: "
        f"{','.join(map(str, DEFAULT_BATCH_SIZES))})",
        ini_help="batch sizes, comma separated",
    ),
    Option(
        key="input_shape",
        changes_numbers=True,
        flag="--prune-input-shape",
        kind=VALUE,
        parse=from_text(parse_positive_ints),
        default=None,
        metavar="C,H,W",
        help="shape of one input sample (default: the shape the model file records, else "
        "3,224,224)",
        ini_help="shape of one input sample, e.g. 3,224,224",
    ),
    Option(
        key="manifest",
        flag=None,
        ini="prune_manifest",
        kind=LINES,
        parse=manifest_value,
        default=(),
        help="",
        ini_help="pairs for files outside the naming convention, one a line: "
        "GLOB -> BASELINE [method=M] [pd=N] [gpr=P] [architecture=A] [dataset=D]",
    ),
    Option(
        key="dtypes",
        flag="--prune-dtypes",
        kind=VALUE,
        parse=from_text(parse_dtypes),
        default=(),
        metavar="DTYPE,...",
        help=(
            "measure every model in each numeric format, model and input cast: float32, "
            "bfloat16, float16 (default: as the file saved it)"
        ),
        ini_help="numeric formats, comma separated",
    ),
    Option(
        key="runtimes",
        flag="--prune-runtimes",
        kind=VALUE,
        parse=from_text(parse_runtimes),
        default=("eager",),
        metavar="RUNTIME,...",
        help=(
            "run every model in each runtime, paired with its baseline in the same one: eager "
            "(default), compile (torch.compile), onnxruntime (exported to ONNX, run by ONNX "
            "Runtime on the CPU); what preparing a runtime costs is reported apart"
        ),
        ini_help="runtimes, comma separated: eager, compile, onnxruntime",
    ),
    Option(
        key="channels_last",
        changes_numbers=True,
        flag="--prune-channels-last",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help="lay model and input out channels-last (the layout tensor cores read fastest)",
        ini_help="channels-last memory layout (true/false)",
    ),
    Option(
        key="device",
        flag="--prune-device",
        kind=VALUE,
        parse=from_text(parse_device),
        default="auto",
        metavar="DEVICE",
        help="auto (default: first CUDA GPU, else cpu), cuda, cuda:N or cpu",
        ini_help="auto, cuda, cuda:N or cpu",
    ),
    Option(
        key="allow_pickle",
        flag="--prune-allow-pickle",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help=(
            "also load whole pickled modules (torch.save(model)); unpickling runs code from the "
            "file, so only for files you trust"
        ),
        ini_help="load whole pickled modules (true/false)",
    ),
    Option(
        key="report_dir",
        flag="--energy-report",
        kind=OPTIONAL,
        parse=report_dir_value,
        default=None,
        const=DEFAULT_REPORT_DIR,
        metavar="DIR",
        help=(
            f"write the CSV and figures to DIR (default: {DEFAULT_REPORT_DIR}/); write it as "
            "--energy-report=DIR so a following test path is not taken for DIR"
        ),
        ini_help="report folder, or true for the default folder",
    ),
    Option(
        key="resume",
        flag="--energy-resume",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help=(
            "continue an interrupted run: reuse the measurements in the journal of the "
            "--energy-report folder made of the same files with the same settings, and measure "
            "only the rest"
        ),
        ini_help="continue from the report folder's journal (true/false)",
    ),
    Option(
        key="shard",
        flag="--prune-shard",
        kind=VALUE,
        parse=from_text(parse_shard),
        default=None,
        metavar="I/N",
        help=(
            "measure only the I-th of N shards of the model families (each family, a baseline "
            "and the models compared with it, stays whole; shards are balanced by their number "
            "of items); pruneenergy merge joins the shards' reports"
        ),
        ini_help="the shard of the model families to measure, I/N",
    ),
    Option(
        key="rounds",
        flag="--energy-rounds",
        kind=VALUE,
        parse=from_text(parse_positive_int),
        default=1,
        metavar="N",
        help=(
            "measure every item N times, in rounds over the whole run, and combine them: the CI "
            "then covers drift between items, which one round's cannot (default: 1)"
        ),
        ini_help="rounds to measure every item in",
    ),
    Option(
        key="progress_seconds",
        flag="--energy-progress-seconds",
        kind=VALUE,
        parse=from_text(parse_non_negative_float),
        default=PROGRESS_INTERVAL_SECONDS,
        metavar="S",
        help=(
            "say how far the run has got (items done, of how many, and the time left at the "
            "pace so far) at most every S seconds; 0: after every item "
            f"(default: {PROGRESS_INTERVAL_SECONDS:g})"
        ),
        ini_help="seconds between the run's progress lines",
    ),
    Option(
        key="meter",
        changes_numbers=True,
        flag="--energy-meter",
        kind=VALUE,
        parse=from_text(parse_meter),
        default="auto",
        metavar="KIND",
        help=(
            f"one of {', '.join(METER_KINDS)} (default: auto, the best meter the device has; an "
            "estimate only where nothing can be measured, and then labelled)"
        ),
        ini_help=f"one of {', '.join(METER_KINDS)}",
    ),
    Option(
        key="max_seconds",
        changes_numbers=True,
        flag="--energy-max-seconds",
        kind=VALUE,
        parse=from_text(parse_positive_float),
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help=f"time cap per item, warm-up included (default: {DEFAULT_MAX_SECONDS:g})",
        ini_help="time cap per item in seconds",
    ),
    Option(
        key="estimate_watts_per_core",
        changes_numbers=True,
        flag="--energy-estimate-watts-per-core",
        kind=VALUE,
        parse=from_text(parse_positive_float),
        default=DEFAULT_WATTS_PER_BUSY_CORE,
        metavar="W",
        help=(
            "watts per busy CPU core assumed by the estimate meter (default: "
            f"{DEFAULT_WATTS_PER_BUSY_CORE:g})"
        ),
        ini_help="watts per busy CPU core for estimates",
    ),
    Option(
        key="protocol",
        changes_numbers=True,
        flag="--energy-protocol",
        kind=VALUE,
        parse=from_text(parse_protocol),
        default="adaptive",
        metavar="NAME",
        help=(
            "adaptive (default: windows aligned to the meter's updates until the CI target or "
            "the time cap) or seed (the seed tool's 20 trials of 100 warm-up and 500 measured "
            "passes, for comparison)"
        ),
        ini_help=f"one of {', '.join(PROTOCOLS)}",
    ),
    Option(
        key="target_ci_fraction",
        changes_numbers=True,
        flag="--energy-target-ci",
        kind=VALUE,
        parse=from_text(parse_target_ci_fraction),
        default=DEFAULT_TARGET_CI_FRACTION,
        metavar="PCT",
        help=(
            "the adaptive protocol stops once the 95 %% confidence half-width of energy per "
            "sample is below PCT %% of the mean, or could not come within twice that by the "
            "time cap (default: "
            f"{100 * DEFAULT_TARGET_CI_FRACTION:g})"
        ),
        ini_help="CI target of the adaptive protocol, in percent",
    ),
    Option(
        key="idle_seconds",
        changes_numbers=True,
        flag="--energy-idle-seconds",
        kind=VALUE,
        parse=from_text(parse_non_negative_float),
        default=3.0,
        metavar="S",
        help=(
            "seconds to measure idle power once per device, for dynamic energy = gross - idle "
            "power x time (default: 3; 0: not measured)"
        ),
        ini_help="seconds to measure idle power; 0: not measured",
    ),
    Option(
        key="cuda_graphs",
        changes_numbers=True,
        flag="--energy-cuda-graphs",
        kind=SWITCH,
        parse=from_text(parse_bool),
        default=False,
        help=(
            "replay each forward pass as one captured CUDA graph: measures launch-bound models "
            "(small ones at small batches) on the GPU rather than the host's launch speed; "
            "results say so in the CSV column 'CUDA Graph'"
        ),
        ini_help="replay forward passes as CUDA graphs (true/false)",
    ),
    Option(
        key="remeasure",
        flag="--energy-remeasure",
        kind=VALUE,
        parse=from_text(parse_bool),
        default=True,
        metavar="true|false",
        help=(
            "measure once more, at the end of the run, each item measured while disturbed or "
            "whose energy contradicts its model's at the neighbouring batch sizes; the row "
            "keeps both (default: true)"
        ),
        ini_help="measure items in doubt once more at the end of the run (true/false)",
    ),
)
