"""Typed conversion of raw string cells: amounts like '1,958.52', rates like '50.19%', 万元 headers,
Chinese booleans and dates. Cells that do not parse become missing and the row records why."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfeval_pipeline.feeds.contracts import ColumnContract
from perfeval_pipeline.feeds.readers import SOURCE_COLUMNS, RawTable

PARSE_ERRORS = "_parse_errors"
TRUE_WORDS = {"是", "y", "yes", "true", "1", "√", "有", "已"}
FALSE_WORDS = {"否", "n", "no", "false", "0", "×", "无", "未"}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y年%m月%d日",
    "%Y%m%d",
)


def _clean_number_text(s: pd.Series) -> pd.Series:
    return (
        s.str.replace(",", "", regex=False)
        .str.replace("，", "", regex=False)
        .str.replace("¥", "", regex=False)
        .str.replace("￥", "", regex=False)
        .str.replace("元", "", regex=False)
        .str.replace(" ", "", regex=False)
        .str.strip()
    )


def parse_number(s: pd.Series) -> pd.Series:
    return pd.to_numeric(_clean_number_text(s).replace("", np.nan), errors="coerce")


def parse_rate(s: pd.Series, header_unit: str | None) -> pd.Series:
    """'50.19%' → 0.5019; a bare number is a fraction unless the header says (%)."""
    text = _clean_number_text(s)
    has_pct = text.str.endswith("%") | text.str.endswith("％")
    num = pd.to_numeric(text.str.rstrip("%％").replace("", np.nan), errors="coerce")
    return num.where(~(has_pct | (header_unit == "%")), num / 100.0)


def parse_dates(s: pd.Series) -> pd.Series:
    text = s.str.strip().replace("", np.nan)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    todo = text.notna()
    for fmt in _DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        hit = parsed.notna()
        out.loc[hit[hit].index] = parsed[hit]
        todo.loc[hit[hit].index] = False
    return out


def parse_bool(s: pd.Series) -> pd.Series:
    low = s.str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(TRUE_WORDS)] = True
    out[low.isin(FALSE_WORDS)] = False
    return out


def convert_column(raw: pd.Series, col: ColumnContract, header_unit: str | None) -> pd.Series:
    s = raw.astype(str)
    if col.type == "string":
        return s.str.strip().replace("", pd.NA).astype("string")
    if col.type == "int":
        num = parse_number(s)
        return num.where(num.isna() | (num == num.round()), np.nan).astype("Int64")
    if col.type == "float":
        return parse_number(s).astype("Float64")
    if col.type == "money":
        scale = 10000.0 if header_unit == "万元" else 1.0
        return (parse_number(s) * scale).round(2).astype("Float64")
    if col.type == "rate":
        return parse_rate(s, header_unit).astype("Float64")
    if col.type in ("date", "datetime"):
        return parse_dates(s)
    if col.type == "bool":
        return parse_bool(s)
    raise ValueError(f"unknown column type {col.type}")


def type_table(table: RawTable) -> pd.DataFrame:
    """Typed frame with every contract column (absent optional ones all-missing), the source
    columns, and `_parse_errors`: for each row, the cells that were present but did not parse."""
    raw = table.frame
    out = {}
    errors = pd.Series("", index=raw.index, dtype="string")
    for name, col in table.contract.columns.items():
        if name not in raw.columns:
            out[name] = convert_column(pd.Series([""] * len(raw), index=raw.index, dtype=object), col, None)
            continue
        typed = convert_column(raw[name], col, table.header_units.get(name))
        present = raw[name].astype(str).str.strip() != ""
        bad = present & typed.isna()
        if bad.any():
            msg = raw[name].astype("string").where(bad, "")
            errors = errors.where(~bad, errors + f"{name}: cannot read '" + msg + f"' as {col.type}; ")
        out[name] = typed
    frame = pd.DataFrame(out, index=raw.index)
    for c in SOURCE_COLUMNS:
        frame[c] = raw[c].values
    # A typed text column: all-missing object columns would store as Parquet null type and drift.
    frame[PARSE_ERRORS] = errors.str.rstrip("; ").replace("", pd.NA).astype("string")
    return frame
