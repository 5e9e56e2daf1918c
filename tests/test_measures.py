"""Measures over small typed frames: ratios, offsets, per-unit breakdowns, counts, rule hits, edges."""

import pandas as pd
import pytest

from perfeval_pipeline.config import BudgetUnit, Department
from perfeval_pipeline.indicators.framework import IndicatorSpec
from perfeval_pipeline.indicators.measures import compute_measure

DEPT = Department(
    code="t",
    name="测试局",
    short_name="测试局",
    city="测试市",
    finance_bureau="测试市财政局",
    framework="zwsj",
    budget_units=(BudgetUnit("U1", "局本级", "本级"), BudgetUnit("U2", "中心")),
    staffing_quota={"行政编制": 10, "事业编制": 10},
)


def _src(n):
    return {
        "_source_file": ["2023/t/financial.xlsx"] * n,
        "_source_sheet": ["预算决算表"] * n,
        "_source_row": list(range(2, n + 2)),
        "_row_hash": [f"h{i}" for i in range(n)],
    }


def _spec(measure, display="percent"):
    return IndicatorSpec(id="x", name="x", measure=measure, display=display)


LINES = pd.DataFrame(
    {
        "unit_code": ["U1", "U1", "U2"],
        "unit_role": ["本级", "本级", "下属单位"],
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
    assert sorted(r.evidence["_source_row"].tolist()) == [2, 2, 3, 3]
    assert set(r.evidence["role"]) == {"numerator", "denominator"}


def test_ratio_sums_several_columns_treating_missing_as_zero_and_breaks_down_by_unit():
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "f.lines", "sum": "final_amount"},
                "denominator": {"table": "f.lines", "sum": ["initial_budget", "adjustment"]},
                "by": "unit_code",
                "items_where": "value > 1",
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
    assert r.value is None and "denominator is 0" in r.reason


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
    assert judged.value is None and "no rows" in judged.reason


def test_quota_denominator_comes_from_department_config():
    profile = pd.DataFrame({"staff_in_post": pd.array([22], dtype="Int64"), **_src(1)})
    r = compute_measure(
        _spec(
            {
                "kind": "ratio",
                "numerator": {"table": "e.profile", "sum": "staff_in_post"},
                "denominator": {"quota": "staffing"},
            }
        ),
        {"e.profile": profile},
        DEPT,
    )
    assert r.value == pytest.approx(1.1)
    assert "assets_config/departments.yaml" in set(r.evidence["_source_file"])


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
    assert count.value == 1 and count.items[0]["asset_id"] == "A1" and count.items[0]["_source_row"] == 2
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
