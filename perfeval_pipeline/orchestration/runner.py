"""Run the asset graph for a set of partitions from Python (the `perfeval run` command).

Dagster reads a partition range over department × year as a RECTANGLE (departments start..end ×
years start..end). A selection is split into the fewest such rectangles (maximal blocks of
consecutive departments × consecutive years), and each runs as ONE Dagster run (single-run
backfill policy), so process start-up and the GX import are paid once per rectangle, not once per
partition. `make run` (all × all) is a single run."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from perfeval_pipeline.config import settings
from perfeval_pipeline.orchestration.definitions import ALL_ASSETS
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, partition_key


def _blocks(selected: list, ordered: list) -> list[list]:
    """Maximal runs of consecutive items of `ordered` among `selected`."""
    blocks: list[list] = []
    for item in ordered:
        if item in selected:
            if blocks and ordered.index(blocks[-1][-1]) == ordered.index(item) - 1:
                blocks[-1].append(item)
            else:
                blocks.append([item])
    return blocks


def rectangles(selected: list[tuple[str, int]]) -> list[tuple[list[str], list[int]]]:
    """Cover a selection with department-block × year-block rectangles, each inside the selection."""
    cfg = settings()
    by_years: dict[tuple[int, ...], list[str]] = {}
    for dept in sorted({d for d, _ in selected}):
        years = tuple(sorted(y for d, y in selected if d == dept))
        by_years.setdefault(years, []).append(dept)
    out = []
    for years, depts in by_years.items():
        for dept_block in _blocks(depts, sorted(cfg.departments)):
            for year_block in _blocks(list(years), list(cfg.years)):
                out.append((dept_block, year_block))
    return out


def run_partitions(
    selected: list[tuple[str, int]],
    progress: Callable[[str], None] = print,
    instance: dg.DagsterInstance | None = None,
) -> bool:
    """Materialize every asset for the selected partitions; True if every run succeeded."""
    instance = instance or dg.DagsterInstance.get()
    ok = True
    for depts, years in rectangles(selected):
        start, end = str(partition_key(depts[0], years[0])), str(partition_key(depts[-1], years[-1]))
        progress(f"run: {len(depts) * len(years)} partition(s) {start} … {end} in one run")
        if start == end:
            result = dg.materialize(ALL_ASSETS, instance=instance, partition_key=start, raise_on_error=False)
        else:
            result = dg.materialize(
                ALL_ASSETS, instance=instance, raise_on_error=False, tags={RANGE_START: start, RANGE_END: end}
            )
        ok &= result.success
        if not result.success:
            progress(f"run: {start} … {end} did not succeed (run {result.run_id}; see `make ui`)")
    return ok
