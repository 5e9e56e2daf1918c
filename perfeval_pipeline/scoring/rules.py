"""The scoring vocabulary. Each rule turns an indicator value into points and says why, in words.

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

from perfeval_pipeline.formatting import display, percent
from perfeval_pipeline.formatting import points as fmt_points
from perfeval_pipeline.indicators.framework import (
    BandsRule,
    BooleanRule,
    DeductPerItemRule,
    DeductPerPointRule,
    ProportionalRule,
    Rule,
)


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


def proportional(points: float, value: float, target: Target, kind: str) -> RuleOutcome:
    if target.value is None:
        return RuleOutcome(0.0, [f"目标值缺失，无法计分：{target.reason}"], target)
    if target.value <= 0:
        return RuleOutcome(points, [], target)
    share = max(min(value / target.value, 1.0), 0.0)
    reasons = []
    if share < 1:
        reasons.append(
            f"实际值{display(value, kind)}未达目标值{display(target.value, kind)}（{target.source}），"
            f"按完成比例{share * 100:.2f}%计分，扣{points * (1 - share):.2f}分"
        )
    return RuleOutcome(points * share, reasons, target)


def bands(points: float, value: float, rule: BandsRule, kind: str) -> RuleOutcome:
    v = abs(value) if rule.abs else value
    for i, band in enumerate(rule.bands):
        if band.max is None or v <= band.max + 1e-12:
            score = min(band.score, points)
            reasons = []
            if score < points:
                prev = rule.bands[i - 1].max if i > 0 else None
                bound = f"超过{display(prev, kind)}" if prev is not None else ""
                reasons.append(
                    f"{'绝对值' if rule.abs else ''}{display(value, kind)}{bound}，按档计{fmt_points(score)}分"
                )
            return RuleOutcome(score, reasons)
    raise AssertionError("the last band has no max")  # checked at load


def deduct_per_point(points: float, value: float, rule: DeductPerPointRule, kind: str) -> RuleOutcome:
    above = rule.direction == "above"
    gap_pp = ((value - rule.standard) if above else (rule.standard - value)) * 100
    if gap_pp <= 1e-9:
        return RuleOutcome(points)
    deduction = rule.per_point * gap_pp
    word = "高于" if above else "低于"
    return RuleOutcome(
        max(points - deduction, 0.0),
        [
            f"{display(value, kind)}{word}标准{percent(rule.standard)} {gap_pp:.2f} 个百分点，"
            f"每个百分点扣{fmt_points(rule.per_point)}分，扣{min(deduction, points):.2f}分"
        ],
    )


def deduct_per_item(points: float, value: float, items: list, rule: DeductPerItemRule) -> RuleOutcome:
    n = len(items) if items else int(round(value))
    if n <= 0:
        return RuleOutcome(points)
    deduction = rule.per_item * n
    return RuleOutcome(
        max(points - deduction, 0.0),
        [f"发现{n}项问题，每项扣{fmt_points(rule.per_item)}分，扣{min(deduction, points):.2f}分"],
    )


def boolean(points: float, value: float, rule: BooleanRule, kind: str) -> RuleOutcome:
    if rule.when.holds(value):
        return RuleOutcome(points)
    return RuleOutcome(0.0, [f"为{display(value, kind)}，未达到“{rule.when.text}”的标准，不得分"])


def rule_text(rule: Rule, target_source: str | None = None) -> str:
    """The rule in words, as an evaluator's scoring table states it."""
    if isinstance(rule, ProportionalRule):
        if rule.target is not None:
            goal = f"目标值{percent(rule.target) if rule.target <= 1.5 else fmt_points(rule.target)}"
        elif rule.target_from_targets:
            goal = f"以绩效目标表“{rule.target_from_targets}”为目标"
        else:
            goal = "以同组部门均值为目标"
        return f"按完成比例计分（{goal}），满分为止"
    if isinstance(rule, BandsRule):
        parts = []
        for band in rule.bands:
            if band.max is None:
                parts.append(f"其余{fmt_points(band.score)}分")
            else:
                parts.append(f"≤{percent(band.max)}得{fmt_points(band.score)}分")
        return ("按绝对值分档：" if rule.abs else "分档计分：") + "，".join(parts)
    if isinstance(rule, DeductPerPointRule):
        word = "高于" if rule.direction == "above" else "低于"
        return f"{word}{percent(rule.standard)}时每个百分点扣{fmt_points(rule.per_point)}分，扣完为止"
    if isinstance(rule, DeductPerItemRule):
        return f"每项问题扣{fmt_points(rule.per_item)}分，扣完为止"
    if isinstance(rule, BooleanRule):
        return f"满足“{rule.when.text}”得满分，否则不得分"
    return "评价组工作底稿扣分"
