"""Parameter draws shared by the derived 政务服务 partitions (derive.py) and the 交通运输 departments
(transport.py): the logic is one, the ranges are the sector's and come in as arguments.

Each function draws from the partition's stream in a fixed order; reordering a draw, or drawing one more
or one fewer, changes every figure generated after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from perfeval_pipeline.config import BudgetUnit, Department
from perfeval_pipeline.demo.catalog import POLICY_PARTS
from perfeval_pipeline.demo.common import HUNDRED_YUAN, YUAN, round_to, split_exact
from perfeval_pipeline.demo.params import (
    AssetDefects,
    AssetParams,
    EstimateSpec,
    FinancialParams,
    HotlineParams,
    LineSpec,
    Procurement,
    Target,
    UnitAssets,
    UnitBudget,
    WorkpaperRecord,
)

Range = tuple[float, float]


def money(rng: np.random.Generator, lo_yuan: float, hi_yuan: float) -> int:
    """Cents of an amount drawn in 元, rounded to 百元."""
    return round_to(rng.uniform(lo_yuan, hi_yuan) * YUAN)


def day(rng: np.random.Generator, year: int, months: tuple[int, int]) -> date:
    """A day of `year` in a month drawn from `months` (end excluded); days 1–28 fit every month."""
    return date(year, int(rng.integers(*months)), int(rng.integers(1, 29)))


def target_number(value: float) -> str:
    """A 绩效目标表 cell: '96.35', '100', '1.2'."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- financial
@dataclass(frozen=True)
class EstimateDraw:
    """The project one kind of unit budgets with a 测算明细; one sub-item may turn out unneeded."""

    unit_kind: str
    project: str
    items: tuple[str, ...]
    amount: Range  # 元
    item_weight: Range
    unneeded_p: float
    unneeded_item: int  # index into items
    unneeded_note: str


@dataclass(frozen=True)
class FinancialDraw:
    unit_kind: Callable[[BudgetUnit], str]
    # A unit's budget lines, given the estimated project's amount (None: the unit has no estimate).
    line_templates: Callable[[BudgetUnit, int | None], tuple[LineSpec, ...]]
    unit_weight: dict[str, float]  # by kind: a non-本级 unit's share of what the 本级 leaves
    total: Range  # 元
    hq_share: Range
    carry_p: float
    carry: Range
    hq_ratio: Range
    unit_ratio: Range
    final: Range
    estimate: EstimateDraw
    prior_rise: Range
    voucher_size: tuple[int, int]
    flagged_voucher: str | None = None  # drawn with flagged_voucher_p; None: never, and no draw
    flagged_voucher_p: float = 0.0


def financial(rng: np.random.Generator, dept: Department, f: FinancialDraw) -> FinancialParams:
    total = money(rng, *f.total)
    hq_share = rng.uniform(*f.hq_share)
    others = dept.budget_units[1:]
    weights = [hq_share] + [
        (1 - hq_share) * f.unit_weight[f.unit_kind(u)] * rng.uniform(0.8, 1.2) for u in others
    ]
    available = split_exact(total, weights, HUNDRED_YUAN)
    units, estimates = {}, []
    e = f.estimate
    for unit, avail in zip(dept.budget_units, available, strict=True):
        avail = int(avail)
        carry = round_to(avail * rng.uniform(*f.carry)) if rng.random() < f.carry_p else 0
        other = round_to(avail * rng.uniform(0.002, 0.01)) if rng.random() < 0.2 else 0
        budget = avail - carry - other
        ratio = rng.uniform(*f.hq_ratio) if unit.role == "本级" else rng.uniform(*f.unit_ratio)
        initial = round_to(budget * ratio)
        final = round_to(avail * rng.uniform(*f.final))
        estimated = None
        if f.unit_kind(unit) == e.unit_kind:
            estimated = money(rng, *e.amount)
            parts = split_exact(estimated, rng.uniform(*e.item_weight, size=len(e.items)), HUNDRED_YUAN)
            unneeded = rng.random() < e.unneeded_p
            estimates.append(
                EstimateSpec(
                    unit.code,
                    e.project,
                    tuple(
                        (
                            item,
                            int(p),
                            not (unneeded and i == e.unneeded_item),
                            e.unneeded_note if unneeded and i == e.unneeded_item else "",
                        )
                        for i, (item, p) in enumerate(zip(e.items, parts, strict=True))
                    ),
                )
            )
        units[unit.code] = UnitBudget(
            initial, budget - initial, final, f.line_templates(unit, estimated), carry, other
        )
    prior = f.prior_rise if rng.random() < 0.6 else (-0.10, -0.02)
    return FinancialParams(
        units=units,
        estimates=tuple(estimates),
        three_public_prior_range=prior,
        flagged_voucher=f.flagged_voucher
        if f.flagged_voucher and rng.random() < f.flagged_voucher_p
        else None,
        voucher_size=int(rng.integers(*f.voucher_size)),
    )


