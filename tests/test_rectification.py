"""整改跟踪 (issue 15) on the demo's three years of 萍乡市交通运输局 (pxs-jtysj, 2022–2024): each
of last year's problems resolved, improved, unchanged or worse, hand-checked from the two years'
result.json figures (the arithmetic is in the comments); repeated problems said so in 存在问题
("连续两年…", "连续三年…"); `perfeval trace … rectification` shows both years' figures and rows.
Two hand-built departments (the hostile corpus's clean base) evaluated for 2023 have no follow-up
and say why: one's 2022 landing is missing, the other's 2022 is blocked. The form prints
上年评价问题整改情况 only when switched on (departments.yaml or the findings config)."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from conftest import CONFIG, docx_lines, evaluate, make_settings, perfeval_over, result_of
from hostile.corpus import department, write_base

from perfeval_pipeline.findings.rectification import section_on
from perfeval_pipeline.render import render_docx

pytestmark = [pytest.mark.slow, pytest.mark.gx]
DEPT, YEARS = "pxs-jtysj", (2022, 2023, 2024)
MISSING, BLOCKED = "rx-a-missing", "rx-b-blocked"  # 2023 evaluated; 2022 missing / blocked
SECTION = "上年评价问题整改情况"


def shipped_entry(code: str) -> dict:
    return yaml.safe_load((CONFIG / "departments.yaml").read_text(encoding="utf-8"))["departments"][code]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    from perfeval_pipeline.demo import generate_demo

    root = tmp_path_factory.mktemp("rectification")
    departments = {
        # The section switched on for this department (the framework default is off).
        DEPT: {**shipped_entry(DEPT), "rectification_section": True},
        MISSING: {**department(MISSING), "years": [2022, 2023]},
        BLOCKED: {**department(BLOCKED), "years": [2022, 2023], "rectification_section": True},
    }
    settings = make_settings(root, departments)
    generate_demo(settings, departments=[DEPT], years=list(YEARS), workers=2)
    write_base(settings.landing_folder(MISSING, 2023), settings, MISSING)
    for year in (2022, 2023):
        write_base(settings.landing_folder(BLOCKED, year), settings, BLOCKED)
    for f in settings.landing_folder(BLOCKED, 2022).glob("transactions*"):
        f.unlink()
    partitions = [(DEPT, y) for y in YEARS] + [(MISSING, 2023), (BLOCKED, 2022), (BLOCKED, 2023)]
    evaluate(settings, partitions, workers=2)
    return settings


def follow(settings, year: int) -> dict[str, dict]:
    return {r["finding_id"]: r for r in result_of(settings, DEPT, year)["rectification"]["problems"]}


def indicator(settings, year: int, iid: str) -> dict:
    return next(i for i in result_of(settings, DEPT, year)["indicators"] if i["id"] == iid)


def rule_deduction(settings, year: int, iid: str) -> float:
    ind = indicator(settings, year, iid)
    return round(ind["deduction"] - ind["workpaper_deduction"], 2)


def unit_value(settings, year: int, iid: str, unit: str) -> float:
    return next(u["value"] for u in indicator(settings, year, iid)["by_unit"] if u["key"] == unit)


def rule_rows(settings, year: int, rule: str) -> int:
    items = indicator(settings, year, "asset_safety")["items"]
    return next((it["count"] for it in items if it["rule"] == rule), 0)


def listed(settings, year: int) -> set[str]:
    return {
        f for g in result_of(settings, DEPT, year)["problems"] for it in g["items"] for f in it["finding_ids"]
    }


def item_of(settings, year: int, finding_id: str) -> dict:
    return next(
        it
        for g in result_of(settings, DEPT, year)["problems"]
        for it in g["items"]
        if finding_id in it["finding_ids"]
    )


def test_every_year_is_evaluated_and_2022_has_nothing_to_follow(evaluated):
    assert [result_of(evaluated, DEPT, y)["status"] for y in YEARS] == ["evaluated"] * 3
    first = result_of(evaluated, DEPT, 2022)["rectification"]
    assert not first["available"] and first["reason"] == "2021年不在本部门的评价年度内"
    assert first["problems"] == []


# 2023 against 2022. Figures from the two result.json files (indicator value, rule deduction =
# deduction − workpaper deduction, per-unit value, rows of an asset rule):
EXPECTED_2023 = {
    # 本级预决算差异率 11.92% → 82.49%: band ≤30% (3 of 4 points, −1.00) → band ≤100% (1.5, −2.50).
    "hq_budget_variance_rate": "worse",
    # 预算执行率 92.36% → 92.96%: (95 − 92.36) × 0.5 = 1.32 → (95 − 92.96) × 0.5 = 1.02, still listed.
    "budget_execution_rate": "improved",
    # 管理制度 missing parts 3 (负债管理, 内部控制, 合同履行) → 1 (资产清查盘点): 0.75 → 0.25.
    "financial_rules_completeness": "improved",
    # 局本级 procurement 1.65% over budget → −3.36% (under budget): no longer an overrun item.
    "procurement_overrun_rate@PXSJ001": "resolved",
    # 执法支队 7.73% → 3.44% over budget: still an item, smaller overrun.
    "procurement_overrun_rate@PXSJ003": "improved",
    # 未贴标签 2 → 4 cards; 未登记规格型号 1 → 5; 数量名称不符 3 → 2; 出借无审批 1 → 0; 逾期未处置 2 → 0.
    "asset_safety:no_label": "worse",
    "asset_safety:no_spec_model": "worse",
    "asset_safety:quantity_or_name_wrong": "improved",
    "asset_safety:lending_unapproved": "resolved",
    "asset_safety:disposal_overdue": "resolved",
    # Workpaper: 资金使用与批复用途不一致 recorded again (DG2023-02); 拨付手续 and 报销凭证 not again.
    "wp:use_not_as_approved": "unchanged",
    "wp:payment_procedure_incomplete": "resolved",
    "wp:reimbursement_docs_missing": "resolved",
    "wp:planning_no_schedule": "resolved",
    # 绩效目标 成本/效益/满意度 96.51%, 98.33%, 89.62% → 100% each: deductions 0.03, 0.13, 0.31 → 0.
    "output_cost": "resolved",
    "effect_targets": "resolved",
    "satisfaction_targets": "resolved",
    # “三公经费”变动率 −5.30% (no deduction, not a problem) → 7.66%: 7.66 × 0.5 = 3.83, capped at 2.
    "three_public_change_rate": "new",
    # 局本级 utilization 94.40% → 52.20% (below the 60% flag; the department's 80.06% is not deducted).
    "asset_utilization_rate@PXSJ001": "new",
}

# 2024 against 2023.
EXPECTED_2024 = {
    # Resolved: 本级预决算差异率 82.49% (−2.50) → 8.83%, band ≤10%: full 4 points.
    "hq_budget_variance_rate": "resolved",
    # Recurs unchanged: “三公经费”变动率 7.66% → 5.80%, both capped: min(7.66×0.5, 2) = min(5.80×0.5, 2) = 2.
    "three_public_change_rate": "unchanged",
    # Gets worse: missing 管理制度 parts 1 → 2 (负债管理, 合同履行): 0.25 → 0.50.
    "financial_rules_completeness": "worse",
    # Gets worse: 未贴标签 4 → 5 cards.
    "asset_safety:no_label": "worse",
    "asset_safety:no_spec_model": "improved",  # 5 → 3
    "asset_safety:quantity_or_name_wrong": "unchanged",  # 2 → 2
    # 预算执行率 92.96% → 93.19%: 1.02 → (95 − 93.19) × 0.5 = 0.905, stored 0.90; a third year.
    "budget_execution_rate": "improved",
    # 重点工作完成率 64.29% → 76.47%: 0.71 → 0.47 — still deducted, now under the 0.5 threshold of
    # 存在问题, so not listed: improved, not resolved (it does not meet its standard).
    "key_task_completion_rate": "improved",
    # 局本级 utilization 52.20% → 59.99%: better, still under the 60% flag.
    "asset_utilization_rate@PXSJ001": "improved",
    # 执法支队 procurement 3.44% → −0.55%: no overrun.
    "procurement_overrun_rate@PXSJ003": "resolved",
    # Targets 100% again: 质量 96.84% → 100%, 时效 99.43% → 100%.
    "output_quality": "resolved",
    "output_timeliness": "resolved",
    "target_clarity": "resolved",  # 2 vague targets → 0
    "wp:use_not_as_approved": "resolved",  # not recorded in 2024's workpaper
    "asset_utilization_rate@PXSJ002": "new",  # 83.81% → 52.67%
    "disclosure": "new",  # 是 → 否
}


@pytest.mark.parametrize("year,expected", [(2023, EXPECTED_2023), (2024, EXPECTED_2024)])
def test_statuses_are_the_hand_checked_ones(evaluated, year, expected):
    got = follow(evaluated, year)
    assert {fid: got[fid]["status"] for fid in expected if fid in got} == expected
    # Every finding of last year is followed up exactly once; every new one is this year's.
    assert {f for f, r in got.items() if r["status"] != "new"} == listed(evaluated, year - 1)
    assert {f for f, r in got.items() if r["status"] == "new"} == listed(evaluated, year) - listed(
        evaluated, year - 1
    )


def test_the_figures_behind_the_statuses(evaluated):
    """The comments above, checked against the result.json files (not the follow-up)."""
    s = evaluated
    assert (
        rule_deduction(s, 2022, "hq_budget_variance_rate"),
        rule_deduction(s, 2023, "hq_budget_variance_rate"),
    ) == (1.0, 2.5)
    assert rule_deduction(s, 2024, "hq_budget_variance_rate") == 0.0
    assert indicator(s, 2024, "hq_budget_variance_rate")["display"] == "8.83%"
    assert [indicator(s, y, "three_public_change_rate")["display"] for y in YEARS] == [
        "-5.30%",
        "7.66%",
        "5.80%",
    ]
    assert [rule_deduction(s, y, "three_public_change_rate") for y in YEARS] == [0.0, 2.0, 2.0]
    assert [rule_deduction(s, y, "budget_execution_rate") for y in YEARS] == [1.32, 1.02, 0.9]
    assert [rule_deduction(s, y, "financial_rules_completeness") for y in YEARS] == [0.75, 0.25, 0.5]
    assert [rule_deduction(s, y, "key_task_completion_rate") for y in (2023, 2024)] == [0.71, 0.47]
    assert [rule_rows(s, y, "no_label") for y in YEARS] == [2, 4, 5]
    assert [rule_rows(s, y, "lending_unapproved") for y in YEARS] == [1, 0, 1]
    assert [round(unit_value(s, y, "procurement_overrun_rate", "PXSJ003"), 4) for y in YEARS] == [
        0.0773,
        0.0344,
        -0.0055,
    ]
    assert [round(unit_value(s, y, "asset_utilization_rate", "PXSJ001"), 4) for y in YEARS] == [
        0.944,
        0.522,
        0.5999,
    ]
    threshold = s.findings["jtys"].threshold
    assert threshold == 0.5 and rule_deduction(s, 2024, "key_task_completion_rate") < threshold


def test_a_row_carries_both_years_figures_and_what_was_compared(evaluated):
    got = follow(evaluated, 2024)
    hq = got["hq_budget_variance_rate"]
    assert (hq["previous_display"], hq["current_display"]) == ("82.49%", "8.83%")
    assert (hq["previous_deduction"], hq["current_deduction"]) == (2.5, 0.0)
    assert hq["previous_item"] == "(二)(1) 部门本级预决算差异率偏高" and hq["current_item"] is None
    label = got["asset_safety:no_label"]
    assert (label["previous_value"], label["current_value"]) == (4, 5) and "4 → 5" in label["basis"]
    assert label["current_item"].startswith("(四)(1) ")
    unit = got["asset_utilization_rate@PXSJ001"]
    assert (unit["previous_display"], unit["current_display"]) == ("局本级52.20%", "局本级59.99%")
    tasks = got["key_task_completion_rate"]
    assert tasks["current_item"] is None and "门槛" in tasks["basis"]
    wp = got["wp:use_not_as_approved"]
    assert wp["finding_kind"] == "workpaper" and wp["previous_value"] is None and wp["current_value"] is None
    stored = evaluated.store_dir
    assert any(stored.rglob("rectification*")), "the follow-up is stored as a dataset too"


def test_repeated_problems_say_so_in_the_problem_text(evaluated):
    s = evaluated
    # 2023: 预决算差异率 listed in 2022 and 2023, worse.
    hq = item_of(s, 2023, "hq_budget_variance_rate")
    assert hq["repeated"] == {
        "previous_year": 2022,
        "years": 2,
        "status": "worse",
        "finding_ids": ["hq_budget_variance_rate"],
    }
    assert hq["text"].endswith("连续两年存在该问题（2022年评价已指出），且较上年有所恶化。")
    # 2024: “三公经费” listed in 2023 and 2024 (not 2022), unchanged.
    three = item_of(s, 2024, "three_public_change_rate")
    assert three["text"].endswith("连续两年存在该问题（2023年评价已指出），未见整改。")
    # 2024: 预算执行率 listed in all three years, improved.
    execution = item_of(s, 2024, "budget_execution_rate")
    assert execution["repeated"]["years"] == 3
    assert execution["text"].endswith(
        "连续三年存在该问题（2022—2023年评价均已指出），虽有所改善但仍未整改到位。"
    )
    # An item of several findings takes the worst: 资产 no_label worse, no_spec_model improved.
    assets = item_of(s, 2024, "asset_safety:no_label")
    assert assets["repeated"]["status"] == "worse" and "连续三年" in assets["text"]
    # New problems are not said to repeat; the stored findings carry the same text as result.json.
    assert "repeated" not in item_of(s, 2024, "disclosure")
    assert "连续" not in item_of(s, 2024, "disclosure")["text"]
    assert not any("repeated" in it for g in result_of(s, DEPT, 2022)["problems"] for it in g["items"])


def test_no_follow_up_when_the_previous_year_is_missing_or_blocked(evaluated):
    missing = result_of(evaluated, MISSING, 2023)
    assert missing["status"] == "evaluated"
    assert missing["rectification"] == {
        "previous_year": 2022,
        "available": False,
        "reason": "2022年尚未评价（无评价结果）",
        "section": False,
        "problems": [],
    }
    before = result_of(evaluated, BLOCKED, 2022)
    assert before["status"] == "blocked"
    assert any("transactions" in reason for reason in before["blocked_reasons"])
    blocked = result_of(evaluated, BLOCKED, 2023)["rectification"]
    assert blocked["available"] is False and blocked["problems"] == [] and blocked["section"] is True
    # The reason quotes the first of 2022's blocked reasons (its rows also say 2023: the corpus's).
    assert blocked["reason"] == f"2022年评价未完成（blocked）：{before['blocked_reasons'][0]}"
    assert f"2022/{BLOCKED}/" in blocked["reason"]
    for code in (MISSING, BLOCKED):
        assert not any(
            "repeated" in it for g in result_of(evaluated, code, 2023)["problems"] for it in g["items"]
        )


def section_of(lines: list[str]) -> list[str]:
    """The lines of the 整改 section: after its heading, up to the end of its table cell."""
    heading = next(i for i, line in enumerate(lines) if SECTION in line)
    end = next((i for i in range(heading + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[heading + 1 : end]


def test_the_form_prints_the_section_only_when_switched_on(evaluated, tmp_path):
    form = docx_lines(evaluated.report_folder(DEPT, 2024) / "feedback_form.docx")
    assert sum(SECTION in line for line in form) == 1
    section = section_of(form)
    # One line per of last year's problem findings (new ones are not last year's), in order.
    old = [r for r in result_of(evaluated, DEPT, 2024)["rectification"]["problems"] if r["status"] != "new"]
    assert len(section) == len(old) == 16
    assert section[2] == "(3) 部门本级预决算差异率偏高：已整改（上年82.49%，本年8.83%）。"
    assert section[3] == "(4) “三公经费”变动率未达标准：未整改（上年7.66%，本年5.80%）。"
    # A rule's and a unit's figure say what they are of.
    assert "(9) 资产管理不够精细化：有所恶化（上年未贴标签4处，本年未贴标签5处）。" in section
    assert "(12) 固定资产利用率偏低：有所改善（上年局本级52.20%，本年局本级59.99%）。" in section
    # Switched on but nothing to follow: the form says why.
    blocked = docx_lines(evaluated.report_folder(BLOCKED, 2023) / "feedback_form.docx")
    assert [line for line in section_of(blocked) if line] == [
        "无上年评价结果可供对照：" + result_of(evaluated, BLOCKED, 2023)["rectification"]["reason"]
    ]
    # Off (the findings default): no section, whether or not there is a follow-up.
    assert not any(
        SECTION in line for line in docx_lines(evaluated.report_folder(MISSING, 2023) / "feedback_form.docx")
    )
    result = result_of(evaluated, DEPT, 2024)
    result["rectification"]["section"] = False
    off = render_docx(result, tmp_path / "off.docx")
    assert not any(SECTION in line for line in docx_lines(off))


def test_the_switch_is_the_department_then_the_findings_default(tmp_path):
    def default_on(config):
        path = config / "findings" / "common.yaml"
        text = path.read_text(encoding="utf-8")
        assert "rectification_section: false" in text
        path.write_text(
            text.replace("rectification_section: false", "rectification_section: true"), encoding="utf-8"
        )

    shipped = make_settings(tmp_path / "a")
    assert not section_on(shipped, "pxs-jtysj") and not section_on(shipped, "jdz-zwsjj")
    on = make_settings(
        tmp_path / "b", {"pxs-jtysj": {**shipped_entry("pxs-jtysj"), "rectification_section": True}}
    )
    assert section_on(on, "pxs-jtysj") and not section_on(on, "pxs-zwsjj")
    framework = make_settings(
        tmp_path / "c",
        {"pxs-zwsjj": {**shipped_entry("pxs-zwsjj"), "rectification_section": False}},
        edit=default_on,
    )
    assert section_on(framework, "pxs-jtysj") and section_on(framework, "jdz-zwsjj")
    assert not section_on(framework, "pxs-zwsjj")


# ------------------------------------------------------------------------------------- lineage
def trace(capsys, monkeypatch, settings, *argv: str) -> tuple[int, str]:
    return perfeval_over(capsys, monkeypatch, settings, "trace", *argv)


def test_trace_of_a_follow_up_shows_both_years_values_and_rows(evaluated, capsys, monkeypatch):
    code, out = trace(capsys, monkeypatch, evaluated, DEPT, "2024", "rectification:hq_budget_variance_rate")
    assert code == 0, out
    assert "hq_budget_variance_rate · 预决算差异率 (indicator) — 已整改 resolved" in out
    assert re.search(r"2023 +value 82\.49% +deduction 2\.50 +item \(二\)\(1\) 部门本级预决算差异率偏高", out)
    assert re.search(r"2024 +value 8\.83% +deduction 0\.00 +\(not listed\)", out)
    assert "✓ the follow-up's figure and deduction are 2023's stored ones" in out
    # Each year's whole trace, with its landing rows, recomputed.
    assert f"2023/{DEPT}/financial.xlsx" in out and f"2024/{DEPT}/financial.xlsx" in out
    assert out.count("✓ matches the stored value") == 2


def test_trace_of_a_rule_finding_lists_that_rules_rows_of_each_year(evaluated, capsys, monkeypatch):
    code, out = trace(
        capsys, monkeypatch, evaluated, DEPT, "2024", "asset_safety:no_label", "--format", "json"
    )
    assert code == 0
    (finding,) = json.loads(out)["findings"]
    assert finding["status"] == "worse" and finding["kind"] == "rule"
    prev, cur = finding["previous"], finding["current"]
    assert (prev["year"], prev["figure"], prev["rows_total"]) == (2023, 4, 4)
    assert (cur["year"], cur["figure"], cur["rows_total"]) == (2024, 5, 5)
    assert {r["role"] for r in prev["rows"] + cur["rows"]} == {"no_label"}
    assert all(
        r["file"].startswith(f"{r_year}/{DEPT}/asset_register")
        for y in (prev, cur)
        for r_year, r in [(y["year"], r) for r in y["rows"]]
    )
    assert all(r["cells"]["label_attached"] == "否" and r["hash_ok"] for r in prev["rows"] + cur["rows"])


def test_trace_of_the_whole_follow_up_and_of_a_workpaper_finding(evaluated, capsys, monkeypatch):
    code, out = trace(capsys, monkeypatch, evaluated, DEPT, "2023", "wp:use_not_as_approved")
    assert code == 0
    assert "未整改 unchanged" in out and "评价组本年再次记录该底稿问题" in out
    # The workpaper rows of both years, with the evaluator's text.
    assert f"2022/{DEPT}/evaluation.xlsx 工作底稿" in out and f"2023/{DEPT}/evaluation.xlsx 工作底稿" in out
    assert out.count("问题编码='use_not_as_approved'") == 2
    code, out = trace(capsys, monkeypatch, evaluated, DEPT, "2024", "rectification", "--format", "json")
    assert code == 0
    findings = json.loads(out)["findings"]
    assert {f["finding_id"]: f["status"] for f in findings} == {
        r["finding_id"]: r["status"] for r in result_of(evaluated, DEPT, 2024)["rectification"]["problems"]
    }
    assert all(f["previous"]["consistent"] and f["current"]["consistent"] for f in findings)


def test_trace_without_a_follow_up_says_why(evaluated, capsys, monkeypatch):
    code, out = trace(capsys, monkeypatch, evaluated, MISSING, "2023", "rectification")
    assert code == 2 and out.startswith("perfeval: trace: ")
    assert "no 整改 follow-up of 2022: 2022年尚未评价（无评价结果）" in out
    code, out = trace(capsys, monkeypatch, evaluated, DEPT, "2024", "asset_safety:no_lable")
    assert code == 2 and "did you mean 'asset_safety:no_label'" in out
