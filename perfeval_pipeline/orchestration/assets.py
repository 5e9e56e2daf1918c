"""Asset and check definitions. Each asset loops over the run's partitions (one, or many in a
single-run backfill), calls its stage function and writes to the store itself; Dagster records
metadata. No evaluation logic lives here."""

import warnings

import dagster as dg

from perfeval_pipeline.config import settings
from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.findings.stage import report_dir, run_findings, write_blocked
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.indicators.stage import run_indicators
from perfeval_pipeline.lineage.metadata import (
    feed_metadata,
    findings_metadata,
    indicator_values_metadata,
    scorecard_metadata,
)
from perfeval_pipeline.orchestration.metadata import markdown_table, partition_label
from perfeval_pipeline.orchestration.partitions import department_year_partitions, run_partitions
from perfeval_pipeline.quality.stage import ingest_feed, partition_quality_passed, quality_report
from perfeval_pipeline.scoring.stage import run_scoring
from perfeval_pipeline.store import Store

# backfill_policy is marked beta; it is what lets one run cover a whole backfill.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

PARTITIONS = department_year_partitions()
# One run may cover many partitions: Dagster then starts one process (and imports GX once)
# for the whole backfill instead of once per department-year.
SINGLE_RUN = dg.BackfillPolicy.single_run()
OWNERS = ["team:perfeval"]


def department_year_asset(**kwargs):
    """@dg.asset for the department × year graph: partitions, single-run backfills, owners."""
    return dg.asset(partitions_def=PARTITIONS, backfill_policy=SINGLE_RUN, owners=OWNERS, **kwargs)


def _store() -> Store:
    return Store(settings().store_dir)


def _passed(department: str, year: int) -> tuple[bool, list[str]]:
    return partition_quality_passed(department, year, _store())


def _check_severity(failed: int, total: int) -> dg.AssetCheckSeverity:
    """Fail hard (blocking downstream) only when no partition of the run is usable; in a
    multi-partition run the usable partitions go on and the blocked ones skip themselves."""
    return dg.AssetCheckSeverity.ERROR if failed == total else dg.AssetCheckSeverity.WARN


def feed_asset(feed: str) -> dg.AssetsDefinition:
    contract = load_contracts()[feed]
    key = dg.AssetKey(f"{feed}_feed")

    @department_year_asset(
        key=key,
        group_name="ingest",
        kinds={"pandas", "parquet"},
        description=(
            f"{contract.title}: reads data/landing/{{year}}/{{department}}/{feed}.xlsx|csv through the feed "
            f"contract (Chinese header aliases, units), types every cell, validates with Great Expectations, "
            f"and stores raw, clean and quarantined rows with their source file, sheet and row."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                "contract",
                asset=key,
                blocking=True,
                description=f"{contract.title} matches its contract: no structural failure (missing required "
                f"column, unreadable file, wrong department/year). Row-level failures are quarantined "
                f"and counted; the check's metadata lists each failed expectation with sample rows.",
            )
        ],
    )
    def _feed(context: dg.AssetExecutionContext):
        results, failed_partitions, rows, lineage = [], [], [], {}
        for department, year in run_partitions(context):
            quality = ingest_feed(feed, department, year, settings(), _store())
            # Schemas are the same for every partition; the last one describes the asset.
            lineage = feed_metadata(feed, {n: t.clean for n, t in quality.tables.items()}, department, year)
            summary = quality.summary()
            results.append(summary)
            label = partition_label(department, year)
            if not quality.passed:
                failed_partitions.append(label)
                context.log.error(f"{feed} {label} blocked: " + "; ".join(summary["structural_issues"]))
            rows.append(
                {
                    "partition": label,
                    "read": summary["rows_read"],
                    "kept": summary["rows_kept"],
                    "quarantined": summary["rows_quarantined"],
                    "passed": quality.passed,
                }
            )
        failures = [
            {
                "partition": f"{r['department']}|{r['year']}",
                "table": t,
                "expectation": o["reason"],
                "rows": o["rows_quarantined"],
                "samples": "; ".join(o["samples"][:3]),
            }
            for r in results
            for t, ts in r["tables"].items()
            for o in ts["failed_expectations"]
        ]
        yield dg.MaterializeResult(
            metadata={
                **lineage,
                "rows_read": sum(r["rows_read"] for r in results),
                "rows_kept": sum(r["rows_kept"] for r in results),
                "rows_quarantined": sum(r["rows_quarantined"] for r in results),
                "dagster/row_count": sum(r["rows_kept"] for r in results),
                "partitions": dg.MetadataValue.md(
                    markdown_table(rows, ["partition", "read", "kept", "quarantined", "passed"])
                ),
            }
        )
        yield dg.AssetCheckResult(
            check_name="contract",
            passed=not failed_partitions,
            severity=_check_severity(len(failed_partitions), len(results)),
            metadata={
                "blocked_partitions": dg.MetadataValue.json(failed_partitions),
                "structural_issues": dg.MetadataValue.md(
                    "\n".join(f"- {i}" for r in results for i in r["structural_issues"]) or "_(none)_"
                ),
                "failed_expectations": dg.MetadataValue.md(
                    markdown_table(failures, ["partition", "table", "expectation", "rows", "samples"])
                ),
                "rows_read = kept + quarantined": all(
                    r["rows_read"] == r["rows_kept"] + r["rows_quarantined"] for r in results
                ),
            },
        )

    return _feed


FEED_ASSETS = [feed_asset(feed) for feed in load_contracts()]


