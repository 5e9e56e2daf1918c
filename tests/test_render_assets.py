"""The report assets materialize forms and the province summary from result.json files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from perfeval_pipeline.orchestration import report_assets
from perfeval_pipeline.orchestration.partitions import partition_key, run_partitions
from perfeval_pipeline.store import Store

pytestmark = pytest.mark.gx  # report_assets imports the ingest stage

FIXTURE = Path(__file__).parent / "fixtures" / "result_jdz-zwsjj_2023.json"
YEAR = 2023


def test_report_assets_write_forms_and_summary(tmp_settings, monkeypatch):
    reports = tmp_settings.reports_dir / str(YEAR)
    (reports / "jdz-zwsjj").mkdir(parents=True)
    shutil.copy(FIXTURE, reports / "jdz-zwsjj" / "result.json")
    blocked = {
        "schema_version": 1,
        "department": "pxs-zwsjj",
        "year": YEAR,
        "status": "blocked",
        "header": {"department_name": "萍乡市政务服务数据管理局", "evaluation_date": None},
        "blocked_reasons": ["hotline: file missing"],
    }
    (reports / "pxs-zwsjj").mkdir()
    (reports / "pxs-zwsjj" / "result.json").write_text(
        json.dumps(blocked, ensure_ascii=False), encoding="utf-8"
    )
    evidence = pd.DataFrame(
        [
            {
                "indicator_id": "expenditure_total",
                "role": "value",
                "table": "financial.budget_lines",
                "_source_file": "financial.xlsx",
                "_source_sheet": "预算决算表",
                "_source_row": 2,
                "_row_hash": "abc",
                "amount": 37085100.0,
            }
        ]
    )
    Store(tmp_settings.store_dir).write("evidence", "indicators", "jdz-zwsjj", YEAR, evidence)
    # The quality gate is another stage's business: here every partition of the run is usable.
    monkeypatch.setattr(report_assets, "_usable_partitions", run_partitions)

    result = dg.materialize(
        report_assets.REPORT_ASSETS,
        partition_key=partition_key("jdz-zwsjj", YEAR),
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    form = result.asset_materializations_for_node("feedback_form")[0].metadata
    assert form["total"].value == 81.47 and form["grade"].value == "良"
    assert Path(form["docx"].value).exists() and Path(form["xlsx"].value).exists()
    assert "部门规划不够明确" in form["problems"].value
    wb = openpyxl.load_workbook(Path(form["xlsx"].value))
    assert "expenditure_total" in wb.sheetnames
    rows = list(
        openpyxl.load_workbook(reports / "summary.xlsx")["汇总"].iter_rows(min_row=3, values_only=True)
    )
    assert [r[1] for r in rows] == ["jdz-zwsjj", "pxs-zwsjj"]
    assert rows[1][-1] == "hotline: file missing"
