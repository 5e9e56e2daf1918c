"""Render stage: a partition's result.json (+ stored evidence) → feedback_form.docx/.xlsx next to
it; a year's result.json files → reports/{year}/summary.xlsx."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from perfeval_pipeline.config import Settings
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.findings.stage import report_dir
from perfeval_pipeline.indicators.stage import EVIDENCE_TABLE
from perfeval_pipeline.render.chart import render_chart
from perfeval_pipeline.render.docx_form import render_docx
from perfeval_pipeline.render.summary import render_summary
from perfeval_pipeline.render.xlsx_form import render_xlsx
from perfeval_pipeline.store import Store

RESULT, FORM_DOCX, FORM_XLSX, SUMMARY = (
    "result.json",
    "feedback_form.docx",
    "feedback_form.xlsx",
    "summary.xlsx",
)


@dataclass
class RenderedForm:
    result: dict
    docx: Path
    xlsx: Path
    seconds: dict[str, float] = field(default_factory=dict)


def load_result(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no {path}: run the findings stage for this partition first")
    return json.loads(path.read_text(encoding="utf-8"))


def read_evidence(store: Store, department: str, year: int) -> pd.DataFrame | None:
    if not store.exists("evidence", EVIDENCE_TABLE, department, year):
        return None
    return store.read("evidence", EVIDENCE_TABLE, department, year)


def _timed(seconds: dict[str, float], key: str, fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds[key] = round(time.perf_counter() - started, 3)
    return out


def render_partition(
    department: str, year: int, store: Store, cfg: Settings | None = None
) -> RenderedForm | None:
    """Write the partition's form and workbook; None when its result is blocked (no form to fill)."""
    folder = report_dir(cfg or load_settings(), department, year)
    result = load_result(folder / RESULT)
    if result["status"] != "evaluated":
        return None
    seconds: dict[str, float] = {}
    chart = _timed(seconds, "chart", render_chart, result)
    docx = _timed(seconds, "docx", render_docx, result, folder / FORM_DOCX, chart=chart)
    xlsx = _timed(
        seconds,
        "xlsx",
        render_xlsx,
        result,
        read_evidence(store, department, year),
        folder / FORM_XLSX,
        chart=chart,
    )
    return RenderedForm(result, docx, xlsx, seconds)


def year_results(year: int, cfg: Settings | None = None) -> list[dict]:
    folder = (cfg or load_settings()).reports_dir / str(year)
    return [load_result(p) for p in sorted(folder.glob(f"*/{RESULT}"))]


def render_year_summary(year: int, cfg: Settings | None = None) -> tuple[Path, list[dict]] | None:
    """Rewrite the year's summary from every result.json present; None when there is none yet."""
    cfg = cfg or load_settings()
    results = year_results(year, cfg)
    if not results:
        return None
    return render_summary(results, cfg.reports_dir / str(year) / SUMMARY), results
