"""The one place that assembles Dagster Definitions (workspace.yaml points here). Partitions and
specs come from the configuration of the environment (PERFEVAL_* variables, else the project).

The executor is the deployment's choice (PERFEVAL_EXECUTOR): `in_process` (default: the local
profile, `make run`) or `celery` (deploy/production: each step is a Celery task on a worker
process, possibly on another machine, routed by its op tag `dagster-celery/queue`; broker and
result backend from PERFEVAL_CELERY_BROKER / PERFEVAL_CELERY_BACKEND)."""

from __future__ import annotations

import os

import dagster as dg

from perfeval_pipeline.config.settings import Settings, load_settings
from perfeval_pipeline.orchestration.assets import build_assets, province_summary_spec
from perfeval_pipeline.orchestration.partitions import Partitions
from perfeval_pipeline.orchestration.resources import perfeval_resource
from perfeval_pipeline.orchestration.schedules import annual_schedule
from perfeval_pipeline.orchestration.sensors import landing_sensor

JOB = "evaluate_department_year"
EXECUTOR_ENV = "PERFEVAL_EXECUTOR"
BROKER_ENV, BACKEND_ENV = "PERFEVAL_CELERY_BROKER", "PERFEVAL_CELERY_BACKEND"
DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
DEFAULT_BACKEND = "redis://127.0.0.1:6379/1"


def executor_for(name: str | None = None) -> dg.ExecutorDefinition:
    """The executor named by `name`, else by PERFEVAL_EXECUTOR, else in-process."""
    name = (name or os.environ.get(EXECUTOR_ENV) or "in_process").strip().lower().replace("-", "_")
    if name in ("in_process", "inprocess", "local"):
        return dg.in_process_executor
    if name == "celery":
        from dagster_celery import celery_executor

        # Resolved in the run's process when it submits the steps; the workers take their own
        # broker settings (deploy/production/celery/dagster_celery_config.py).
        config = {
            "broker": {"env": BROKER_ENV} if os.environ.get(BROKER_ENV) else DEFAULT_BROKER,
            "backend": {"env": BACKEND_ENV} if os.environ.get(BACKEND_ENV) else DEFAULT_BACKEND,
        }
        return celery_executor.configured(config, name="perfeval_celery")
    raise ValueError(f"{EXECUTOR_ENV}={name!r}: expected in_process or celery")


def _outcome_io(executor: dg.ExecutorDefinition) -> dict:
    """In-process runs pass the steps' outcomes in memory: persisted, they would grow DAGSTER_HOME
    by every partition's quality summary. Distributed steps need Dagster's filesystem IO manager."""
    return {"io_manager": dg.mem_io_manager} if executor is dg.in_process_executor else {}


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
    # In-process (default): steps run in the run's process, in sequence; each fans its partitions
    # out over worker processes itself (batch/pool.py), so no step pays for a process of its own.
    # Celery (production): each step is a task on a worker; steps pass their outcomes through the
    # default filesystem IO manager, under the instance's local_artifact_storage (shared storage).
    executor = executor_for()
    return dg.Definitions(
        assets=[evaluation, summary],
        jobs=[job],
        schedules=[annual_schedule(settings, partitions, job)],
        sensors=[landing_sensor(settings, job)],
        resources={"perfeval": resource or perfeval_resource(), **_outcome_io(executor)},
        executor=executor,
    )


defs = build_definitions(load_settings())
