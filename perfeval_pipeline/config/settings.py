"""Settings: every configuration file of assets_config/ loaded, typed and cross-checked at once, and
the project's folders. Core functions take a `Settings` argument; nothing reads a global.

Folders: PERFEVAL_HOME (project root), PERFEVAL_CONFIG (assets_config/), PERFEVAL_LANDING,
PERFEVAL_STORE and PERFEVAL_REPORTS override the root and pipeline.yaml's relative paths. The Dagster
resource (orchestration/resources.py) and the CLI build Settings from the same fields."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from perfeval_pipeline.config.errors import ConfigError, did_you_mean, load_yaml, parse_model
from perfeval_pipeline.config.models import (
    DEPARTMENT_CODE,
    Department,
    DepartmentsConfig,
    GradesConfig,
    PipelineConfig,
)


def package_root() -> Path:
    return Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class Paths:
    """The folders a deployment uses; all absolute."""

    root: Path
    config_dir: Path
    landing_dir: Path
    store_dir: Path
    reports_dir: Path

    @classmethod
    def resolve(
        cls,
        root: str | Path | None = None,
        config_dir: str | Path | None = None,
        landing_dir: str | Path | None = None,
        store_dir: str | Path | None = None,
        reports_dir: str | Path | None = None,
    ) -> Paths:
        """Explicit arguments first, then PERFEVAL_* variables, then pipeline.yaml (relative to root)."""
        env = os.environ.get
        root = Path(root or env("PERFEVAL_HOME") or package_root()).resolve()
        config_dir = Path(config_dir or env("PERFEVAL_CONFIG") or root / "assets_config").resolve()
        pipeline = parse_model(
            PipelineConfig, load_yaml(config_dir / "pipeline.yaml"), str(config_dir / "pipeline.yaml")
        )

        def place(given, var: str, default: str) -> Path:
            p = Path(given or env(var) or default)
            return (p if p.is_absolute() else root / p).resolve()

        return cls(
            root=root,
            config_dir=config_dir,
            landing_dir=place(landing_dir, "PERFEVAL_LANDING", pipeline.landing_dir),
            store_dir=place(store_dir, "PERFEVAL_STORE", pipeline.store_dir),
            reports_dir=place(reports_dir, "PERFEVAL_REPORTS", pipeline.reports_dir),
        )


def contained(root: Path, *parts: str | int) -> Path:
    """root/parts…, refusing any result outside root (a '../' smuggled through a name)."""
    path = root.joinpath(*map(str, parts)).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"path {path} leaves its root {root}")
    return path


@dataclass(frozen=True)
class Settings:
    paths: Paths
    pipeline: PipelineConfig
    departments: dict[str, Department]
    peer_groups: dict[str, tuple[str, ...]]
    grades: GradesConfig
    contracts: dict = field(repr=False)  # feed name → FeedContract
    frameworks: dict = field(repr=False)  # framework name → Framework
    findings: dict = field(repr=False)  # framework name → FindingsConfig

    # --- convenience -------------------------------------------------------------------------
    @property
    def years(self) -> tuple[int, ...]:
        return self.pipeline.years

    @property
    def landing_dir(self) -> Path:
        return self.paths.landing_dir

    @property
    def store_dir(self) -> Path:
        return self.paths.store_dir

    @property
    def reports_dir(self) -> Path:
        return self.paths.reports_dir

    @property
    def config_dir(self) -> Path:
        return self.paths.config_dir

    @property
    def required_feeds(self) -> tuple[str, ...]:
        return self.pipeline.required_feeds

    @property
    def evaluation_type(self) -> str:
        return self.pipeline.evaluation_type

    def department(self, code: str) -> Department:
        try:
            return self.departments[code]
        except KeyError:
            raise KeyError(
                f"unknown department {code!r}{did_you_mean(code, self.departments)} "
                f"(departments are configured in {self.config_dir / 'departments.yaml'})"
            ) from None

    def department_years(self, code: str) -> tuple[int, ...]:
        dept = self.department(code)
        return dept.years or self.years

    @cached_property
    def partitions(self) -> tuple[tuple[str, int], ...]:
        """Every (department, year) that exists: a department only for the years it is configured for."""
        return tuple(
            (d, y) for y in self.years for d in sorted(self.departments) if y in self.department_years(d)
        )

    def framework_of(self, department: str):
        return self.frameworks[self.department(department).framework]

    def findings_of(self, department: str):
        return self.findings[self.department(department).framework]

    def peers_of(self, code: str) -> dict[str, tuple[str, ...]]:
        return {g: self.peer_groups[g] for g in self.department(code).peer_groups}

    def landing_folder(self, department: str, year: int) -> Path:
        return contained(self.landing_dir, year, department)

    def report_folder(self, department: str, year: int) -> Path:
        return contained(self.reports_dir, year, department)

    def check_partition(self, department: str, year: int) -> None:
        """KeyError naming the valid choices when (department, year) is not a partition."""
        self.department(department)
        if year not in self.department_years(department):
            years = list(self.department_years(department))
            raise KeyError(
                f"{department} is not evaluated for {year}: its years are {years} "
                f"({'departments.yaml years' if self.department(department).years else 'pipeline.yaml years'})"
            )


def _check(settings_parts: dict, config_dir: Path) -> None:
    pipeline: PipelineConfig = settings_parts["pipeline"]
    depts: DepartmentsConfig = settings_parts["departments_config"]
    contracts = settings_parts["contracts"]
    src = config_dir / "departments.yaml"
    for feed in pipeline.required_feeds:
        if feed not in contracts:
            raise ConfigError(
                f"{config_dir / 'pipeline.yaml'}: required_feeds: no feed contract {feed!r}{did_you_mean(feed, contracts)}"
            )
    for code, dept in depts.departments.items():
        if not DEPARTMENT_CODE.fullmatch(code):
            raise ConfigError(
                f"{src}: departments.{code}: code {code!r} must match {DEPARTMENT_CODE.pattern} "
                "(lower-case letters, digits and '-'; it names folders and partitions)"
            )
        for group in dept.peer_groups:
            if group not in depts.peer_groups:
                raise ConfigError(
                    f"{src}: departments.{code}.peer_groups: unknown group {group!r}{did_you_mean(group, depts.peer_groups)}"
                )
        extra = [y for y in dept.years if y not in pipeline.years]
        if extra:
            raise ConfigError(
                f"{src}: departments.{code}.years: {extra} not in pipeline.yaml years {list(pipeline.years)}"
            )
    for group, members in depts.peer_groups.items():
        for m in members:
            if m not in depts.departments:
                raise ConfigError(
                    f"{src}: peer_groups.{group}: unknown department {m!r}{did_you_mean(m, depts.departments)}"
                )


def fingerprint(folder: Path) -> tuple:
    """Names, sizes and modification times of every file under a folder: cached settings are
    reloaded when a config file changes."""
    return tuple(
        sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file())
    )


@cache
def _load_config(cfg: Path, stamp: tuple) -> dict:
    """Everything under assets_config/, typed and cross-checked; cached per folder and file state."""
    from perfeval_pipeline.feeds.contracts import load_contracts
    from perfeval_pipeline.findings.config import check_findings, load_findings
    from perfeval_pipeline.indicators.framework import check_references, load_framework
    from perfeval_pipeline.indicators.views import view_columns

    pipeline = parse_model(PipelineConfig, load_yaml(cfg / "pipeline.yaml"), str(cfg / "pipeline.yaml"))
    depts = parse_model(DepartmentsConfig, load_yaml(cfg / "departments.yaml"), str(cfg / "departments.yaml"))
    grades = parse_model(GradesConfig, load_yaml(cfg / "grades.yaml"), str(cfg / "grades.yaml"))
    contracts = load_contracts(cfg / "feeds")
    _check({"pipeline": pipeline, "departments_config": depts, "contracts": contracts}, cfg)
    departments = {code: d.model_copy(update={"code": code}) for code, d in depts.departments.items()}
    tables = view_columns(contracts)
    frameworks, findings = {}, {}
    for code, dept in departments.items():
        name = dept.framework
        if name in frameworks:
            continue
        try:
            framework = load_framework(cfg / "frameworks", name, stamp)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (framework of department {code})") from None
        check_references(framework, tables, cfg / "frameworks")
        frameworks[name] = framework
        findings[name] = load_findings(cfg / "findings", framework, stamp)
        check_findings(findings[name], framework)
    return {
        "pipeline": pipeline,
        "departments": departments,
        "peer_groups": {g: tuple(m) for g, m in depts.peer_groups.items()},
        "grades": grades,
        "contracts": contracts,
        "frameworks": frameworks,
        "findings": findings,
    }


def load_settings(paths: Paths | None = None, **overrides) -> Settings:
    """Settings for `paths` (default: resolved from the environment, see Paths.resolve)."""
    paths = paths or Paths.resolve(**overrides)
    return Settings(paths=paths, **_load_config(paths.config_dir, fingerprint(paths.config_dir)))


def clear_cache() -> None:
    """Forget loaded settings (tests that edit config files)."""
    _load_config.cache_clear()