# ---------------------------------------------------------------- assets
def assets(
    rng: np.random.Generator, dept: Department, held: Range, lent_p: float, average_value: tuple[int, int]
) -> AssetParams:
    """Σ原值 by status per unit from `held` 元, register defects and the stock-take's reach."""
    units = {}
    for unit in dept.budget_units:
        total = rng.uniform(*held)
        used = rng.uniform(0.5, 0.6) if rng.random() < 0.15 else rng.uniform(0.72, 0.95)
        rest = total * (1 - used)
        lent = rest * rng.uniform(0.1, 0.3) if rng.random() < lent_p else 0.0
        pending = (rest - lent) * rng.uniform(0.4, 0.8)
        values = {
            "在用": total * used,
            "闲置": rest - lent - pending,
            "待处置": pending,
            "出借": lent,
            "已处置": total * rng.uniform(0, 0.05),
        }
        units[unit.code] = UnitAssets({s: round_to(v * YUAN, YUAN) for s, v in values.items() if v >= 5_000})
    without_ledger = (dept.headquarters.code,) if rng.random() < 0.3 else ()
    defects = AssetDefects(
        unlabeled=int(rng.integers(0, 8)),
        no_spec=int(rng.integers(0, 6)),
        overdue_disposal=int(rng.integers(0, 4)),
        lent_unapproved=int(rng.integers(0, 2)),
        quantity_wrong=int(rng.integers(0, 3)),
        name_wrong=int(rng.integers(0, 3)),
        units_without_usage_ledger=without_ledger,
    )
    return AssetParams(
        units,
        defects,
        stocktake_share=rng.uniform(0.5, 0.8),
        average_value=int(rng.integers(*average_value)),
    )


# ---------------------------------------------------------------- hotline
@dataclass(frozen=True)
class HotlineDraw:
    satisfied: Range
    basic: Range
    unhappy: Range
    tickets: tuple[int, int]
    late: Range
    open: Range
    returned: Range
    callback: Range
    # Called between the satisfaction and the ticket draws (it may draw itself).
    handling_units: Callable[[np.random.Generator, Department], tuple[str, ...]]


def hotline(rng: np.random.Generator, dept: Department, h: HotlineDraw) -> HotlineParams:
    satisfied, basic, unhappy = rng.uniform(*h.satisfied), rng.uniform(*h.basic), rng.uniform(*h.unhappy)
    handling_units = h.handling_units(rng, dept)
    return HotlineParams(
        tickets=int(rng.integers(*h.tickets)),
        late_share=rng.uniform(*h.late),
        open_share=rng.uniform(*h.open),
        returned_share=rng.uniform(*h.returned),
        satisfaction=(satisfied, basic, unhappy, 1 - satisfied - basic - unhappy),
        callback_share=rng.uniform(*h.callback),
        handling_units=handling_units,
    )


# ---------------------------------------------------------------- transactions
def procurement(
    rng: np.random.Generator, dept: Department, budget: Range, over: Range, rows: tuple[int, int]
) -> dict[str, Procurement]:
    """Σ采购预算 (元 range) and Σ合同金额 per unit: over budget (by `over`) now and then."""
    purchases = {}
    for unit in dept.budget_units:
        amount = money(rng, *budget)
        factor = rng.uniform(*over) if rng.random() < 0.15 else rng.uniform(0.9, 1.0)
        purchases[unit.code] = Procurement(amount, round_to(amount * factor, YUAN), int(rng.integers(*rows)))
    return purchases


# ---------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class ActualDraw:
    """实际完成值 ranges as multiples of the target, when met and when missed."""

    met_p: float
    at_most_met: Range  # ≤ targets
    at_most_missed: Range
    at_least_met: Range  # ≥ targets
    at_least_missed: Range
    equal_missed: Range | None = None  # = targets; None: treated as ≥ targets


def actual(rng: np.random.Generator, a: ActualDraw, target: float, comparator: str, percent: bool) -> str:
    """A reported 实际完成值: met most of the time, short (or over, for ≤ targets) now and then."""
    met = rng.random() < a.met_p
    if comparator == "≤":
        value = target * (rng.uniform(*a.at_most_met) if met else rng.uniform(*a.at_most_missed))
    elif comparator == "=" and a.equal_missed is not None:
        value = target if met else target * rng.uniform(*a.equal_missed)
    else:
        value = target * (rng.uniform(*a.at_least_met) if met else rng.uniform(*a.at_least_missed))
        if percent:
            value = min(value, 100.0) if met else value
    return target_number(value)


def targets(
    rng: np.random.Generator, a: ActualDraw, rows: list[tuple[str, str, str, str, float, str]]
) -> list[Target]:
    """Targets of (level1, level2, name, comparator, value, unit) rows, each with a drawn 实际完成值."""
    return [
        Target(l1, l2, name, c, target_number(v), unit, actual(rng, a, v, c, unit == "%"))
        for l1, l2, name, c, v, unit in rows
    ]


def workpaper(
    rng: np.random.Generator,
    city: str,
    pool: tuple[tuple[str, str, str], ...],
    deductions: tuple[float, ...],
    caps: dict[str, float],
    default_cap: float,
) -> tuple[WorkpaperRecord, ...]:
    """2–5 findings from `pool`, each deducting one of `deductions`, within each indicator's cap."""
    picks = sorted(rng.choice(len(pool), size=int(rng.integers(2, 6)), replace=False))
    used: dict[str, float] = {}
    records = []
    for i in picks:
        indicator, code, text = pool[i]
        room = caps.get(indicator, default_cap) - used.get(indicator, 0.0)
        deduction = min(float(rng.choice(deductions)), room)
        if deduction <= 0:
            continue
        used[indicator] = used.get(indicator, 0.0) + deduction
        records.append(
            WorkpaperRecord(indicator, code, text.format(city=city), deduction, "评价组现场核查记录")
        )
    return tuple(records)


def policy_checklist(
    rng: np.random.Generator, finance_gaps: tuple[int, int], other_gaps: tuple[str, ...]
) -> tuple[tuple[str, str, bool], ...]:
    """(policy, part, present): a few 财务管理制度 parts missing, and maybe one of `other_gaps` ('' none)."""
    missing = {
        str(p)
        for p in rng.choice(
            POLICY_PARTS["财务管理制度"][5:], size=int(rng.integers(*finance_gaps)), replace=False
        )
    }
    other_gap = str(rng.choice(other_gaps))
    return tuple(
        (policy, part, part not in missing and part != other_gap)
        for policy, parts in POLICY_PARTS.items()
        for part in parts
    )
