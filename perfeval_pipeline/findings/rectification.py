"""整改跟踪: did last year's problems get fixed?

Each problem item carries stable finding identities: the indicator (`asset_utilization_rate`), a rule
of a rule-hits indicator (`asset_safety:no_label`), a budget unit for per-unit findings
(`procurement_overrun_rate@JDZ002`) or a workpaper finding code (`wp:illegal_expense`). The
follow-up compares last year's stored result with this year's, identity by identity:

- resolved: the problem no longer fires (the indicator now meets its standard, the rule finds no row);
- improved: it still fires, with a smaller deduction (or a better per-unit figure);
- unchanged: same deduction, or a workpaper finding the evaluator recorded again;
- worse: a larger deduction (or a worse per-unit figure);
- new: this year's problems last year did not have.

Derived only from the two years' stored results (result.json of the previous year, this year's
stored indicators and scores)."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from perfeval_pipeline.catalog import RECTIFICATION, RESULT
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.compute import IndicatorResults
from perfeval_pipeline.scoring.score import Scorecard
from perfeval_pipeline.store import Store

STATUS_TEXT = {
    "resolved": "已整改",
    "improved": "有所改善",
    "unchanged": "未整改",
    "worse": "有所恶化",
    "new": "新发现问题",
}
COLUMNS = [
    "finding_id",
    "indicator_id",
    "indicator_name",
    "status",
    "status_text",
    "previous_value",
    "previous_display",
    "previous_deduction",
    "current_value",
    "current_display",
    "current_deduction",
    "previous_item",
    "current_item",
]
EPS = 0.005


def _better_direction(indicator: dict) -> int:
    """+1: a higher value is better; -1: lower is better (overruns, deviations, violations)."""
    rule = indicator.get("rule")
    if rule in ("deduct_per_item", "bands"):
        return -1
    if rule == "deduct_per_point":
        return -1 if "高于" in (indicator.get("rule_text") or "") else 1
    if rule == "boolean":
        return -1 if indicator.get("display_kind") == "count" else 1
    return 1


def _unit_value(indicator: dict, unit: str | None):
    if unit is None:
        return indicator.get("value")
    for u in indicator.get("by_unit") or []:
        if str(u.get("key")) == unit:
            return u.get("value")
    return None


def _items_by_finding(result: dict) -> dict[str, dict]:
    out = {}
    for group in result.get("problems") or []:
        for item in group["items"]:
            for fid in item.get("finding_ids") or []:
                out.setdefault(fid, {**item, "group_no": group["no"], "group_title": group["title"]})
    return out


# What a later year reads of an earlier year's result: the follow-up (indicators, problems, status)
# and the workbook's 历年得分 history (total, grade, levels). Not the earlier year's own follow-up:
# refreshing that must not ripple further.
FOLLOWED_KEYS = (
    "status",
    "total_score",
    "grade",
    "levels",
    "indicators",
    "problems",
    "blocked_reasons",
    "failure",
)


def earlier_years_digest(settings: Settings, department: str, year: int) -> str:
    """A fingerprint of everything `year` reads from the department's earlier results. A result
    whose stored fingerprint differs was composed from other earlier results than those now on disk."""
    parts = []
    for y in settings.department_years(department):
        if y >= year:
            continue
        path = settings.report_folder(department, y) / RESULT.name
        result = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        parts.append([y, {k: result.get(k) for k in FOLLOWED_KEYS} if result else None])
    text = json.dumps(parts, ensure_ascii=False, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def previous_result(settings: Settings, department: str, year: int) -> tuple[dict | None, str | None]:
    """Last year's result, or why there is none to follow up."""
    prev = year - 1
    if prev not in settings.department_years(department):
        return None, f"{prev}年不在本部门的评价年度内"
    path = settings.report_folder(department, prev) / RESULT.name
    if not path.exists():
        return None, f"{prev}年尚未评价（无评价结果）"
    result = json.loads(path.read_text(encoding="utf-8"))
    if result.get("status") != "evaluated":
        why = "；".join((result.get("blocked_reasons") or result.get("failure") or [])[:1])
        return None, f"{prev}年评价未完成（{result.get('status')}）：{why}"
    return result, None


