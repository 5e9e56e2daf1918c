"""Findings configuration (assets_config/findings/{framework}.yaml): the narrative, the groups of the
form's 存在问题 and 相关建议, and the item templates, all scoped to a framework (`extends:` the
common one).

How a form is composed from it (findings/compose.py):
- A *part* is bound to an indicator (optionally one rule of a rule_hits indicator, and a `when`
  condition) or to a workpaper finding code. An indicator part fires when its `when` holds (the
  data condition its text states), or, without `when`, when the indicator's deduction reaches
  `threshold`; a workpaper part fires for each workpaper row with that code.
- An *item* (a numbered (1) entry) fires when any of its parts fires.
- Every scored indicator whose deduction reaches `threshold` and that no fired part mentions gets a
  generic item from `generic` (one template per rule kind); every workpaper row that no part took
  gets a generic workpaper item. So no deduction at or above the threshold goes unmentioned.
- A group's title is made of the `title` fragments whose bound items or indicators fired; a
  recommendation is made of the `sentences` whose bound items or indicators fired. Nothing is
  claimed without its item.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pydantic

from perfeval_pipeline.config.errors import ConfigError, Strict, did_you_mean, load_yaml, parse_model


class Part(Strict):
    indicator: str | None = None
    rule: str | None = None  # a rule id of a rule_hits indicator
    workpaper: str | None = None  # a workpaper finding_code
    when: str | None = None  # Jinja expression; replaces the deduction threshold
    text: str = ""  # Jinja; empty for workpaper parts (the workpaper's own text is used)
    # Other rules of the same indicator the text also states when they are hit: they become
    # finding ids and bindings of this part too (followed up, answered by a recommendation).
    covers: tuple[str, ...] = ()

    @pydantic.model_validator(mode="after")
    def _bound(self):
        if bool(self.indicator) == bool(self.workpaper):
            raise ValueError("a part is bound to exactly one of indicator or workpaper")
        if self.indicator and not self.text:
            raise ValueError("an indicator part needs its text")
        return self

    @property
    def binding(self) -> str:
        if self.workpaper:
            return f"wp:{self.workpaper}"
        return f"{self.indicator}:{self.rule}" if self.rule else str(self.indicator)

    def bindings(self, rules_hit: list[str]) -> list[str]:
        """This part's binding and those of the covered rules that were hit."""
        return [self.binding, *(f"{self.indicator}:{r}" for r in self.covers if r in rules_hit)]


class Item(Strict):
    id: str
    title: str
    lead: str = ""
    # Number the fired parts 一是/二是 (only when more than one fires).
    ordinals: bool = False
    # Number the fired parts ①② (only when more than one fires).
    circled: bool = False
    parts: tuple[Part, ...]


class Fragment(Strict):
    """A piece of text that appears only when one of the items or indicators it is bound to fired.
    `binds`: item ids, indicator ids, `wp:<code>`, or `generic` (any generic item of the group)."""

    text: str
    binds: tuple[str, ...]


class Recommendation(Strict):
    title: tuple[Fragment, ...] | str
    lead: str = ""
    ordinals: bool = False
    sentences: tuple[Fragment, ...]


class Group(Strict):
    id: str
    # Indicators whose generic items land in this group; "*" takes every indicator no group names.
    covers: tuple[str, ...] = ()
    covers_level2: tuple[str, ...] = ()
    title: tuple[Fragment, ...]
    items: tuple[Item, ...] = ()
    recommendation: Recommendation | None = None


class Generic(Strict):
    """Item templates per rule kind for deductions no specific item covers (Jinja over `ind`, `sc`)."""

    title: dict[str, str]
    text: dict[str, str]
    recommendation: dict[str, str] = {}


class Narrative(Strict):
    basic_situation: str = ""
    performance: tuple[str, ...] = ()


class FindingsFile(Strict):
    name: str = ""
    extends: str | None = None
    threshold: float | None = None
    rectification_section: bool | None = None
    # Appended to a problem item that repeats last year's problem (Jinja over years: 两/三…,
    # previous_year, status: unchanged | improved | worse, status_text). Empty: say nothing.
    repeated: str | None = None
    narrative: Narrative | None = None
    generic: Generic | None = None
    groups: tuple[Group, ...] | None = None
    # Replace inherited groups by id, keeping their place; new ids are appended.
    replace_groups: tuple[Group, ...] = ()


