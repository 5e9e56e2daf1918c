"""Score a partition: every indicator by its rule, minus the evaluator's workpaper deductions,
then level subtotals, the total and the grade (assets_config/grades.yaml)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from perfeval_pipeline.config import config_dir, load_yaml
from perfeval_pipeline.indicators.compute import IndicatorResults, IndicatorValue
from perfeval_pipeline.indicators.framework import Framework, IndicatorSpec
from perfeval_pipeline.scoring import rules
from perfeval_pipeline.scoring.rules import RuleOutcome, Target

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class IndicatorScore:
    id: str
    points: float
    score: float
    deduction: float
    reasons: list[str]
    rule: str
    target: float | None = None
    target_source: str | None = None
    workpaper_deduction: float = 0.0
    workpaper_refs: list[str] = field(default_factory=list)

    @property
    def deduction_reason(self) -> str:
        return "；".join(self.reasons)


@dataclass
class GradeBands:
    bands: list[dict]
    decimals: int = 2

    def grade(self, total: float) -> str:
        for band in self.bands:
            if total >= float(band["min"]):
                return band["grade"]
        return self.bands[-1]["grade"]


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
            d["reasons"] = json.dumps(s.reasons, ensure_ascii=False)
            d["workpaper_refs"] = json.dumps(s.workpaper_refs, ensure_ascii=False)
            rows.append(d)
        return pd.DataFrame(rows)


@cache
def _grade_bands(path: Path) -> GradeBands:
    raw = load_yaml(path)
    bands = sorted(raw["bands"], key=lambda b: -float(b["min"]))
    return GradeBands(bands, int(raw.get("score_decimals", 2)))


def load_grade_bands() -> GradeBands:
    return _grade_bands(config_dir() / "grades.yaml")


def target_from_targets(targets: pd.DataFrame | None, name_contains: str) -> Target:
    """A numeric target from the department's 绩效目标表 (e.g. '≥ 80 %' → 0.8)."""
    source = f"绩效目标表“{name_contains}”"
    if targets is None or targets.empty:
        return Target(None, source, "绩效目标表为空")
    rows = targets[targets["name"].fillna("").str.contains(name_contains, regex=False)]
    if rows.empty:
        return Target(None, source, f"绩效目标表中无包含“{name_contains}”的指标")
    row = rows.iloc[0]
    match = _NUMBER.search(str(row["value"]))
    if not match:
        return Target(None, source, f"目标值“{row['value']}”不是数值")
    value = float(match.group())
    if "%" in str(row.get("unit") or "") or "%" in str(row["value"]):
        value /= 100
    ref = f"{row['_source_file']} {row['_source_sheet']} 第{row['_source_row']}行"
    return Target(value, f"{source}（{ref}）")


@dataclass
class PeerMean:
    value: float | None
    members: dict[str, float | None]

    @property
    def target(self) -> Target:
        used = {k: v for k, v in self.members.items() if v is not None}
        missing = sorted(k for k, v in self.members.items() if v is None)
        if not used:
            return Target(None, "同组均值", f"同组部门均无数据：{missing}")
        source = f"同组均值（{len(used)}个部门{'，缺' + ','.join(missing) if missing else ''}）"
        return Target(sum(used.values()) / len(used), source)


def _rule_label(spec: IndicatorSpec) -> str:
    r = spec.rule
    kind = r["kind"]
    if kind == "proportional":
        tgt = r.get("target", "绩效目标表" if r.get("target_from_targets") else "同组均值")
        return f"proportional(target={tgt})"
    if kind == "deduct_per_point":
        return (
            f"deduct_per_point(standard={r['standard']}, {r.get('direction', 'above')}, {r['per_point']}/pp)"
        )
    if kind == "deduct_per_item":
        return f"deduct_per_item({r['per_item']}/item)"
    if kind == "bands":
        return (
            "bands("
            + ", ".join(
                f"≤{b['max']}:{b['score']}" if "max" in b else f"else:{b['score']}" for b in r["bands"]
            )
            + ")"
        )
    if kind == "boolean":
        return f"boolean({r.get('when')})"
    return kind