def follow_up(
    settings: Settings,
    store: Store,
    department: str,
    year: int,
    findings: dict,
    indicators: IndicatorResults,
    scorecard: Scorecard,
) -> dict:
    previous, why = previous_result(settings, department, year)
    if previous is None:
        return {"previous_year": year - 1, "available": False, "reason": why, "problems": []}
    now = {v.id: v for v in indicators.values}
    scores = {s.id: s for s in scorecard.indicators}
    before = {i["id"]: i for i in previous.get("indicators", [])}
    prev_items = _items_by_finding(previous)
    current_items = {}
    for group in findings["problems"]:
        for item in group["items"]:
            for fid in item.get("finding_ids") or []:
                current_items.setdefault(fid, item)
    rows = []
    for fid, item in prev_items.items():
        base, _, unit = fid.partition("@")
        iid = base.split(":")[0] if not base.startswith("wp:") else (item.get("cites") or [None])[0]
        old = before.get(iid, {})
        cur_value = now.get(iid)
        cur_score = scores.get(iid)
        prev_value = _unit_value(old, unit or None)
        cur_unit_value = None
        if cur_value is not None:
            cur_unit_value = (
                cur_value.value
                if not unit
                else next((u.get("value") for u in cur_value.by_unit if str(u.get("key")) == unit), None)
            )
        prev_ded = old.get("deduction")
        cur_ded = cur_score.deduction if cur_score else None
        if fid not in current_items:
            status = "resolved"
        elif base.startswith("wp:"):
            status = "unchanged"
        elif unit and prev_value is not None and cur_unit_value is not None:
            diff = (cur_unit_value - prev_value) * _better_direction(old)
            status = "improved" if diff > 1e-9 else "worse" if diff < -1e-9 else "unchanged"
        elif prev_ded is not None and cur_ded is not None:
            status = (
                "improved"
                if cur_ded < prev_ded - EPS
                else "worse"
                if cur_ded > prev_ded + EPS
                else "unchanged"
            )
        else:
            status = "unchanged"
        kind = old.get("display_kind", "decimal")
        rows.append(
            {
                "finding_id": fid,
                "indicator_id": iid,
                "indicator_name": old.get("name") or (cur_value.name if cur_value else iid),
                "status": status,
                "status_text": STATUS_TEXT[status],
                "previous_value": prev_value,
                "previous_display": display(prev_value, kind) if prev_value is not None else None,
                "previous_deduction": prev_ded,
                "current_value": cur_unit_value,
                "current_display": display(cur_unit_value, kind) if cur_unit_value is not None else None,
                "current_deduction": cur_ded,
                "previous_item": f"{item['group_no']}{item['no']} {item['title']}",
                "current_item": f"{current_items[fid]['no']} {current_items[fid]['title']}"
                if fid in current_items
                else None,
            }
        )
    for fid, item in current_items.items():
        if fid in prev_items:
            continue
        base, _, unit = fid.partition("@")
        iid = base.split(":")[0] if not base.startswith("wp:") else (item.get("cites") or [None])[0]
        cur_value = now.get(iid)
        value = None
        if cur_value is not None:
            value = (
                cur_value.value
                if not unit
                else next((u.get("value") for u in cur_value.by_unit if str(u.get("key")) == unit), None)
            )
        rows.append(
            {
                "finding_id": fid,
                "indicator_id": iid,
                "indicator_name": cur_value.name if cur_value else iid,
                "status": "new",
                "status_text": STATUS_TEXT["new"],
                "previous_value": None,
                "previous_display": None,
                "previous_deduction": None,
                "current_value": value,
                "current_display": display(value, cur_value.display_kind)
                if cur_value and value is not None
                else None,
                "current_deduction": scores[iid].deduction if iid in scores else None,
                "previous_item": None,
                "current_item": f"{item['no']} {item['title']}",
            }
        )
    return {"previous_year": year - 1, "available": True, "reason": None, "problems": rows}


def store_rectification(store: Store, department: str, year: int, rectification: dict) -> None:
    store.write(RECTIFICATION, department, year, pd.DataFrame(rectification["problems"], columns=COLUMNS))


def repeated(rectification: dict) -> set[str]:
    """Finding ids that were problems last year and still are."""
    return {
        r["finding_id"]
        for r in rectification.get("problems", [])
        if r["status"] in ("unchanged", "worse", "improved")
    }
