"""Measures over small frames written by hand: ratios, offsets, per-unit breakdowns, counts,
rule hits, target completion, and the edges (empty tables, zero denominators, missing tables).
Evidence is row references (`_row`), never copies."""

import pandas as pd
import pytest

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.indicators.framework import IndicatorSpec
from perfeval_pipeline.indicators.measures import MeasureContext
from perfeval_pipeline.indicators.measures import compute_measure as _compute
from perfeval_pipeline.indicators.views import build_views, completion

DEPT = Department(
    code="t",
    name="测试局",
    short_name="测试局",
    city="测试市",
    finance_bureau="测试市财政局",
    framework="common",
    budget_units=({"code": "U1", "name": "局本级", "role": "本级"}, {"code": "U2", "name": "中心"}),
    staffing_quota={"行政编制": 10, "事业编制": 10},
)


def compute_measure(spec, tables, dept=DEPT):
    ctx = MeasureContext(build_views(tables, dept, 2023), dept)
    try:
        return _compute(spec, ctx)
    finally:
        ctx.close()


def _src(n):
    return {"_row": list(range(n))}


def _spec(measure, display="percent"):
    return IndicatorSpec(id="x", name="x", measure=measure, display=display)


LINES = pd.DataFrame(
    {
        "unit_code": ["U1", "U1", "U2"],
        "initial_budget": pd.array([100.0, 200.0, 500.0], dtype="Float64"),
        "adjustment": pd.array([50.0, None, 0.0], dtype="Float64"),
        "final_amount": pd.array([120.0, 400.0, 450.0], dtype="Float64"),
        **_src(3),
    }
)


def test_ratio_with_offset_and_where_and_evidence_rows():
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "f.lines", "sum": "final_amount", "where": "unit_role == '本级'"},
                "denominator": {"table": "f.lines", "sum": "initial_budget", "where": "unit_role == '本级'"},
                "offset": -1,
            }
        ),
        {"f.lines": LINES},
        DEPT,
    )
    assert r.value == pytest.approx(520 / 300 - 1)
    assert (r.numerator, r.denominator) == (520, 300)
    assert sorted(r.evidence["_row"].tolist()) == [0, 0, 1, 1]
    assert r.evidence["amount"].sum() == 520 + 300
    assert set(r.evidence["role"]) == {"numerator", "denominator"}


def test_ratio_sums_several_columns_treating_missing_as_zero_and_breaks_down_by_unit():
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "f.lines", "sum": "final_amount"},
                "denominator": {"table": "f.lines", "sum": ["initial_budget", "adjustment"]},
                "by": "unit_code",
                "flag_units": "> 1",
            }
        ),
        {"f.lines": LINES},
        DEPT,
    )
    assert r.denominator == 850 and r.value == pytest.approx(970 / 850)
    by = {u["key"]: u for u in r.by_unit}
    assert by["U1"]["value"] == pytest.approx(520 / 350) and by["U1"]["name"] == "局本级"
    assert [u["key"] for u in r.items] == ["U1"]


def test_zero_denominator_is_not_computable_never_zero():
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "f.lines", "sum": "final_amount"},
                "denominator": {"table": "f.lines", "sum": "initial_budget", "where": "unit_code == 'U9'"},
            }
        ),
        {"f.lines": LINES},
        DEPT,
    )
    assert r.value is None and "分母为0" in r.reason


def test_missing_table_is_not_computable():
    r = compute_measure(_spec({"kind": "total", "table": "f.absent", "sum": "x"}), {}, DEPT)
    assert r.value is None and "f.absent" in r.reason


def test_empty_feed_total_is_not_computable_but_empty_complaints_count_is_zero():
    empty = LINES.iloc[0:0]
    assert (
        compute_measure(
            _spec({"kind": "total", "table": "f.lines", "sum": "final_amount"}), {"f.lines": empty}, DEPT
        ).value
        is None
    )
    assert (
        compute_measure(_spec({"kind": "count", "table": "f.lines"}, "count"), {"f.lines": empty}, DEPT).value
        == 0
    )
    judged = compute_measure(
        _spec({"kind": "count", "table": "f.lines", "where": "final_amount > 0"}, "count"),
        {"f.lines": empty},
        DEPT,
    )
    assert judged.value is None and "无数据行" in judged.reason


def test_quota_denominator_comes_from_department_config():
    profile = pd.DataFrame({"staff_in_post": pd.array([22], dtype="Int64"), **_src(1)})
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "evaluation.profile", "sum": "staff_in_post"},
                "denominator": {"quota": "staffing"},
            }
        ),
        {"evaluation.profile": profile},
        DEPT,
    )
    assert r.value == pytest.approx(1.1)
    assert set(r.evidence["source_table"]) == {"evaluation.profile", "config.staffing_quota"}


def test_count_items_and_rule_hits():
    assets = pd.DataFrame(
        {
            "asset_id": ["A1", "A2", "A3"],
            "unit_code": ["U1", "U2", "U2"],
            "label_attached": pd.array([False, True, None], dtype="boolean"),
            "status": ["在用", "出借", "在用"],
            **_src(3),
        }
    )
    count = compute_measure(
        _spec(
            {"kind": "count", "table": "a", "where": "label_attached == False", "items": ["asset_id"]},
            "count",
        ),
        {"a": assets},
        DEPT,
    )
    assert count.value == 1 and count.items[0]["asset_id"] == "A1" and count.items[0]["_row"] == 0
    hits = compute_measure(
        _spec(
            {
                "kind": "rule_hits",
                "rules": {
                    "no_label": {"table": "a", "where": "label_attached == False"},
                    "lent": {"table": "a", "where": "status == '出借'", "items": ["asset_id"]},
                    "never": {"table": "a", "where": "status == '已处置'"},
                },
            },
            "count",
        ),
        {"a": assets},
        DEPT,
    )
    assert hits.value == 2 and [i["rule"] for i in hits.items] == ["no_label", "lent"]


