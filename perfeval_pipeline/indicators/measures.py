"""Compute one indicator's measure over a partition's views, with DuckDB.

Each measure side is one SQL query over a registered view (`where` is the framework's SQL
condition), returning the rows it selected and what each contributed. Every result carries those
rows as evidence: references (source table, `_row`) into the stored rows of the partition, never
copies of their cells, so tracing is a lookup and the evidence stays small."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from perfeval_pipeline.config.models import Department
from perfeval_pipeline.indicators.framework import (
    CountMeasure,
    IndicatorSpec,
    RatioMeasure,
    RuleHitsMeasure,
    Side,
    TargetCompletionMeasure,
    TotalMeasure,
)
from perfeval_pipeline.indicators.views import ROW

EVIDENCE_COLUMNS = ["indicator_id", "role", "source_table", ROW, "amount"]
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default for text
# Views name their rows by the stored table they extend.
VIEW_SOURCES = {"asset_register.assets_checked": "asset_register.assets"}


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


@dataclass
class SideRows:
    total: float
    rows: np.ndarray  # `_row` of each selected row
    amounts: np.ndarray  # what each row contributed
    keys: np.ndarray | None  # the `by` value of each row
    table: str


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class MeasureContext:
    """A partition's views registered in an in-memory DuckDB connection (one per partition)."""

    def __init__(self, views: dict[str, pd.DataFrame], dept: Department):
        self.views, self.dept = views, dept
        self.con = duckdb.connect(":memory:", config={"threads": 1, "enable_external_access": False})
        # Arrow tables, converted once: DuckDB scans a pandas frame of Arrow-backed columns by
        # converting it again for every query.
        for name, frame in views.items():
            self.con.register(name, pa.Table.from_pandas(frame, preserve_index=False))

    def close(self) -> None:
        self.con.close()

    def frame(self, table: str) -> pd.DataFrame:
        try:
            return self.views[table]
        except KeyError:
            raise NotComputable(f"table {table} is not available for this partition") from None

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()

    def side(self, side: Side, by: str | None = None, group: object = None) -> SideRows:
        if side.quota:
            quota = self.dept.staffing_quota
            if not quota:
                raise NotComputable("departments.yaml gives no staffing_quota for this department")
            amounts = np.asarray(list(quota.values()), dtype="float64")
            return SideRows(
                float(amounts.sum()), np.arange(len(amounts)), amounts, None, "config.staffing_quota"
            )
        table = side.table
        self.frame(table)
        cols = side.sum_columns
        amount = " + ".join(f'COALESCE(CAST("{c}" AS DOUBLE), 0)' for c in cols) if cols else "1.0"
        select = [f'"{ROW}"', f"({amount}) AS amount"]
        if by:
            select.append(f'"{by}" AS key')
        conditions = [f"({side.where})"] if side.where else []
        params = []
        if by and group is not None:
            conditions.append(f'"{by}" = ?')
            params.append(group)
        sql = f'SELECT {", ".join(select)} FROM "{table}"'
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        if side.distinct:
            sql += f' QUALIFY row_number() OVER (PARTITION BY "{side.distinct}" ORDER BY "{ROW}") = 1'
        sql += f' ORDER BY "{ROW}"'
        try:
            out = self.con.execute(
                sql, params
            ).fetchnumpy()  # arrays, not a DataFrame: sides can be 25万 rows
        except duckdb.Error as exc:
            raise ValueError(f"cannot evaluate {sql!r}: {exc}") from exc
        amounts = np.asarray(out["amount"], dtype="float64")
        total = round(float(amounts.sum()), 2) if len(amounts) else 0.0
        keys = np.asarray(out["key"], dtype=object) if by else None
        return SideRows(total, np.asarray(out[ROW], dtype="int64"), amounts, keys, table)

    def records(self, table: str, where: str | None, columns: tuple[str, ...]) -> list[dict]:
        """Rows of `table` matching `where` with `columns` and their source reference."""
        frame = self.frame(table)
        wanted = [c for c in columns if c in frame.columns] + [
            c
            for c in ("_source_file", "_source_sheet", "_source_row", ROW)
            if c in frame.columns and c not in columns
        ]
        sql = f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in wanted)} FROM "{table}"'
        if where:
            sql += f" WHERE ({where})"
        sql += f' ORDER BY "{ROW}"'
        out = self.query(sql)
        records = out.astype(object).where(out.notna(), None).to_dict("records")
        for rec in records:
            for k, v in rec.items():
                if isinstance(v, pd.Timestamp):
                    rec[k] = v.date().isoformat() if v == v.normalize() else v.isoformat(sep=" ")
                elif isinstance(v, np.generic):
                    rec[k] = v.item()
        return records


