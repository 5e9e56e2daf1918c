"""Reports from result.json: the scoring workbook and the province summary for people (Chinese sheet
names, figures stored as numbers that print as the form prints them, units, rules in words, print
set-up, native charts, Chinese reasons, year-over-year columns, the history sheet), the Word form,
deterministic bytes and file modes.

Most tests render a hand-made result dict (below), built to hold one indicator of every display
kind, including half-way figures where Excel and Python would round differently if the workbook
stored the exact value. The slow tests run a tiny hostile-corpus department (and a blocked copy)
through the pipeline, and the demo seed through the renderers."""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import zipfile
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import openpyxl
import pytest
from conftest import docx_lines, evaluate, make_settings, result_of
from docx import Document
from docx.oxml.ns import qn
from hostile.corpus import YEAR as CORPUS_YEAR
from hostile.corpus import department as corpus_department
from hostile.corpus import write_base
from openpyxl.chart import BarChart, LineChart

from perfeval_pipeline.formatting import display
from perfeval_pipeline.render import chart as chart_module
from perfeval_pipeline.render import render_chart, render_docx, render_summary, render_xlsx
from perfeval_pipeline.render.reasons import reason_in_chinese, reason_text
from perfeval_pipeline.render.stage import reason_names, render_partition, render_year_summary
from perfeval_pipeline.render.workbook import PORTRAIT_WIDTH
from perfeval_pipeline.store import Store

FIXTURES = Path(__file__).parent / "fixtures"
SEED_TEXT = FIXTURES / "seed_feedback_form.txt"
WORKBOOK_SHEETS = ["评分表", "统计指标", "图表", "溯源"]
TREND_SHEET = "历年得分"
# Sheets that are tables: frozen header and repeated header rows when printed.
TABLE_SHEETS = {"评分表", "统计指标", "溯源", TREND_SHEET, "汇总", "等级分布"}
# Words a Chinese reason may still contain: formats, encodings and file-name parts.
ASCII_ALLOWED = {"xlsx", "UTF", "GBK", "csv", "ledger"}


# ---- Excel's rendering of the formats the workbooks use -------------------------------------------


def excel_text(value: object, fmt: str) -> str:
    """The text Excel (and LibreOffice) show for `value` under `fmt`, for the formats the
    workbooks use. Like Excel, rounding is half away from zero on the decimal shown by the value's
    shortest repr (1.005 → '1.01', where Python's f'{1.005:.2f}' gives '1.00')."""
    if isinstance(value, str) or value is None:
        return "" if value is None else value
    if ";" in fmt:
        positive, negative, zero = fmt.split(";")
        fmt = positive if value > 0 else negative if value < 0 else zero
        sign = "" if value >= 0 else "-"
        body = excel_text(abs(value), fmt.lstrip("+-"))
        return ("+" if fmt.startswith("+") else sign if value < 0 else "") + body
    literal = re.findall(r'"([^"]*)"', fmt)
    core = re.sub(r'"[^"]*"', "", fmt)
    percent = core.endswith("%")
    number = Decimal(repr(float(value))) * (100 if percent else 1)
    decimals = len(core.split(".")[1].rstrip("%")) if "." in core else 0
    rounded = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}" if "," in core else f"{rounded:.{decimals}f}"
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]
    return text + ("%" if percent else "") + "".join(literal)


def test_excel_text_emulates_the_formats():
    assert excel_text(0.9424373954897307, "0.00%") == "94.24%"
    assert excel_text(1, "0%") == "100%"
    assert excel_text(3935.02, "0.00") == "3935.02"
    assert excel_text(25.85, '0.00"万"') == "25.85万"
    assert excel_text(258500, "#,##0") == "258,500"
    assert excel_text(-4.44, "+0.00;-0.00;0.00") == "-4.44"
    assert excel_text(5.02, "+0.00;-0.00;0.00") == "+5.02"
    assert excel_text(2023, '0"年"') == "2023年"
    # Excel's half-up rounding, unlike Python's f-string on the binary value:
    assert excel_text(1.005, "0.00") == "1.01" and f"{1.005:.2f}" == "1.00"


# ---- a hand-made result -----------------------------------------------------------------------------


def indicator(iid: str, name: str, level1: str, level2: str, kind: str, value, **extra) -> dict:
    rec = {
        "id": iid,
        "name": name,
        "level1": level1,
        "level2": level2,
        "statistic": "points" not in extra,
        "unit": extra.pop("unit", None),
        "display_kind": kind,
        "value": value,
        "display": display(value, kind),
        "numerator": extra.pop("numerator", None),
        "denominator": extra.pop("denominator", None),
        "reason": extra.pop("reason", None),
        "evidence_rows": extra.pop("evidence_rows", 3),
        "by_unit": [],
        "items": [],
    }
    if "points" in extra:
        points, score = extra.pop("points"), extra.pop("score")
        rec.update(
            {
                "points": points,
                "score": score,
                "deduction": round(points - score, 2),
                "deduction_reason": extra.pop("deduction_reason", None),
                "rule": extra.pop("rule", "proportional"),
                "rule_text": extra.pop("rule_text"),
                "target": extra.pop("target", None),
                "target_source": extra.pop("target_source", None),
                "workpaper_deduction": 0,
                "workpaper_refs": [],
            }
        )
    assert not extra, extra
    return rec