def _apply_rule(
    spec: IndicatorSpec, value: IndicatorValue, targets, peer_mean: PeerMean | None
) -> RuleOutcome:
    r = spec.rule
    kind = r["kind"]
    if kind == "workpaper":
        return RuleOutcome(spec.points)
    if not value.computable:
        return RuleOutcome(0.0, [f"指标无法计算，不得分：{value.reason}"])
    if kind == "proportional":
        if "target" in r:
            target = Target(float(r["target"]), "指标体系标准值")
        elif "target_from_targets" in r:
            target = target_from_targets(targets, r["target_from_targets"])
        elif r.get("target_peer_mean"):
            target = peer_mean.target if peer_mean else Target(None, "同组均值", "未配置同组部门")
        else:
            raise ValueError(
                f"{spec.id}: proportional rule needs target, target_from_targets or target_peer_mean"
            )
        return rules.proportional(spec.points, value.value, target, spec.display)
    if kind == "bands":
        return rules.bands(spec.points, value.value, r, spec.display)
    if kind == "deduct_per_point":
        return rules.deduct_per_point(spec.points, value.value, r, spec.display)
    if kind == "deduct_per_item":
        return rules.deduct_per_item(spec.points, value.value, value.items, r)
    if kind == "boolean":
        return rules.boolean(spec.points, value.value, r, spec.display)
    raise ValueError(f"{spec.id}: unknown rule {kind}")


def score_indicator(
    spec: IndicatorSpec,
    value: IndicatorValue,
    targets: pd.DataFrame | None,
    workpaper: pd.DataFrame | None,
    peer_mean: PeerMean | None = None,
    decimals: int = 2,
) -> IndicatorScore:
    outcome = _apply_rule(spec, value, targets, peer_mean)
    score, reasons = outcome.score, list(outcome.reasons)
    wp_total, refs = 0.0, []
    if workpaper is not None and len(workpaper):
        rows = workpaper[workpaper["indicator_id"] == spec.id]
        for row in rows.itertuples():
            if row.deduction and row.deduction > 0:
                wp_total += float(row.deduction)
                refs.append(str(row.record_id))
                reasons.append(f"底稿{row.record_id}：{row.finding}（扣{float(row.deduction):g}分）")
    score = round(min(max(score - wp_total, 0.0), spec.points), decimals)
    target = outcome.target
    return IndicatorScore(
        id=spec.id,
        points=spec.points,
        score=score,
        deduction=round(spec.points - score, decimals),
        reasons=reasons,
        rule=_rule_label(spec),
        target=target.value if target else None,
        target_source=target.source if target else None,
        workpaper_deduction=round(wp_total, decimals),
        workpaper_refs=refs,
    )


def peer_means(
    framework: Framework,
    peers: dict[str, tuple[str, ...]],
    load_value: Callable[[str, str], float | None],
) -> dict[str, PeerMean]:
    """Group means for indicators scored against peers. `load_value(department, indicator_id)`
    reads a peer's own stored value (None when that partition has none)."""
    out = {}
    members = sorted({m for group in peers.values() for m in group})
    for spec in framework.indicators:
        if spec.rule.get("target_peer_mean") and members:
            out[spec.id] = PeerMean(None, {m: load_value(m, spec.id) for m in members})
    return out


def score_partition(
    framework: Framework,
    indicators: IndicatorResults,
    targets: pd.DataFrame | None,
    workpaper: pd.DataFrame | None,
    peer_mean_by_indicator: dict[str, PeerMean] | None = None,
    grade_bands: GradeBands | None = None,
) -> Scorecard:
    bands = grade_bands or load_grade_bands()
    peer_mean_by_indicator = peer_mean_by_indicator or {}
    scores = [
        score_indicator(
            spec,
            indicators.get(spec.id),
            targets,
            workpaper,
            peer_mean_by_indicator.get(spec.id),
            bands.decimals,
        )
        for spec in framework.indicators
    ]
    by_id = {s.id: s for s in scores}

    def subtotal(key: str) -> list[dict]:
        out: dict[str, dict] = {}
        for spec in framework.indicators:
            name = getattr(spec, key)
            entry = out.setdefault(name, {"name": name, "level1": spec.level1, "points": 0.0, "score": 0.0})
            entry["points"] += spec.points
            entry["score"] = round(entry["score"] + by_id[spec.id].score, bands.decimals)
        return list(out.values())

    total = round(sum(s.score for s in scores), bands.decimals)
    return Scorecard(
        scores,
        subtotal("level1"),
        subtotal("level2"),
        total,
        bands.grade(total),
        sum(s.points for s in framework.indicators),
    )
