"""openpyxl helpers shared by the form workbook and the province summary: inert text cells, header
rows, number formats, print set-up, row heights for wrapped text, deterministic saving.

Workbooks are write-only (rows streamed in order), the fastest openpyxl mode. Widths, frozen panes
and print set-up must therefore be set before a sheet's first row (`sheet`), and a row's height
before the row is written (`append` estimates it from the text of its wrapped cells: neither
LibreOffice nor every Excel re-measures rows on opening, and an unmeasured row prints one line of
a long 扣分原因 and cuts the rest)."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from copy import copy
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

from perfeval_pipeline.render.package import clean_text, write_package

# Leading characters that make Excel or LibreOffice read typed text as a formula (or DDE call).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
AMOUNT = "#,##0.00"
INTEGER = "#,##0"
SCORE = "0.00"
# A change between years, signed: +5.02 / -1.11 / 0.00.
CHANGE = "+0.00;-0.00;0.00"
# Column widths (in characters) that fit a portrait A4 page at 100%; wider sheets print landscape.
PORTRAIT_WIDTH = 95
A4 = 9  # the paperSize code of A4 in SpreadsheetML
# The body font of Chinese finance workbooks; render/fonts.conf maps it to Noto Serif CJK SC for PDFs.
FONT_NAME, FONT_SIZE = "宋体", 11
# Printed height of one line of FONT_SIZE text (points): Excel's row for SimSun 11 is 14.25 (the
# Noto CJK faces LibreOffice substitutes need less); rows are sized for the taller.
LINE_PT = 14.5
# Width of a character in column-width units (the default font's digit width): CJK ideographs and
# full-width punctuation take two, everything else about one.
WIDE, NARROW, CELL_PADDING = 2.0, 1.1, 0.7
_THIN = Side(style="thin", color="A6A6A6")
# The other cells of a row of several lines: centred vertically, as the wrapped ones are.
MIDDLE = Alignment(vertical="center")
BASE_FONT = Font(name=FONT_NAME, size=FONT_SIZE, charset=134)  # 134: GB2312
# Named styles, registered once per workbook: cheaper than hashing a style object per cell.
HEADER, TOTAL, TITLE, WRAP = "perfeval header", "perfeval total", "perfeval title", "perfeval wrap"
WRAPPED = {HEADER, WRAP}
_STYLES = {
    HEADER: {
        "font": Font(name=FONT_NAME, size=FONT_SIZE, bold=True),
        "fill": PatternFill("solid", fgColor="DDEBF7"),
        "border": Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN),
        "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True),
    },
    TOTAL: {
        "font": Font(name=FONT_NAME, size=FONT_SIZE, bold=True),
        "fill": PatternFill("solid", fgColor="F2F2F2"),
    },
    TITLE: {"font": Font(name=FONT_NAME, size=12, bold=True)},
    WRAP: {"font": copy(BASE_FONT), "alignment": Alignment(wrap_text=True, vertical="center")},
}


def _char_width(ch: str) -> float:
    return WIDE if unicodedata.east_asian_width(ch) in "WF" else NARROW


def text_width(text: str) -> float:
    """Width of `text` in column-width units."""
    return sum(map(_char_width, text))


# Where a line may break: after each CJK character, and in other text after a space, '/' or '-'
# (as LibreOffice and Excel break file paths and codes).
_TOKENS = re.compile(
    r"[\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]|[^\s/\-\u2e80-\u9fff\uff00-\uffef\u3000-\u303f]*[\s/\-]?"
)


def wrapped_lines(text: str, width: float) -> int:
    """Lines `text` takes when wrapped in a column `width` units wide: words are laid greedily,
    each paragraph starts a line, a word wider than the column is broken."""
    room = max(width - CELL_PADDING, 1.0)
    lines = 0
    for part in str(text).split("\n"):
        lines, used = lines + 1, 0.0
        for token in filter(None, _TOKENS.findall(part)):
            w = text_width(token)
            if used + w <= room:
                used += w
                continue
            if used:
                lines, used = lines + 1, 0.0
            while w > room:
                lines, w = lines + 1, w - room
            used = w
    return max(lines, 1)


def cell(ws, value, number_format: str | None = None, style: str | None = None, link_to: str | None = None):
    """A value for `append`. Text is always stored as text: a source value such as '=HYPERLINK(…)'
    never becomes a formula. Plain values pass through (the fast path); anything formatted,
    styled, linked or formula-like becomes a cell of its own."""
    if isinstance(value, str):
        value = clean_text(value)
    elif value is not None and pd.isna(value):
        value = None
    risky = isinstance(value, str) and value.startswith(FORMULA_LEADS)
    if not (risky or number_format or style or link_to):
        return value
    c = WriteOnlyCell(ws, value)
    if style or link_to:
        c.style = style or "Hyperlink"  # first: a named style resets the cell's other style fields
    if number_format:
        c.number_format = number_format
    if link_to:
        c.hyperlink = Hyperlink(ref=c.coordinate, location=f"'{link_to}'!A1")
    if risky:
        c.data_type = "s"
        c.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return c


def append(ws, values: list, style: str | None = None) -> None:
    """One row from column A; an entry is a value, (value, number_format) or a `cell`. A row whose
    wrapped cells need more than one line gets the height they need."""
    row = []
    for entry in values:
        if isinstance(entry, Cell):
            row.append(entry)
        else:
            value, fmt = entry if isinstance(entry, tuple) else (entry, None)
            row.append(cell(ws, value, fmt, style))
    widths = getattr(ws, "perfeval_widths", ())
    lines = 1
    for col, c in enumerate(row):
        wraps = style in WRAPPED if not isinstance(c, Cell) else c.style in WRAPPED
        value = c.value if isinstance(c, Cell) else c
        if wraps and isinstance(value, str) and value and col < len(widths):
            lines = max(lines, wrapped_lines(value, widths[col]))
    ws.perfeval_row = getattr(ws, "perfeval_row", 0) + 1
    if lines > 1:
        ws.row_dimensions[ws.perfeval_row].height = round(lines * LINE_PT + 3, 1)
        row = [_middle(ws, c) for c in row]
    ws.append(row)


def _middle(ws, c):
    if not isinstance(c, Cell):
        if c is None:
            return c
        c = WriteOnlyCell(ws, c)
    elif c.style != "Normal" or c.alignment.vertical:  # aligned already (a named style, or by hand)
        return c
    c.alignment = MIDDLE
    return c


def header_row(ws, headers: list[str]) -> None:
    append(ws, headers, HEADER)


def sheet(
    wb: Workbook,
    title: str,
    widths: list[float],
    freeze: str | None = None,
    header_rows: str | None = None,
    landscape: bool | None = None,
):
    """A sheet set up to read and to print: column widths, frozen panes, A4 fit to one page wide
    (landscape when the columns are wider than a portrait page), header rows repeated on every
    printed page, centred horizontally, page numbers in the footer."""
    ws = wb.create_sheet(title)
    ws.perfeval_widths = tuple(widths)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = freeze
    wide = sum(widths) > PORTRAIT_WIDTH if landscape is None else landscape
    ws.page_setup.paperSize = A4
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    margins = ws.page_margins  # inches; the header (sheet name) and footer (page) sit in them
    margins.left = margins.right = 0.4
    margins.top = margins.bottom = 0.75
    margins.header = margins.footer = 0.3
    if header_rows:
        ws.print_title_rows = header_rows
    ws.oddHeader.center.text = "&A"  # the sheet's name
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    return ws


def new_workbook() -> Workbook:
    wb = Workbook(write_only=True)
    # Every cell without a style of its own takes the Normal style's font: make it 宋体.
    wb._fonts = IndexedList([BASE_FONT])
    wb._named_styles["Normal"].font = copy(BASE_FONT)
    for name, parts in _STYLES.items():
        wb.add_named_style(NamedStyle(name, **parts))
    return wb


def save_workbook(wb: Workbook, out_path: Path, when: datetime, title: str, mode: int = 0o666) -> Path:
    props = wb.properties
    props.title, props.creator, props.lastModifiedBy = title, "perfeval", "perfeval"
    props.created = props.modified = when
    buf = io.BytesIO()
    # openpyxl.save_workbook would stamp `modified` with the wall clock; the writer itself does not.
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return write_package(buf.getvalue(), out_path, when, mode)
