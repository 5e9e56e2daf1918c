"""How figures print in a form: one place, so the form, the findings text and `trace` agree."""

from __future__ import annotations

import math


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value: float | None, decimals: int = 2) -> str:
    return "—" if _missing(value) else f"{value * 100:.{decimals}f}%"


def wan(value_yuan: float | None, decimals: int = 2) -> str:
    """元 → 万元 with fixed decimals, no unit: 39350200 → '3935.02'."""
    return "—" if _missing(value_yuan) else f"{value_yuan / 10000:.{decimals}f}"


def wan_count(value: float | None, decimals: int = 2) -> str:
    """A count in 万: 258500 → '25.85万'."""
    return "—" if _missing(value) else f"{value / 10000:.{decimals}f}万"


def count(value: float | None) -> str:
    return "—" if _missing(value) else f"{value:.0f}"


def decimal(value: float | None, decimals: int = 2) -> str:
    return "—" if _missing(value) else f"{value:.{decimals}f}"


def boolean(value: float | None) -> str:
    return "—" if _missing(value) else ("是" if value else "否")


DISPLAYS = {
    "percent": percent,
    "percent_int": lambda v: percent(v, 0),
    "wan": wan,
    "wan_count": wan_count,
    "count": count,
    "decimal": decimal,
    "boolean": boolean,
}


def display(value: float | None, kind: str) -> str:
    try:
        return DISPLAYS[kind](value)
    except KeyError:
        raise ValueError(f"unknown display {kind!r}; one of {sorted(DISPLAYS)}") from None
