import dataclasses
import re
from pathlib import Path

import pytest

from pytest_pruneenergy.settings import (
    DEFAULT_BATCH_SIZES,
    OPTIONS,
    RawOptions,
    SettingsError,
    numbers_settings,
    parse_device,
    parse_dtypes,
    parse_positive_ints,
    parse_report_dir,
    resolve_settings,
)
from pytest_pruneenergy.settings.option import INI_FROM_FLAG

HERE = Path("/work/run")
INI = Path("/work/project")


def resolve(**raw):
    return resolve_settings(RawOptions(**raw), invocation_dir=HERE, ini_dir=INI)


def test_defaults_are_the_seed_tools():
    settings = resolve()
    assert not settings.enabled
    assert settings.batch_sizes == DEFAULT_BATCH_SIZES == (1, 8, 16, 32, 64)
    assert settings.input_shape is None
    assert (settings.device, settings.meter, settings.allow_pickle) == ("auto", "auto", False)
    assert settings.report_dir is None
    assert (settings.protocol, settings.target_ci_fraction, settings.idle_seconds) == (
        "adaptive",
        0.01,
        3.0,
    )


@pytest.mark.parametrize(
    ("option", "cli", "ini", "value"),
    [
        ("batch_sizes", "2,4", "8", (2, 4)),
        ("meter", "estimate", "nvml", "estimate"),
        ("max_seconds", "3", "9", 3.0),
        ("protocol", "seed", "adaptive", "seed"),
        ("target_ci_fraction", "0.5", "5", 0.005),
        ("idle_seconds", "0", "7", 0.0),
    ],
)
def test_command_line_beats_ini(option, cli, ini, value):
    settings = resolve(**{f"cli_{option}": cli, f"ini_{option}": ini})
    assert getattr(settings, option) == value


def test_measurement_options_from_the_ini_beat_the_defaults():
    settings = resolve(ini_protocol="Seed", ini_target_ci_fraction="2%", ini_idle_seconds="1.5")
    assert (settings.protocol, settings.target_ci_fraction, settings.idle_seconds) == (
        "seed",
        0.02,
        1.5,
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"cli_protocol": "fixed"}, "--energy-protocol: 'fixed' is not one of adaptive, seed"),
        (
            {"ini_target_ci_fraction": "0"},
            "energy_target_ci \\(ini\\): '0' must be a percentage above 0",
        ),
        (
            {"cli_target_ci_fraction": "100"},
            "--energy-target-ci: '100' must be a percentage above 0",
        ),
        ({"cli_target_ci_fraction": "tight"}, "--energy-target-ci: 'tight' is not a number"),
        ({"cli_idle_seconds": "-1"}, "--energy-idle-seconds: '-1' must be 0 or more"),
        (
            {"ini_idle_seconds": "inf"},
            "energy_idle_seconds \\(ini\\): 'inf' is not a finite number",
        ),
    ],
)
def test_bad_measurement_options_say_what_is_wrong(raw, message):
    with pytest.raises(SettingsError, match=message):
        resolve(**raw)


def test_ini_beats_default_and_resolves_paths_at_the_ini_folder():
    settings = resolve(ini_model_dirs=["models"], ini_batch_sizes="16", ini_report_dir="true")
    assert settings.model_dirs == (INI / "models",)
    assert settings.batch_sizes == (16,)
    assert settings.report_dir == INI / "pruneenergy-report"


def test_command_line_paths_resolve_at_the_invocation_folder():
    settings = resolve(cli_model_dirs=["a", "a", "b"], ini_model_dirs=["c"], cli_report_dir="r")
    assert settings.model_dirs == (HERE / "a", HERE / "b")
    assert settings.report_dir == HERE / "r"


def test_cuda_graphs_are_off_unless_asked_for_on_the_command_line_or_in_the_ini():
    assert not resolve().cuda_graphs
    assert resolve(cli_cuda_graphs=True).cuda_graphs
    assert resolve(ini_cuda_graphs="true").cuda_graphs
    assert not resolve(ini_cuda_graphs="false").cuda_graphs
    with pytest.raises(
        SettingsError, match=r"energy_cuda_graphs \(ini\): 'often' is not true or false"
    ):
        resolve(ini_cuda_graphs="often")


def test_allow_pickle_from_ini():
    assert resolve(ini_allow_pickle="true").allow_pickle
    with pytest.raises(
        SettingsError, match=r"prune_allow_pickle \(ini\): 'maybe' is not true or false"
    ):
        resolve(ini_allow_pickle="maybe")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,x", "'x' is not a whole number"),
        ("0,8", "0 must be at least 1"),
        (",", "no values given"),
    ],
)
def test_bad_integer_lists_say_what_is_wrong(text, message):
    with pytest.raises(SettingsError, match=message):
        parse_positive_ints("--prune-batch-sizes", text)


