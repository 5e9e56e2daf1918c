"""Trace a figure of the form back to its landing rows and recompute it from them.

score → points, rule, deduction reasons, target → value → numerator / denominator → evidence (row
references into the stored rows) → the stored row (file, sheet, row, the raw cells as the file wrote
them) → the landing row now, re-read and re-hashed as the readers hash it. The value is then
recomputed from those rows only: raw cells re-typed with the feeds' conversion (the header's units
as recorded at ingest), summed per role, and combined as the framework's measure says.

A number is accepted in any form the form prints it: '489.93%' or '489.93', '100%' or '100.00%',
'3708.51万' or '3935.02万元' or '3935.02', '25.85万', '65' (编制, from config), '80%' (a target),
'3.93' (a peer-group mean), '81.47' (the total, with the sum of the scores checked)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from perfeval_pipeline.catalog import EVIDENCE, INDICATOR_VALUES, LEVELS, QUALITY, RESULT, SCORES
from perfeval_pipeline.config.errors import did_you_mean
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.contracts import all_tables, table_contract
from perfeval_pipeline.feeds.typing import convert_column
from perfeval_pipeline.formatting import display, percent
from perfeval_pipeline.indicators.framework import (
    BandsRule,
    CountMeasure,
    DeductPerPointRule,
    IndicatorSpec,
    RatioMeasure,
    RuleHitsMeasure,
    Side,
    TargetCompletionMeasure,
    TotalMeasure,
)
from perfeval_pipeline.indicators.measures import VIEW_SOURCES
from perfeval_pipeline.indicators.peers import load_benchmarks
from perfeval_pipeline.indicators.views import completion
from perfeval_pipeline.lineage.sources import LandingFiles, StoredRows, raw_cell, raw_column
from perfeval_pipeline.numbers import parse_printed
from perfeval_pipeline.store import Store

QUOTA = "config.staffing_quota"


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
    cells: dict[str, str] = field(default_factory=dict)  # raw cells used, canonical name → text
    headers: dict[str, str] = field(default_factory=dict)  # canonical name → header in the landing file
    recomputed: float | None = None  # the same, re-typed from the raw cells
    landing_hash: str | None = None  # the landing row's hash now (None: row or file gone)
    changed_cells: list[str] = field(default_factory=list)

    @property
    def hash_ok(self) -> bool:
        return self.table == QUOTA or self.landing_hash == self.row_hash


@dataclass
class Recomputation:
    sides: dict[str, float]
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
    kind: str
    sides: dict[str, str]  # role → what it sums, in words
    money: dict[str, bool]  # role → whether it sums amounts in 元 (printed in 万元 too)
    value: float | None
    display: str
    display_kind: str
    numerator: float | None
    denominator: float | None
    reason: str | None
    unit: dict | None = None  # the by-unit entry traced, when the figure is one unit's
    score: dict | None = None
    rows: list[SourceRow] = field(default_factory=list)
    recomputation: Recomputation | None = None
    offset: float = 0.0  # a ratio's constant term (预决算差异率 = 决算 / 预算 − 1)

    @property
    def hash_mismatches(self) -> list[SourceRow]:
        """Landing rows whose content changed or vanished since ingest, each once."""
        seen: dict[tuple, SourceRow] = {}
        for r in self.rows:
            if r.hash_ok:
                continue
            first = seen.setdefault((r.file, r.sheet, r.row), r)
            if first is not r:  # the same row on another side: it may read other cells
                first.changed_cells = list(dict.fromkeys(first.changed_cells + r.changed_cells))
        return list(seen.values())


@dataclass(frozen=True)
class Match:
    kind: (
        str  # id, figure, unit figure, item figure, score, total, level, target, peer mean, quota,
        # target row, target actual, standard
    )
    indicator_id: str = ""
    unit_key: str | None = None
    label: str = ""


def _none(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def side_of(spec: IndicatorSpec, role: str):
    """The part of a measure that produced evidence rows of `role`."""
    m = spec.measure
    if isinstance(m, RatioMeasure):
        return m.numerator if role == "numerator" else m.denominator
    if isinstance(m, TotalMeasure):
        return m
    if isinstance(m, CountMeasure):
        return Side(table=m.table, where=m.where, distinct=m.distinct, count="rows")
    if isinstance(m, RuleHitsMeasure):
        rule = m.rules[role]
        return Side(table=rule.table, where=rule.where, distinct=rule.distinct, count="rows")
    if isinstance(m, TargetCompletionMeasure):
        return Side(table="evaluation.targets", where=m.where, count="rows")
    raise AssertionError(m)


def roles(spec: IndicatorSpec) -> list[str]:
    m = spec.measure
    if isinstance(m, RatioMeasure):
        return ["numerator", "denominator"]
    if isinstance(m, RuleHitsMeasure):
        return list(m.rules)
    return ["value" if isinstance(m, TotalMeasure) else "item"]


def describe_side(side) -> str:
    if getattr(side, "quota", None):
        return "编制数 staffing quota (assets_config/departments.yaml)"
    cols = side.sum_columns
    what = f"sum of {' + '.join(cols)}" if cols else "count of rows"
    text = f"{what} in {side.table}"
    if side.where:
        text += f" where {side.where}"
    if side.distinct:
        text += f" (distinct {side.distinct})"
    return text


def _item_figures(iid: str, name: str, items: list[dict], money: set[str]) -> list[tuple[str, Match]]:
    """The amounts and counts of an indicator's listed items (a project's budget, a rule's rows), as
    the findings print them: money columns in 万元."""
    out = []
    for item in items:
        for row in item.get("rows") or [item]:
            label = next(
                (v for k, v in row.items() if isinstance(v, str) and v and not k.startswith("_")), ""
            )
            for column, value in row.items():
                if isinstance(value, bool) or not isinstance(value, int | float) or column.startswith("_"):
                    continue
                # Money prints in 万元 with its unit (“项目预算 80.41 万元”), so 80.41万元 resolves as 80.41 does.
                shown = f"{display(value, 'wan')}万元" if column in money else f"{value:g}"
                sheet = f" {row['_source_sheet']}" if row.get("_source_sheet") else ""
                where = (
                    f"（{row['_source_file']}{sheet} 第{row['_source_row']}行）"
                    if row.get("_source_file")
                    else ""
                )
                out.append((shown, Match("item figure", iid, None, f"{name} · {label} · {column}{where}")))
    return out


class PartitionLineage:
    """A computed partition's stored indicators, scores, evidence and result, read once."""

    def __init__(self, settings: Settings, department: str, year: int, store: Store | None = None):
        self.settings = settings
        if department not in settings.departments:
            raise TraceError(
                f"unknown department {department!r}{did_you_mean(department, settings.departments)}; "
                f"known: {', '.join(sorted(settings.departments))}"
            )
        years = settings.department_years(department)
        if year not in years:
            raise TraceError(f"{department} is not evaluated for {year}; its years are {list(years)}")
        self.dept = settings.department(department)
        self.department, self.year = department, year
        self.store = store or Store(settings.store_dir)
        result_path = settings.report_folder(department, year) / RESULT.name
        self.result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else None
        if self.result is not None and self.result["status"] != "evaluated":
            reasons = self.result.get("blocked_reasons") or self.result.get("failure") or []
            raise TraceError(
                f"{department} {year} was not evaluated, so there is nothing to trace: it is {self.result['status']} — "
                + "; ".join(reasons[:3])
            )
        if not self.store.exists(INDICATOR_VALUES, department, year):
            raise TraceError(
                f"{department} {year} has not been evaluated yet: run `perfeval run -d {department} -y {year}`"
            )
        self.framework = settings.frameworks[self.dept.framework]
        self.values = self.store.read(INDICATOR_VALUES, department, year).set_index(
            "indicator_id", drop=False
        )
        scores = self.store.read_optional(SCORES, department, year)
        self.scores = scores.set_index("indicator_id", drop=False) if scores is not None else None
        self.levels = self.store.read_optional(LEVELS, department, year)
        quality = self.store.read_optional(QUALITY, department, year)
        self.headers = (
            {}
            if quality is None
            else {r.table: json.loads(r.headers) for r in quality.itertuples() if r.headers}
        )
        self.header_units = (
            {}
            if quality is None
            else {r.table: json.loads(r.header_units) for r in quality.itertuples() if r.header_units}
        )
        self._landing = LandingFiles(settings)
        self._stored = StoredRows(self.store, department, year)
        self._rows: dict[str, list[SourceRow]] = {}

    # --- resolving what the user typed -------------------------------------------------------------
    def _figures(self) -> list[tuple[str, Match]]:
        """Every figure the form can print, as printed, with what it is."""
        out: list[tuple[str, Match]] = []
        for iid, rec in self.values.iterrows():
            out.append((rec["display"], Match("figure", iid, label=rec["indicator_name"])))
            for unit in json.loads(rec["by_unit"] or "[]"):
                shown = display(_none(unit.get("value")), rec["display_kind"])
                out.append(
                    (
                        shown,
                        Match(
                            "unit figure",
                            iid,
                            str(unit["key"]),
                            f"{rec['indicator_name']} · {unit.get('name')}",
                        ),
                    )
                )
        money = {
            c.name
            for t in all_tables(self.settings.contracts)
            for c in t.columns.values()
            if c.type == "money"
        }
        for iid, rec in self.values.iterrows():
            out += _item_figures(iid, rec["indicator_name"], json.loads(rec["items"] or "[]"), money)
        if self.scores is not None:
            for iid, s in self.scores.iterrows():
                out.append((f"{s['score']:.2f}", Match("score", iid, label=f"{iid} 得分")))
                target = _none(s["target"])
                if target is not None:
                    kind = self.framework.get(iid).display
                    out.append((display(target, kind), Match("target", iid, label=f"{iid} 目标值")))
        if self.levels is not None:
            for _, lvl in self.levels.iterrows():
                kind = "total" if lvl["level"] == 0 else "level"
                out.append((f"{lvl['score']:.2f}", Match(kind, label=str(lvl["name"]))))
        for iid, bench in load_benchmarks(self.store, self.department, self.year).items():
            if bench.mean is not None:
                out.append(
                    (
                        display(bench.mean, self.framework.get(iid).display),
                        Match("peer mean", iid, label=bench.source),
                    )
                )
        quota = self.dept.staffing_quota
        if quota:
            out.append((str(sum(quota.values())), Match("quota", label="核定编制数（合计）")))
            out += [(str(v), Match("quota", label=f"核定编制数：{k}")) for k, v in quota.items()]
        out.append((str(len(self.dept.budget_units)), Match("quota", label="预算单位数（departments.yaml）")))
        out.append(
            (str(len(self.dept.budget_units) - 1), Match("quota", label="下属单位数（departments.yaml）"))
        )
        targets = self._stored.table("evaluation.targets")
        if targets is not None:
            for _, row in targets.iterrows():
                at, name, unit = str(int(row["_row"])), str(row.get("name")), raw_cell(row, "unit")
                # As the row writes them, and with its 计量单位 as the findings quote them (目标95%、实际93.37%).
                for kind, column in (("target row", "value"), ("target actual", "actual")):
                    cell = raw_cell(row, column)
                    if not cell:
                        continue
                    match = Match(kind, "evaluation.targets", at, name)
                    out.append((cell, match))
                    if unit and not cell.endswith(unit):
                        out.append((f"{cell}{unit}", match))
        # Parameters of the scoring rules the reasons print (高于标准0%, 超过10%): config, not data.
        for spec in self.framework.indicators:
            rule, label = spec.rule, f"{spec.name} 评分标准"
            if isinstance(rule, DeductPerPointRule):
                out.append((percent(rule.standard), Match("standard", spec.id, label=label)))
            elif isinstance(rule, BandsRule):
                for band in rule.bands:
                    if band.max is not None:
                        for shown in {percent(band.max), display(band.max, spec.display)}:
                            out.append((shown, Match("standard", spec.id, label=label)))
        return out

    def resolve(self, text: str) -> list[Match]:
        """The figures printed as `text` ('100%' = '100.00%'; '489.93' also as a percentage;
        '3708.51' also as 万元)."""
        if text in self.values.index:
            return [Match("id", text)]
        wanted = parse_printed(text)
        if wanted is None:  # a word the form prints (是/否): the figures printed exactly so
            return list(dict.fromkeys(m for shown, m in self._figures() if shown == text.strip()))
        number, unit = wanted
        accept = [(number, unit)]
        if unit == "":
            accept += [(number / 100.0, "%"), (number * 1e4, "万元")]
        if unit in ("万", "万元"):
            accept += [(number, "万元"), (number, "万")]
        out: list[Match] = []
        for shown, match in self._figures():
            got = parse_printed(shown) if shown else None
            if got is None:
                continue
            value, kind = got
            if (
                kind == ""
                and match.kind in ("figure", "unit figure")
                and self._kind(match.indicator_id) == "wan"
            ):
                value, kind = value * 1e4, "万元"
            for n, u in accept:
                same_unit = (
                    u == kind
                    or (u in ("万", "万元") and kind in ("万", "万元"))
                    or (u == "" and kind in ("件", "项", "家", "个", "名", "人"))
                )
                if same_unit and math.isclose(n, value, rel_tol=1e-9, abs_tol=1e-9) and match not in out:
                    out.append(match)
        return out

    def _sums_money(self, side) -> bool:
        if getattr(side, "quota", None) or not side.sum_columns:
            return False
        contract = table_contract(self.settings.contracts, VIEW_SOURCES.get(side.table, side.table))
        return all(contract.columns[c].type == "money" for c in side.sum_columns if c in contract.columns)

    def _kind(self, indicator_id: str) -> str:
        return str(self.values.loc[indicator_id, "display_kind"]) if indicator_id in self.values.index else ""

    # --- the total ---------------------------------------------------------------------------------
    def total(self) -> dict:
        """Total score and grade with every scored indicator's value and score, and the sum checked."""
        if self.scores is None or self.levels is None:
            raise TraceError(
                f"no scores stored for {self.department} {self.year}: run `perfeval run -d {self.department} -y {self.year}`"
            )
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
        summed = round(sum(i["score"] for i in indicators), self.settings.grades.score_decimals)
        levels = self.levels[self.levels["level"] == 1]
        return {
            "department": self.department,
            "name": self.dept.name,
            "year": self.year,
            "total": float(total["score"]),
            "sum_of_scores": summed,
            "sum_matches": math.isclose(summed, float(total["score"]), abs_tol=1e-9),
            "max_points": float(total["points"]),
            "grade": str(total["grade"]),
            "grade_band": next(
                f"{b.grade} ≥ {b.min:g}" for b in self.settings.grades.bands if b.grade == str(total["grade"])
            ),
            "levels": [
                {"name": r["name"], "score": float(r["score"]), "points": float(r["points"])}
                for _, r in levels.iterrows()
            ],
            "indicators": indicators,
        }

    # --- one indicator -----------------------------------------------------------------------------
    def trace(self, indicator_id: str, unit_key: str | None = None) -> IndicatorTrace:
        if indicator_id not in self.values.index:
            raise TraceError(
                f"no indicator {indicator_id!r} for {self.department} {self.year}{did_you_mean(indicator_id, self.values.index)}; "
                f"`perfeval trace {self.department} {self.year}` lists them"
            )
        spec = self.framework.get(indicator_id)
        rec = self.values.loc[indicator_id]
        trace = IndicatorTrace(
            department=self.department,
            year=self.year,
            id=indicator_id,
            name=rec["indicator_name"],
            level1=rec["level1"],
            level2=rec["level2"],
            scored=spec.scored,
            kind=spec.measure.kind,
            sides={role: describe_side(side_of(spec, role)) for role in roles(spec)},
            money={role: self._sums_money(side_of(spec, role)) for role in roles(spec)},
            value=_none(rec["value"]),
            display=rec["display"],
            display_kind=rec["display_kind"],
            numerator=_none(rec["numerator"]),
            denominator=_none(rec["denominator"]),
            reason=_none(rec["reason"]),
            offset=getattr(spec.measure, "offset", 0.0) or 0.0,
        )
        if self.scores is not None and indicator_id in self.scores.index:
            s = self.scores.loc[indicator_id]
            trace.score = {
                "points": float(s["points"]),
                "score": float(s["score"]),
                "deduction": float(s["deduction"]),
                "rule": s["rule_text"],
                "rule_kind": s["rule"],
                "reasons": json.loads(s["reasons"]),
                "target": _none(s["target"]),
                "target_source": _none(s["target_source"]),
                "workpaper_refs": json.loads(s["workpaper_refs"]),
            }
        if indicator_id not in self._rows:
            self._rows[indicator_id] = self._source_rows(spec)
        trace.rows = self._rows[indicator_id]
        if unit_key is not None:
            trace.unit = next((u for u in json.loads(rec["by_unit"]) if str(u["key"]) == unit_key), None)
            if trace.unit is None:
                raise TraceError(f"{indicator_id} has no per-unit figure for {unit_key!r}")
            trace.unit["display"] = display(_none(trace.unit.get("value")), spec.display)
            by = spec.measure.by
            trace.rows = [r for r in trace.rows if r.cells.get(by, "").strip() == unit_key]
        trace.recomputation = recompute(spec, trace)
        return trace

    def _evidence(self, indicator_id: str) -> pd.DataFrame:
        path = self.store.path(EVIDENCE, self.department, self.year)
        if not path.exists():
            raise TraceError(f"no evidence stored for {self.department} {self.year}: run the pipeline first")
        # DuckDB picks one indicator's rows out of a million-row evidence file without loading it.
        with duckdb.connect(":memory:") as con:
            return con.execute(
                "SELECT * FROM read_parquet(?, hive_partitioning = false) WHERE indicator_id = ? ORDER BY role, source_table, _row",
                [path.as_posix(), indicator_id],
            ).df()

    def _source_rows(self, spec: IndicatorSpec) -> list[SourceRow]:
        evidence = self._evidence(spec.id)
        out: list[SourceRow] = []
        for (role, table), group in evidence.groupby(["role", "source_table"], sort=False):
            side = side_of(spec, role)
            if table == QUOTA:
                quota = list(self.dept.staffing_quota.items())
                for ordinal, amount in zip(group["_row"].astype(int), group["amount"], strict=True):
                    name, value = quota[ordinal]
                    out.append(
                        SourceRow(
                            role,
                            table,
                            "assets_config/departments.yaml",
                            self.department,
                            ordinal,
                            name,
                            float(amount),
                            {name: str(value)},
                            recomputed=float(value),
                        )
                    )
                continue
            stored = self._stored.lookup(table, group["_row"].astype(int).tolist())
            contract = table_contract(self.settings.contracts, table)
            columns = _cell_columns(side, contract, getattr(spec.measure, "by", None))
            headers = self.headers.get(table, {})
            amounts = _row_amounts(side, stored, contract, self.header_units.get(table, {}))
            if isinstance(spec.measure, TargetCompletionMeasure):
                amounts = [_completion(stored.iloc[i]) or 0.0 for i in range(len(stored))]
            # Column lists, not a pandas row per source row: a trace may list 25万 rows.
            files = raw_column(stored, "_source_file")
            sheets = raw_column(stored, "_source_sheet")
            numbers = (
                pd.to_numeric(stored["_source_row"]).fillna(0).astype(int).tolist()
                if "_source_row" in stored
                else [0] * len(stored)
            )
            hashes = raw_column(stored, "_row_hash")
            cells = {c: raw_column(stored, c) for c in columns}
            shown_headers = {c: headers[c] for c in columns if c in headers}
            for i, amount in enumerate(group["amount"]):
                file, number = files[i], numbers[i]
                source = SourceRow(
                    role,
                    table,
                    file,
                    sheets[i],
                    number,
                    hashes[i],
                    float(amount),
                    cells={c: cells[c][i] for c in columns},
                    headers=dict(shown_headers),
                    recomputed=None if amounts is None else amounts[i],
                )
                now = self._landing.row_hashes(file, table).get(number) if file else None
                source.landing_hash = now
                if now is not None and now != source.row_hash:
                    cells_now = self._landing.row_cells(file, table, number) or {}
                    source.changed_cells = [
                        f"{source.headers.get(c, c)}: {source.cells[c]!r} → {cells_now.get(c, '')!r}"
                        for c in source.cells
                        if c in cells_now and cells_now[c] != source.cells[c]
                    ]
                out.append(source)
        return out

    def workpaper_rows(self, code: str) -> list[SourceRow]:
        """The stored workpaper rows with this finding code, as source rows (their hashes checked)."""
        table = "evaluation.workpaper"
        frame = self._stored.table(table)
        if frame is None or frame.empty:
            return []
        frame = (
            frame[frame["finding_code"].astype(str) == code] if "finding_code" in frame else frame.iloc[0:0]
        )
        headers = self.headers.get(table, {})
        columns = ["record_id", "indicator_id", "deduction", "finding_code", "finding"]
        out = []
        for _, row in frame.iterrows():
            file = str(row.get("_source_file") or "")
            number = int(row["_source_row"]) if pd.notna(row.get("_source_row")) else 0
            deduction = pd.to_numeric(pd.Series([raw_cell(row, "deduction")]), errors="coerce").iloc[0]
            source = SourceRow(
                "workpaper",
                table,
                file,
                str(row.get("_source_sheet") or ""),
                number,
                str(row.get("_row_hash") or ""),
                None if pd.isna(deduction) else float(deduction),
                cells={c: raw_cell(row, c) for c in columns if c in row.index},
                headers={c: headers[c] for c in columns if c in headers},
            )
            source.landing_hash = self._landing.row_hashes(file, table).get(number) if file else None
            out.append(source)
        return out


