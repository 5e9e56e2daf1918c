"""Trace a figure of the form back to its landing rows and recompute it from them.

score → points, rule, deduction reasons, target → value → numerator / denominator → evidence rows
(evidence/indicators) → the raw cells of each row (raw/{table}) → the landing row itself, re-read
and re-hashed as the readers hash it (`_row_hash`). The value is then recomputed from those rows
only: raw cells re-typed with the feeds' conversion (header units read from the landing file), summed
per role, and combined as the framework's measure says (ratio + offset, total, count, rule hits).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd

from perfeval_pipeline.config import config_dir, load_yaml
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.feeds.contracts import table_contract
from perfeval_pipeline.feeds.typing import convert_column
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.framework import IndicatorSpec, load_framework
from perfeval_pipeline.indicators.stage import EVIDENCE_TABLE, VALUES_TABLE
from perfeval_pipeline.lineage.sources import CONFIG_PREFIX, LandingFiles, RawRows
from perfeval_pipeline.store import Store

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# views.py derives these from unit_code (via departments.yaml): the raw cell behind them is unit_code.
_DERIVED_FROM_UNIT = {"unit_role", "unit_name"}


class TraceError(LookupError):
    """The partition, indicator or number cannot be found; the message says what to run instead."""


@dataclass
class SourceRow:
    role: str
    table: str
    file: str
    sheet: str
    row: int
    row_hash: str
    amount: float | None  # what the row contributed, as stored in evidence
    cells: dict[str, str] = field(default_factory=dict)  # the raw cells used, canonical name → text
    headers: dict[str, str] = field(default_factory=dict)  # canonical name → header in the landing file
    recomputed: float | None = None  # the same, re-typed from the raw cells
    landing_hash: str | None = None  # the landing row's hash now (None: row or file gone)
    changed_cells: list[str] = field(default_factory=list)  # used cells that differ in the landing row now

    @property
    def hash_ok(self) -> bool:
        return self.landing_hash == self.row_hash


@dataclass
class Recomputation:
    sides: dict[str, float]  # role → recomputed total
    value: float | None
    display: str
    formula: str
    matches: bool
    notes: list[str] = field(default_factory=list)


@dataclass
class IndicatorTrace:
    department: str
    year: int
    id: str
    name: str
    level1: str
    level2: str
    scored: bool
    measure: dict
    value: float | None
    display: str
    numerator: float | None
    denominator: float | None
    reason: str | None
    unit: dict | None = None  # the by-unit entry traced, when the figure is one unit's
    score: dict | None = None  # points, score, deduction, rule, reasons, target, target_source, …
    rows: list[SourceRow] = field(default_factory=list)
    recomputation: Recomputation | None = None

    @property
    def hash_mismatches(self) -> list[SourceRow]:
        """Landing rows whose content changed or vanished since ingest, each once (a row can be both
        numerator and denominator)."""
        bad: dict[tuple, SourceRow] = {}
        for r in self.rows:
            if r.file.startswith(CONFIG_PREFIX) or r.hash_ok:
                continue
            key = (r.file, r.sheet, r.row)
            if key in bad:
                merged = bad[key].changed_cells + [
                    c for c in r.changed_cells if c not in bad[key].changed_cells
                ]
                bad[key] = replace(bad[key], changed_cells=merged)
            else:
                bad[key] = r
        return list(bad.values())


@dataclass
class Match:
    indicator_id: str
    matched: str  # display, unit display, score, total
    unit_key: str | None = None


def _none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _normalize(text: str) -> str:
    return re.sub(r"[\s,，]", "", str(text)).replace("％", "%")


class PartitionLineage:
    """A computed partition's stored indicators, scores and evidence, read once."""

    def __init__(self, department: str, year: int, store: Store | None = None):
        self.cfg = load_settings()
        self.dept = self.cfg.department(department)
        self.department, self.year = department, year
        self.store = store or Store(self.cfg.store_dir)
        if not self.store.exists("indicators", VALUES_TABLE, department, year):
            raise TraceError(
                f"no indicators stored for {department} {year}: run `perfeval run -d {department} "
                f"-y {year}` first"
            )
        self.framework = load_framework(self.dept.framework)
        self.values = self.store.read("indicators", VALUES_TABLE, department, year).set_index(
            "id", drop=False
        )
        scores = self.store.read_optional("scores", "indicators", department, year)
        self.scores = scores.set_index("id", drop=False) if scores is not None else None
        self.levels = self.store.read_optional("scores", "levels", department, year)
        self._landing = LandingFiles(self.cfg.landing_dir)
        # Source rows per indicator: tracing several units of one indicator reads its evidence once.
        self._rows: dict[str, list[SourceRow]] = {}

    # --- resolving what the user typed -------------------------------------------------------------
    def resolve(self, text: str) -> list[Match]:
        """An indicator id, or a number as a form prints it ('489.93%', '3935.02', '25.85万'): the
        indicators (or per-unit figures) displaying it; failing that, those scoring it, or the total."""
        if text in self.values.index:
            return [Match(text, "id")]
        wanted = _normalize(text)
        matches = [Match(i, "display") for i, d in self.values["display"].items() if _normalize(d) == wanted]
        for iid, rec in self.values.iterrows():
            for unit in json.loads(rec["by_unit"] or "[]"):
                if _normalize(display(_none(unit.get("value")), rec["display_kind"])) == wanted:
                    matches.append(Match(iid, "unit display", str(unit["key"])))
        if matches:
            return matches
        try:
            number = float(wanted)
        except ValueError:
            return []
        if self.scores is not None:
            matches = [
                Match(i, "score") for i, s in self.scores["score"].items() if round(s, 2) == round(number, 2)
            ]
        if self.levels is not None:
            total = self.levels.loc[self.levels["level"] == 0, "score"]
            if len(total) and round(float(total.iloc[0]), 2) == round(number, 2):
                matches.insert(0, Match("", "total"))
        return matches

    # --- the total -------------------------------------------------------------------------------
    def total(self) -> dict:
        """Total score and grade with every scored indicator's value and score."""
        if self.scores is None or self.levels is None:
            raise TraceError(f"no scores stored for {self.department} {self.year}: run the pipeline first")
        total = self.levels[self.levels["level"] == 0].iloc[0]
        indicators = []
        for spec in self.framework.indicators:
            v, s = self.values.loc[spec.id], self.scores.loc[spec.id]
            indicators.append(
                {
                    "id": spec.id,
                    "name": spec.name,
                    "level1": spec.level1,
                    "level2": spec.level2,
                    "display": v["display"],
                    "score": float(s["score"]),
                    "points": float(s["points"]),
                    "deduction": float(s["deduction"]),
                    "reasons": json.loads(s["reasons"]),
                }
            )
        levels = self.levels[self.levels["level"] == 1]
        return {
            "department": self.department,
            "year": self.year,
            "total": float(total["score"]),
            "max_points": float(total["points"]),
            "grade": str(total["grade"]),
            "levels": [
                {"name": r["name"], "score": float(r["score"]), "points": float(r["points"])}
                for _, r in levels.iterrows()
            ],
            "indicators": indicators,
        }

    # --- one indicator ---------------------------------------------------------------------------
    def trace(self, indicator_id: str, unit_key: str | None = None) -> IndicatorTrace:
        if indicator_id not in self.values.index:
            raise TraceError(
                f"no indicator {indicator_id!r} for {self.department} {self.year}; "
                f"`perfeval trace {self.department} {self.year}` lists them"
            )
        spec = self.framework.get(indicator_id)
        rec = self.values.loc[indicator_id]
        trace = IndicatorTrace(
            department=self.department,
            year=self.year,
            id=indicator_id,
            name=rec["name"],
            level1=rec["level1"],
            level2=rec["level2"],
            scored=spec.scored,
            measure=spec.measure,
            value=_none(rec["value"]),
            display=rec["display"],
            numerator=_none(rec["numerator"]),
            denominator=_none(rec["denominator"]),
            reason=_none(rec["reason"]),
        )
        if self.scores is not None and indicator_id in self.scores.index:
            s = self.scores.loc[indicator_id]
            trace.score = {
                "points": float(s["points"]),
                "score": float(s["score"]),
                "deduction": float(s["deduction"]),
                "rule": s["rule"],
                "reasons": json.loads(s["reasons"]),
                "target": _none(s["target"]),
                "target_source": _none(s["target_source"]),
                "workpaper_refs": json.loads(s["workpaper_refs"]),
            }
        if indicator_id not in self._rows:
            self._rows[indicator_id] = self._source_rows(spec, self._evidence(indicator_id), self._landing)
        trace.rows = self._rows[indicator_id]
        if unit_key is not None:
            trace.unit = next((u for u in json.loads(rec["by_unit"]) if str(u["key"]) == unit_key), None)
            if trace.unit is None:
                raise TraceError(f"{indicator_id} has no per-unit figure for {unit_key!r}")
            trace.unit["display"] = display(_none(trace.unit.get("value")), spec.display)
            by = spec.measure["by"]
            trace.rows = [r for r in trace.rows if r.cells.get(by, "").strip() == unit_key]
        trace.recomputation = recompute(spec, trace)
        return trace

    def _evidence(self, indicator_id: str) -> pd.DataFrame:
        path = self.store.path("evidence", EVIDENCE_TABLE, self.department, self.year)
        if not path.exists():
            raise TraceError(f"no evidence stored for {self.department} {self.year}: run the pipeline first")
        # Filtered on read: a partition's evidence holds a row per (indicator, source row), 1.7 million
        # for the demo seed; DuckDB's scan picks one indicator's rows 10x faster than pyarrow's filter.
        query = "SELECT * FROM read_parquet(?, hive_partitioning = false) WHERE indicator_id = ?"
        with duckdb.connect(":memory:") as con:
            return con.execute(query, [path.as_posix(), indicator_id]).df()

    def _source_rows(
        self, spec: IndicatorSpec, evidence: pd.DataFrame, landing: LandingFiles
    ) -> list[SourceRow]:
        if evidence.empty:
            return []
        raw_rows = RawRows(self.store, self.department, self.year)
        out: list[SourceRow] = []
        for (role, table, file, sheet), group in evidence.groupby(
            ["role", "table", "_source_file", "_source_sheet"], sort=False, dropna=False
        ):
            group = group.reset_index(drop=True)
            side = side_spec(spec.measure, role)
            if "quota" in side:
                # The staffing quota comes from departments.yaml, one evidence row per 编制 type.
                cells = _quota_cells().get(self.department, {})
                out += [
                    SourceRow(
                        role,
                        table,
                        file,
                        sheet,
                        row=0,
                        row_hash=key,
                        amount=float(amount),
                        cells={key: str(cells.get(key, ""))},
                        recomputed=_float(cells.get(key)),
                    )
                    for key, amount in zip(group["_row_hash"], group["amount"], strict=True)
                ]
                continue
            raw_table = raw_rows.table_for(table, file, sheet)
            contract = table_contract(raw_table) if raw_table else None
            columns = cell_columns(side, contract, spec.measure.get("by"))
            raw = raw_rows.lookup(raw_table, group) if raw_table else pd.DataFrame(index=group.index)
            cells = {
                c: raw[c].astype(object).where(raw[c].notna(), "").astype(str).tolist()
                for c in columns
                if c in raw
            }
            sheet_info = landing.sheet(file, sheet, contract)
            headers = {
                c: sheet_info.canonical_to_header[c] for c in cells if c in sheet_info.canonical_to_header
            }
            amounts = _row_amounts(side, raw, contract, sheet_info.header_units)
            recomputed = [None] * len(group) if amounts is None else amounts.tolist()
            rows = group["_source_row"].astype(int).tolist()
            hashes = sheet_info.hashes(rows)
            for i, (row, row_hash, amount) in enumerate(
                zip(rows, group["_row_hash"], group["amount"], strict=True)
            ):
                source = SourceRow(
                    role,
                    table,
                    file,
                    sheet,
                    row,
                    row_hash,
                    _float(amount),
                    cells={c: v[i] for c, v in cells.items()},
                    headers=headers,
                    recomputed=recomputed[i],
                    landing_hash=hashes[row],
                )
                if not source.hash_ok and hashes[row] is not None:
                    now = sheet_info.frame.loc[row - 2]
                    source.changed_cells = [
                        f"{h}: {source.cells[c]!r} → {str(now[h])!r}"
                        for c, h in headers.items()
                        if str(now[h]) != source.cells[c]
                    ]
                out.append(source)
        return out