LONG_REASON = (
    "底稿DG2023-01：根据《部门整体支出绩效目标表》存在部门整体绩效目标与部门履职不相关的情况，"
    "如“政务服务事项受理数≥140万件”与各个窗口有关，本局仅做受理数据的统计汇总（扣1分）；"
    "发现3项问题，每项扣0.25分，扣0.75分"
)


def make_result(department: str = "hm-test", year: int = 2023, shift: float = 0.0) -> dict:
    """An evaluated result with one indicator of every display kind; `shift` lowers the scores
    of the first level (another year's result)."""
    inds = [
        indicator(
            "execution_rate",
            "预算执行率",
            "决策",
            "预算执行",
            "percent",
            0.9424373954897307,
            points=5,
            score=round(4.62 - shift, 2),
            target=0.95,
            target_source="指标体系标准值",
            rule_text="低于95%时每个百分点扣0.5分，扣完为止",
            deduction_reason="94.24%低于标准95% 0.76个百分点，每个百分点扣0.5分，扣0.38分",
            numerator=37085100,
            denominator=39350200,
        ),
        indicator(
            "completion_rate",
            "数量指标完成率",
            "决策",
            "产出",
            "percent",
            1.0,
            points=3,
            score=3,
            target=1.0,
            target_source="指标体系标准值",
            rule_text="按完成比例计分（目标值100%），满分为止",
        ),
        indicator(
            "asset_problems",
            "资产管理安全性",
            "决策",
            "资产管理",
            "count",
            6,
            unit="类",
            points=5,
            score=round(3.5 - shift, 2),
            rule="deduct_per_item",
            rule_text="每项问题扣0.25分，扣完为止",
            deduction_reason=LONG_REASON,
        ),
        indicator(
            "publish_rate",
            "网上中介超市户均发布率",
            "效益",
            "社会效益",
            "decimal",
            3.027097446586764,
            points=3,
            score=2.31,
            target=3.929947522623055,
            target_source="四小地市均值（4个部门）",
            rule_text="按完成比例计分（以同组部门均值为目标），满分为止",
            deduction_reason="实际值3.03未达目标值3.93（四小地市均值（4个部门）），按完成比例77.03%计分，扣0.69分",
        ),
        indicator(
            "disclosure",
            "预决算信息公开性",
            "效益",
            "预算管理",
            "boolean",
            1,
            points=2,
            score=2,
            rule_text="满足“≥ 1”得满分，否则不得分",
        ),
        indicator(
            "coverage_rate",
            "企业覆盖率",
            "效益",
            "社会效益",
            "percent",
            None,
            points=3,
            score=0,
            rule_text="按完成比例计分（目标值80%），满分为止",
            deduction_reason="缺少数据，不得分",
            reason="绩效目标表无“企业覆盖率”行",
            evidence_rows=0,
        ),
        indicator("income_total", "本年收入合计", "统计", "统计", "wan", 39350200, numerator=39350200),
        # 10050 元 prints 1.00 (Python rounds the binary 1.00499…); Excel would show 1.01 for 1.005.
        indicator("small_amount", "小额支出", "统计", "统计", "wan", 10050, numerator=10050),
        indicator(
            "tickets", "12345热线受理诉求件", "统计", "统计", "wan_count", 258500, evidence_rows=258500
        ),
        indicator("functions", "职能数", "统计", "统计", "count", 11, unit="项"),
        indicator(
            "fixed_rate", "查询办理率", "统计", "统计", "percent_fixed", 1.0, numerator=2500, denominator=2500
        ),
        indicator(
            "half_rate", "认领率", "统计", "统计", "percent", 0.98765, numerator=19753, denominator=20000
        ),
    ]
    scored = [i for i in inds if not i["statistic"]]
    levels = []
    for name in ("决策", "效益"):
        mine = [i for i in scored if i["level1"] == name]
        levels.append(
            {
                "name": name,
                "points": sum(i["points"] for i in mine),
                "score": round(sum(i["score"] for i in mine), 2),
            }
        )
    level2 = [
        {"level1": i["level1"], "name": i["level2"], "points": i["points"], "score": i["score"]}
        for i in scored
    ]
    total = round(sum(lvl["score"] for lvl in levels), 2)
    return {
        "schema_version": 2,
        "department": department,
        "year": year,
        "status": "evaluated",
        "header": {
            "title": "测试市财政支出绩效评价结果反馈表",
            "organizer": "测试市财政局",
            "department_code": department,
            "department_name": f"测试市{department}局",
            "evaluation_type": "部门整体支出",
            "year": year,
            "year_text": f"{year}年",
            "evaluator": "测试评价机构",
            "evaluation_date": f"{year + 1}-06-04",
            "evaluation_period": f"{year + 1}年6月",
        },
        "framework": {"name": "common", "title": "部门整体支出绩效评价指标体系", "chain": ["common"]},
        "total_score": total,
        "max_points": sum(lvl["points"] for lvl in levels),
        "grade": "良" if total >= 80 else "中" if total >= 60 else "差",
        "levels": levels,
        "level2": level2,
        "indicators": inds,
        "narrative": {"basic_situation": "测试局承担全市测试工作。", "performance": ["预算执行率94.24%。"]},
        "problems": [
            {
                "no": "（一）",
                "title": "预算执行有待加强",
                "items": [{"no": "1.", "text": "预算执行率94.24%。"}],
            }
        ],
        "recommendations": [{"no": "（一）", "title": "加强预算执行", "text": "提高预算执行率。"}],
        "peer_benchmarks": [],
        "rectification": {},
        "quality": {},
    }