@department_year_asset(
    group_name="quality",
    deps=[a.key for a in FEED_ASSETS],
    kinds={"python"},
    description="Quality gate per department-year: usable only if every required feed was ingested without a "
    "structural failure. Blocked partitions get a result.json that says why; later stages skip them.",
    check_specs=[
        dg.AssetCheckSpec(
            "all_feeds_usable",
            asset="quality_gate",
            blocking=True,
            description="Every required feed of the partition passed its contract check.",
        )
    ],
)
def quality_gate(context: dg.AssetExecutionContext):
    rows, blocked = [], []
    for department, year in run_partitions(context):
        ok, reasons = _passed(department, year)
        label = partition_label(department, year)
        if not ok:
            blocked.append(label)
            write_blocked(department, year, reasons)
            context.log.warning(f"{label} blocked: " + "; ".join(reasons))
        rows.append({"partition": label, "usable": ok, "reasons": "; ".join(reasons)})
    yield dg.MaterializeResult(
        metadata={
            "gate": dg.MetadataValue.md(markdown_table(rows, ["partition", "usable", "reasons"])),
            "blocked_partitions": dg.MetadataValue.json(blocked),
        }
    )
    yield dg.AssetCheckResult(
        check_name="all_feeds_usable",
        passed=not blocked,
        severity=_check_severity(len(blocked), len(rows)),
        metadata={"blocked_partitions": dg.MetadataValue.json(blocked)},
    )


def _usable_partitions(context: dg.AssetExecutionContext) -> list[tuple[str, int]]:
    usable = []
    for department, year in run_partitions(context):
        ok, reasons = _passed(department, year)
        if ok:
            usable.append((department, year))
        else:
            context.log.warning(f"skipping {department}|{year}: " + "; ".join(reasons))
    return usable


@department_year_asset(
    group_name="indicators",
    deps=[quality_gate],
    kinds={"pandas", "parquet"},
    description="Every indicator and statistic of the department's framework (assets_config/frameworks), with "
    "numerator, denominator, per-unit breakdown and the source rows behind it (evidence).",
)
def indicator_values(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    rows, lineage, total_rows = [], {}, 0
    for department, year in _usable_partitions(context):
        results = run_indicators(department, year, _store())
        frame = results.to_frame()
        total_rows += len(frame)
        framework = load_framework(settings().department(department).framework)
        lineage = indicator_values_metadata(frame, results.evidence, framework, department, year)
        for v in results.values:
            rows.append(
                {
                    "partition": partition_label(department, year),
                    "id": v.id,
                    "name": v.name,
                    "value": v.display,
                    "numerator": v.numerator,
                    "denominator": v.denominator,
                    "evidence rows": v.evidence_rows,
                    "note": v.reason or "",
                }
            )
    metadata = {
        "indicators": dg.MetadataValue.md(
            markdown_table(
                rows,
                ["partition", "id", "name", "value", "numerator", "denominator", "evidence rows", "note"],
            )
        )
    }
    metadata |= {**lineage, "dagster/row_count": total_rows} if lineage else {}
    return dg.MaterializeResult(metadata=metadata)


@department_year_asset(
    group_name="scoring",
    deps=[indicator_values],
    kinds={"pandas", "parquet"},
    description="Points per indicator by its scoring rule minus workpaper deductions, level subtotals, total and "
    "grade. Peer-group targets read the peers' own stored indicator values.",
)
def scorecard(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    lineage: dict = {}
    totals, detail = [], []
    for department, year in _usable_partitions(context):
        card = run_scoring(department, year, _store())
        lineage = scorecard_metadata(card.to_frame(), department, year)
        label = partition_label(department, year)
        totals.append(
            {
                "partition": label,
                "total": f"{card.total:.2f}",
                "grade": card.grade,
                **{lvl["name"]: f"{lvl['score']:.2f}/{lvl['points']:g}" for lvl in card.level1},
            }
        )
        detail += [
            {
                "partition": label,
                "id": s.id,
                "score": f"{s.score:.2f}/{s.points:g}",
                "reason": s.deduction_reason,
            }
            for s in card.indicators
            if s.deduction > 0
        ]
    cols = list(totals[0]) if totals else ["partition", "total", "grade"]
    return dg.MaterializeResult(
        metadata={
            **lineage,
            "scores": dg.MetadataValue.md(markdown_table(totals, cols)),
            "deductions": dg.MetadataValue.md(markdown_table(detail, ["partition", "id", "score", "reason"])),
        }
    )


@department_year_asset(
    group_name="findings",
    deps=[scorecard],
    kinds={"python", "json"},
    description="Narrative, 存在问题 and 相关建议 from the templates in assets_config/findings.yaml, each citing its "
    "figures; writes reports/{year}/{department}/result.json.",
)
def findings(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    rows, preview, lineage = [], [], {}
    for department, year in _usable_partitions(context):
        result = run_findings(department, year, _store(), quality_report(department, year, _store()))
        label = partition_label(department, year)
        folder = report_dir(settings(), department, year)
        lineage = findings_metadata(
            _store().read("findings", "items", department, year), department, year, str(folder)
        )
        rows.append(
            {
                "partition": label,
                "total": result["total_score"],
                "grade": result["grade"],
                "problems": sum(len(g["items"]) for g in result["problems"]),
                "result": str(report_dir(settings(), department, year) / "result.json"),
            }
        )
        preview += [{"partition": label, "no": g["no"], "title": g["title"]} for g in result["problems"]]
    return dg.MaterializeResult(
        metadata={
            **lineage,
            "results": dg.MetadataValue.md(
                markdown_table(rows, ["partition", "total", "grade", "problems", "result"])
            ),
            "findings preview": dg.MetadataValue.md(markdown_table(preview, ["partition", "no", "title"])),
        }
    )
