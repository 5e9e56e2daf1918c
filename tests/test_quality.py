"""The quality stage through its core API (no Dagster): row accounting, quarantine reasons that
name the column, identity checks, the min_kept_share gate, the stored round trip, and a landing
file changed while it was read. The landing folders are the hostile corpus's hand-built clean base
(not the demo generator's), edited per test."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import make_settings
from hostile.corpus import YEAR, department, write_base, write_feed

from perfeval_pipeline.catalog import QUALITY, rows_dataset
from perfeval_pipeline.quality.stage import changed_files, ingest, read_partition, store_quality
from perfeval_pipeline.store import Store

pytestmark = pytest.mark.gx
CODE = "qt-01"


@pytest.fixture
def landed(tmp_path):
    settings = make_settings(tmp_path, {CODE: department(CODE)})
    folder = settings.landing_folder(CODE, YEAR)
    rows = write_base(folder, settings, CODE)
    return settings, folder, rows


def quality_of(settings, feeds=None):
    return ingest(settings, [(CODE, YEAR)], feeds)[(CODE, YEAR)]


def test_the_clean_base_keeps_every_row_and_hashes_its_files(landed):
    settings, folder, rows = landed
    pq = quality_of(settings)
    assert pq.usable and pq.blocked_reasons == []
    for feed, tables in rows.items():
        for name, table_rows in tables.items():
            t = pq.table(f"{feed}.{name}")
            assert (t.rows_read, t.rows_kept) == (len(table_rows), len(table_rows)), t.table
    import hashlib

    for fq in pq.feeds.values():
        for f in fq.files:
            assert f.sha256 == hashlib.sha256((settings.landing_dir / f.rel).read_bytes()).hexdigest()


def test_bad_rows_are_quarantined_with_a_reason_naming_the_column_and_nothing_is_lost(landed):
    settings, folder, rows = landed
    assets = rows["asset_register"]["assets"]
    assets[1]["original_value"] = "-6000.00"  # below min
    assets[2]["asset_id"] = assets[0]["asset_id"]  # duplicate key
    assets[3]["unit_code"] = "ZZ999"  # not a budget unit of the department
    assets[4]["quantity"] = "两台"  # not a number
    assets[5]["name"] = None  # required cell empty
    write_feed(folder, settings, "asset_register", rows["asset_register"])
    pq = quality_of(settings, {"asset_register"})
    t = pq.table("asset_register.assets")
    assert t.rows_read == len(assets) == t.rows_kept + t.rows_quarantined + t.rows_reported
    quarantined = t.quarantine.set_index("_source_row")["_reason"].to_dict()
    # Data rows start at line 2 of the CSV.
    assert "原值" in quarantined[3] and "-6000" not in quarantined[3]
    assert "重复" in quarantined[4]
    assert "单位" in quarantined[5] or "unit_code" in quarantined[5]
    assert "数量" in quarantined[6]
    assert "资产名称" in quarantined[7] or "name" in quarantined[7]
    assert set(quarantined) == {3, 4, 5, 6, 7}
    kept = t.clean
    assert len(kept) == t.rows_kept and kept["_source_row"].tolist() == [2, 8, 9, 10]


def test_a_file_of_another_year_or_department_is_structural(landed):
    settings, folder, rows = landed
    for r in rows["financial"]["budget_lines"]:
        r["year"] = YEAR - 1
    write_feed(folder, settings, "financial", rows["financial"])
    pq = quality_of(settings, {"financial"})
    assert not pq.usable
    assert any("financial.csv" in r and str(YEAR - 1) in r for r in pq.blocked_reasons), pq.blocked_reasons


def test_too_few_rows_kept_blocks_the_partition_and_says_why(landed):
    settings, folder, rows = landed
    tickets = rows["hotline"]["tickets"]
    for r in tickets[: len(tickets) // 2 + 1]:
        r["received_at"] = "去年"
    write_feed(folder, settings, "hotline", rows["hotline"])
    pq = quality_of(settings, {"hotline"})
    share = settings.pipeline.quality.min_kept_share
    t = pq.table("hotline.tickets")
    assert t.rows_kept < share * t.rows_read
    (reason,) = pq.blocked_reasons
    assert "hotline.tickets" in reason and "min_kept_share" in reason and "受理时间" in reason


def test_every_row_is_stored_with_its_status_and_the_quality_summary_round_trips(landed):
    settings, folder, rows = landed
    rows["hotline"]["tickets"][0]["status"] = "处理中?"
    write_feed(folder, settings, "hotline", rows["hotline"])
    pq = quality_of(settings, {"hotline"})
    store = Store(settings.store_dir)
    store_quality(store, pq)
    stored = store.read(rows_dataset("hotline.tickets"), CODE, YEAR)
    assert len(stored) == len(rows["hotline"]["tickets"])
    assert stored["_status"].value_counts().to_dict() == {"kept": len(stored) - 1, "quarantined": 1}
    assert stored["_row"].tolist() == list(range(len(stored)))
    summary = store.read(QUALITY, CODE, YEAR).set_index("table")
    assert summary.loc["hotline.tickets", "rows_quarantined"] == 1
    headers = json.loads(summary.loc["hotline.tickets", "headers"])
    assert headers["ticket_id"] == "工单编号"


def test_a_file_changed_after_it_was_read_is_named(landed):
    settings, folder, rows = landed
    reads, _ = read_partition(settings, CODE, YEAR, {"hotline"})
    pq = quality_of(settings, {"hotline"})
    assert changed_files(pq) == []
    with (folder / "hotline.csv").open("a", encoding="utf-8") as f:
        f.write("GD8888,2023-05-01 08:00:00,2023-05-02 08:00:00,,市文化馆,咨询,已办结,满意,是\n")
    (issue,) = changed_files(pq)
    assert issue.file.endswith("hotline.csv") and "changed while the run was reading it" in issue.message
    assert reads["hotline"].issues == []


def test_an_ignored_file_is_listed_not_read(landed):
    settings, folder, _ = landed
    (folder / "notes.txt").write_text("evaluator's notes", encoding="utf-8")
    pq = quality_of(settings)
    assert pq.usable and any(name.endswith("notes.txt") for name in pq.ignored_files)
    assert "evaluator's notes" not in pd.Series(pq.ignored_files).str.cat()