def blocked_result(department: str, year: int, reasons: list[str], status: str = "blocked") -> dict:
    key = "blocked_reasons" if status == "blocked" else "failure"
    return {
        "schema_version": 2,
        "department": department,
        "year": year,
        "status": status,
        "header": {"department_name": f"测试市{department}局", "evaluation_date": None},
        key: reasons,
        "quality": None,
    }


# Reasons as quality/ and feeds/ word them (taken from the hostile corpus' results).
ENGLISH_REASONS = [
    "asset_register: 2023/hx-31/asset_register.csv row 1 column original_value: required column 原值 missing "
    "(expected a header 原值 or 资产原值)",
    "transactions: 2023/hx-32/transactions.xlsx: feed 交易与采购 (transactions) not found: expected "
    "transactions.xlsx or transactions.csv",
    "financial: 2023/hx-33/financial.csv: table 支出明细账 (financial.ledger) not found: expected a sheet named "
    "one of ['支出明细账', '明细账', 'ledger'] or a file financial.ledger.csv",
    "asset_register.assets: 固定资产卡片 keeps only 3 of 9 rows (2023/hx-20/asset_register.csv; below "
    "quality.min_kept_share 50%); most common problem: 使用状态 (status) 不在允许值内 (not one of 在用/闲置) (6 rows)",
    "hotline.tickets: 工单明细 keeps 0 of 30 rows (2023/hx-16/hotline.csv); most common problem: 受理时间 "
    "(received_at) 为空 (required) (30 rows)",
    "financial.ledger: 支出明细账 keeps 0 of 0 rows (2023/hx-18/financial.ledger.csv): the table has no data rows",
    "financial: 2023/hx-22/financial.xlsx sheet 预算决算表 row 1 column J, M: the header names 决算数 twice "
    "(columns J and M): keep one",
    "hotline: 2023/hx-25/hotline.csv: is a symbolic link to a file outside the landing folder: refused",
    "asset_register: 2023/hx-28/asset_register.xlsx: would unpack to 520 MB (limit 512 MB, pipeline.yaml "
    "limits.xlsx_max_uncompressed_mb): refused as a possible zip bomb",
    "hotline: 2023/hx-29/hotline.csv: unreadable: not UTF-8 or GBK text",
    "asset_register: 2023/hx-30/asset_register.xlsx: is not a valid xlsx workbook (not a zip package)",
    "financial: 2023/hx-34/financial.csv row 2 column department: 部门编码 says hx-99, the folder is hx-34 "
    "(and 8 more rows): the file belongs to another department or year",
    "hotline: 2023/hx-02/hotline.csv: table 工单明细 (hotline.tickets) comes from 2 places: "
    "2023/hx-02/hotline.csv; 2023/hx-02/hotline.tickets.csv. Keep one (merge the rows into it) so that no "
    "row is counted twice or dropped",
    "financial: 2023/x/financial.csv: changed while the run was reading it: evaluate again once it is complete",
]


def english_words(text: str) -> set[str]:
    """ASCII words left in a text once file paths, codes and numbers are set aside."""
    text = re.sub(r"\S*[/.]\S*", " ", text)  # paths, file names, table codes
    return {w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in ASCII_ALLOWED}


def assert_same_figure(stored: object, ind: dict) -> None:
    """The cell holds the printed figure: the exact value rounded to the printed precision (in the
    printed unit: 万元 for amounts, 万 for wan counts)."""
    kind, value = ind["display_kind"], ind["value"]
    if value is None or kind == "boolean":
        return
    scale = 10000 if kind in ("wan", "wan_count") else 1
    half = {"count": 0.5, "percent": 0.5e-4, "percent_fixed": 0.5e-4}.get(kind, 0.005)
    assert abs(stored - value / scale) <= half + 1e-12, (ind["id"], stored, value)