def test_bad_where_names_the_expression():
    with pytest.raises(ValueError, match="no_such_col"):
        compute_measure(
            _spec({"kind": "count", "table": "a", "where": "no_such_col > 1"}), {"a": LINES}, DEPT
        )


def test_explain_by_breaks_the_gap_down_per_unit_largest_first():
    assets = pd.DataFrame(
        {
            "unit_code": ["U1", "U1", "U1", "U2"],
            "status": ["在用", "闲置", "待处置", "在用"],
            "original_value": pd.array([100.0, 30.0, 50.0, 10.0], dtype="Float64"),
            **_src(4),
        }
    )
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "a.assets", "sum": "original_value", "where": "status = '在用'"},
                "denominator": {"table": "a.assets", "sum": "original_value"},
                "by": "unit_code",
                "explain_by": "status",
            }
        ),
        {"a.assets": assets},
    )
    by = {u["key"]: u for u in r.by_unit}
    assert by["U1"]["gap"] == [{"label": "待处置", "amount": 50.0}, {"label": "闲置", "amount": 30.0}]
    assert by["U2"]["gap"] == [] and by["U2"]["value"] == 1.0


def test_rows_with_a_unit_outside_the_department_still_count_but_have_no_role():
    lines = LINES.assign(unit_code=["U1", "U9", "U2"])
    r = compute_measure(
        _spec(
            {"kind": "total", "table": "f.lines", "sum": "final_amount", "where": "unit_role = '本级'"}, "wan"
        ),
        {"f.lines": lines},
    )
    assert r.value == 120


def test_count_distinct_lists_each_key_once():
    deals = pd.DataFrame(
        {"supplier": ["A", "A", "B"], "amount": pd.array([1.0, 2.0, 3.0], dtype="Float64"), **_src(3)}
    )
    r = compute_measure(
        _spec({"kind": "count", "table": "t.deals", "distinct": "supplier", "items": ["supplier"]}, "count"),
        {"t.deals": deals},
    )
    assert r.value == 2 and [i["supplier"] for i in r.items] == ["A", "B"]


TARGETS = pd.DataFrame(
    {
        "name": ["办件量", "满意度", "投诉率", "及时性", "覆盖率", "未填"],
        "level2": ["数量指标", "质量指标", "质量指标", "时效指标", "数量指标", "数量指标"],
        "value": ["1000", "≥ 95%", "≤ 2%", "及时", "80", "10"],
        "unit": ["件", None, None, None, "%", "个"],
        "comparator": [None, None, None, "定性", None, None],
        "actual": ["800", "96%", "4%", "及时", "90", None],
        **_src(6),
    }
)


@pytest.mark.parametrize(
    "target, actual, comparator, unit, share",
    [
        ("1000", "800", None, "件", 0.8),
        ("1000", "1200", None, "件", 1.0),
        ("≥ 95%", "90%", None, None, 90 / 95),
        ("≤ 2%", "1%", None, None, 1.0),
        ("≤ 2%", "4%", None, None, 0.5),
        ("及时", "及时", "定性", None, 1.0),
        ("及时", "延迟", "定性", None, 0.0),
        ("0", "3", None, None, 1.0),
        ("1000", None, None, "件", None),
        ("1000", "约八百", None, "件", None),
        ("1,000万元", "0.05亿元", None, None, 0.5),
    ],
)
def test_completion_of_one_target_row(target, actual, comparator, unit, share):
    _, _, got, achieved, note = completion(target, actual, comparator, unit)
    if share is None:
        assert got is None and note
    else:
        assert got == pytest.approx(share) and achieved == (share >= 1)


def test_target_completion_averages_rows_and_skips_targets_scored_elsewhere():
    spec = _spec({"kind": "target_completion", "where": "level2 = '数量指标'"})
    ctx = MeasureContext(build_views({"evaluation.targets": TARGETS}, DEPT, 2023, ("覆盖率",)), DEPT)
    try:
        r = _compute(spec, ctx)
    finally:
        ctx.close()
    # 办件量 0.8 and 未填 (unreported, counts as not completed); 覆盖率 is scored by its own indicator.
    assert r.value == pytest.approx(0.4) and r.denominator == 2
    assert [i["name"] for i in r.items] == ["办件量", "未填"]
    assert r.evidence["amount"].sum() == pytest.approx(r.numerator)


def test_target_completion_without_rows_or_actuals_is_not_computable():
    spec = _spec({"kind": "target_completion", "where": "level2 = '效益指标'"})
    assert compute_measure(spec, {"evaluation.targets": TARGETS}).value is None
    blank = TARGETS.assign(actual=None)
    r = compute_measure(
        _spec({"kind": "target_completion", "where": "level2 = '质量指标'"}), {"evaluation.targets": blank}
    )
    assert r.value is None and "未填报" in r.reason and len(r.items) == 2


def test_only_the_row_an_indicator_scores_is_left_out_of_the_common_targets():
    rows = TARGETS.assign(name=["办件量", "满意度", "投诉率", "及时性", "企业覆盖率", "网点覆盖率"])
    views = build_views({"evaluation.targets": rows}, DEPT, 2023, ("覆盖率",))
    assert views["evaluation.targets"]["scored_elsewhere"].tolist() == [False] * 4 + [True, False]