def _float(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _quota_cells() -> dict[str, dict]:
    """Staffing quotas read straight from departments.yaml (not through the cached settings)."""
    raw = load_yaml(config_dir() / "departments.yaml").get("departments") or {}
    return {code: (d.get("staffing_quota") or {}) for code, d in raw.items()}


def side_spec(measure: dict, role: str) -> dict:
    """The part of a measure that produced evidence rows of `role`."""
    kind = measure["kind"]
    if kind == "ratio":
        return measure[role]
    if kind == "total":
        return measure
    if kind == "count":
        return {k: v for k, v in measure.items() if k in ("table", "where", "distinct")}
    return measure["rules"][role]


def sum_columns(side: dict) -> list[str]:
    if "sum" not in side:
        return []
    return side["sum"] if isinstance(side["sum"], list) else [side["sum"]]


def side_columns(side: dict, by: str | None = None) -> list[str]:
    """Names a measure side reads: summed columns, then the identifiers of its filter, distinct and
    per-unit breakdown (unit_code standing in for the unit_role and unit_name views derive from it).
    Filter identifiers include words like `and`; callers keep those that are table columns."""
    distinct = side.get("distinct") or []
    used = [
        *sum_columns(side),
        *_IDENTIFIER.findall(side.get("where") or ""),
        *(distinct if isinstance(distinct, list) else [distinct]),
        *([by] if by else []),
    ]
    if _DERIVED_FROM_UNIT & set(used):
        used.append("unit_code")
    return list(dict.fromkeys(used))


def cell_columns(side: dict, contract, by: str | None = None) -> list[str]:
    """The raw cells worth showing for a row: the table key, then every column the side reads."""
    names = list(contract.key) if contract else []
    for c in side_columns(side, by):
        if contract and c in contract.columns and c not in names:
            names.append(c)
    return names


def _row_amounts(side: dict, raw: pd.DataFrame, contract, header_units: dict[str, str]) -> pd.Series | None:
    """Each row's contribution re-typed from its raw cells (as measures.py sums clean values), or
    None when a summed column cannot be re-read from raw (then the recomputation says so)."""
    cols = sum_columns(side)
    if not cols:
        return pd.Series(1.0, index=raw.index)
    if contract is None or any(c not in raw.columns or c not in contract.columns for c in cols):
        return None
    typed = [
        convert_column(
            raw[c].astype(object).where(raw[c].notna(), ""), contract.columns[c], header_units.get(c)
        ).astype("Float64")
        for c in cols
    ]
    return pd.concat(typed, axis=1).fillna(0).sum(axis=1).astype(float)


def recompute(spec: IndicatorSpec, trace: IndicatorTrace) -> Recomputation:
    """The value from the traced rows alone, compared with the stored value (or the unit's figure)."""
    m = spec.measure
    kind = m["kind"]
    stored = _none(trace.unit.get("value")) if trace.unit else trace.value
    notes: list[str] = []
    sides: dict[str, float] = {}
    unreadable = [r for r in trace.rows if r.recomputed is None]
    if unreadable:
        notes.append(
            f"{len(unreadable)} row(s) have a summed cell that cannot be re-read from raw, e.g. "
            f"{unreadable[0].file} {unreadable[0].sheet} row {unreadable[0].row}"
        )
    for row in trace.rows:
        if row.recomputed is not None:
            sides[row.role] = sides.get(row.role, 0.0) + row.recomputed
    sides = {k: round(v, 2) for k, v in sides.items()}
    if kind == "ratio":
        num, den = sides.get("numerator", 0.0), sides.get("denominator", 0.0)
        offset = float(m.get("offset", 0))
        value = num / den + offset if den else None
        formula = f"{num:.2f} / {den:.2f}" + (f" {offset:+g}" if offset else "")
        if not den:
            notes.append("denominator is 0: not computable")
    elif kind == "total":
        value = sides.get("value", 0.0)
        formula = " + ".join(sum_columns(m)) or "row count"
        formula = f"sum of {formula} over {len(trace.rows)} rows"
    elif kind == "count":
        value = float(len(trace.rows))
        formula = f"count of {len(trace.rows)} rows"
    else:
        hit = sorted({r.role for r in trace.rows})
        value = float(len(hit))
        formula = f"{len(hit)} of {len(m['rules'])} rules found rows: {', '.join(hit) or 'none'}"
    if stored is None:
        # The stored figure is "not computable" (no rows, zero denominator): the rows must agree.
        matches = value is None if kind == "ratio" else not trace.rows
        notes.append(f"stored value is not computable: {trace.reason or 'see the unit breakdown'}")
        value = None if matches else value
    else:
        matches = value is not None and math.isclose(value, stored, rel_tol=1e-9, abs_tol=1e-9)
    rows_off = [
        r
        for r in trace.rows
        if r.recomputed is not None
        and r.amount is not None
        and not math.isclose(r.recomputed, r.amount, rel_tol=1e-9, abs_tol=1e-6)
    ]
    if rows_off:
        notes.append(
            f"{len(rows_off)} row(s) re-typed from raw differ from the amount stored in evidence, "
            f"e.g. {rows_off[0].file} {rows_off[0].sheet} row {rows_off[0].row}: "
            f"{rows_off[0].recomputed} vs {rows_off[0].amount}"
        )
    ok = matches and not rows_off and not unreadable
    return Recomputation(sides, value, display(value, spec.display), formula, ok, notes)
