"""Indicators stage: a partition's clean tables → indicator values + evidence in the store."""

from __future__ import annotations

import pandas as pd

from perfeval_pipeline.catalog import EVIDENCE, INDICATOR_VALUES, rows_dataset
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.indicators.compute import IndicatorResults, compute_indicators
from perfeval_pipeline.quality.validate import KEPT, STATUS, PartitionQuality
from perfeval_pipeline.store import Store


def partition_indicators(settings: Settings, pq: PartitionQuality) -> IndicatorResults:
    dept = settings.department(pq.department)
    return compute_indicators(pq.clean_tables(), dept, pq.year, settings.frameworks[dept.framework])


def store_indicators(store: Store, department: str, year: int, results: IndicatorResults) -> None:
    store.write(INDICATOR_VALUES, department, year, results.to_frame())
    store.write(EVIDENCE, department, year, results.evidence)


def load_indicators(
    store: Store, department: str, year: int, with_evidence: bool = False
) -> IndicatorResults:
    frame = store.read(INDICATOR_VALUES, department, year)
    evidence = store.read(EVIDENCE, department, year) if with_evidence else None
    return IndicatorResults.from_frame(frame, evidence)


def load_clean(store: Store, table: str, department: str, year: int) -> pd.DataFrame | None:
    """The kept rows of one stored table (None when the partition has none stored)."""
    rows = store.read_optional(rows_dataset(table), department, year)
    return None if rows is None else rows.loc[rows[STATUS] == KEPT].reset_index(drop=True)