# ---- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return make_settings(tmp_path_factory.mktemp("settings"))


@pytest.fixture(scope="module")
def result() -> dict:
    return make_result()


@pytest.fixture(scope="module")
def chart_png(result) -> bytes:
    return render_chart(result)  # 1-2 s of matplotlib: drawn once for the tests that do not test it


@pytest.fixture(scope="module")
def history() -> list[dict]:
    return [make_result(year=2022, shift=-0.5), make_result()]


@pytest.fixture(scope="module")
def workbook_path(result, history, tmp_path_factory) -> Path:
    return render_xlsx(result, tmp_path_factory.mktemp("xlsx") / "feedback_form.xlsx", history=history)


@pytest.fixture(scope="module")
def workbook(workbook_path):
    return openpyxl.load_workbook(workbook_path)


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def header_index(ws, header: str, row: int) -> int:
    return [c.value for c in ws[row]].index(header)


def rows_by_name(ws, header_row: int) -> dict[str, tuple]:
    return {r[0].value: r for r in ws.iter_rows(min_row=header_row + 1) if r[0].value}


# ---- the form workbook ----------------------------------------------------------------------------


def test_sheets_are_named_in_chinese_and_hold_no_evidence_rows(workbook, result):
    assert workbook.sheetnames == ["评分表", "统计指标", "图表", TREND_SHEET, "溯源"]
    for name in workbook.sheetnames:
        assert not re.search(r"[A-Za-z]", name), name
    # Evidence stays in the store: the workbook is small whatever the evidence row counts.
    assert sum(ws.max_row for ws in workbook.worksheets) < 3 * len(result["indicators"]) + 40


def test_scored_figures_are_numbers_that_print_as_the_form(workbook, result):
    ws = workbook["评分表"]
    cols = {
        h: header_index(ws, h, 2) for h in ("三级指标", "指标值", "单位", "目标值", "评分规则", "扣分原因")
    }
    by_name = {r[cols["三级指标"]].value: r for r in ws.iter_rows(min_row=3)}
    for ind in (i for i in result["indicators"] if not i["statistic"]):
        row = by_name[ind["name"]]
        value = row[cols["指标值"]]
        kind = ind["display_kind"]
        if ind["value"] is not None and kind != "boolean":
            assert isinstance(value.value, int | float), (ind["id"], value.value)
            assert value.data_type == "n"
        assert excel_text(value.value, value.number_format) == ind["display"], ind["id"]
        assert_same_figure(value.value, ind)
        unit = row[cols["单位"]].value or ""
        assert unit == ("" if kind in ("percent", "percent_fixed", "boolean") else ind["unit"] or ""), ind[
            "id"
        ]
        target = row[cols["目标值"]]
        if ind["target"] is not None:
            assert excel_text(target.value, target.number_format) == display(ind["target"], kind), ind["id"]
        # Rules in words, as scoring words them; no rule codes.
        assert row[cols["评分规则"]].value == ind["rule_text"]
        assert not re.search(r"[a-z]+_[a-z_]+", row[cols["评分规则"]].value)
        assert (row[cols["扣分原因"]].value or None) == ind["deduction_reason"]


def test_totals_and_grade(workbook, result):
    rows = list(workbook["评分表"].iter_rows(min_row=3, values_only=True))
    subtotals = {r[0]: r for r in rows if r[2] == "小计"}
    for level in result["levels"]:
        assert (subtotals[level["name"]][3], subtotals[level["name"]][7]) == (level["points"], level["score"])
    total = next(r for r in rows if r[2] == "合计")
    assert (total[3], total[7], total[8]) == (
        result["max_points"],
        result["total_score"],
        round(result["max_points"] - result["total_score"], 2),
    )
    assert result["grade"] in next(r for r in rows if r[2] == "评价结论")


def test_statistics_carry_units_and_print_as_the_form(workbook, result):
    ws = workbook["统计指标"]
    cols = {h: header_index(ws, h, 1) for h in ("指标值", "单位", "分子", "分母")}
    rows = rows_by_name(ws, 1)
    expected_units = {"wan": "万元", "wan_count": "件", "percent": "", "percent_fixed": ""}
    for ind in (i for i in result["indicators"] if i["statistic"]):
        row = rows[ind["name"]]
        value = row[cols["指标值"]]
        assert isinstance(value.value, int | float)
        assert excel_text(value.value, value.number_format) == ind["display"], ind["id"]
        assert_same_figure(value.value, ind)
        assert (row[cols["单位"]].value or "") == expected_units.get(ind["display_kind"], ind["unit"] or "")
    # 3935.02 万元 (not 39350200 元, not '3,935.02'); its numerator in the same unit.
    income = rows["本年收入合计"]
    assert (income[cols["指标值"]].value, income[cols["单位"]].value) == (3935.02, "万元")
    assert excel_text(income[cols["分子"]].value, income[cols["分子"]].number_format) == "3935.02"
    # The half-way amount: 四舍五入 on the decimal figure, the same in the form and in Excel.
    small = rows["小额支出"][cols["指标值"]]
    assert excel_text(small.value, small.number_format) == display(10050, "wan") == "1.01"


