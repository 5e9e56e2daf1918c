"""Landing files as real exports come: encodings, title rows and two-row headers, duplicated or
unlabeled columns, hidden sheets, several files for one table, CSV lines with the wrong number of
fields, totals rows, hostile files. Everything is read or refused with file, sheet, row, column."""

from pathlib import Path

import pandas as pd
import pytest
from conftest import make_settings

from perfeval_pipeline.config.settings import load_settings
from perfeval_pipeline.feeds.files import read_landing_file, safe_text, scan_folder
from perfeval_pipeline.feeds.typing import PARSE_ERRORS, TOTAL_ROW, type_table
from perfeval_pipeline.quality.stage import read_partition

SETTINGS = load_settings()
LIMITS = SETTINGS.pipeline.limits
HOTLINE = "工单编号,受理时间,办理时限,办结时间,承办单位,诉求类别,办理状态,满意度\n"


def land(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "landing" / "2023" / "jdz-zwsjj" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read(tmp_path: Path, feed: str):
    reads, _ = read_partition(make_settings(tmp_path), "jdz-zwsjj", 2023, {feed})
    return reads[feed]


def typed(raw):
    return type_table(raw, total_labels=SETTINGS.pipeline.quality.total_row_labels)


ROW = "GD1,2023-03-01 09:15:00,2023-03-08 09:15:00,2023-03-02 10:00:00,昌江区城管局,城市管理,已办结,满意\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path, encoding):
    land(tmp_path, "hotline.csv", HOTLINE + ROW, encoding)
    raw = read(tmp_path, "hotline").tables["tickets"]
    assert raw.frame["handling_unit"].tolist() == ["昌江区城管局"]


def test_blank_lines_keep_row_numbers_and_bad_lines_are_reported(tmp_path):
    land(
        tmp_path,
        "hotline.csv",
        HOTLINE + ROW + "\n" + ROW.replace("GD1", "GD2") + "GD3,only,three\n" + ROW.replace("GD1", "GD4"),
    )
    raw = read(tmp_path, "hotline").tables["tickets"]
    assert raw.frame["_source_row"].tolist() == [2, 4, 6]
    assert raw.reported == [(5, "has 3 fields, the header has 8")]


def test_title_rows_above_the_header_are_skipped(tmp_path):
    land(tmp_path, "hotline.csv", "景德镇市12345热线工单明细\n导出时间：2024-01-05\n" + HOTLINE + ROW)
    raw = read(tmp_path, "hotline").tables["tickets"]
    assert raw.header.row == 3 and raw.frame["_source_row"].tolist() == [4]


def test_xlsx_title_rows_two_row_header_and_unlabeled_column(tmp_path, xlsx):
    rows = [
        ["预算决算表（单位：元）"],
        [],
        ["行号", "单位编码", "支出类型", "经济分类", "项目名称", "预算数", None, "决算数", None],
        [None, None, None, None, None, "年初预算", "调整预算", None, None],
        ["L1", "JDZ001", "基本支出", "工资福利支出", "工资", 100000, 2000, 101000, "备注文字"],
    ]
    xlsx(
        tmp_path / "landing" / "2023" / "jdz-zwsjj" / "financial.xlsx",
        {"预算决算表": rows, "支出明细账": [["凭证号", "日期", "单位编码", "预算行号", "金额"]]},
    )
    read_ = read(tmp_path, "financial")
    raw = read_.tables["budget_lines"]
    assert raw.header.row == 4
    assert raw.frame[["line_id", "initial_budget", "adjustment", "final_amount"]].iloc[0].tolist() == [
        "L1",
        "100000",
        "2000",
        "101000",
    ]
    assert raw.frame["_source_row"].tolist() == [5]
    assert "column I (no header)" in raw.unmapped_headers


def test_duplicated_header_is_refused_naming_row_and_columns(tmp_path, xlsx):
    rows = [
        ["行号", "单位编码", "支出类型", "经济分类", "项目名称", "年初预算", "决算数", "决算数"],
        ["L1", "JDZ001", "基本支出", "工资福利支出", "工资", 1, 2, 3],
    ]
    xlsx(
        tmp_path / "landing" / "2023" / "jdz-zwsjj" / "financial.xlsx",
        {"预算决算表": rows, "支出明细账": [["凭证号", "日期", "单位编码", "预算行号", "金额"]]},
    )
    issues = [str(i) for i in read(tmp_path, "financial").issues]
    assert any("预算决算表 row 1 column G, H" in i and "决算数 twice" in i for i in issues), issues


def test_hidden_sheets_are_ignored_and_listed(tmp_path, xlsx):
    header = ["行号", "单位编码", "支出类型", "经济分类", "项目名称", "年初预算", "决算数"]
    visible = [header, ["L1", "JDZ001", "基本支出", "工资福利支出", "工资", 100, 90]]
    hidden = [header, *[["L9", "JDZ001", "基本支出", "工资福利支出", "工资", 1e6, 1e6]] * 3]
    xlsx(
        tmp_path / "landing" / "2023" / "jdz-zwsjj" / "financial.xlsx",
        {
            "预算决算表 ": hidden,
            "预算决算表": visible,
            "支出明细账": [["凭证号", "日期", "单位编码", "预算行号", "金额"]],
        },
        hidden=("预算决算表 ",),
    )
    read_ = read(tmp_path, "financial")
    assert read_.tables["budget_lines"].frame["line_id"].tolist() == ["L1"]
    assert read_.hidden_sheets == ["2023/jdz-zwsjj/financial.xlsx sheet 预算决算表 "]


def test_two_files_for_one_table_block_naming_both(tmp_path):
    land(tmp_path, "hotline.csv", HOTLINE + ROW)
    land(tmp_path, "hotline.tickets.csv", HOTLINE + ROW.replace("GD1", "GD2"))
    read_ = read(tmp_path, "hotline")
    assert "tickets" not in read_.tables
    (issue,) = [i for i in read_.issues if i.code == "duplicate_source"]
    assert (
        "2023/jdz-zwsjj/hotline.csv" in issue.message
        and "2023/jdz-zwsjj/hotline.tickets.csv" in issue.message
    )


def test_totals_rows_are_flagged(tmp_path):
    land(tmp_path, "hotline.csv", HOTLINE + ROW + "合 计,,,,,,,\n小计：,,,,,,,\n")
    frame = typed(read(tmp_path, "hotline").tables["tickets"])
    assert frame[TOTAL_ROW].tolist() == [False, True, True]


def test_iso_timestamps_with_offset_and_na_texts(tmp_path):
    land(
        tmp_path,
        "hotline.csv",
        HOTLINE
        + "GD1,2023-03-01T09:15:00+08:00,2023-03-08T01:15:00Z,N/A,N/A,null,已办结,None\n"
        + "GD2,2023-03-01T09:15:00,2023-03-08 09:15,—,单位,咨询,已办结,满意\n",
    )
    frame = typed(read(tmp_path, "hotline").tables["tickets"])
    assert frame["received_at"].tolist() == [pd.Timestamp("2023-03-01 09:15:00")] * 2
    assert frame["deadline_at"].iloc[0] == pd.Timestamp("2023-03-08 09:15:00")  # 01:15Z is 09:15 in Shanghai
    assert (
        frame["closed_at"].isna().all() and frame[PARSE_ERRORS].isna().all()
    )  # N/A, — : missing, not unreadable
    assert frame["handling_unit"].iloc[0] == "N/A" and frame["category"].iloc[0] == "null"  # text stays text


def test_unreadable_numbers_name_the_column_not_the_content(tmp_path, xlsx):
    rows = [["行号", "单位编码", "支出类型", "经济分类", "项目名称", "年初预算", "决算数"]]
    rows += [
        ["L1", "JDZ001", "基本支出", "工资福利支出", "工资", "1,2.3", "1e309"],
        ["L2", "JDZ0\u200b01", "基本支出", "工资福利支出", "工资", "1,234.5", "(10)"],
    ]
    xlsx(
        tmp_path / "landing" / "2023" / "jdz-zwsjj" / "financial.xlsx",
        {"预算决算表": rows, "支出明细账": [["凭证号", "日期", "单位编码", "预算行号", "金额"]]},
    )
    frame = typed(read(tmp_path, "financial").tables["budget_lines"])
    first, second = frame[PARSE_ERRORS].tolist()
    assert "年初预算 (initial_budget): cannot be read as 金额" in first and "决算数 (final_amount)" in first
    assert "1,2.3" not in first and "1e309" not in first
    assert "单位编码 (unit_code): contains invisible characters" in second
    assert frame["initial_budget"].tolist()[1] == 1234.5 and frame["final_amount"].tolist()[1] == -10


def test_symlink_out_of_the_landing_folder_is_refused_without_quoting(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "landing" / "2023" / "jdz-zwsjj"
    folder.mkdir(parents=True)
    (folder / "hotline.csv").symlink_to(secret)
    scan = scan_folder(folder, tmp_path / "landing", set(SETTINGS.contracts))
    (issue,) = scan.issues
    assert issue.code == "symlink" and "root:x" not in str(issue)
    assert not scan.files["hotline"]


def test_zip_bomb_is_refused_before_parsing(tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (600 << 20))
    path = land(tmp_path, "financial.xlsx", buf.getvalue())
    file, issue = read_landing_file(path, tmp_path / "landing", "financial", None, LIMITS)
    assert file is None and issue.code == "zip_bomb" and "financial.xlsx" in str(issue)


def test_not_a_workbook_and_not_text(tmp_path):
    land(tmp_path, "financial.xlsx", b"this is not a zip")
    land(tmp_path, "hotline.csv", bytes(range(128, 256)) * 10)
    assert [i.code for i in read(tmp_path, "financial").issues] == ["unreadable"]
    hotline = read(tmp_path, "hotline").issues
    assert [i.code for i in hotline] == ["unreadable"] and "not UTF-8 or GBK" in hotline[0].message


def test_a_giant_cell_is_read_and_flagged(tmp_path):
    land(tmp_path, "hotline.csv", HOTLINE + ROW.replace("城市管理", "长" * 5_000_000))
    frame = typed(read(tmp_path, "hotline").tables["tickets"])
    assert "cell longer than 32767 characters" in frame[PARSE_ERRORS].iloc[0]


def test_terminal_escapes_are_shown_escaped():
    assert safe_text("a\x1b[2Jb\nc\u202e") == "a\\x1b[2Jb\\nc\\u202e"


def test_problems_of_several_columns_stay_on_their_own_rows():
    import pyarrow as pa

    from perfeval_pipeline.feeds.typing import join_problems

    a = pa.array([None, None, "a2", None, None], pa.string())
    b = pa.array([None, "b1", "b2", None, None], pa.string())
    c = pa.array([None, None, None, None, "c4"], pa.string())
    assert join_problems([a, b, c], 5).to_pylist() == [None, "b1", "a2；b2", None, "c4"]
    assert join_problems([], 3).to_pylist() == [None, None, None]
