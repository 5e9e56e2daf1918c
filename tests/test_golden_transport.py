"""Golden test of the second sector: 景德镇市交通运输局 (jdz-jtysj), 2024, framework jtys.

The demo generator writes the partition's five landing files; the pipeline evaluates them. Every
expected figure below was computed by hand, independently of the pipeline: the landing files were
opened with pandas in a scratch script (financial.xlsx, asset_register.xlsx, evaluation.xlsx,
transactions.xlsx with openpyxl; hotline.csv as UTF-8), the rows were filtered and summed as
assets_config/frameworks/common.yaml + jtys.yaml say, and each rule applied by hand. The arithmetic
is written next to each figure; all 32 scored indicators and the total agreed with the pipeline to
the cent.

Rules used (scoring/rules.py): proportional = points × min(value / target, 1); deduct_per_point =
points − per_point × percentage points beyond the standard; deduct_per_item = points − per_item ×
items; bands = the first band the |value| fits; workpaper rows (工作底稿) are subtracted afterwards;
each score is rounded to 2 decimals and the total is the sum of the rounded scores.

The 工作底稿 of this partition: DG2024-01 target_reasonableness −2, DG2024-02
target_reasonableness −1, DG2024-03 funds_compliance −1, DG2024-04 road_good_rate −0.5,
DG2024-05 enforcement_case_closure_rate −1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import evaluate, make_settings, result_of

pytestmark = pytest.mark.slow

DEPARTMENT, YEAR = "jdz-jtysj", 2024

# id: (value, display, score). Values are written as the hand computation's fractions of raw sums.
EXPECTED = {
    # ---------------- 决策 (20) ----------------
    # 16 rows in 绩效目标表 (MB01–MB16); workpaper: 4 − 2 − 1 = 1.
    "target_reasonableness": (16, "16", 1.00),
    # MB08 路损案件处置及时性: comparator '=', value '及时' is not a number → 1 item; 3 − 0.5 × 1.
    "target_clarity": (1, "1", 2.50),
    # 11 rows in 职能清单; no workpaper row → 3.
    "planning_clarity": (11, "11", 3.00),
    # 在职人数 198 / 编制 (21 + 64 + 118 = 203) = 97.54% ≤ 100% → 4.
    "staffing_control_rate": (198 / 203, "97.54%", 4.00),
    # 局本级 (JDZJ001, 11 lines) 决算 51,096,300 / 年初预算 32,925,700 − 1 = 55.19%;
    # |55.19%| in (30%, 100%] → band score 1.5.
    "hq_budget_variance_rate": (51_096_300 / 32_925_700 - 1, "55.19%", 1.50),
    # 三公经费 (8 lines) 决算 1,648,500 / 上年决算 1,570,313 − 1 = 4.98%; 2 − 0.5 × 4.98 < 0 → 0.
    "three_public_change_rate": (1_648_500 / 1_570_313 - 1, "4.98%", 0.00),
    # ---------------- 过程 (40) ----------------
    # Σ决算 207,759,000 / Σ(年初 + 调整 + 结转 + 其他) 222,486,800 = 93.3804%;
    # 5 − 0.5 × (95 − 93.3804) = 5 − 0.8098 = 4.19.
    "budget_execution_rate": (207_759_000 / 222_486_800, "93.38%", 4.19),
    # 公用经费 决算 10,269,600 / (年初 + 调整) 10,447,800 = 98.29% ≤ 100% → 3.
    "public_expense_control_rate": (10_269_600 / 10_447_800, "98.29%", 3.00),
    # 三公经费 决算 1,648,500 / (年初 + 调整) 1,673,900 = 98.48% ≤ 100% → 3.
    "three_public_control_rate": (1_648_500 / 1_673_900, "98.48%", 3.00),
    # 合同 16,562,687 / 预算 17,036,600 − 1 = −2.78%; per unit JDZJ001 −2.34%, JDZJ002 −0.79%,
    # JDZJ003 −4.19%, JDZJ004 −8.12%: no unit above budget → 0 items → 5.
    "procurement_overrun_rate": (16_562_687 / 17_036_600 - 1, "-2.78%", 5.00),
    # 项目测算明细 CS2024-005 路域环境整治 是否需要资金 = 否 → 1 item; 2 − 0.5.
    "project_estimate_accuracy": (1, "1", 1.50),
    # 制度检查: 财务监督, 资产清查盘点 = 否 → 2 items; 4 − 0.25 × 2.
    "financial_rules_completeness": (2, "2", 3.50),
    # 1,289 vouchers in 支出明细账; workpaper DG2024-03: 6 − 1.
    "funds_compliance": (1289, "1289", 5.00),
    # 预决算信息公开 = 是 → 2.
    "disclosure": (1, "是", 2.00),
    # Register rules hit (of 6): 未贴标签 (7 cards), 未登记规格型号 (3), 数量或名称登记错误 (1 in the
    # 盘点表), 未登记使用台账 (JDZJ001 has no 使用台账 row), 未及时处置 (3 待处置 cards > 365 days
    # before 2024-12-31); 出借无审批: none → 5 hits; 5 − 0.25 × 5.
    "asset_safety": (5, "5", 3.75),
    # 在用 原值 13,404,524 / not 已处置 19,073,515 = 70.28%; 5 × 0.7028 / 0.8 = 4.39.
    "asset_utilization_rate": (13_404_524 / 19_073_515, "70.28%", 4.39),
    # ---------------- 产出 (20) ----------------
    # 数量指标 rows, MB01 left out (scored by rural_road_maintenance_rate): MB02 59.77 ≥ 59 → 1,
    # MB03 183.36 ≥ 182 → 1, MB04 危旧桥梁 4 / 5 = 0.8 → 2.8 / 3 = 93.33%; 2 × 0.9333 = 1.87.
    "output_quantity": ((1 + 1 + 4 / 5) / 3, "93.33%", 1.87),
    # 质量指标, MB05 left out (scored by road_good_rate): MB06 86.92 / 98 = 88.69%; 2 × 0.8869 = 1.77.
    "output_quality": (86.92 / 98, "88.69%", 1.77),
    # 时效指标: MB07 99.61 ≥ 95 → 1, MB08 '及时' reported 及时 → 1, MB09 88.31 / 100 → 0.8831;
    # 2.8831 / 3 = 96.10%; 1 × 0.9610 = 0.96.
    "output_timeliness": ((1 + 1 + 0.8831) / 3, "96.10%", 0.96),
    # 成本指标: MB10 97.4 ≤ 100 → 1, MB11 0.88 ≤ 1 万元/公里 → 1 → 100%; 1.
    "output_cost": (1.0, "100%", 1.00),
    # 重点任务: 11 of 12 rows done ≥ planned (东河大桥危桥改造 0 of 1) → 91.67%; 2 × 0.9167 = 1.83.
    "key_task_completion_rate": (11 / 12, "91.67%", 1.83),
    # 运行统计 农村公路养护里程 2144.5 / 2128 公里 = 100.78% ≥ MB01 target 98% → 3.
    "rural_road_maintenance_rate": (2144.5 / 2128, "100.78%", 3.00),
    # 国省道优良路里程 865.8 / 1002.2 = 86.39% < MB05 target 88%: 2 × 0.8639 / 0.88 = 1.9634;
    # workpaper DG2024-04 −0.5 → 1.46.
    "road_good_rate": (865.8 / 1002.2, "86.39%", 1.46),
    # 重点交通项目建设: 完成 25,100 + 13,600 + 18,100 = 56,800 / 计划 56,800 万元 = 100% → 2.
    "key_project_investment_rate": (1.0, "100%", 2.00),
    # 交通执法案件办结 829 / 831 = 99.76%: 2 × 0.99759 = 1.9952; workpaper DG2024-05 −1 → 0.9952 → 1.00.
    "enforcement_case_closure_rate": (829 / 831, "99.76%", 1.00),
    # Tickets: 7,043 = 6,892 已办结 + 61 办理中 + 90 已退回; 6,892 / (7,043 − 90) = 99.12%; 1 × 0.9912.
    "hotline_closure_rate": (6892 / 6953, "99.12%", 0.99),
    # 办结时间 ≤ 办理时限: 6,475 of 6,892 已办结 = 93.95% < 95%: 2 × 0.9395 / 0.95 = 1.98.
    "hotline_on_time_rate": (6475 / 6892, "93.95%", 1.98),
    # ---------------- 效益 (20) ----------------
    # 效益指标 rows: MB12 事故 0 ≤ 0 → 1, MB13 3.25 ≥ 3 → 1, MB14 '=' 100, actual 98.85 → 0.9885;
    # 2.9885 / 3 = 99.62%; 8 × 0.99617 = 7.97.
    "effect_targets": ((1 + 1 + 0.9885) / 3, "99.62%", 7.97),
    # 满意度指标: MB15 96.23 ≥ 90 → 1, MB16 83.05 / 90 = 0.92278 → 96.14%; 3 × 0.96139 = 2.88.
    "satisfaction_targets": ((1 + 83.05 / 90) / 2, "96.14%", 2.88),
    # 客运班线准点 80,923 / 86,139 = 93.94% < 95%: 3 × 0.93945 / 0.95 = 2.97.
    "bus_punctuality_rate": (80_923 / 86_139, "93.94%", 2.97),
    # 建制村通客车 758 / 762 = 99.48%; 3 × 0.99475 = 2.98.
    "rural_bus_coverage_rate": (758 / 762, "99.48%", 2.98),
    # 满意 4,436 + 基本满意 705 = 5,141 / (5,141 + 不满意 691) = 88.15% < 90%: 3 × 0.8815 / 0.9 = 2.94.
    "hotline_satisfaction_rate": (5141 / 5832, "88.15%", 2.94),
}
TARGET_COMPLETION = {
    "output_quantity",
    "output_quality",
    "output_timeliness",
    "output_cost",
    "effect_targets",
    "satisfaction_targets",
}
# Level subtotals: 决策 1 + 2.5 + 3 + 4 + 1.5 + 0 = 12.00; 过程 4.19 + 3 + 3 + 5 + 1.5 + 3.5 + 5 + 2 +
# 3.75 + 4.39 = 35.33; 产出 1.87 + 1.77 + 0.96 + 1 + 1.83 + 3 + 1.46 + 2 + 1 + 0.99 + 1.98 = 17.86;
# 效益 7.97 + 2.88 + 2.97 + 2.98 + 2.94 = 19.74. Total 84.93, grade 良 (80 ≤ 84.93 < 90).
LEVELS = {"决策": 12.00, "过程": 35.33, "产出": 17.86, "效益": 19.74}
TOTAL, GRADE = 84.93, "良"

# Statistics the form prints (id: display), summed from the same files.
STATISTICS = {
    # Σ(年初 + 调整 + 结转 + 其他) 222,486,800 元; Σ(年初 + 调整) 217,506,600; 结转 4,051,100; 其他 929,100.
    "income_total": "22248.68",
    "fiscal_appropriation": "21750.66",
    "carryover_income": "405.11",
    "other_income": "92.91",
    # Σ决算 207,759,000 = Σ明细账 (every line's vouchers add up to its 决算数); 年终收回 14,727,800.
    "expenditure_total": "20775.90",
    "ledger_total": "20775.90",
    "year_end_recovery": "1472.78",
    "hq_initial_budget": "3292.57",
    "hq_final_accounts": "5109.63",
    # 政府采购 合同金额 2,855,324 + 7,407,404 + 4,703,982 + 1,595,977 = 16,562,687 元.
    "procurement_total": "1656.27",
    # 7,043 rows in hotline.csv.
    "hotline_tickets": "7043",
    # 运行统计: 公路通车里程 4382.5; 农村公路养护里程 2144.5; 城乡公交线路 136; 执法立案 (基数) 831.
    "highway_mileage": "4382.50",
    "rural_road_maintained_km": "2144.50",
    "bus_routes": "136",
    "enforcement_cases": "831",
    "key_project_investment": "56800.00",
    # 满意度调查: (满意 281 + 基本满意 57) / 389 respondents = 86.89%.
    "travel_satisfaction_survey": "86.89%",
    "functions_count": "11",
    "sections_count": "6",
}


@pytest.fixture(scope="module")
def transport(tmp_path_factory) -> tuple[dict, Path]:
    from perfeval_pipeline.demo import generate_demo

    settings = make_settings(tmp_path_factory.mktemp("transport"))
    generate_demo(settings, departments=[DEPARTMENT], years=[YEAR])
    evaluate(settings, [(DEPARTMENT, YEAR)])
    return result_of(settings, DEPARTMENT, YEAR), settings.landing_folder(DEPARTMENT, YEAR)


def _ind(result: dict, iid: str) -> dict:
    return next(i for i in result["indicators"] if i["id"] == iid)


def test_total_grade_and_levels(transport):
    result, _ = transport
    assert result["status"] == "evaluated"
    assert result["framework"]["name"] == "jtys" and result["framework"]["chain"] == ["jtys", "common"]
    assert result["total_score"] == pytest.approx(TOTAL, abs=1e-9)
    assert result["grade"] == GRADE
    assert {lv["name"]: lv["score"] for lv in result["levels"]} == pytest.approx(LEVELS, abs=1e-9)


def test_every_scored_indicator_is_checked(transport):
    result, _ = transport
    scored = {i["id"] for i in result["indicators"] if i.get("points")}
    assert scored == set(EXPECTED)
    assert sum(_ind(result, iid)["points"] for iid in EXPECTED) == pytest.approx(100)


@pytest.mark.parametrize("iid", list(EXPECTED))
def test_scored_indicator(transport, iid):
    result, _ = transport
    value, shown, score = EXPECTED[iid]
    ind = _ind(result, iid)
    # 绩效目标表 indicators: the pipeline rounds the sum of completions to 6 decimals before dividing
    # (e.g. 1.922778 / 2 = 0.961389 for 96.138889%), so their value matches to 1e-6 only.
    tolerance = 1e-6 if iid in TARGET_COMPLETION else 1e-12
    assert ind["value"] == pytest.approx(value, rel=1e-9, abs=tolerance), iid
    assert ind["display"] == shown, iid
    assert ind["score"] == pytest.approx(score, abs=1e-9), (iid, ind.get("deduction_reason"))


@pytest.mark.parametrize("iid", list(STATISTICS))
def test_statistic(transport, iid):
    result, _ = transport
    assert _ind(result, iid)["display"] == STATISTICS[iid]


def test_targets_from_the_departments_own_table(transport):
    """road_good_rate and rural_road_maintenance_rate take their targets from 绩效目标表 rows MB05
    (88%, sheet row 6) and MB01 (98%, sheet row 2); those rows are not scored again by the common
    数量/质量 indicators (their items name only the other rows)."""
    result, _ = transport
    good = _ind(result, "road_good_rate")
    assert good["target"] == pytest.approx(0.88)
    assert "绩效目标表" in good["target_source"] and "第6行" in good["target_source"]
    assert _ind(result, "rural_road_maintenance_rate")["target"] == pytest.approx(0.98)
    assert [it["name"] for it in _ind(result, "output_quantity")["items"]] == ["危旧桥梁改造数量"]
    assert [it["name"] for it in _ind(result, "output_quality")["items"]] == ["交通建设工程交工验收合格率"]


def test_hotline_closure_by_handling_unit(transport):
    """Per 承办单位: 已办结 / (已办结 + 办理中), counted in hotline.csv."""
    result, _ = transport
    by_unit = {u["name"]: u["value"] for u in _ind(result, "hotline_closure_rate")["by_unit"]}
    assert by_unit == pytest.approx(
        {
            "景德镇市交通运输局": 3497 / (3497 + 36),
            "景德镇市公路事业发展中心": 1695 / (1695 + 15),
            "景德镇市运输事业发展中心": 1201 / (1201 + 5),
            "景德镇市交通运输综合行政执法支队": 499 / (499 + 5),
        },
        rel=1e-9,
    )


def test_findings_use_the_transport_groups(transport):
    result, _ = transport
    performance = next(g for g in result["problems"] if g["id"] == "performance")
    items = {it["id"]: it["text"] for it in performance["items"]}
    assert {"road_records", "case_files", "targets_unmet"} <= set(items)
    assert "“危旧桥梁改造数量”目标5座、实际4座" in items["targets_unmet"]
    assert "“交通运输执法满意度”目标90%、实际83.05%" in items["targets_unmet"]
    performance_text = "".join(result["narrative"]["performance"])
    for figure in ("养护里程完成率100.78%", "国省道优良路率86.39%", "诉求件7043件", "满意率88.15%"):
        assert figure in performance_text, figure


def test_transport_landing_is_deterministic(transport, tmp_path):
    from perfeval_pipeline.demo import generate_demo

    _, folder = transport
    settings = make_settings(tmp_path)
    generate_demo(settings, departments=[DEPARTMENT], years=[YEAR])
    again = settings.landing_folder(DEPARTMENT, YEAR)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "asset_register.xlsx",
        "evaluation.xlsx",
        "financial.xlsx",
        "hotline.csv",
        "transactions.xlsx",
    ]
    assert {n: (folder / n).read_bytes() for n in names} == {n: (again / n).read_bytes() for n in names}
