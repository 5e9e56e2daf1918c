"""The form's workbook, for people: 评分表 (the indicator tree with points, values, targets, scores
and the reasons for every deduction), 统计指标, 图表 (native Excel charts), 历年得分 when earlier
years exist, and 溯源 (how to trace each figure). Values are numbers with number formats and units,
rules are in words, and every sheet is set up to print: A4, fit to width, header rows repeated.

The evidence rows stay in the store (millions of rows for a big hotline); 溯源 gives, per figure,
the command that lists them."""

from __future__ import annotations

from pathlib import Path

from openpyxl.chart import BarChart, LineChart, Reference

from perfeval_pipeline.formatting import DISPLAY_UNITS, number_format
from perfeval_pipeline.render.package import document_time
from perfeval_pipeline.render.workbook import (
    INTEGER,
    SCORE,
    TITLE,
    TOTAL,
    WRAP,
    append,
    cell,
    header_row,
    new_workbook,
    save_workbook,
    sheet,
)

SCORE_SHEET, STAT_SHEET, CHART_SHEET, TREND_SHEET, TRACE_SHEET = (
    "评分表",
    "统计指标",
    "图表",
    "历年得分",
    "溯源",
)
SCORE_HEADERS = [
    "一级指标",
    "二级指标",
    "三级指标",
    "分值",
    "指标值",
    "单位",
    "目标值",
    "得分",
    "扣分",
    "扣分原因",
    "评分规则",
    "目标来源",
]
SCORE_WIDTHS = [8, 11, 24, 6, 11, 6, 10, 7, 7, 48, 30, 30]
STAT_HEADERS = ["统计指标", "指标值", "单位", "分子", "分母", "证据行数", "说明"]
STAT_WIDTHS = [34, 14, 8, 16, 16, 10, 40]
TRACE_HEADERS = ["指标", "指标值", "证据行数", "逐行追溯命令"]
TRACE_WIDTHS = [34, 14, 10, 60]


def workbook_value(ind: dict) -> tuple[object, str, str]:
    """(value as stored in the cell, number format, unit) as the form prints the figure."""
    kind, value = ind.get("display_kind", "decimal"), ind.get("value")
    unit = DISPLAY_UNITS.get(kind) if kind in DISPLAY_UNITS else (ind.get("unit") or "")
    if value is None:
        return None, "@", unit or ""
    if kind == "wan":
        return round(value / 10000, 6), number_format(kind), "万元"
    if kind == "boolean":
        return ("是" if value else "否"), "@", ""
    if kind in ("percent", "percent_fixed"):
        return value, number_format(kind, value), "%"
    return value, number_format(kind, value), unit or ("件" if kind == "wan_count" else "")


def trace_command(result: dict, indicator_id: str) -> str:
    return f"perfeval trace {result['department']} {result['year']} {indicator_id}"


def _score_sheet(wb, result: dict) -> None:
    ws = sheet(wb, SCORE_SHEET, SCORE_WIDTHS, freeze="D3", header_rows="1:2")
    h = result["header"]
    append(
        ws, [cell(ws, f"{h['department_name']} {h['year_text']} {result['framework']['title']}", style=TITLE)]
    )
    header_row(ws, SCORE_HEADERS)
    rows = 2
    scored = [i for i in result["indicators"] if not i["statistic"]]
    for level in result["levels"]:
        for ind in (i for i in scored if i["level1"] == level["name"]):
            value, fmt, unit = workbook_value(ind)
            target = ind.get("target")
            target_fmt = fmt if target is not None and ind.get("display_kind") != "wan" else SCORE
            append(
                ws,
                [
                    ind["level1"],
                    ind["level2"],
                    cell(ws, ind["name"], style=WRAP),
                    (ind["points"], SCORE),
                    (value, fmt),
                    unit,
                    (target, target_fmt),
                    (ind["score"], SCORE),
                    (ind["deduction"], SCORE),
                    cell(ws, ind.get("deduction_reason") or "", style=WRAP),
                    cell(ws, ind.get("rule_text") or "", style=WRAP),
                    cell(ws, ind.get("target_source") or "", style=WRAP),
                ],
            )
            rows += 1
        _total_row(ws, level["name"], "小计", level["points"], level["score"])
        rows += 1
    ws.auto_filter.ref = f"A2:L{rows}"
    _total_row(ws, "", "合计", result["max_points"], result["total_score"])
    append(ws, [None, None, "评价结论", *[None] * 4, result["grade"], None], TOTAL)


def _total_row(ws, level1: str, label: str, points: float, score: float) -> None:
    lost = round(points - score, 2)
    cells = {1: level1, 3: label, 4: (points, SCORE), 8: (score, SCORE), 9: (lost, SCORE)}
    append(ws, [cells.get(col) for col in range(1, 10)], TOTAL)