def test_trace_sheet_gives_every_figure_its_command(workbook, result):
    ws = workbook["溯源"]
    cols = {h: header_index(ws, h, 2) for h in ("指标", "指标值", "证据行数", "逐行追溯命令")}
    rows = list(ws.iter_rows(min_row=3))
    assert len(rows) == len(result["indicators"])
    for ind, row in zip(result["indicators"], rows, strict=True):
        assert row[cols["指标"]].value == ind["name"]
        assert excel_text(row[cols["指标值"]].value, row[cols["指标值"]].number_format) == ind["display"]
        assert row[cols["证据行数"]].value == ind["evidence_rows"]
        assert (
            row[cols["逐行追溯命令"]].value
            == f"perfeval trace {result['department']} {result['year']} {ind['id']}"
        )


def test_every_sheet_is_set_up_to_print(workbook):
    for ws in workbook.worksheets:
        setup = ws.page_setup
        assert (int(setup.paperSize), int(setup.fitToWidth), int(setup.fitToHeight)) == (9, 1, 0), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, ws.title
        width = sum(d.width for d in ws.column_dimensions.values())
        # The charts print landscape whatever their tables' width; 溯源, a list, portrait (fit to width).
        wide = "landscape" if width > PORTRAIT_WIDTH else "portrait"
        assert setup.orientation == {"图表": "landscape", "溯源": "portrait"}.get(ws.title, wide), ws.title
        if ws.title in TABLE_SHEETS:
            assert ws.freeze_panes, ws.title
            assert ws.print_title_rows, ws.title


def test_wrapped_text_rows_are_tall_enough(workbook):
    ws = workbook["评分表"]
    col = header_index(ws, "扣分原因", 2)
    width = ws.column_dimensions["J"].width
    assert col == 9 and width < 40
    row = next(r for r in ws.iter_rows(min_row=3) if r[col].value == LONG_REASON)
    assert row[col].alignment.wrap_text
    # At least one 11-point line per 'width' two-unit CJK characters of the reason.
    lines = len(LONG_REASON) * 2 / width
    assert ws.row_dimensions[row[0].row].height >= lines * 14


def test_charts_are_native_excel_charts(workbook_path, workbook, result, history):
    charts = workbook["图表"]._charts
    assert [type(c) for c in charts] == [BarChart, BarChart]
    levels, deductions = charts
    assert len(levels.series) == 2  # 分值 and 得分
    assert len(deductions.series) == 1
    with zipfile.ZipFile(workbook_path) as z:
        names = z.namelist()
    assert sum(n.startswith("xl/charts/chart") for n in names) == 3
    assert not [n for n in names if n.startswith("xl/media/")], "a picture instead of a chart"


def test_history_sheet_tracks_level1_scores_over_the_years(workbook, history):
    ws = workbook[TREND_SHEET]
    header = [c.value for c in ws[1]]
    names = [lvl["name"] for lvl in history[-1]["levels"]]
    assert header == ["年度", *names, "总分", "较上年", "评价结论"]
    rows = list(ws.iter_rows(min_row=2))
    assert [(r[0].value, r[0].number_format) for r in rows] == [(h["year"], '0"年"') for h in history]
    for r, h in zip(rows, history, strict=True):
        assert [c.value for c in r[1 : 1 + len(names)]] == [lvl["score"] for lvl in h["levels"]]
    change = rows[1][header.index("较上年")]
    assert change.value == round(history[1]["total_score"] - history[0]["total_score"], 2)
    assert excel_text(change.value, change.number_format).startswith(("+", "-"))
    [chart] = ws._charts
    assert isinstance(chart, LineChart) and len(chart.series) == len(names)


def test_no_history_sheet_for_a_single_year(result, tmp_path):
    wb = openpyxl.load_workbook(render_xlsx(result, tmp_path / "f.xlsx", history=[result]))
    assert wb.sheetnames == WORKBOOK_SHEETS


def test_formula_text_stays_text(result, tmp_path):
    planted = copy.deepcopy(result)
    evil = '=HYPERLINK("http://evil.example","x")'
    planted["indicators"][0]["deduction_reason"] = evil
    planted["indicators"][0]["name"] = "+cmd|' /C calc'!A0"
    path = render_xlsx(planted, tmp_path / "f.xlsx")
    with zipfile.ZipFile(path) as z:
        for name in (n for n in z.namelist() if n.startswith("xl/worksheets/sheet")):
            assert not re.search(r"<f[ >]", z.read(name).decode("utf-8")), name
    cells = {c.value: c for row in openpyxl.load_workbook(path)["评分表"].iter_rows() for c in row}
    assert cells[evil].data_type == "s" and cells[evil].quotePrefix


