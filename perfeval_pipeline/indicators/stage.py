"""Indicators stage: a partition's clean tables from the store → indicator values + evidence."""

from __future__ import annotations

import pandas as pd

from perfeval_pipeline.config import Settings
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.indicators.compute import IndicatorResults, compute_indicators
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.store import Store

VALUES_TABLE = "values"
EVIDENCE_TABLE = "indicators"


def load_clean_tables(department: str, year: int, store: Store) -> dict[str, pd.DataFrame]:
    tables = {}
    for contract in load_contracts().values():
        for table in contract.tables.values():
            frame = store.read_optional("clean", table.qualified_name, department, year)
            if frame is not None:
                tables[table.qualified_name] = frame
    return tables


def run_indicators(department: str, year: int, store: Store, cfg: Settings | None = None) -> IndicatorResults:
    cfg = cfg or load_settings()
    dept = cfg.department(department)
    results = compute_indicators(
        load_clean_tables(department, year, store), dept, year, load_framework(dept.framework)
    )
    store.write("indicators", VALUES_TABLE, department, year, results.to_frame())
    store.write("evidence", EVIDENCE_TABLE, department, year, results.evidence)
    return results


def load_indicators(
    department: str, year: int, store: Store, with_evidence: bool = False
) -> IndicatorResults:
    frame = store.read("indicators", VALUES_TABLE, department, year)
    evidence = store.read("evidence", EVIDENCE_TABLE, department, year) if with_evidence else None
    return IndicatorResults.from_frame(frame, evidence)


def stored_value(department: str, year: int, indicator_id: str, store: Store) -> float | None:
    """A partition's stored value of one indicator (None if that partition has not been computed)."""
    if not store.exists("indicators", VALUES_TABLE, department, year):
        return None
    frame = store.read("indicators", VALUES_TABLE, department, year)
    row = frame[frame["id"] == indicator_id]
    if row.empty or pd.isna(row["value"].iloc[0]):
        return None
    return float(row["value"].iloc[0])
