"""The form's workbook, for people: 评分表 (the indicator tree with points, values, targets, scores
and the reasons for every deduction), 统计指标, 图表 (native Excel charts), 历年得分 when earlier
years exist, and 溯源 (how to trace each figure). Figures are numbers with number formats and units
that Excel shows exactly as the form prints them (`workbook_value`), rules are in words, and every
sheet is set up to print: A4, fit to width, header rows repeated, wrapped text in rows tall enough
for it, the sheet's name above and the page number below.

The evidence rows stay in the store (millions of rows for a big hotline); 溯源 gives, per figure,
the command that lists them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment

from perfeval_pipeline.formatting import DISPLAY_UNITS, DISPLAYS, MISSING, display, missing, number_format
from perfeval_pipeline.render.chart import largest_deductions
from perfeval_pipeline.render.package import document_time
from perfeval_pipeline.render.workbook import (
    CHANGE,
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
# 164 units: landscape A4 at about 85 %; the three text columns wrap (row heights: workbook.append).
SCORE_WIDTHS = [9, 10, 20, 7, 10, 5, 9, 7, 7, 36, 24, 20]
STAT_HEADERS = ["统计指标", "指标值", "单位", "分子", "分母", "证据行数", "说明"]
STAT_WIDTHS = [30, 12, 6, 14, 14, 10, 30]
TREND_HEADERS_AFTER = ["总分", "较上年", "评价结论"]
TRACE_HEADERS = ["指标", "指标值", "单位", "证据行数", "逐行追溯命令"]
TRACE_WIDTHS = [36, 12, 6, 10, 62]
YEAR_FORMAT = '0"年"'
RIGHT = Alignment(horizontal="right", vertical="center")
# How a count in 万 prints ('25.85万', formatting.wan_count) once the cell holds it divided by 10 000.
WAN_COUNT_FORMAT = '0.00"万"'


def _printed_number(text: str) -> float:
    """The number a printed figure shows: '94.24%' → 0.9424, '3935.02' → 3935.02, '25.85万' → 25.85."""
    text = text.replace(",", "").strip()
    if text.endswith("%"):
        return float(Decimal(text[:-1]) / 100)
    return float(Decimal(text.removesuffix("万")))


def workbook_value(value: float | None, kind: str, unit: str | None = None) -> tuple[object, str, str]:
    """(cell value, number format, unit) of a figure as the form prints it.

    The cell holds the figure the form prints (formatting.display), as a number at the printed
    precision, so Excel shows exactly the printed text (no half-way case rounds differently) and a
    column sums to the sum of what is printed: amounts in 万元 ('3935.02' → 3935.02, unit 万元),
    percentages as fractions with a % format ('94.24%' → 0.9424, '0.00%'; '100%' → 1, '0%'; no unit),
    counts in 万 as '25.85万' (25.85, '0.00"万"'). The exact values stay in result.json."""
    text = display(value, kind) if kind in DISPLAYS else display(value, "decimal")
    unit = DISPLAY_UNITS[kind] if DISPLAY_UNITS.get(kind) else (unit or "")
    if missing(value):
        return MISSING, "@", unit
    if kind == "boolean":
        return text, "@", ""
    number = _printed_number(text)
    if kind in ("percent", "percent_fixed"):  # the % is in the format: no unit beside it
        return number, number_format(kind, number), ""
    if kind == "wan":
        return number, "0.00", unit
    if kind == "wan_count":
        return number, WAN_COUNT_FORMAT, unit
    if kind == "count":
        return number, "0", unit
    return number, "0.00", unit


def indicator_value(ind: dict) -> tuple[object, str, str]:
    return workbook_value(ind.get("value"), ind.get("display_kind", "decimal"), ind.get("unit"))


def _amount(x: float | None, kind: str) -> tuple[object, str]:
    """A numerator or denominator: 万元 for amounts (as the value), whole or two-decimal otherwise."""
    if missing(x):
        return None, "General"
    if kind == "wan":
        return workbook_value(x, "wan")[:2]
    return x, ("0" if float(x).is_integer() else "0.00")


def _value(ws, value: object, fmt: str):
    """A figure's cell: a number with its format, or a word ('是', '—') aligned as figures are."""
    if isinstance(value, str):
        c = cell(ws, value, fmt)
        c = c if isinstance(c, Cell) else WriteOnlyCell(ws, c)
        c.alignment = RIGHT
        return c
    return (value, fmt)


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
            value, fmt, unit = indicator_value(ind)
            target, target_fmt, _ = workbook_value(ind.get("target"), ind.get("display_kind", "decimal"))
            if ind.get("target") is None:
                target, target_fmt = None, "General"
            append(
                ws,
                [
                    ind["level1"],
                    ind["level2"],
                    cell(ws, ind["name"], style=WRAP),
                    (ind["points"], SCORE),
                    _value(ws, value, fmt),
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
    append(ws, [None, None, "评价结论", *[None] * 4, result["grade"], *[None] * 4], TOTAL)


def _total_row(ws, level1: str, label: str, points: float, score: float) -> None:
    lost = round(points - score, 2)
    cells = {1: level1, 3: label, 4: (points, SCORE), 8: (score, SCORE), 9: (lost, SCORE)}
    append(ws, [cells.get(col) for col in range(1, len(SCORE_HEADERS) + 1)], TOTAL)


def _statistics_sheet(wb, result: dict) -> None:
    ws = sheet(wb, STAT_SHEET, STAT_WIDTHS, freeze="A2", header_rows="1:1")
    header_row(ws, STAT_HEADERS)
    for ind in (i for i in result["indicators"] if i["statistic"]):
        value, fmt, unit = indicator_value(ind)
        kind = ind.get("display_kind", "decimal")
        append(
            ws,
            [
                cell(ws, ind["name"], style=WRAP),
                _value(ws, value, fmt),
                unit,
                _amount(ind.get("numerator"), kind),
                _amount(ind.get("denominator"), kind),
                (ind["evidence_rows"], INTEGER),
                cell(ws, ind.get("reason") or "", style=WRAP),
            ],
        )


def _chart_sheet(wb, result: dict) -> None:
    """Native charts: the level-1 scores against their points, and the largest deductions, side by
    side to the right of the tables they draw (one landscape page)."""
    ws = sheet(wb, CHART_SHEET, [30, 8, 8, 2], landscape=True)
    header_row(ws, ["一级指标", "分值", "得分"])
    levels = result["levels"]
    for lvl in levels:
        append(ws, [lvl["name"], (lvl["points"], SCORE), (lvl["score"], SCORE)])
    append(ws, [])
    deductions = largest_deductions(result)
    start = len(levels) + 3
    header_row(ws, ["主要扣分指标", "扣分"])
    for ind in deductions:
        append(ws, [cell(ws, ind["name"], style=WRAP), (ind["deduction"], SCORE)])
    bars = BarChart()
    bars.type, bars.title, bars.y_axis.title = "bar", "一级指标得分", "分"
    bars.add_data(
        Reference(ws, min_col=2, max_col=3, min_row=1, max_row=len(levels) + 1), titles_from_data=True
    )
    bars.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(levels) + 1))
    bars.x_axis.scaling.orientation = "maxMin"  # top-down, in the order of the table
    bars.y_axis.crosses = "max"  # and the value axis below, not above, the bars
    _axes_visible(bars)
    bars.height, bars.width = 9, 15
    ws.add_chart(bars, "E2")
    if deductions:
        lost = BarChart()
        lost.type, lost.title, lost.legend = "bar", "主要扣分指标", None
        lost.add_data(
            Reference(ws, min_col=2, min_row=start, max_row=start + len(deductions)), titles_from_data=True
        )
        lost.set_categories(Reference(ws, min_col=1, min_row=start + 1, max_row=start + len(deductions)))
        lost.x_axis.scaling.orientation = "maxMin"
        lost.y_axis.crosses = "max"
        _axes_visible(lost)
        lost.height, lost.width = 9, 15
        ws.add_chart(lost, "N2")  # beside the first: stacked, the second could split across pages


