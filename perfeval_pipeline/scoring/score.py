"""Score a partition: every indicator by its rule, minus the evaluator's workpaper deductions,
then level subtotals, the total and the grade (assets_config/grades.yaml)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from perfeval_pipeline.config.models import GradesConfig
from perfeval_pipeline.indicators.compute import IndicatorResults, IndicatorValue
from perfeval_pipeline.indicators.framework import (
    BandsRule,
    BooleanRule,
    DeductPerItemRule,
    DeductPerPointRule,
    Framework,
    IndicatorSpec,
    ProportionalRule,
    WorkpaperRule,
)
from perfeval_pipeline.indicators.peers import Benchmark
from perfeval_pipeline.numbers import parse_quantity
from perfeval_pipeline.scoring import rules
from perfeval_pipeline.scoring.rules import RuleOutcome, Target


@dataclass
class IndicatorScore:
    id: str
    points: float
    score: float
    deduction: float
    reasons: list[str]
    rule: str  # the rule kind
    rule_text: str  # the rule in words
    target: float | None = None
    target_source: str | None = None
    workpaper_deduction: float = 0.0
    workpaper_refs: list[str] = field(default_factory=list)

    @property
    def deduction_reason(self) -> str:
        return "；".join(self.reasons)


@dataclass
class Scorecard:
    indicators: list[IndicatorScore]
    level1: list[dict]
    level2: list[dict]
    total: float
    grade: str
    max_points: float

    def get(self, indicator_id: str) -> IndicatorScore:
        return next(s for s in self.indicators if s.id == indicator_id)

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for s in self.indicators:
            d = asdict(s)
            d["indicator_id"] = d.pop("id")
            d["reasons"] = json.dumps(s.reasons, ensure_ascii=False)
            d["workpaper_refs"] = json.dumps(s.workpaper_refs, ensure_ascii=False)
            rows.append(d)
        return pd.DataFrame(rows)

    def levels_frame(self) -> pd.DataFrame:
        rows = [{**lvl, "level": 1, "grade": None} for lvl in self.level1]
        rows += [{**lvl, "level": 2, "grade": None} for lvl in self.level2]
        rows.append(
            {
                "name": "总分",
                "level1": "",
                "points": self.max_points,
                "score": self.total,
                "level": 0,
                "grade": self.grade,
            }
        )
        return pd.DataFrame(rows, columns=["name", "level1", "points", "score", "level", "grade"])

    @classmethod
    def from_frames(cls, scores: pd.DataFrame, levels: pd.DataFrame) -> Scorecard:
        out = []
        for rec in scores.to_dict("records"):
            rec = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in rec.items()}
            rec["id"] = rec.pop("indicator_id")
            rec["reasons"] = json.loads(rec["reasons"])
            rec["workpaper_refs"] = json.loads(rec["workpaper_refs"])
            out.append(IndicatorScore(**rec))
        total = levels[levels["level"] == 0].iloc[0]
        strip = lambda df: df.drop(columns=["level", "grade"]).to_dict("records")  # noqa: E731
        return cls(
            out,
            strip(levels[levels["level"] == 1]),
            strip(levels[levels["level"] == 2]),
            float(total["score"]),
            str(total["grade"]),
            float(total["points"]),
        )


def _text(value) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def target_from_targets(targets: pd.DataFrame | None, name_contains: str) -> Target:
    """A numeric target from the department's 绩效目标表 (e.g. '≥ 80 %' → 0.8), read with the one
    number parser; an empty 计量单位 or an empty cell is fine, the reason says what is missing."""
    source = f"绩效目标表“{name_contains}”"
    if targets is None or targets.empty:
        return Target(None, source, "绩效目标表为空")
    names = targets["name"].map(_text)
    rows = targets[names.str.contains(name_contains, regex=False)]
    if rows.empty:
        return Target(None, source, f"绩效目标表中无包含“{name_contains}”的指标")
    row = rows.iloc[0]
    quantity = parse_quantity(_text(row.get("value")), _text(row.get("unit")) or None)
    if quantity is None:
        return Target(None, source, f"目标值“{_text(row.get('value'))}”不是数值")
    ref = f"{row['_source_file']} {row['_source_sheet']} 第{row['_source_row']}行".replace("  ", " ")
    return Target(quantity.value, f"{source}（{ref}）")


def _rule_outcome(
    spec: IndicatorSpec, value: IndicatorValue, targets, benchmark: Benchmark | None
) -> RuleOutcome:
    r = spec.rule
    if isinstance(r, WorkpaperRule):
        return RuleOutcome(spec.points)
    if not value.computable:
        return RuleOutcome(0.0, [f"指标无法计算，不得分：{value.reason}"])
    if isinstance(r, ProportionalRule):
        if r.target is not None:
            target = Target(r.target, "指标体系标准值")
        elif r.target_from_targets:
            target = target_from_targets(targets, r.target_from_targets)
        elif benchmark is None:
            target = Target(None, "同组均值", "未配置同组部门")
        else:
            target = Target(benchmark.mean, benchmark.source, benchmark.missing_reason)
        return rules.proportional(spec.points, value.value, target, spec.display)
    if isinstance(r, BandsRule):
        return rules.bands(spec.points, value.value, r, spec.display)
    if isinstance(r, DeductPerPointRule):
        return rules.deduct_per_point(spec.points, value.value, r, spec.display)
    if isinstance(r, DeductPerItemRule):
        return rules.deduct_per_item(spec.points, value.value, value.items, r)
    if isinstance(r, BooleanRule):
        return rules.boolean(spec.points, value.value, r, spec.display)
    raise AssertionError(f"{spec.id}: unknown rule {r}")


def score_indicator(
    spec: IndicatorSpec,
    value: IndicatorValue,
    targets: pd.DataFrame | None,
    workpaper: pd.DataFrame | None,
    benchmark: Benchmark | None = None,
    decimals: int = 2,
) -> IndicatorScore:
    outcome = _rule_outcome(spec, value, targets, benchmark)
    score, reasons = outcome.score, list(outcome.reasons)
    wp_total, refs = 0.0, []
    if workpaper is not None and len(workpaper):
        for row in workpaper[workpaper["indicator_id"] == spec.id].itertuples():
            deduction = row.deduction if row.deduction is not None and not pd.isna(row.deduction) else 0.0
            if deduction > 0:
                wp_total += float(deduction)
                refs.append(str(row.record_id))
                finding = _text(row.finding).rstrip("。；;. ")
                reasons.append(f"底稿{row.record_id}：{finding}（扣{float(deduction):g}分）")
    score = round(min(max(score - wp_total, 0.0), spec.points), decimals)
    target = outcome.target
    return IndicatorScore(
        id=spec.id,
        points=spec.points,
        score=score,
        deduction=round(spec.points - score, decimals),
        reasons=reasons,
        rule=spec.rule.kind,
        rule_text=rules.rule_text(spec.rule),
        target=target.value if target else None,
        target_source=target.source if target else None,
        workpaper_deduction=round(wp_total, decimals),
        workpaper_refs=refs,
    )


def score_partition(
    framework: Framework,
    indicators: IndicatorResults,
    targets: pd.DataFrame | None,
    workpaper: pd.DataFrame | None,
    benchmarks: dict[str, Benchmark],
    grades: GradesConfig,
) -> Scorecard:
    decimals = grades.score_decimals
    values = indicators.by_id()
    scores = [
        score_indicator(spec, values[spec.id], targets, workpaper, benchmarks.get(spec.id), decimals)
        for spec in framework.indicators
    ]
    by_id = {s.id: s for s in scores}

    def subtotal(key: str) -> list[dict]:
        out: dict[str, dict] = {}
        for spec in framework.indicators:
            name = getattr(spec, key)
            entry = out.setdefault(
                f"{spec.level1}/{name}", {"name": name, "level1": spec.level1, "points": 0.0, "score": 0.0}
            )
            entry["points"] = round(entry["points"] + spec.points, decimals)
            entry["score"] = round(entry["score"] + by_id[spec.id].score, decimals)
        return list(out.values())

    total = round(sum(s.score for s in scores), decimals)
    return Scorecard(
        scores,
        subtotal("level1"),
        subtotal("level2"),
        total,
        grades.grade(total),
        round(sum(s.points for s in framework.indicators), decimals),
    )
