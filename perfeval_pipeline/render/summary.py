"""Province overview of one year: every department's score, grade and level-1 subtotals, best first;
blocked departments with the reason; the grade distribution."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from perfeval_pipeline.render.package import document_time
from perfeval_pipeline.render.workbook import (
    INTEGER,
    SCORE,
    TITLE,
    append,
    cell,
    header_row,
    new_workbook,
    save_workbook,
    sheet,
)
from perfeval_pipeline.scoring.score import load_grade_bands

NOT_EVALUATED = "未评价"


def _level_names(results: list[dict]) -> list[str]:
    names: list[str] = []
    for r in results:
        names += [lvl["name"] for lvl in r["levels"] if lvl["name"] not in names]
    return names


def ranked(results: list[dict]) -> tuple[list[dict], list[dict]]:
    """(evaluated results by score, best first; blocked results by department code)."""
    evaluated = [r for r in results if r["status"] == "evaluated"]
    blocked = [r for r in results if r["status"] != "evaluated"]
    return (
        sorted(evaluated, key=lambda r: (-r["total_score"], r["department"])),
        sorted(blocked, key=lambda r: r["department"]),
    )


def grade_distribution(results: list[dict], grades: list[str]) -> list[tuple[str, int]]:
    """(grade, departments) for every grade band, then the not-evaluated count."""
    counts = Counter(r["grade"] if r["status"] == "evaluated" else NOT_EVALUATED for r in results)
    return [(g, counts[g]) for g in [*grades, NOT_EVALUATED]]


def _department_row(rank: int | None, r: dict, levels: list[str]) -> list:
    code, name = r["department"], r["header"]["department_name"]
    if r["status"] != "evaluated":
        reasons = "；".join(r.get("blocked_reasons") or [])
        return [None, code, name, None, None, NOT_EVALUATED, *[None] * len(levels), reasons]
    by_level = {lvl["name"]: lvl["score"] for lvl in r["levels"]}
    scores = [(by_level.get(n), SCORE) for n in levels]
    return [rank, code, name, (r["total_score"], SCORE), (r["max_points"], SCORE), r["grade"], *scores, ""]


def _stamp(results: list[dict]) -> datetime:
    # The latest evaluation date: rerunning over the same results gives the same file.
    return max((document_time(r["header"]) for r in results), default=document_time({}))


def render_summary(results: list[dict], out_path: Path) -> Path:
    """Write reports/{year}/summary.xlsx from that year's result.json documents."""
    years = sorted({r["year"] for r in results})
    if len(years) > 1:
        raise ValueError(f"a summary covers one year; got results for {years}")
    evaluated, blocked = ranked(results)
    levels = _level_names(evaluated)
    title = f"{years[0] if years else ''}年度部门整体支出绩效评价汇总"
    wb = new_workbook()

    ws = sheet(wb, "汇总", [6, 14, 30, 9, 7, 10, *[9] * len(levels), 60], freeze="D3")
    append(ws, [cell(ws, title, style=TITLE)])
    header_row(ws, ["排名", "部门代码", "部门名称", "总分", "满分", "评价结论", *levels, "说明"])
    for rank, r in [*enumerate(evaluated, start=1), *((None, r) for r in blocked)]:
        append(ws, _department_row(rank, r, levels))

    bands = load_grade_bands().bands
    ws = sheet(wb, "等级分布", [10, 8, 8, 10], freeze="A2")
    header_row(ws, ["评价结论", "分数线", "部门数", "占比"])
    floors = {b["grade"]: float(b["min"]) for b in bands}
    for grade, n in grade_distribution(results, [b["grade"] for b in bands]):
        share = n / len(results) if results else None
        append(ws, [grade, (floors.get(grade), SCORE), (n, INTEGER), (share, "0.00%")])
    return save_workbook(wb, out_path, _stamp(results), title)
