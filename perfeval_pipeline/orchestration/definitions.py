"""The one place that assembles Dagster Definitions (workspace.yaml points here)."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.orchestration.assets import (
    FEED_ASSETS,
    findings,
    indicator_values,
    quality_gate,
    scorecard,
)
from perfeval_pipeline.orchestration.report_assets import REPORT_ASSETS
from perfeval_pipeline.orchestration.schedules import annual_schedule
from perfeval_pipeline.orchestration.sensors import landing_sensor

ALL_ASSETS = [*FEED_ASSETS, quality_gate, indicator_values, scorecard, findings, *REPORT_ASSETS]

evaluate_job = dg.define_asset_job(
    "evaluate_department_year",
    selection=dg.AssetSelection.assets(*ALL_ASSETS),
    description="Ingest, check, compute, score and report department-year partitions.",
)

# One process per run, steps in sequence: the work per partition is small and process start-up
# plus the Great Expectations import (10–12 s) would dominate a process per step.
defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[evaluate_job],
    schedules=[annual_schedule(evaluate_job)],
    sensors=[landing_sensor(evaluate_job)],
    executor=dg.in_process_executor,
)
