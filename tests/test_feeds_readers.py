"""Feed contracts and the landing-file readers (xlsx, CSV encodings, units, structural issues)."""

from __future__ import annotations

import pandas as pd
import pytest

from perfeval_pipeline.feeds.contracts import ContractError, load_contracts, parse_feed_contract
from perfeval_pipeline.feeds.readers import read_feed
from perfeval_pipeline.feeds.typing import PARSE_ERRORS, type_table

DEPT, YEAR = "jdz-zwsjj", 2023
HOTLINE_CSV = (
    "工单编号,受理时间,办理时限,承办单位,诉求类别,办理状态,满意度\n"
    "GD001,2023-03-01 09:15:00,2023-03-08 09:15:00,珠山区人民政府,城市管理,已办结,满意\n"
    "GD002,2023/03/02,2023年3月9日,昌江区城市管理局,交通出行,办理中,\n"
)


@pytest.fixture
def folder(tmp_path):
    """The landing folder of one department-year; refs are relative to tmp_path."""
    path = tmp_path / str(YEAR) / DEPT
    path.mkdir(parents=True)
    return path


def read(folder, feed):
    return read_feed(folder, load_contracts()[feed], landing_root=folder.parent.parent)


def test_all_feed_contracts_load():
    contracts = load_contracts()
    assert set(contracts) == {"financial", "asset_register", "hotline", "transactions", "evaluation"}
    assert contracts["hotline"].main_table.qualified_name == "hotline.tickets"
    budget = contracts["financial"].tables["budget_lines"]
    assert budget.key == ("line_id",)
    assert "决算数" in budget.columns["final_amount"].aliases


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"feed": "x", "tables": {"t": {"columns": {"a": {"type": "moneyy"}}}}}, "unknown type"),
        ({"feed": "x", "tables": {"t": {"key": ["b"], "columns": {"a": {}}}}}, "unknown columns"),
        ({"feed": "x"}, "missing field"),
    ],
)
def test_malformed_contract_raises(raw, message):
    with pytest.raises(ContractError, match=message):
        parse_feed_contract(raw)


def test_malformed_contract_file_raises(tmp_path, monkeypatch):
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "bad.yaml").write_text(
        "feed: bad\ntables:\n  t:\n    title: 无列\n", encoding="utf-8"
    )
    monkeypatch.setenv("PERFEVAL_CONFIG", str(tmp_path))
    with pytest.raises(ContractError, match="bad.yaml: missing field 'columns'"):
        load_contracts()


def test_xlsx_sheets_aliases_and_units(folder, xlsx):
    xlsx(
        folder / "financial.xlsx",
        {
            "预算决算表": [
                [
                    "部门编码",
                    "年度",
                    "行号",
                    "单位编码",
                    "支出类型",
                    "经济分类",
                    "项目名称",
                    "年初预算（万元）",
                    "决算数",
                    "备注",
                ],
                [
                    DEPT,
                    2023,
                    "L1",
                    "JDZ001",
                    "基本支出",
                    "工资福利支出",
                    "在职人员工资",
                    "1,958.52",
                    "19,585,200.00",
                    "x",
                ],
                [DEPT, 2023, "L2", "JDZ001", "项目支出", "商品和服务支出", "热线运维", 12.5, 120000, None],
            ],
            "支出明细账": [
                ["凭证号", "日期", "单位编码", "预算行号", "金额"],
                ["V001", "2023-02-01", "JDZ001", "L1", "5,000.00"],
            ],
        },
    )
    result = read(folder, "financial")
    assert result.issues == []
    assert set(result.tables) == {"budget_lines", "ledger"}  # project_estimates is optional
    budget = result.tables["budget_lines"]
    assert (budget.source_file, budget.source_sheet) == (f"{YEAR}/{DEPT}/financial.xlsx", "预算决算表")
    assert budget.header_units == {"initial_budget": "万元"}
    assert budget.unmapped_headers == ["备注"]
    typed = type_table(budget)
    assert typed["initial_budget"].tolist() == [19_585_200.0, 125_000.0]  # 万元 → 元
    assert typed["final_amount"].tolist() == [19_585_200.0, 120_000.0]
    assert typed["year"].tolist() == [2023, 2023]
    assert typed["_source_row"].tolist() == [2, 3]
    assert typed[PARSE_ERRORS].isna().all()
    ledger = type_table(result.tables["ledger"])
    assert ledger["date"].tolist() == [pd.Timestamp("2023-02-01")]
    assert ledger["amount"].tolist() == [5000.0]