def _same_text(value: str, n: int) -> pd.arrays.ArrowStringArray:
    """`value` n times as a text column (pandas' default text dtype), repeated in Arrow: filling a
    column from a scalar costs pandas a Python string per row, and evidence runs to 25万 rows."""
    one = pa.array([value], pa.large_string())
    text = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype="int8")), one).cast(pa.large_string())
    return pd.arrays.ArrowStringArray(pa.chunked_array([text]), dtype=TEXT)


def _evidence(indicator_id: str, role: str, side: SideRows) -> pd.DataFrame:
    n = len(side.rows)
    return pd.DataFrame(
        {
            "indicator_id": _same_text(indicator_id, n),
            "role": _same_text(role, n),
            "source_table": _same_text(VIEW_SOURCES.get(side.table, side.table), n),
            ROW: side.rows.astype("int32"),
            "amount": side.amounts,
        },
        columns=EVIDENCE_COLUMNS,
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EVIDENCE_COLUMNS)


def _unit_name(dept: Department, by: str, key) -> str:
    return dept.unit_name(key) if by == "unit_code" else str(key)


def _ratio(spec: IndicatorSpec, m: RatioMeasure, ctx: MeasureContext) -> MeasureResult:
    num = ctx.side(m.numerator, m.by)
    den = ctx.side(m.denominator, m.by)
    evidence = _concat([_evidence(spec.id, "numerator", num), _evidence(spec.id, "denominator", den)])
    by_unit = []
    if m.by:
        den_by = pd.Series(den.amounts).groupby(pd.Series(den.keys, dtype=object)).sum()
        num_by = (
            pd.Series(num.amounts).groupby(pd.Series(num.keys, dtype=object)).sum()
            if len(num.amounts)
            else pd.Series(dtype=float)
        )
        for key in sorted(k for k in den_by.index if k is not None and not pd.isna(k)):
            d = round(float(den_by.get(key, 0.0)), 2)
            n = round(float(num_by.get(key, 0.0)), 2)
            value = _finite(n / d + m.offset) if d else None
            by_unit.append(
                {
                    "key": str(key),
                    "name": _unit_name(ctx.dept, m.by, key),
                    "value": value,
                    "numerator": n,
                    "denominator": d,
                }
            )
        if m.explain_by:
            _explain(by_unit, num, den, ctx.frame(m.denominator.table), m.explain_by)
    items: list[dict] = []
    if m.flag_units is not None:
        items = [u for u in by_unit if m.flag_units.holds(u["value"])]
    if m.item_rows:
        items = ctx.records(m.denominator.table, m.item_rows, m.items)
    if den.total == 0:
        where = m.denominator.where or "all rows"
        reason = f"分母为0 (denominator is 0: {den.table}, {where}: {len(den.rows)} rows)"
        return MeasureResult(None, num.total, den.total, reason, by_unit, items, evidence)
    return MeasureResult(
        _finite(num.total / den.total + m.offset), num.total, den.total, None, by_unit, items, evidence
    )


def _explain(by_unit: list[dict], num: SideRows, den: SideRows, frame: pd.DataFrame, column: str) -> None:
    """Per unit, the denominator amount outside the numerator by `column`, largest first."""
    outside = ~np.isin(den.rows, num.rows) if num.table == den.table else np.ones(len(den.rows), bool)
    labels = frame.set_index(ROW)[column].reindex(den.rows[outside]).to_numpy()
    gap = pd.DataFrame({"key": den.keys[outside], "label": labels, "amount": den.amounts[outside]})
    sums = gap.groupby(["key", "label"], dropna=True)["amount"].sum()
    for unit in by_unit:
        parts = (
            sums.xs(unit["key"], level="key")
            if unit["key"] in sums.index.get_level_values("key")
            else pd.Series(dtype=float)
        )
        unit["gap"] = [
            {"label": str(k), "amount": round(float(v), 2)}
            for k, v in parts.sort_values(ascending=False).items()
        ]


