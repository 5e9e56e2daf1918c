"""The demo generator: deterministic files that the readers accept, the seed partition's raw facts, and
the defects planted for the quality checks."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from perfeval_pipeline.config import settings
from perfeval_pipeline.demo import PLANTED_DEFECTS, SEED_WORKPAPER_DEDUCTIONS, generate_demo
from perfeval_pipeline.demo.common import fmt_money
from perfeval_pipeline.demo.defects import DEFECTIVE_DEPARTMENT
from perfeval_pipeline.demo.generate import BUILDERS, export_cells, partition_params, write_feed
from perfeval_pipeline.feeds.contracts import ColumnContract, load_contracts
from perfeval_pipeline.feeds.readers import feed_files, map_headers, read_csv_text, read_feed
from perfeval_pipeline.feeds.typing import convert_column, parse_dates, parse_number, type_table

# A non-seed partition with a small hotline (4.6万 tickets) exported in GBK.
SMALL = ("yts-zwsjj", 2022)
SEED = ("jdz-zwsjj", 2023)
XLSX_FEEDS = [f for f in BUILDERS if f != "hotline"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_landing(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("landing")
    generate_demo(root, [SMALL[0]], [SMALL[1]])
    return root


def _typed(folder: Path, root: Path, feeds: list[str]) -> dict[str, pd.DataFrame]:
    """'{feed}.{table}' -> typed frame, asserting the files map onto the contracts without issues."""
    contracts = load_contracts()
    out = {}
    for feed in feeds:
        read = read_feed(folder, contracts[feed], root)
        assert not read.issues, [str(i) for i in read.issues]
        for name, raw in read.tables.items():
            assert not raw.unmapped_headers, (feed, name, raw.unmapped_headers)
            assert set(raw.contract.columns) <= set(raw.frame.columns), (feed, name)
            typed = type_table(raw)
            assert typed["_parse_errors"].isna().all(), typed["_parse_errors"].dropna().head().tolist()
            out[f"{feed}.{name}"] = typed
    return out


def test_every_feed_is_written(small_landing):
    folder = small_landing / str(SMALL[1]) / SMALL[0]
    assert all(feed_files(folder, feed) for feed in BUILDERS)
    assert (folder / "hotline.csv").is_file()


def test_same_inputs_same_bytes_and_existing_partitions_are_skipped(small_landing, tmp_path):
    written = generate_demo(tmp_path, [SMALL[0]], [SMALL[1]])
    assert _files(tmp_path) == _files(small_landing)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == sorted(_files(tmp_path))

    before = {p: p.stat().st_mtime_ns for p in written}
    messages = []
    assert generate_demo(tmp_path, [SMALL[0]], [SMALL[1]], progress=messages.append) == []
    assert messages == [f"{SMALL[0]} {SMALL[1]}: exists, skipped"]
    assert {p: p.stat().st_mtime_ns for p in written} == before

    assert generate_demo(tmp_path, [SMALL[0]], [SMALL[1]], overwrite=True)
    assert _files(tmp_path) == _files(small_landing)


def test_workbooks_map_onto_the_contracts_and_parse(small_landing):
    folder = small_landing / str(SMALL[1]) / SMALL[0]
    tables = _typed(folder, small_landing, XLSX_FEEDS)
    contracts = load_contracts()
    assert {k for k in tables} == {f"{f}.{t}" for f in XLSX_FEEDS for t in contracts[f].tables}
    bl = tables["financial.budget_lines"]
    assert (bl.department == SMALL[0]).all() and (bl.year == SMALL[1]).all()
    ledger = tables["financial.ledger"].groupby("line_id").amount.sum().round(2)
    finals = bl.set_index("line_id").final_amount
    assert (ledger.reindex(finals.index).fillna(0) == finals).all()


def test_gbk_hotline_maps_onto_the_contract(small_landing):
    # read_csv_text + map_headers rather than read_feed: read_feed hashes rows one by one (minutes here).
    contract = load_contracts()["hotline"].main_table
    raw = read_csv_text(small_landing / str(SMALL[1]) / SMALL[0] / "hotline.csv")
    mapping, _, unmapped = map_headers(list(raw.columns), contract)
    assert not unmapped and set(mapping.values()) == set(contract.columns)
    frame = raw.rename(columns=mapping)
    assert set(frame.status) <= set(contract.columns["status"].allowed)
    assert frame.ticket_id.is_unique and 40_000 <= len(frame) <= 150_000
    assert parse_dates(frame.received_at).dt.year.eq(SMALL[1]).all()


@pytest.mark.parametrize("style,unit", [("plain", None), ("thousands", None), ("wan", "万元")])
def test_money_formats_convert_back_exactly(style, unit):
    cents = [0, 1, 99, 100, 84_000_000, 1_958_520_000, 3_935_020_000, 7_999_999_999, 123_456_789_01]
    typed = convert_column(
        pd.Series([fmt_money(c, style) for c in cents]), ColumnContract("x", "money"), unit
    )
    assert typed.tolist() == [round(c / 100, 2) for c in cents]


@pytest.mark.parametrize("year", sorted({d["year"] for d in PLANTED_DEFECTS}))
def test_planted_defects_are_in_the_export(year):
    dept = settings().department(DEFECTIVE_DEPARTMENT)
    params = partition_params(dept, year)
    contracts = load_contracts()
    defects = [d for d in PLANTED_DEFECTS if d["year"] == year]
    assert defects and all(d["department"] == DEFECTIVE_DEPARTMENT for d in defects)
    cells = {feed: export_cells(dept, year, feed, params) for feed in {d["feed"] for d in defects}}
    for d in defects:
        frame = cells[d["feed"]][d["table"]]
        if d["kind"] == "missing_column":
            assert d["column"] not in frame.columns
            continue
        key = contracts[d["feed"]].tables[d["table"]].key[0]
        values = frame.loc[frame[key].isin(d["key"]), d["column"]]
        col = contracts[d["feed"]].tables[d["table"]].columns[d["column"]]
        checks = {
            "not_allowed": lambda v, col=col: ~v.isin(col.allowed),
            "duplicate_key": lambda v: pd.Series([len(v) == 2]),
            "unparseable": lambda v: (v != "") & parse_dates(v).isna(),
            "below_min": lambda v: parse_number(v) < 0,
            "required_missing": lambda v: v == "",
        }
        assert len(values) and checks[d["kind"]](values).all(), d


def test_structural_defect_fails_the_asset_feed(tmp_path):
    dept = settings().department(DEFECTIVE_DEPARTMENT)
    folder = tmp_path / "2024" / dept.code
    write_feed(folder, dept, 2024, "asset_register", partition_params(dept, 2024))
    issues = read_feed(folder, load_contracts()["asset_register"], tmp_path).issues
    assert [(i.sheet, i.column) for i in issues] == [("固定资产卡片", "original_value")]


def test_non_seed_partitions_differ_and_peers_publish_more():
    cfg = settings()
    jdz = partition_params(cfg.department(SEED[0]), 2022)
    rates = {}
    for code in cfg.peer_groups["四小地市"]:
        for year in cfg.years:
            t = partition_params(cfg.department(code), year).transactions
            rates[code, year] = t.intermediary_projects / t.intermediary_owners
    for year in cfg.years:
        assert all(rates[c, year] > rates[SEED[0], year] for c in cfg.peer_groups["四小地市"] if c != SEED[0])
    assert round(rates[SEED], 2) == 3.03
    assert partition_params(cfg.department("pxs-zwsjj"), 2022).financial != jdz.financial


# ------------------------------------------------------------------ the seed partition, end to end
def _seed_facts(t: dict[str, pd.DataFrame]) -> None:
    # financial: 预算 3935.02万, 执行 3708.51万, 收回 226.51万; 本级 331.99 → 1958.52万
    bl = t["financial.budget_lines"]
    assert (bl.department == SEED[0]).all() and (bl.year == SEED[1]).all()
    budget = bl.initial_budget + bl.adjustment
    assert round(budget.sum(), 2) == 39_350_200.00
    assert bl.carryover.fillna(0).sum() == 0 and bl.other_income.fillna(0).sum() == 0
    assert round(bl.final_amount.sum(), 2) == 37_085_100.00
    assert (bl.year_end_recovery.round(2) == (budget - bl.final_amount).round(2)).all()
    assert (bl.year_end_recovery >= 0).all() and round(bl.year_end_recovery.sum(), 2) == 2_265_100.00
    assert f"{bl.final_amount.sum() / budget.sum():.2%}" == "94.24%"
    hq = bl[bl.unit_code == "JDZ001"]
    assert (
        round(hq.initial_budget.sum(), 2) == 3_319_900.00 and round(hq.final_amount.sum(), 2) == 19_585_200.00
    )
    assert f"{hq.final_amount.sum() / hq.initial_budget.sum() - 1:.2%}" == "489.93%"
    reward = bl[(bl.unit_code == "JDZ002") & (bl["item"] == "窗口人员奖励经费")]
    assert reward.initial_budget.tolist() == [840_000.00] and reward.expense_type.tolist() == ["项目支出"]
    controlled = bl[bl.economic_class.isin(["公用经费", "三公经费"])]
    assert (controlled.final_amount <= controlled.initial_budget + controlled.adjustment).all()
    three = bl[bl.economic_class == "三公经费"]
    assert len(three) and (three.prior_final_amount > three.final_amount).all()

    ledger = t["financial.ledger"]
    assert ledger.voucher_no.is_unique and 300 <= len(ledger) <= 5000
    per_line = ledger.groupby("line_id").amount.sum().round(2)
    assert (per_line.reindex(bl.line_id).fillna(0).to_numpy() == bl.final_amount.to_numpy()).all()
    assert ledger.date.dt.year.eq(2023).all()
    assert ledger.summary.str.contains("绩效评价服务费").sum() >= 1

    est = t["financial.project_estimates"]
    unneeded = est[est.funding_needed.eq(False)]
    assert unneeded[["unit_code", "project", "sub_item", "amount", "project_budget"]].values.tolist() == [
        ["JDZ002", "窗口人员奖励经费", "月度优秀窗口奖", 108_400.00, 840_000.00]
    ]
    needed = est[(est.project == "窗口人员奖励经费") & est.funding_needed.eq(True)]
    assert round(needed.amount.sum(), 2) == 731_600.00

    # transactions
    proc = t["transactions.procurement"].groupby("unit_code")[["contract_amount", "budget_amount"]].sum()
    over = proc.contract_amount / proc.budget_amount - 1
    assert round(over["JDZ002"], 4) == 0.0264 and round(over["JDZ005"], 4) == 0.0838
    assert (over.drop(["JDZ002", "JDZ005"]) <= 0).all()
    deals = t["transactions.deals"]
    assert round(deals.amount.sum(), 2) == 768_600.00 and deals.electronic.all()
    assert len(t["transactions.complaints"]) == 0
    owners, projects = t["transactions.intermediary_owners"], t["transactions.intermediary_projects"]
    assert (len(owners), len(projects)) == (1919, 5809)
    assert projects.published_date.dt.year.eq(2023).all() and projects.owner_id.isin(owners.owner_id).all()

    # asset register
    assets = t["asset_register.assets"]
    held = assets[assets.status != "已处置"]
    utilization = (
        held[held.status == "在用"].groupby("unit_code").original_value.sum()
        / held.groupby("unit_code").original_value.sum()
    )
    assert set(utilization.index) == {f"JDZ00{i}" for i in range(1, 6)}
    assert round(utilization["JDZ002"], 4) == 0.5019 and (utilization.drop("JDZ002") >= 0.7).all()
    assert held.label_attached.eq(False).any() and held.spec_model.isna().any()
    pending = held[held.status == "待处置"]
    assert ((pd.Timestamp("2023-12-31") - pending.status_date).dt.days > 365).any()
    assert (held.status.eq("出借") & held.lending_approval_ref.isna()).any()
    counted = held.merge(t["asset_register.stocktake"], on="asset_id")
    assert len(counted) > len(held) / 2
    assert (counted.counted_quantity != counted.quantity).any() and (
        counted.observed_name != counted["name"]
    ).any()
    assert set(t["asset_register.usage_ledger"].unit_code) == {"JDZ002", "JDZ003", "JDZ004", "JDZ005"}

    # evaluation
    profile = t["evaluation.profile"].iloc[0]
    assert (
        profile.department,
        profile.year,
        profile.evaluator,
        profile.staff_in_post,
        profile.disclosure_done,
    ) == (SEED[0], 2023, "江西优兰德市场研究咨询有限公司", 61, True)
    assert profile.evaluation_date == datetime(2024, 6, 4) and profile.mission.startswith(
        "贯彻落实党中央及省委"
    )
    assert len(t["evaluation.functions"]) == 11
    assert t["evaluation.sections"].name.tolist() == [
        "办公室",
        "政务服务综合科",
        "行政审批监管科",
        "政务数据管理科",
    ]
    targets = t["evaluation.targets"]
    vague = targets[~targets.value.str.match(r"^\s*-?\d+(\.\d+)?\s*%?\s*$")]
    assert sorted(vague.name) == ["开展营商环境工作及时性", "绩效考评及时性"] and set(vague.value) == {"及时"}
    accepted = targets[targets.name == "政务服务事项受理数"].iloc[0]
    assert (accepted.level2, accepted.comparator, accepted.value, accepted.unit) == (
        "数量指标",
        "≥",
        "140",
        "万元",
    )
    coverage = targets[targets.name.str.contains("企业覆盖率")].iloc[0]
    assert (coverage.comparator, coverage.value, coverage.unit) == ("≥", "80", "%")

    tasks = t["evaluation.key_tasks"]
    matters = tasks[tasks.task.isin(["一件事一次办", "跨省通办", "省内通办"])]
    assert len(matters) == 3 and matters.done.sum() == matters.planned.sum()
    park = tasks[tasks.task == "智慧园区服务专区"]
    assert len(park) == 8 and set(park[park.done < park.planned]["item"]) == {
        "物业管理",
        "法律咨询",
        "市场中介",
        "园区招商",
    }
    upgrade = tasks[tasks.task == "惠企通迭代升级"]
    assert upgrade.done.sum() / upgrade.planned.sum() == 0.6
    platform = tasks[tasks.needs_acceptance.eq(True)]
    assert platform.task.tolist() == ["平台迭代升级项目"] and platform.accepted_date.isna().all()

    stats = t["evaluation.service_stats"].set_index("metric")
    expected = {
        "依申请政务服务事项": (9400, None),
        "赣服通上线事项": (408, None),
        "查询办理": (2490, 2500),
        "惠企政策事项上线": (270, None),
        "数据及时更新": (1200, 1200),
        "监管事项认领": (560, 560),
        "惠企通兑现企业": (2926, 10000),
    }
    for metric, (count, base) in expected.items():
        assert stats.loc[metric, "count"] == count
        assert pd.isna(stats.loc[metric, "base"]) if base is None else stats.loc[metric, "base"] == base, (
            metric
        )

    survey = t["evaluation.survey"]
    convenience = survey[survey.question == "服务大厅群众办事便捷度较上年是否提升"]
    assert len(convenience) == 300 and f"{(convenience.answer == '提升').mean():.2%}" == "98.67%"
    windows = t["evaluation.windows"]
    assert set(windows[windows.handled / windows.staff < 100].window) == {
        "发改委",
        "自然资源和规划局",
        "普惠金融专区",
    }
    policy = t["evaluation.policy_checklist"]
    missing = policy[policy.present.eq(False)]
    assert set(missing.policy) == {"财务管理制度"}
    assert set(missing.part) == {"结余结转管理", "负债管理", "财务报告和财务分析", "财务监督"}
    workpaper = t["evaluation.workpaper"]
    assert dict(zip(workpaper.finding_code, workpaper.deduction, strict=True)) == SEED_WORKPAPER_DEDUCTIONS
    assert workpaper.indicator_id.value_counts().to_dict() == {
        "funds_compliance": 3,
        "planning_clarity": 2,
        "target_reasonableness": 1,
        "window_staffing": 1,
    }
    assert any("政务服务事项受理数≥140 万元" in f for f in workpaper.finding)


def _hotline_facts(tickets: pd.DataFrame) -> None:
    assert len(tickets) == 258_500 and tickets.ticket_id.is_unique
    assert tickets.status.eq("已办结").all()
    assert tickets.received_at.dt.year.eq(2023).all() and (tickets.deadline_at > tickets.received_at).all()
    assert 0.02 <= (tickets.closed_at > tickets.deadline_at).mean() <= 0.04
    rated = tickets[tickets.satisfaction != "未评价"]
    assert 0.96 <= rated.satisfaction.isin(["满意", "基本满意"]).mean() <= 0.99
    assert set(tickets.callback) == {True, False} and 10 <= tickets.handling_unit.nunique() <= 15


@pytest.mark.slow
def test_seed_partition_reproduces_the_raw_facts(tmp_path):
    generate_demo(tmp_path, [SEED[0]], [SEED[1]])
    tables = _typed(tmp_path / str(SEED[1]) / SEED[0], tmp_path, list(BUILDERS))
    _seed_facts(tables)
    _hotline_facts(tables["hotline.tickets"])
