"""Derived tables the framework's measures filter on: joins and flags that a pandas `where`
cannot express (unit roles from config, stock-take mismatches, the evaluation date)."""

from __future__ import annotations

import re

import pandas as pd

from perfeval_pipeline.config import Department

_NUMERIC = re.compile(r"^\s*-?\d+(\.\d+)?\s*%?\s*$")


def _with_units(frame: pd.DataFrame, dept: Department) -> pd.DataFrame:
    if "unit_code" not in frame.columns:
        return frame
    roles = {u.code: u.role for u in dept.budget_units}
    names = {u.code: u.name for u in dept.budget_units}
    frame = frame.copy()
    frame["unit_role"] = frame["unit_code"].map(roles).astype("string")
    frame["unit_name"] = frame["unit_code"].map(names).astype("string")
    return frame


def _assets_checked(tables: dict[str, pd.DataFrame], year: int) -> pd.DataFrame:
    assets = tables["asset_register.assets"].copy()
    stock = tables.get("asset_register.stocktake")
    if stock is not None and len(stock):
        counted = stock[["asset_id", "counted_quantity", "observed_name"]].drop_duplicates("asset_id")
        assets = assets.merge(counted, on="asset_id", how="left")
    else:
        assets["counted_quantity"] = pd.array([pd.NA] * len(assets), dtype="Int64")
        assets["observed_name"] = pd.array([pd.NA] * len(assets), dtype="string")
    qty_wrong = assets["counted_quantity"].notna() & (assets["counted_quantity"] != assets["quantity"])
    name_wrong = assets["observed_name"].notna() & (assets["observed_name"] != assets["name"])
    assets["stocktake_mismatch"] = (qty_wrong | name_wrong).fillna(False).astype(bool)
    usage = tables.get("asset_register.usage_ledger")
    units_with_ledger = set(usage["unit_code"].dropna()) if usage is not None else set()
    assets["unit_has_usage_ledger"] = assets["unit_code"].isin(units_with_ledger)
    year_end = pd.Timestamp(year=year, month=12, day=31)
    assets["days_in_status"] = (year_end - assets["status_date"]).dt.days
    return assets


def build_views(tables: dict[str, pd.DataFrame], dept: Department, year: int) -> dict[str, pd.DataFrame]:
    """The partition's clean tables plus derived views, keyed '{feed}.{table}'."""
    views = {name: _with_units(frame, dept) for name, frame in tables.items()}
    if "evaluation.targets" in views:
        targets = views["evaluation.targets"].copy()
        targets["value_is_numeric"] = targets["value"].fillna("").astype(str).str.match(_NUMERIC)
        views["evaluation.targets"] = targets
    if "evaluation.key_tasks" in views and "evaluation.profile" in views:
        tasks = views["evaluation.key_tasks"].copy()
        dates = views["evaluation.profile"]["evaluation_date"].dropna()
        tasks["evaluation_date"] = dates.iloc[0] if len(dates) else pd.NaT
        views["evaluation.key_tasks"] = tasks
    if "asset_register.assets" in views:
        views["asset_register.assets_checked"] = _with_units(_assets_checked(views, year), dept)
    return views
