"""Compose the form's narrative, 存在问题 and 相关建议 from the findings config of a framework.

The composition follows the data (findings/config.py says how): parts fire from indicator
deductions, their `when` conditions and workpaper rows; every deduction at or above the threshold
is mentioned (a generic item when no specific one covers it); group titles and recommendations are
made only of fragments bound to what fired. Numbering is continuous (一、 (一) (1) ①) and every
sentence ends with its mark. Each item carries stable finding identities (indicator, rule, budget
unit, workpaper code) so next year's evaluation can tell whether the problem was fixed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

import jinja2
import pandas as pd

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.findings.config import FindingsConfig, Fragment, Item, Part
from perfeval_pipeline.formatting import display, percent, percent_fixed, wan
from perfeval_pipeline.formatting import points as fmt_points
from perfeval_pipeline.indicators.compute import IndicatorResults
from perfeval_pipeline.indicators.framework import Framework
from perfeval_pipeline.scoring.score import Scorecard

CHINESE_NUMERALS = "一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_CITES = re.compile(r"\b(?:ind|sc|rules_hit|rule_rows)\.(\w+)")
_END = "。！？；：…"


def chinese_number(i: int) -> str:
    """0 → 一, 9 → 十, 10 → 十一, 19 → 二十."""
    n = i + 1
    if n <= 10:
        return CHINESE_NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (
        ("" if tens == 1 else CHINESE_NUMERALS[tens - 1])
        + "十"
        + (CHINESE_NUMERALS[ones - 1] if ones else "")
    )


def group_number(i: int) -> str:
    return f"({chinese_number(i)})"


def ordinal(i: int) -> str:
    return f"{chinese_number(i)}是"


def circled(i: int) -> str:
    return CIRCLED[i] if i < len(CIRCLED) else f"({i + 1})"


def sentence(text: str) -> str:
    """Trimmed, with no doubled marks, ending with 。 (or another closing mark)."""
    text = re.sub(r"\s+", " ", text.strip())
    text = re.sub(r"[，、；,;]+(?=[。！？])", "", text)
    text = re.sub(r"([。！？；，、])\1+", r"\1", text)
    text = re.sub(r"[；，、,;]+$", "", text)
    if text and text[-1] not in _END:
        text += "。"
    return text


def join_sentences(parts: list[str]) -> str:
    return "".join(sentence(p) for p in parts if p.strip())


class DepartmentView:
    """The department as templates see it."""

    def __init__(self, dept: Department, peer_group: str | None):
        self._dept = dept
        self.code, self.name, self.city = dept.code, dept.name, dept.city
        self.short_name = dept.display_short_name
        self.budget_units = dept.budget_units
        self.staffing_quota = dept.staffing_quota
        self.staffing_total = sum(dept.staffing_quota.values())
        self.subordinate_names = [u.name for u in dept.budget_units if u.role != "本级"]
        self.hq_display = dept.unit_display_name(dept.headquarters.code)
        self.hq_name = dept.headquarters.name
        self.peer_group = peer_group or "同组地市"

    def unit_named(self, fragment: str) -> str:
        return next((u.name for u in self._dept.budget_units if fragment in u.name), fragment)

    def unit_name(self, code: str) -> str:
        return self._dept.unit_name(code)


ITEMS_SHOWN = 5
_SKIP = {
    "_source_file",
    "_source_sheet",
    "_source_row",
    "_row",
    "key",
    "gap",
    "numerator",
    "denominator",
    "completion",
    "comparator",
    "completion_note",
}


def item_phrase(item: dict, kind: str) -> str:
    """One item of an indicator in words: a unit and its figure, a target and its actual value, a
    rule and its count, or a row's own text cells."""
    if "rule" in item and "count" in item:
        return f"{item.get('title') or item['rule']}{item['count']}处"
    if "name" in item and "value" in item and "key" in item:
        return f"{item['name']}{display(item['value'], kind)}"
    if "name" in item and "value" in item and "actual" in item:
        unit = item.get("unit") or ""
        actual = (
            f"实际{item['actual']}{unit if item['actual'] and unit not in str(item['actual']) else ''}"
            if item.get("actual")
            else "未填报实际完成值"
        )
        return f"“{item['name']}”目标{item['value']}{unit}、{actual}"
    cells = [str(v) for k, v in item.items() if k not in _SKIP and v not in (None, "")]
    return "“" + "，".join(cells[:3]) + "”" if cells else ""


def items_text(indicator) -> str:
    items = list(indicator.items or [])
    phrases = [p for p in (item_phrase(it, indicator.display_kind) for it in items[:ITEMS_SHOWN]) if p]
    more = f"等{len(items)}项" if len(items) > ITEMS_SHOWN else ""
    # Phrases that list things themselves are separated by semicolons.
    return ("；" if any("、" in p for p in phrases) else "、").join(phrases) + more


