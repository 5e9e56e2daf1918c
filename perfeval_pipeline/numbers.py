"""The one number parser: every place where text becomes a number goes through here (feed cells,
绩效目标表 targets, scoring, `perfeval trace` look-ups), so '30,000', '≥95%', '不低于90%', '25.85万'
and '３，０００' mean the same thing everywhere.

Two entry points:
- `parse_cells(series, percent=...)`: strict and vectorised, for table cells. A cell is a plain
  number, optionally signed, with valid thousands grouping ('1,234.5', not '1,2.3'), a currency
  sign or a trailing 元, a trailing %, accounting parentheses for negatives, or scientific
  notation. Anything else, and any non-finite value ('1e309'), is unreadable: NaN.
- `parse_quantity(text)`: one free-text quantity as a form or a target table writes it: a
  comparator ('≥', '不低于', '以上'), a number, 万/亿 multipliers and a unit ('≤3天', '≥ 80 %',
  '140万元'). Returns None when there is no number in it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Cells that mean "no value" in exports. Kept as text in text columns; missing in number columns.
NA_TOKENS = frozenset({"n/a", "na", "#n/a", "null", "none", "nan", "-", "--", "—", "——", "/"})

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_CELL = re.compile(rf"^(?P<neg>[+-])?(?:[¥$])?(?P<num>{_DIGITS})(?P<exp>[eE][+-]?\d+)?(?P<unit>元|%)?$")
_PAREN = re.compile(r"^\((?P<inner>[^()]*)\)$")

# Comparator words as targets write them, longest first: prefix words and suffix words.
_PREFIX_COMPARATORS = (
    ("大于或等于", "≥"),
    ("大于等于", "≥"),
    ("不低于", "≥"),
    ("不少于", "≥"),
    ("不小于", "≥"),
    ("至少", "≥"),
    ("达到", "≥"),
    ("小于或等于", "≤"),
    ("小于等于", "≤"),
    ("不高于", "≤"),
    ("不超过", "≤"),
    ("不多于", "≤"),
    ("不大于", "≤"),
    ("控制在", "≤"),
    ("至多", "≤"),
    ("大于", ">"),
    ("高于", ">"),
    ("超过", ">"),
    ("多于", ">"),
    ("小于", "<"),
    ("低于", "<"),
    ("少于", "<"),
    ("等于", "="),
    (">=", "≥"),
    ("<=", "≤"),
    ("≧", "≥"),
    ("≦", "≤"),
    ("≥", "≥"),
    ("≤", "≤"),
    (">", ">"),
    ("<", "<"),
    ("=", "="),
)
_SUFFIX_COMPARATORS = (("及以上", "≥"), ("以上", "≥"), ("及以下", "≤"), ("以下", "≤"), ("以内", "≤"))
_MULTIPLIERS = {"万": 1e4, "亿": 1e8, "千": 1e3, "百万": 1e6}
_QUANTITY = re.compile(rf"(?P<neg>-)?(?P<num>{_DIGITS})(?P<exp>[eE][+-]?\d+)?")


def normalize_text(text: str) -> str:
    """NFKC (full-width digits, ％ and ，become ASCII), no spaces of any width."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))


