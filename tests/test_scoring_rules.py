"""Every scoring rule, edges included (missing, zero and exceeded targets, negative change, empty
targets table), and the framework's points arithmetic as config, not code, decides it."""

import pandas as pd
import pytest
import yaml

from perfeval_pipeline.config.errors import ConfigError
from perfeval_pipeline.config.models import GradesConfig
from perfeval_pipeline.indicators.compute import IndicatorResults, IndicatorValue
from perfeval_pipeline.indicators.framework import FrameworkError, IndicatorSpec, load_framework
from perfeval_pipeline.indicators.peers import Benchmark, PeerValue
from perfeval_pipeline.scoring import rules
from perfeval_pipeline.scoring.rules import Target
from perfeval_pipeline.scoring.score import score_indicator, score_partition, target_from_targets


def rule(**kw):
    return IndicatorSpec(
        id="x", name="x", measure={"kind": "count", "table": "t"}, points=4, level1="过程", rule=kw
    ).rule


def test_proportional_caps_at_full_points_and_scales_below_target():
    assert rules.proportional(4, 1.2, Target(1.0, "t"), "percent").score == 4
    out = rules.proportional(4, 0.2926, Target(0.8, "绩效目标表"), "percent")
    assert out.score == pytest.approx(4 * 0.2926 / 0.8)
    assert "29.26%" in out.reasons[0] and "80%" in out.reasons[0] and "绩效目标表" in out.reasons[0]


def test_proportional_with_missing_or_zero_target():
    out = rules.proportional(4, 0.5, Target(None, "绩效目标表", "绩效目标表为空"), "percent")
    assert out.score == 0 and "目标值缺失" in out.reasons[0] and "绩效目标表为空" in out.reasons[0]
    assert rules.proportional(4, 0.0, Target(0.0, "t"), "percent").score == 4
    assert rules.proportional(4, -0.3, Target(1.0, "t"), "percent").score == 0


def test_bands_use_absolute_value_when_asked_and_boundaries_belong_to_the_lower_band():
    r = rule(kind="bands", abs=True, bands=[{"max": 0.1, "score": 4}, {"max": 0.5, "score": 2}, {"score": 0}])
    assert rules.bands(4, -0.05, r, "percent").score == 4
    assert rules.bands(4, 0.1, r, "percent").score == 4
    assert rules.bands(4, -0.3, r, "percent").score == 2
    out = rules.bands(4, 4.8993, r, "percent")
    assert out.score == 0 and "489.93%" in out.reasons[0] and "超过50%" in out.reasons[0]


def test_bands_never_give_more_than_the_indicator_points():
    r = rule(kind="bands", bands=[{"max": 1, "score": 10}, {"score": 0}])
    assert rules.bands(4, 0.5, r, "percent").score == 4


def test_a_last_band_with_a_max_is_refused():
    with pytest.raises(Exception, match="last band"):
        rule(kind="bands", bands=[{"max": 1, "score": 4}])


def test_deduct_per_point_above_and_below_floors_at_zero():
    above = rule(kind="deduct_per_point", standard=1.0, direction="above", per_point=0.5)
    assert rules.deduct_per_point(4, 0.95, above, "percent").score == 4
    assert rules.deduct_per_point(4, 1.03, above, "percent").score == pytest.approx(2.5)
    assert rules.deduct_per_point(4, 2.0, above, "percent").score == 0
    below = rule(kind="deduct_per_point", standard=1.0, direction="below", per_point=0.4)
    out = rules.deduct_per_point(4, 0.9424, below, "percent")
    assert out.score == pytest.approx(4 - 0.4 * 5.76) and "5.76 个百分点" in out.reasons[0]


def test_negative_change_is_within_an_above_standard():
    r = rule(kind="deduct_per_point", standard=0.0, direction="above", per_point=0.5)
    assert rules.deduct_per_point(2, -0.12, r, "percent").score == 2


def test_deduct_per_item_counts_items_or_value():
    r = rule(kind="deduct_per_item", per_item=0.5)
    assert rules.deduct_per_item(4, 4, [], r).score == 2
    assert rules.deduct_per_item(4, 0, [{"a": 1}, {"a": 2}, {"a": 3}], r).score == pytest.approx(2.5)
    assert rules.deduct_per_item(1, 5, [], r).score == 0
    assert rules.deduct_per_item(4, 0, [], r).score == 4