def items_count(indicator) -> int:
    return len(indicator.items or []) or int(indicator.value or 0)


def _environment(dept: Department) -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["pct"] = lambda v, d=2: percent(v, d)
    env.filters["pct2"] = percent_fixed
    env.filters["wan"] = wan
    env.filters["pts"] = fmt_points
    env.filters["pts2"] = lambda v: "—" if v is None else f"{v:.2f}"
    env.filters["fmt"] = display
    env.filters["unit_short"] = lambda code: dept.unit_name(code).removeprefix(dept.city)
    env.filters["unit_display"] = dept.unit_display_name
    env.filters["cn_join"] = lambda items, sep="、": sep.join(str(i) for i in items)
    env.filters["items_text"] = items_text
    env.filters["items_count"] = items_count
    return env


def _cites(*sources: str) -> list[str]:
    found: list[str] = []
    for s in sources:
        for m in _CITES.findall(s or ""):
            if m not in found:
                found.append(m)
    return found


@dataclass
class Context:
    env: jinja2.Environment
    values: dict
    config: FindingsConfig
    framework: Framework
    deductions: dict[str, float]  # rule deduction per scored indicator (workpaper excluded)
    rules_hit: dict[str, list[str]]
    workpaper: list[dict]

    def render(self, template: str, **extra) -> str:
        return self.env.from_string(template).render(**self.values, **extra).strip()

    def holds(self, expression: str, **extra) -> bool:
        return bool(self.env.compile_expression(expression)(**self.values, **extra))


def _date_text(date) -> str:
    if date is None or pd.isna(date):
        return ""
    ts = pd.Timestamp(date)
    return f"{ts.year} 年 {ts.month} 月 {ts.day} 日"


def build_context(
    dept: Department,
    year: int,
    framework: Framework,
    config: FindingsConfig,
    indicators: IndicatorResults,
    scorecard: Scorecard,
    workpaper: pd.DataFrame | None,
    profile: dict,
    previous: dict | None = None,
) -> Context:
    # Namespaces, not dicts: in Jinja `x.items` on a dict would be the dict method.
    ind = {v.id: SimpleNamespace(**v.to_dict()) for v in indicators.values}
    sc = {
        s.id: SimpleNamespace(
            score=s.score,
            points=s.points,
            deduction=s.deduction,
            rule_deduction=round(s.deduction - s.workpaper_deduction, 6),
            target=s.target,
            target_source=s.target_source,
            reasons=s.reasons,
            deduction_reason=s.deduction_reason,
            rule_text=s.rule_text,
            rule=s.rule,
        )
        for s in scorecard.indicators
    }
    rows = (
        []
        if workpaper is None
        else workpaper.astype(object).where(workpaper.notna(), None).to_dict("records")
    )
    wp: dict[str, list[dict]] = {}
    for rec in rows:
        wp.setdefault(str(rec.get("finding_code") or ""), []).append(rec)
    rules_hit = {
        v.id: [it["rule"] for it in v.items] for v in indicators.values if v.items and "rule" in v.items[0]
    }
    rule_rows = {
        v.id: SimpleNamespace(**{it["rule"]: it["rows"] for it in v.items})
        for v in indicators.values
        if v.id in rules_hit
    }
    profile = {**profile, "evaluation_date_text": _date_text(profile.get("evaluation_date"))}
    values = {
        "ind": SimpleNamespace(**ind),
        "sc": SimpleNamespace(**sc),
        "wp": wp,
        "dept": DepartmentView(dept, dept.peer_groups[0] if dept.peer_groups else None),
        "year": year,
        "profile": SimpleNamespace(**profile),
        "rules_hit": SimpleNamespace(**{k: v for k, v in rules_hit.items()}),
        "rule_rows": SimpleNamespace(**rule_rows),
        "previous": previous,
    }
    deductions = {s.id: round(s.deduction - s.workpaper_deduction, 6) for s in scorecard.indicators}
    return Context(_environment(dept), values, config, framework, deductions, rules_hit, rows)


# --- composing ---------------------------------------------------------------------------------


@dataclass
class Fired:
    """A part that fired: its text, the indicators it cites, workpaper rows, finding identities."""

    text: str
    bindings: list[str]
    cites: list[str] = field(default_factory=list)
    workpaper_refs: list[str] = field(default_factory=list)
    finding_ids: list[str] = field(default_factory=list)


