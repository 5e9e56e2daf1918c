"""Defects planted in the defective department's exports (srs-zwsjj), for the quality checks to catch.

Row-level defects (2022–2024) must be quarantined row by row; the 2024 structural defect (the asset
cards lack the required 原值 column) must fail the whole feed. Defects are applied to the export cells
(canonical column names, text values) just before writing, and located by key, so tests can find them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from perfeval_pipeline.demo.hotline import ticket_ids

DEFECTIVE_DEPARTMENT = "srs-zwsjj"
ROW_DEFECT_YEARS = (2022, 2023, 2024)
STRUCTURAL_DEFECT_YEARS = (2024,)


@dataclass(frozen=True)
class Defect:
    department: str
    year: int
    feed: str
    table: str
    column: str
    key: tuple[str, ...]  # key values of the affected rows (the table's contract key); () if structural
    kind: str  # not_allowed | duplicate_key | unparseable | below_min | required_missing | missing_column
    what: str
    apply: Callable[[pd.DataFrame], pd.DataFrame]

    def as_dict(self) -> dict:
        return {
            "department": self.department,
            "year": self.year,
            "feed": self.feed,
            "table": self.table,
            "column": self.column,
            "key": list(self.key),
            "kind": self.kind,
            "what": self.what,
        }


def _set(key_col: str, keys: tuple[str, ...], column: str, value: Callable[[str], str]):
    def apply(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame.index[frame[key_col].isin(keys)]
        if len(rows) != len(keys):
            raise ValueError(f"defect rows {keys} not all found in column {key_col}")
        frame.loc[rows, column] = [value(v) for v in frame.loc[rows, column]]
        return frame

    return apply


def _defects(year: int) -> list[Defect]:
    d = DEFECTIVE_DEPARTMENT
    tickets = ticket_ids(d, year, 3000).tolist()
    unit_codes = ("SRS001", "SRS002", "SRS004")
    out = [
        Defect(
            d,
            year,
            "hotline",
            "tickets",
            "status",
            tuple(tickets[1000:1003]),
            "not_allowed",
            "3 tickets with 办理状态 '处理中?' (not an allowed status)",
            _set("ticket_id", tuple(tickets[1000:1003]), "status", lambda _: "处理中?"),
        ),
        # Ticket 2001 is relabelled with 2000's number: two rows share one key.
        Defect(
            d,
            year,
            "hotline",
            "tickets",
            "ticket_id",
            (tickets[1999],),
            "duplicate_key",
            f"duplicate 工单编号 {tickets[1999]} (two tickets)",
            _set("ticket_id", (tickets[2000],), "ticket_id", lambda _: tickets[1999]),
        ),
        Defect(
            d,
            year,
            "hotline",
            "tickets",
            "received_at",
            (tickets[2999],),
            "unparseable",
            f"受理时间 '{year}-13-45' cannot be read as a date",
            _set("ticket_id", (tickets[2999],), "received_at", lambda _: f"{year}-13-45"),
        ),
        Defect(
            d,
            year,
            "financial",
            "budget_lines",
            "final_amount",
            (f"{unit_codes[2]}-01",),
            "below_min",
            "a budget line with a negative 决算数",
            _set("line_id", (f"{unit_codes[2]}-01",), "final_amount", lambda v: "-" + v),
        ),
        Defect(
            d,
            year,
            "asset_register",
            "assets",
            "status",
            (f"{unit_codes[1]}-0003",),
            "not_allowed",
            "an asset with 使用状态 '报废中' (not an allowed status)",
            _set("asset_id", (f"{unit_codes[1]}-0003",), "status", lambda _: "报废中"),
        ),
        Defect(
            d,
            year,
            "transactions",
            "procurement",
            "project",
            (f"{unit_codes[0]}-CG{year}-01",),
            "required_missing",
            "a procurement row with an empty 采购项目 (required)",
            _set("procurement_id", (f"{unit_codes[0]}-CG{year}-01",), "project", lambda _: ""),
        ),
    ]
    if year in STRUCTURAL_DEFECT_YEARS:
        out.append(
            Defect(
                d,
                year,
                "asset_register",
                "assets",
                "original_value",
                (),
                "missing_column",
                "固定资产卡片 sheet lacks the required 原值 column entirely",
                lambda frame: frame.drop(columns=["original_value"]),
            )
        )
    return out


_ALL = [defect for year in ROW_DEFECT_YEARS for defect in _defects(year)]
PLANTED_DEFECTS: list[dict] = [defect.as_dict() for defect in _ALL]


def plant_defects(
    department: str, year: int, feed: str, tables: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """The feed's export cells with this partition's planted defects applied."""
    for defect in _ALL:
        if (defect.department, defect.year, defect.feed) == (department, year, feed):
            tables[defect.table] = defect.apply(tables[defect.table])
    return tables
