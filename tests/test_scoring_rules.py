"""Every scoring rule, edges included: missing target, zero target, over 100%, negative change."""

import pandas as pd
import pytest

from perfeval_pipeline.indicators.compute import IndicatorResults, IndicatorValue
from perfeval_pipeline.indicators.framework import FrameworkError, IndicatorSpec, parse_framework
from perfeval_pipeline.scoring import rules
from perfeval_pipeline.scoring.rules import Target
from perfeval_pipeline.scoring.score import (
    GradeBands,
    PeerMean,
    score_indicator,
    score_partition,
    target_from_targets,
)


def test_proportional_caps_at_full_points_and_scales_below_target():
    assert rules.proportional(4, 1.2, Target(1.0, "t"), "percent").score == 4
    out = rules.proportional(4, 0.2926, Target(0.8, "绩效目标表"), "percent")
    assert out.score == pytest.approx(4 * 0.2926 / 0.8)
    assert "29.26%" in out.reasons[0] and "80.00%" in out.reasons[0]


def test_proportional_without_target_scores_zero_and_says_why():
    out = rules.proportional(4, 0.5, Target(None, "绩效目标表", "绩效目标表为空"), "percent")
    assert out.score == 0 and "目标值缺失" in out.reasons[0] and "绩效目标表为空" in out.reasons[0]


def test_bands_use_absolute_value_when_asked():
    rule = {"abs": True, "bands": [{"max": 0.1, "score": 4}, {"max": 0.5, "score": 2}, {"score": 0}]}
    assert rules.bands(4, -0.05, rule, "percent").score == 4
    assert rules.bands(4, -0.3, rule, "percent").score == 2
    out = rules.bands(4, 4.8993, rule, "percent")
    assert out.score == 0 and "489.93%" in out.reasons[0]


def test_deduct_per_point_above_and_below_floors_at_zero():
    above = {"standard": 1.0, "direction": "above", "per_point": 0.5}
    assert rules.deduct_per_point(4, 0.95, above, "percent").score == 4
    assert rules.deduct_per_point(4, 1.03, above, "percent").score == pytest.approx(2.5)
    assert rules.deduct_per_point(4, 2.0, above, "percent").score == 0
    below = {"standard": 1.0, "direction": "below", "per_point": 0.4}
    assert rules.deduct_per_point(4, 0.9424, below, "percent").score == pytest.approx(4 - 0.4 * 5.76)


def test_negative_change_is_within_standard():
    rule = {"standard": 0.0, "direction": "above", "per_point": 0.5}
    assert rules.deduct_per_point(2, -0.12, rule, "percent").score == 2


def test_deduct_per_item_counts_items_or_value():
    rule = {"per_item": 0.5}
    assert rules.deduct_per_item(4, 4, [], rule).score == 2
    assert rules.deduct_per_item(4, 0, [{"a": 1}, {"a": 2}, {"a": 3}], rule).score == pytest.approx(2.5)
    assert rules.deduct_per_item(1, 5, [], rule).score == 0
    assert rules.deduct_per_item(4, 0, [], rule).score == 4


def test_boolean():
    assert rules.boolean(2, 0, {"when": "value == 0"}, "count").score == 2
    assert rules.boolean(2, 3, {"when": "value == 0"}, "count").score == 0


def _value(iid, value, items=None, reason=None, points=4):
    return IndicatorValue(
        id=iid,
        name=iid,
        level1="过程",
        level2="x",
        points=points,
        unit="",
        display_kind="percent",
        value=value,
        display=str(value),
        numerator=None,
        denominator=None,
        reason=reason,
        evidence_rows=0,
        items=items or [],
    )


def _spec(iid, rule, points=4, level1="过程"):
    return IndicatorSpec(
        id=iid,
        name=iid,
        measure={"kind": "count", "table": "t"},
        level1=level1,
        level2="x",
        points=points,
        rule=rule,
        display="percent",
    )


def test_not_computable_value_scores_zero_with_reason():
    s = score_indicator(
        _spec("a", {"kind": "proportional", "target": 1.0}),
        _value("a", None, reason="denominator is 0"),
        None,
        None,
    )
    assert s.score == 0 and "denominator is 0" in s.deduction_reason


