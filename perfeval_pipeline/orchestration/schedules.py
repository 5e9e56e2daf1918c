"""The annual evaluation: on the date set in assets_config/pipeline.yaml (`schedule`), one run
evaluates the previous year for every configured department."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config import config_dir, load_yaml, settings
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, partition_key

# Dagster's tags for a run over a partition range; with a MultiPartitionsDefinition the range is the
# rectangle between the two keys in each dimension, so first|year … last|year is every department
# of that year (although those keys are not adjacent in the flat `department|year` order).
SCHEDULE_DEFAULTS = {"cron": "0 6 1 3 *", "timezone": "Asia/Shanghai", "running": True}


def schedule_settings() -> dict:
    return {**SCHEDULE_DEFAULTS, **(load_yaml(config_dir() / "pipeline.yaml").get("schedule") or {})}


def year_run_request(year: int) -> dg.RunRequest | dg.SkipReason:
    """One run over every department of `year`, or why not."""
    cfg = settings()
    if year not in cfg.years:
        return dg.SkipReason(
            f"year {year} is not in `years` {list(cfg.years)} of {config_dir() / 'pipeline.yaml'}: add it "
            f"there and put its feeds under {cfg.landing_dir}/{year}/<department>/ to evaluate it"
        )
    departments = sorted(cfg.departments)
    return dg.RunRequest(
        # One request per evaluated year: a re-evaluated tick (daemon restart) never launches twice.
        run_key=f"annual-{year}",
        tags={
            RANGE_START: str(partition_key(departments[0], year)),
            RANGE_END: str(partition_key(departments[-1], year)),
            "perfeval/year": str(year),
        },
    )


def annual_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    cfg = schedule_settings()

    @dg.schedule(
        name="annual_evaluation",
        job=job,
        cron_schedule=cfg["cron"],
        execution_timezone=cfg["timezone"],
        default_status=dg.DefaultScheduleStatus.RUNNING
        if cfg["running"]
        else dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Every year at `{cfg['cron']}` ({cfg['timezone']}): evaluates the previous year for all departments "
            "in ONE run over the partition range (all departments × that year). Skips when that year is not "
            "in pipeline.yaml `years`. Date and timezone: `schedule` in assets_config/pipeline.yaml."
        ),
    )
    def annual_evaluation(context: dg.ScheduleEvaluationContext):
        return year_run_request(context.scheduled_execution_time.year - 1)

    return annual_evaluation
