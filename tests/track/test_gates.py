"""Energy gates: rule syntax, where a threshold comes from, and verdicts that respect the CI."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.settings import OPTIONS_BY_KEY, RawOptions, SettingsError, resolve_settings
from pytest_pruneenergy.track.gates import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Verdict,
    gate_lines,
    interval_outcome,
    judge_measurement,
    reduction_with_ci95,
    worst_outcome,
)
from pytest_pruneenergy.track.thresholds import (
    KINDS,
    GateSettings,
    ItemThresholds,
    Threshold,
    ThresholdError,
    parse_marker,
    parse_rule,
    resolve_gates,
)

from ..factories import make_measurement, make_stats

BASELINE = "VGG16_CIFAR10_UNPRUNED"
PD3 = "VGG16_CIFAR10_random_PD3_GPR-50_PRUNED"
PD1 = "VGG16_CIFAR10_random_PD1_GPR-50_PRUNED"
RULE = "VGG16_*_PD3_*:bs32:min_reduction=30"


def measurement(
    model: str = PD3,
    *,
    batch_size: int = 32,
    joules: float = 1.0,
    ci95: float = 0.01,
    fps: float = 100.0,
    p99_seconds: float | None = None,
) -> Measurement:
    """What a gate judges: energy per sample with its CI, FPS and the p99 time per pass."""
    return make_measurement(
        model,
        batch_size,
        stats=make_stats(
            joules_per_sample_mean=joules,
            joules_per_sample_ci95=ci95,
            frames_per_second=fps,
            pass_seconds_p99=p99_seconds,
        ),
    )


def gates(
    *,
    cli: dict[str, str] | None = None,
    rules: tuple[str, ...] = (),
    ini: dict[str, str] | None = None,
    strict: bool = False,
) -> GateSettings:
    return resolve_gates(
        command_line=cli or {},
        rules=rules,
        ini=ini or {},
        strict=strict,
        option_names={kind: str(OPTIONS_BY_KEY[kind].flag) for kind in KINDS},
        ini_names={kind: str(OPTIONS_BY_KEY[kind].ini) for kind in KINDS},
    )


def only(thresholds: ItemThresholds, kind: str) -> Threshold:
    threshold = thresholds.get(kind)
    assert threshold is not None
    return threshold


# -- rule syntax --------------------------------------------------------------------------------


def test_a_rule_has_a_glob_an_optional_batch_size_and_several_thresholds():
    rule = parse_rule("  VGG16_*_PD3_*:bs32:min_reduction=30%,max_joules=0.5 ")
    assert (rule.pattern, rule.batch_size) == ("VGG16_*_PD3_*", 32)
    assert rule.values == (("min_reduction", 30.0), ("max_joules", 0.5))
    assert parse_rule("*:min_fps=200").batch_size is None


def test_a_rule_matches_model_names_by_glob_case_insensitively_and_by_batch_size():
    rule = parse_rule(RULE)
    assert rule.matches(PD3, 32)
    assert rule.matches(PD3.lower(), 32)
    assert not rule.matches(PD3, 8)
    assert not rule.matches(PD1, 32)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("VGG16_*", "expected PATTERN[:bsN]:KIND=VALUE"),
        (":min_reduction=30", "expected PATTERN[:bsN]:KIND=VALUE"),
        ("VGG16_*:32:min_reduction=30", "'32' is not a batch size; write bsN"),
        ("VGG16_*:bs0:min_reduction=30", "'bs0' is not a batch size"),
        ("VGG16_*:min_energy=30", "'min_energy=30' is not KIND=VALUE with KIND one of"),
        ("VGG16_*:min_reduction", "'min_reduction' is not KIND=VALUE"),
        ("VGG16_*:min_reduction=lots", "min_reduction 'lots' is not a number"),
        ("VGG16_*:min_reduction=100", "min_reduction 100 must be below 100"),
        ("VGG16_*:max_joules=0", "max_joules 0 must be greater than 0"),
        ("VGG16_*:min_fps=1,min_fps=2", "min_fps is given twice"),
    ],
)
def test_a_bad_rule_names_its_line_and_what_is_wrong(line, message):
    with pytest.raises(ThresholdError) as raised:
        parse_rule(line)
    assert str(raised.value).startswith(f"energy_thresholds line '{line}': ")
    assert message in str(raised.value)


def test_a_bad_rule_or_option_is_a_settings_error():
    def resolve(**raw: object) -> None:
        resolve_settings(RawOptions(**raw), invocation_dir=Path("/r"), ini_dir=Path("/i"))

    with pytest.raises(SettingsError, match="energy_thresholds line 'VGG16_\\*:bs1'"):
        resolve(ini_thresholds=["VGG16_*:bs1"])
    with pytest.raises(SettingsError, match="--energy-min-fps: min_fps -3 must be greater than 0"):
        resolve(cli_min_fps="-3")
    with pytest.raises(
        SettingsError, match="--energy-max-p99-ms: max_p99_ms 0 must be greater than 0"
    ):
        resolve(cli_max_p99_ms="0")
    with pytest.raises(SettingsError, match="'max_p99=3' is not KIND=VALUE"):
        resolve(ini_thresholds=["VGG16_*:max_p99=3"])
    with pytest.raises(
        SettingsError, match=r"energy_max_joules \(ini\): max_joules 'x' is not a number"
    ):
        resolve(ini_max_joules="x")


def test_settings_carry_the_gates_and_strictness():
    settings = resolve_settings(
        RawOptions(cli_min_reduction="30", ini_thresholds=[RULE, ""], ini_strict="true"),
        invocation_dir=Path("/r"),
        ini_dir=Path("/i"),
    )
    assert settings.gates.command_line == (Threshold("min_reduction", 30.0, "command line"),)
    assert [rule.text for rule in settings.gates.rules] == [RULE]
    assert settings.gates.strict


def test_the_marker_takes_keywords_and_none_switches_a_kind_off():
    assert parse_marker((), {"min_reduction": 30, "max_joules": "0.5", "min_fps": None}) == {
        "min_reduction": 30.0,
        "max_joules": 0.5,
        "min_fps": None,
    }
    with pytest.raises(ThresholdError, match="give thresholds as keywords"):
        parse_marker((30,), {})
    with pytest.raises(ThresholdError, match="'min_joules' is not one of min_reduction"):
        parse_marker((), {"min_joules": 1})
    with pytest.raises(ThresholdError, match="min_fps=True is not a number"):
        parse_marker((), {"min_fps": True})


# -- where a threshold comes from ----------------------------------------------------------------


def test_marker_beats_command_line_beats_ini_rule_beats_ini():
    settings = gates(
        cli={"min_reduction": "20", "max_joules": "2"},
        rules=("VGG16_*:min_reduction=30,max_joules=3,min_fps=40",),
        ini={"min_reduction": "10", "max_joules": "4", "min_fps": "50"},
    )
    thresholds = settings.for_item(PD3, 32, {"min_reduction": 25.0})
    assert only(thresholds, "min_reduction") == Threshold("min_reduction", 25.0, "marker")
    assert only(thresholds, "max_joules") == Threshold("max_joules", 2.0, "command line")
    assert (
        only(thresholds, "min_fps").source
        == "ini rule 'VGG16_*:min_reduction=30,max_joules=3,min_fps=40'"
    )
    assert only(settings.for_item("AlexNet_X_UNPRUNED", 32), "min_fps") == Threshold(
        "min_fps", 50.0, "ini"
    )


def test_without_any_threshold_an_item_has_none():
    assert not GateSettings().for_item(PD3, 32)


def test_the_first_matching_rule_that_sets_a_kind_wins_for_that_kind():
    settings = gates(
        rules=(
            "VGG16_*_PD3_*:bs32:min_reduction=30",
            "VGG16_*:min_reduction=10,min_fps=5",
            "*:min_fps=99",
        )
    )
    thresholds = settings.for_item(PD3, 32)
    assert only(thresholds, "min_reduction").value == 30.0
    assert only(thresholds, "min_fps").value == 5.0  # the first line sets no min_fps
    assert only(settings.for_item(PD3, 8), "min_reduction").value == 10.0


def test_a_marker_set_to_none_removes_a_threshold_given_elsewhere():
    settings = gates(cli={"min_fps": "10"})
    assert settings.for_item(PD3, 32, {"min_fps": None}).get("min_fps") is None


def test_item_thresholds_survive_the_trip_on_a_report():
    thresholds = gates(rules=(RULE,), cli={"min_fps": "3"}).for_item(PD3, 32)
    assert ItemThresholds.from_dict(thresholds.to_dict()) == thresholds


# -- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "low", "high", "outcome"),
    [
        ("min_reduction", 30.0, 35.0, PASS),  # meeting the minimum exactly meets it
        ("min_reduction", 25.0, 29.9, FAIL),
        ("min_reduction", 25.0, 30.0, INCONCLUSIVE),
        ("max_joules", 0.8, 1.0, PASS),
        ("max_joules", 1.1, 1.2, FAIL),
        ("max_joules", 0.9, 1.1, INCONCLUSIVE),
        ("min_fps", math.nan, math.nan, INCONCLUSIVE),
    ],
)
def test_only_a_ci_wholly_on_one_side_decides(kind, low, high, outcome):
    threshold = Threshold(kind, 30.0 if kind == "min_reduction" else 1.0, "ini")
    assert interval_outcome(low, high, threshold) == outcome


def test_the_reduction_ci_combines_both_cis_to_first_order():
    reduction, half_width = reduction_with_ci95(0.5, 0.01, 1.0, 0.02)
    assert reduction == pytest.approx(50.0)
    # 100 * (Ep / Eb) * sqrt((ci_p / Ep)^2 + (ci_b / Eb)^2) = 50 * sqrt(0.02^2 + 0.02^2)
    assert half_width == pytest.approx(50 * math.sqrt(0.02**2 + 0.02**2))
    assert reduction_with_ci95(0.0, 0.01, 1.0, 0.02) == pytest.approx((100.0, 1.0))
    assert all(math.isnan(value) for value in reduction_with_ci95(0.5, 0.01, 0.0, 0.0))


def test_a_failed_reduction_says_value_ci_threshold_and_rule():
    rule_threshold = gates(rules=(RULE,)).for_item(PD3, 32)
    pruned = measurement(joules=0.759, ci95=0.012)
    baseline = measurement(BASELINE, joules=1.0, ci95=0.0)
    (verdict,) = judge_measurement(pruned, rule_threshold, baseline=baseline)
    assert verdict.outcome == FAIL
    assert verdict.message == (
        "energy reduction 24.1 % (95 % CI 22.9 to 25.3) is below min_reduction=30 set by "
        f"ini rule '{RULE}'"
    )


def test_a_reduction_whose_ci_straddles_the_threshold_is_inconclusive():
    thresholds = gates(cli={"min_reduction": "30"}).for_item(PD3, 32)
    pruned = measurement(joules=0.70, ci95=0.02)
    (verdict,) = judge_measurement(pruned, thresholds, baseline=measurement(BASELINE, ci95=0.02))
    assert verdict.outcome == INCONCLUSIVE
    assert "is inconclusive against min_reduction=30 set by command line" in verdict.message
    assert "the CI straddles the threshold" in verdict.message
    assert not verdict.fails(strict=False)
    assert verdict.fails(strict=True)


def test_a_reduction_without_a_baseline_is_inconclusive_and_a_baseline_has_none():
    thresholds = gates(cli={"min_reduction": "30"}).for_item(PD3, 32)
    (verdict,) = judge_measurement(measurement(), thresholds)
    assert verdict.outcome == INCONCLUSIVE
    assert "no baseline was measured at batch size 32" in verdict.message
    assert judge_measurement(measurement(BASELINE), thresholds) == ()


def test_energy_per_sample_is_judged_with_its_ci():
    thresholds = gates(cli={"max_joules": "1.0"}).for_item(PD3, 32)

    def outcome(joules: float, ci95: float) -> str:
        (verdict,) = judge_measurement(measurement(joules=joules, ci95=ci95), thresholds)
        return verdict.outcome

    assert outcome(0.95, 0.04) == PASS
    assert outcome(1.05, 0.04) == FAIL
    assert outcome(0.99, 0.04) == INCONCLUSIVE
    assert outcome(0.5, math.nan) == INCONCLUSIVE  # no CI: it could be anywhere


def test_fps_has_no_ci_and_is_taken_as_exact():
    thresholds = gates(cli={"min_fps": "100"}).for_item(PD3, 32)
    (passed,) = judge_measurement(measurement(fps=100.0), thresholds)
    (failed,) = judge_measurement(measurement(fps=99.9), thresholds)
    assert (passed.outcome, failed.outcome) == (PASS, FAIL)
    assert failed.message == (
        "FPS 99.9 (no CI: taken as exact) is below min_fps=100 set by command line"
    )


def test_p99_latency_is_taken_as_exact_and_an_unknown_one_is_inconclusive():
    thresholds = gates(rules=("VGG16_*:bs32:max_p99_ms=5",)).for_item(PD3, 32)
    (passed,) = judge_measurement(measurement(p99_seconds=0.005), thresholds)
    (failed,) = judge_measurement(measurement(p99_seconds=0.0051), thresholds)
    (unknown,) = judge_measurement(measurement(p99_seconds=None), thresholds)
    assert (passed.outcome, failed.outcome, unknown.outcome) == (PASS, FAIL, INCONCLUSIVE)
    assert failed.message == (
        "p99 latency 5.1 ms per pass (no CI: taken as exact) is above max_p99_ms=5 set by "
        "ini rule 'VGG16_*:bs32:max_p99_ms=5'"
    )
    assert unknown.message.startswith("p99 latency unknown (")
    assert not unknown.fails(strict=False) and unknown.fails(strict=True)


def test_a_p99_gate_on_a_disturbed_item_is_inconclusive():
    thresholds = gates(cli={"max_p99_ms": "5"}).for_item(PD3, 32)
    disturbed = dataclasses.replace(
        measurement(p99_seconds=0.001), disturbances=("another process on the GPU",)
    )
    (verdict,) = judge_measurement(disturbed, thresholds)
    assert verdict.outcome == INCONCLUSIVE
    assert "measured while disturbed" in verdict.message


def test_kinds_limit_which_thresholds_are_judged():
    thresholds = gates(cli={"min_fps": "1", "min_reduction": "30"}).for_item(PD3, 32)
    verdicts = judge_measurement(measurement(), thresholds, kinds=("min_fps",))
    assert [verdict.threshold.kind for verdict in verdicts] == ["min_fps"]


def test_the_worst_outcome_and_the_summary_lines():
    threshold = Threshold("min_reduction", 30.0, "command line")
    passed = Verdict(threshold, PASS, "ok")
    unsure = Verdict(threshold, INCONCLUSIVE, "unsure")
    failed = Verdict(threshold, FAIL, "too little")
    assert worst_outcome([passed, unsure]) == INCONCLUSIVE
    assert worst_outcome([unsure, failed, passed]) == FAIL
    assert worst_outcome([]) is None
    lines = gate_lines(
        {(PD3, 32, None): [passed, failed], (PD1, 8, "bfloat16"): [unsure]}, strict=False
    )
    assert lines == [
        "energy gates: 1 passed, 1 failed, 1 inconclusive",
        f"gate inconclusive {PD1} (bs 8, bfloat16): unsure",
        f"GATE FAILED {PD3} (bs 32): too little",
    ]
    strict = gate_lines({(PD1, 8, None): [unsure]}, strict=True)
    assert strict[1] == f"GATE FAILED {PD1} (bs 8): unsure"


# -- disturbed measurements ------------------------------------------------------------------------


def test_a_gate_on_a_disturbed_measurement_is_inconclusive_whatever_it_reads():
    passing = dataclasses.replace(
        measurement(joules=0.5, ci95=0.0), disturbances=("2 other process(es) on the GPU",)
    )
    failing = dataclasses.replace(passing, stats=make_stats(joules_per_sample_mean=9.0))
    threshold = ItemThresholds((Threshold("max_joules", 1.0, "command line"),))
    for item in (passing, failing):
        (verdict,) = judge_measurement(item, threshold)
        assert verdict.outcome == INCONCLUSIVE
        assert verdict.message.endswith(
            "; inconclusive: measured while disturbed (2 other process(es) on the GPU)"
        )


def test_a_reduction_gate_is_inconclusive_when_its_baseline_was_disturbed():
    baseline = dataclasses.replace(
        measurement(BASELINE, joules=2.0, ci95=0.0),
        disturbances=("clocks held back (thermal slowdown)",),
    )
    pruned = measurement(joules=1.0, ci95=0.0)
    threshold = ItemThresholds((Threshold("min_reduction", 30.0, "command line"),))
    (verdict,) = judge_measurement(pruned, threshold, baseline=baseline)
    assert verdict.outcome == INCONCLUSIVE
    assert "its baseline: clocks held back (thermal slowdown)" in verdict.message
    (undisturbed,) = judge_measurement(
        pruned, threshold, baseline=dataclasses.replace(baseline, disturbances=())
    )
    assert undisturbed.outcome == PASS
