"""Findings stage: indicators + scorecard + workpaper → narrative, problems, recommendations, and
the partition's result.json (reports/{year}/{department}/result.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from perfeval_pipeline.config import Settings
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.findings.compose import compose_findings
from perfeval_pipeline.findings.result import blocked_result, build_result
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.indicators.stage import load_indicators
from perfeval_pipeline.scoring.stage import load_scorecard
from perfeval_pipeline.store import Store, atomic_write_json


def report_dir(cfg: Settings, department: str, year: int) -> Path:
    return cfg.reports_dir / str(year) / department


def _profile(store: Store, department: str, year: int) -> dict:
    frame = store.read_optional("clean", "evaluation.profile", department, year)
    if frame is None or frame.empty:
        return {}
    rec = frame.iloc[0].to_dict()
    return {k: (None if not isinstance(v, str) and pd.isna(v) else v) for k, v in rec.items()}


def flatten_findings(findings: dict) -> pd.DataFrame:
    """One row per problem item and recommendation, for SQL and the lineage stage."""
    rows = []
    for group in findings["problems"]:
        for item in group["items"]:
            rows.append(
                {
                    "kind": "problem",
                    "group_no": group["no"],
                    "group_title": group["title"],
                    "item_no": item["no"],
                    "title": item["title"],
                    "text": item["text"],
                    "cites": json.dumps(item["cites"]),
                    "workpaper_refs": json.dumps(item["workpaper_refs"]),
                }
            )
    for rec in findings["recommendations"]:
        rows.append(
            {
                "kind": "recommendation",
                "group_no": rec["no"],
                "group_title": rec["title"],
                "item_no": "",
                "title": rec["title"],
                "text": rec["text"],
                "cites": json.dumps(rec["cites"]),
                "workpaper_refs": "[]",
            }
        )
    return pd.DataFrame(
        rows,
        columns=["kind", "group_no", "group_title", "item_no", "title", "text", "cites", "workpaper_refs"],
    )


def run_findings(
    department: str, year: int, store: Store, quality: dict, cfg: Settings | None = None
) -> dict:
    """Compose findings and write result.json; returns the result."""
    cfg = cfg or load_settings()
    dept = cfg.department(department)
    framework = load_framework(dept.framework)
    indicators = load_indicators(department, year, store)
    scorecard = load_scorecard(department, year, store)
    workpaper = store.read_optional("clean", "evaluation.workpaper", department, year)
    profile = _profile(store, department, year)
    findings = compose_findings(dept, year, indicators, scorecard, workpaper, profile)
    store.write("findings", "items", department, year, flatten_findings(findings))
    result = build_result(
        dept, year, cfg.evaluation_type, framework, indicators, scorecard, findings, profile, quality
    )
    atomic_write_json(report_dir(cfg, department, year) / "result.json", result)
    return result


def write_blocked(department: str, year: int, reasons: list[str], cfg: Settings | None = None) -> dict:
    cfg = cfg or load_settings()
    result = blocked_result(cfg.department(department), year, cfg.evaluation_type, reasons)
    atomic_write_json(report_dir(cfg, department, year) / "result.json", result)
    return result
