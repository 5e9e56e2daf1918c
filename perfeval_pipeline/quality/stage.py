"""Quality stage: ingest the landing folders of a chunk of partitions (one year): read every feed's
files once, type and validate them together (one Great Expectations call per table for the chunk),
decide each partition usable or blocked, and store every row with its status.

Stored per partition (catalog.py): rows/{feed}.{table} (every row read, kept or quarantined with
its reason) and quality (one row per table)."""

from __future__ import annotations

import json

import pandas as pd

from perfeval_pipeline.catalog import QUALITY, rows_dataset
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.costs import step
from perfeval_pipeline.feeds.files import StructuralIssue, read_landing_file, rel_path, safe_text, scan_folder
from perfeval_pipeline.feeds.readers import FeedRead, read_feed
from perfeval_pipeline.feeds.typing import PARSE_ERRORS
from perfeval_pipeline.quality.validate import PartitionQuality, gate, validate_chunk
from perfeval_pipeline.store import Store

QUALITY_COLUMNS = [
    "table",
    "present",
    "rows_read",
    "rows_kept",
    "rows_quarantined",
    "rows_reported",
    "passed",
    "structural_issues",
    "source_file",
    "source_sheet",
    "source_sha256",
    "header_row",
    "headers",
    "header_units",
]


def read_partition(
    settings: Settings, department: str, year: int, feeds: set[str] | None = None
) -> tuple[dict[str, FeedRead], list[str]]:
    """Every feed (or those in `feeds`) of one landing folder as read, files hashed while read; and
    the files no feed claims."""
    folder = settings.landing_folder(department, year)
    scan = scan_folder(folder, settings.landing_dir, set(settings.contracts))
    reads: dict[str, FeedRead] = {}
    folder_rel = rel_path(folder, settings.landing_dir)
    for feed, contract in settings.contracts.items():
        if feeds is not None and feed not in feeds:
            continue
        files, issues = [], [i for i in scan.issues if i.file.split("/")[-1].split(".")[0] == feed]
        for path in scan.files[feed]:
            _, _, table = path.stem.partition(".")
            file, issue = read_landing_file(
                path, settings.landing_dir, feed, table or None, settings.pipeline.limits
            )
            if issue:
                issues.append(issue)
            else:
                files.append(file)
        if issues and not files:
            read = FeedRead(feed, {}, issues, [])
        else:
            read = read_feed(files, contract, settings.pipeline.limits, folder_rel)
            read.issues = issues + read.issues
        reads[feed] = read
    return reads, [safe_text(name) for name in scan.ignored]


def ingest(
    settings: Settings, partitions: list[tuple[str, int]], feeds: set[str] | None = None
) -> dict[tuple[str, int], PartitionQuality]:
    """Read, type and validate the landing folders of `partitions` (all of one year; every feed, or
    those in `feeds`) and gate them. Nothing is stored: see `store_quality`. Bad data never raises."""
    years = {y for _, y in partitions}
    if len(years) != 1:
        raise ValueError(f"ingest one year at a time, got {sorted(years)}")
    reads, ignored = {}, {}
    for department, year in partitions:
        with step("reading"):
            reads[(department, year)], ignored[(department, year)] = read_partition(
                settings, department, year, feeds
            )
    validated = validate_chunk(reads, settings, years.pop())
    out = {}
    for p in partitions:
        pq = PartitionQuality(p[0], p[1], validated[p], ignored_files=ignored[p])
        pq.blocked_reasons = gate(pq, settings, feeds)
        out[p] = pq
    return out


def quality_frame(pq: PartitionQuality) -> pd.DataFrame:
    rows = []
    for fq in pq.feeds.values():
        sha = {f.rel: f.sha256 for f in fq.files}
        for t in fq.tables.values():
            rows.append(
                {
                    "table": t.table,
                    "present": t.present,
                    "rows_read": t.rows_read,
                    "rows_kept": t.rows_kept,
                    "rows_quarantined": t.rows_quarantined,
                    "rows_reported": t.rows_reported,
                    "passed": not t.issues and (t.present or t.contract.optional),
                    "structural_issues": "; ".join(map(str, t.issues)),
                    "source_file": t.source_file,
                    "source_sheet": t.source_sheet,
                    "source_sha256": sha.get(t.source_file, ""),
                    "header_row": t.header_row,
                    "headers": json.dumps(t.headers, ensure_ascii=False),
                    "header_units": json.dumps(t.header_units, ensure_ascii=False),
                }
            )
        if fq.feed_issues:
            rows.append(
                {
                    "table": fq.feed,
                    "present": False,
                    "rows_read": 0,
                    "rows_kept": 0,
                    "rows_quarantined": 0,
                    "rows_reported": 0,
                    "passed": False,
                    "structural_issues": "; ".join(map(str, fq.feed_issues)),
                    "source_file": "",
                    "source_sheet": "",
                    "source_sha256": "",
                    "header_row": 0,
                    "headers": "{}",
                    "header_units": "{}",
                }
            )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)


def store_quality(store: Store, pq: PartitionQuality) -> None:
    """Write every table's rows and the quality summary of one partition (call under its lock)."""
    for fq in pq.feeds.values():
        for t in fq.tables.values():
            store.write(
                rows_dataset(t.table),
                pq.department,
                pq.year,
                t.rows.drop(columns=[PARSE_ERRORS], errors="ignore"),
            )
    store.write(QUALITY, pq.department, pq.year, quality_frame(pq))


def changed_files(pq: PartitionQuality) -> list[StructuralIssue]:
    """Landing files that changed on disk after they were read (the store would not hold what the
    manifest hashes): one issue per file."""
    return [
        StructuralIssue(
            f.rel, "changed while the run was reading it: evaluate again once it is complete", code="changed"
        )
        for fq in pq.feeds.values()
        for f in fq.files
        if f.changed_since_read()
    ]
