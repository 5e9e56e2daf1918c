"""Byte-reproducible, atomic landing files: xlsx through openpyxl (write-only), CSV through pandas.

openpyxl stamps docProps/core.xml with the current time and the zip entries with the clock, so a
workbook is re-zipped with fixed entry times and fixed core-property dates; the same cells then give
the same bytes on every run."""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from openpyxl import Workbook

from perfeval_pipeline.store import atomic_write_bytes

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def _normalized_zip(data: bytes, stamp: datetime) -> bytes:
    fixed = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():  # openpyxl's entry order is already deterministic
            content = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATES.sub(rb"\g<1>" + fixed + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            zout.writestr(entry, content)
    return out.getvalue()


def write_workbook(path: Path, sheets: list[tuple[str, list[str], pd.DataFrame]], stamp: datetime) -> None:
    """One sheet per (title, headers, cells); `stamp` is the export time recorded in the file."""
    wb = Workbook(write_only=True)
    wb.properties.created = stamp
    for title, headers, cells in sheets:
        ws = wb.create_sheet(title)
        ws.append(headers)
        for row in cells.itertuples(index=False, name=None):
            ws.append([None if v == "" else v for v in row])  # a blank cell, not an empty string
    buf = io.BytesIO()
    wb.save(buf)
    _write(path, _normalized_zip(buf.getvalue(), stamp))


def write_csv(path: Path, headers: list[str], cells: pd.DataFrame, encoding: str) -> None:
    """Unquoted CSV like most exports (pyarrow refuses a value that would need quotes); pyarrow because
    pandas' writer takes seconds on the 25万-row hotline."""
    table = pa.table({f"c{i}": _text(cells[c]) for i, c in enumerate(cells.columns)})
    body = io.BytesIO()
    pacsv.write_csv(table, body, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    head = ",".join(headers) + "\n"
    if codecs.lookup(encoding).name.startswith("utf-8"):
        data = head.encode(encoding) + body.getvalue()
    else:
        data = (head + body.getvalue().decode("utf-8")).encode(encoding)
    _write(path, data)


def _text(values: pd.Series) -> pa.Array:
    objs = values.to_numpy(dtype=object)
    try:
        return pa.array(objs, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # numeric cells: a CSV holds them as text anyway
        return pa.array([str(v) for v in objs], type=pa.string())


def _write(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)
    os.chmod(path, 0o644)  # the temp file was private (mkstemp); landing files are for every reader
