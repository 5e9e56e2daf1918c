"""Turn generated tables into the cells of an export: contract headers (Chinese aliases), money in 元 with
two decimals (or thousands separators, or 万元), dates as text, 是/否 booleans."""

from __future__ import annotations

import numpy as np
import pandas as pd

from perfeval_pipeline.demo.common import fmt_money
from perfeval_pipeline.demo.params import FormatStyle
from perfeval_pipeline.feeds.contracts import ColumnContract, TableContract


def header(col: ColumnContract, table: TableContract, style: FormatStyle) -> str:
    alias = col.aliases[min(style.alias_index, len(col.aliases) - 1)] if col.aliases else col.name
    if col.type == "money" and table.qualified_name in style.wan_tables:
        alias += "（万元）"
    return alias


def _datetimes(values: pd.Series, unit: str, sep: str) -> list[str]:
    if values.empty:
        return []
    if pd.api.types.is_datetime64_any_dtype(values):
        arr = values.to_numpy().astype(f"datetime64[{unit}]")
    else:
        arr = np.array([None if pd.isna(v) else v for v in values], dtype=f"datetime64[{unit}]")
    # 'YYYY-MM-DDTHH:MM:SS': patch the separators in place through a code-point view (25万 rows).
    text = np.datetime_as_string(arr, unit=unit)
    codes = text.view(np.uint32).reshape(len(text), -1)
    if unit == "s":
        codes[:, 10] = ord(" ")
    codes[:, [4, 7]] = ord(sep)
    text[np.isnat(arr)] = ""
    return text.tolist()


def _cells(values: pd.Series, col: ColumnContract, money_style: str, date_sep: str) -> list:
    if col.type in ("date", "datetime"):
        return _datetimes(values, "D" if col.type == "date" else "s", date_sep)
    if col.type == "bool" and values.dtype == bool:
        return np.where(values.to_numpy(), "是", "否").tolist()
    # Plain objects: iterating pandas' Arrow-backed strings cell by cell is ten times slower.
    objs = values.to_numpy(dtype=object, na_value=None)
    if col.type == "string":
        return ["" if v is None else str(v) for v in objs]
    if col.type == "money":
        return ["" if v is None else fmt_money(int(v), money_style) for v in objs]
    if col.type == "bool":
        return ["" if v is None else "是" if v else "否" for v in objs]
    if col.type in ("int", "float"):  # numbers stay numbers: an xlsx shows them as numeric cells
        return ["" if v is None or v != v else int(v) if float(v).is_integer() else float(v) for v in objs]
    raise ValueError(f"unknown column type {col.type}")


def format_table(frame: pd.DataFrame, table: TableContract, style: FormatStyle) -> pd.DataFrame:
    """Export cells of a generated table, columns in contract order, still under canonical names."""
    money_style = "wan" if table.qualified_name in style.wan_tables else style.money
    return pd.DataFrame(
        {
            name: _cells(frame[name], col, money_style, style.date_sep)
            for name, col in table.columns.items()
            if name in frame.columns
        },
        index=pd.RangeIndex(len(frame)),
        dtype=object,
    )
