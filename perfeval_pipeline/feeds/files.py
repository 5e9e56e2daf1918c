"""The landing folder of one department-year, read safely: which files belong to which feed, each
file's bytes read once (and hashed while read, so the manifest records exactly what was parsed),
and the refusals that protect the pipeline from hostile or broken files.

Refused, with a message that names the file and never quotes its content:
- symlinks that resolve outside the landing folder;
- files larger than `limits.max_file_mb`;
- xlsx files whose zip entries would decompress beyond `limits.xlsx_max_uncompressed_mb`, or at a
  ratio above `limits.xlsx_max_ratio` (zip bombs), checked before any XML is parsed;
- two files that would both fill the same table (the table is blocked, naming both).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from perfeval_pipeline.config.models import LimitsConfig

MB = 1 << 20
SUFFIXES = (".xlsx", ".csv")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def safe_text(text: object, limit: int = 200) -> str:
    """Text fit for a terminal or a log line: control characters (escape sequences, newlines,
    bidi overrides, zero-width characters) shown as \\xNN/\\uNNNN, long text cut."""
    s = str(text)
    s = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def has_invisible(text: str) -> bool:
    """Format or control characters (zero-width space, BOM, bidi marks…) inside a value."""
    return any(unicodedata.category(ch) in ("Cf", "Cc") for ch in text)


@dataclass(frozen=True)
class StructuralIssue:
    """A problem that makes a whole file or table unusable; names where, as precisely as known."""

    file: str
    message: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    code: str = "structural"  # a short machine name: missing_column, unreadable, symlink, zip_bomb, …

    def __str__(self) -> str:
        where = safe_text(self.file)
        if self.sheet:
            where += f" sheet {safe_text(self.sheet)}"
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f" column {safe_text(self.column)}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # relative to the landing root, e.g. '2023/jdz-zwsjj/hotline.csv'
    feed: str
    table: str | None  # from '{feed}.{table}.csv|xlsx'; None: the feed's workbook or main CSV
    data: bytes
    sha256: str
    size: int
    mtime_ns: int

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()

    def changed_since_read(self) -> bool:
        """Whether the file on disk is no longer the bytes that were read (cheap stat first)."""
        try:
            st = self.path.stat()
        except OSError:
            return True
        if (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns):
            return False
        return sha256_file(self.path) != self.sha256


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(MB):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FolderScan:
    files: dict[str, list[Path]]  # feed → its files
    issues: list[StructuralIssue]
    ignored: list[str]  # files in the folder that no feed claims (named in the quality report)


def rel_path(path: Path, landing_root: Path) -> str:
    try:
        return path.relative_to(landing_root).as_posix()
    except ValueError:
        return path.name


def _feed_and_table(name: str, feeds: set[str]) -> tuple[str, str | None] | None:
    stem, dot, suffix = name.rpartition(".")
    if not dot or "." + suffix.lower() not in SUFFIXES or name.startswith(("~$", ".")):
        return None
    feed, _, table = stem.partition(".")
    if feed not in feeds:
        return None
    return feed, (table or None)


def scan_folder(folder: Path, landing_root: Path, feeds: set[str]) -> FolderScan:
    """Which files of a department-year folder belong to which feed. Never raises."""
    scan = FolderScan({f: [] for f in feeds}, [], [])
    if not folder.is_dir():
        return scan
    root = landing_root.resolve()
    for path in sorted(folder.iterdir()):
        rel = rel_path(path, landing_root)
        if path.is_dir():
            scan.ignored.append(rel + "/")
            continue
        claimed = _feed_and_table(path.name, feeds)
        if claimed is None:
            scan.ignored.append(rel)
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            scan.issues.append(
                StructuralIssue(
                    rel, "is a symbolic link to a file outside the landing folder: refused", code="symlink"
                )
            )
            continue
        if not path.is_file():
            scan.issues.append(StructuralIssue(rel, "is not a regular file: refused", code="not_a_file"))
            continue
        scan.files[claimed[0]].append(path)
    return scan


def _zip_issue(rel: str, data: bytes, limits: LimitsConfig) -> StructuralIssue | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return StructuralIssue(rel, "is not a valid xlsx workbook (not a zip package)", code="unreadable")
    if len(infos) > 10_000:
        return StructuralIssue(
            rel, f"has {len(infos)} parts inside: refused as a possible zip bomb", code="zip_bomb"
        )
    total = sum(i.file_size for i in infos)
    if total > limits.xlsx_max_uncompressed_mb * MB:
        return StructuralIssue(
            rel,
            f"would unpack to {total / MB:,.0f} MB (limit {limits.xlsx_max_uncompressed_mb:g} MB, "
            "pipeline.yaml limits.xlsx_max_uncompressed_mb): refused as a possible zip bomb",
            code="zip_bomb",
        )
    for info in infos:
        if info.file_size > MB and info.file_size > limits.xlsx_max_ratio * max(info.compress_size, 1):
            return StructuralIssue(
                rel,
                f"part {safe_text(info.filename, 60)} is compressed {info.file_size / max(info.compress_size, 1):,.0f}:1 "
                f"(limit {limits.xlsx_max_ratio:g}:1, limits.xlsx_max_ratio): refused as a possible zip bomb",
                code="zip_bomb",
            )
    return None


def read_landing_file(
    path: Path, landing_root: Path, feed: str, table: str | None, limits: LimitsConfig
) -> tuple[LandingFile | None, StructuralIssue | None]:
    """The file's bytes, hashed as read; or the issue that refuses it."""
    rel = rel_path(path, landing_root)
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size > limits.max_file_mb * MB:
                return None, StructuralIssue(
                    rel,
                    f"is {st.st_size / MB:,.0f} MB (limit {limits.max_file_mb:g} MB, limits.max_file_mb): refused",
                    code="too_large",
                )
            data = fh.read()
    except OSError as exc:
        return None, StructuralIssue(rel, f"cannot be opened ({type(exc).__name__})", code="unreadable")
    if path.suffix.lower() == ".xlsx":
        issue = _zip_issue(rel, data, limits)
        if issue:
            return None, issue
    return (
        LandingFile(
            path, rel, feed, table, data, hashlib.sha256(data).hexdigest(), len(data), st.st_mtime_ns
        ),
        None,
    )
