"""Compute every indicator and statistic of a framework for one partition."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.framework import Framework, IndicatorSpec
from perfeval_pipeline.indicators.measures import compute_measure
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

    def to_frame(self) -> pd.DataFrame:
        """One row per indicator; nested breakdowns stored as JSON text for Parquet and SQL."""
        import json

        rows = []
        for v in self.values:
            d = v.to_dict()
            d["by_unit"] = json.dumps(d["by_unit"], ensure_ascii=False, default=str)
            d["items"] = json.dumps(d["items"], ensure_ascii=False, default=str)
            rows.append(d)
        return pd.DataFrame(rows)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, evidence: pd.DataFrame | None = None) -> IndicatorResults:
        import json

        values = []
        for rec in frame.to_dict("records"):
            rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
            rec["by_unit"] = json.loads(rec["by_unit"])
            rec["items"] = json.loads(rec["items"])
            values.append(IndicatorValue(**rec))
        return cls(values, evidence if evidence is not None else pd.DataFrame())


def compute_indicator(spec: IndicatorSpec, views: dict[str, pd.DataFrame], dept: Department):
    result = compute_measure(spec, views, dept)
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
    tables: dict[str, pd.DataFrame], dept: Department, year: int, framework: Framework
) -> IndicatorResults:
    views = build_views(tables, dept, year)
    values, evidence = [], []
    for spec in framework.all:
        value, ev = compute_indicator(spec, views, dept)
        values.append(value)
        if len(ev):
            evidence.append(ev)
    ev_frame = pd.concat(evidence, ignore_index=True) if evidence else pd.DataFrame()
    return IndicatorResults(values, ev_frame)
