"""Quality stage: quarantine with reasons, row accounting, identity checks, and the ingest round trip."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.feeds.readers import RawTable, read_feed
from perfeval_pipeline.feeds.typing import type_table
from perfeval_pipeline.quality import build_suite, contract_checks, validate_feed, validate_table
from perfeval_pipeline.quality.stage import ingest_feed, load_clean, partition_quality_passed
from perfeval_pipeline.store import Store

pytestmark = pytest.mark.gx
DEPT, YEAR = "jdz-zwsjj", 2023

ASSETS_CSV = """资产编号,单位编码,资产名称,资产分类,数量,原值,取得日期,使用状态,是否贴标签
A001,JDZ001,台式电脑,通用设备,1,"5,800.00",2021-03-01,在用,是
A002,JDZ001,,通用设备,1,3000,2021-03-01,在用,是
A003,JDZ001,打印机,通用设备,1,2000,2021-03-01,丢失,是
A004,JDZ001,空调,通用设备,1,-100,2021-03-01,在用,否
A001,JDZ002,台式电脑,通用设备,1,5800,2021-03-01,在用,是
A005,JDZ001,会议桌,家具,2,800,2021-02-30,在用,是
A006,JDZ001,办公椅,家具,4,"1,200.50",2020/05/06,闲置,否
"""
HOTLINE_CSV = """工单编号,受理时间,办理时限,承办单位,诉求类别,办理状态
GD001,2023-03-01 09:00:00,2023-03-08 09:00:00,珠山区人民政府,城市管理,已办结
GD002,2023-03-02 10:30:00,2023-03-09 10:30:00,昌江区城市管理局,交通出行,已关闭
"""
BUDGET_HEADER = "年度,行号,单位编码,支出类型,经济分类,项目名称,年初预算,决算数\n"


@pytest.fixture(scope="module", autouse=True)
def great_expectations_loaded():
    """Pay the Great Expectations import once for the whole module."""
    import great_expectations  # noqa: F401


def land(root, year, department, name, text):
    folder = root / str(year) / department
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def read_typed(tmp_path, feed, name, text, year=YEAR, department=DEPT):
    folder = land(tmp_path, year, department, name, text)
    read = read_feed(folder, load_contracts()[feed], landing_root=tmp_path)
    assert read.issues == []
    return read, type_table(read.tables[load_contracts()[feed].main_table.name])


def test_suite_follows_the_contract():
    contract = load_contracts()["asset_register"].tables["assets"]
    checks = contract_checks(contract)
    kinds = {(c.expectation, c.columns) for c in checks}
    assert ("expect_column_values_to_not_be_null", ("label_attached",)) in kinds
    assert ("expect_column_values_to_be_in_set", ("status",)) in kinds
    assert ("expect_column_values_to_be_between", ("original_value",)) in kinds
    assert ("expect_column_values_to_be_unique", ("asset_id",)) in kinds
    assert ("expect_column_values_to_be_null", ("_parse_errors",)) in kinds
    survey = contract_checks(load_contracts()["evaluation"].tables["survey"])
    assert ("expect_compound_columns_to_be_unique", ("respondent_id", "question")) in {
        (c.expectation, c.columns) for c in survey
    }
    suite = build_suite(contract)
    assert [e.description for e in suite.expectations] == [c.reason for c in checks]


def test_row_accounting_and_reasons(tmp_path):
    _, typed = read_typed(tmp_path, "asset_register", "asset_register.csv", ASSETS_CSV)
    contract = load_contracts()["asset_register"].tables["assets"]
    q = validate_table(typed, contract, DEPT, YEAR)

    assert (q.rows_read, q.rows_kept, q.rows_quarantined) == (7, 2, 5)
    assert q.rows_read == q.rows_kept + q.rows_quarantined
    assert q.issues == [] and q.passed
    reasons = dict(zip(q.quarantine["_source_row"], q.quarantine["_reason"], strict=True))
    assert reasons == {
        3: "资产名称 (name) 为空 missing (required)",
        4: "使用状态 (status) 不在允许值内 not one of 在用/闲置/待处置/出借/出租/已处置",
        5: "原值 (original_value) 小于 0 below minimum 0",
        6: "资产编号 (asset_id) 重复 duplicate key (first occurrence kept)",
        7: "单元格无法解析 unparseable cell: acquired_date: cannot read '2021-02-30' as date",
    }
    # The first A001 (row 2) is kept; its repeat (row 6) is quarantined.
    assert q.clean["_source_row"].tolist() == [2, 8]
    pd.testing.assert_frame_equal(q.clean, typed.loc[[0, 6]])
    pd.testing.assert_frame_equal(q.quarantine.drop(columns="_reason"), typed.loc[[1, 2, 3, 4, 5]])
    assert {"_source_file", "_source_sheet", "_source_row", "_row_hash"} <= set(q.quarantine.columns)

    failed = {o.columns: o for o in q.outcomes if not o.success}
    assert set(failed) == {("name",), ("status",), ("original_value",), ("asset_id",), ("_parse_errors",)}
    duplicate = failed[("asset_id",)]
    assert (duplicate.unexpected_count, duplicate.rows_quarantined) == (2, 1)
    assert duplicate.samples == (f"{YEAR}/{DEPT}/asset_register.csv row 6",)
    first_failure = q.summary()["failed_expectations"][0]
    assert first_failure["reason"] == "资产名称 (name) 为空 missing (required)"


def test_reasons_accumulate_and_compound_keys_keep_the_first():
    contract = load_contracts()["evaluation"].tables["survey"]
    frame = pd.DataFrame(
        {
            "respondent_id": ["R1", "R1", "R1", "R2"],
            "question": ["Q1", "Q2", "Q1", "Q1"],
            "answer": ["满意", "是", "", "否"],  # the reader gives "" for empty cells
        }
    ).assign(
        _source_file="2023/jdz-zwsjj/evaluation.xlsx",
        _source_sheet="满意度调查",
        _source_row=[2, 3, 4, 5],
        _row_hash="h",
    )
    typed = type_table(RawTable(contract, frame, "2023/jdz-zwsjj/evaluation.xlsx", "满意度调查"))
    q = validate_table(typed, contract, DEPT, YEAR)
    assert q.clean["_source_row"].tolist() == [2, 3, 5]
    assert q.quarantine["_reason"].tolist() == [
        "回答 (answer) 为空 missing (required); 问卷编号 (respondent_id) + 题目 (question) 重复 duplicate key (first occurrence kept)"
    ]
    failed = [o for o in q.outcomes if not o.success]
    assert failed[1].samples == ("2023/jdz-zwsjj/evaluation.xlsx sheet 满意度调查 row 4",)


def test_identity_mismatch_is_structural(tmp_path, xlsx):
    folder = tmp_path / "2024" / "srs-zwsjj"
    xlsx(
        folder / "evaluation.xlsx",
        {
            "基本情况": [
                ["部门编码", "评价年度", "评价机构", "评价日期", "职能概述", "在职人数"],
                ["srs-zwsjj", 2023, "某事务所", "2024-05-01", "政务服务", 60],
            ]
        },
    )
    read = read_feed(folder, load_contracts()["evaluation"], landing_root=tmp_path)
    q = validate_feed(read, "srs-zwsjj", 2024)
    assert not q.passed
    profile = q.tables["profile"]
    assert [str(i) for i in profile.issues] == [
        "2024/srs-zwsjj/evaluation.xlsx sheet 基本情况 row 2 column year: file is for 2023, folder is 2024"
    ]
    assert profile.rows_kept == 1  # a structural failure blocks the feed; it does not quarantine rows
    assert str(profile.issues[0]) in q.summary()["structural_issues"]

    other = validate_table(type_table(read.tables["profile"]), profile.contract, "jdz-zwsjj", 2023)
    assert [i.message for i in other.issues] == ["file is for srs-zwsjj, folder is jdz-zwsjj"]


def test_ingest_round_trip(tmp_settings):
    landing = tmp_settings.landing_dir
    land(landing, YEAR, DEPT, "hotline.csv", HOTLINE_CSV)
    budget = BUDGET_HEADER + "2023,L1,JDZ001,基本支出,工资福利支出,工资,100,90\n"
    land(landing, YEAR, DEPT, "financial.csv", budget)  # no ledger: a structural issue
    store = Store(tmp_settings.store_dir)

    hotline = ingest_feed("hotline", DEPT, YEAR)  # settings from the PERFEVAL_* variables
    assert hotline.passed
    assert json.loads(json.dumps(hotline.summary()))["tables"]["hotline.tickets"]["rows_quarantined"] == 1
    raw = store.read("raw", "hotline.tickets", DEPT, YEAR)
    assert raw["status"].tolist() == ["已办结", "已关闭"]
    quarantine = store.read("quarantine", "hotline.tickets", DEPT, YEAR)
    assert quarantine["_source_row"].tolist() == [3]
    assert "办理状态 (status)" in quarantine["_reason"].iloc[0]
    clean = load_clean("hotline.tickets", DEPT, YEAR, store)
    assert clean["ticket_id"].tolist() == ["GD001"]
    assert clean["received_at"].dtype.kind == "M"

    financial = ingest_feed("financial", DEPT, YEAR, tmp_settings, store)
    assert not financial.passed
    summary = store.read("quality", "financial", DEPT, YEAR).set_index("table")
    assert summary.loc["financial.budget_lines", ["rows_read", "rows_kept", "passed"]].tolist() == [
        1,
        1,
        True,
    ]
    assert not summary.loc["financial.ledger", "passed"]
    assert "支出明细账 (ledger) not found" in summary.loc["financial", "structural_issues"]
    lines = load_clean("financial.budget_lines", DEPT, YEAR, store)
    assert lines[["department", "year", "final_amount"]].values.tolist() == [[DEPT, YEAR, 90.0]]
    # Absent optional tables are stored empty with their typed columns.
    estimates = load_clean("financial.project_estimates", DEPT, YEAR, store)
    assert len(estimates) == 0
    assert str(estimates["project_budget"].dtype) == "Float64"
    assert str(estimates["funding_needed"].dtype) == "boolean"

    ok, reasons = partition_quality_passed(DEPT, YEAR, store, feeds=("hotline",))
    assert (ok, reasons) == (True, [])
    ok, reasons = partition_quality_passed(DEPT, YEAR, store)
    assert not ok
    assert any(r.startswith("financial: ") and "ledger" in r for r in reasons)
    assert f"evaluation: no quality summary for {DEPT} {YEAR} (not ingested, or ingest failed)" in reasons

    # A removed landing file leaves no stale rows behind.
    (landing / str(YEAR) / DEPT / "hotline.csv").unlink()
    assert not ingest_feed("hotline", DEPT, YEAR).passed
    assert len(load_clean("hotline.tickets", DEPT, YEAR, store)) == 0
    assert partition_quality_passed(DEPT, YEAR, store, feeds=("hotline",))[0] is False