def _total(spec: IndicatorSpec, m: TotalMeasure, ctx: MeasureContext) -> MeasureResult:
    frame = ctx.frame(m.table)
    side = ctx.side(m, m.by)
    by_unit = []
    if m.by and len(side.rows):
        sums = pd.Series(side.amounts).groupby(pd.Series(side.keys, dtype=object)).sum()
        for key in sorted(k for k in sums.index if k is not None and not pd.isna(k)):
            v = round(float(sums[key]), 2)
            by_unit.append(
                {
                    "key": str(key),
                    "name": _unit_name(ctx.dept, m.by, key),
                    "value": v,
                    "numerator": v,
                    "denominator": None,
                }
            )
    evidence = _evidence(spec.id, "value", side)
    if len(frame) == 0 and m.empty_table != "zero":
        return MeasureResult(None, None, None, f"{m.table} 无数据行 (no rows)", by_unit, [], evidence)
    return MeasureResult(side.total, side.total, None, None, by_unit, [], evidence)


def _first_per(records: list[dict], key: str | None) -> list[dict]:
    """The first record of each `key` value (the rows a `distinct` side counted)."""
    if not key:
        return records
    seen: set = set()
    return [r for r in records if not (r.get(key) in seen or seen.add(r.get(key)))]


def _count(spec: IndicatorSpec, m: CountMeasure, ctx: MeasureContext) -> MeasureResult:
    frame = ctx.frame(m.table)
    side = ctx.side(Side(table=m.table, where=m.where, distinct=m.distinct, count="rows"))
    items = _first_per(ctx.records(m.table, m.where, m.items), m.distinct) if m.items else []
    evidence = _evidence(spec.id, "item", side)
    empty = m.empty_table or ("zero" if not m.where else "not_computable")
    if len(frame) == 0 and empty != "zero":
        return MeasureResult(
            None, None, None, f"{m.table} 无数据行，无法判断 (no rows to judge)", [], items, evidence
        )
    n = float(len(side.rows))
    return MeasureResult(n, n, float(len(frame)), None, [], items, evidence)


def _rule_hits(spec: IndicatorSpec, m: RuleHitsMeasure, ctx: MeasureContext) -> MeasureResult:
    hits, frames, items = 0, [], []
    for rule_id, rule in m.rules.items():
        side = ctx.side(Side(table=rule.table, where=rule.where, distinct=rule.distinct, count="rows"))
        frames.append(_evidence(spec.id, rule_id, side))
        if len(side.rows):
            hits += 1
            rows = _first_per(ctx.records(rule.table, rule.where, rule.items), rule.distinct)
            items.append({"rule": rule_id, "title": rule.title, "count": len(side.rows), "rows": rows})
    return MeasureResult(float(hits), float(hits), float(len(m.rules)), None, [], items, _concat(frames))


def _target_completion(spec: IndicatorSpec, m: TargetCompletionMeasure, ctx: MeasureContext) -> MeasureResult:
    table = "evaluation.targets"
    where = f"({m.where}) AND NOT COALESCE(scored_elsewhere, FALSE)"
    side = ctx.side(Side(table=table, where=where, count="rows"))
    rows = ctx.records(
        table, where, (*m.items, "completion", "completion_note", "comparator", "unit", "level2")
    )
    # Each row contributes its completion (0 when not reported), so the evidence adds up to the value.
    side.amounts = [r.get("completion") or 0.0 for r in rows]
    evidence = _evidence(spec.id, "item", side)
    if not rows:
        return MeasureResult(
            None, None, 0.0, f"绩效目标表中没有此类目标 (no target rows: {m.where})", [], [], evidence
        )
    done = [r["completion"] for r in rows if r.get("completion") is not None]
    # Unfinished and unreported targets are the items; an unreported one counts as not completed.
    items = [r for r in rows if r.get("completion") is None or r["completion"] < 1 - 1e-12]
    if not done:
        return MeasureResult(
            None, 0.0, float(len(rows)), "绩效目标表未填报实际完成值 (no actual values)", [], items, evidence
        )
    total = math.fsum(done)
    return MeasureResult(_finite(total / len(rows)), total, float(len(rows)), None, [], items, evidence)


_KINDS = {
    "ratio": _ratio,
    "total": _total,
    "count": _count,
    "rule_hits": _rule_hits,
    "target_completion": _target_completion,
}


def compute_measure(spec: IndicatorSpec, ctx: MeasureContext) -> MeasureResult:
    """Compute a measure; a missing table or an empty denominator gives value None and the reason."""
    try:
        return _KINDS[spec.measure.kind](spec, spec.measure, ctx)
    except NotComputable as exc:
        return MeasureResult(None, reason=str(exc))