def test_boolean_conditions():
    eq = rule(kind="boolean", when="= 0")
    assert rules.boolean(2, 0, eq, "count").score == 2
    out = rules.boolean(2, 3, eq, "count")
    assert out.score == 0 and "= 0" in out.reasons[0]
    assert rules.boolean(2, 1, rule(kind="boolean", when="≥ 1"), "count").score == 2
    with pytest.raises(Exception, match="comparator"):
        rule(kind="boolean", when="yes")


@pytest.mark.parametrize(
    "spec",
    [
        dict(kind="proportional", target=0.9),
        dict(kind="proportional", target_from_targets="覆盖率"),
        dict(kind="proportional", target_peer_mean=True),
        dict(kind="bands", bands=[{"max": 0.1, "score": 4}, {"score": 0}]),
        dict(kind="deduct_per_point", standard=0.05, per_point=0.2),
        dict(kind="deduct_per_item", per_item=0.5),
        dict(kind="boolean", when="≥ 1"),
        dict(kind="workpaper"),
    ],
)
def test_every_rule_reads_as_words(spec):
    text = rules.rule_text(rule(**spec))
    assert text and not any(c in text for c in "{}_") and "kind" not in text


def test_proportional_needs_exactly_one_target():
    with pytest.raises(Exception, match="exactly one"):
        rule(kind="proportional", target=0.9, target_peer_mean=True)
    with pytest.raises(Exception, match="exactly one"):
        rule(kind="proportional")


def value(iid, v, items=None, reason=None, points=4):
    return IndicatorValue(
        id=iid,
        name=iid,
        level1="过程",
        level2="x",
        points=points,
        unit="",
        display_kind="percent",
        value=v,
        display=str(v),
        numerator=None,
        denominator=None,
        reason=reason,
        evidence_rows=0,
        items=items or [],
    )


def spec(iid, r, points=4):
    return IndicatorSpec(
        id=iid,
        name=iid,
        measure={"kind": "count", "table": "t"},
        level1="过程",
        level2="x",
        points=points,
        rule=r,
        display="percent",
    )


def test_a_value_that_cannot_be_computed_scores_zero_with_its_reason():
    s = score_indicator(
        spec("a", {"kind": "proportional", "target": 1.0}), value("a", None, reason="分母为0"), None, None
    )
    assert s.score == 0 and s.deduction == 4 and "分母为0" in s.deduction_reason


def test_workpaper_deductions_apply_after_any_rule_floor_at_zero_and_tolerate_empty_cells():
    wp = pd.DataFrame(
        {
            "record_id": ["W1", "W2", "W3"],
            "indicator_id": ["a", "a", "a"],
            "deduction": [1.5, 9.0, None],
            "finding": ["问题一。", "问题二", None],
        }
    )
    s = score_indicator(spec("a", {"kind": "workpaper"}), value("a", 1.0), None, wp.iloc[:1])
    assert s.score == 2.5 and s.workpaper_refs == ["W1"] and "底稿W1：问题一（扣1.5分）" in s.deduction_reason
    assert score_indicator(spec("a", {"kind": "workpaper"}), value("a", 1.0), None, wp).score == 0
    blank = score_indicator(spec("a", {"kind": "workpaper"}), value("a", 1.0), None, wp.iloc[2:])
    assert blank.score == 4 and blank.workpaper_refs == []


def targets_table(rows):
    return pd.DataFrame(
        [
            {
                "name": n,
                "value": v,
                "unit": u,
                "_source_file": "targets.csv",
                "_source_sheet": "",
                "_source_row": i + 2,
            }
            for i, (n, v, u) in enumerate(rows)
        ]
    )


def test_target_from_targets_reads_percent_comparators_and_names_the_row():
    t = targets_table(
        [
            ("企业覆盖率", "80", "%"),
            ("办结率", "≥ 95%", None),
            ("绩效考评及时性", "及时", ""),
            ("空", None, None),
        ]
    )
    cover = target_from_targets(t, "企业覆盖率")
    assert cover.value == pytest.approx(0.8) and "targets.csv 第2行" in cover.source
    assert target_from_targets(t, "办结率").value == pytest.approx(0.95)
    assert (
        target_from_targets(t, "及时性").value is None
        and "不是数值" in target_from_targets(t, "及时性").reason
    )
    assert target_from_targets(t, "空").value is None
    assert "无包含" in target_from_targets(t, "不存在").reason
    assert target_from_targets(None, "x").reason == "绩效目标表为空"
    assert target_from_targets(t.iloc[:0], "x").reason == "绩效目标表为空"