def _cell_columns(side, contract, by: str | None) -> list[str]:
    """The raw cells worth showing for a row: the table key, then every column the side reads."""
    from perfeval_pipeline.indicators.framework import sql_columns

    names = list(contract.key)
    used = [
        *side.sum_columns,
        *(sql_columns(side.where) if side.where else []),
        *([side.distinct] if side.distinct else []),
        *([by] if by else []),
    ]
    if {"unit_role", "unit_name"} & set(used):
        used.append("unit_code")
    for c in used:
        if c in contract.columns and c not in names:
            names.append(c)
    return names


def _row_amounts(
    side, stored: pd.DataFrame, contract, header_units: dict[str, str]
) -> list[float | None] | None:
    """Each row's contribution re-typed from its raw cells (as the measures summed clean values)."""
    cols = side.sum_columns
    if not cols:
        return [1.0] * len(stored)
    if any(c not in contract.columns for c in cols):
        return None
    typed = [
        convert_column(
            pd.Series(raw_column(stored, c), dtype=object),
            contract.columns[c],
            header_units.get(c),
        )
        .astype("Float64")
        .fillna(0)
        for c in cols
    ]
    total = typed[0]
    for t in typed[1:]:
        total = total + t  # column by column, as the measures summed them
    return [float(v) for v in total.tolist()]