def test_no_workbook_or_form_for_a_blocked_result(tmp_path):
    blocked = blocked_result("hm-x", 2023, ["x"])
    with pytest.raises(ValueError, match="blocked"):
        render_xlsx(blocked, tmp_path / "f.xlsx")
    with pytest.raises(ValueError, match="blocked"):
        render_docx(blocked, tmp_path / "f.docx")


# ---- the province summary ------------------------------------------------------------------------


def test_reasons_are_worded_in_chinese(settings):
    names = reason_names(settings)
    for reason in ENGLISH_REASONS:
        text = reason_in_chinese(reason, names)
        assert not text.startswith("其他问题"), (reason, text)
        assert re.search(r"[\u4e00-\u9fff]", text)
        assert not english_words(text), (english_words(text), text)
    # Files, rows and columns are still named: the reader must find the cell.
    assert "第1行" in reason_in_chinese(ENGLISH_REASONS[0], names)
    assert "2023/hx-31/asset_register.csv" in reason_in_chinese(ENGLISH_REASONS[0], names)
    assert "“原值”" in reason_in_chinese(ENGLISH_REASONS[0], names)
    failed = blocked_result("x", 2023, ["score: KeyError: 'points' at scoring/score.py:12 (score)"], "failed")
    assert reason_text(failed, names).startswith("处理出错，未评价：评分阶段出错")
    # A message nobody has worded yet keeps its text behind a Chinese lead.
    assert reason_in_chinese("hotline: something new", names).startswith("其他问题（原文）：")


def summary_rows(path: Path) -> tuple[list, list[tuple]]:
    ws = openpyxl.load_workbook(path)["汇总"]
    return [c.value for c in ws[2]], list(ws.iter_rows(min_row=3, values_only=True))


def test_summary_ranks_explains_and_compares_with_the_previous_year(settings, tmp_path):
    a, b, c = make_result("aa"), make_result("bb", shift=1.0), make_result("cc", shift=3.0)
    blocked = blocked_result("dd", 2023, ENGLISH_REASONS[:2])
    earlier = {
        2021: [],  # a configured year nobody was evaluated for: no columns
        2022: [make_result("aa", 2022, shift=0.5), blocked_result("bb", 2022, ENGLISH_REASONS[2:3])],
    }
    path = render_summary([c, blocked, a, b], earlier, settings.grades, tmp_path / "summary.xlsx")
    header, rows = summary_rows(path)
    assert header[:4] == ["排名", "部门", "总分", "评价结论"]
    assert header[-4:] == ["2022年总分", "2022年结论", "较上年变化", "说明"]
    assert not [h for h in header if h.startswith("2021")]
    assert [r[1] for r in rows] == [f"测试市{d}局" for d in ("aa", "bb", "cc", "dd")]
    assert [r[0] for r in rows] == [1, 2, 3, None]
    col = {h: i for i, h in enumerate(header)}
    aa, bb, cc, dd = rows
    assert aa[col["2022年总分"]] == earlier[2022][0]["total_score"]
    assert aa[col["较上年变化"]] == round(a["total_score"] - earlier[2022][0]["total_score"], 2)
    assert (bb[col["2022年总分"]], bb[col["2022年结论"]], bb[col["较上年变化"]]) == (None, "未评价", None)
    assert cc[col["2022年结论"]] in ("", None)  # not in 2022 at all
    assert dd[col["评价结论"]] == "未评价" and dd[col["总分"]] is None
    reason = dd[col["说明"]]
    assert reason.startswith("数据不符合要求，未评价：") and "缺少必需列“原值”" in reason
    assert not english_words(reason), reason


def test_summary_without_a_previous_year_has_no_trend_columns(settings, tmp_path):
    path = render_summary([make_result("aa")], {2022: []}, settings.grades, tmp_path / "s.xlsx")
    header, _ = summary_rows(path)
    assert header == ["排名", "部门", "总分", "评价结论", "决策", "效益", "说明"]


def test_summary_grade_distribution_and_chart(settings, tmp_path):
    results = [make_result("aa"), make_result("bb", shift=20), blocked_result("dd", 2023, ["x: y"])]
    wb = openpyxl.load_workbook(render_summary(results, {}, settings.grades, tmp_path / "s.xlsx"))
    assert wb.sheetnames == ["汇总", "等级分布"]
    ws = wb["等级分布"]
    dist = {r[0].value: r for r in ws.iter_rows(min_row=2)}
    assert [g for g in dist] == [*(b.grade for b in settings.grades.bands), "未评价"]
    counts = {g: r[2].value for g, r in dist.items()}
    assert sum(counts.values()) == 3 and counts["未评价"] == 1
    assert counts[results[0]["grade"]] >= 1 and counts[results[1]["grade"]] >= 1
    share = dist["未评价"][3]
    assert excel_text(share.value, share.number_format) == display(1 / 3, "percent")
    [chart] = ws._charts
    assert isinstance(chart, BarChart)
    for sheet in wb.worksheets:
        assert sheet.page_setup.fitToWidth == 1 and "&P" in sheet.oddFooter.center.text


