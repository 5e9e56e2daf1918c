"""asset_register feed: 固定资产卡片 (assets), 资产盘点表 (stocktake), 资产使用台账 (usage ledger).

Per unit and status, the cards' 原值 sum exactly to the parameter (so 固定资产利用率 is exact); the
register defects the evaluator found are planted on cards that are not 已处置."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.demo.catalog import ASSETS, MISNAMED
from perfeval_pipeline.demo.common import YUAN, random_dates, split_exact
from perfeval_pipeline.demo.params import PartitionParams

_PEOPLE = (
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨帆",
    "黄磊",
    "赵敏",
    "周杰",
    "吴婷",
    "徐刚",
    "孙丽",
    "胡斌",
    "郭琳",
)
# Cheap office kit is common, cars and LED walls are rare.
_CATALOG_WEIGHT = np.array([3 if v < 10_000 else 1 if v < 50_000 else 0.2 for *_, v, _q in ASSETS])
_ACQUIRED_YEARS_AGO = {"在用": (0, 8), "闲置": (2, 9), "待处置": (6, 12), "出借": (1, 6), "已处置": (8, 14)}


def _status_date(rng: np.random.Generator, status: str, acquired: date, year: int) -> date:
    if status == "在用":
        return acquired
    if status == "待处置":  # recent enough that disposal is not overdue at year end
        return random_dates(rng, date(year, 7, 1), date(year, 12, 20), 1)[0].item()
    return random_dates(rng, date(year, 1, 5), date(year, 12, 20), 1)[0].item()


def _catalog(p: PartitionParams) -> tuple[tuple, np.ndarray]:
    """The asset catalogue of the partition and its draw weights (cheap kit common, cars rare)."""
    if p.assets.catalog is None:
        return ASSETS, _CATALOG_WEIGHT
    catalog = p.assets.catalog
    return catalog, np.array([3 if v < 10_000 else 1 if v < 50_000 else 0.2 for *_, v, _q in catalog])


def _unit_cards(rng: np.random.Generator, p: PartitionParams, code: str, custodians: list[str]) -> list[dict]:
    catalog, weight = _catalog(p)
    cards = []
    for status, total in p.assets.units[code].values.items():
        if total <= 0:
            continue
        n = max(1, round(total / p.assets.average_value))
        picks = rng.choice(len(catalog), size=n, p=weight / weight.sum())
        typical = np.array([catalog[i][3] for i in picks]) * rng.uniform(0.7, 1.3, n)
        values = split_exact(total, typical, YUAN)
        lo, hi = _ACQUIRED_YEARS_AGO[status]
        for i, value in zip(picks, values, strict=True):
            category, name, specs, _typical, max_qty = catalog[i]
            acquired = random_dates(rng, date(p.year - hi, 1, 1), date(p.year - lo, 12, 1), 1)[0].item()
            cards.append(
                {
                    "unit_code": code,
                    "name": name,
                    "category": category,
                    "spec_model": str(rng.choice(specs)),
                    "quantity": int(rng.integers(1, max_qty + 1)),
                    "original_value": int(value),
                    "acquired_date": acquired,
                    "status": status,
                    "status_date": _status_date(rng, status, acquired, p.year),
                    "label_attached": True,
                    "custodian": str(rng.choice(custodians)),
                    "lending_approval_ref": None,
                    "disposal_approval_ref": None,
                }
            )
    cards.sort(key=lambda c: (c["acquired_date"], c["name"]))
    for k, card in enumerate(cards, 1):
        card["asset_id"] = f"{code}-{k:04d}"
    return cards


def _pick(rng: np.random.Generator, index: pd.Index, k: int) -> pd.Index:
    return index[np.sort(rng.choice(len(index), size=min(k, len(index)), replace=False))] if k else index[:0]


def assets(p: PartitionParams, dept: Department, rng: np.random.Generator) -> pd.DataFrame:
    abbr = dept.city[0]
    rows = []
    for unit in dept.budget_units:
        custodians = list(rng.choice(_PEOPLE, size=4, replace=False))
        rows += _unit_cards(rng, p, unit.code, custodians)
    frame = pd.DataFrame(rows)
    lent, disposed = frame.status == "出借", frame.status == "已处置"
    frame.loc[lent, "lending_approval_ref"] = [
        f"{abbr}{p.assets.doc_word}〔{p.year}〕{n}号" for n in rng.integers(1, 60, int(lent.sum()))
    ]
    frame.loc[disposed, "disposal_approval_ref"] = [
        f"{abbr}财资〔{p.year}〕{n}号" for n in rng.integers(1, 90, int(disposed.sum()))
    ]
    d = p.assets.defects
    held = frame.index[~disposed]
    frame.loc[_pick(rng, held, d.unlabeled), "label_attached"] = False
    frame.loc[_pick(rng, held, d.no_spec), "spec_model"] = None
    overdue = _pick(rng, frame.index[frame.status == "待处置"], d.overdue_disposal)
    frame.loc[overdue, "status_date"] = list(
        random_dates(rng, date(p.year - 3, 3, 1), date(p.year - 1, 10, 31), len(overdue)).tolist()
    )
    frame.loc[_pick(rng, frame.index[lent], d.lent_unapproved), "lending_approval_ref"] = None
    columns = [
        "asset_id",
        "unit_code",
        "name",
        "category",
        "spec_model",
        "quantity",
        "original_value",
        "acquired_date",
        "status",
        "status_date",
        "label_attached",
        "custodian",
        "lending_approval_ref",
        "disposal_approval_ref",
    ]
    return frame[columns]


def stocktake(p: PartitionParams, cards: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    held = cards[cards.status != "已处置"]
    counted = held.loc[_pick(rng, held.index, round(len(held) * p.assets.stocktake_share))]
    frame = pd.DataFrame(
        {"asset_id": counted.asset_id, "counted_quantity": counted.quantity, "observed_name": counted["name"]}
    )
    d = p.assets.defects
    wrong_qty = _pick(rng, frame.index, d.quantity_wrong)
    frame.loc[wrong_qty, "counted_quantity"] = [
        q + 1 if q == 1 or rng.random() < 0.5 else q - 1 for q in frame.loc[wrong_qty, "counted_quantity"]
    ]
    rest = frame.drop(index=wrong_qty)
    wrong_name = _pick(rng, rest.index[rest.observed_name.isin(list(MISNAMED))], d.name_wrong)
    frame.loc[wrong_name, "observed_name"] = frame.loc[wrong_name, "observed_name"].map(MISNAMED)
    return frame.reset_index(drop=True)


def usage_ledger(p: PartitionParams, cards: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    keeping = cards[
        (cards.status == "在用") & ~cards.unit_code.isin(p.assets.defects.units_without_usage_ledger)
    ]
    used = keeping.loc[_pick(rng, keeping.index, round(len(keeping) * 0.6))]
    return pd.DataFrame(
        {
            "entry_id": [f"SY{p.year}-{k:05d}" for k in range(1, len(used) + 1)],
            "unit_code": used.unit_code.to_numpy(),
            "asset_id": used.asset_id.to_numpy(),
            "date": random_dates(rng, date(p.year, 1, 3), date(p.year, 12, 28), len(used)),
            "user": used.custodian.to_numpy(),
        }
    )


def build(p: PartitionParams, dept: Department, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    cards = assets(p, dept, rng)
    return {
        "assets": cards,
        "stocktake": stocktake(p, cards, rng),
        "usage_ledger": usage_ledger(p, cards, rng),
    }
