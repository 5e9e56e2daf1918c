"""Typed models of assets_config/pipeline.yaml, departments.yaml and grades.yaml."""

from __future__ import annotations

import re
from typing import Literal

import pydantic

from perfeval_pipeline.config.errors import Strict

# Partition keys, folder names and file paths are built from department codes: nothing else is safe.
DEPARTMENT_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class ScheduleConfig(Strict):
    cron: str = "0 6 1 3 *"
    timezone: str = "Asia/Shanghai"
    running: bool = True


class SensorConfig(Strict):
    interval_seconds: int = pydantic.Field(60, ge=5)
    settle_seconds: int = pydantic.Field(30, ge=0)
    running: bool = False


class QualityConfig(Strict):
    # A required table that keeps less than this share of the rows it read blocks the partition.
    min_kept_share: float = pydantic.Field(0.5, ge=0, le=1)
    # Labels of totals rows (合计行) in exports; such a row is quarantined, never summed.
    total_row_labels: tuple[str, ...] = ("合计", "总计", "小计", "共计", "累计")


class LimitsConfig(Strict):
    """Refuse hostile or broken files before parsing them (zip bombs, giant cells)."""

    max_file_mb: float = pydantic.Field(512, gt=0)
    xlsx_max_uncompressed_mb: float = pydantic.Field(512, gt=0)
    xlsx_max_ratio: float = pydantic.Field(150, gt=1)
    max_cell_chars: int = pydantic.Field(32767, gt=0)
    header_search_rows: int = pydantic.Field(10, ge=1)


class PipelineConfig(Strict):
    years: tuple[int, ...]
    landing_dir: str = "data/landing"
    store_dir: str = "data/store"
    reports_dir: str = "reports"
    evaluation_type: str = "部门整体支出"
    money_unit: Literal["元"] = "元"
    timezone: str = "Asia/Shanghai"
    required_feeds: tuple[str, ...]
    # Worker processes a run fans its partitions out to; 0: one per CPU.
    workers: int = pydantic.Field(0, ge=0)
    # Report files are written with these permission bits (before the umask).
    report_file_mode: int = 0o666
    schedule: ScheduleConfig = ScheduleConfig()
    landing_sensor: SensorConfig = SensorConfig()
    quality: QualityConfig = QualityConfig()
    limits: LimitsConfig = LimitsConfig()

    @pydantic.field_validator("years")
    @classmethod
    def _years(cls, years: tuple[int, ...]) -> tuple[int, ...]:
        if not years:
            raise ValueError("list at least one year")
        if len(set(years)) != len(years):
            raise ValueError(f"years repeat: {list(years)}")
        return tuple(sorted(years))


class BudgetUnit(Strict):
    code: str
    name: str
    role: str = "下属单位"

    @pydantic.field_validator("code")
    @classmethod
    def _code(cls, code: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", code):
            raise ValueError(f"unit code {code!r} must be letters, digits, - or _")
        return code


class Department(Strict):
    code: str = ""  # filled from the mapping key
    name: str
    short_name: str = ""
    city: str
    finance_bureau: str
    framework: str
    budget_units: tuple[BudgetUnit, ...]
    staffing_quota: dict[str, int] = {}
    peer_groups: tuple[str, ...] = ()
    # Years the department is evaluated; empty: every year of pipeline.yaml.
    years: tuple[int, ...] = ()
    # 整改跟踪: print the 上年评价问题整改情况 section (overrides the framework's findings default).
    rectification_section: bool | None = None

    @pydantic.field_validator("budget_units")
    @classmethod
    def _units(cls, units: tuple[BudgetUnit, ...]) -> tuple[BudgetUnit, ...]:
        if not units:
            raise ValueError("list at least one budget unit")
        codes = [u.code for u in units]
        if len(set(codes)) != len(codes):
            raise ValueError(f"unit codes repeat: {codes}")
        if sum(u.role == "本级" for u in units) > 1:
            raise ValueError("at most one unit may have role 本级")
        return units

    @property
    def display_short_name(self) -> str:
        return self.short_name or self.name

    @property
    def headquarters(self) -> BudgetUnit:
        """局本级: the unit whose role is 本级 (the first unit if none says so)."""
        return next((u for u in self.budget_units if u.role == "本级"), self.budget_units[0])

    @property
    def unit_codes(self) -> tuple[str, ...]:
        return tuple(u.code for u in self.budget_units)

    def unit_name(self, code: str) -> str:
        return next((u.name for u in self.budget_units if u.code == code), code)

    def unit_display_name(self, code: str) -> str:
        """Name as a form prints it: 局本级 becomes '<department>（本级）'."""
        unit = next((u for u in self.budget_units if u.code == code), None)
        if unit is None:
            return code
        return f"{self.name}（本级）" if unit.role == "本级" else unit.name


class DepartmentsConfig(Strict):
    departments: dict[str, Department]
    peer_groups: dict[str, tuple[str, ...]] = {}


class GradeBand(Strict):
    grade: str
    min: float
    budget_use: str = ""


class GradesConfig(Strict):
    score_decimals: int = pydantic.Field(2, ge=0, le=4)
    bands: tuple[GradeBand, ...]

    @pydantic.field_validator("bands")
    @classmethod
    def _bands(cls, bands: tuple[GradeBand, ...]) -> tuple[GradeBand, ...]:
        if not bands:
            raise ValueError("list at least one band")
        ordered = tuple(sorted(bands, key=lambda b: -b.min))
        if ordered[-1].min > 0:
            raise ValueError("the lowest band must start at 0 so that every score has a grade")
        return ordered

    def grade(self, total: float) -> str:
        return next(b.grade for b in self.bands if total >= b.min - 1e-9)
