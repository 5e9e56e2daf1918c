"""Compose narrative, problems and recommendations from assets_config/findings.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pandas as pd

from perfeval_pipeline.config import Department, config_dir, load_yaml
from perfeval_pipeline.formatting import percent, wan
from perfeval_pipeline.indicators.compute import IndicatorResults
from perfeval_pipeline.scoring.score import Scorecard

CHINESE_NUMERALS = "一二三四五六七八九十"
_CITES = re.compile(r"\b(?:ind|sc|rules_hit|rule_rows)\.(\w+)")


def group_number(i: int) -> str:
    return f"({CHINESE_NUMERALS[i]})" if i < 10 else f"({i + 1})"


def ordinal(i: int) -> str:
    return f"{CHINESE_NUMERALS[i]}是" if i < 10 else f"{i + 1}是"


class DepartmentView:
    """The department as templates see it."""

    def __init__(self, dept: Department, peer_group: str | None):
        self._dept = dept
        self.name, self.short_name, self.city = dept.name, dept.short_name, dept.city
        self.budget_units = dept.budget_units
        self.staffing_quota = dept.staffing_quota
        self.staffing_total = sum(dept.staffing_quota.values())
        self.subordinate_names = [u.name for u in dept.budget_units if u.role != "本级"]
        self.hq_display = dept.unit_display_name(dept.headquarters.code)
        self.peer_group = peer_group or "同组地市"

    def unit_named(self, fragment: str) -> str:
        return next((u.name for u in self._dept.budget_units if fragment in u.name), fragment)


def _env(dept: Department) -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.filters["pct"] = lambda v, d=2: percent(v, d)
    env.filters["wan"] = wan
    env.filters["unit_short"] = lambda code: dept.unit_name(code).removeprefix(dept.city)
    env.filters["unit_display"] = dept.unit_display_name
    return env


@cache
def _findings_config(path: Path) -> dict:
    return load_yaml(path)


def load_findings_config() -> dict:
    return _findings_config(config_dir() / "findings.yaml")


def _cites(*sources: str) -> list[str]:
    found: list[str] = []
    for s in sources:
        for m in _CITES.findall(s or ""):
            if m not in found:
                found.append(m)
    return found


@dataclass
class _Context:
    env: jinja2.Environment
    values: dict

    def render(self, template: str) -> str:
        return self.env.from_string(template).render(**self.values).strip()

    def holds(self, expression: str) -> bool:
        return bool(self.env.compile_expression(expression)(**self.values))


def build_context(
    dept: Department,
    year: int,
    indicators: IndicatorResults,
    scorecard: Scorecard,
    workpaper: pd.DataFrame | None,
    profile: dict,
) -> _Context:
    # Namespaces, not dicts: in Jinja `x.items` on a dict would be the dict method.
    ind = {v.id: SimpleNamespace(**v.to_dict()) for v in indicators.values}
    sc = {
        s.id: SimpleNamespace(
            score=s.score,
            points=s.points,
            deduction=s.deduction,
            target=s.target,
            target_source=s.target_source,
        )
        for s in scorecard.indicators
    }
    wp: dict[str, list[dict]] = {}
    if workpaper is not None and len(workpaper):
        for rec in workpaper.to_dict("records"):
            wp.setdefault(str(rec.get("finding_code") or ""), []).append(rec)
    rules_hit = {
        v.id: [it["rule"] for it in v.items]
        for v in indicators.values
        if v.items and isinstance(v.items[0], dict) and "rule" in v.items[0]
    }
    rule_rows = {
        v.id: {it["rule"]: it["rows"] for it in v.items} for v in indicators.values if v.id in rules_hit
    }
    view = DepartmentView(dept, dept.peer_groups[0] if dept.peer_groups else None)
    date = profile.get("evaluation_date")
    if isinstance(date, pd.Timestamp):
        profile = {**profile, "evaluation_date_text": f"{date.year} 年 {date.month} 月 {date.day} 日"}
    profile.setdefault("evaluation_date_text", "")
    return _Context(
        _env(dept),
        {
            "ind": ind,
            "sc": sc,
            "wp": wp,
            "dept": view,
            "year": year,
            "profile": profile,
            "rules_hit": rules_hit,
            "rule_rows": rule_rows,
        },
    )


def _part_text(part: dict, ctx: _Context, title: str) -> tuple[str, list[str], list[str]]:
    """(text, cited indicator ids, workpaper record ids) of one part; empty text when it does not apply."""
    if "workpaper" in part:
        rows = ctx.values["wp"].get(part["workpaper"], [])
        texts = []
        for row in rows:
            text = str(row["finding"]).strip()
            text = text.removeprefix(title).lstrip("。；，")
            texts.append(text)
        body = "".join(texts)
        if rows and body:
            body = part.get("prefix", "") + body
        elif rows:
            body = part.get("prefix", "") if part.get("prefix") else ""
        return (body, [], [str(r["record_id"]) for r in rows]) if rows else ("", [], [])
    if "when" in part and not ctx.holds(part["when"]):
        return "", [], []
    return ctx.render(part["text"]), _cites(part.get("when", ""), part["text"]), []


def compose_problems(config: dict, ctx: _Context) -> tuple[list[dict], list[dict]]:
    problems, recommendations = [], []
    for group in config.get("problems", []):
        items = []
        for item in group["items"]:
            title = ctx.render(item["title"])
            parts = [_part_text(p, ctx, title) for p in item["parts"]]
            fired = [p for p in parts if p[0] or p[2]]
            if not fired:
                continue
            texts = [p[0] for p in fired if p[0]]
            if item.get("ordinals") and len(texts) > 1:
                texts = [ordinal(i) + t for i, t in enumerate(texts)]
            body = item.get("lead", "") + "".join(texts) if texts else ""
            items.append(
                {
                    "no": f"({len(items) + 1})",
                    "title": title,
                    "text": f"{title}。{body}",
                    "cites": [c for p in fired for c in p[1]],
                    "workpaper_refs": [r for p in fired for r in p[2]],
                }
            )
        if not items:
            continue
        no = group_number(len(problems))
        problems.append({"no": no, "id": group["id"], "title": ctx.render(group["title"]), "items": items})
        rec = group.get("recommendation")
        if rec:
            recommendations.append(
                {
                    "no": no,
                    "problem_id": group["id"],
                    "title": ctx.render(rec["title"]),
                    "text": ctx.render(rec["text"]),
                    "cites": _cites(rec["text"]),
                }
            )
    return problems, recommendations


def compose_narrative(config: dict, ctx: _Context) -> dict:
    narrative = config.get("narrative", {})
    return {
        "basic_situation": ctx.render(narrative.get("basic_situation", "")),
        "performance": [ctx.render(p) for p in narrative.get("performance", [])],
        "cites": _cites(narrative.get("basic_situation", ""), *narrative.get("performance", [])),
    }


def compose_findings(
    dept: Department,
    year: int,
    indicators: IndicatorResults,
    scorecard: Scorecard,
    workpaper: pd.DataFrame | None,
    profile: dict,
    config: dict | None = None,
) -> dict:
    config = config or load_findings_config()
    ctx = build_context(dept, year, indicators, scorecard, workpaper, profile)
    problems, recommendations = compose_problems(config, ctx)
    return {
        "narrative": compose_narrative(config, ctx),
        "problems": problems,
        "recommendations": recommendations,
    }
