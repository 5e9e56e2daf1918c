"""Project paths and the YAML configuration in assets_config/ (departments, years, pipeline)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml


def project_root() -> Path:
    """The project root: PERFEVAL_HOME, else the folder holding assets_config/ above this package."""
    env = os.environ.get("PERFEVAL_HOME")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    env = os.environ.get("PERFEVAL_CONFIG")
    return Path(env).resolve() if env else project_root() / "assets_config"


def load_yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@dataclass(frozen=True)
class BudgetUnit:
    code: str
    name: str
    role: str = "下属单位"


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    short_name: str
    city: str
    finance_bureau: str
    framework: str
    budget_units: tuple[BudgetUnit, ...]
    staffing_quota: dict[str, int] = field(default_factory=dict)
    peer_groups: tuple[str, ...] = ()

    @property
    def headquarters(self) -> BudgetUnit:
        """局本级: the unit whose role is 本级 (the first unit if none says so)."""
        return next((u for u in self.budget_units if u.role == "本级"), self.budget_units[0])

    def unit_name(self, code: str) -> str:
        return next((u.name for u in self.budget_units if u.code == code), code)

    def unit_display_name(self, code: str) -> str:
        """Name as a form prints it: 局本级 becomes '<department>（本级）'."""
        unit = next((u for u in self.budget_units if u.code == code), None)
        if unit is None:
            return code
        return f"{self.name}（本级）" if unit.role == "本级" else unit.name


@dataclass(frozen=True)
class Settings:
    root: Path
    years: tuple[int, ...]
    landing_dir: Path
    store_dir: Path
    reports_dir: Path
    evaluation_type: str
    required_feeds: tuple[str, ...]
    departments: dict[str, Department]
    peer_groups: dict[str, tuple[str, ...]]

    def department(self, code: str) -> Department:
        try:
            return self.departments[code]
        except KeyError:
            raise KeyError(
                f"unknown department {code!r}: add it to {config_dir() / 'departments.yaml'}"
            ) from None

    def peers_of(self, code: str) -> dict[str, tuple[str, ...]]:
        dept = self.department(code)
        return {g: self.peer_groups.get(g, ()) for g in dept.peer_groups}


_FORBIDDEN_KEY_CHARS = set("|[],")


def _parse_department(code: str, raw: dict) -> Department:
    if not code.isascii() or _FORBIDDEN_KEY_CHARS & set(code) or " " in code:
        raise ValueError(f"department code {code!r} must be ASCII without spaces or | [ ] ,")
    units = tuple(
        BudgetUnit(code=str(u["code"]), name=u["name"], role=u.get("role", "下属单位"))
        for u in raw.get("budget_units", [])
    )
    if not units:
        raise ValueError(f"department {code!r} has no budget_units")
    return Department(
        code=code,
        name=raw["name"],
        short_name=raw.get("short_name", raw["name"]),
        city=raw["city"],
        finance_bureau=raw["finance_bureau"],
        framework=raw.get("framework", "default"),
        budget_units=units,
        staffing_quota={k: int(v) for k, v in (raw.get("staffing_quota") or {}).items()},
        peer_groups=tuple(raw.get("peer_groups", [])),
    )


def _resolve(root: Path, value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else root / p


@cache
def _load_settings(root: Path, cfg: Path) -> Settings:
    pipeline = load_yaml(cfg / "pipeline.yaml")
    depts = load_yaml(cfg / "departments.yaml")
    departments = {
        code: _parse_department(code, raw) for code, raw in (depts.get("departments") or {}).items()
    }
    peer_groups = {g: tuple(m) for g, m in (depts.get("peer_groups") or {}).items()}
    for group, members in peer_groups.items():
        unknown = [m for m in members if m not in departments]
        if unknown:
            raise ValueError(f"peer group {group!r} names unknown departments {unknown}")
    return Settings(
        root=root,
        years=tuple(int(y) for y in pipeline["years"]),
        landing_dir=_resolve(root, os.environ.get("PERFEVAL_LANDING", pipeline["landing_dir"])),
        store_dir=_resolve(root, os.environ.get("PERFEVAL_STORE", pipeline["store_dir"])),
        reports_dir=_resolve(root, os.environ.get("PERFEVAL_REPORTS", pipeline["reports_dir"])),
        evaluation_type=pipeline.get("evaluation_type", "部门整体支出"),
        required_feeds=tuple(pipeline["required_feeds"]),
        departments=departments,
        peer_groups=peer_groups,
    )


def settings() -> Settings:
    """Settings for the current environment (cached per root/config/env paths)."""
    return _load_settings(project_root(), config_dir())


def reset_settings_cache() -> None:
    """Tests that change PERFEVAL_* variables call this."""
    _load_settings.cache_clear()
