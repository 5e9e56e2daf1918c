"""Report assets: the feedback form per department-year and the province summary per year. They
loop over the run's partitions like the assets in assets.py and call perfeval_pipeline.render.stage."""

import dagster as dg

from perfeval_pipeline.config import settings
from perfeval_pipeline.formatting import decimal
from perfeval_pipeline.lineage.manifest import write_manifest
from perfeval_pipeline.orchestration.assets import (
    _store,
    _usable_partitions,
    department_year_asset,
    findings,
)
from perfeval_pipeline.orchestration.metadata import markdown_table, partition_label
from perfeval_pipeline.orchestration.partitions import run_partitions
from perfeval_pipeline.render.stage import render_partition, render_year_summary
from perfeval_pipeline.render.summary import grade_distribution, ranked
from perfeval_pipeline.scoring.score import load_grade_bands


@department_year_asset(
    group_name="reports",
    deps=[findings],
    kinds={"docx", "excel"},
    description="The 财政支出绩效评价结果反馈表 as Word (header, 基本情况, 主要绩效情况, 存在问题, 相关建议, score "
    "chart) and its scoring workbook (评分表, 统计指标, one evidence sheet per indicator), written "
    "next to result.json as feedback_form.docx/.xlsx. Same result.json → byte-identical files.",
)
def feedback_form(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    rows, problems, forms = [], [], []
    for department, year in _usable_partitions(context):
        form = render_partition(department, year, _store())
        label = partition_label(department, year)
        if form is None:
            context.log.warning(f"{label}: result.json is blocked, no form written")
            continue
        forms.append(form)
        # Last: the manifest hashes the rendered files too.
        manifest = write_manifest(department, year)
        rows.append(
            {
                "partition": label,
                "total": form.result["total_score"],
                "grade": form.result["grade"],
                "docx": str(form.docx),
                "xlsx": str(form.xlsx),
                "manifest": str(manifest),
                "seconds (chart/docx/xlsx)": "/".join(f"{s:.2f}" for s in form.seconds.values()),
            }
        )
        problems += [
            {"partition": label, "no": g["no"], "title": g["title"], "items": len(g["items"])}
            for g in form.result["problems"]
        ]
    metadata = {
        "forms": dg.MetadataValue.md(
            markdown_table(
                rows, ["partition", "total", "grade", "docx", "xlsx", "manifest", "seconds (chart/docx/xlsx)"]
            )
        ),
        "problems": dg.MetadataValue.md(markdown_table(problems, ["partition", "no", "title", "items"])),
    }
    if len(forms) == 1:  # a single partition: show its figures as first-class metadata
        form = forms[0]
        metadata |= {
            "total": form.result["total_score"],
            "grade": form.result["grade"],
            "docx": dg.MetadataValue.path(str(form.docx)),
            "xlsx": dg.MetadataValue.path(str(form.xlsx)),
        }
    return dg.MaterializeResult(metadata=metadata)


@department_year_asset(
    group_name="reports",
    deps=[feedback_form],
    kinds={"excel"},
    description="Province overview reports/{year}/summary.xlsx: every department's total, grade and level-1 "
    "subtotals, best first; blocked departments with the reason; the grade distribution. Each "
    "run rewrites the summary of its years from all result.json files present.",
)
def province_summary(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    grades = [b["grade"] for b in load_grade_bands().bands]
    rows, distribution = [], []
    for year in sorted({year for _, year in run_partitions(context)}):
        written = render_year_summary(year, settings())
        if written is None:
            context.log.warning(f"{year}: no result.json yet, no summary written")
            continue
        path, results = written
        evaluated, blocked = ranked(results)
        rows.append(
            {
                "year": year,
                "summary": str(path),
                "evaluated": len(evaluated),
                "blocked": len(blocked),
                "best": f"{evaluated[0]['department']} {decimal(evaluated[0]['total_score'])}"
                if evaluated
                else "",
            }
        )
        distribution += [
            {"year": year, "grade": g, "departments": n} for g, n in grade_distribution(results, grades)
        ]
    return dg.MaterializeResult(
        metadata={
            "summaries": dg.MetadataValue.md(
                markdown_table(rows, ["year", "summary", "evaluated", "blocked", "best"])
            ),
            "grade distribution": dg.MetadataValue.md(
                markdown_table(distribution, ["year", "grade", "departments"])
            ),
        }
    )


REPORT_ASSETS = [feedback_form, province_summary]
