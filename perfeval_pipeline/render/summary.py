"""Province overview of one year (reports/{year}/summary.xlsx): every department's total, grade and
level-1 subtotals, best first, with the previous years' totals and grades and the change since the
last of them (columns only for earlier years that have results); departments not evaluated with
the reason in Chinese (render/reasons.py); the grade distribution with a native chart. Set up to
print."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from openpyxl.chart import BarChart, Reference

from perfeval_pipeline.config.models import GradesConfig
from perfeval_pipeline.formatting import number_format
from perfeval_pipeline.render.package import document_time
from perfeval_pipeline.render.reasons import reason_text
from perfeval_pipeline.render.workbook import (
    CHANGE,
    INTEGER,
    SCORE,
    TITLE,
    WRAP,
    append,
    cell,
    header_row,
    new_workbook,
    save_workbook,
    sheet,
)

NOT_EVALUATED = "未评价"
# Earlier years shown beside the year's totals (those that have results).
TREND_YEARS = 2


def _level_names(results: list[dict]) -> list[str]:
    names: list[str] = []
    for r in results:
        names += [lvl["name"] for lvl in r["levels"] if lvl["name"] not in names]
    return names


def ranked(results: list[dict]) -> tuple[list[dict], list[dict]]:
    """(evaluated results by score, best first; the others by department code)."""
    evaluated = [r for r in results if r["status"] == "evaluated"]
    others = [r for r in results if r["status"] != "evaluated"]
    return (
        sorted(evaluated, key=lambda r: (-r["total_score"], r["department"])),
        sorted(others, key=lambda r: r["department"]),
    )


def grade_distribution(results: list[dict], grades: list[str]) -> list[tuple[str, int]]:
    """(grade, departments) for every grade band, then the not-evaluated count."""
    counts = Counter(r["grade"] if r["status"] == "evaluated" else NOT_EVALUATED for r in results)
    return [(g, counts[g]) for g in [*grades, NOT_EVALUATED]]


def _stamp(results: list[dict]) -> datetime:
    # The latest evaluation date: rerunning over the same results gives the same file.
    return max((document_time(r["header"]) for r in results), default=document_time({}))


def render_summary(
    results: list[dict],
    earlier: dict[int, list[dict]],
    grades: GradesConfig,
    out_path: Path,
    mode: int = 0o666,
    names: Mapping[str, str] | None = None,
) -> Path:
    """Write a year's summary; `earlier`: results of previous years by year (for the trend; a year
    without results gets no columns); `names`: feed and table titles by code, for the reasons."""
    years = sorted({r["year"] for r in results})
    if len(years) != 1:
        raise ValueError(f"a summary covers one year; got results for {years}")
    year = years[0]
    evaluated, others = ranked(results)
    levels = _level_names(evaluated)
    prev_years = sorted(y for y, rs in earlier.items() if rs and y < year)[-TREND_YEARS:]
    prev = {y: {r["department"]: r for r in earlier[y]} for y in prev_years}
    title = f"{year}年度部门整体支出绩效评价汇总"
    wb = new_workbook()

    last = prev_years[-1] if prev_years else None
    change_header = "较上年变化" if last == year - 1 else f"较{last}年变化"
    trend_headers = [h for y in prev_years for h in (f"{y}年总分", f"{y}年结论")] + (
        [change_header] if prev_years else []
    )
    widths = [6, 30, 8, 9, *[8] * len(levels), *[9] * len(trend_headers), 60]
    ws = sheet(wb, "汇总", widths, freeze="C3", header_rows="2:2")
    append(ws, [cell(ws, title, style=TITLE)])
    header_row(ws, ["排名", "部门", "总分", "评价结论", *levels, *trend_headers, "说明"])
    for rank, r in [*enumerate(evaluated, start=1), *((None, r) for r in others)]:
        name = r["header"]["department_name"]
        trend = []
        for y in prev_years:
            p = prev[y].get(r["department"])
            ok = p is not None and p["status"] == "evaluated"
            trend += [
                (p["total_score"], SCORE) if ok else None,
                p["grade"] if ok else (NOT_EVALUATED if p else ""),
            ]
        if prev_years:
            p = prev[last].get(r["department"])
            change = (
                round(r["total_score"] - p["total_score"], 2)
                if r["status"] == "evaluated" and p is not None and p["status"] == "evaluated"
                else None
            )
            trend.append((change, CHANGE))
        if r["status"] == "evaluated":
            by_level = {lvl["name"]: lvl["score"] for lvl in r["levels"]}
            row = [
                rank,
                name,
                (r["total_score"], SCORE),
                r["grade"],
                *[(by_level.get(n), SCORE) for n in levels],
                *trend,
                "",
            ]
        else:
            row = [
                None,
                name,
                None,
                NOT_EVALUATED,
                *[None] * len(levels),
                *trend,
                cell(ws, reason_text(r, names), style=WRAP),
            ]
        append(ws, row)

    bands = grades.bands
    ws = sheet(wb, "等级分布", [10, 10, 8, 10], freeze="A2", header_rows="1:1")
    header_row(ws, ["评价结论", "分数线", "部门数", "占比"])
    floors = {b.grade: b.min for b in bands}
    dist = grade_distribution(results, [b.grade for b in bands])
    for grade, n in dist:
        share = n / len(results) if results else None
        share_format = number_format("percent", share) if share is not None else "General"
        append(ws, [grade, (floors.get(grade), SCORE), (n, INTEGER), (share, share_format)])
    chart = BarChart()
    chart.title, chart.y_axis.title, chart.legend = f"{year}年评价结论分布", "部门数", None
    chart.add_data(Reference(ws, min_col=3, min_row=1, max_row=len(dist) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(dist) + 1))
    chart.y_axis.number_format, chart.y_axis.majorUnit = "0", 1  # whole departments
    chart.x_axis.delete = chart.y_axis.delete = False  # openpyxl 3.1 would hide both axes
    chart.height, chart.width = 7, 12
    ws.add_chart(chart, "F2")
    return save_workbook(wb, out_path, _stamp(results), title, mode)