def test_workpaper_deductions_apply_after_any_rule_and_floor_at_zero():
    wp = pd.DataFrame(
        {
            "record_id": ["W1", "W2"],
            "indicator_id": ["a", "a"],
            "deduction": [1.5, 9.0],
            "finding": ["问题一", "问题二"],
        }
    )
    s = score_indicator(_spec("a", {"kind": "workpaper"}), _value("a", 1.0), None, wp.iloc[:1])
    assert s.score == 2.5 and s.workpaper_refs == ["W1"] and "问题一" in s.deduction_reason
    assert score_indicator(_spec("a", {"kind": "workpaper"}), _value("a", 1.0), None, wp).score == 0


def test_target_from_targets_reads_percent_and_rejects_text():
    targets = pd.DataFrame(
        {
            "name": ["企业覆盖率", "绩效考评及时性"],
            "value": ["80", "及时"],
            "unit": ["%", ""],
            "_source_file": "f",
            "_source_sheet": "s",
            "_source_row": [2, 3],
        }
    )
    assert target_from_targets(targets, "企业覆盖率").value == pytest.approx(0.8)
    assert target_from_targets(targets, "及时性").value is None
    assert target_from_targets(targets, "不存在").reason
    assert target_from_targets(None, "x").value is None


def test_peer_mean_ignores_missing_peers_and_names_them():
    mean = PeerMean(None, {"a": 3.0, "b": 5.0, "c": None})
    assert mean.target.value == 4.0 and "c" in mean.target.source
    assert PeerMean(None, {"a": None}).target.value is None


FRAMEWORK = {
    "total_points": 10,
    "levels": {"过程": {"points": 6}, "产出": {"points": 4}},
    "indicators": [
        {
            "id": "a",
            "name": "A",
            "level1": "过程",
            "level2": "x",
            "points": 6,
            "measure": {"kind": "count", "table": "t"},
            "rule": {"kind": "proportional", "target": 1.0},
        },
        {
            "id": "b",
            "name": "B",
            "level1": "产出",
            "level2": "y",
            "points": 4,
            "measure": {"kind": "count", "table": "t"},
            "rule": {"kind": "deduct_per_item", "per_item": 1},
        },
    ],
}


def test_changing_a_weight_or_band_in_config_changes_the_score():
    bands = GradeBands(
        [
            {"grade": "优", "min": 90},
            {"grade": "良", "min": 80},
            {"grade": "中", "min": 60},
            {"grade": "差", "min": 0},
        ]
    )
    results = IndicatorResults([_value("a", 0.9, points=6), _value("b", 1.0, points=4)], pd.DataFrame())
    card = score_partition(parse_framework(FRAMEWORK, "t"), results, None, None, grade_bands=bands)
    assert card.total == pytest.approx(5.4 + 3) and card.grade == "差"
    heavier = {
        **FRAMEWORK,
        "total_points": 14,
        "levels": {"过程": {"points": 10}, "产出": {"points": 4}},
        "indicators": [{**FRAMEWORK["indicators"][0], "points": 10}, FRAMEWORK["indicators"][1]],
    }
    card2 = score_partition(parse_framework(heavier, "t"), results, None, None, grade_bands=bands)
    assert card2.total == pytest.approx(9 + 3)
    lenient = GradeBands([{"grade": "良", "min": 8}, {"grade": "差", "min": 0}])
    assert (
        score_partition(parse_framework(FRAMEWORK, "t"), results, None, None, grade_bands=lenient).grade
        == "良"
    )


def test_framework_points_must_add_up():
    bad = {**FRAMEWORK, "total_points": 11}
    with pytest.raises(FrameworkError, match="sum to"):
        parse_framework(bad, "t")
    with pytest.raises(FrameworkError, match="rule kind"):
        parse_framework(
            {**FRAMEWORK, "indicators": [{**FRAMEWORK["indicators"][0], "rule": {"kind": "magic"}}]}, "t"
        )