def _completion(row: pd.Series) -> float | None:
    _, _, share, _, _ = completion(
        raw_cell(row, "value") or None,
        raw_cell(row, "actual") or None,
        raw_cell(row, "comparator") or None,
        raw_cell(row, "unit") or None,
    )
    return share


def recompute(spec: IndicatorSpec, trace: IndicatorTrace) -> Recomputation:
    """The value from the traced rows alone, compared with the stored value (or the unit's figure)."""
    m = spec.measure
    stored = _none(trace.unit.get("value")) if trace.unit else trace.value
    notes: list[str] = []
    sides: dict[str, float] = {}
    unreadable = [r for r in trace.rows if r.recomputed is None]
    if unreadable:
        notes.append(
            f"{len(unreadable)} row(s) have a summed cell that cannot be re-read, e.g. {unreadable[0].file} {unreadable[0].sheet} row {unreadable[0].row}"
        )
    for row in trace.rows:
        sides[row.role] = sides.get(row.role, 0.0) + (row.recomputed or 0.0)
    sides = {k: round(v, 2) if not isinstance(m, TargetCompletionMeasure) else v for k, v in sides.items()}
    if isinstance(m, RatioMeasure):
        num, den = sides.get("numerator", 0.0), sides.get("denominator", 0.0)
        value = num / den + m.offset if den else None
        formula = f"{num:,.2f} / {den:,.2f}" + (f" {m.offset:+g}" if m.offset else "")
    elif isinstance(m, TotalMeasure):
        value = sides.get("value", 0.0)
        formula = f"sum of {' + '.join(m.sum_columns) or 'rows'} over {len(trace.rows)} rows"
    elif isinstance(m, CountMeasure):
        value = float(len(trace.rows))
        formula = f"count of {len(trace.rows)} rows"
    elif isinstance(m, TargetCompletionMeasure):
        value = sides.get("item", 0.0) / len(trace.rows) if trace.rows else None
        formula = f"mean completion of {len(trace.rows)} target rows"
    else:
        hit = sorted({r.role for r in trace.rows})
        value = float(len(hit))
        formula = f"{len(hit)} of {len(m.rules)} rules found rows: {', '.join(hit) or 'none'}"
    if stored is None:
        matches = value is None or not trace.rows
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
            f"{len(rows_off)} row(s) re-typed from raw differ from the amount stored in evidence, e.g. {rows_off[0].file} "
            f"{rows_off[0].sheet} row {rows_off[0].row}: {rows_off[0].recomputed} vs {rows_off[0].amount}"
        )
    ok = matches and not rows_off and not unreadable
    return Recomputation(sides, value, display(value, spec.display), formula, ok, notes)