def test_integer_lists_keep_order_and_may_drop_duplicates():
    assert parse_positive_ints("x", " 8, 1,8 ", unique=True) == (8, 1)
    assert parse_positive_ints("x", "3,64,64") == (3, 64, 64)


def test_batch_sizes_are_unique_and_input_shapes_keep_repeats():
    settings = resolve(cli_batch_sizes="8,1,8", cli_input_shape="3,64,64")
    assert settings.batch_sizes == (8, 1)
    assert settings.input_shape == (3, 64, 64)


@pytest.mark.parametrize(
    ("text", "device"), [("auto", "auto"), ("CPU", "cpu"), ("cuda", "cuda:0"), ("cuda:3", "cuda:3")]
)
def test_devices(text, device):
    assert parse_device("--prune-device", text) == device


def test_bad_device_and_meter_and_seconds_are_refused():
    with pytest.raises(SettingsError, match="--prune-device: 'gpu'"):
        parse_device("--prune-device", "gpu")
    with pytest.raises(SettingsError, match="--energy-meter: 'wattmeter' is not one of"):
        resolve(cli_meter="wattmeter")
    with pytest.raises(SettingsError, match="--energy-max-seconds: '-1' must be greater than 0"):
        resolve(cli_max_seconds="-1")


def test_report_dir_ini_values():
    assert parse_report_dir("", INI) is None
    assert parse_report_dir("false", INI) is None
    assert parse_report_dir("out", INI) == INI / "out"


@pytest.mark.parametrize(
    ("option", "field"),
    [
        ("--energy-store", "store_dir"),
        ("--energy-report", "report_dir"),
        ("--energy-markdown", "markdown_path"),
        ("--energy-metadata", "metadata_path"),
    ],
)
def test_an_empty_path_on_the_command_line_is_refused_and_in_the_ini_is_the_default(option, field):
    # "--energy-store=$UNSET" failed pytest with an INTERNALERROR; "--energy-report=" wrote the
    # report into the current folder.
    with pytest.raises(
        SettingsError, match=re.escape(f"{option}: an empty path (an unset variable?)")
    ):
        resolve(**{f"cli_{field}": " "})
    assert getattr(resolve(**{f"ini_{field}": ""}), field) == getattr(resolve(), field)


def test_advice_options_command_line_beats_ini_and_paths_resolve_where_written():
    settings = resolve(
        cli_recommend_joules="0.5",
        ini_recommend_joules="9",
        ini_recommend_fps="100",
        ini_metadata_path="meta.csv",
        cli_metric="top1",
    )
    assert (settings.recommend_joules, settings.recommend_fps) == (0.5, 100.0)
    assert settings.metadata_path == INI / "meta.csv"
    assert settings.metric == "top1"
    assert resolve(cli_metadata_path="m.csv").metadata_path == HERE / "m.csv"
    with pytest.raises(SettingsError, match="--energy-recommend-fps: '-3' must be greater than 0"):
        resolve(cli_recommend_fps="-3")


def test_every_option_is_one_row_and_one_settings_field():
    import dataclasses

    from pytest_pruneenergy.settings import OPTIONS, Settings

    keys = [option.key for option in OPTIONS]
    assert len(set(keys)) == len(keys)
    fields = [field.name for field in dataclasses.fields(Settings)]
    assert set(keys) == set(fields) - {"gate_sources"}
    # Where both exist, the ini name is the flag without dashes: one name to learn.
    assert all(o.ini == o.dest for o in OPTIONS if o.flag and o.ini)


def test_raw_options_take_only_the_tables_names():
    with pytest.raises(TypeError, match="no option value 'cli_nonsense'"):
        RawOptions(cli_nonsense="1")
    with pytest.raises(TypeError, match="no option value 'ini_compare'"):
        RawOptions(ini_compare="latest")  # a command-line-only option


def test_an_error_names_the_ini_option_when_the_value_came_from_the_ini_file():
    with pytest.raises(SettingsError, match=r"^prune_batch_sizes \(ini\): 'x' is not a whole"):
        resolve(ini_batch_sizes="x")
    with pytest.raises(SettingsError, match=r"^--prune-batch-sizes: 'x' is not a whole"):
        resolve(cli_batch_sizes="x", ini_batch_sizes="8")
    with pytest.raises(SettingsError, match=r"^energy_meter \(ini\): 'watts' is not one of"):
        resolve(ini_meter="watts")


def test_an_error_names_the_old_ini_name_a_value_was_read_from():
    with pytest.raises(SettingsError, match=r"^recommend_fps \(ini\): '-3' must be greater"):
        resolve(ini_recommend_fps="-3", ini_old_names={"recommend_fps": "recommend_fps"})
    with pytest.raises(SettingsError, match=r"^min_fps \(ini\): min_fps 'abc' is not a number"):
        resolve(ini_min_fps="abc", ini_old_names={"min_fps": "min_fps"})
    with pytest.raises(
        SettingsError, match=r"^energy_min_fps \(ini\): min_fps 'abc' is not a number"
    ):
        resolve(ini_min_fps="abc")