def test_peer_mean_ignores_peers_without_data_and_names_them():
    b = Benchmark(
        "a", ("政务服务",), (PeerValue("d1", 3.0), PeerValue("d2", 5.0), PeerValue("d3", None, "blocked"))
    )
    assert b.mean == 4.0 and "2个部门" in b.source and "d3" in b.source
    none = Benchmark("a", ("g",), (PeerValue("d1", None, "无数据"),))
    s = score_indicator(
        spec("a", {"kind": "proportional", "target_peer_mean": True}), value("a", 0.5), None, None, none
    )
    assert s.score == 0 and "无数据" in s.deduction_reason
    s = score_indicator(
        spec("a", {"kind": "proportional", "target_peer_mean": True}), value("a", 2.0), None, None, b
    )
    assert s.score == 2 and s.target == 4.0


def write_framework(folder, name, doc):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


BASE = {
    "name": "测试框架",
    "total_points": 10,
    "levels": {"过程": {"id": "process", "points": 6}, "产出": {"id": "output", "points": 4}},
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
GRADES = GradesConfig(
    bands=[
        {"grade": "优", "min": 90},
        {"grade": "良", "min": 80},
        {"grade": "中", "min": 60},
        {"grade": "差", "min": 0},
    ]
)


def test_changing_a_weight_or_a_band_in_config_changes_the_score(tmp_path):
    write_framework(tmp_path, "base", BASE)
    results = IndicatorResults([value("a", 0.9, points=6), value("b", 1.0, points=4)], pd.DataFrame())
    card = score_partition(load_framework(tmp_path, "base"), results, None, None, {}, GRADES)
    assert card.total == pytest.approx(5.4 + 3) and card.grade == "差" and card.max_points == 10
    assert [lvl["score"] for lvl in card.level1] == [5.4, 3]
    heavier = {
        **BASE,
        "extends": "base",
        "points": {"a": 10},
        "total_points": 14,
        "levels": {"过程": {"id": "process", "points": 10}, "产出": {"id": "output", "points": 4}},
    }
    heavier.pop("indicators")
    write_framework(tmp_path, "heavier", heavier)
    card2 = score_partition(load_framework(tmp_path, "heavier"), results, None, None, {}, GRADES)
    assert card2.total == pytest.approx(9 + 3)
    lenient = GradesConfig(bands=[{"grade": "良", "min": 8}, {"grade": "差", "min": 0}])
    assert score_partition(load_framework(tmp_path, "base"), results, None, None, {}, lenient).grade == "良"


def test_scorecard_survives_its_frames(tmp_path):
    write_framework(tmp_path, "base", BASE)
    results = IndicatorResults([value("a", 0.5, points=6), value("b", 2.0, points=4)], pd.DataFrame())
    card = score_partition(load_framework(tmp_path, "base"), results, None, None, {}, GRADES)
    again = type(card).from_frames(card.to_frame(), card.levels_frame())
    assert again == card


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(total_points=11), "not total_points 11"),
        (lambda d: d["levels"]["过程"].update(points=5), "levels.过程.points is 5"),
        (lambda d: d["indicators"][0].update(rule={"kind": "magic"}), "indicators\\[0\\].rule: .*magic"),
        (lambda d: d["indicators"][0].update(level1="决策"), "not declared under levels"),
        (lambda d: d["indicators"][1].update(id="a"), "duplicate indicator ids"),
        (lambda d: d["indicators"][0].update(rule=None), "needs a rule"),
        (lambda d: d["indicators"][0].update(poinst=3), "poinst"),
        (lambda d: d.update(extends="nowhere"), "no framework file"),
    ],
)
def test_a_malformed_framework_is_refused_naming_file_and_key(tmp_path, edit, message):
    import copy

    doc = copy.deepcopy(BASE)
    edit(doc)
    write_framework(tmp_path, "bad", doc)
    with pytest.raises(ConfigError, match=message) as info:
        load_framework(tmp_path, "bad")
    assert "bad.yaml" in str(info.value)


def test_extends_removes_and_loops_are_reported(tmp_path):
    write_framework(tmp_path, "base", BASE)
    write_framework(tmp_path, "child", {"name": "子", "extends": "base", "remove": ["zz"]})
    with pytest.raises(FrameworkError, match="'zz', not an indicator of base"):
        load_framework(tmp_path, "child")
    write_framework(tmp_path, "loop1", {"name": "l1", "extends": "loop2"})
    write_framework(tmp_path, "loop2", {"name": "l2", "extends": "loop1"})
    with pytest.raises(FrameworkError, match="extends loops"):
        load_framework(tmp_path, "loop1")
