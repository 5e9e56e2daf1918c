"""Quality stage: ingest one feed of one department-year (read its landing files, validate them) and
write every stage.

Stored tables (Store layout {stage}/{table}/department=…/year=…):
  raw/{feed}.{table}         the cells as read (strings) with source columns
  clean/{feed}.{table}       typed rows that passed every check
  quarantine/{feed}.{table}  typed rows that failed a check, with `_reason`
  quality/{feed}             one row per table (see FeedQuality.summary_frame)
"""

from __future__ import annotations

import pandas as pd

from perfeval_pipeline import config
from perfeval_pipeline.feeds.contracts import load_contracts, table_contract
from perfeval_pipeline.feeds.readers import read_feed
from perfeval_pipeline.quality import FeedQuality, empty_raw_frame, validate_feed
from perfeval_pipeline.store import Store


def ingest_feed(
    feed: str,
    department: str,
    year: int,
    settings: config.Settings | None = None,
    store: Store | None = None,
) -> FeedQuality:
    """Read {landing}/{year}/{department}/{feed}.*, validate and store it. Bad data never raises:
    it is quarantined, or recorded as a structural issue in the quality summary (passed=False)."""
    settings = settings or config.settings()
    store = store or Store(settings.store_dir)
    contracts = load_contracts()
    if feed not in contracts:
        raise KeyError(f"unknown feed {feed!r}; one of {sorted(contracts)}")
    contract = contracts[feed]
    # Until the new summary is written, the partition must read as not passed: a crash mid-ingest
    # would otherwise leave an old passing summary beside half-replaced tables.
    store.path("quality", feed, department, year).unlink(missing_ok=True)
    read = read_feed(
        settings.landing_dir / str(year) / department, contract, landing_root=settings.landing_dir
    )
    quality = validate_feed(read, department, year, contract)
    for name, table in quality.tables.items():
        # Absent tables are written empty too: downstream can rely on every contract table, and no
        # table from an earlier run outlives the removal of its landing file.
        raw = read.tables[name].frame if name in read.tables else empty_raw_frame(table.contract)
        store.write("raw", table.table, department, year, raw)
        store.write("clean", table.table, department, year, table.clean)
        store.write("quarantine", table.table, department, year, table.quarantine)
    store.write("quality", feed, department, year, quality.summary_frame())
    return quality


def load_clean(feed_table: str, department: str, year: int, store: Store | None = None) -> pd.DataFrame:
    """The clean rows of e.g. 'financial.budget_lines' for one partition, in contract column order."""
    store = store or Store(config.settings().store_dir)
    frame = store.read("clean", feed_table, department, year)
    contract = table_contract(feed_table)
    # The store keeps department/year only in the path (Store.write drops same-named columns). Once a
    # partition passed, its identity columns hold its own values or nothing, so the path restores them.
    for col in contract.columns.values():
        if col.identity == "department":
            frame[col.name] = pd.Series(department, index=frame.index, dtype="string")
        elif col.identity == "year":
            frame[col.name] = pd.Series(year, index=frame.index, dtype="Int64")
    return frame[[*contract.columns, *(c for c in frame.columns if c not in contract.columns)]]


def partition_quality_passed(
    department: str, year: int, store: Store | None = None, feeds: tuple[str, ...] | None = None
) -> tuple[bool, list[str]]:
    """Whether every feed (default: the required feeds of pipeline.yaml) of a partition was ingested
    without structural issues; the reasons when not."""
    settings = config.settings()
    store = store or Store(settings.store_dir)
    reasons = []
    for feed in feeds or settings.required_feeds:
        if not store.exists("quality", feed, department, year):
            reasons.append(
                f"{feed}: no quality summary for {department} {year} (not ingested, or ingest failed)"
            )
            continue
        summary = store.read("quality", feed, department, year)
        for row in summary.loc[~summary["passed"].astype(bool)].itertuples():
            reasons.append(f"{row.table}: {row.structural_issues or 'did not pass'}")
    return not reasons, reasons


def quality_report(department: str, year: int, store: Store | None = None) -> dict:
    """Per feed of a partition: rows read/kept/quarantined and structural issues (for result.json)."""
    settings = config.settings()
    store = store or Store(settings.store_dir)
    feeds = {}
    for feed in settings.required_feeds:
        if not store.exists("quality", feed, department, year):
            feeds[feed] = {"ingested": False}
            continue
        summary = store.read("quality", feed, department, year)
        feeds[feed] = {
            "rows_read": int(summary["rows_read"].sum()),
            "rows_kept": int(summary["rows_kept"].sum()),
            "rows_quarantined": int(summary["rows_quarantined"].sum()),
            "passed": bool(summary["passed"].all()),
            "structural_issues": [i for i in summary["structural_issues"] if i],
        }
    return {"passed": all(f.get("passed") for f in feeds.values()), "feeds": feeds}
