"""Load an indicator framework (assets_config/frameworks/{name}.yaml) and check it against the
feed contracts, so a typo in config fails at load time with the indicator's id, not mid-run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from perfeval_pipeline.config import config_dir, load_yaml

MEASURE_KINDS = {"ratio", "total", "count", "rule_hits"}
RULE_KINDS = {"proportional", "bands", "deduct_per_point", "deduct_per_item", "boolean", "workpaper"}


class FrameworkError(ValueError):
    """The framework config is malformed; the message names the indicator."""


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    name: str
    measure: dict
    display: str = "decimal"
    unit: str = ""
    level1: str = ""
    level2: str = ""
    points: float = 0.0
    rule: dict = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return self.points > 0


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    levels: dict[str, dict]
    indicators: tuple[IndicatorSpec, ...]
    statistics: tuple[IndicatorSpec, ...]

    @property
    def all(self) -> tuple[IndicatorSpec, ...]:
        return self.indicators + self.statistics

    def get(self, indicator_id: str) -> IndicatorSpec:
        for spec in self.all:
            if spec.id == indicator_id:
                return spec
        raise KeyError(f"no indicator {indicator_id!r} in framework {self.name}")


def _spec(raw: dict, statistic: bool, source: str) -> IndicatorSpec:
    iid = raw.get("id", "?")
    where = f"{source}: indicator {iid}"
    for key in ("id", "name", "measure"):
        if key not in raw:
            raise FrameworkError(f"{where}: missing {key!r}")
    kind = raw["measure"].get("kind")
    if kind not in MEASURE_KINDS:
        raise FrameworkError(f"{where}: measure kind {kind!r} not one of {sorted(MEASURE_KINDS)}")
    rule = raw.get("rule") or {}
    if not statistic:
        if rule.get("kind") not in RULE_KINDS:
            raise FrameworkError(f"{where}: rule kind {rule.get('kind')!r} not one of {sorted(RULE_KINDS)}")
        if float(raw.get("points", 0)) <= 0:
            raise FrameworkError(f"{where}: a scored indicator needs points > 0")
    return IndicatorSpec(
        id=iid,
        name=raw["name"],
        measure=raw["measure"],
        display=raw.get("display", "decimal"),
        unit=raw.get("unit", ""),
        level1=raw.get("level1", ""),
        level2=raw.get("level2", ""),
        points=0.0 if statistic else float(raw["points"]),
        rule=rule,
    )


def parse_framework(raw: dict, name: str, source: str = "<dict>") -> Framework:
    indicators = tuple(_spec(r, False, source) for r in raw.get("indicators", []))
    statistics = tuple(_spec(r, True, source) for r in raw.get("statistics", []))
    ids = [s.id for s in indicators + statistics]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise FrameworkError(f"{source}: duplicate indicator ids {dupes}")
    levels = raw.get("levels", {})
    unknown = sorted({s.level1 for s in indicators} - set(levels))
    if unknown:
        raise FrameworkError(f"{source}: level1 {unknown} not declared under levels")
    for lname, level in levels.items():
        total = sum(s.points for s in indicators if s.level1 == lname)
        if abs(total - float(level["points"])) > 1e-9:
            raise FrameworkError(
                f"{source}: level {lname} declares {level['points']} points, indicators sum to {total}"
            )
    declared = float(raw.get("total_points", 100))
    if abs(sum(s.points for s in indicators) - declared) > 1e-9:
        raise FrameworkError(
            f"{source}: indicator points sum to {sum(s.points for s in indicators)}, not {declared}"
        )
    return Framework(
        name=name, title=raw.get("name", name), levels=levels, indicators=indicators, statistics=statistics
    )


@cache
def _load(path: Path) -> Framework:
    if not path.exists():
        raise FrameworkError(f"no framework file {path}")
    return parse_framework(load_yaml(path), path.stem, str(path))


def load_framework(name: str) -> Framework:
    return _load(config_dir() / "frameworks" / f"{name}.yaml")
