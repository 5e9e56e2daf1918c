"""Assemble result.json: everything a form shows, with every figure's provenance handle (indicator
id, numerator/denominator, evidence row count). Every partition ends with one: evaluated, blocked
(its data break the contracts; the reasons name file, sheet, row, column) or failed (the pipeline
raised for it; the others of the run went on). Strict JSON: no NaN or Infinity.
Schema: ARCHITECTURE.md § result.json."""

from __future__ import annotations

import pandas as pd

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.indicators.compute import IndicatorResults
from perfeval_pipeline.indicators.framework import Framework
from perfeval_pipeline.indicators.peers import Benchmark
from perfeval_pipeline.scoring.score import Scorecard

SCHEMA_VERSION = 2


def header(dept: Department, year: int, evaluation_type: str, profile: dict) -> dict:
    date = profile.get("evaluation_date")
    date = pd.Timestamp(date) if date is not None and not pd.isna(date) else None
    return {
        "title": f"{dept.city}财政支出绩效评价结果反馈表",
        "organizer": dept.finance_bureau,
        "department_code": dept.code,
        "department_name": dept.name,
        "evaluation_type": evaluation_type,
        "year": year,
        "year_text": f"{year}年",
        "evaluator": profile.get("evaluator"),
        "evaluation_date": date.date().isoformat() if date is not None else None,
        "evaluation_period": f"{date.year}年{date.month}月" if date is not None else None,
    }


def indicator_records(framework: Framework, indicators: IndicatorResults, scorecard: Scorecard) -> list[dict]:
    values = indicators.by_id()
    out = []
    for spec in framework.all:
        v = values[spec.id]
        rec = {
            "id": v.id,
            "name": v.name,
            "level1": v.level1,
            "level2": v.level2,
            "statistic": not spec.scored,
            "unit": v.unit,
            "display_kind": v.display_kind,
            "value": v.value,
            "display": v.display,
            "numerator": v.numerator,
            "denominator": v.denominator,
            "reason": v.reason,
            "evidence_rows": v.evidence_rows,
            "by_unit": v.by_unit,
            "items": v.items,
        }
        if spec.scored:
            s = scorecard.get(spec.id)
            rec.update(
                {
                    "points": s.points,
                    "score": s.score,
                    "deduction": s.deduction,
                    "deduction_reason": s.deduction_reason,
                    "rule": s.rule,
                    "rule_text": s.rule_text,
                    "target": s.target,
                    "target_source": s.target_source,
                    "workpaper_deduction": s.workpaper_deduction,
                    "workpaper_refs": s.workpaper_refs,
                }
            )
        out.append(rec)
    return out


def build_result(
    dept: Department,
    year: int,
    evaluation_type: str,
    framework: Framework,
    indicators: IndicatorResults,
    scorecard: Scorecard,
    findings: dict,
    profile: dict,
    quality: dict,
    benchmarks: dict[str, Benchmark],
    rectification: dict,
) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "department": dept.code,
        "year": year,
        "status": "evaluated",
        "header": header(dept, year, evaluation_type, profile),
        "framework": {"name": framework.name, "title": framework.title, "chain": list(framework.chain)},
        "total_score": scorecard.total,
        "max_points": scorecard.max_points,
        "grade": scorecard.grade,
        "levels": scorecard.level1,
        "level2": scorecard.level2,
        "indicators": indicator_records(framework, indicators, scorecard),
        "narrative": findings["narrative"],
        "problems": findings["problems"],
        "recommendations": findings["recommendations"],
        "peer_benchmarks": [
            {
                "indicator_id": b.indicator_id,
                "groups": list(b.groups),
                "mean": b.mean,
                "source": b.source,
                "members": [
                    {"department": m.department, "value": m.value, "reason": m.reason} for m in b.members
                ],
            }
            for b in benchmarks.values()
        ],
        "rectification": rectification,
        "quality": quality,
    }


def not_evaluated_result(
    dept: Department,
    year: int,
    evaluation_type: str,
    status: str,
    reasons: list[str],
    quality: dict | None = None,
    superseded: str | None = None,
) -> dict:
    """What a blocked or failed partition reports instead of a score."""
    if status not in ("blocked", "failed"):
        raise ValueError(f"status {status!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "department": dept.code,
        "year": year,
        "status": status,
        "header": header(dept, year, evaluation_type, {}),
        "blocked_reasons" if status == "blocked" else "failure": reasons,
        "superseded": superseded,
        "quality": quality,
    }
