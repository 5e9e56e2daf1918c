"""Derived columns and tables the framework's measures filter on: what a `where` cannot express
(unit roles from config, stock-take mismatches, target completion, the evaluation date).

`view_columns` declares them, so frameworks are checked against contracts + views at load time;
`build_views` computes them for one partition. Every view row keeps `_row`, the row's ordinal in
its stored table, so evidence always points at a stored landing row."""

from __future__ import annotations

import pandas as pd

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.feeds.contracts import FeedContract
from perfeval_pipeline.numbers import Quantity, normalize_text, parse_quantity

UNIT_COLUMNS = {"unit_role", "unit_name"}
TARGET_COLUMNS = {
    "target_value",
    "actual_value",
    "value_is_numeric",
    "completion",
    "achieved",
    "scored_elsewhere",
    "completion_note",
}
TASK_COLUMNS = {"evaluation_date"}
ASSET_CHECK_COLUMNS = {
    "counted_quantity",
    "observed_name",
    "stocktake_mismatch",
    "unit_has_usage_ledger",
    "days_in_status",
}
# Words that record a qualitative target as met (实际完成值 of a 定性 target such as "及时").
ACHIEVED_WORDS = frozenset(
    {"是", "达成", "已达成", "完成", "已完成", "达标", "及时", "满意", "合格", "已实现", "实现"}
)
ROW = "_row"


def view_columns(contracts: dict[str, FeedContract]) -> dict[str, set[str]]:
    """Table name → the columns a measure may name: contract columns plus derived ones."""
    out: dict[str, set[str]] = {}
    for contract in contracts.values():
        for table in contract.tables.values():
            cols = set(table.columns)
            if "unit_code" in cols:
                cols |= UNIT_COLUMNS
            out[table.qualified_name] = cols
    if "evaluation.targets" in out:
        out["evaluation.targets"] |= TARGET_COLUMNS
    if "evaluation.key_tasks" in out:
        out["evaluation.key_tasks"] |= TASK_COLUMNS
    if "asset_register.assets" in out:
        out["asset_register.assets_checked"] = out["asset_register.assets"] | ASSET_CHECK_COLUMNS
    return out


def _with_units(frame: pd.DataFrame, dept: Department) -> pd.DataFrame:
    if "unit_code" not in frame.columns:
        return frame
    roles = {u.code: u.role for u in dept.budget_units}
    names = {u.code: u.name for u in dept.budget_units}
    frame = frame.copy()
    frame["unit_role"] = frame["unit_code"].map(roles).astype("string")
    frame["unit_name"] = frame["unit_code"].map(names).astype("string")
    return frame


def _cell(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def completion(target: str | None, actual: str | None, comparator: str | None, unit: str | None):
    """(target value, actual value, completion in [0, 1] or None, achieved, note) of one 绩效目标表
    row. Numeric targets compare 实际完成值 with 年度指标值 under the comparator (≥: actual/target,
    capped; ≤: full when within, else target/actual); qualitative ones are met when the actual says
    so (及时, 是, 完成, or the target text itself)."""
    t: Quantity | None = parse_quantity(target, unit) if target else None
    a: Quantity | None = parse_quantity(actual, unit) if actual else None
    if actual is None or not normalize_text(actual):
        return (t.value if t else None, None, None, False, "未填报实际完成值")
    sign = comparator if comparator and comparator != "定性" else (t.comparator if t else None)
    if t is None or comparator == "定性":
        met = normalize_text(actual) in ACHIEVED_WORDS or (
            target and normalize_text(actual) == normalize_text(target)
        )
        return (None, None, 1.0 if met else 0.0, bool(met), "" if met else "定性目标未达成")
    if a is None:
        return (t.value, None, None, False, "实际完成值不是数值")
    sign = sign or "≥"
    if sign in ("≤", "<"):
        share = 1.0 if a.value <= t.value else (t.value / a.value if a.value > 0 else 0.0)
    elif sign == "=":
        hi = max(abs(a.value), abs(t.value))
        share = 1.0 if hi == 0 else min(abs(a.value), abs(t.value)) / hi
    else:
        share = 1.0 if t.value <= 0 else max(min(a.value / t.value, 1.0), 0.0)
    return (t.value, a.value, share, share >= 1.0 - 1e-12, "")


def _targets(frame: pd.DataFrame, claimed: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.copy()
    rows = [
        completion(_cell(v), _cell(a), _cell(c), _cell(u))
        for v, a, c, u in zip(
            frame["value"],
            frame["actual"] if "actual" in frame else [None] * len(frame),
            frame["comparator"],
            frame["unit"],
            strict=True,
        )
    ]
    parsed = [
        parse_quantity(_cell(v), _cell(u)) if _cell(v) else None
        for v, u in zip(frame["value"], frame["unit"], strict=True)
    ]
    frame["value_is_numeric"] = pd.array([p is not None for p in parsed], dtype="boolean")
    frame["target_value"] = pd.array([r[0] for r in rows], dtype="Float64")
    frame["actual_value"] = pd.array([r[1] for r in rows], dtype="Float64")
    frame["completion"] = pd.array([r[2] for r in rows], dtype="Float64")
    frame["achieved"] = pd.array([r[3] for r in rows], dtype="boolean")
    frame["completion_note"] = pd.array([r[4] or None for r in rows], dtype="string")
    # The row an indicator scores directly is the one target_from_targets reads: the first whose
    # name contains the claimed text; other rows with similar names stay in the common indicators.
    names = frame["name"].fillna("").astype(str).tolist()
    taken = {next((i for i, n in enumerate(names) if c in n), None) for c in claimed} - {None}
    frame["scored_elsewhere"] = pd.array([i in taken for i in range(len(names))], dtype="boolean")
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
    assets["days_in_status"] = pd.array((year_end - assets["status_date"]).dt.days, dtype="Int64")
    return assets


def build_views(
    tables: dict[str, pd.DataFrame], dept: Department, year: int, claimed_targets: tuple[str, ...] = ()
) -> dict[str, pd.DataFrame]:
    """The partition's clean tables plus derived views, keyed '{feed}.{table}'. `claimed_targets`:
    绩效目标表 name fragments that indicators score directly (their rows are `scored_elsewhere`)."""
    views = {name: _with_units(frame, dept) for name, frame in tables.items()}
    if "evaluation.targets" in views:
        views["evaluation.targets"] = _targets(views["evaluation.targets"], claimed_targets)
    if "evaluation.key_tasks" in views:
        tasks = views["evaluation.key_tasks"].copy()
        profile = views.get("evaluation.profile")
        dates = (
            profile["evaluation_date"].dropna()
            if profile is not None
            else pd.Series([], dtype="datetime64[us]")
        )
        tasks["evaluation_date"] = pd.Series(
            dates.iloc[0] if len(dates) else pd.NaT, index=tasks.index, dtype="datetime64[us]"
        )
        views["evaluation.key_tasks"] = tasks
    if "asset_register.assets" in views:
        views["asset_register.assets_checked"] = _with_units(_assets_checked(views, year), dept)
    return views
