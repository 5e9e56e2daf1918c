"""Department × year partitions, from assets_config (departments.yaml, pipeline.yaml)."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config import settings


def department_year_partitions() -> dg.MultiPartitionsDefinition:
    cfg = settings()
    return dg.MultiPartitionsDefinition(
        {
            "department": dg.StaticPartitionsDefinition(sorted(cfg.departments)),
            "year": dg.StaticPartitionsDefinition([str(y) for y in cfg.years]),
        }
    )


def partition_key(department: str, year: int) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"department": department, "year": str(year)})


def parse_key(key: str) -> tuple[str, int]:
    """'jdz-zwsjj|2023' → ('jdz-zwsjj', 2023); dimensions are sorted by name: department, year."""
    department, year = str(key).split("|")
    return department, int(year)


def run_partitions(context) -> list[tuple[str, int]]:
    """The (department, year) pairs of this run: one, or many in a single-run backfill."""
    return [parse_key(k) for k in context.partition_keys]