# ---- the Word form -------------------------------------------------------------------------------


def test_docx_form_from_a_hand_made_result(result, chart_png, tmp_path):
    path = render_docx(result, tmp_path / "feedback_form.docx", chart=chart_png)
    doc = Document(path)
    header = [[c.text for c in row.cells] for row in doc.tables[0].rows[:4]]
    assert header[0] == ["评价组织机构", "测试市财政局", "评价部门", result["header"]["department_name"]]
    assert header[3] == ["评价分值", display(result["total_score"], "decimal"), "评价结论", result["grade"]]
    text = "".join(docx_lines(path))
    for needle in ("基本情况", "主要绩效情况", "一、存在问题", "二、相关建议", "预算执行有待加强"):
        assert needle in text
    runs = [r for t in doc.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs]
    assert runs and all(r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in runs if r.text)
    assert len(doc.inline_shapes) == 1  # the score chart in the appendix


def test_same_result_gives_identical_bytes(result, chart_png, history, settings, tmp_path):
    # "a" draws its own chart, "b" reuses one drawn before: equal bytes prove the chart deterministic.
    for name, own_chart in (("a", None), ("b", chart_png)):
        render_docx(result, tmp_path / name / "f.docx", chart=own_chart)
        render_xlsx(result, tmp_path / name / "f.xlsx", history=history)
        render_summary([result], {}, settings.grades, tmp_path / name / "s.xlsx")
    for file in ("f.docx", "f.xlsx", "s.xlsx"):
        data = (tmp_path / "a" / file).read_bytes()
        assert data == (tmp_path / "b" / file).read_bytes(), file
        with zipfile.ZipFile(tmp_path / "a" / file) as z:
            # Every entry and the document properties carry the evaluation date, not the clock.
            assert {i.date_time[:3] for i in z.infolist()} == {(2024, 6, 4)}, file
            core = z.read("docProps/core.xml").decode("utf-8")
            stamps = re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]+)<", core)
            assert stamps and all(s.startswith("2024-06-04T00:00:00") for s in stamps), (file, stamps)
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files behind


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_report_files_follow_the_umask(result, chart_png, settings, tmp_path, mask, expected):
    with umask(mask):
        paths = [
            render_docx(result, tmp_path / "f.docx", chart=chart_png),
            render_xlsx(result, tmp_path / "f.xlsx"),
            render_summary([result], {}, settings.grades, tmp_path / "s.xlsx"),
        ]
    for path in paths:
        assert path.stat().st_mode & 0o777 == expected, path.name


def test_chart_fails_clearly_without_a_cjk_font(monkeypatch, result):
    monkeypatch.setattr(chart_module, "CJK_FAMILIES", ("No Such CJK Font",))
    chart_module.cjk_font_family.cache_clear()
    try:
        with pytest.raises(chart_module.CJKFontMissing, match="fonts-noto-cjk"):
            render_chart(result)
    finally:
        chart_module.cjk_font_family.cache_clear()


# ---- through the pipeline: a tiny department, a blocked copy and an earlier year ---------------------

OK, BLOCKED = "hx-render", "hx-render-blocked"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """hx-render (clean) and hx-render-blocked (its transactions feed deleted), evaluated for the
    corpus year under umask 022; both configured for the year before too (no landing there)."""
    root = tmp_path_factory.mktemp("pipeline")
    departments = {
        code: {**corpus_department(code), "years": [CORPUS_YEAR - 1, CORPUS_YEAR]} for code in (OK, BLOCKED)
    }
    settings = make_settings(root, departments)
    for code in (OK, BLOCKED):
        folder = settings.landing_folder(code, CORPUS_YEAR)
        folder.mkdir(parents=True)
        write_base(folder, settings, code)
    for path in settings.landing_folder(BLOCKED, CORPUS_YEAR).glob("transactions*"):
        path.unlink()
    with umask(0o022):
        evaluate(settings, [(OK, CORPUS_YEAR), (BLOCKED, CORPUS_YEAR)])
    return settings


