"""The one number parser, table-driven: table cells (strict) and free-text quantities (targets)."""

import math

import pytest

from perfeval_pipeline.formatting import display, percent
from perfeval_pipeline.numbers import Quantity, parse_cell, parse_printed, parse_quantity

CELLS = [
    # text, kind, expected (None: unreadable or empty)
    ("1958.52", "money", 1958.52),
    ("1,958.52", "money", 1958.52),
    ("19,585,200.00", "money", 19585200.0),
    ("１，９５８．５２", "money", 1958.52),  # full-width digits and separators
    ("¥1,234", "money", 1234.0),
    ("1234元", "money", 1234.0),
    ("(1,234.00)", "money", -1234.0),  # accounting negative
    ("-56.7", "money", -56.7),
    ("  42 ", "money", 42.0),
    ("1.2E+07", "number", 12_000_000.0),
    (".5", "number", 0.5),
    ("1,2.3", "money", None),  # malformed grouping, not 12.3
    ("12,34", "money", None),
    ("1e309", "money", None),  # not finite
    ("-1e309", "number", None),
    ("nan", "number", None),
    ("inf", "number", None),
    ("N/A", "money", None),
    ("", "money", None),
    ("abc", "number", None),
    ("50%", "money", None),  # a percentage is no amount
    ("50.19%", "rate", 0.5019),
    ("５０．１９％", "rate", 0.5019),
    ("0.5019", "rate", 0.5019),
    ("12元", "rate", None),
    ("¥3", "number", None),
]


@pytest.mark.parametrize(("text", "kind", "expected"), CELLS)
def test_cells(text, kind, expected):
    got = parse_cell(text, kind)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_percent_header_makes_bare_numbers_percentages():
    assert parse_cell("50.19", "rate", percent_header=True) == pytest.approx(0.5019)
    assert parse_cell("50.19%", "rate", percent_header=True) == pytest.approx(0.5019)


QUANTITIES = [
    # text, unit hint, value, comparator, unit
    ("≥95%", None, 0.95, "≥", ""),
    ("≥ 80 %", None, 0.80, "≥", ""),
    ("大于等于 98 ％", None, 0.98, "≥", ""),
    ("不低于90%", None, 0.90, "≥", ""),
    ("100%以上", None, 1.0, "≥", ""),
    ("≤3天", None, 3.0, "≤", "天"),
    ("不超过5个工作日", None, 5.0, "≤", "个工作日"),
    ("<2", None, 2.0, "<", ""),
    ("30,000", None, 30000.0, None, ""),
    ("1,200.5", None, 1200.5, None, ""),
    ("３０，０００", None, 30000.0, None, ""),
    ("140万元", None, 1_400_000.0, None, "元"),
    ("≥25万件", None, 250_000.0, "≥", "件"),
    ("2.5亿", None, 250_000_000.0, None, ""),
    ("25", "%", 0.25, None, ""),
    ("25", "万件", 250_000.0, None, "件"),
    ("98", "", 98.0, None, ""),
]


@pytest.mark.parametrize(("text", "hint", "value", "comparator", "unit"), QUANTITIES)
def test_quantities(text, hint, value, comparator, unit):
    q = parse_quantity(text, hint)
    assert isinstance(q, Quantity)
    assert q.value == pytest.approx(value)
    assert (q.comparator, q.unit) == (comparator, unit)


@pytest.mark.parametrize("text", ["及时", "第3季度", "", None, "较上年提升", float("nan")])
def test_not_quantities(text):
    assert parse_quantity(text) is None


PRINTED = [
    ("489.93%", 4.8993, "%"),
    ("100%", 1.0, "%"),
    ("100.00%", 1.0, "%"),
    ("3935.02万元", 39_350_200.0, "万元"),
    ("3708.51万", 37_085_100.0, "万"),
    ("25.85万", 258_500.0, "万"),
    ("1,958.52", 1958.52, ""),
    ("65", 65.0, ""),
    ("1919家", 1919.0, "家"),
]


@pytest.mark.parametrize(("text", "number", "unit"), PRINTED)
def test_printed_figures(text, number, unit):
    got = parse_printed(text)
    assert got is not None and math.isclose(got[0], number, rel_tol=1e-12) and got[1] == unit


def test_whole_percentages_print_without_decimals_others_with_two():
    assert [percent(v) for v in (1.0, 0.6, 0.985, 0.9424, 4.8993343, None)] == [
        "100%",
        "60%",
        "98.50%",
        "94.24%",
        "489.93%",
        "—",
    ]
    assert display(258_500, "wan_count") == "25.85万" and display(39_350_200, "wan") == "3935.02"
