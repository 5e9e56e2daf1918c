"""整改跟踪: did last year's problems get fixed?

Each problem item carries stable finding identities, one of four kinds:
- an indicator (`hq_budget_variance_rate`);
- a rule of a rule-hits indicator (`asset_safety:no_label`);
- a budget unit of a per-unit finding (`procurement_overrun_rate@JDZ002`);
- a workpaper finding code (`wp:illegal_expense`).

The follow-up compares last year's result (its result.json) with this year's indicators and scores,
identity by identity. Its figure is what the identity is about: the indicator's value, the rule's
row count, the unit's value; a workpaper finding has none. Its deduction is the indicator's rule
deduction (what makes an item fire); a workpaper finding has none of its own.

- resolved: the problem no longer fires and nothing of it is deducted: the indicator meets its
  standard (no rule deduction), the rule finds no row, the unit meets its standard, the evaluator did
  not record the workpaper finding again;
- improved: still a problem, better: a smaller deduction (an indicator still deducted but now below
  the findings threshold, so not listed, is improved, not resolved), fewer rows of the rule, a better
  figure of the unit;
- unchanged: the same deduction, rows or unit figure; a workpaper finding recorded again;
- worse: a larger deduction, more rows of the rule, a worse figure of the unit;
- new: this year's problems that last year did not have.

The follow-up is stored per partition (the `rectification` dataset and result.json's
`rectification`, whose `section` says whether the form prints it: departments.yaml
`rectification_section`, else the framework's findings default). An item of this year's 存在问题
that repeats a problem of last year says so (the findings config's `repeated` sentence, "连续两年…"),
counting the consecutive earlier years whose results list the same finding.

Derived only from the earlier years' result.json files and this year's stored indicators and scores."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import jinja2
import pandas as pd

from perfeval_pipeline.catalog import RECTIFICATION, RESULT
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.findings.compose import chinese_number, sentence
from perfeval_pipeline.findings.result import indicator_records
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.compute import IndicatorResults
from perfeval_pipeline.indicators.framework import (
    BandsRule,
    DeductPerItemRule,
    DeductPerPointRule,
    Framework,
)
from perfeval_pipeline.scoring.score import Scorecard
from perfeval_pipeline.store import Store

STATUS_TEXT = {
    "resolved": "已整改",
    "improved": "有所改善",
    "unchanged": "未整改",
    "worse": "有所恶化",
    "new": "新发现问题",
}
# Statuses of a problem that is still there (an item of this year repeats it).
REPEATED = ("unchanged", "worse", "improved")
COLUMNS = [
    "finding_id",
    "finding_kind",  # indicator | rule | unit | workpaper
    "indicator_id",
    "indicator_name",
    "status",
    "status_text",
    "basis",  # what the status compared, in words
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


@dataclass(frozen=True)
class Finding:
    """A finding identity taken apart."""

    id: str
    kind: str  # indicator | rule | unit | workpaper
    indicator_id: str | None
    rule: str | None = None
    unit: str | None = None


def parse_finding(finding_id: str, item: dict | None = None) -> Finding:
    """'asset_safety:no_label', 'procurement_overrun_rate@JDZ002', 'wp:code' (its indicator is the
    one the item cites), 'hq_budget_variance_rate'."""
    if finding_id.startswith("wp:"):
        cites = (item or {}).get("cites") or [None]
        return Finding(finding_id, "workpaper", cites[0])
    base, _, unit = finding_id.partition("@")
    iid, _, rule = base.partition(":")
    if rule:
        return Finding(finding_id, "rule", iid, rule=rule)
    if unit:
        return Finding(finding_id, "unit", iid, unit=unit)
    return Finding(finding_id, "indicator", iid)


def rule_deduction(indicator: dict | None) -> float | None:
    """The deduction the scoring rule made (workpaper deductions excluded), as findings compare it."""
    if not indicator or indicator.get("deduction") is None:
        return None
    return round(indicator["deduction"] - (indicator.get("workpaper_deduction") or 0.0), 6)


def figure(finding: Finding, indicator: dict | None) -> tuple[float | None, str]:
    """The finding's figure in a year and how it displays: the indicator's value, the unit's value,
    the rule's row count (0: the rule found nothing); a workpaper finding has none."""
    if indicator is None or finding.kind == "workpaper":
        return None, ""
    kind = indicator.get("display_kind") or "decimal"
    if finding.kind == "rule":
        count = next(
            (it.get("count") for it in indicator.get("items") or [] if it.get("rule") == finding.rule), 0
        )
        return float(count or 0), "count"
    if finding.kind == "unit":
        for unit in indicator.get("by_unit") or []:
            if str(unit.get("key")) == finding.unit:
                return unit.get("value"), kind
        return None, kind
    return indicator.get("value"), kind