@pytest.mark.slow
def test_every_report_file_is_readable_by_the_group(pipeline):
    files = sorted(p for p in pipeline.reports_dir.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {
        "feedback_form.docx",
        "feedback_form.xlsx",
        "result.json",
        "manifest.json",
        "summary.xlsx",
    } <= names
    wrong = {str(p.relative_to(pipeline.reports_dir)): oct(p.stat().st_mode & 0o777) for p in files}
    assert {k: v for k, v in wrong.items() if v != "0o644"} == {}


@pytest.mark.slow
def test_real_summary_explains_the_blocked_department_in_chinese(pipeline):
    header, rows = summary_rows(pipeline.reports_dir / str(CORPUS_YEAR) / "summary.xlsx")
    blocked = next(r for r in rows if r[header.index("评价结论")] == "未评价")
    reason = blocked[header.index("说明")]
    assert "缺少数据文件“交易与采购”" in reason, reason
    assert not english_words(reason), reason
    assert not [h for h in header if "年总分" in h]  # no earlier year evaluated


@pytest.mark.slow
def test_real_workbook_and_trends_once_a_previous_year_exists(pipeline):
    current = result_of(pipeline, OK, CORPUS_YEAR)
    assert current["status"] == "evaluated"
    # The previous year, as another evaluation would have left it.
    earlier = copy.deepcopy(current)
    earlier["year"] = CORPUS_YEAR - 1
    earlier["header"].update(year=CORPUS_YEAR - 1, year_text=f"{CORPUS_YEAR - 1}年")
    earlier["levels"][0]["score"] = round(earlier["levels"][0]["score"] - 1, 2)
    earlier["total_score"] = round(earlier["total_score"] - 1, 2)
    folder = pipeline.report_folder(OK, CORPUS_YEAR - 1)
    folder.mkdir(parents=True)
    (folder / "result.json").write_text(json.dumps(earlier, ensure_ascii=False), encoding="utf-8")

    form = render_partition(pipeline, Store(pipeline.store_dir), OK, CORPUS_YEAR)
    wb = openpyxl.load_workbook(form.xlsx)
    assert wb.sheetnames == ["评分表", "统计指标", "图表", TREND_SHEET, "溯源"]
    trend = list(wb[TREND_SHEET].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in trend] == [CORPUS_YEAR - 1, CORPUS_YEAR]
    assert trend[1][len(current["levels"]) + 2] == 1.0  # 较上年: +1.00
    ws = wb["评分表"]
    col = header_index(ws, "指标值", 2)
    shown = {r[2].value: excel_text(r[col].value, r[col].number_format) for r in ws.iter_rows(min_row=3)}
    for ind in (i for i in current["indicators"] if not i["statistic"]):
        assert shown[ind["name"]] == ind["display"], ind["id"]

    header, rows = summary_rows(render_year_summary(pipeline, CORPUS_YEAR))
    assert header[-4:] == [f"{CORPUS_YEAR - 1}年总分", f"{CORPUS_YEAR - 1}年结论", "较上年变化", "说明"]
    mine = next(r for r in rows if r[0] == 1)
    assert mine[header.index("较上年变化")] == 1.0


# ---- the demo seed through the renderers (conftest.seed_evaluation, shared with test_golden) ---------


def seed_headings() -> list[str]:
    """The seed's labels and its problem/recommendation group titles, in order."""
    labels = [
        "评价组织机构",
        "评价部门",
        "评价类型",
        "评价年度",
        "评价机构",
        "评价时间",
        "评价分值",
        "评价结论",
    ]
    labels += ["基本情况", "主要绩效情况", "主要问题与建议", "一、存在问题"]
    titles = re.findall(r"[(（][一二三四五六七八九十][)）]\s*([^\n]+)", SEED_TEXT.read_text(encoding="utf-8"))
    half = len(titles) // 2
    return [*labels, *titles[:half], "二、相关建议", *titles[half:]]


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def seed_form(seed_evaluation, tmp_path_factory):
    assert seed_evaluation["status"] == "evaluated", seed_evaluation.get("blocked_reasons")
    folder = tmp_path_factory.mktemp("seed")
    return (
        seed_evaluation,
        render_docx(seed_evaluation, folder / "feedback_form.docx"),
        render_xlsx(seed_evaluation, folder / "feedback_form.xlsx"),
    )


@pytest.mark.slow
def test_seed_form_follows_the_real_form(seed_form):
    _, docx, _ = seed_form
    text = squeeze("".join(docx_lines(docx)))
    pos = 0
    for needle in seed_headings():
        found = text.find(needle, pos)
        assert found >= 0, f"{needle!r} missing or out of order"
        pos = found + len(needle)
    seed = squeeze(re.sub(r"</?p>", "", SEED_TEXT.read_text(encoding="utf-8")))
    assert difflib.SequenceMatcher(None, text, seed, autojunk=False).ratio() >= 0.75


@pytest.mark.slow
def test_seed_workbook_prints_every_figure_as_the_form(seed_form):
    seed, _, xlsx = seed_form
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["评分表"]
    col = header_index(ws, "指标值", 2)
    shown = {r[2].value: excel_text(r[col].value, r[col].number_format) for r in ws.iter_rows(min_row=3)}
    stats = wb["统计指标"]
    shown |= {r[0].value: excel_text(r[1].value, r[1].number_format) for r in stats.iter_rows(min_row=2)}
    for ind in seed["indicators"]:
        assert shown[ind["name"]] == ind["display"], ind["id"]
    total = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[2] == "合计")
    assert total[7] == seed["total_score"]