def test_the_docs_option_table_has_every_option_once_under_its_names():
    import re

    from pytest_pruneenergy.settings import OPTIONS

    usage = (Path(__file__).resolve().parents[1] / "docs" / "usage.md").read_text()
    table = usage[usage.index("| command line | ini |") :].split("\n\n")[0].splitlines()[2:]
    documented = set()
    for row in table:
        cli, ini = row.strip("|").split(" | ")[:2]
        flag = re.match(r"`(--[\w-]+)", cli.strip())
        name = re.match(r"`(\w+)`", ini.strip())
        documented.add((flag[1] if flag else None, name[1] if name else None))
    assert documented == {(option.flag, option.ini) for option in OPTIONS}


def test_step_gate_and_markdown_options():
    settings = resolve(
        cli_step_fail=["joules:3%", "fps:5"],
        ini_step_since=" abc1234 ",
        ini_markdown_path="summary.md",
    )
    assert settings.step_fail == {"joules": 0.03, "fps": 0.05}
    assert settings.step_since == "abc1234"
    assert settings.markdown_path == INI / "summary.md"
    assert resolve(cli_markdown_path="m.md").markdown_path == HERE / "m.md"
    # A step gate reads the store, but stores nothing unless asked, and compares with nothing.
    assert settings.uses_store and not settings.save and settings.compare_run is None
    assert not resolve().uses_store
    # An empty value (a CI variable not set) judges every run.
    assert resolve(cli_step_since="", ini_step_since="abc").step_since is None
    with pytest.raises(
        SettingsError, match="--energy-step-fail: 'watts:5%' is not MEASURE:PERCENT"
    ):
        resolve(cli_step_fail=["watts:5%"])


def test_a_toml_list_for_an_option_read_as_text_says_to_write_it_as_a_string():
    with pytest.raises(SettingsError) as error:
        resolve(ini_batch_sizes=[1, 8])
    assert str(error.value) == (
        "prune_batch_sizes (ini): [1, 8] is a TOML list, but this option is one string: write "
        'prune_batch_sizes = "1,8"'
    )


def test_a_toml_list_for_an_option_of_lines_is_read_as_its_lines():
    assert len(resolve(ini_model_dirs=["a", "b"]).model_dirs) == 2


def test_the_settings_that_change_the_numbers_are_the_rows_flagged_so():
    settings = resolve(cli_input_shape="3,32,32", cli_max_seconds="2")
    numbers = numbers_settings(settings)
    assert numbers.keys() == {option.key for option in OPTIONS if option.changes_numbers}
    # What is measured, not how the numbers are measured: a run of other batch sizes compares.
    assert "batch_sizes" not in numbers and "report_dir" not in numbers
    assert (numbers["input_shape"], numbers["max_seconds"]) == ("3x32x32", 2.0)
    assert numbers_settings(resolve(cli_max_seconds="3"))["max_seconds"] == 3.0


def test_a_bad_shard_option_names_the_option_the_value_and_the_reason():
    from pytest_pruneenergy.settings import parse_shard

    with pytest.raises(SettingsError, match=r"^--prune-shard: '3/2': shard 3 of only 2$"):
        parse_shard("--prune-shard", "3/2")
    with pytest.raises(SettingsError, match=r"^--prune-shard: '2': not I/N \(e\.g\. 2/4"):
        parse_shard("--prune-shard", "2")


def test_numeric_formats_are_read_in_order_by_name_or_tag_and_a_bad_one_is_named():
    assert parse_dtypes("--prune-dtypes", " bf16, float32,bfloat16,") == ("bfloat16", "float32")
    with pytest.raises(
        SettingsError,
        match=r"--prune-dtypes: 'fp8' is not one of float32, bfloat16, float16 \(or fp32, bf16",
    ):
        parse_dtypes("--prune-dtypes", "float32,fp8")
    with pytest.raises(SettingsError, match="--prune-dtypes: no numeric format given"):
        parse_dtypes("--prune-dtypes", " , ")


def test_an_options_ini_name_is_its_flags_unless_the_row_names_one():
    by_key = {option.key: option for option in OPTIONS}
    assert by_key["max_seconds"].ini == "energy_max_seconds"
    assert by_key["manifest"].flag is None and by_key["manifest"].ini == "prune_manifest"
    assert by_key["compare"].ini is None
    row = by_key["max_seconds"]
    with pytest.raises(ValueError, match="option nameless: no flag to take its ini name from"):
        dataclasses.replace(row, key="nameless", flag=None, ini=INI_FROM_FLAG)