def deduction_of(finding: Finding, indicator: dict | None) -> float | None:
    """The indicator's rule deduction; none for a workpaper finding (the indicator's workpaper
    deduction sums every workpaper row of it, not this finding's)."""
    if finding.kind == "workpaper":
        return None
    return rule_deduction(indicator)


def better_direction(framework: Framework | None, indicator_id: str | None) -> tuple[int, bool]:
    """(+1: a higher figure is better, -1: lower is better; compare absolute values) of an
    indicator's per-unit figures, from its scoring rule."""
    try:
        rule = framework.get(indicator_id).rule if framework and indicator_id else None
    except KeyError:
        rule = None
    if isinstance(rule, DeductPerPointRule):
        return (-1 if rule.direction == "above" else 1), False
    if isinstance(rule, BandsRule):
        return -1, rule.abs
    if isinstance(rule, DeductPerItemRule):
        return -1, False  # its figures are overruns, deviations, violations
    return 1, False  # proportional: a completion, a rate to reach


def _pts(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def classify(
    finding: Finding,
    fires_now: bool,
    before: dict | None,
    now: dict | None,
    direction: tuple[int, bool] = (1, False),
) -> tuple[str, str]:
    """(status, basis in words) of one of last year's findings."""
    prev_ded, cur_ded = deduction_of(finding, before), deduction_of(finding, now)
    deductions = f"扣分 {_pts(prev_ded)} → {_pts(cur_ded)}"
    if finding.kind == "workpaper":
        if fires_now:
            return "unchanged", "评价组本年再次记录该底稿问题"
        return "resolved", "本年工作底稿未再记录该问题"
    if finding.kind == "rule":
        prev, _ = figure(finding, before)
        cur, _ = figure(finding, now)
        rows = f"规则命中行数 {prev or 0:g} → {cur or 0:g}"
        if not fires_now or not cur:
            return "resolved", f"{rows}：规则不再命中"
        return ("improved" if cur < (prev or 0) else "worse" if cur > (prev or 0) else "unchanged"), rows
    if finding.kind == "unit":
        prev, kind = figure(finding, before)
        cur, _ = figure(finding, now)
        shown = f"单位值 {display(prev, kind) if prev is not None else '—'} → {display(cur, kind) if cur is not None else '—'}"
        if not fires_now:
            return "resolved", f"{shown}：该单位不再列为问题"
        if prev is not None and cur is not None:
            sign, absolute = direction
            a, b = (abs(prev), abs(cur)) if absolute else (prev, cur)
            diff = (b - a) * sign
            return ("improved" if diff > 1e-9 else "worse" if diff < -1e-9 else "unchanged"), shown
    if not fires_now and (cur_ded is None or cur_ded <= EPS):
        return "resolved", f"{deductions}：已达标准，不再扣分"
    if prev_ded is None or cur_ded is None:
        return "unchanged", deductions
    below = "" if fires_now else "（低于问题列示门槛，未列入本年存在问题）"
    if cur_ded < prev_ded - EPS:
        return "improved", deductions + below
    if cur_ded > prev_ded + EPS:
        return "worse", deductions + below
    return "unchanged", deductions + below


def _items_by_finding(problems: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for group in problems or []:
        for item in group["items"]:
            for fid in item.get("finding_ids") or []:
                out.setdefault(fid, {**item, "group_no": group["no"], "group_title": group["title"]})
    return out


def _item_label(item: dict) -> str:
    return f"{item['group_no']}{item['no']} {item['title']}"


# What a later year reads of an earlier year's result: the follow-up (indicators, problems' numbers,
# titles and finding ids, status) and the workbook's 历年得分 history (total, grade, levels). Not the
# earlier year's own follow-up, nor its items' text (which states repeats): refreshing those must
# not ripple further.
FOLLOWED_KEYS = ("status", "total_score", "grade", "levels", "indicators", "blocked_reasons", "failure")


def _followed(result: dict) -> dict:
    out = {k: result.get(k) for k in FOLLOWED_KEYS}
    out["problems"] = [
        {
            "no": g["no"],
            "title": g["title"],
            "items": [
                {k: it.get(k) for k in ("no", "title", "finding_ids", "cites")} for it in g.get("items", [])
            ],
        }
        for g in result.get("problems") or []
    ]
    return out


def _earlier(settings: Settings, department: str, year: int) -> dict[int, dict | None]:
    out = {}
    for y in settings.department_years(department):
        if y < year:
            path = settings.report_folder(department, y) / RESULT.name
            out[y] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    return out


def earlier_years_digest(settings: Settings, department: str, year: int) -> str:
    """A fingerprint of everything `year` reads from the department's earlier results. A result
    whose stored fingerprint differs was composed from other earlier results than those now on disk."""
    parts = [[y, _followed(r) if r else None] for y, r in _earlier(settings, department, year).items()]
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


def section_on(settings: Settings, department: str) -> bool:
    """Whether the form prints 上年评价问题整改情况: departments.yaml, else the framework's findings."""
    dept = settings.department(department)
    if dept.rectification_section is not None:
        return dept.rectification_section
    return settings.findings[dept.framework].rectification_section


def subject(finding: Finding, framework: Framework | None, *indicators: dict | None) -> str:
    """What a figure is of, where the indicator alone does not say: the rule's title (未贴标签) or
    the unit's name (局本级); the form prints it before the figure."""
    if finding.kind == "rule":
        for ind in indicators:
            for it in (ind or {}).get("items") or []:
                if it.get("rule") == finding.rule and it.get("title"):
                    return str(it["title"])
        try:
            rules = getattr(framework.get(finding.indicator_id).measure, "rules", {}) if framework else {}
        except KeyError:
            rules = {}
        spec = rules.get(finding.rule)
        return str(getattr(spec, "title", None) or finding.rule)
    if finding.kind == "unit":
        for ind in indicators:
            for unit in (ind or {}).get("by_unit") or []:
                if str(unit.get("key")) == finding.unit and unit.get("name"):
                    return str(unit["name"])
        return str(finding.unit)
    return ""


def _shown(value: float | None, kind: str, finding: Finding, what: str) -> str | None:
    if value is None:
        return None
    if finding.kind == "rule":
        return f"{what}{value:g}处"
    return f"{what}{display(value, kind)}"


def _row(
    finding: Finding,
    status: str,
    basis: str,
    before: dict | None,
    now: dict | None,
    previous_item: dict | None,
    current_item: dict | None,
    framework: Framework | None = None,
) -> dict:
    prev_value, prev_kind = figure(finding, before)
    cur_value, cur_kind = figure(finding, now)
    what = subject(finding, framework, before, now)
    name = (before or {}).get("name") or (now or {}).get("name") or finding.indicator_id
    return {
        "finding_id": finding.id,
        "finding_kind": finding.kind,
        "indicator_id": finding.indicator_id,
        "indicator_name": name,
        "status": status,
        "status_text": STATUS_TEXT[status],
        "basis": basis,
        "previous_value": prev_value,
        "previous_display": _shown(prev_value, prev_kind, finding, what),
        "previous_deduction": deduction_of(finding, before),
        "current_value": cur_value,
        "current_display": _shown(cur_value, cur_kind, finding, what),
        "current_deduction": deduction_of(finding, now),
        "previous_item": _item_label(previous_item) if previous_item else None,
        "current_item": _item_label(current_item) if current_item else None,
    }


def follow_up(
    settings: Settings,
    store: Store,
    department: str,
    year: int,
    findings: dict,
    indicators: IndicatorResults,
    scorecard: Scorecard,
) -> dict:
    """This year's follow-up of last year's problems. Also states, in this year's problem items
    (`findings`, changed in place), which of them repeat earlier years' problems."""
    section = section_on(settings, department)
    previous, why = previous_result(settings, department, year)
    if previous is None:
        return {
            "previous_year": year - 1,
            "available": False,
            "reason": why,
            "section": section,
            "problems": [],
        }
    dept = settings.department(department)
    framework = settings.frameworks[dept.framework]
    now = {r["id"]: r for r in indicator_records(framework, indicators, scorecard)}
    before = {i["id"]: i for i in previous.get("indicators", [])}
    prev_items = _items_by_finding(previous.get("problems"))
    current_items = _items_by_finding(findings["problems"])
    rows = []
    for fid, item in prev_items.items():
        finding = parse_finding(fid, item)
        iid = finding.indicator_id
        status, basis = classify(
            finding,
            fid in current_items,
            before.get(iid),
            now.get(iid),
            better_direction(framework, iid),
        )
        rows.append(
            _row(
                finding, status, basis, before.get(iid), now.get(iid), item, current_items.get(fid), framework
            )
        )
    for fid, item in current_items.items():
        if fid in prev_items:
            continue
        finding = parse_finding(fid, item)
        iid = finding.indicator_id
        rows.append(
            _row(finding, "new", "上年评价未列该问题", before.get(iid), now.get(iid), None, item, framework)
        )
    rectification = {
        "previous_year": year - 1,
        "available": True,
        "reason": None,
        "section": section,
        "problems": rows,
    }
    state_repeats(settings, department, year, findings, rectification)
    return rectification


def store_rectification(store: Store, department: str, year: int, rectification: dict) -> None:
    store.write(RECTIFICATION, department, year, pd.DataFrame(rectification["problems"], columns=COLUMNS))


def repeated(rectification: dict) -> set[str]:
    """Finding ids that were problems last year and still are."""
    return {r["finding_id"] for r in rectification.get("problems", []) if r["status"] in REPEATED}


def years_in_words(n: int) -> str:
    """2 → 两, 3 → 三 … (连续两年, 连续三年)."""
    return "两" if n == 2 else chinese_number(n - 1)


def streak(earlier: dict[int, dict | None], year: int, finding_id: str) -> int:
    """This year and the consecutive earlier years (`earlier`: year → result) whose evaluated
    results list the finding."""
    n, expected = 1, year - 1
    for y in sorted(earlier, reverse=True):
        result = earlier[y]
        if y != expected or not result or result.get("status") != "evaluated":
            break
        if finding_id not in _items_by_finding(result.get("problems")):
            break
        n, expected = n + 1, expected - 1
    return n


WORST_FIRST = ("worse", "unchanged", "improved")


def state_repeats(
    settings: Settings, department: str, year: int, findings: dict, rectification: dict
) -> None:
    """Mark and say, in each of this year's problem items, that it repeats last year's problem:
    `repeated` = {previous_year, years, status, finding_ids} and the findings config's `repeated`
    sentence appended to its text (`years`: this year and the consecutive earlier years that listed
    one of its findings; `status`: the worst of its findings')."""
    statuses = {r["finding_id"]: r["status"] for r in rectification["problems"] if r["status"] in REPEATED}
    if not statuses:
        return
    config = settings.findings[settings.department(department).framework]
    template = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False).from_string(
        config.repeated
    )
    earlier = _earlier(settings, department, year)
    for group in findings["problems"]:
        for item in group["items"]:
            ids = [f for f in item.get("finding_ids") or [] if f in statuses]
            if not ids:
                continue
            status = next(s for s in WORST_FIRST if any(statuses[f] == s for f in ids))
            years = max(streak(earlier, year, f) for f in ids)
            item["repeated"] = {
                "previous_year": rectification["previous_year"],
                "years": years,
                "status": status,
                "finding_ids": ids,
            }
            said = template.render(
                years=years_in_words(years),
                first_year=year - years + 1,
                previous_year=rectification["previous_year"],
                status=status,
                status_text=STATUS_TEXT[status],
            ).strip()
            if said:
                item["text"] = sentence(item["text"]) + sentence(said)