# --- the 整改 follow-up: one of last year's problems, both years ---------------------------------
FOLLOW_UP = "rectification"


def is_follow_up_query(what: str | None) -> bool:
    """`rectification`, `rectification:<finding id>`, or a finding id no indicator id can be
    (`asset_safety:no_label`, `procurement_overrun_rate@JDZ002`, `wp:illegal_expense`)."""
    if not what:
        return False
    return what == FOLLOW_UP or what.startswith(f"{FOLLOW_UP}:") or "@" in what or ":" in what


@dataclass
class FollowUpYear:
    """One year of a followed-up finding: its figure and deduction as the follow-up stored them, the
    same read again from that year's stored indicators, and the rows behind them."""

    year: int
    figure: float | None  # as the follow-up row stores it
    display: str | None
    deduction: float | None
    item: str | None  # the 存在问题 item that listed it that year
    stored_figure: float | None = None  # that year's stored indicator value (unit value, rule count)
    stored_deduction: float | None = None
    trace: IndicatorTrace | None = None  # the indicator's (or unit's) trace
    rows: list[SourceRow] = field(default_factory=list)  # the rows of the finding itself
    note: str | None = None  # why the year cannot be traced

    @property
    def consistent(self) -> bool:
        """The follow-up's figure and deduction are that year's stored ones."""
        if self.note:
            return False
        same = (self.figure is None and self.stored_figure is None) or (
            self.figure is not None
            and self.stored_figure is not None
            and math.isclose(self.figure, self.stored_figure, rel_tol=1e-9, abs_tol=1e-9)
        )
        ded = (self.deduction is None and self.stored_deduction is None) or (
            self.deduction is not None
            and self.stored_deduction is not None
            and math.isclose(self.deduction, self.stored_deduction, abs_tol=1e-6)
        )
        return same and ded


