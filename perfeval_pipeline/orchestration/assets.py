"""The evaluation as Dagster assets: one graph of three steps over the run's department-year
partitions (ingest → score → report), each step fanning its partitions out over worker processes
(batch/), each reporting every partition's own materializations and check evaluations as they
finish. A blocked or failed partition gets no materialization of the assets it did not reach, and
the run ends failed naming it, so the UI shows it failed, not green.

Why one graph with a single-run backfill policy: a run per partition costs seconds of process
start-up and the Great Expectations import; one run over a backfill costs them once, and its steps
validate many partitions in one Great Expectations call (ARCHITECTURE.md, measured costs). The
steps link through a plain output (the partitions' outcomes), not the asset outputs, so Dagster
does not record every partition of the range as materialized."""

import os
import warnings

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,  # not exported; its record class is public
)

from perfeval_pipeline.batch.engine import Batch
from perfeval_pipeline.batch.phases import BLOCKED, FAILED, USABLE, Outcome
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.orchestration import events, specs
from perfeval_pipeline.orchestration.partitions import Partitions, key, parse_key, run_partitions
from perfeval_pipeline.orchestration.resources import PerfevalResource

# backfill_policy is beta and partitioned checks are in preview; both are what per-partition truth needs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
# Steps of different kinds can go to different worker queues in a distributed deployment: op → kind.
STEP_KINDS = {"ingest": "ingest", "score": "score", "report": "render"}
# The Celery queue of each kind (deploy/production): PERFEVAL_QUEUE_INGEST, _SCORE, _RENDER. Unset:
# no queue tag, so the step goes to dagster-celery's default queue `dagster`.
QUEUE_ENV = {kind: f"PERFEVAL_QUEUE_{kind.upper()}" for kind in STEP_KINDS.values()}
CELERY_QUEUE_TAG = "dagster-celery/queue"  # an op tag: dagster-celery ignores asset tags


def step_tags(op: str) -> dict[str, str]:
    """The op tags of a step: its kind, and its Celery queue when one is configured for the kind."""
    kind = STEP_KINDS[op]
    tags = {"perfeval/step": kind}
    queue = os.environ.get(QUEUE_ENV[kind], "").strip()
    if queue:
        tags[CELERY_QUEUE_TAG] = queue
    return tags


STEP_TAGS = {op: step_tags(op) for op in STEP_KINDS}  # as configured when this module was imported


def _line(settings: Settings, o: Outcome) -> str:
    dept = settings.department(o.department)
    if o.status in (BLOCKED, FAILED):
        word = "已阻断 blocked" if o.status == BLOCKED else "失败 failed"
        return f"{o.year} {o.department} {dept.name}: {word} — {'; '.join(o.reasons)[:300]}"
    again = "（前一年度结果已变，整改跟踪与历年得分已更新 refreshed）" if o.phase == "refresh" else ""
    return f"{o.year} {o.department} {dept.name}: 已评价 evaluated {o.detail['total']:.2f} {o.detail['grade']}{again}"


def _about_this_run(
    context: dg.OpExecutionContext, check: dg.AssetCheckEvaluation
) -> dg.AssetCheckEvaluation:
    """The check evaluation tied to the materialization this run just recorded for its partition, as
    Dagster ties a check result of an asset step (the UI counts a check without it as missing). A
    partition whose feed this run did not materialize gets no target: an older materialization was
    not what the check looked at."""
    latest = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=check.asset_key, asset_partitions=[check.partition]), limit=1
    ).records
    if not latest or latest[0].run_id != context.run_id:
        return check
    return dg.AssetCheckEvaluation(
        asset_key=check.asset_key,
        check_name=check.check_name,
        passed=check.passed,
        metadata=check.metadata,
        severity=check.severity,
        partition=check.partition,
        target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
            storage_id=latest[0].storage_id, run_id=latest[0].run_id, timestamp=latest[0].timestamp
        ),
    )


def _outputs(contracts) -> dict[str, dg.Out]:
    outs = {specs.feed_key(f).to_user_string(): dg.Out(is_required=False) for f in contracts}
    outs |= {f"{specs.feed_key(f).to_user_string()}_contract": dg.Out(is_required=False) for f in contracts}
    outs |= {
        "quality_gate": dg.Out(is_required=False),
        "quality_gate_all_feeds_usable": dg.Out(is_required=False),
    }
    outs["indicator_values"] = dg.Out(is_required=False)
    outs["ingested"] = dg.Out(description="the partitions' ingest outcomes, for the next step")
    return outs


