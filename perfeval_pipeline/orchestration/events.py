"""Each partition's own truth as Dagster events: one materialization per asset and partition with
that partition's metadata (its totals, grade, row counts, form paths, trace commands; nothing of
another partition), and one check evaluation per check and partition. A blocked or failed
partition gets no materialization of the assets it did not reach.

Metadata stays small (a few numbers and short texts per event): every event is stored twice in
DAGSTER_HOME (run and asset index), 660 partitions × ~17 events. The detail (deductions, failed
expectations with sample rows, findings) is in the partition's result.json, linked from the events."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perfeval_pipeline.batch.phases import USABLE, Outcome
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.orchestration import specs
from perfeval_pipeline.orchestration.partitions import key

SHORT = 300  # characters of a text metadata value


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def _common(settings: Settings, o: Outcome) -> dict:
    return {"部门 department": f"{settings.department(o.department).name}（{o.department}）"}


def trace_command(o: Outcome, what: str = "") -> str:
    return f"perfeval trace {o.department} {o.year}" + (f" {what}" if what else "")


def _result_json(settings: Settings, o: Outcome) -> dg.MetadataValue:
    return dg.MetadataValue.path(str(settings.report_folder(o.department, o.year) / "result.json"))


def ingest_events(settings: Settings, o: Outcome) -> list:
    """Feed materializations and their contract checks; the quality gate and its check; the
    indicator values when the partition is usable."""
    pk = key(o.department, o.year)
    common = _common(settings, o)
    events: list = []
    quality = o.detail.get("quality", {})
    for feed in settings.contracts:
        fq = quality.get("feeds", {}).get(feed)
        if fq is None:
            continue
        asset = specs.feed_key(feed)
        issues = fq["structural_issues"]
        failed = [
            f"{e['reason']} ×{e['rows_quarantined']}"
            for t in fq["tables"].values()
            for e in t["failed_expectations"]
        ]
        # A feed that is missing or structurally unusable is not materialized: its check says why.
        if fq["files"] and not issues:
            events.append(
                dg.AssetMaterialization(
                    asset,
                    partition=pk,
                    metadata={
                        **common,
                        "dagster/row_count": fq["rows_kept"],
                        "隔离行数 rows_quarantined": fq["rows_quarantined"],
                        **({"未读取行数 rows_reported": fq["rows_reported"]} if fq["rows_reported"] else {}),
                        "文件 files": _short(
                            "; ".join(f"{f['path']} sha256 {f['sha256'][:12]}" for f in fq["files"])
                        ),
                    },
                )
            )
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=asset,
                check_name="contract",
                passed=not issues,
                partition=pk,
                severity=dg.AssetCheckSeverity.ERROR,
                # A passing check says nothing more (every event is stored twice, see above).
                metadata={}
                if not (issues or failed)
                else {
                    **common,
                    **({"结构问题 structural_issues": _short("；".join(issues))} if issues else {}),
                    **({"隔离规则 quarantined_by": _short("；".join(failed))} if failed else {}),
                    "详情 details": _result_json(settings, o),
                },
            )
        )
    usable = o.status == USABLE
    events.append(
        dg.AssetCheckEvaluation(
            asset_key=specs.QUALITY_GATE,
            check_name="all_feeds_usable",
            passed=usable,
            partition=pk,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={**common, "阻断原因 blocked_reasons": _short("；".join(o.reasons))}
            if o.reasons
            else {},
        )
    )
    if usable:
        events.append(
            dg.AssetMaterialization(
                specs.QUALITY_GATE, partition=pk, metadata={**common, "可评价 usable": True}
            )
        )
        ind = o.detail.get("indicators", {})
        not_computable = ind.get("not_computable", {})
        events.append(
            dg.AssetMaterialization(
                specs.INDICATOR_VALUES,
                partition=pk,
                metadata={
                    **common,
                    "dagster/row_count": ind.get("count", 0),
                    "可计算 computable": ind.get("computable", 0),
                    "证据行数 evidence_rows": ind.get("evidence_rows", 0),
                    "无法计算 not_computable": _short("、".join(not_computable) or "无 none"),
                    "溯源 trace": trace_command(o, "<指标或数字>"),
                },
            )
        )
    return events


def score_events(settings: Settings, o: Outcome) -> list:
    if not o.ok:
        return []
    pk = key(o.department, o.year)
    common = _common(settings, o)
    d = o.detail
    means = "；".join(
        f"{b['indicator_id']} {b['mean']:.4g}" if b["mean"] is not None else f"{b['indicator_id']} —"
        for b in d["benchmarks"]
    )
    rect = d["rectification"]
    return [
        dg.AssetMaterialization(
            specs.PEER_BENCHMARKS,
            partition=pk,
            metadata={**common, "同组均值 means": _short(means or "无 none")},
        ),
        dg.AssetMaterialization(
            specs.SCORECARD,
            partition=pk,
            metadata={
                **common,
                "总分 total": float(d["total"]),
                "评价结论 grade": d["grade"],
                **{f"{lvl['name']} score": float(lvl["score"]) for lvl in d["levels"]},
                "扣分指标数 deducted": len(d["deductions"]),
                "溯源 trace": trace_command(o),
            },
        ),
        dg.AssetMaterialization(
            specs.FINDINGS,
            partition=pk,
            metadata={
                **common,
                "问题条数 problem_items": sum(p["items"] for p in d["problems"]),
                "整改跟踪 rectification": _short(
                    rect["reason"]
                    or "；".join(f"{k} {v}" for k, v in rect["statuses"].items())
                    or "上年无问题"
                ),
                "result.json": _result_json(settings, o),
            },
        ),
    ]


def _form_metadata(settings: Settings, o: Outcome) -> dict:
    d = o.detail
    return {
        **_common(settings, o),
        "总分 total": float(d["total"]),
        "评价结论 grade": d["grade"],
        "反馈表 docx": dg.MetadataValue.path(d["docx"]),
        "评分表 xlsx": dg.MetadataValue.path(d["xlsx"]),
        "核对 verify": f"perfeval verify {Path(d['docx']).parent}",
    }


def render_events(settings: Settings, o: Outcome) -> list:
    if not o.ok:
        return []
    return [
        dg.AssetMaterialization(
            specs.FEEDBACK_FORM, partition=key(o.department, o.year), metadata=_form_metadata(settings, o)
        )
    ]


def refresh_events(settings: Settings, o: Outcome) -> list:
    """A later year re-composed because an earlier year of its department changed in this run."""
    if not o.ok:
        return []
    why = {"更新原因 refreshed_because": f"{o.department} 之前年度的评价结果已更新（整改跟踪、历年得分）"}
    pk = key(o.department, o.year)
    return [
        dg.AssetMaterialization(
            specs.FINDINGS,
            partition=pk,
            metadata={
                **_common(settings, o),
                **why,
                "整改跟踪 rectification": _short(o.detail["rectification"]),
            },
        ),
        dg.AssetMaterialization(
            specs.FEEDBACK_FORM, partition=pk, metadata={**_form_metadata(settings, o), **why}
        ),
    ]


def summary_event(year: int, path: str, counts: dict[str, int]) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(
        specs.PROVINCE_SUMMARY,
        partition=str(year),
        metadata={"汇总表 summary": dg.MetadataValue.path(path), **counts},
    )