def _unit_keys(ctx: Context, indicator: str) -> list[str]:
    """Budget units an indicator's items name (per-unit findings carry the unit in their identity)."""
    value = getattr(ctx.values["ind"], indicator, None)
    keys = [
        str(it["key"])
        for it in (value.items if value else [])
        if isinstance(it, dict) and "key" in it and "name" in it
    ]
    return keys


def _indicator_part(part: Part, ctx: Context, used_workpaper: set[int]) -> list[Fired]:
    iid = part.indicator
    if part.rule and part.rule not in ctx.rules_hit.get(iid, []):
        return []
    if part.when is not None:
        if not ctx.holds(part.when):
            return []
    elif ctx.deductions.get(iid, 0.0) < ctx.config.threshold - 1e-9:
        return []
    text = ctx.render(part.text)
    if not text:
        return []
    bindings = part.bindings(ctx.rules_hit.get(iid, []))
    units = _unit_keys(ctx, iid) if not part.rule else []
    ids = [f"{bindings[0]}@{u}" for u in units] or bindings
    return [Fired(text, bindings, _cites(part.when or "", part.text) or [iid], [], ids)]


def _workpaper_part(part: Part, ctx: Context, title: str, used: set[int]) -> list[Fired]:
    out = []
    for i, row in enumerate(ctx.workpaper):
        if str(row.get("finding_code") or "") != part.workpaper or i in used:
            continue
        used.add(i)
        text = str(row.get("finding") or "").strip()
        # The evaluator often starts with the item's own title: do not say it twice.
        text = text.removeprefix(title).lstrip("。；，：:;, ")
        out.append(
            Fired(
                text,
                [part.binding],
                [str(row.get("indicator_id"))],
                [str(row.get("record_id"))],
                [f"wp:{part.workpaper}"],
            )
        )
    return out


def _number_parts(texts: list[str], item: Item) -> str:
    if len(texts) > 1 and item.ordinals:
        return "".join(ordinal(i) + t for i, t in enumerate(texts))
    if len(texts) > 1 and item.circled:
        return "".join(circled(i) + sentence(t) for i, t in enumerate(texts))
    return "".join(texts)


def _compose_item(item: Item, ctx: Context, used_workpaper: set[int]) -> tuple[dict, list[Fired]] | None:
    title = ctx.render(item.title)
    fired: list[Fired] = []
    for part in item.parts:
        if part.workpaper:
            fired += _workpaper_part(part, ctx, title, used_workpaper)
        else:
            fired += _indicator_part(part, ctx, used_workpaper)
    if not fired:
        return None
    texts = [sentence(f.text) if not (item.ordinals and f.text.endswith("；")) else f.text for f in fired]
    body = _number_parts(texts, item)
    lead = ctx.render(item.lead) if item.lead else ""
    text = sentence(f"{sentence(title)}{lead}{body}")
    return (
        {
            "id": item.id,
            "title": title,
            "text": text,
            "cites": list(dict.fromkeys(c for f in fired for c in f.cites)),
            "workpaper_refs": [r for f in fired for r in f.workpaper_refs],
            "finding_ids": list(dict.fromkeys(i for f in fired for i in f.finding_ids)),
            "generic": False,
        },
        fired,
    )


def _generic_item(iid: str, ctx: Context) -> dict:
    spec = ctx.framework.get(iid)
    value = getattr(ctx.values["ind"], iid)
    kind = "not_computable" if value.value is None else spec.rule.kind
    extra = {"i": value, "s": getattr(ctx.values["sc"], iid), "spec": spec}
    title = ctx.render(ctx.config.generic.title[kind], **extra)
    text = ctx.render(ctx.config.generic.text[kind], **extra)
    units = _unit_keys(ctx, iid)
    return {
        "id": f"generic:{iid}",
        "title": title,
        "text": sentence(f"{sentence(title)}{text}"),
        "cites": [iid],
        "workpaper_refs": [],
        "finding_ids": [f"{iid}@{u}" for u in units] or [iid],
        "generic": True,
        "indicator": iid,
        "rule_kind": kind,
    }


def _generic_workpaper_item(row: dict, ctx: Context) -> dict:
    iid = str(row.get("indicator_id"))
    spec = ctx.framework.get(iid)
    extra = {
        "i": getattr(ctx.values["ind"], iid),
        "s": getattr(ctx.values["sc"], iid),
        "spec": spec,
        "row": row,
    }
    title = ctx.render(ctx.config.generic.title["workpaper"], **extra)
    text = ctx.render(ctx.config.generic.text["workpaper"], **extra)
    code = str(row.get("finding_code") or row.get("record_id"))
    return {
        "id": f"generic:wp:{code}",
        "title": title,
        "text": sentence(f"{sentence(title)}{text}"),
        "cites": [iid],
        "workpaper_refs": [str(row.get("record_id"))],
        "finding_ids": [f"wp:{code}"],
        "generic": True,
        "indicator": iid,
        "rule_kind": "workpaper",
    }


