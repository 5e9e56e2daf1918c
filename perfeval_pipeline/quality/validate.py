"""Validate a chunk of partitions at once: every row of every table ends up kept or quarantined
(with its reasons), or reported by the reader; identity columns that contradict the partition's
folder, and files the readers refused, fail the feed structurally; and the gate decides, per
partition, usable or blocked.

Row accounting, per table: rows in the file = kept + quarantined + reported."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.costs import step
from perfeval_pipeline.feeds.contracts import TableContract
from perfeval_pipeline.feeds.files import LandingFile, StructuralIssue, safe_text
from perfeval_pipeline.feeds.readers import SOURCE_COLUMNS, FeedRead, RawTable, text_series
from perfeval_pipeline.feeds.typing import PARSE_ERRORS, TOTAL_ROW, type_table
from perfeval_pipeline.numbers import text_array
from perfeval_pipeline.quality.suites import (
    INDICATOR_KEY,
    PARTITION,
    UNIT_KEY,
    ChunkContext,
    contract_checks,
    run_checks,
)

STATUS, REASON = "_status", "_reason"
KEPT, QUARANTINED = "kept", "quarantined"
SAMPLE_SIZE = 5
RAW_PREFIX = "_raw_"
HELPERS = (PARTITION, UNIT_KEY, INDICATOR_KEY, TOTAL_ROW, PARSE_ERRORS)


def source_ref(file: str, sheet: str | None, row: int) -> str:
    """'2023/jdz-zwsjj/hotline.csv row 12', with ' sheet 预算决算表' after the file for workbooks."""
    return f"{file} sheet {sheet} row {row}" if sheet else f"{file} row {row}"


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    columns: tuple[str, ...]
    reason: str
    success: bool
    unexpected_count: int  # rows GX flagged (for uniqueness: every row of a duplicate group)
    rows_quarantined: int  # rows this check sent to quarantine (for uniqueness: the repeats)
    samples: tuple[str, ...] = ()  # source refs of the first quarantined rows
    details: tuple[tuple[str, int], ...] = ()  # for unreadable cells: (which column and why, rows)

    def to_dict(self) -> dict:
        return {
            "expectation": self.expectation,
            "columns": list(self.columns),
            "reason": self.reason,
            "unexpected_count": self.unexpected_count,
            "rows_quarantined": self.rows_quarantined,
            "samples": list(self.samples),
            "details": [{"detail": d, "rows": n} for d, n in self.details],
        }


@dataclass
class TableQuality:
    table: str  # qualified name, e.g. financial.budget_lines
    contract: TableContract
    rows: pd.DataFrame  # every row read: typed columns, raw text of non-text columns, _status, _reason
    outcomes: list[ExpectationOutcome]
    issues: list[StructuralIssue] = field(default_factory=list)
    present: bool = True
    reported: list[tuple[int, str]] = field(default_factory=list)  # (row, why) rows the reader could not take
    unmapped_headers: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # canonical → header text in the file
    header_units: dict[str, str] = field(default_factory=dict)
    source_file: str = ""
    source_sheet: str = ""
    header_row: int = 0

    @property
    def clean(self) -> pd.DataFrame:
        return self.rows.loc[self.rows[STATUS] == KEPT]

    @property
    def quarantine(self) -> pd.DataFrame:
        return self.rows.loc[self.rows[STATUS] == QUARANTINED]

    @property
    def rows_read(self) -> int:
        return len(self.rows) + len(self.reported)

    @property
    def rows_kept(self) -> int:
        return int((self.rows[STATUS] == KEPT).sum())

    @property
    def rows_quarantined(self) -> int:
        return int((self.rows[STATUS] == QUARANTINED).sum())

    @property
    def rows_reported(self) -> int:
        return len(self.reported)

    def dominant_reason(self) -> str | None:
        reasons = Counter(r for text in self.quarantine[REASON].dropna() for r in str(text).split("; "))
        reasons.update(why for _, why in self.reported)
        if not reasons:
            return None
        reason, n = reasons.most_common(1)[0]
        return f"{reason} ({n} rows)"

    def summary(self) -> dict:
        return {
            "table": self.table,
            "present": self.present,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_quarantined": self.rows_quarantined,
            "rows_reported": self.rows_reported,
            "failed_expectations": [o.to_dict() for o in self.outcomes if not o.success],
            "reported_rows": [
                {"row": n, "why": why, "ref": source_ref(self.source_file, self.source_sheet, n)}
                for n, why in self.reported[:SAMPLE_SIZE]
            ],
            "structural_issues": [str(i) for i in self.issues],
            "unmapped_headers": list(self.unmapped_headers),
        }


@dataclass
class FeedQuality:
    feed: str
    tables: dict[str, TableQuality]  # every table of the contract, by name within the feed
    feed_issues: list[StructuralIssue]
    files: list[LandingFile]
    hidden_sheets: list[str] = field(default_factory=list)
    ignored_sheets: list[str] = field(default_factory=list)

    @property
    def issues(self) -> list[StructuralIssue]:
        return [*self.feed_issues, *(i for t in self.tables.values() for i in t.issues)]

    @property
    def passed(self) -> bool:
        return not self.issues

    def summary(self) -> dict:
        tables = self.tables.values()
        return {
            "feed": self.feed,
            "passed": self.passed,
            "files": [{"path": f.rel, "sha256": f.sha256, "bytes": f.size} for f in self.files],
            "rows_read": sum(t.rows_read for t in tables),
            "rows_kept": sum(t.rows_kept for t in tables),
            "rows_quarantined": sum(t.rows_quarantined for t in tables),
            "rows_reported": sum(t.rows_reported for t in tables),
            "structural_issues": [str(i) for i in self.issues],
            "hidden_sheets_ignored": list(self.hidden_sheets),
            "sheets_ignored": list(self.ignored_sheets),
            "tables": {t.table: t.summary() for t in tables},
        }


@dataclass
class PartitionQuality:
    department: str
    year: int
    feeds: dict[str, FeedQuality]
    blocked_reasons: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return not self.blocked_reasons

    def table(self, qualified: str) -> TableQuality:
        feed, _, name = qualified.partition(".")
        return self.feeds[feed].tables[name]

    def clean_tables(self) -> dict[str, pd.DataFrame]:
        return {t.table: t.clean for f in self.feeds.values() for t in f.tables.values()}

    def summary(self) -> dict:
        return {
            "usable": self.usable,
            "blocked_reasons": list(self.blocked_reasons),
            "ignored_files": list(self.ignored_files),
            "feeds": {name: f.summary() for name, f in self.feeds.items()},
        }


# --- typing and helper columns -----------------------------------------------------------------


def empty_raw_table(contract: TableContract) -> RawTable:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in contract.columns})
    for c in SOURCE_COLUMNS:
        frame[c] = pd.Series(dtype="int64" if c == "_source_row" else object)
    return RawTable(contract, frame, None, "")


def _typed(raw: RawTable, settings: Settings, department: str, partition: str) -> pd.DataFrame:
    contract = raw.contract
    frame = type_table(
        raw,
        total_labels=settings.pipeline.quality.total_row_labels,
        max_cell_chars=settings.pipeline.limits.max_cell_chars,
        timezone=settings.pipeline.timezone,
    )
    frame[PARTITION] = partition
    for name, col in contract.columns.items():
        if col.identity == "unit":
            frame[UNIT_KEY] = (department + "/" + frame[name]).astype("string")
        if col.plausible is not None:
            values = frame[name].astype("Float64").abs()
            frame[f"_magnitude_{name}"] = values.where(values != 0)
    if contract.qualified_name == "evaluation.workpaper" and "indicator_id" in frame:
        frame[INDICATOR_KEY] = (department + "/" + frame["indicator_id"]).astype("string")
    # Raw text of non-text columns, so lineage can show a cell as the file wrote it; and of the
    # identity columns, whose typed values the store keeps in its path (department=/year=), not rows.
    for name, col in contract.columns.items():
        if col.type != "string" or col.identity in ("department", "year"):
            text = (
                pc.fill_null(text_array(raw.frame[name]), "")
                if name in raw.frame.columns
                else pa.array([""] * len(raw.frame))
            )
            frame[RAW_PREFIX + name] = text_series(text)
    return frame


def _identity_issues(
    frame: pd.DataFrame, contract: TableContract, department: str, year: int
) -> list[StructuralIssue]:
    """A department/year column naming another partition: the file was dropped in the wrong folder."""
    issues = []
    for col in contract.columns.values():
        if col.identity not in ("department", "year"):
            continue
        expected = department if col.identity == "department" else str(year)
        text = frame[col.name].astype("string").str.strip()
        wrong = frame[col.name].notna() & (text != expected)
        for value, group in frame.loc[wrong].groupby(text[wrong], sort=False):
            first = group.iloc[0]
            more = f" (and {len(group) - 1} more rows)" if len(group) > 1 else ""
            issues.append(
                StructuralIssue(
                    first["_source_file"],
                    f"{col.header} says {safe_text(value, 30)}, the folder is {expected}{more}: "
                    "the file belongs to another department or year",
                    sheet=first["_source_sheet"] or None,
                    row=int(first["_source_row"]),
                    column=col.name,
                    code="wrong_folder",
                )
            )
    return issues


# --- validation --------------------------------------------------------------------------------


def gx_frame(frame: pd.DataFrame, columns: set[str]) -> pd.DataFrame:
    """The columns the suite reads, in NumPy dtypes: Great Expectations compares nullable (Float64,
    Int64) and microsecond datetime columns one value at a time in Python, NumPy ones vectorised."""
    out = {}
    for name in columns:
        col = frame[name]
        if isinstance(col.dtype, pd.Float64Dtype | pd.Int64Dtype):
            out[name] = col.astype("float64")
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.astype("datetime64[ns]")
        elif isinstance(col.dtype, pd.StringDtype):
            # Categorical: null, set and uniqueness checks work on integer codes, not on strings.
            out[name] = col.astype("category")
        else:
            out[name] = col
    return pd.DataFrame(out, index=frame.index)


def _apply(frame: pd.DataFrame, contract: TableContract, ctx: ChunkContext) -> tuple[pd.Series, list]:
    """Run the suite on the chunk's frame; per row the quarantine reasons, per check its outcome
    (GX's unexpected_index_list as positions in `frame`)."""
    reasons = pd.Series("", index=frame.index, dtype=object)
    checks = contract_checks(contract, ctx)
    needed = {
        c
        for check in checks
        for k, v in check.kwargs.items()
        if k in ("column", "column_A", "column_B")
        for c in [v]
    }
    needed |= {c for check in checks for c in check.kwargs.get("column_list", [])}
    results = run_checks(
        gx_frame(frame, needed & set(frame.columns)), checks, f"{contract.qualified_name}@{ctx.year}"
    )
    per_check = []
    for check, success, result in results:
        rows = pd.Index(sorted(result.get("unexpected_index_list") or []), dtype="int64")
        if check.keep_first and len(rows):
            # GX flags every copy of a repeated key: the first in file order stays (unless another
            # check fails it); later copies go, so kept keys are unique per partition.
            cols = [PARTITION, *check.columns]
            rows = rows[frame.loc[rows, cols].duplicated(keep="first").to_numpy()]
        if len(rows):
            text = pd.Series("; " + check.reason, index=rows, dtype=object)
            if check.detail_column:
                text = text + ": " + frame.loc[rows, check.detail_column].astype(str)
            reasons.loc[rows] = reasons.loc[rows] + text
        per_check.append((check, success, int(result.get("unexpected_count") or 0), rows))
    return reasons, per_check


def validate_chunk(
    reads: dict[tuple[str, int], dict[str, FeedRead]],
    settings: Settings,
    year: int,
) -> dict[tuple[str, int], dict[str, FeedQuality]]:
    """Type and validate the feeds of several partitions of one year: one GX call per contract table
    for the whole chunk. Tables absent from the landing files are validated as empty frames so that
    every contract table has a result. The feeds validated are those in `reads` (a peer benchmark
    reads only the feeds it needs)."""
    partitions = list(reads)
    ctx = ChunkContext(
        year=year,
        unit_keys=frozenset(f"{d}/{u}" for d, _ in partitions for u in settings.department(d).unit_codes),
        indicator_keys=frozenset(
            f"{d}/{s.id}" for d, _ in partitions for s in settings.framework_of(d).indicators
        ),
    )
    out: dict[tuple[str, int], dict[str, FeedQuality]] = {p: {} for p in partitions}
    feeds = {f for r in reads.values() for f in r}
    for feed, contract in settings.contracts.items():
        if feed not in feeds:
            continue
        for tname, tcontract in contract.tables.items():
            frames, raws = [], {}
            for p in partitions:
                raw = reads[p][feed].tables.get(tname) if feed in reads[p] else None
                raws[p] = raw
                with step("typing"):
                    frames.append(_typed(raw or empty_raw_table(tcontract), settings, p[0], f"{p[0]}|{p[1]}"))
            frame = pd.concat(frames, ignore_index=True)
            if len(frame):
                with step("great_expectations"):
                    reasons, per_check = _apply(frame, tcontract, ctx)
            else:  # no rows in the whole chunk: every row-level expectation holds, nothing to run
                reasons, per_check = pd.Series([], dtype=object), []
            offsets = np.cumsum([0] + [len(f) for f in frames])
            for i, p in enumerate(partitions):
                lo, hi = offsets[i], offsets[i + 1]
                part = frame.iloc[lo:hi].drop(
                    columns=[c for c in HELPERS if c in frame.columns and c != PARSE_ERRORS]
                )
                part = part.drop(columns=[c for c in part.columns if c.startswith("_magnitude_")])
                bad = reasons.iloc[lo:hi].to_numpy() != ""
                part = part.reset_index(drop=True)
                part[STATUS] = pd.array(np.where(bad, QUARANTINED, KEPT), dtype="string")
                part[REASON] = pd.array(
                    [r.removeprefix("; ") if r else None for r in reasons.iloc[lo:hi]], dtype="string"
                )
                outcomes = []
                for check, success, _count, rows in per_check:
                    mine = rows[(rows >= lo) & (rows < hi)]
                    flagged = len(mine)
                    samples, details = (), ()
                    if flagged:
                        refs = frame.loc[mine[:SAMPLE_SIZE], ["_source_file", "_source_sheet", "_source_row"]]
                        samples = tuple(
                            source_ref(f, sh, int(r)) for f, sh, r in refs.itertuples(index=False, name=None)
                        )
                        if check.detail_column:
                            found = Counter(
                                d
                                for text in frame.loc[mine, check.detail_column].dropna()
                                for d in str(text).split("；")
                            )
                            details = tuple(sorted(found.items(), key=lambda kv: -kv[1]))
                    outcomes.append(
                        ExpectationOutcome(
                            check.expectation,
                            check.columns,
                            check.reason,
                            flagged == 0 or success,
                            flagged,
                            flagged,
                            samples,
                            details,
                        )
                    )
                raw = raws[p]
                read = reads[p].get(feed)
                issues = []
                if raw is not None:
                    issues = [
                        i
                        for i in (read.issues if read else [])
                        if i.column and (i.file, i.sheet or "") == (raw.source_file, raw.sheet or "")
                    ]
                    issues += _identity_issues(part, tcontract, p[0], p[1])
                tq = TableQuality(
                    table=tcontract.qualified_name,
                    contract=tcontract,
                    rows=part,
                    outcomes=outcomes,
                    issues=issues,
                    present=raw is not None,
                    reported=list(raw.reported) if raw else [],
                    unmapped_headers=list(raw.unmapped_headers) if raw else [],
                    headers=dict(raw.header.headers) if raw and raw.header else {},
                    header_units=dict(raw.header_units) if raw else {},
                    source_file=raw.source_file if raw else "",
                    source_sheet=raw.sheet if raw else "",
                    header_row=raw.header.row if raw and raw.header else 0,
                )
                feed_quality = out[p].get(feed)
                if feed_quality is None:
                    feed_quality = out[p][feed] = FeedQuality(
                        feed,
                        {},
                        [],
                        list(read.files) if read else [],
                        list(read.hidden_sheets) if read else [],
                        list(read.ignored_sheets) if read else [],
                    )
                feed_quality.tables[tname] = tq
    for p in partitions:
        for feed, fq in out[p].items():
            read = reads[p].get(feed)
            claimed = {i for t in fq.tables.values() for i in t.issues}
            fq.feed_issues = [i for i in (read.issues if read else []) if i not in claimed]
    return out


def gate(pq: PartitionQuality, settings: Settings, feeds: set[str] | None = None) -> list[str]:
    """Why a partition cannot be evaluated ([] when it can): a required feed with a structural
    issue, or a table that must have rows keeping none of them, or less than
    `quality.min_kept_share` of what it read. The reasons name file, table and the dominant row
    problem."""
    reasons = []
    share = settings.pipeline.quality.min_kept_share
    for feed in settings.required_feeds if feeds is None else sorted(feeds):
        fq = pq.feeds.get(feed)
        if fq is None:
            reasons.append(f"{feed}: not ingested")
            continue
        reasons += [f"{feed}: {issue}" for issue in fq.issues]
        if fq.issues:
            continue
        for t in fq.tables.values():
            if not t.present or t.contract.may_be_empty:
                continue
            where = f"{t.source_file}" + (f" sheet {t.source_sheet}" if t.source_sheet else "")
            if t.rows_kept == 0:
                why = t.dominant_reason()
                reasons.append(
                    f"{t.table}: {t.contract.title} keeps 0 of {t.rows_read} rows ({where})"
                    + (f"; most common problem: {why}" if why else ": the table has no data rows")
                )
            elif t.rows_kept < share * t.rows_read:
                reasons.append(
                    f"{t.table}: {t.contract.title} keeps only {t.rows_kept} of {t.rows_read} rows ({where}; "
                    f"below quality.min_kept_share {share:.0%}); most common problem: {t.dominant_reason()}"
                )
    return reasons
