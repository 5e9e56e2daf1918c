"""Deterministic, atomic output of Office packages (docx/xlsx are zip files).

Both python-docx and openpyxl stamp zip entries with the wall clock; rewriting the archive with
one fixed timestamp and a fixed entry order makes the same result.json give byte-identical files."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from perfeval_pipeline.store import atomic_write_bytes

# The earliest time a zip entry can carry; used when a result has no evaluation date.
ZIP_EPOCH = datetime(1980, 1, 1)
# XML 1.0 forbids these; source cells occasionally carry them and both writers would raise.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def document_time(header: dict) -> datetime:
    """The time a report is stamped with: the evaluation date, so reruns do not change the file."""
    date = header.get("evaluation_date")
    return datetime.fromisoformat(date) if date else ZIP_EPOCH


def clean_text(value: object) -> str:
    return _XML_ILLEGAL.sub("", "" if value is None else str(value))


def _entry_order(name: str) -> tuple[int, str]:
    # [Content_Types].xml first: some readers sniff the package type from the first entry.
    return (0 if name == "[Content_Types].xml" else 1, name)


def normalize_zip(data: bytes, when: datetime) -> bytes:
    """Re-pack an archive with sorted entries, one timestamp and fixed compression."""
    stamp = max(when, ZIP_EPOCH).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in sorted(src.namelist(), key=_entry_order):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0o600 << 16
            dst.writestr(info, src.read(name), compresslevel=6)
    return out.getvalue()


def write_package(data: bytes, out_path: Path, when: datetime, mode: int = 0o666) -> Path:
    out_path = Path(out_path)
    atomic_write_bytes(out_path, normalize_zip(data, when), mode)
    return out_path
