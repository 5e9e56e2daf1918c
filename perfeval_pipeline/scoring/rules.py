"""The scoring vocabulary. Each rule turns an indicator value into points and says why.

- proportional: points × min(value / target, 1); the target is a number, the department's own
  绩效目标表 row (target_from_targets), or the peer-group mean (target_peer_mean).
- bands: the first band whose `max` the value (or |value| with abs) does not exceed.
- deduct_per_point: points − per_point × percentage points beyond `standard` (above or below).
- deduct_per_item: points − per_item × number of items found (violations, units, rules hit).
- boolean: full points when `when` holds for the value, else 0.
- workpaper: full points; the evaluator's workpaper deductions do the rest.
Evaluator workpaper deductions apply after every rule; scores are floored at 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from perfeval_pipeline.formatting import display


@dataclass
class Target:
    value: float | None
    source: str
    reason: str | None = None  # why it is missing


@dataclass
class RuleOutcome:
    score: float
    reasons: list[str] = field(default_factory=list)
    target: Target | None = None


def _fmt(value: float | None, kind: str) -> str:
    return display(value, kind)


def proportional(points: float, value: float | None, target: Target, kind: str) -> RuleOutcome:
    if target.value is None:
        return RuleOutcome(0.0, [f"目标值缺失，无法计分：{target.reason}"], target)
    if target.value <= 0:
        return RuleOutcome(points, [], target)
    share = min(value / target.value, 1.0) if value is not None else 0.0
    score = points * max(share, 0.0)
    reasons = []
    if share < 1:
        reasons.append(
            f"实际值{_fmt(value, kind)}未达目标值{_fmt(target.value, kind)}（{target.source}），"
            f"按完成比例{share * 100:.2f}%计分"
        )
    return RuleOutcome(score, reasons, target)


def bands(points: float, value: float, rule: dict, kind: str) -> RuleOutcome:
    v = abs(value) if rule.get("abs") else value
    for band in rule["bands"]:
        if "max" not in band or v <= float(band["max"]):
            score = min(float(band["score"]), points)
            reasons = []
            if score < points:
                bound = (
                    f"超过{_fmt(prev, kind)}"
                    if (prev := _previous_max(rule["bands"], band)) is not None
                    else ""
                )
                reasons.append(
                    f"{'绝对值' if rule.get('abs') else ''}{_fmt(value, kind)}{bound}，按档计{score:g}分"
                )
            return RuleOutcome(score, reasons)
    raise ValueError("bands need a last band without max")


def _previous_max(all_bands: list[dict], band: dict) -> float | None:
    idx = all_bands.index(band)
    return float(all_bands[idx - 1]["max"]) if idx > 0 else None


def deduct_per_point(points: float, value: float, rule: dict, kind: str) -> RuleOutcome:
    standard = float(rule["standard"])
    above = rule.get("direction", "above") == "above"
    gap_pp = ((value - standard) if above else (standard - value)) * 100
    if gap_pp <= 0:
        return RuleOutcome(points)
    deduction = float(rule["per_point"]) * gap_pp
    word = "高于" if above else "低于"
    return RuleOutcome(
        max(points - deduction, 0.0),
        [
            f"{_fmt(value, kind)}{word}标准{_fmt(standard, 'percent')} {gap_pp:.2f} 个百分点，"
            f"每个百分点扣{float(rule['per_point']):g}分，扣{min(deduction, points):.2f}分"
        ],
    )


def deduct_per_item(points: float, value: float, items: list[dict], rule: dict) -> RuleOutcome:
    n = len(items) if items else int(value)
    if n <= 0:
        return RuleOutcome(points)
    deduction = float(rule["per_item"]) * n
    return RuleOutcome(
        max(points - deduction, 0.0),
        [f"发现{n}项问题，每项扣{float(rule['per_item']):g}分，扣{min(deduction, points):.2f}分"],
    )


def boolean(points: float, value: float, rule: dict, kind: str) -> RuleOutcome:
    holds = bool(pd.eval(rule.get("when", "value == 1"), local_dict={"value": value}))
    if holds:
        return RuleOutcome(points)
    return RuleOutcome(0.0, [f"实际值{_fmt(value, kind)}不满足“{rule.get('when')}”，不得分"])
