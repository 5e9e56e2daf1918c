"""Render stage: a partition's result.json → feedback_form.docx/.xlsx next to it; a year's
result.json files → reports/{year}/summary.xlsx."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from perfeval_pipeline.catalog import FORM_DOCX, FORM_XLSX, RESULT, SUMMARY
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.costs import step
from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.docx_form import render_docx
from perfeval_pipeline.render.summary import render_summary
from perfeval_pipeline.render.xlsx_form import render_xlsx
from perfeval_pipeline.store import Store


@dataclass
class RenderedForm:
    result: dict
    docx: Path
    xlsx: Path
    seconds: dict[str, float] = field(default_factory=dict)


def load_result(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no {path}: the partition has not been evaluated yet")
    return json.loads(path.read_text(encoding="utf-8"))


def _timed(seconds: dict[str, float], key: str, fn, *args, **kwargs):
    started = time.perf_counter()
    with step(key):
        out = fn(*args, **kwargs)
    seconds[key] = round(time.perf_counter() - started, 3)
    return out


def history(settings: Settings, department: str, year: int) -> list[dict]:
    """The department's evaluated results up to `year`, oldest first."""
    out = []
    for y in settings.department_years(department):
        path = settings.report_folder(department, y) / RESULT.name
        if y <= year and path.exists():
            result = load_result(path)
            if result.get("status") == "evaluated":
                out.append(result)
    return out


def render_partition(settings: Settings, store: Store, department: str, year: int) -> RenderedForm:
    """Write the partition's form and workbook from its evaluated result.json."""
    folder = settings.report_folder(department, year)
    result = load_result(folder / RESULT.name)
    if result["status"] != "evaluated":
        raise ValueError(f"{department} {year}: result.json is {result['status']}, no form to fill")
    mode = settings.pipeline.report_file_mode
    seconds: dict[str, float] = {}
    chart = _timed(seconds, "chart", render_chart, result)
    docx = _timed(seconds, "docx", render_docx, result, folder / FORM_DOCX.name, chart=chart, mode=mode)
    xlsx = _timed(
        seconds,
        "xlsx",
        render_xlsx,
        result,
        folder / FORM_XLSX.name,
        history=history(settings, department, year),
        mode=mode,
    )
    return RenderedForm(result, docx, xlsx, seconds)


def year_results(settings: Settings, year: int) -> list[dict]:
    folder = settings.reports_dir / str(year)
    return [load_result(p) for p in sorted(folder.glob(f"*/{RESULT.name}"))]


def reason_names(settings: Settings) -> dict[str, str]:
    """Chinese titles by code for the summary's reasons: feeds ('hotline'), tables
    ('hotline.tickets') and columns ('hotline.tickets.ticket_id', by their header)."""
    names: dict[str, str] = {}
    for feed, contract in settings.contracts.items():
        names[feed] = contract.title
        for table in contract.tables.values():
            names[table.qualified_name] = table.title
            for column in table.columns.values():
                names[f"{table.qualified_name}.{column.name}"] = column.header
    return names


def render_year_summary(settings: Settings, year: int) -> Path | None:
    """Rewrite the year's summary from every result.json present (with earlier years' totals for
    the trend columns); None when there is none yet."""
    results = year_results(settings, year)
    if not results:
        return None
    earlier = {y: year_results(settings, y) for y in settings.years if y < year}
    return render_summary(
        results,
        earlier,
        settings.grades,
        settings.reports_dir / str(year) / SUMMARY.name,
        settings.pipeline.report_file_mode,
        names=reason_names(settings),
    )
