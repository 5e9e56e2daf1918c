"""A corpus of defective landing folders, one defect each, written from the defect classes of issue
#11 (and some of our own), over every feed. The base folder is a small clean department-year built
here (not by the demo generator); each case copies it and breaks one thing.

Each case says what must happen: the partition's final status, and text its result must contain
(a blocked reason, a quarantine reason, a hidden sheet or ignored file listed), always naming the
file, and never quoting what an unreadable file holds."""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

YEAR = 2023
UNITS = [("HX001", "局本级", "本级"), ("HX002", "市文化馆", "下属单位"), ("HX003", "市图书馆", "下属单位")]
SECRET = "root:x:0:0:root:/root:/bin/bash"


def department(code: str) -> dict:
    """The departments.yaml entry of a corpus department (framework common: any sector)."""
    return {
        "name": f"测试市文化广电旅游局{code}",
        "short_name": "市文广旅局",
        "city": "测试市",
        "finance_bureau": "测试市财政局",
        "framework": "common",
        "peer_groups": [],
        "staffing_quota": {"行政编制": 10, "事业编制": 20},
        "budget_units": [{"code": c, "name": n, "role": r} for c, n, r in UNITS],
        "years": [YEAR],
    }


def _rows(code: str) -> dict[str, dict[str, list[dict]]]:
    """The clean base: feed → table → rows under canonical column names."""
    lines = []
    for i, (unit, _, _) in enumerate(UNITS):
        for k, (etype, econ, item, init, final) in enumerate(
            [
                ("基本支出", "工资福利支出", "基本工资", 600000, 598000),
                ("基本支出", "公用经费", "日常公用经费", 80000, 76000),
                ("项目支出", "商品和服务支出", "文化惠民活动", 300000 + 10000 * i, 280000),
            ]
        ):
            lines.append(
                {
                    "department": code,
                    "year": YEAR,
                    "line_id": f"{unit}-{k + 1:02d}",
                    "unit_code": unit,
                    "expense_type": etype,
                    "economic_class": econ,
                    "item": item,
                    "initial_budget": f"{init}.00",
                    "adjustment": "0.00",
                    "final_amount": f"{final}.00",
                    "year_end_recovery": f"{init - final}.00",
                    "prior_final_amount": f"{final}.00",
                }
            )
    ledger = [
        {
            "voucher_no": f"PZ{n:03d}",
            "date": f"{YEAR}-{(n % 12) + 1:02d}-15",
            "unit_code": UNITS[n % 3][0],
            "line_id": f"{UNITS[n % 3][0]}-01",
            "amount": "12000.00",
            "summary": "支付工资",
        }
        for n in range(12)
    ]
    assets = [
        {
            "asset_id": f"ZC{n:03d}",
            "unit_code": UNITS[n % 3][0],
            "name": "台式计算机",
            "category": "通用设备",
            "spec_model": "联想M437",
            "quantity": 1,
            "original_value": "6000.00",
            "status": "在用" if n % 4 else "闲置",
            "status_date": f"{YEAR}-01-10",
            "label_attached": "是",
        }
        for n in range(9)
    ]
    tickets = [
        {
            "ticket_id": f"GD{n:04d}",
            "received_at": f"{YEAR}-{(n % 12) + 1:02d}-03 09:00:00",
            "deadline_at": f"{YEAR}-{(n % 12) + 1:02d}-10 09:00:00",
            "closed_at": f"{YEAR}-{(n % 12) + 1:02d}-05 16:30:00",
            "handling_unit": "市文化馆",
            "category": "咨询",
            "status": "已办结",
            "satisfaction": "满意",
            "callback": "是",
        }
        for n in range(30)
    ]
    targets = [
        {
            "target_id": "MB01",
            "level1": "产出指标",
            "level2": "数量指标",
            "name": "文化惠民演出场次",
            "comparator": "≥",
            "value": "40",
            "unit": "场",
            "actual": "42",
        },
        {
            "target_id": "MB02",
            "level1": "产出指标",
            "level2": "质量指标",
            "name": "活动验收合格率",
            "comparator": "≥",
            "value": "95",
            "unit": "%",
            "actual": "100",
        },
        {
            "target_id": "MB03",
            "level1": "产出指标",
            "level2": "时效指标",
            "name": "活动按期完成率",
            "comparator": "≥",
            "value": "90",
            "unit": "%",
            "actual": "95",
        },
        {
            "target_id": "MB04",
            "level1": "产出指标",
            "level2": "成本指标",
            "name": "单场演出成本",
            "comparator": "≤",
            "value": "1.2",
            "unit": "万元",
            "actual": "1.1",
        },
        {
            "target_id": "MB05",
            "level1": "效益指标",
            "level2": "社会效益指标",
            "name": "受惠群众人次",
            "comparator": "≥",
            "value": "5",
            "unit": "万人次",
            "actual": "5.6",
        },
        {
            "target_id": "MB06",
            "level1": "满意度指标",
            "level2": "服务对象满意度指标",
            "name": "群众满意度",
            "comparator": "≥",
            "value": "90",
            "unit": "%",
            "actual": "94",
        },
    ]
    return {
        "financial": {"budget_lines": lines, "ledger": ledger},
        "asset_register": {"assets": assets},
        "hotline": {"tickets": tickets},
        "transactions": {
            "deals": [],
            "complaints": [],
            "procurement": [
                {
                    "procurement_id": f"CG{n}",
                    "unit_code": UNITS[n][0],
                    "project": "设备采购",
                    "budget_amount": "50000.00",
                    "contract_amount": "48000.00",
                    "method": "询价",
                    "date": f"{YEAR}-05-10",
                }
                for n in range(3)
            ],
        },
        "evaluation": {
            "profile": [
                {
                    "department": code,
                    "year": YEAR,
                    "evaluator": "测试评价机构",
                    "evaluation_date": f"{YEAR + 1}-05-20",
                    "mission": "承担全市文化、广电、旅游管理",
                    "staff_in_post": 28,
                    "disclosure_done": "是",
                }
            ],
            "functions": [{"function_no": n + 1, "description": f"职能{n + 1}"} for n in range(4)],
            "sections": [{"name": "办公室"}, {"name": "文化科"}],
            "targets": targets,
            "key_tasks": [
                {
                    "task_id": f"RW{n}",
                    "task": "文化惠民",
                    "item": f"任务{n}",
                    "planned": 1,
                    "done": 1,
                    "due_date": f"{YEAR}-12-31",
                }
                for n in range(4)
            ],
            "service_stats": [],
            "survey": [],
            "policy_checklist": [
                {"policy": "财务管理制度", "part": p, "present": "是"}
                for p in ("预算管理", "收入管理", "支出管理")
            ],
            "workpaper": [
                {
                    "record_id": "DG01",
                    "indicator_id": "funds_compliance",
                    "deduction": 0.5,
                    "finding_code": "reimbursement_docs_missing",
                    "finding": "部分报销凭证附件不齐全。",
                }
            ],
        },
    }


