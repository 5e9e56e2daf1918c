"""Compute one indicator's measure over a partition's views.

Measure kinds (assets_config/frameworks/*.yaml):
- ratio: numerator side / denominator side (+ offset); optional per-unit breakdown (`by`).
- total: one side's aggregate (sum of columns, or row count).
- count: rows matching `where` (violations, items); `items` lists them.
- rule_hits: several named row rules; the value is how many found at least one row.
A side is {table, sum: col | [cols], count: rows, where, distinct} or {quota: staffing}.
Every result carries the rows it used (evidence), so lineage is a lookup, not a re-derivation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from perfeval_pipeline.config import Department
from perfeval_pipeline.feeds.readers import SOURCE_COLUMNS
from perfeval_pipeline.indicators.framework import IndicatorSpec

EVIDENCE_COLUMNS = ["indicator_id", "role", "table", *SOURCE_COLUMNS, "amount"]


class NotComputable(Exception):
    """The measure has no meaningful value (no rows, zero denominator); the message says why."""


@dataclass
class MeasureResult:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    reason: str | None = None
    by_unit: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    evidence: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVIDENCE_COLUMNS))


def _mask(frame: pd.DataFrame, where: str | None) -> pd.Series:
    if not where or frame.empty:
        return pd.Series(True, index=frame.index)
    try:
        result = frame.eval(where, engine="python")
    except Exception as exc:
        raise ValueError(f"cannot evaluate where {where!r}: {exc}") from exc
    return pd.Series(result, index=frame.index).astype("boolean").fillna(False).astype(bool)


def _table(views: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    try:
        return views[name]
    except KeyError:
        raise NotComputable(f"table {name} is not available for this partition") from None


@dataclass
class _Side:
    total: float
    rows: pd.DataFrame  # selected rows with an `amount` column (the value each row contributed)
    table: str


def _aggregate(
    views: dict[str, pd.DataFrame], side: dict, dept: Department, group: tuple | None = None
) -> _Side:
    if "quota" in side:
        quota = dept.staffing_quota
        if not quota:
            raise NotComputable("departments.yaml gives no staffing_quota for this department")
        rows = pd.DataFrame(
            {
                "_source_file": "assets_config/departments.yaml",
                "_source_sheet": dept.code,
                "_source_row": 0,
                "_row_hash": list(quota),
                "amount": list(quota.values()),
            }
        )
        return _Side(float(sum(quota.values())), rows, "config.staffing_quota")
    name = side["table"]
    frame = _table(views, name)
    if group is not None:
        col, key = group
        frame = frame[frame[col] == key]
    rows = frame[_mask(frame, side.get("where"))]
    if "distinct" in side:
        rows = rows.drop_duplicates(side["distinct"])
    if "sum" in side:
        cols = side["sum"] if isinstance(side["sum"], list) else [side["sum"]]
        missing = [c for c in cols if c not in rows.columns]
        if missing:
            raise ValueError(f"{name} has no column(s) {missing}")
        amount = rows[cols].astype("Float64").fillna(0).sum(axis=1).astype(float)
    else:
        amount = pd.Series(1.0, index=rows.index)
    out = rows[[c for c in SOURCE_COLUMNS if c in rows.columns]].copy()
    out["amount"] = amount.values
    return _Side(round(float(amount.sum()), 2), out, name)


def _evidence(indicator_id: str, role: str, side: _Side) -> pd.DataFrame:
    ev = side.rows.copy()
    ev.insert(0, "table", side.table)
    ev.insert(0, "role", role)
    ev.insert(0, "indicator_id", indicator_id)
    return ev.reindex(columns=EVIDENCE_COLUMNS)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVIDENCE_COLUMNS)


def _records(rows: pd.DataFrame, columns: list[str]) -> list[dict]:
    cols = [c for c in columns if c in rows.columns] + [
        c for c in ("_source_file", "_source_sheet", "_source_row") if c in rows.columns
    ]
    out = rows[cols].astype(object).where(rows[cols].notna(), None).to_dict("records")
    for rec in out:
        for k, v in rec.items():
            if isinstance(v, pd.Timestamp):
                rec[k] = v.date().isoformat()
    return out


def _ratio(spec: IndicatorSpec, views, dept: Department) -> MeasureResult:
    m = spec.measure
    num = _aggregate(views, m["numerator"], dept)
    den = _aggregate(views, m["denominator"], dept)
    evidence = _concat([_evidence(spec.id, "numerator", num), _evidence(spec.id, "denominator", den)])
    offset = float(m.get("offset", 0))
    by_unit = []
    if "by" in m:
        col = m["by"]
        keys = sorted(set(_table(views, m["denominator"]["table"])[col].dropna()))
        for key in keys:
            n = _aggregate(views, m["numerator"], dept, (col, key))
            d = _aggregate(views, m["denominator"], dept, (col, key))
            value = n.total / d.total + offset if d.total else None
            name = dept.unit_name(key) if col == "unit_code" else key
            by_unit.append(
                {"key": key, "name": name, "value": value, "numerator": n.total, "denominator": d.total}
            )
    items = []
    if "items_where" in m:
        items = [
            u
            for u in by_unit
            if u["value"] is not None and bool(pd.eval(m["items_where"], local_dict={"value": u["value"]}))
        ]
    if "items_where_rows" in m:
        frame = _table(views, m["denominator"]["table"])
        items = _records(frame[_mask(frame, m["items_where_rows"])], m.get("items", []))
    if den.total == 0:
        where = m["denominator"].get("where") or "all rows"
        return MeasureResult(
            None,
            num.total,
            den.total,
            f"denominator is 0 ({den.table}, {where}: {len(den.rows)} rows)",
            by_unit,
            items,
            evidence,
        )
    return MeasureResult(num.total / den.total + offset, num.total, den.total, None, by_unit, items, evidence)


def _total(spec: IndicatorSpec, views, dept: Department) -> MeasureResult:
    m = spec.measure
    side = _aggregate(views, m, dept)
    frame = _table(views, m["table"])
    by_unit = []
    if "by" in m:
        col = m["by"]
        for key in sorted(set(frame[col].dropna())):
            s = _aggregate(views, m, dept, (col, key))
            by_unit.append(
                {
                    "key": key,
                    "name": dept.unit_name(key) if col == "unit_code" else key,
                    "value": s.total,
                    "numerator": s.total,
                    "denominator": None,
                }
            )
    evidence = _evidence(spec.id, "value", side)
    if len(frame) == 0 and not m.get("empty_table") == "zero":
        return MeasureResult(None, None, None, f"{m['table']} has no rows", by_unit, [], evidence)
    return MeasureResult(side.total, side.total, None, None, by_unit, [], evidence)


def _count(spec: IndicatorSpec, views, dept: Department) -> MeasureResult:
    m = spec.measure
    frame = _table(views, m["table"])
    side = _aggregate(
        views,
        {
            "table": m["table"],
            "where": m.get("where"),
            "count": "rows",
            **({"distinct": m["distinct"]} if "distinct" in m else {}),
        },
        dept,
    )
    items = _records(frame.loc[side.rows.index], m.get("items", [])) if m.get("items") else []
    evidence = _evidence(spec.id, "item", side)
    if len(frame) == 0 and m.get("empty_table", "zero" if not m.get("where") else "not_computable") != "zero":
        return MeasureResult(None, None, None, f"{m['table']} has no rows to judge", [], items, evidence)
    return MeasureResult(
        float(len(side.rows)), float(len(side.rows)), float(len(frame)), None, [], items, evidence
    )


def _rule_hits(spec: IndicatorSpec, views, dept: Department) -> MeasureResult:
    hits, frames, items = 0, [], []
    for rule_id, rule in spec.measure["rules"].items():
        side = _aggregate(
            views,
            {
                "table": rule["table"],
                "where": rule.get("where"),
                **({"distinct": rule["distinct"]} if "distinct" in rule else {}),
            },
            dept,
        )
        rows = _table(views, rule["table"]).loc[side.rows.index]
        frames.append(_evidence(spec.id, rule_id, side))
        if len(rows):
            hits += 1
            items.append({"rule": rule_id, "count": len(rows), "rows": _records(rows, rule.get("items", []))})
    total_rules = len(spec.measure["rules"])
    return MeasureResult(float(hits), float(hits), float(total_rules), None, [], items, _concat(frames))


_KINDS = {"ratio": _ratio, "total": _total, "count": _count, "rule_hits": _rule_hits}


def compute_measure(spec: IndicatorSpec, views: dict[str, pd.DataFrame], dept: Department) -> MeasureResult:
    """Compute a measure; a missing table or empty denominator gives value None with the reason."""
    try:
        return _KINDS[spec.measure["kind"]](spec, views, dept)
    except NotComputable as exc:
        return MeasureResult(None, reason=str(exc))