def _axes_visible(chart) -> None:
    # openpyxl 3.1 writes <c:delete val="1"/> by default: Excel would draw the chart without axes.
    chart.x_axis.delete = chart.y_axis.delete = False


def _trend_sheet(wb, history: list[dict]) -> None:
    """Level-1 scores over the years evaluated so far, the total and its change, with a line chart."""
    names = list(dict.fromkeys(lvl["name"] for r in history for lvl in r["levels"]))
    ws = sheet(wb, TREND_SHEET, [9, *[9] * len(names), 9, 9, 10], freeze="B2", header_rows="1:1")
    header_row(ws, ["年度", *names, *TREND_HEADERS_AFTER])
    previous = None
    for r in history:
        by_name = {lvl["name"]: lvl["score"] for lvl in r["levels"]}
        change = round(r["total_score"] - previous, 2) if previous is not None else None
        append(
            ws,
            [
                (r["year"], YEAR_FORMAT),
                *[(by_name.get(n), SCORE) for n in names],
                (r["total_score"], SCORE),
                (change, CHANGE),
                r["grade"],
            ],
        )
        previous = r["total_score"]
    chart = LineChart()
    chart.title, chart.y_axis.title, chart.x_axis.title = "一级指标得分（历年）", "得分", "年度"
    chart.add_data(
        Reference(ws, min_col=2, max_col=len(names) + 1, min_row=1, max_row=len(history) + 1),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(history) + 1))
    chart.x_axis.number_format = YEAR_FORMAT
    _axes_visible(chart)
    chart.height, chart.width = 7.5, 14
    ws.add_chart(chart, f"A{len(history) + 4}")


def _trace_sheet(wb, result: dict) -> None:
    # A reference list, one line a figure: portrait fits twice the rows of landscape on a page.
    ws = sheet(wb, TRACE_SHEET, TRACE_WIDTHS, freeze="A3", header_rows="2:2", landscape=False)
    append(ws, [cell(ws, "每个数字都可追溯到落地文件的具体行：在命令行运行右列命令", style=TITLE)])
    header_row(ws, TRACE_HEADERS)
    for ind in result["indicators"]:
        value, fmt, unit = indicator_value(ind)
        append(
            ws,
            [
                cell(ws, ind["name"], style=WRAP),
                _value(ws, value, fmt),
                unit,
                (ind["evidence_rows"], INTEGER),
                trace_command(result, ind["id"]),
            ],
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
