"""Per-partition generator parameters: everything a feed builder needs, decided before any row is drawn.

The seed partition (jdz-zwsjj 2023) spells its parameters out in seed.py (raw amounts and counts from
the evaluator's files); every other partition derives them from its own random stream in derive.py.
All money is integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class FormatStyle:
    """How a department's exports look; variations exercise the readers, never change a value."""

    money: str = "plain"  # plain: 19585200.00 | thousands: 19,585,200.00
    wan_tables: tuple[str, ...] = ()  # "{feed}.{table}" whose money headers say （万元）
    alias_index: int = 0  # which contract alias the headers use
    date_sep: str = "-"
    csv_encoding: str = "utf-8-sig"


# ---------------------------------------------------------------- financial
@dataclass(frozen=True)
class LineSpec:
    expense_type: str
    economic_class: str
    item: str
    weight: float  # share of the unit's initial budget
    adj_weight: float = 0.0  # share of a positive adjustment (追加) the line receives
    initial: int | None = None  # fixed initial budget for lines a finding quotes


@dataclass(frozen=True)
class UnitBudget:
    initial: int
    adjustment: int
    final: int
    lines: tuple[LineSpec, ...]
    carryover: int = 0
    other_income: int = 0

    @property
    def available(self) -> int:
        return self.initial + self.adjustment + self.carryover + self.other_income


@dataclass(frozen=True)
class EstimateSpec:
    """A project's 测算明细: (sub_item, amount, funding_needed, note) rows summing to the budget."""

    unit_code: str
    project: str
    sub_items: tuple[tuple[str, int, bool, str], ...]

    @property
    def budget(self) -> int:
        return sum(s[1] for s in self.sub_items)


@dataclass(frozen=True)
class FinancialParams:
    units: dict[str, UnitBudget]
    estimates: tuple[EstimateSpec, ...]
    # 三公经费 上年决算 = 本年决算 × (1 + U(lo, hi)): positive bounds mean spending fell.
    three_public_prior_range: tuple[float, float]
    # Summary of a voucher the evaluator flagged (e.g. 绩效评价服务费), posted on the 本级's audit line.
    flagged_voucher: str | None = None
    voucher_size: int = 2_500_000  # typical voucher in cents; sets the ledger's row count
    # Payees of project-line vouchers ({city} is filled in); None: the 政务服务 contractors.
    project_payees: tuple[str, ...] | None = None


# ---------------------------------------------------------------- asset register
@dataclass(frozen=True)
class UnitAssets:
    """Σ原值 by status; the ratio 在用 / (all but 已处置) is the unit's 固定资产利用率."""

    values: dict[str, int]  # status -> Σ original value


@dataclass(frozen=True)
class AssetDefects:
    unlabeled: int = 0
    no_spec: int = 0
    overdue_disposal: int = 0
    lent_unapproved: int = 0
    quantity_wrong: int = 0
    name_wrong: int = 0
    units_without_usage_ledger: tuple[str, ...] = ()


@dataclass(frozen=True)
class AssetParams:
    units: dict[str, UnitAssets]
    defects: AssetDefects
    stocktake_share: float = 0.7
    average_value: int = 900_000  # cents per asset card
    # (category, name, spec models, typical value in 元, max quantity) rows; None: catalog.ASSETS.
    catalog: tuple[tuple[str, str, tuple[str, ...], int, int], ...] | None = None
    doc_word: str = "政数字"  # the department's 发文字号 word in approval references


# ---------------------------------------------------------------- hotline
@dataclass(frozen=True)
class HotlineParams:
    tickets: int
    late_share: float
    open_share: float  # 办理中 at year end (drawn among late-December tickets)
    returned_share: float  # 已退回
    satisfaction: tuple[float, float, float, float]  # 满意, 基本满意, 不满意, 未评价
    callback_share: float
    handling_units: tuple[str, ...]
    # Ticket numbers start with this and the year; None: the department code's city prefix.
    id_prefix: str | None = None


# ---------------------------------------------------------------- transactions
@dataclass(frozen=True)
class Procurement:
    budget: int
    contract: int
    rows: int


@dataclass(frozen=True)
class TransactionParams:
    deals: int
    deal_total: int
    non_electronic: int
    complaints: int
    procurement: dict[str, Procurement]
    intermediary_owners: int
    intermediary_projects: int
    # Procurement project names per budget unit code; None: by unit kind (catalog).
    procurement_projects: dict[str, tuple[str, ...]] | None = None


# ---------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Target:
    level1: str
    level2: str
    name: str
    comparator: str
    value: str
    unit: str
    actual: str = ""  # 实际完成值 as the department reports it


@dataclass(frozen=True)
class KeyTask:
    task: str
    item: str
    planned: float
    done: float
    due_date: date | None = None
    done_date: date | None = None
    needs_acceptance: bool = False
    accepted_date: date | None = None


@dataclass(frozen=True)
class ServiceStat:
    metric: str
    count: float
    base: float | None
    unit: str
    source_system: str


@dataclass(frozen=True)
class Window:
    name: str
    staff: int
    handled: int


@dataclass(frozen=True)
class WorkpaperRecord:
    indicator_id: str
    finding_code: str
    finding: str
    deduction: float
    evidence_ref: str = ""


@dataclass(frozen=True)
class SurveyQuestion:
    question: str
    answers: dict[str, int]  # answer -> respondents


@dataclass(frozen=True)
class EvaluationParams:
    evaluator: str
    evaluation_date: date
    mission: str
    staff_in_post: int
    disclosure_done: bool
    functions: tuple[str, ...]
    sections: tuple[str, ...]
    targets: tuple[Target, ...]
    key_tasks: tuple[KeyTask, ...]
    service_stats: tuple[ServiceStat, ...]
    survey: tuple[SurveyQuestion, ...]
    windows: tuple[Window, ...]
    policy_checklist: tuple[tuple[str, str, bool], ...]  # (policy, part, present)
    workpaper: tuple[WorkpaperRecord, ...]


@dataclass(frozen=True)
class PartitionParams:
    department: str
    year: int
    style: FormatStyle
    financial: FinancialParams
    assets: AssetParams
    hotline: HotlineParams
    transactions: TransactionParams
    evaluation: EvaluationParams
