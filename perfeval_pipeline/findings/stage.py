"""Findings stage: indicators + scorecard + workpaper → narrative, problems, recommendations, the
整改 follow-up, and the partition's result.json (reports/{year}/{department}/result.json).

A partition that is blocked or failed gets a result.json saying so, and nothing of an earlier run
stays where a reader would take it for current: the old form, workbook and manifest move to
superseded/{time}/, named in the new result.json."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pandas as pd

from perfeval_pipeline.catalog import FINDINGS, FORM_FILES, RESULT
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.findings.compose import build_context, compose_findings
from perfeval_pipeline.findings.rectification import earlier_years_digest, follow_up, store_rectification
from perfeval_pipeline.findings.result import build_result, not_evaluated_result
from perfeval_pipeline.indicators.peers import Benchmark
from perfeval_pipeline.indicators.stage import load_clean, load_indicators
from perfeval_pipeline.scoring.stage import load_scorecard
from perfeval_pipeline.store import Store, atomic_write_json

FINDINGS_COLUMNS = [
    "kind",
    "group_no",
    "group_id",
    "group_title",
    "item_no",
    "item_id",
    "finding_ids",
    "title",
    "text",
    "cites",
    "workpaper_refs",
]


def profile_of(store: Store, department: str, year: int) -> dict:
    frame = load_clean(store, "evaluation.profile", department, year)
    if frame is None or frame.empty:
        return {}
    rec = frame.iloc[0].to_dict()
    return {
        k: (None if not isinstance(v, str) and pd.isna(v) else v)
        for k, v in rec.items()
        if not k.startswith("_")
    }


def flatten_findings(findings: dict) -> pd.DataFrame:
    """One row per problem item and recommendation, for SQL, lineage and the 整改 follow-up."""
    rows = []
    for group in findings["problems"]:
        for item in group["items"]:
            rows.append(
                {
                    "kind": "problem",
                    "group_no": group["no"],
                    "group_id": group["id"],
                    "group_title": group["title"],
                    "item_no": item["no"],
                    "item_id": item["id"],
                    "finding_ids": json.dumps(item["finding_ids"], ensure_ascii=False),
                    "title": item["title"],
                    "text": item["text"],
                    "cites": json.dumps(item["cites"], ensure_ascii=False),
                    "workpaper_refs": json.dumps(item["workpaper_refs"], ensure_ascii=False),
                }
            )
    for rec in findings["recommendations"]:
        rows.append(
            {
                "kind": "recommendation",
                "group_no": rec["no"],
                "group_id": rec["problem_id"],
                "group_title": rec["title"],
                "item_no": "",
                "item_id": "",
                "finding_ids": "[]",
                "title": rec["title"],
                "text": rec["text"],
                "cites": json.dumps(rec["cites"], ensure_ascii=False),
                "workpaper_refs": "[]",
            }
        )
    return pd.DataFrame(rows, columns=FINDINGS_COLUMNS)


def write_result(settings: Settings, department: str, year: int, result: dict) -> None:
    path = settings.report_folder(department, year) / RESULT.name
    atomic_write_json(path, result, settings.pipeline.report_file_mode)


def run_findings(
    settings: Settings,
    store: Store,
    department: str,
    year: int,
    quality: dict,
    benchmarks: dict[str, Benchmark],
) -> dict:
    """Compose findings, the follow-up of last year's problems, and write result.json."""
    dept = settings.department(department)
    framework = settings.frameworks[dept.framework]
    indicators = load_indicators(store, department, year)
    scorecard = load_scorecard(store, department, year)
    workpaper = load_clean(store, "evaluation.workpaper", department, year)
    profile = profile_of(store, department, year)
    config = settings.findings[dept.framework]
    ctx = build_context(dept, year, framework, config, indicators, scorecard, workpaper, profile)
    findings = compose_findings(ctx)
    digest = earlier_years_digest(settings, department, year)
    rectification = follow_up(settings, store, department, year, findings, indicators, scorecard)
    store.write(FINDINGS, department, year, flatten_findings(findings))
    store_rectification(store, department, year, rectification)
    result = build_result(
        dept,
        year,
        settings.evaluation_type,
        framework,
        indicators,
        scorecard,
        findings,
        profile,
        quality,
        benchmarks,
        rectification,
    )
    result["earlier_years_digest"] = digest
    write_result(settings, department, year, result)
    return result


def supersede(settings: Settings, department: str, year: int, now: datetime | None = None) -> str | None:
    """Move an earlier run's form, workbook, manifest and result out of the way (to
    superseded/{time}/); returns that folder relative to the report folder, or None if nothing moved."""
    folder = settings.report_folder(department, year)
    present = [folder / f.name for f in (*FORM_FILES, RESULT) if (folder / f.name).exists()]
    if not any(p.name != RESULT.name for p in present):
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = folder / "superseded" / stamp
    target.mkdir(parents=True, exist_ok=True)
    for path in present:
        os.replace(path, target / path.name)
    return target.relative_to(folder).as_posix()


def write_not_evaluated(
    settings: Settings,
    department: str,
    year: int,
    status: str,
    reasons: list[str],
    quality: dict | None = None,
) -> dict:
    superseded = supersede(settings, department, year)
    result = not_evaluated_result(
        settings.department(department), year, settings.evaluation_type, status, reasons, quality, superseded
    )
    write_result(settings, department, year, result)
    return result