def build_assets(settings: Settings, partitions: Partitions) -> dg.AssetsDefinition:
    contracts = settings.contracts

    @dg.op(out=_outputs(contracts), tags=step_tags("ingest"))
    def ingest(context: dg.OpExecutionContext, perfeval: PerfevalResource):
        """Read, type and validate the landing folders; gate each partition; compute indicators."""
        cfg = perfeval.settings()
        outcomes = []
        with Batch(cfg, run_partitions(context), perfeval.workers) as batch:
            for o in batch.iter_ingest():
                outcomes.append(o)
                if o.status != USABLE:
                    perfeval.progress(_line(cfg, o))
                    context.log.warning(_line(cfg, o))
                for event in events.ingest_events(cfg, o):
                    if isinstance(event, dg.AssetCheckEvaluation):
                        context.log_event(_about_this_run(context, event))
                    else:
                        yield event
        yield dg.Output(outcomes, "ingested")

    @dg.op(
        out={
            "peer_benchmarks": dg.Out(is_required=False),
            "scorecard": dg.Out(is_required=False),
            "findings": dg.Out(is_required=False),
            "scored": dg.Out(),
        },
        tags=step_tags("score"),
    )
    def score(context: dg.OpExecutionContext, perfeval: PerfevalResource, ingested: list):
        """Peer benchmarks of each year, then scorecards, findings and result.json."""
        cfg = perfeval.settings()
        outcomes = list(ingested)
        usable = {o.key: o for o in ingested if o.status == USABLE}
        with Batch(cfg, list(usable), perfeval.workers) as batch:
            for o in batch.iter_score(usable):
                outcomes.append(o)
                if not o.ok:
                    perfeval.progress(_line(cfg, o))
                yield from events.score_events(cfg, o)
        yield dg.Output(outcomes, "scored")

    @dg.op(out={"feedback_form": dg.Out(is_required=False)}, tags=step_tags("report"))
    def report(context: dg.OpExecutionContext, perfeval: PerfevalResource, scored: list):
        """The forms and manifests; the province summary of each year; the run's verdict."""
        cfg = perfeval.settings()
        final: dict = {}
        for o in scored:
            final[o.key] = o
        ready = {o.key: o for o in scored if o.phase == "score" and o.ok}
        with Batch(cfg, list(final), perfeval.workers) as batch:
            for o in batch.iter_render(ready):
                final[o.key] = o if not o.ok else ready[o.key]
                perfeval.progress(_line(cfg, o if not o.ok else ready[o.key]))
                yield from events.render_events(cfg, o)
            for o in batch.iter_refresh():
                final[o.key] = o
                perfeval.progress(_line(cfg, o))
                yield from events.refresh_events(cfg, o)
            for year, path in batch.write_summaries(sorted({y for _, y in final})).items():
                counts = {"已评价 evaluated": sum(1 for k, o in final.items() if k[1] == year and o.ok)}
                yield events.summary_event(year, path, counts)
        bad = [o for o in final.values() if not o.ok]
        if bad:
            lines = [_line(cfg, o) for o in sorted(bad, key=lambda o: o.key)]
            raise dg.Failure(
                description=f"{len(bad)} 个部门年度未完成评价 (not evaluated):\n"
                + "\n".join(f"- {line}" for line in lines),
                metadata={"partitions": dg.MetadataValue.json([key(o.department, o.year) for o in bad])},
                allow_retries=False,
            )
        yield from ()

    feed_outputs = {specs.feed_key(f).to_user_string(): specs.feed_key(f) for f in contracts}

    @dg.graph(
        out={
            name: dg.GraphOut()
            for name in [
                *feed_outputs,
                *(f"{n}_contract" for n in feed_outputs),
                "quality_gate",
                "quality_gate_all_feeds_usable",
                "indicator_values",
                "peer_benchmarks",
                "scorecard",
                "findings",
                "feedback_form",
            ]
        }
    )
    def evaluation():
        ingested = ingest()
        scored = score(ingested.ingested)
        out = {
            name: getattr(ingested, name)
            for name in [
                *feed_outputs,
                *(f"{n}_contract" for n in feed_outputs),
                "quality_gate",
                "quality_gate_all_feeds_usable",
                "indicator_values",
            ]
        }
        out |= {
            "peer_benchmarks": scored.peer_benchmarks,
            "scorecard": scored.scorecard,
            "findings": scored.findings,
        }
        out["feedback_form"] = report(scored.scored)
        return out

    keys = {**feed_outputs, **{k.to_user_string(): k for k in specs.GROUPS}}
    deps = specs.internal_deps(contracts)
    descriptions = {
        name: specs.DESCRIPTIONS.get(k) or specs.feed_description(contracts[name.removesuffix("_feed")])
        for name, k in keys.items()
    }
    metadata = {
        **{
            name: {"dagster/column_schema": specs.column_schema(contracts[name.removesuffix("_feed")])}
            for name in feed_outputs
        },
        **{k.to_user_string(): {} for k in specs.GROUPS},
    }
    metadata["quality_gate"] = {"分区与部门 partitions": dg.MetadataValue.md(partitions.label_table())}
    kinds = {name: {"pandas", "parquet"} for name in feed_outputs} | {
        k.to_user_string(): v for k, v in specs.KINDS.items()
    }
    return dg.AssetsDefinition.from_graph(
        evaluation,
        keys_by_output_name=keys,
        internal_asset_deps={name: deps[k] for name, k in keys.items()},
        partitions_def=partitions.definition,
        backfill_policy=dg.BackfillPolicy.single_run(),
        check_specs=specs.check_specs(contracts, partitions.definition),
        group_names_by_output_name={name: specs.GROUPS.get(k, specs.INGEST) for name, k in keys.items()},
        descriptions_by_output_name=descriptions,
        metadata_by_output_name=metadata,
        tags_by_output_name={name: {f"dagster/kind/{kind}": "" for kind in kinds[name]} for name in keys},
        owners_by_output_name={name: specs.OWNERS for name in keys},
    )


def province_summary_spec(partitions: Partitions) -> dg.AssetSpec:
    """Written by the report step of every run (for the years the run touched)."""
    mapping = dg.StaticPartitionMapping({k: str(parse_key(k)[1]) for k in partitions.keys})
    return dg.AssetSpec(
        specs.PROVINCE_SUMMARY,
        deps=[dg.AssetDep(specs.FEEDBACK_FORM, partition_mapping=mapping)],
        partitions_def=partitions.years,
        group_name=specs.REPORTS,
        description=specs.DESCRIPTIONS[specs.PROVINCE_SUMMARY],
        kinds={"excel"},
        owners=specs.OWNERS,
    )
