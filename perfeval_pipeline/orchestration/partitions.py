"""Department × year partitions, from assets_config (departments.yaml, pipeline.yaml)."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config import settings

# Run tags of a single run over a partition range; over department × year Dagster reads the range
# as a rectangle (departments start..end × years start..end).
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


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