def _statistics_sheet(wb, result: dict) -> None:
    ws = sheet(wb, STAT_SHEET, STAT_WIDTHS, freeze="A2", header_rows="1:1")
    header_row(ws, STAT_HEADERS)
    for ind in (i for i in result["indicators"] if i["statistic"]):
        value, fmt, unit = workbook_value(ind)
        scale = 10000 if ind.get("display_kind") == "wan" else 1
        num = ind["numerator"] / scale if ind.get("numerator") is not None else None
        den = ind["denominator"] / scale if ind.get("denominator") is not None else None
        append(
            ws,
            [
                cell(ws, ind["name"], style=WRAP),
                (value, fmt),
                unit,
                (num, "#,##0.00"),
                (den, "#,##0.00"),
                (ind["evidence_rows"], INTEGER),
                cell(ws, ind.get("reason") or "", style=WRAP),
            ],
        )


def _chart_sheet(wb, result: dict) -> None:
    """Native charts: the level-1 scores against their points, and the largest deductions."""
    from perfeval_pipeline.render.chart import largest_deductions

    ws = sheet(wb, CHART_SHEET, [14, 10, 10, 30, 10], landscape=True)
    header_row(ws, ["一级指标", "分值", "得分"])
    levels = result["levels"]
    for lvl in levels:
        append(ws, [lvl["name"], (lvl["points"], SCORE), (lvl["score"], SCORE)])
    append(ws, [])
    deductions = largest_deductions(result)
    start = len(levels) + 3
    header_row(ws, ["主要扣分指标", "扣分"])
    for ind in deductions:
        append(ws, [ind["name"], (ind["deduction"], SCORE)])
    bars = BarChart()
    bars.type, bars.title, bars.y_axis.title = "bar", "一级指标得分", "分"
    bars.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=1, max_row=len(levels) + 1), titles_from_data=True
    )
    bars.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(levels) + 1))
    bars.height, bars.width = 7.5, 14
    ws.add_chart(bars, "D2")
    if deductions:
        lost = BarChart()
        lost.type, lost.title, lost.legend = "bar", "主要扣分指标", None
        lost.add_data(
            Reference(ws, min_col=2, min_row=start, max_row=start + len(deductions)), titles_from_data=True
        )
        lost.set_categories(Reference(ws, min_col=1, min_row=start + 1, max_row=start + len(deductions)))
        lost.height, lost.width = 7.5, 14
        ws.add_chart(lost, "D18")


def _trend_sheet(wb, history: list[dict]) -> None:
    """Level-1 scores over the years evaluated so far, with a line chart."""
    names = list(dict.fromkeys(lvl["name"] for r in history for lvl in r["levels"]))
    ws = sheet(wb, TREND_SHEET, [10, *[10] * (len(names) + 2)], freeze="B2", header_rows="1:1")
    header_row(ws, ["年度", *names, "总分", "评价结论"])
    for r in history:
        by_name = {lvl["name"]: lvl["score"] for lvl in r["levels"]}
        append(
            ws,
            [
                str(r["year"]),
                *[(by_name.get(n), SCORE) for n in names],
                (r["total_score"], SCORE),
                r["grade"],
            ],
        )
    chart = LineChart()
    chart.title, chart.y_axis.title = "一级指标得分（历年）", "分"
    chart.add_data(
        Reference(ws, min_col=2, max_col=len(names) + 1, min_row=1, max_row=len(history) + 1),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(history) + 1))
    chart.height, chart.width = 7.5, 14
    ws.add_chart(chart, f"A{len(history) + 4}")


def _trace_sheet(wb, result: dict) -> None:
    ws = sheet(wb, TRACE_SHEET, TRACE_WIDTHS, freeze="A3", header_rows="2:2")
    append(ws, [cell(ws, "每个数字都可追溯到落地文件的具体行：在命令行运行右列命令", style=TITLE)])
    header_row(ws, TRACE_HEADERS)
    for ind in result["indicators"]:
        append(
            ws,
            [ind["name"], ind["display"], (ind["evidence_rows"], INTEGER), trace_command(result, ind["id"])],
        )


def render_xlsx(
    result: dict, out_path: Path, *, history: list[dict] | None = None, mode: int = 0o666
) -> Path:
    """Write the scoring workbook of an evaluated result; `history`: this department's evaluated
    results of every year so far, oldest first (a 历年得分 sheet when there are two or more)."""
    if result.get("status") != "evaluated":
        raise ValueError(
            f"{result.get('department')} {result.get('year')}: no workbook for a {result.get('status')!r} result"
        )
    wb = new_workbook()
    _score_sheet(wb, result)
    _statistics_sheet(wb, result)
    _chart_sheet(wb, result)
    if history and len(history) > 1:
        _trend_sheet(wb, history)
    _trace_sheet(wb, result)
    h = result["header"]
    return save_workbook(
        wb, out_path, document_time(h), f"{h['title']} {h['department_name']} {h['year_text']}", mode
    )
