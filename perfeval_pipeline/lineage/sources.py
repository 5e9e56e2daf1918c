"""Landing files and raw rows as lineage needs them: a file re-read exactly as the feed readers read
it (so row hashes compare with `_row_hash`), and raw cells looked up by their source reference."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from perfeval_pipeline.feeds.contracts import TableContract, load_contracts
from perfeval_pipeline.feeds.readers import (
    _match_sheet,
    map_headers,
    read_csv_text,
    read_xlsx_sheets,
    row_hashes,
)
from perfeval_pipeline.store import Store

SOURCE_KEY = ["_source_file", "_source_sheet", "_source_row"]
CONFIG_PREFIX = "assets_config/"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_landing_sheets(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a landing file as the readers see it ('' for a CSV): original headers, text
    cells, index = spreadsheet row - 2."""
    if path.suffix.lower() == ".xlsx":
        return read_xlsx_sheets(path)
    return {"": read_csv_text(path)}


def feed_of_file(rel_file: str) -> str:
    """'2023/jdz-zwsjj/hotline.tickets.csv' → 'hotline' (files are named {feed}[.{table}].xlsx|csv)."""
    return Path(rel_file).name.split(".", 1)[0]


def table_contract_for(rel_file: str, sheet: str) -> TableContract | None:
    """The contract table a landing file/sheet was read as, or None if no contract claims it."""
    contract = load_contracts().get(feed_of_file(rel_file))
    if contract is None:
        return None
    if sheet:
        for table in contract.tables.values():
            if _match_sheet({sheet: pd.DataFrame()}, table) is not None:
                return table
        return None
    parts = Path(rel_file).stem.split(".", 1)
    return contract.tables.get(parts[1]) if len(parts) == 2 else contract.main_table


@dataclass
class LandingSheet:
    """One landing sheet (or CSV) with what typing needs: the header → canonical mapping and units."""

    file: str
    sheet: str
    frame: pd.DataFrame | None  # None: the file or sheet is gone
    header_units: dict[str, str]
    canonical_to_header: dict[str, str]
    # Shared by every LandingSheet of this (file, sheet): numerator and denominator often cite the same rows.
    _known: dict[int, str | None]

    def hashes(self, rows: list[int]) -> dict[int, str | None]:
        """Current content hash of each spreadsheet row (None where the row no longer exists)."""
        todo = [r for r in dict.fromkeys(rows) if r not in self._known]
        if self.frame is None:
            self._known.update(dict.fromkeys(todo))
        elif todo:
            index = set(self.frame.index)
            present = [r for r in todo if (r - 2) in index]
            self._known.update(dict.fromkeys(todo))
            self._known.update(
                zip(present, row_hashes(self.frame.loc[[r - 2 for r in present]]), strict=True)
            )
        return {r: self._known[r] for r in rows}


class LandingFiles:
    """Reads each landing file at most once per command (a 258,500-row CSV takes over a second)."""

    def __init__(self, landing_dir: Path):
        self.landing_dir = landing_dir
        self._files: dict[str, dict[str, pd.DataFrame] | None] = {}
        self._hashes: dict[tuple[str, str], dict[int, str | None]] = {}

    def sheets(self, rel_file: str) -> dict[str, pd.DataFrame] | None:
        if rel_file not in self._files:
            path = self.landing_dir / rel_file
            self._files[rel_file] = read_landing_sheets(path) if path.is_file() else None
        return self._files[rel_file]

    def sheet(self, rel_file: str, sheet: str, contract: TableContract | None) -> LandingSheet:
        sheets = self.sheets(rel_file)
        frame = sheets.get(sheet) if sheets is not None else None
        units: dict[str, str] = {}
        headers: dict[str, str] = {}
        if frame is not None and contract is not None:
            mapping, units, _ = map_headers(list(frame.columns), contract)
            headers = {canonical: str(raw) for raw, canonical in mapping.items()}
        known = self._hashes.setdefault((rel_file, sheet), {})
        return LandingSheet(rel_file, sheet, frame, units, headers, known)


class RawRows:
    """Raw cells of a partition, found by source reference. Views (e.g. assets_checked) cite the rows
    of the raw table they derive from, so a reference is looked up in every raw table of its feed."""

    def __init__(self, store: Store, department: str, year: int):
        self.store, self.department, self.year = store, department, year
        self._tables: dict[str, pd.DataFrame] = {}

    def _raw(self, table: str) -> pd.DataFrame:
        if table not in self._tables:
            self._tables[table] = self.store.read("raw", table, self.department, self.year)
        return self._tables[table]

    def table_for(self, table: str, rel_file: str, sheet: str) -> str | None:
        """The raw table that holds rows of (file, sheet); `table` itself when it is a raw table."""
        if self.store.exists("raw", table, self.department, self.year):
            return table
        feed = table.split(".", 1)[0]
        for name in self.store.tables("raw"):
            if name.startswith(feed + ".") and self.store.exists("raw", name, self.department, self.year):
                raw = self._raw(name)
                if ((raw["_source_file"] == rel_file) & (raw["_source_sheet"] == sheet)).any():
                    return name
        return None

    def lookup(self, table: str, refs: pd.DataFrame) -> pd.DataFrame:
        """The raw rows of `table` at refs' (file, sheet, row), in refs' order; all-missing cells where
        the raw table no longer holds a referenced row."""
        raw = self._raw(table).drop(columns=["_row_hash"])
        keys = refs[SOURCE_KEY].astype({"_source_row": "int64"}).reset_index(drop=True)
        return keys.merge(raw.astype({"_source_row": "int64"}), on=SOURCE_KEY, how="left")
