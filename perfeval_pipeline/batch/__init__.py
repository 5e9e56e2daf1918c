"""Batch: run many department-year partitions through the stages, in phases, on worker processes.

Plain Python (no Dagster): the Dagster ops call these phases and report each partition's outcome as
its own events; `perfeval bench-baseline` calls them directly, which is the baseline Dagster's
overhead is measured against. Phases:

1. ingest   (per year, in chunks): read, type and validate the landing folders of a chunk together,
            gate each partition, store its rows, compute and store its indicators;
2. peers    (per year, the barrier): peer benchmarks of every department of the year;
3. score    scorecard, findings, 整改 follow-up and result.json;
4. render   the Word form, the workbook, the manifest; then each year's province summary.

Every partition ends phase 1 and 3 with a result.json when it is blocked or fails; an exception in
one partition marks that partition failed and the others go on."""
