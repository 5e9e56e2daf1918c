"""The one place that assembles Dagster Definitions (workspace.yaml points here). Partitions and
specs come from the configuration of the environment (PERFEVAL_* variables, else the project)."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config.settings import Settings, load_settings
from perfeval_pipeline.orchestration.assets import build_assets, province_summary_spec
from perfeval_pipeline.orchestration.partitions import Partitions
from perfeval_pipeline.orchestration.resources import perfeval_resource
from perfeval_pipeline.orchestration.schedules import annual_schedule
from perfeval_pipeline.orchestration.sensors import landing_sensor

JOB = "evaluate_department_year"


def build_definitions(settings: Settings, resource=None) -> dg.Definitions:
    partitions = Partitions(settings)
    evaluation = dg.with_source_code_references([build_assets(settings, partitions)])[0]
    summary = province_summary_spec(partitions)
    job = dg.define_asset_job(
        JOB,
        selection=dg.AssetSelection.assets(evaluation),
        partitions_def=partitions.definition,
        description="评价部门年度：读取、校验、计算、评分、出具反馈表。Ingest, check, compute, score and report department-years.",
    )
    # Steps run in the run's process, in sequence; each fans its partitions out over worker
    # processes itself (batch/pool.py), so no step pays for a process of its own.
    return dg.Definitions(
        assets=[evaluation, summary],
        jobs=[job],
        schedules=[annual_schedule(settings, partitions, job)],
        sensors=[landing_sensor(settings, job)],
        resources={"perfeval": resource or perfeval_resource()},
        executor=dg.in_process_executor,
    )


defs = build_definitions(load_settings())
