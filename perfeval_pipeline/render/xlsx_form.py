"""The form's workbook: 评分表 (indicator tree, points, values, targets, scores, deductions),
统计指标, the chart, and one evidence sheet per computed indicator listing its source rows."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
from openpyxl.drawing.image import Image

from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.package import document_time
from perfeval_pipeline.render.workbook import (
    AMOUNT,
    INTEGER,
    SCORE,
    TITLE,
    TOTAL,
    WRAP,
    append,
    cell,
    header_row,
    new_workbook,
    number_format_for,
    save_workbook,
    sheet,
)
from perfeval_pipeline.scoring.score import load_grade_bands

# Above this many source rows an evidence sheet lists a breakdown and the command that prints them
# all: a quarter-million hotline tickets would make a workbook nobody can open.
EVIDENCE_ROW_LIMIT = 10_000
SCORE_HEADERS = "一级指标 二级指标 三级指标 指标代码 分值 指标值 原始数值 目标值 得分 扣分 扣分原因 评分规则 目标来源 证据行数".split()
SCORE_WIDTHS = [9, 12, 30, 30, 7, 12, 14, 10, 7, 7, 60, 28, 36, 10]
STAT_HEADERS = ["指标代码", "名称", "单位", "指标值", "原始数值", "分子", "分母", "证据行数", "说明"]
STAT_WIDTHS = [30, 34, 6, 14, 16, 16, 16, 10, 40]
# Evidence store column → (header, number format, width).
EVIDENCE_FIELDS = {
    "role": ("角色", None, 14),
    "_source_file": ("来源文件", None, 40),
    "_source_sheet": ("工作表", None, 16),
    "_source_row": ("行号", INTEGER, 8),
    "amount": ("金额", AMOUNT, 16),
    "_row_hash": ("行哈希", None, 20),
}
BREAKDOWN_HEADERS = ["来源文件", "工作表", "角色", "行数", "金额合计"]
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def trace_command(result: dict, indicator_id: str) -> str:
    return f"perfeval trace {result['department']} {result['year']} {indicator_id}"


def _sheet_name(indicator_id: str, taken: set[str]) -> str:
    base = _SHEET_UNSAFE.sub("_", indicator_id)[:31]
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    taken.add(name.lower())
    return name


def _score_sheet(wb, result: dict, evidence_sheets: dict[str, str]) -> None:
    ws = sheet(wb, "评分表", SCORE_WIDTHS, freeze="D3")
    h = result["header"]
    append(
        ws, [cell(ws, f"{h['department_name']} {h['year_text']} {result['framework']['title']}", style=TITLE)]
    )
    header_row(ws, SCORE_HEADERS)
    rows = 2
    scored = [i for i in result["indicators"] if not i["statistic"]]
    for level in result["levels"]:
        for ind in (i for i in scored if i["level1"] == level["name"]):
            fmt = number_format_for(ind["display"], ind["value"])
            values = [
                ind["level1"],
                ind["level2"],
                ind["name"],
                ind["id"],
                (ind["points"], SCORE),
                ind["display"],
                (ind["value"], fmt),
                (ind.get("target"), fmt),
                (ind["score"], SCORE),
                (ind["deduction"], SCORE),
                cell(ws, ind.get("deduction_reason") or "", style=WRAP),
                ind.get("rule") or "",
                ind.get("target_source") or "",
                cell(ws, ind["evidence_rows"], INTEGER, link_to=evidence_sheets.get(ind["id"])),
            ]
            append(ws, values)
            rows += 1
        _total_row(ws, level["name"], "小计", level["points"], level["score"])
        rows += 1
    ws.auto_filter.ref = f"A2:N{rows}"
    _total_row(ws, "", "合计", result["max_points"], result["total_score"])
    append(ws, [None, None, "评价结论", *[None] * 5, result["grade"], None], TOTAL)


def _total_row(ws, level1: str, label: str, points: float, score: float) -> None:
    lost = round(points - score, load_grade_bands().decimals)
    cells = {1: level1, 3: label, 5: (points, SCORE), 9: (score, SCORE), 10: (lost, SCORE)}
    append(ws, [cells.get(col) for col in range(1, 11)], TOTAL)


def _statistics_sheet(wb, result: dict, evidence_sheets: dict[str, str]) -> None:
    ws = sheet(wb, "统计指标", STAT_WIDTHS, freeze="A2")
    header_row(ws, STAT_HEADERS)
    for ind in (i for i in result["indicators"] if i["statistic"]):
        fmt = number_format_for(ind["display"], ind["value"])
        values = [
            ind["id"],
            ind["name"],
            ind["unit"] or "",
            ind["display"],
            (ind["value"], fmt),
            (ind["numerator"], AMOUNT),
            (ind["denominator"], AMOUNT),
            cell(ws, ind["evidence_rows"], INTEGER, link_to=evidence_sheets.get(ind["id"])),
            ind["reason"] or "",
        ]
        append(ws, values)


def _chart_sheet(wb, chart: bytes) -> None:
    ws = wb.create_sheet("图表")
    ws.add_image(Image(io.BytesIO(chart)), "A1")


def _evidence_sheet(wb, name: str, result: dict, ind: dict, rows: pd.DataFrame) -> None:
    title = f"{ind['name']}（{ind['id']}）：{ind['display']}；证据 {len(rows):,} 行"
    if len(rows) > EVIDENCE_ROW_LIMIT:
        ws = sheet(wb, name, [40, 16, 14, 12, 18], freeze="A6")
        append(ws, [cell(ws, title, style=TITLE)])
        append(ws, [f"超过 {EVIDENCE_ROW_LIMIT:,} 行，此处按来源文件与角色汇总；列出全部行："])
        append(ws, [cell(ws, trace_command(result, ind["id"]), style=TITLE)])
        append(ws, [])
        header_row(ws, BREAKDOWN_HEADERS)
        parts = (
            rows.groupby(["_source_file", "_source_sheet", "role"], dropna=False, sort=True)
            .agg(rows=("amount", "size"), amount=("amount", "sum"))
            .reset_index()
        )
        for file, source_sheet, role, count, amount in parts.itertuples(index=False, name=None):
            append(ws, [file, source_sheet, role, (int(count), INTEGER), (float(amount), AMOUNT)])
        return
    ws = sheet(wb, name, [f[2] for f in EVIDENCE_FIELDS.values()], freeze="A3")
    append(ws, [cell(ws, title, style=TITLE)])
    header_row(ws, [f[0] for f in EVIDENCE_FIELDS.values()])
    formats = [f[1] for f in EVIDENCE_FIELDS.values()]
    for rec in rows[list(EVIDENCE_FIELDS)].itertuples(index=False, name=None):
        append(ws, list(zip(rec, formats, strict=True)))


def _plan_evidence(result: dict, evidence: pd.DataFrame | None) -> list[tuple[dict, str, pd.DataFrame]]:
    """(indicator, sheet name, rows) for every computed indicator that has evidence rows."""
    if evidence is None or evidence.empty:
        return []
    by_id = dict(tuple(evidence.groupby("indicator_id", sort=False)))
    taken = {"评分表", "统计指标", "图表"}
    return [
        (ind, _sheet_name(ind["id"], taken), by_id[ind["id"]])
        for ind in result["indicators"]
        if ind["value"] is not None and ind["id"] in by_id
    ]


def render_xlsx(
    result: dict, evidence: pd.DataFrame | None, out_path: Path, *, chart: bytes | None = None
) -> Path:
    """Write the scoring workbook; `evidence` is the partition's evidence table (None: no
    evidence sheets), `chart` the PNG from render_chart (rendered here when not given)."""
    if result.get("status") != "evaluated":
        raise ValueError(
            f"{result.get('department')} {result.get('year')}: no workbook for a "
            f"{result.get('status')!r} result"
        )
    plan = _plan_evidence(result, evidence)
    sheets = {ind["id"]: name for ind, name, _ in plan}
    wb = new_workbook()
    _score_sheet(wb, result, sheets)
    _statistics_sheet(wb, result, sheets)
    _chart_sheet(wb, chart if chart is not None else render_chart(result))
    for ind, name, rows in plan:
        _evidence_sheet(wb, name, result, ind, rows)
    h = result["header"]
    return save_workbook(
        wb, out_path, document_time(h), f"{h['title']} {h['department_name']} {h['year_text']}"
    )
