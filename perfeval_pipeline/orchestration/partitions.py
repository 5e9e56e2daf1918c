"""Partitions: one key per department-year that exists ('2023-jdz-zwsjj'), ordered year first, so
that a year's departments form one contiguous range (one single-run backfill). A department gets
partitions only for the years it is configured for (departments.yaml `years`, default all).

All partition-key logic lives here: keys, parsing, ranges and the label table that gives each key
its Chinese department name."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config.settings import Settings

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def key(department: str, year: int) -> str:
    return f"{year}-{department}"


def parse_key(partition_key: str) -> tuple[str, int]:
    """'2023-jdz-zwsjj' → ('jdz-zwsjj', 2023)."""
    year, _, department = str(partition_key).partition("-")
    if not year.isdigit() or not department:
        raise ValueError(
            f"not a department-year partition key: {partition_key!r} (expected e.g. 2023-jdz-zwsjj)"
        )
    return department, int(year)


class Partitions:
    """The department-year partitions of a configuration."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.keys = [key(d, y) for d, y in settings.partitions]
        self.definition = dg.StaticPartitionsDefinition(self.keys)
        self.years = dg.StaticPartitionsDefinition([str(y) for y in settings.years])

    def label(self, partition_key: str) -> str:
        department, year = parse_key(partition_key)
        return f"{year}年 {self.settings.department(department).name}"

    def label_table(self) -> str:
        """Markdown: every partition key with its department's Chinese name."""
        rows = ["| 分区 partition | 评价年度 | 部门 | 框架 |", "|---|---|---|---|"]
        for k in self.keys:
            department, year = parse_key(k)
            dept = self.settings.department(department)
            rows.append(f"| `{k}` | {year} | {dept.name} | {dept.framework} |")
        return "\n".join(rows)

    def ranges(self, selected: list[tuple[str, int]]) -> list[tuple[str, str]]:
        """The fewest contiguous (first key, last key) ranges covering a selection, in key order:
        each range is one Dagster run."""
        wanted = {key(d, y) for d, y in selected}
        out: list[tuple[str, str]] = []
        run: list[str] = []
        for k in self.keys:
            if k in wanted:
                run.append(k)
            elif run:
                out.append((run[0], run[-1]))
                run = []
        if run:
            out.append((run[0], run[-1]))
        return out

    def year_range(self, year: int) -> tuple[str, str] | None:
        keys = [k for k in self.keys if parse_key(k)[1] == year]
        return (keys[0], keys[-1]) if keys else None


def run_partitions(context) -> list[tuple[str, int]]:
    """The (department, year) pairs of this run: one, or many in a single-run backfill."""
    return [parse_key(k) for k in context.partition_keys]
