"""The annual evaluation: on the date set in assets_config/pipeline.yaml (`schedule`), one run
evaluates the previous year for every department configured for it."""

from __future__ import annotations

import dagster as dg

from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, Partitions
from perfeval_pipeline.orchestration.resources import PerfevalResource


def year_run_request(settings: Settings, partitions: Partitions, year: int) -> dg.RunRequest | dg.SkipReason:
    """One run over every department of `year`, or why not."""
    found = partitions.year_range(year)
    if found is None:
        return dg.SkipReason(
            f"year {year} is not in `years` {list(settings.years)} of {settings.config_dir / 'pipeline.yaml'}: add it "
            f"there and put its feeds under {settings.landing_dir}/{year}/<department>/ to evaluate it"
        )
    start, end = found
    # One request per evaluated year: a re-evaluated tick (daemon restart) never launches twice.
    return dg.RunRequest(
        run_key=f"annual-{year}", tags={RANGE_START: start, RANGE_END: end, "perfeval/year": str(year)}
    )


def annual_schedule(settings: Settings, partitions: Partitions, job) -> dg.ScheduleDefinition:
    cfg = settings.pipeline.schedule

    @dg.schedule(
        name="annual_evaluation",
        job=job,
        cron_schedule=cfg.cron,
        execution_timezone=cfg.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING if cfg.running else dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"每年 `{cfg.cron}`（{cfg.timezone}）评价上一年度全部部门：一次运行覆盖该年度的全部分区。该年度不在 pipeline.yaml "
            "`years` 中时跳过。日期与时区：assets_config/pipeline.yaml `schedule`。\n\nEvery year, one run over the previous "
            "year's departments."
        ),
    )
    def annual_evaluation(context: dg.ScheduleEvaluationContext, perfeval: PerfevalResource):
        current = perfeval.settings()
        return year_run_request(current, Partitions(current), context.scheduled_execution_time.year - 1)

    return annual_evaluation