@dataclass
class FollowUpTrace:
    department: str
    year: int
    finding_id: str
    kind: str  # indicator | rule | unit | workpaper
    indicator_id: str | None
    indicator_name: str
    status: str
    status_text: str
    basis: str
    previous: FollowUpYear
    current: FollowUpYear

    @property
    def ok(self) -> bool:
        years = (self.previous, self.current)
        traced = all(
            y.trace is None or (y.trace.recomputation.matches and not y.trace.hash_mismatches) for y in years
        )
        rows = all(r.hash_ok for y in years for r in y.rows)
        return traced and rows and all(y.consistent for y in years)


def _row_value(row: dict, key: str):
    value = row.get(key)
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _finding_side(lineage: PartitionLineage | None, note: str | None, row: dict, which: str, year: int):
    from perfeval_pipeline.findings.rectification import parse_finding

    side = FollowUpYear(
        year,
        _row_value(row, f"{which}_value"),
        _row_value(row, f"{which}_display"),
        _row_value(row, f"{which}_deduction"),
        _row_value(row, f"{which}_item"),
        note=note,
    )
    if lineage is None:
        return side
    finding = parse_finding(row["finding_id"], {"cites": [row["indicator_id"]]})
    iid = finding.indicator_id
    if iid not in lineage.values.index:
        side.note = f"{year}: no indicator {iid!r} stored"
        return side
    rec = lineage.values.loc[iid]
    score = lineage.scores.loc[iid] if lineage.scores is not None and iid in lineage.scores.index else None
    if score is not None and finding.kind != "workpaper":
        wp = float(score["workpaper_deduction"] or 0.0)
        side.stored_deduction = round(float(score["deduction"]) - wp, 6)
    if finding.kind == "workpaper":
        side.rows = lineage.workpaper_rows(finding.id.removeprefix("wp:"))
        return side
    if finding.kind == "rule":
        items = json.loads(rec["items"] or "[]")
        side.stored_figure = float(
            next((it.get("count") for it in items if it.get("rule") == finding.rule), 0) or 0
        )
        side.trace = lineage.trace(iid)
        side.rows = [r for r in side.trace.rows if r.role == finding.rule]
        return side
    if finding.kind == "unit":
        units = {str(u["key"]): u for u in json.loads(rec["by_unit"] or "[]")}
        if finding.unit in units:
            side.stored_figure = _none(units[finding.unit].get("value"))
            side.trace = lineage.trace(iid, finding.unit)
        else:
            side.trace = lineage.trace(iid)
        side.rows = side.trace.rows
        return side
    side.stored_figure = _none(rec["value"])
    side.trace = lineage.trace(iid)
    side.rows = side.trace.rows
    return side