class FindingsConfig(Strict):
    framework: str
    chain: tuple[str, ...]
    threshold: float
    rectification_section: bool
    repeated: str
    narrative: Narrative
    generic: Generic
    groups: tuple[Group, ...]

    def group_of(self, indicator_id: str, level2: str) -> Group:
        for group in self.groups:
            if indicator_id in group.covers or level2 in group.covers_level2:
                return group
        return next(g for g in self.groups if "*" in g.covers)


def _findings_file(folder: Path, name: str) -> FindingsFile:
    path = folder / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError(f"no findings file {path}{did_you_mean(name, known)}")
    return parse_model(FindingsFile, load_yaml(path), str(path))


@cache
def _load(folder: Path, chain: tuple[str, ...], stamp: tuple) -> FindingsConfig:
    """Merge the findings files of a framework's chain (most general first); a framework without
    a findings file of its own uses its parent's."""
    files = [(n, _findings_file(folder, n)) for n in reversed(chain) if (folder / f"{n}.yaml").exists()]
    if not files:
        raise ConfigError(
            f"no findings file for framework {chain[0]} (looked for {[f'{n}.yaml' for n in chain]} in {folder})"
        )
    merged: dict = {
        "threshold": None,
        "rectification_section": False,
        "repeated": "",
        "narrative": None,
        "generic": None,
        "groups": (),
    }
    for _, f in files:
        for key in merged:  # a key a later (more specific) file sets replaces the earlier value
            if getattr(f, key) is not None:
                merged[key] = getattr(f, key)
        groups = list(merged["groups"])
        for g in f.replace_groups:
            ids = [x.id for x in groups]
            if g.id in ids:
                groups[ids.index(g.id)] = g
            else:
                groups.append(g)
        merged["groups"] = tuple(groups)
    source = str(folder / f"{files[-1][0]}.yaml")
    for key in ("threshold", "narrative", "generic"):
        if merged[key] is None:
            raise ConfigError(f"{source}: {key}: required key missing (in this file or one it extends)")
    if not any("*" in g.covers for g in merged["groups"]):
        raise ConfigError(f"{source}: groups: one group must cover '*' (where other deductions go)")
    return FindingsConfig(framework=chain[0], chain=chain, **merged)


def load_findings(folder: Path, framework, stamp: tuple = ()) -> FindingsConfig:
    return _load(Path(folder), tuple(framework.chain), stamp)


def check_findings(config: FindingsConfig, framework) -> None:
    """Every indicator, rule and item a findings file names exists; ConfigError otherwise."""
    ids = set(framework.ids)
    source = f"findings of framework {framework.name} ({' → '.join(config.chain)})"
    kinds = {s.rule.kind for s in framework.indicators if s.rule} | {"not_computable", "workpaper"}
    for key in ("title", "text"):
        missing = sorted(kinds - set(getattr(config.generic, key)))
        if missing:
            raise ConfigError(f"{source}: generic.{key}: no template for rule kind {missing[0]!r}")
    item_ids: set[str] = set()
    for group in config.groups:
        for ind in group.covers:
            if ind != "*" and ind not in ids:
                raise ConfigError(
                    f"{source}: groups.{group.id}.covers: unknown indicator {ind!r}{did_you_mean(ind, ids)}"
                )
        for item in group.items:
            if item.id in item_ids:
                raise ConfigError(f"{source}: groups.{group.id}.items: item id {item.id!r} repeats")
            item_ids.add(item.id)
            for i, part in enumerate(item.parts):
                at = f"{source}: groups.{group.id}.items.{item.id}.parts[{i}]"
                if part.indicator:
                    if part.indicator not in ids:
                        raise ConfigError(
                            f"{at}.indicator: unknown {part.indicator!r}{did_you_mean(part.indicator, ids)}"
                        )
                    if part.rule:
                        spec = framework.get(part.indicator)
                        rules = getattr(spec.measure, "rules", {})
                        if part.rule not in rules:
                            raise ConfigError(
                                f"{at}.rule: {part.indicator} has no rule {part.rule!r}{did_you_mean(part.rule, rules)}"
                            )
    rule_binds = {f"{s.id}:{r}" for s in framework.indicators for r in getattr(s.measure, "rules", {}) or {}}
    valid = item_ids | ids | rule_binds
    for group in config.groups:
        fragments = list(group.title)
        if group.recommendation:
            rec = group.recommendation
            fragments += list(rec.sentences) + (list(rec.title) if not isinstance(rec.title, str) else [])
        for frag in fragments:
            for bind in frag.binds:
                if bind == "generic" or bind.startswith("wp:") or bind in valid:
                    continue
                raise ConfigError(
                    f"{source}: groups.{group.id}: fragment {frag.text[:20]!r} binds unknown {bind!r}{did_you_mean(bind, valid)}"
                )
