"""financial feed: 预算决算表 (budget lines), 支出明细账 (ledger), 项目测算明细 (project estimates).

Unit totals are split into lines, and each line's 决算数 into vouchers, with exact integer splits, so
every sum the framework takes over these rows equals the parameter it came from."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import AUDIT_LINE, MONTHLY_ITEMS, PROJECT_PAYEES, VOUCHER_TEXTS
from perfeval_pipeline.demo.common import (
    HUNDRED_YUAN,
    YUAN,
    random_dates,
    random_parts,
    round_to,
    split_capped,
    split_exact,
)
from perfeval_pipeline.demo.params import PartitionParams, UnitBudget

# Unspent money sits mostly on project lines: salaries execute almost fully.
_RECOVERY_AFFINITY = {"基本支出": 0.3, "项目支出": 1.5}


def _unit_lines(rng: np.random.Generator, ub: UnitBudget) -> dict[str, np.ndarray]:
    specs = ub.lines
    jitter = rng.uniform(0.85, 1.15, size=len(specs))
    fixed = np.array([s.initial or 0 for s in specs], dtype=np.int64)
    free = np.array([s.initial is None for s in specs])
    initial = fixed.copy()
    weights = np.array([s.weight for s in specs]) * jitter
    initial[free] = split_exact(ub.initial - int(fixed.sum()), weights[free], HUNDRED_YUAN)
    if ub.adjustment >= 0:
        adj_weights = np.array([s.adj_weight for s in specs]) * jitter
        adjustment = split_exact(ub.adjustment, adj_weights, HUNDRED_YUAN)
    else:  # cuts in proportion to the initial budget never take a line below zero
        adjustment = -split_capped(-ub.adjustment, initial, initial, HUNDRED_YUAN)
    project = np.array([s.expense_type == "项目支出" for s in specs], dtype=float)
    carryover = split_exact(ub.carryover, project * weights, HUNDRED_YUAN)
    other_income = split_exact(ub.other_income, (np.cumsum(project) == 1) * project, HUNDRED_YUAN)
    available = initial + adjustment + carryover + other_income
    affinity = np.array([_RECOVERY_AFFINITY[s.expense_type] for s in specs]) * rng.uniform(
        0.5, 1.5, len(specs)
    )
    recovery = split_capped(ub.available - ub.final, available * affinity, available, HUNDRED_YUAN)
    return {
        "initial_budget": initial,
        "adjustment": adjustment,
        "carryover": carryover,
        "other_income": other_income,
        "final_amount": available - recovery,
        "year_end_recovery": recovery,
    }


def _prior_final(
    rng: np.random.Generator, final: int, economic_class: str, three_public: tuple[float, float]
) -> int:
    if economic_class != "三公经费":
        return round_to(final * rng.uniform(0.85, 1.2))
    lo, hi = three_public
    change = int(round(final * rng.uniform(lo, hi) / YUAN)) * YUAN
    # A positive range means 三公经费 fell: keep last year strictly above even for tiny lines.
    return final + (max(change, YUAN) if lo > 0 else change)


def budget_lines(p: PartitionParams, dept: Department, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for unit in dept.budget_units:
        ub = p.financial.units[unit.code]
        amounts = _unit_lines(rng, ub)
        for k, spec in enumerate(ub.lines):
            row = {
                "department": dept.code,
                "year": p.year,
                "line_id": f"{unit.code}-{k + 1:02d}",
                "unit_code": unit.code,
                "unit_name": unit.name,
                "expense_type": spec.expense_type,
                "economic_class": spec.economic_class,
                "item": spec.item,
            }
            row.update({col: int(values[k]) for col, values in amounts.items()})
            row["prior_final_amount"] = _prior_final(
                rng, row["final_amount"], spec.economic_class, p.financial.three_public_prior_range
            )
            rows.append(row)
    return pd.DataFrame(rows)


def _line_vouchers(
    rng: np.random.Generator,
    line: pd.Series,
    year: int,
    voucher_size: int,
    city: str,
    payees: tuple[str, ...] = PROJECT_PAYEES,
) -> list[dict]:
    final, item = int(line.final_amount), line["item"]
    if final <= 0:
        return []
    if item in MONTHLY_ITEMS:
        amounts = split_exact(final, rng.uniform(0.95, 1.05, 12))
        dates = [date(year, m, 15) for m in range(1, 13)]
    else:
        n = int(np.clip(round(final / voucher_size * rng.uniform(0.7, 1.3)), 2, 150))
        amounts = random_parts(rng, final, n, spread=1.5)
        start = date(year, 6, 1) if line.economic_class == "资本性支出" else date(year, 1, 5)
        dates = sorted(random_dates(rng, start, date(year, 12, 28), n).tolist())
    # Project lines pay one contractor: "支付<项目>费用（<月>月）".
    texts = VOUCHER_TEXTS.get(item) or ((f"支付{item}费用（{{m}}月）", str(rng.choice(payees))),)
    picks = rng.integers(0, len(texts), len(dates))
    return [
        {
            "date": d,
            "unit_code": line.unit_code,
            "line_id": line.line_id,
            "amount": int(a),
            "summary": texts[k][0].format(m=d.month, y=year - 1),
            "payee": texts[k][1].format(city=city),
        }
        for d, a, k in zip(dates, amounts, picks, strict=True)
    ]


def ledger(
    p: PartitionParams, dept: Department, lines: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    city = dept.city.removesuffix("市")
    payees = p.financial.project_payees or PROJECT_PAYEES
    rows = [
        v
        for _, line in lines.iterrows()
        for v in _line_vouchers(rng, line, p.year, p.financial.voucher_size, city, payees)
    ]
    frame = pd.DataFrame(rows)
    if p.financial.flagged_voucher:
        hq = lines[(lines.unit_code == dept.headquarters.code) & (lines.final_amount > 0)]
        audit = hq[hq["item"] == AUDIT_LINE]
        line_id = (audit if len(audit) else hq[hq.expense_type == "项目支出"]).line_id.iloc[0]
        frame.loc[frame.index[frame.line_id == line_id][0], "summary"] = p.financial.flagged_voucher
    frame = frame.sort_values(["unit_code", "date", "line_id"], kind="stable").reset_index(drop=True)
    seq = frame.groupby("unit_code").cumcount() + 1
    frame.insert(0, "voucher_no", frame.unit_code + f"-{p.year}-" + seq.astype(str).str.zfill(5))
    return frame


def project_estimates(p: PartitionParams) -> pd.DataFrame:
    items = [(est, sub) for est in p.financial.estimates for sub in est.sub_items]
    rows = [
        {
            "estimate_id": f"CS{p.year}-{k:03d}",
            "unit_code": est.unit_code,
            "project": est.project,
            "project_budget": est.budget,
            "sub_item": sub,
            "amount": amount,
            "funding_needed": needed,
            "note": note,
        }
        for k, (est, (sub, amount, needed, note)) in enumerate(items, 1)
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "estimate_id",
            "unit_code",
            "project",
            "project_budget",
            "sub_item",
            "amount",
            "funding_needed",
            "note",
        ],
    )


def build(p: PartitionParams, dept: Department, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    lines = budget_lines(p, dept, rng)
    return {
        "budget_lines": lines,
        "ledger": ledger(p, dept, lines, rng),
        "project_estimates": project_estimates(p),
    }