def header(settings, feed: str, table: str, column: str) -> str:
    return settings.contracts[feed].tables[table].columns[column].header


def write_csv(path: Path, settings, feed: str, table: str, rows: list[dict], encoding: str = "utf-8") -> None:
    columns = list(settings.contracts[feed].tables[table].columns)
    used = [c for c in columns if any(c in r for r in rows)] or [
        c for c in columns if settings.contracts[feed].tables[table].columns[c].required
    ]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([header(settings, feed, table, c) for c in used])
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in used])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def write_feed(folder: Path, settings, feed: str, tables: dict[str, list[dict]]) -> None:
    """A feed as CSV files, one per table ({feed}.{table}.csv; the first table as {feed}.csv)."""
    contract = settings.contracts[feed]
    for name, rows in tables.items():
        file = f"{feed}.csv" if name == contract.main_table.name else f"{feed}.{name}.csv"
        write_csv(folder / file, settings, feed, name, rows)


def write_base(folder: Path, settings, code: str, rows: dict | None = None) -> dict:
    rows = rows or _rows(code)
    for feed, tables in rows.items():
        write_feed(folder, settings, feed, tables)
    return rows


def xlsx_of(
    folder: Path, settings, feed: str, tables: dict[str, list[list]], hidden: tuple[str, ...] = ()
) -> Path:
    """Replace a feed's CSVs with one workbook holding `tables` (sheet name → rows)."""
    for p in folder.glob(f"{feed}*.csv"):
        p.unlink()
    return write_xlsx(folder / f"{feed}.xlsx", tables, hidden)


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> Path:
    """A workbook with one sheet per entry; each entry's first list is the first row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if name in hidden:
            ws.sheet_state = "hidden"
    wb.save(path)
    return path


def table_rows(settings, feed: str, table: str, rows: list[dict]) -> list[list]:
    columns = [c for c in settings.contracts[feed].tables[table].columns if any(c in r for r in rows)]
    return [[header(settings, feed, table, c) for c in columns], *[[r.get(c) for c in columns] for r in rows]]


@dataclass
class Case:
    code: str
    what: str  # the defect class
    status: str  # evaluated | blocked
    expect: tuple[str, ...] = ()  # text the partition's result must contain (reasons, quarantine, listings)
    apply: Callable | None = None  # (folder, settings, rows) → None
    never: tuple[str, ...] = (SECRET,)  # text that must appear nowhere in the result
    rows_in_file: dict[str, int] = field(
        default_factory=dict
    )  # table → data rows the file holds (accounting)


def _edit(feed: str, table: str, change):
    """A case that changes the base rows of one table and writes the feed again as CSV."""

    def apply(folder, settings, rows):
        change(rows[feed][table])
        write_feed(folder, settings, feed, rows[feed])

    return apply


def _raw(name: str, text: str | bytes):
    def apply(folder, settings, rows):
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    return apply


def _csv_text(settings, feed, table, rows) -> str:
    buf = io.StringIO()
    columns = [c for c in settings.contracts[feed].tables[table].columns if any(c in r for r in rows)]
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([header(settings, feed, table, c) for c in columns])
    for r in rows:
        writer.writerow(["" if r.get(c) is None else r.get(c) for c in columns])
    return buf.getvalue()


def _second_file(folder, settings, rows):
    extra = [dict(t, ticket_id=t["ticket_id"] + "B") for t in rows["hotline"]["tickets"][:5]]
    write_csv(folder / "hotline.tickets.csv", settings, "hotline", "tickets", extra)


def _hidden_sheet(folder, settings, rows):
    fin = rows["financial"]
    visible = table_rows(settings, "financial", "budget_lines", fin["budget_lines"])
    tripled = table_rows(
        settings,
        "financial",
        "budget_lines",
        [dict(r, final_amount="9000000.00") for r in fin["budget_lines"]],
    )
    xlsx_of(
        folder,
        settings,
        "financial",
        {
            "预算决算表 ": tripled,
            "预算决算表": visible,
            "支出明细账": table_rows(settings, "financial", "ledger", fin["ledger"]),
        },
        hidden=("预算决算表 ",),
    )


def _title_and_two_row_header(folder, settings, rows):
    fin = rows["financial"]
    body = table_rows(settings, "financial", "budget_lines", fin["budget_lines"])
    head = body[0]
    upper = ["预算数" if h in ("年初预算", "调整预算") else h for h in head]
    lower = [h if h in ("年初预算", "调整预算") else None for h in head]
    upper = [None if (u == "预算数" and i and upper[i - 1] == "预算数") else u for i, u in enumerate(upper)]
    xlsx_of(
        folder,
        settings,
        "financial",
        {
            "预算决算表": [["2023年度部门预决算表"], ["单位：元"], upper, lower, *body[1:]],
            "支出明细账": table_rows(settings, "financial", "ledger", fin["ledger"]),
        },
    )


def _duplicate_header(folder, settings, rows):
    fin = rows["financial"]
    body = table_rows(settings, "financial", "budget_lines", fin["budget_lines"])
    body = [r + [r[body[0].index("决算数")]] for r in body]
    xlsx_of(
        folder,
        settings,
        "financial",
        {"预算决算表": body, "支出明细账": table_rows(settings, "financial", "ledger", fin["ledger"])},
    )


def _unlabeled(folder, settings, rows):
    fin = rows["financial"]
    body = table_rows(settings, "financial", "budget_lines", fin["budget_lines"])
    body = [r + ([None] if i == 0 else ["备注"]) for i, r in enumerate(body)]
    xlsx_of(
        folder,
        settings,
        "financial",
        {"预算决算表": body, "支出明细账": table_rows(settings, "financial", "ledger", fin["ledger"])},
    )


def _symlink_to(target: str):
    def apply(folder, settings, rows):
        (folder / "hotline.csv").unlink()
        (folder / "hotline.csv").symlink_to(target)

    return apply


def _outside_file(folder, settings, rows):
    outside = folder.parent.parent.parent / "outside" / "hotline.csv"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text(
        _csv_text(settings, "hotline", "tickets", rows["hotline"]["tickets"]), encoding="utf-8"
    )
    (folder / "hotline.csv").unlink()
    (folder / "hotline.csv").symlink_to(outside)


def _zip_bomb(folder, settings, rows):
    for p in folder.glob("asset_register*.csv"):
        p.unlink()
    with zipfile.ZipFile(folder / "asset_register.xlsx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" * (520 << 20))


def _escape_name(folder, settings, rows):
    (folder / "notes\x1b[31m\nrm -rf.txt").write_text("x")


def _lock_file(folder, settings, rows):
    (folder / "~$financial.xlsx").write_bytes(b"lock")


def _header_only(feed, table):
    return _edit(feed, table, lambda rs: rs.clear())


def cases() -> list[Case]:
    c = []

    def add(what, status, expect=(), apply=None, **kw):
        c.append(Case(f"hx-{len(c) + 1:02d}", what, status, tuple(expect), apply, **kw))

    add("clean base", "evaluated")
    add(
        "second CSV for the same table",
        "blocked",
        ["hotline.csv", "hotline.tickets.csv", "comes from 2 places"],
        _second_file,
    )
    add(
        "hidden sheet named like the real one",
        "evaluated",
        ["financial.xlsx sheet 预算决算表 "],
        _hidden_sheet,
    )
    add(
        "totals row kept in the budget lines",
        "evaluated",
        ["合计/小计行"],
        _edit(
            "financial",
            "budget_lines",
            lambda rs: rs.append(
                {
                    "line_id": "合计",
                    "unit_code": "HX001",
                    "expense_type": "基本支出",
                    "economic_class": "公用经费",
                    "item": "合计",
                    "initial_budget": "2930000.00",
                    "final_amount": "2862000.00",
                }
            ),
        ),
    )
    add(
        "万元 header over 元 values",
        "blocked",
        ["数量级异常", "financial.budget_lines"],
        _edit_header(
            "financial",
            "budget_lines",
            {"final_amount": "决算数（万元）", "initial_budget": "年初预算（万元）"},
        ),
    )
    add(
        "a few rows in 万元 under a 元 header",
        "evaluated",
        ["数量级异常"],
        _edit(
            "financial",
            "budget_lines",
            lambda rs: [r.update(initial_budget="60.00", final_amount="59.80") for r in rs[:2]],
        ),
    )
    add(
        "1e309 amount",
        "evaluated",
        ["cannot be read as 金额"],
        _edit("financial", "budget_lines", lambda rs: rs[0].update(final_amount="1e309")),
        never=(SECRET, "1e309", "Infinity"),
    )
    add(
        "1,2.3 amount",
        "evaluated",
        ["cannot be read as 金额"],
        _edit("financial", "budget_lines", lambda rs: rs[1].update(final_amount="1,2.3")),
    )
    add(
        "N/A in text columns",
        "evaluated",
        [],
        _edit(
            "hotline", "tickets", lambda rs: [r.update(handling_unit="N/A", category="null") for r in rs[:3]]
        ),
    )
    add(
        "dates outside the evaluation year",
        "evaluated",
        ["不在评价年度内"],
        _edit("financial", "ledger", lambda rs: rs[0].update(date="2021-05-01")),
    )
    add(
        "tickets closed before received",
        "evaluated",
        ["办结时间早于受理时间"],
        _edit("hotline", "tickets", lambda rs: rs[0].update(closed_at=f"{YEAR}-01-01 08:00:00")),
    )
    add(
        "another department's unit codes",
        "evaluated",
        ["不是本部门的预算单位"],
        _edit("asset_register", "assets", lambda rs: rs[0].update(unit_code="JDZ001")),
    )
    add(
        "unit code with a zero-width space",
        "evaluated",
        ["contains invisible characters"],
        _edit("asset_register", "assets", lambda rs: rs[1].update(unit_code="HX0\u200b02")),
    )
    add(
        "full-width unit code (NFKC)",
        "evaluated",
        [],
        _edit("asset_register", "assets", lambda rs: rs[2].update(unit_code="ＨＸ００３")),
    )
    add(
        "workpaper naming an unknown indicator",
        "evaluated",
        ["不是本部门指标体系中的计分指标"],
        _edit(
            "evaluation",
            "workpaper",
            lambda rs: rs.append(
                {
                    "record_id": "DG02",
                    "indicator_id": "funds_complaince",
                    "deduction": 5,
                    "finding": "虚构扣分",
                }
            ),
        ),
    )
    add(
        "every ticket timestamp unreadable",
        "blocked",
        ["hotline.tickets", "keeps 0 of 30 rows", "cannot be read as 时间"],
        _edit("hotline", "tickets", lambda rs: [r.update(received_at="03/15/2023 9am") for r in rs]),
    )
    add(
        "ISO-8601 timestamps with offset",
        "evaluated",
        [],
        _edit(
            "hotline",
            "tickets",
            lambda rs: [r.update(received_at=r["received_at"].replace(" ", "T") + "+08:00") for r in rs],
        ),
    )
    add(
        "header only: a required table with no rows",
        "blocked",
        ["financial.ledger", "keeps 0 of 0 rows"],
        _header_only("financial", "ledger"),
    )
    add(
        "the profile row quarantined",
        "blocked",
        ["evaluation.profile", "keeps 0 of 1 rows"],
        _edit(
            "evaluation", "profile", lambda rs: rs[0].update(evaluation_date="not a date", staff_in_post="")
        ),
    )
    add(
        "most rows quarantined (below min_kept_share)",
        "blocked",
        ["keeps only", "min_kept_share"],
        _edit("asset_register", "assets", lambda rs: [r.update(status="报废中") for r in rs[:6]]),
    )
    add("title rows and a two-row merged header", "evaluated", [], _title_and_two_row_header)
    add("duplicated header", "blocked", ["预算决算表 row 1", "决算数 twice"], _duplicate_header)
    add("unlabeled column with data", "evaluated", ["(no header)"], _unlabeled)
    add(
        "5M-character cell",
        "evaluated",
        ["cell longer than"],
        _edit("hotline", "tickets", lambda rs: rs[0].update(category="长" * 5_000_000)),
        never=(SECRET, "长" * 100),
    )
    add(
        "symlink to /etc/passwd",
        "blocked",
        ["symbolic link"],
        _symlink_to("/etc/passwd"),
        never=(SECRET, "root:x:0:0"),
    )
    add("symlink to a file outside the landing root", "blocked", ["symbolic link"], _outside_file)
    add(
        "file name with escape codes and a newline",
        "evaluated",
        ["\\x1b[31m\\n"],
        _escape_name,
        never=(SECRET, "\x1b"),
    )
    add("zip bomb", "blocked", ["possible zip bomb", "asset_register.xlsx"], _zip_bomb)
    add(
        "binary junk as CSV",
        "blocked",
        ["hotline.csv", "not UTF-8 or GBK"],
        _raw("hotline.csv", bytes(range(128, 256)) * 50),
    )
    add(
        "text file named .xlsx",
        "blocked",
        ["asset_register.xlsx", "not a valid xlsx"],
        lambda f, s, r: (
            [p.unlink() for p in f.glob("asset_register*.csv")],
            (f / "asset_register.xlsx").write_text("hello"),
        )[0],
    )
    add(
        "a required column missing",
        "blocked",
        ["required column 原值 missing", "column original_value"],
        _edit("asset_register", "assets", lambda rs: [r.pop("original_value") for r in rs]),
    )
    add(
        "a required feed missing",
        "blocked",
        ["feed 交易与采购 (transactions) not found"],
        lambda f, s, r: [p.unlink() for p in f.glob("transactions*.csv")],
    )
    add(
        "a required table missing",
        "blocked",
        ["table 支出明细账 (financial.ledger) not found"],
        lambda f, s, r: (f / "financial.ledger.csv").unlink(),
    )
    add(
        "a file of another department",
        "blocked",
        ["says hx-99", "belongs to another department"],
        _edit("financial", "budget_lines", lambda rs: [r.update(department="hx-99") for r in rs]),
    )
    add(
        "duplicate keys",
        "evaluated",
        ["重复"],
        _edit("hotline", "tickets", lambda rs: rs.append(dict(rs[0]))),
    )
    add(
        "negative amount",
        "evaluated",
        ["超出范围"],
        _edit("asset_register", "assets", lambda rs: rs[0].update(original_value="-6000.00")),
    )
    add(
        "value not allowed",
        "evaluated",
        ["不在允许值内"],
        _edit("hotline", "tickets", lambda rs: rs[0].update(status="处理中?")),
    )
    add(
        "CSV line with the wrong number of fields",
        "evaluated",
        ["has 3 fields"],
        _raw_append("hotline.csv", "GDX,2023-05-01 08:00:00,only\n"),
    )
    add(
        "blank spacer lines",
        "evaluated",
        [],
        _raw_append(
            "hotline.csv",
            "\n\n"
            + "GD9999,2023-05-01 08:00:00,2023-05-02 08:00:00,2023-05-01 12:00:00,市文化馆,咨询,已办结,满意,是\n",
        ),
    )
    add("GBK encoded CSV", "evaluated", [], _reencode("hotline.csv", "gbk"))
    add(
        "formula text in a cell",
        "evaluated",
        [],
        _edit("evaluation", "workpaper", lambda rs: rs[0].update(finding='=HYPERLINK("http://x","点击")')),
    )
    add(
        "an optional column left empty",
        "evaluated",
        [],
        _edit("hotline", "tickets", lambda rs: [r.update(satisfaction=None, callback=None) for r in rs]),
    )
    add("Excel lock file beside the feeds", "evaluated", ["~$financial.xlsx"], _lock_file)
    add(
        "unparseable date",
        "evaluated",
        ["cannot be read as 日期"],
        _edit("financial", "ledger", lambda rs: rs[0].update(date="2023-13-45")),
    )
    add(
        "empty 计量单位 and comma target value",
        "evaluated",
        [],
        _edit("evaluation", "targets", lambda rs: rs[0].update(unit=None, value="1,200", actual="1,250")),
    )
    return c


def _edit_header(feed: str, table: str, renames: dict[str, str]):
    def apply(folder, settings, rows):
        write_feed(folder, settings, feed, rows[feed])
        path = folder / (
            f"{feed}.csv" if table == settings.contracts[feed].main_table.name else f"{feed}.{table}.csv"
        )
        lines = path.read_text(encoding="utf-8").split("\n")
        head = lines[0].split(",")
        for column, new in renames.items():
            head[head.index(header(settings, feed, table, column))] = new
        path.write_text("\n".join([",".join(head), *lines[1:]]), encoding="utf-8")

    return apply


def _raw_append(name: str, text: str):
    def apply(folder, settings, rows):
        with open(folder / name, "a", encoding="utf-8") as fh:
            fh.write(text)

    return apply


def _reencode(name: str, encoding: str):
    def apply(folder, settings, rows):
        path = folder / name
        path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))

    return apply


def build(root: Path, settings_for) -> tuple[object, list[Case]]:
    """Write every case's landing folder under root/landing; returns (settings, cases).
    `settings_for(departments)` makes settings that know the corpus departments."""
    all_cases = cases()
    settings = settings_for({case.code: department(case.code) for case in all_cases})
    for case in all_cases:
        folder = settings.landing_folder(case.code, YEAR)
        folder.mkdir(parents=True, exist_ok=True)
        rows = write_base(folder, settings, case.code)
        if case.apply:
            case.apply(folder, settings, rows)
    os.sync()
    return settings, all_cases
