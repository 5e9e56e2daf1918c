"""Each partition's own truth as Dagster events: one materialization per asset and partition with
that partition's metadata (its totals, grade, row counts, form paths, trace commands; nothing of
another partition), and one check evaluation per check and partition. A blocked or failed
partition gets no materialization of the assets it did not reach."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from perfeval_pipeline.batch.phases import USABLE, Outcome
from perfeval_pipeline.catalog import rows_dataset
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.orchestration import specs
from perfeval_pipeline.orchestration.partitions import key

SAMPLE_ROWS = 5


def md_table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "_(无 none)_"
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(r.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in columns) + " |\n"
        for r in rows
    )
    return head + body


def _common(settings: Settings, o: Outcome) -> dict:
    dept = settings.department(o.department)
    return {"部门 department": f"{dept.name}（{o.department}）", "年度 year": o.year}


def trace_command(o: Outcome, what: str = "") -> str:
    return f"perfeval trace {o.department} {o.year}" + (f" {what}" if what else "")


def ingest_events(settings: Settings, o: Outcome) -> list:
    """Feed materializations and their contract checks; the quality gate and its check; the
    indicator values when the partition is usable."""
    pk = key(o.department, o.year)
    common = _common(settings, o)
    events: list = []
    quality = o.detail.get("quality", {})
    for feed, contract in settings.contracts.items():
        fq = quality.get("feeds", {}).get(feed)
        asset = specs.feed_key(feed)
        if fq is None:
            continue
        tables = list(fq["tables"].values())
        failed = [
            {
                "表 table": t["table"],
                "问题 reason": e["reason"],
                "行数 rows": e["rows_quarantined"],
                "示例 samples": "; ".join(e["samples"][:3]),
            }
            for t in tables
            for e in t["failed_expectations"]
        ]
        metadata = {
            **common,
            "读取行数 rows_read": fq["rows_read"],
            "保留行数 rows_kept": fq["rows_kept"],
            "隔离行数 rows_quarantined": fq["rows_quarantined"],
            "未读取行数 rows_reported": fq["rows_reported"],
            "dagster/row_count": fq["rows_kept"],
            "文件 files": dg.MetadataValue.md(
                md_table(
                    [
                        {"文件 file": f["path"], "sha256": f["sha256"][:16], "字节 bytes": f["bytes"]}
                        for f in fq["files"]
                    ],
                    ["文件 file", "sha256", "字节 bytes"],
                )
            ),
            "各表 tables": dg.MetadataValue.md(
                md_table(
                    [
                        {
                            "表 table": t["table"],
                            "读取 read": t["rows_read"],
                            "保留 kept": t["rows_kept"],
                            "隔离 quarantined": t["rows_quarantined"],
                            "未读取 reported": t["rows_reported"],
                        }
                        for t in tables
                    ],
                    ["表 table", "读取 read", "保留 kept", "隔离 quarantined", "未读取 reported"],
                )
            ),
            "SQL": dg.MetadataValue.text(
                f'perfeval sql "SELECT * FROM {rows_dataset(contract.main_table.qualified_name).view} '
                f"WHERE department = '{o.department}' AND year = {o.year}\""
            ),
        }
        issues = fq["structural_issues"]
        # A feed that is missing or structurally unusable is not materialized: its check says why.
        if fq["files"] and not issues:
            events.append(dg.AssetMaterialization(asset, partition=pk, metadata=metadata))
        events.append(
            dg.AssetCheckEvaluation(
                asset_key=asset,
                check_name="contract",
                passed=not issues,
                partition=pk,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    **common,
                    "结构问题 structural_issues": dg.MetadataValue.md(
                        "\n".join(f"- {i}" for i in issues) or "_(无 none)_"
                    ),
                    "隔离规则 failed_expectations": dg.MetadataValue.md(
                        md_table(failed, ["表 table", "问题 reason", "行数 rows", "示例 samples"])
                    ),
                    "行数核对 read = kept + quarantined + reported": all(
                        t["rows_read"] == t["rows_kept"] + t["rows_quarantined"] + t["rows_reported"]
                        for t in tables
                    ),
                },
            )
        )
    usable = o.status == USABLE
    reasons = o.reasons
    events.append(
        dg.AssetCheckEvaluation(
            asset_key=specs.QUALITY_GATE,
            check_name="all_feeds_usable",
            passed=usable,
            partition=pk,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                **common,
                "阻断原因 blocked_reasons": dg.MetadataValue.md(
                    "\n".join(f"- {r}" for r in reasons) or "_(无 none)_"
                ),
            },
        )
    )
    if usable:
        events.append(
            dg.AssetMaterialization(
                specs.QUALITY_GATE,
                partition=pk,
                metadata={
                    **common,
                    "可评价 usable": True,
                    "忽略的文件 ignored_files": ", ".join(quality.get("ignored_files", [])) or "—",
                },
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
                    "指标数 indicators": ind.get("count", 0),
                    "可计算 computable": ind.get("computable", 0),
                    "证据行数 evidence_rows": ind.get("evidence_rows", 0),
                    "dagster/row_count": ind.get("count", 0),
                    "无法计算 not_computable": dg.MetadataValue.md(
                        md_table(
                            [{"指标 indicator": k, "原因 reason": v} for k, v in not_computable.items()],
                            ["指标 indicator", "原因 reason"],
                        )
                    ),
                    "溯源 trace": dg.MetadataValue.text(trace_command(o, "<指标或数字>")),
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
    bench = [
        {
            "指标 indicator": b["indicator_id"],
            "同组 group": "、".join(b["groups"]),
            "均值 mean": b["mean"],
            "来源 source": b["source"],
        }
        for b in d["benchmarks"]
    ]
    levels = {f"{lvl['name']} score": float(lvl["score"]) for lvl in d["levels"]}
    return [
        dg.AssetMaterialization(
            specs.PEER_BENCHMARKS,
            partition=pk,
            metadata={
                **common,
                "同组基准 benchmarks": dg.MetadataValue.md(
                    md_table(bench, ["指标 indicator", "同组 group", "均值 mean", "来源 source"])
                ),
            },
        ),
        dg.AssetMaterialization(
            specs.SCORECARD,
            partition=pk,
            metadata={
                **common,
                "总分 total": float(d["total"]),
                "评价结论 grade": d["grade"],
                **levels,
                "扣分 deductions": dg.MetadataValue.md(
                    md_table(
                        [
                            {"指标 id": x["id"], "扣分 deduction": x["deduction"], "原因 reason": x["reason"]}
                            for x in d["deductions"]
                        ],
                        ["指标 id", "扣分 deduction", "原因 reason"],
                    )
                ),
                "溯源 trace": dg.MetadataValue.text(trace_command(o)),
            },
        ),
        dg.AssetMaterialization(
            specs.FINDINGS,
            partition=pk,
            metadata={
                **common,
                "问题条数 problem_items": sum(p["items"] for p in d["problems"]),
                "存在问题 problems": dg.MetadataValue.md(md_table(d["problems"], ["no", "title", "items"])),
                "整改跟踪 rectification": dg.MetadataValue.json(d["rectification"]),
                "result.json": dg.MetadataValue.path(
                    str(settings.report_folder(o.department, o.year) / "result.json")
                ),
            },
        ),
    ]


def render_events(settings: Settings, o: Outcome) -> list:
    if not o.ok:
        return []
    d = o.detail
    return [
        dg.AssetMaterialization(
            specs.FEEDBACK_FORM,
            partition=key(o.department, o.year),
            metadata={
                **_common(settings, o),
                "总分 total": float(d["total"]),
                "评价结论 grade": d["grade"],
                "反馈表 docx": dg.MetadataValue.path(d["docx"]),
                "评分表 xlsx": dg.MetadataValue.path(d["xlsx"]),
                "反馈表链接 docx_link": dg.MetadataValue.url(Path(d["docx"]).as_uri()),
                "manifest": dg.MetadataValue.path(d["manifest"]),
                "核对 verify": dg.MetadataValue.text(f"perfeval verify {Path(d['docx']).parent}"),
                **{f"耗时 seconds {k}": float(v) for k, v in d["seconds"].items()},
            },
        )
    ]


def refresh_events(settings: Settings, o: Outcome) -> list:
    """A later year re-composed because an earlier year of its department changed in this run."""
    if not o.ok:
        return []
    why = {"更新原因 refreshed_because": f"{o.department} 之前年度的评价结果已更新（整改跟踪、历年得分）"}
    findings = dg.AssetMaterialization(
        specs.FINDINGS,
        partition=key(o.department, o.year),
        metadata={**_common(settings, o), **why, "整改跟踪 rectification": o.detail["rectification"]},
    )
    form = render_events(settings, o)[0]
    return [findings, form._replace(metadata={**form.metadata, **why})]


def summary_event(year: int, path: str, counts: dict[str, int]) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(
        specs.PROVINCE_SUMMARY,
        partition=str(year),
        metadata={"汇总表 summary": dg.MetadataValue.path(path), **{f"{k}": v for k, v in counts.items()}},
    )