def follow_up_traces(
    settings: Settings, department: str, year: int, what: str
) -> tuple[dict, list[FollowUpTrace]]:
    """The partition's follow-up (result.json `rectification`) and, for `what` (`rectification`:
    every finding; else one finding id), each finding with both years' figures, deductions and
    rows, read again from each year's store."""
    lineage = PartitionLineage(settings, department, year)
    follow = (lineage.result or {}).get("rectification")
    if not follow:
        raise TraceError(
            f"{department} {year} has no 整改 follow-up: run `perfeval run -d {department} -y {year}`"
        )
    if not follow.get("available"):
        raise TraceError(
            f"{department} {year} has no 整改 follow-up of {follow.get('previous_year')}: {follow.get('reason')}"
        )
    rows = follow["problems"]
    wanted = what.removeprefix(f"{FOLLOW_UP}:") if what != FOLLOW_UP else None
    if wanted is not None:
        rows = [r for r in rows if r["finding_id"] == wanted]
        if not rows:
            ids = [r["finding_id"] for r in follow["problems"]]
            raise TraceError(
                f"no finding {wanted!r} in the 整改 follow-up of {department} {year}"
                f"{did_you_mean(wanted, ids)}; `perfeval trace {department} {year} rectification` lists them"
            )
    prev_year = int(follow["previous_year"])
    try:
        previous, note = PartitionLineage(settings, department, prev_year, lineage.store), None
    except TraceError as exc:
        previous, note = None, str(exc)
    out = []
    for row in rows:
        out.append(
            FollowUpTrace(
                department,
                year,
                row["finding_id"],
                row.get("finding_kind") or "",
                row["indicator_id"],
                row["indicator_name"],
                row["status"],
                row["status_text"],
                row.get("basis") or "",
                _finding_side(previous, note, row, "previous", prev_year),
                _finding_side(lineage, None, row, "current", year),
            )
        )
    return follow, out
