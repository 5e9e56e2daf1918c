"""Compute every indicator and statistic of a framework for one partition."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.framework import Framework, IndicatorSpec, ProportionalRule
from perfeval_pipeline.indicators.measures import EVIDENCE_COLUMNS, MeasureContext, compute_measure
from perfeval_pipeline.indicators.views import build_views


@dataclass
class IndicatorValue:
    id: str
    name: str
    level1: str
    level2: str
    points: float
    unit: str
    display_kind: str
    value: float | None
    display: str
    numerator: float | None
    denominator: float | None
    reason: str | None
    evidence_rows: int
    by_unit: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)

    @property
    def computable(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class IndicatorResults:
    values: list[IndicatorValue]
    evidence: pd.DataFrame

    def get(self, indicator_id: str) -> IndicatorValue:
        return next(v for v in self.values if v.id == indicator_id)

    def by_id(self) -> dict[str, IndicatorValue]:
        return {v.id: v for v in self.values}

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator; nested breakdowns stored as JSON text for Parquet and SQL."""
        rows = []
        for v in self.values:
            d = v.to_dict()
            d["indicator_id"] = d.pop("id")
            d["indicator_name"] = d.pop("name")
            d["by_unit"] = json.dumps(d["by_unit"], ensure_ascii=False, default=str)
            d["items"] = json.dumps(d["items"], ensure_ascii=False, default=str)
            rows.append(d)
        return pd.DataFrame(rows)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, evidence: pd.DataFrame | None = None) -> IndicatorResults:
        values = []
        for rec in frame.to_dict("records"):
            rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
            rec["id"] = rec.pop("indicator_id")
            rec["name"] = rec.pop("indicator_name")
            rec["by_unit"] = json.loads(rec["by_unit"])
            rec["items"] = json.loads(rec["items"])
            values.append(IndicatorValue(**rec))
        return cls(values, evidence if evidence is not None else pd.DataFrame(columns=EVIDENCE_COLUMNS))


def claimed_targets(framework: Framework) -> tuple[str, ...]:
    """绩效目标表 name fragments that indicators score directly (target_from_targets)."""
    return tuple(
        s.rule.target_from_targets
        for s in framework.indicators
        if isinstance(s.rule, ProportionalRule) and s.rule.target_from_targets
    )


def indicator_value(spec: IndicatorSpec, ctx: MeasureContext) -> tuple[IndicatorValue, pd.DataFrame]:
    result = compute_measure(spec, ctx)
    value = IndicatorValue(
        id=spec.id,
        name=spec.name,
        level1=spec.level1,
        level2=spec.level2,
        points=spec.points,
        unit=spec.unit,
        display_kind=spec.display,
        value=result.value,
        display=display(result.value, spec.display),
        numerator=result.numerator,
        denominator=result.denominator,
        reason=result.reason,
        evidence_rows=len(result.evidence),
        by_unit=result.by_unit,
        items=result.items,
    )
    return value, result.evidence


def compute_indicators(
    tables: dict[str, pd.DataFrame],
    dept: Department,
    year: int,
    framework: Framework,
    only: set[str] | None = None,
) -> IndicatorResults:
    """Every indicator and statistic (or those in `only`) from a partition's clean tables."""
    ctx = MeasureContext(build_views(tables, dept, year, claimed_targets(framework)), dept)
    try:
        values, evidence = [], []
        for spec in framework.all:
            if only is not None and spec.id not in only:
                continue
            value, ev = indicator_value(spec, ctx)
            values.append(value)
            if len(ev):
                evidence.append(ev)
    finally:
        ctx.close()
    ev_frame = pd.concat(evidence, ignore_index=True) if evidence else pd.DataFrame(columns=EVIDENCE_COLUMNS)
    return IndicatorResults(values, ev_frame.astype({"_row": "int32", "amount": "float64"}))