def test_xlsx_rows_keep_their_spreadsheet_row_after_a_blank_row(folder, xlsx):
    header = ["工单编号", "受理时间", "办理时限", "承办单位", "诉求类别", "办理状态"]
    row = ["2023-03-01 09:00:00", "2023-03-08 09:00:00", "珠山区人民政府", "城市管理", "已办结"]
    xlsx(folder / "hotline.xlsx", {"工单明细": [header, ["GD001", *row], [None] * 6, ["GD002", *row]]})
    frame = read(folder, "hotline").tables["tickets"].frame
    assert frame["ticket_id"].tolist() == ["GD001", "GD002"]
    assert frame["_source_row"].tolist() == [2, 4]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(folder, encoding):
    (folder / "hotline.csv").write_bytes(HOTLINE_CSV.encode(encoding))
    result = read(folder, "hotline")
    assert result.issues == []
    tickets = result.tables["tickets"]
    assert tickets.source_sheet is None
    assert list(tickets.frame.columns[:2]) == ["ticket_id", "received_at"]  # no BOM left on the first header
    typed = type_table(tickets)
    assert typed["handling_unit"].tolist() == ["珠山区人民政府", "昌江区城市管理局"]
    assert typed["received_at"].tolist() == [pd.Timestamp("2023-03-01 09:15"), pd.Timestamp("2023-03-02")]
    assert typed["deadline_at"].tolist()[1] == pd.Timestamp("2023-03-09")
    assert typed["satisfaction"].isna().tolist() == [False, True]
    assert typed["_source_row"].tolist() == [2, 3]


def test_formatted_numbers_and_rates(folder):
    contract = parse_feed_contract(
        {
            "feed": "stats",
            "tables": {
                "rates": {
                    "columns": {
                        "amount": {"type": "money", "aliases": ["金额"]},
                        "rate": {"type": "rate", "aliases": ["完成率"]},
                        "rate_pct": {"type": "rate", "aliases": ["发布率"]},
                    }
                }
            },
        }
    )
    text = '金额,完成率,发布率（%）\n"1,958.52",50.19%,50.19\n￥300,0.5,100\n'
    (folder / "stats.csv").write_text(text, encoding="utf-8")
    result = read_feed(folder, contract, landing_root=folder.parent.parent)
    assert result.issues == []
    typed = type_table(result.tables["rates"])
    assert typed["amount"].tolist() == [1958.52, 300.0]
    assert typed["rate"].tolist() == pytest.approx([0.5019, 0.5])
    assert typed["rate_pct"].tolist() == pytest.approx([0.5019, 1.0])  # the header says (%)


def test_missing_required_column_is_a_structural_issue(folder, xlsx):
    xlsx(
        folder / "financial.xlsx",
        {
            "预算决算表": [
                ["行号", "单位编码", "支出类型", "经济分类", "项目名称", "年初预算"],
                ["L1", "U", "基本支出", "其他支出", "x", 1],
            ],
            "支出明细账": [
                ["凭证号", "日期", "单位编码", "预算行号", "金额"],
                ["V1", "2023-01-01", "U", "L1", 1],
            ],
        },
    )
    result = read(folder, "financial")
    assert len(result.issues) == 1
    issue = result.issues[0]
    assert (issue.file, issue.sheet, issue.row, issue.column) == (
        f"{YEAR}/{DEPT}/financial.xlsx",
        "预算决算表",
        1,
        "final_amount",
    )
    assert str(issue).startswith(f"{YEAR}/{DEPT}/financial.xlsx sheet 预算决算表 row 1 column final_amount: ")
    assert "决算数" in issue.message
    assert "budget_lines" in result.tables  # the rest of the table is still read


def test_unreadable_file_is_an_issue_not_an_exception(folder):
    (folder / "financial.xlsx").write_bytes(b"\x00\x01 this is not a workbook \xff\xfe" * 20)
    result = read(folder, "financial")
    assert result.tables == {}
    assert len(result.issues) == 1
    assert result.issues[0].file == f"{YEAR}/{DEPT}/financial.xlsx"
    assert result.issues[0].message.startswith("unreadable: ")


def test_missing_feed_and_missing_table(folder):
    assert "hotline not found" in read(folder, "hotline").issues[0].message
    (folder / "financial.csv").write_text(
        "行号,单位编码,支出类型,经济分类,项目名称,年初预算,决算数\n", encoding="utf-8"
    )
    issues = read(folder, "financial").issues
    assert [i.message.split(" not found")[0] for i in issues] == ["table 支出明细账 (ledger)"]
