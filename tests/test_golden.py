"""Golden test: jdz-zwsjj 2023 from the demo data reproduces the real feedback form's figures.

Every expected value below is the printed figure of ../shared/brief/seed-figures.md; the pipeline
computes each from landing rows (the demo generator's raw amounts and counts)."""

import pytest

pytestmark = pytest.mark.slow


def _ind(result, iid):
    return next(i for i in result["indicators"] if i["id"] == iid)


def test_total_and_grade(seed_evaluation):
    assert seed_evaluation["status"] == "evaluated"
    assert seed_evaluation["total_score"] == pytest.approx(81.47, abs=1e-9)
    assert seed_evaluation["grade"] == "良"


@pytest.mark.parametrize(
    "indicator, printed",
    [
        ("income_total", "3935.02"),
        ("fiscal_appropriation", "3935.02"),
        ("carryover_income", "0.00"),
        ("other_income", "0.00"),
        ("expenditure_total", "3708.51"),
        ("year_end_recovery", "226.51"),
        ("budget_execution_rate", "94.24%"),
        ("hq_initial_budget", "331.99"),
        ("hq_final_accounts", "1958.52"),
        ("hq_budget_variance_rate", "489.93%"),
        ("service_matters_completion_rate", "100%"),
        ("case_closure_rate", "100%"),
        ("trading_volume", "76.86"),
        ("hotline_tickets", "25.85万"),
        ("service_items", "9400"),
        ("ganfutong_items", "408"),
        ("query_handling_rate", "99.60%"),
        ("enterprise_policy_items", "270"),
        ("data_update_timeliness", "100%"),
        ("electronic_trading_rate", "100%"),
        ("trading_complaints", "0"),
        ("convenience_improvement_rate", "98.67%"),
        ("supervision_claim_rate", "100%"),
        ("huiqitong_upgrade_rate", "60%"),
        ("intermediary_owners", "1919"),
        ("intermediary_projects", "5809"),
        ("intermediary_publish_rate", "3.03"),
        ("enterprise_policy_coverage_rate", "29.26%"),
        ("functions_count", "11"),
        ("sections_count", "4"),
    ],
)
def test_printed_figure(seed_evaluation, indicator, printed):
    ind = _ind(seed_evaluation, indicator)
    assert ind["display"] == printed
    # A count of zero complaints rests on an empty table: no rows to cite, and that is the evidence.
    assert ind["evidence_rows"] > 0 or ind["value"] == 0, f"{indicator} cites no source rows"


def test_per_unit_findings(seed_evaluation):
    overruns = {
        u["name"]: f"{u['value'] * 100:.2f}%"
        for u in _ind(seed_evaluation, "procurement_overrun_rate")["items"]
    }
    assert overruns == {"景德镇市政务服务中心": "2.64%", "景德镇市政务服务代办中心": "8.38%"}
    low = {
        u["name"]: f"{u['value'] * 100:.2f}%"
        for u in _ind(seed_evaluation, "asset_utilization_rate")["items"]
    }
    assert low == {"景德镇市政务服务中心": "50.19%"}
    estimate = _ind(seed_evaluation, "project_estimate_accuracy")["items"][0]
    assert (estimate["project_budget"], estimate["amount"]) == (840000.0, 108400.0)


def test_register_rules_find_the_seed_asset_problems(seed_evaluation):
    hits = [i["rule"] for i in _ind(seed_evaluation, "asset_safety")["items"]]
    assert hits == [
        "no_label",
        "no_spec_model",
        "quantity_or_name_wrong",
        "lending_unapproved",
        "no_usage_ledger",
        "disposal_overdue",
    ]
    no_ledger = next(
        i for i in _ind(seed_evaluation, "asset_safety")["items"] if i["rule"] == "no_usage_ledger"
    )
    assert [r["unit_code"] for r in no_ledger["rows"]] == ["JDZ001"]


def test_peer_group_mean_comes_from_the_peers_partitions(seed_evaluation):
    ind = _ind(seed_evaluation, "intermediary_publish_rate")
    assert "4个部门" in ind["target_source"] and ind["value"] < ind["target"]


def test_findings_follow_the_seed_structure(seed_evaluation):
    problems = seed_evaluation["problems"]
    assert [g["no"] for g in problems] == ["(一)", "(二)", "(三)", "(四)", "(五)", "(六)"]
    assert [len(g["items"]) for g in problems] == [2, 2, 2, 2, 5, 2]
    assert [r["no"] for r in seed_evaluation["recommendations"]] == [g["no"] for g in problems]
    text = "".join(i["text"] for g in problems for i in g["items"])
    for figure in (
        "331.99 万元",
        "1958.52 万元",
        "489.93%",
        "84.00 万元",
        "10.84 万元",
        "2.64%",
        "8.38%",
        "50.19%",
        "1919 家",
        "5809 项",
        "3.03",
        "29.26%",
        "60%",
        "物业管理、法律咨询、市场中介、园区招商",
        "结余结转管理、负债管理、财务报告和财务分析、财务监督",
        "发改委、自然资源和规划局、普惠金融专区",
        "开展营商环境工作及时性",
        "绩效考评及时性",
        "2024 年 6 月 4 日",
        "十四五",
        "政务服务事项受理数",
        "140 万元",
        "物业管理、法律咨询、市场中介、园区招商",
    ):
        assert figure in text, figure
    cited = {c for g in problems for i in g["items"] for c in i["cites"]}
    assert {"hq_budget_variance_rate", "procurement_overrun_rate", "asset_utilization_rate"} <= cited


def test_narrative_prints_the_profile_and_budget(seed_evaluation):
    basic = seed_evaluation["narrative"]["basic_situation"]
    for figure in (
        "11项职能",
        "预算单位5个",
        "核定编制数为65名",
        "3708.51万元",
        "3935.02万元",
        "226.51万元",
        "办公室、政务服务综合科、行政审批监管科、政务数据管理科",
        "景德镇市12345政务服务便民热线管理中心",
    ):
        assert figure in basic, figure
    header = seed_evaluation["header"]
    assert (header["organizer"], header["evaluator"], header["evaluation_period"]) == (
        "景德镇市财政局",
        "江西优兰德市场研究咨询有限公司",
        "2024年6月",
    )


# Numbers of the seed form that are not figures of the evaluation: a document number (财预〔2021〕101号),
# the hotline's name (12345), the evaluated year and the evaluation date (2023, 2024).
NOT_FIGURES = {"2021", "101", "12345", "2023", "2024"}


def test_every_number_printed_on_the_seed_form_traces_to_a_stored_figure(seed_evaluation, demo_settings):
    import re
    from pathlib import Path

    from conftest import SEED

    from perfeval_pipeline.lineage.trace import PartitionLineage

    text = (Path(__file__).parent / "fixtures" / "seed_feedback_form.txt").read_text(encoding="utf-8")
    numbers = sorted(set(re.findall(r"\d[\d,]*(?:\.\d+)?%?", text)))
    lineage = PartitionLineage(demo_settings, *SEED)
    untraced = [n for n in numbers if n not in NOT_FIGURES and not lineage.resolve(n)]
    assert not untraced, untraced
    assert len(numbers) > 40