def is_na_token(text: object) -> bool:
    return isinstance(text, str) and normalize_text(text).lower() in NA_TOKENS


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def parse_cell(text: object, kind: str = "number", percent_header: bool = False) -> float | None:
    """One cell (see `parse_cells`)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    out = parse_cells(pa.array([str(text)], type=pa.string()), kind, percent_header)[0].as_py()
    return out


def text_array(cells) -> pa.Array:
    """Cells (Arrow, pandas or a list) as one Arrow string array."""
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    if isinstance(cells, pa.Array):
        return cells.cast(pa.string())
    series = pd.Series(cells)
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return text_array(pa.array(series.array))  # Arrow-backed already: no copy through Python objects
    return pa.array(series.astype("string").to_numpy(dtype=object, na_value=None), type=pa.string())


def clean_text(cells) -> pa.Array:
    """NFKC (full-width digits and signs become ASCII), every kind of space removed, null → ''."""
    arr = pc.fill_null(text_array(cells), "")
    if not pc.all(pc.string_is_ascii(arr)).as_py():
        arr = pc.utf8_normalize(arr, "NFKC")
    return pc.replace_substring_regex(arr, r"\s+", "")


_PLAIN = r"^-?[0-9]+(\.[0-9]+)?$"


def parse_cells(cells, kind: str = "number", percent_header: bool = False) -> pa.Array:
    """Vectorised cell parsing (Arrow compute): float64 with nulls for empty, NA-token and unreadable
    cells (tell them apart with `unreadable_cells`). `kind`: "money" accepts a currency sign or 元,
    "rate" a trailing % (and a bare number under a '(%)' header is a percentage), "number" neither."""
    arr = pc.fill_null(text_array(cells), "")
    plain = pc.match_substring_regex(arr, _PLAIN)
    if pc.all(pc.or_(plain, pc.equal(arr, ""))).as_py():
        # The common case, plain numbers and empty cells: no normalising needed.
        values = pc.cast(pc.if_else(plain, arr, None), pa.float64(), safe=False)
        if kind == "rate" and percent_header:
            values = pc.divide(values, 100.0)
        return pc.if_else(pc.is_finite(values), values, None)
    text = clean_text(arr)
    paren = pc.match_substring_regex(text, r"^\([^()]*\)$")
    text = pc.if_else(paren, pc.utf8_slice_codeunits(text, 1, -1), text)
    unit = {"money": "(?:元)?", "rate": "%?"}.get(kind, "")
    sign = "[¥$]?" if kind == "money" else ""
    pattern = rf"^[+-]?{sign}(?:{_DIGITS})(?:[eE][+-]?\d+)?{unit}$"
    ok = pc.match_substring_regex(text, pattern)
    stripped = pc.replace_substring_regex(text, r"[,¥$元%]", "")
    values = pc.cast(pc.if_else(ok, stripped, None), pa.float64(), safe=False)
    values = pc.if_else(paren, pc.negate(values), values)
    if kind == "rate":
        is_pct = pc.ends_with(text, "%")
        values = (
            pc.divide(values, 100.0)
            if percent_header
            else pc.if_else(is_pct, pc.divide(values, 100.0), values)
        )
    return pc.if_else(pc.is_finite(values), values, None)


def na_tokens(cells) -> pa.Array:
    """True where a cell is an NA token ('N/A', '—', 'null', …)."""
    return pc.is_in(pc.utf8_lower(clean_text(cells)), value_set=pa.array(sorted(NA_TOKENS)))


def unreadable_cells(cells, parsed: pa.Array) -> pa.Array:
    """True where a cell holds text that is neither empty, an NA token, nor a number."""
    text = clean_text(cells)
    return pc.and_(pc.and_(pc.not_equal(text, ""), pc.invert(na_tokens(cells))), pc.is_null(parsed))


@dataclass(frozen=True)
class Quantity:
    """A quantity as written in free text: '≥95%' → value 0.95, comparator '≥', unit '%'."""

    value: float
    comparator: str | None = None
    unit: str = ""
    percent: bool = False

    @property
    def display_unit(self) -> str:
        return "%" if self.percent else self.unit


def parse_quantity(text: object, unit_hint: str | None = None) -> Quantity | None:
    """A comparator, a number and a unit from free text; `unit_hint` is a separate 计量单位 cell
    ('%', '万件'), applied when the text itself carries no unit. None when no number is found."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = normalize_text(text)
    comparator = None
    for word, sign in _PREFIX_COMPARATORS:
        if s.startswith(word):
            comparator, s = sign, s[len(word) :]
            break
    for word, sign in _SUFFIX_COMPARATORS:
        if s.endswith(word):
            comparator, s = comparator or sign, s[: -len(word)]
            break
    match = _QUANTITY.search(s)
    if match is None:
        return None
    if match.start() > 0 and not re.fullmatch(r"[¥$约]*", s[: match.start()]):
        return None  # text before the number ('第3季度') is not a quantity
    number = float(match["num"].replace(",", "")) * (10 ** int(match["exp"][1:]) if match["exp"] else 1)
    if match["neg"]:
        number = -number
    unit = s[match.end() :]
    if not unit and unit_hint:
        unit = normalize_text(unit_hint)
    percent = unit.startswith("%")
    if percent:
        number /= 100.0
        unit = unit[1:]
    else:
        for word, factor in sorted(_MULTIPLIERS.items(), key=lambda kv: -len(kv[0])):
            if unit.startswith(word):
                number *= factor
                unit = unit[len(word) :]
                break
    value = _finite(number)
    if value is None:
        return None
    return Quantity(value, comparator, unit, percent)


def parse_printed(text: str) -> tuple[float, str] | None:
    """A figure as a form prints it, for look-ups: ('489.93%' → (4.8993, '%'), '3935.02万元' →
    (39350200.0, '万元'), '25.85万' → (258500.0, '万'), '100%' → (1.0, '%')). None when not a number."""
    s = normalize_text(text)
    match = re.fullmatch(
        rf"(?P<neg>[-−])?(?P<num>{_DIGITS})(?P<unit>%|万元|万件|万|亿元|亿|元|件|项|家|个|名|人)?", s
    )
    if match is None:
        return None
    number = float(match["num"].replace(",", ""))
    if match["neg"]:
        number = -number
    unit = match["unit"] or ""
    if unit == "%":
        number /= 100.0
    elif unit.startswith("万"):
        number *= 1e4
    elif unit.startswith("亿"):
        number *= 1e8
    return number, unit
