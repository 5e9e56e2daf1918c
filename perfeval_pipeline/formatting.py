"""How figures print in a form: one place, so the form, the findings text, the workbook and `trace`
agree. Percentages print with two decimals unless they are whole ('100%', '60%', '98.50%').
Rounding is 四舍五入 on the figure as written in decimal (10050 元 → '1.01' 万元), as a person and
Excel round, not on its binary approximation."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"


def missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(value)  # type: ignore[arg-type]
    except TypeError:
        return False


def _whole(x: float) -> bool:
    return abs(x - round(x)) < 5e-9


def _fixed(value: float, decimals: int, scale: int = 0) -> str:
    """value × 10**scale with `decimals` decimals, rounded half up on its shortest decimal form."""
    exact = (
        Decimal(repr(float(value)))
        .scaleb(scale)
        .quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    )
    return f"{exact.copy_abs() if exact.is_zero() else exact:f}"  # never '-0.00'


def percent(value: float | None, decimals: int = 2) -> str:
    """0.9424 → '94.24%'; 1.0 → '100%'; 0.985 → '98.50%'."""
    if missing(value):
        return MISSING
    pct = value * 100
    return f"{round(pct):.0f}%" if _whole(pct) else f"{_fixed(value, decimals, 2)}%"


def percent_fixed(value: float | None, decimals: int = 2) -> str:
    """Always `decimals` decimals: 1.0 → '100.00%'."""
    return MISSING if missing(value) else f"{_fixed(value, decimals, 2)}%"


def wan(value_yuan: float | None, decimals: int = 2) -> str:
    """元 → 万元 with fixed decimals, no unit: 39350200 → '3935.02'."""
    return MISSING if missing(value_yuan) else _fixed(value_yuan, decimals, -4)


def wan_count(value: float | None, decimals: int = 2) -> str:
    """A count in 万: 258500 → '25.85万'."""
    return MISSING if missing(value) else f"{_fixed(value, decimals, -4)}万"


def count(value: float | None) -> str:
    return MISSING if missing(value) else _fixed(value, 0)


def decimal(value: float | None, decimals: int = 2) -> str:
    return MISSING if missing(value) else _fixed(value, decimals)


def boolean(value: float | None) -> str:
    return MISSING if missing(value) else ("是" if value else "否")


def points(value: float | None) -> str:
    """A score or deduction: '0.5', '2', '1.25' (no trailing zeros)."""
    return MISSING if missing(value) else f"{value:.2f}".rstrip("0").rstrip(".")


DISPLAYS = {
    "percent": percent,
    "percent_fixed": percent_fixed,
    "wan": wan,
    "wan_count": wan_count,
    "count": count,
    "decimal": decimal,
    "boolean": boolean,
}
# The unit a display prints after the figure in running text and in workbooks.
DISPLAY_UNITS = {"wan": "万元", "wan_count": "件", "percent": "", "percent_fixed": ""}


def display(value: float | None, kind: str) -> str:
    try:
        return DISPLAYS[kind](value)
    except KeyError:
        raise ValueError(f"unknown display {kind!r}; one of {sorted(DISPLAYS)}") from None


def number_format(kind: str, value: float | None = None) -> str:
    """The Excel number format that shows a value as `display(value, kind)` does."""
    if kind == "percent":
        return "0%" if value is not None and not missing(value) and _whole(value * 100) else "0.00%"
    if kind == "percent_fixed":
        return "0.00%"
    if kind == "wan":
        return "0.00"
    if kind == "count":
        return "0"
    if kind == "wan_count":
        return '0.00"万"'
    return "0.00"
