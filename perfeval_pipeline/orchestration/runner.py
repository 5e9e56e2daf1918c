"""Run the asset graph for a set of partitions from Python (the `perfeval run` command).

A selection that is contiguous in the partition key order runs as ONE Dagster run over the range
(single-run backfill policy), paying process start-up and the GX import once; any other selection
runs partition by partition in this same process."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from perfeval_pipeline.orchestration.definitions import ALL_ASSETS
from perfeval_pipeline.orchestration.partitions import department_year_partitions, partition_key

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def contiguous_ranges(selected: list[str], ordered: list[str]) -> list[tuple[str, str]]:
    """Split the selected keys into maximal runs that are contiguous in `ordered`."""
    positions = sorted(ordered.index(k) for k in set(selected))
    ranges: list[tuple[str, str]] = []
    for pos in positions:
        if ranges and ordered.index(ranges[-1][1]) == pos - 1:
            ranges[-1] = (ranges[-1][0], ordered[pos])
        else:
            ranges.append((ordered[pos], ordered[pos]))
    return ranges


def run_partitions(selected: list[tuple[str, int]], progress: Callable[[str], None] = print,
                   instance: dg.DagsterInstance | None = None) -> bool:
    instance = instance or dg.DagsterInstance.get()
    ordered = department_year_partitions().get_partition_keys()
    keys = [str(partition_key(d, y)) for d, y in selected]
    ok = True
    for start, end in contiguous_ranges(keys, [str(k) for k in ordered]):
        progress(f"run: materializing {start} … {end}")
        tags = {RANGE_START: start, RANGE_END: end} if start != end else {}
        result = dg.materialize(ALL_ASSETS, instance=instance, tags=tags,
                                partition_key=start if start == end else None, raise_on_error=False)
        ok &= result.success
        if not result.success:
            progress(f"run: {start} … {end} did not succeed (see the Dagster UI run {result.run_id})")
    return ok
