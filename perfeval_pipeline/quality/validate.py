"""Validate typed tables: rows failing a contract check go to quarantine with their reasons, the rest
stay clean, and identity columns that contradict the partition's folder fail the feed structurally."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from perfeval_pipeline.feeds.contracts import FeedContract, TableContract, load_contracts
from perfeval_pipeline.feeds.readers import SOURCE_COLUMNS, FeedRead, RawTable, StructuralIssue
from perfeval_pipeline.feeds.typing import PARSE_ERRORS, type_table
from perfeval_pipeline.quality.suites import run_checks

REASON = "_reason"
SAMPLE_SIZE = 5
SUMMARY_COLUMNS = [
    "table",
    "present",
    "rows_read",
    "rows_kept",
    "rows_quarantined",
    "passed",
    "structural_issues",
]


def source_ref(file: str, sheet: str | None, row: int) -> str:
    """'2023/jdz-zwsjj/hotline.csv row 12', with ' sheet 预算决算表' after the file for workbooks."""
    return f"{file} sheet {sheet} row {row}" if sheet else f"{file} row {row}"


def _refs(rows: pd.DataFrame) -> tuple[str, ...]:
    return tuple(
        source_ref(f, s, int(r))
        for f, s, r in zip(rows["_source_file"], rows["_source_sheet"], rows["_source_row"], strict=True)
    )


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    columns: tuple[str, ...]
    reason: str
    success: bool
    # Rows GX flagged; for uniqueness that is every row of each duplicate group.
    unexpected_count: int
    # Rows this check sent to quarantine; for uniqueness only the repeats.
    rows_quarantined: int
    samples: tuple[str, ...] = ()  # source refs of the first quarantined rows

    def to_dict(self) -> dict:
        return {
            "expectation": self.expectation,
            "columns": list(self.columns),
            "reason": self.reason,
            "unexpected_count": self.unexpected_count,
            "rows_quarantined": self.rows_quarantined,
            "samples": list(self.samples),
        }


@dataclass
class TableQuality:
    table: str  # qualified name, e.g. financial.budget_lines
    contract: TableContract
    clean: pd.DataFrame
    quarantine: pd.DataFrame  # the clean columns plus `_reason`
    rows_read: int
    outcomes: list[ExpectationOutcome]
    issues: list[StructuralIssue] = field(default_factory=list)
    present: bool = True  # False: absent from the landing files; both frames are empty
    unmapped_headers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows_kept + self.rows_quarantined != self.rows_read:
            raise AssertionError(
                f"{self.table}: {self.rows_read} rows read but {self.rows_kept} kept + "
                f"{self.rows_quarantined} quarantined"
            )

    @property
    def rows_kept(self) -> int:
        return len(self.clean)

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantine)

    @property
    def passed(self) -> bool:
        return not self.issues and (self.present or self.contract.optional)

    def summary(self) -> dict:
        return {
            "present": self.present,
            "passed": self.passed,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_quarantined": self.rows_quarantined,
            "failed_expectations": [o.to_dict() for o in self.outcomes if not o.success],
            "structural_issues": [str(i) for i in self.issues],
            "unmapped_headers": list(self.unmapped_headers),
        }


def _identity_issues(
    frame: pd.DataFrame, contract: TableContract, department: str, year: int
) -> list[StructuralIssue]:
    """A department/year column naming another partition means the file was dropped in the wrong
    folder: one issue per wrong value, at its first row."""
    issues = []
    for col in contract.columns.values():
        if col.identity is None:
            continue
        if col.identity not in ("department", "year"):
            raise ValueError(f"{contract.qualified_name}.{col.name}: unknown identity {col.identity!r}")
        expected = department if col.identity == "department" else str(year)
        text = frame[col.name].astype(str).str.strip()
        wrong = frame[col.name].notna() & (text != expected)
        for value, group in frame.loc[wrong].groupby(text[wrong], sort=False):
            first = group.iloc[0]
            more = f" (and {len(group) - 1} more rows)" if len(group) > 1 else ""
            issues.append(
                StructuralIssue(
                    first["_source_file"],
                    f"file is for {value}, folder is {expected}{more}",
                    sheet=first["_source_sheet"] or None,
                    row=int(first["_source_row"]),
                    column=col.name,
                )
            )
    return issues


def validate_table(typed: pd.DataFrame, contract: TableContract, department: str, year: int) -> TableQuality:
    """Run the contract's suite on a frame from `type_table`; every row ends up clean or quarantined.
    Both frames are indexed by row position in `typed`."""
    missing = [c for c in (*contract.columns, *SOURCE_COLUMNS, PARSE_ERRORS) if c not in typed.columns]
    if missing:
        raise ValueError(f"{contract.qualified_name}: typed frame lacks {missing}; build it with type_table")
    # GX reports failing rows by index label, so labels must be unique.
    frame = typed.reset_index(drop=True)
    reasons = pd.Series("", index=frame.index, dtype=object)
    outcomes = []
    for check, success, result in run_checks(frame, contract):
        rows = pd.Index(sorted(result.get("unexpected_index_list") or []), dtype="int64")
        if check.keep_first and len(rows):
            # GX flags every copy of a repeated key. The first in file order is taken as the original
            # entry and stays (unless another check fails it); later copies go, so clean keys are unique.
            rows = rows[frame.loc[rows, list(check.columns)].duplicated(keep="first").to_numpy()]
        if len(rows):
            text = pd.Series("; " + check.reason, index=rows, dtype=object)
            if check.detail_column:
                text = text + ": " + frame.loc[rows, check.detail_column].astype(str)
            reasons.loc[rows] = reasons.loc[rows] + text
        outcomes.append(
            ExpectationOutcome(
                expectation=check.expectation,
                columns=check.columns,
                reason=check.reason,
                success=success,
                unexpected_count=int(result.get("unexpected_count") or 0),
                rows_quarantined=len(rows),
                samples=_refs(frame.loc[rows[:SAMPLE_SIZE]]),
            )
        )
    bad = reasons != ""
    quarantine = frame.loc[bad].copy()
    quarantine[REASON] = reasons[bad].str.removeprefix("; ").astype("string")
    return TableQuality(
        table=contract.qualified_name,
        contract=contract,
        clean=frame.loc[~bad],
        quarantine=quarantine,
        rows_read=len(frame),
        outcomes=outcomes,
        issues=_identity_issues(frame, contract, department, year),
    )


def empty_raw_frame(contract: TableContract) -> pd.DataFrame:
    """A raw frame with no rows, shaped as the reader would have produced it for this table."""
    # Typed as text so an empty partition's Parquet schema matches a filled one (not a null type).
    frame = pd.DataFrame({c: pd.Series(dtype="str") for c in contract.columns})
    for c in SOURCE_COLUMNS:
        frame[c] = pd.Series(dtype="int64" if c == "_source_row" else "str")
    return frame


@dataclass
class FeedQuality:
    feed: str
    department: str
    year: int
    tables: dict[str, TableQuality]  # every table of the contract, by name within the feed
    # Issues not located in one table: feed or table not found, unreadable or unexpected files.
    feed_issues: list[StructuralIssue]
    files: list[str]

    @property
    def issues(self) -> list[StructuralIssue]:
        return [*self.feed_issues, *(i for t in self.tables.values() for i in t.issues)]

    @property
    def passed(self) -> bool:
        return not self.issues

    def summary(self) -> dict:
        """Plain JSON-able dict, e.g. for run metadata."""
        tables = self.tables.values()
        return {
            "feed": self.feed,
            "department": self.department,
            "year": self.year,
            "passed": self.passed,
            "files": list(self.files),
            "rows_read": sum(t.rows_read for t in tables),
            "rows_kept": sum(t.rows_kept for t in tables),
            "rows_quarantined": sum(t.rows_quarantined for t in tables),
            "structural_issues": [str(i) for i in self.issues],
            "tables": {t.table: t.summary() for t in tables},
        }

    def summary_frame(self) -> pd.DataFrame:
        """One row per contract table, plus a row named after the feed when issues are feed-wide."""
        rows = [
            {
                "table": t.table,
                "present": t.present,
                "rows_read": t.rows_read,
                "rows_kept": t.rows_kept,
                "rows_quarantined": t.rows_quarantined,
                "passed": t.passed,
                "structural_issues": "; ".join(map(str, t.issues))
                or ("" if t.passed else "required table not read (see the feed row)"),
            }
            for t in self.tables.values()
        ]
        if self.feed_issues:
            rows.append(
                {
                    "table": self.feed,
                    "present": False,
                    "rows_read": 0,
                    "rows_kept": 0,
                    "rows_quarantined": 0,
                    "passed": False,
                    "structural_issues": "; ".join(map(str, self.feed_issues)),
                }
            )
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def validate_feed(
    read: FeedRead, department: str, year: int, contract: FeedContract | None = None
) -> FeedQuality:
    """Type and validate every table of a feed as read; tables absent from the landing files are
    validated as empty frames so that every contract table has a result."""
    contract = contract or load_contracts()[read.feed]
    tables: dict[str, TableQuality] = {}
    claimed: set[StructuralIssue] = set()
    for name, tcontract in contract.tables.items():
        raw = read.tables.get(name)
        source = raw or RawTable(tcontract, empty_raw_frame(tcontract), "", None)
        quality = validate_table(type_table(source), tcontract, department, year)
        if raw is None:
            quality.present = False
        else:
            # The reader locates column problems by file and sheet, which identify the table.
            own = [
                i
                for i in read.issues
                if i.column and (i.file, i.sheet or "") == (raw.source_file, raw.source_sheet or "")
            ]
            claimed.update(own)
            quality.issues = [*own, *quality.issues]
            quality.unmapped_headers = list(raw.unmapped_headers)
        tables[name] = quality
    return FeedQuality(
        feed=read.feed,
        department=department,
        year=year,
        tables=tables,
        feed_issues=[i for i in read.issues if i not in claimed],
        files=[p.name for p in read.files],
    )