def _fragments(fragments: tuple[Fragment, ...], fired_binds: set[str], ctx: Context) -> list[str]:
    return [ctx.render(f.text) for f in fragments if fired_binds & set(f.binds)]


def compose_problems(ctx: Context) -> tuple[list[dict], list[dict]]:
    config = ctx.config
    used_workpaper: set[int] = set()
    by_group: dict[str, list[dict]] = {g.id: [] for g in config.groups}
    binds: dict[str, set[str]] = {g.id: set() for g in config.groups}
    mentioned: set[str] = set()
    for group in config.groups:
        for item in group.items:
            composed = _compose_item(item, ctx, used_workpaper)
            if composed is None:
                continue
            entry, fired = composed
            by_group[group.id].append(entry)
            bound = {b for f in fired for b in f.bindings}
            binds[group.id] |= {item.id} | bound | {b.split(":")[0] for b in bound}
            mentioned |= {b.split(":")[0] for b in bound if not b.startswith("wp:")}
    # Every deduction at or above the threshold is mentioned; every workpaper row is stated.
    for spec in ctx.framework.indicators:
        if spec.id in mentioned or ctx.deductions.get(spec.id, 0.0) < config.threshold - 1e-9:
            continue
        group = config.group_of(spec.id, spec.level2)
        by_group[group.id].append(_generic_item(spec.id, ctx))
        binds[group.id] |= {"generic", spec.id}
    for i, row in enumerate(ctx.workpaper):
        if i in used_workpaper:
            continue
        iid = str(row.get("indicator_id"))
        spec = ctx.framework.get(iid)
        group = config.group_of(iid, spec.level2)
        by_group[group.id].append(_generic_workpaper_item(row, ctx))
        binds[group.id] |= {"generic", iid, f"wp:{row.get('finding_code')}"}
    problems, recommendations = [], []
    for group in config.groups:
        items = by_group[group.id]
        if not items:
            continue
        no = group_number(len(problems))
        title = "，".join(_fragments(group.title, binds[group.id], ctx)) or "，".join(
            i["title"] for i in items[:2]
        )
        numbered = [{**it, "no": f"({k + 1})"} for k, it in enumerate(items)]
        problems.append({"no": no, "id": group.id, "title": title.rstrip("。"), "items": numbered})
        rec = _recommendation(group, items, binds[group.id], ctx)
        if rec:
            recommendations.append({"no": no, "problem_id": group.id, **rec})
    return problems, recommendations


def _recommendation(group, items: list[dict], fired: set[str], ctx: Context) -> dict | None:
    rec = group.recommendation
    sentences = _fragments(rec.sentences, fired, ctx) if rec else []
    for it in items:
        if it["generic"] and it["rule_kind"] in ctx.config.generic.recommendation:
            spec = ctx.framework.get(it["indicator"])
            text = ctx.render(
                ctx.config.generic.recommendation[it["rule_kind"]],
                spec=spec,
                i=getattr(ctx.values["ind"], spec.id),
            )
            if text and text not in sentences:
                sentences.append(text)
    if not sentences:
        return None
    if rec is None:
        title = "针对上述问题加强整改"
    elif isinstance(rec.title, str):
        title = ctx.render(rec.title)
    else:
        title = "，".join(_fragments(rec.title, fired, ctx)) or "针对上述问题加强整改"
    ordered = rec is not None and rec.ordinals and len(sentences) > 1
    body = "".join((ordinal(i) if ordered else "") + sentence(s) for i, s in enumerate(sentences))
    lead = ctx.render(rec.lead) if rec and rec.lead else ""
    cites = list(dict.fromkeys(c for s in (rec.sentences if rec else ()) for c in _cites(s.text)))
    return {"title": title.rstrip("。"), "text": sentence(lead + body), "cites": cites}


def compose_narrative(ctx: Context) -> dict:
    narrative = ctx.config.narrative
    return {
        "basic_situation": join_sentences([ctx.render(narrative.basic_situation)])
        if narrative.basic_situation
        else "",
        "performance": [join_sentences([ctx.render(p)]) for p in narrative.performance if ctx.render(p)],
        "cites": _cites(narrative.basic_situation, *narrative.performance),
    }


def compose_findings(ctx: Context) -> dict:
    problems, recommendations = compose_problems(ctx)
    return {"narrative": compose_narrative(ctx), "problems": problems, "recommendations": recommendations}
