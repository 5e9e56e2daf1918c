"""openpyxl helpers shared by the form workbook and the province summary: inert text cells, header
rows, number formats, print set-up, deterministic saving.

Workbooks are write-only (rows streamed in order), the fastest openpyxl mode. Widths, frozen panes
and print set-up must therefore be set before a sheet's first row (`sheet`)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.writer.excel import ExcelWriter

from perfeval_pipeline.render.package import clean_text, write_package

# Leading characters that make Excel or LibreOffice read typed text as a formula (or DDE call).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
AMOUNT = "#,##0.00"
INTEGER = "#,##0"
SCORE = "0.00"
# Column widths (in characters) that fit a portrait A4 page at 100%; wider sheets print landscape.
PORTRAIT_WIDTH = 95
A4 = 9  # the paperSize code of A4 in SpreadsheetML
_THIN = Side(style="thin", color="A6A6A6")
# Named styles, registered once per workbook: cheaper than hashing a style object per cell.
HEADER, TOTAL, TITLE, WRAP = "perfeval header", "perfeval total", "perfeval title", "perfeval wrap"
_STYLES = {
    HEADER: {
        "font": Font(bold=True),
        "fill": PatternFill("solid", fgColor="DDEBF7"),
        "border": Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN),
        "alignment": Alignment(horizontal="center", vertical="center", wrap_text=True),
    },
    TOTAL: {"font": Font(bold=True), "fill": PatternFill("solid", fgColor="F2F2F2")},
    TITLE: {"font": Font(bold=True, size=12)},
    WRAP: {"alignment": Alignment(wrap_text=True, vertical="top")},
}


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
    """One row from column A; an entry is a value, (value, number_format) or a `cell`."""
    row = []
    for entry in values:
        if isinstance(entry, Cell):
            row.append(entry)
        else:
            value, fmt = entry if isinstance(entry, tuple) else (entry, None)
            row.append(cell(ws, value, fmt, style))
    ws.append(row)


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
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if header_rows:
        ws.print_title_rows = header_rows
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    return ws


def new_workbook() -> Workbook:
    wb = Workbook(write_only=True)
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
