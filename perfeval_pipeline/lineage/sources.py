"""Landing files and stored rows as lineage needs them: a landing file re-read exactly as the feed
readers read it (so its row hashes compare with the stored `_row_hash`), and stored rows looked up
by their reference (source table, `_row`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from perfeval_pipeline.catalog import rows_dataset
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.files import read_landing_file
from perfeval_pipeline.feeds.readers import RawTable, read_feed
from perfeval_pipeline.store import Store

SOURCE_KEY = ["_source_file", "_source_sheet", "_source_row"]


class LandingFiles:
    """Reads each landing file at most once per command (a 25万-row CSV takes a second)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._tables: dict[str, dict[str, RawTable] | None] = {}
        self._hashes: dict[tuple[str, str], dict[int, str]] = {}

    def tables(self, rel_file: str) -> dict[str, RawTable] | None:
        """The contract tables a landing file holds now, by qualified name; None if it is gone."""
        if rel_file not in self._tables:
            path = self.settings.landing_dir / rel_file
            feed = Path(rel_file).name.split(".", 1)[0]
            contract = self.settings.contracts.get(feed)
            out = None
            if path.is_file() and contract is not None:
                table = Path(rel_file).stem.partition(".")[2] or None
                file, issue = read_landing_file(
                    path, self.settings.landing_dir, feed, table, self.settings.pipeline.limits
                )
                if issue is None:
                    read = read_feed(
                        [file], contract, self.settings.pipeline.limits, str(Path(rel_file).parent)
                    )
                    out = {t.contract.qualified_name: t for t in read.tables.values()}
            self._tables[rel_file] = out
        return self._tables[rel_file]

    def row_hashes(self, rel_file: str, table: str) -> dict[int, str]:
        """Spreadsheet row → content hash, of the table as the file holds it now ({} if gone). Built
        once per table: a trace asks it for every one of up to 25万 rows."""
        if (rel_file, table) not in self._hashes:
            raw = (self.tables(rel_file) or {}).get(table)
            self._hashes[rel_file, table] = (
                {}
                if raw is None
                else dict(zip(raw.frame["_source_row"].astype(int), raw.frame["_row_hash"], strict=True))
            )
        return self._hashes[rel_file, table]

    def row_cells(self, rel_file: str, table: str, row: int) -> dict[str, str] | None:
        raw = (self.tables(rel_file) or {}).get(table)
        if raw is None:
            return None
        hit = raw.frame.loc[raw.frame["_source_row"] == row]
        if hit.empty:
            return None
        return {c: str(hit.iloc[0][c]) for c in raw.frame.columns if not c.startswith("_")}

    def headers(self, rel_file: str, table: str) -> dict[str, str]:
        raw = (self.tables(rel_file) or {}).get(table)
        return dict(raw.header.headers) if raw is not None and raw.header else {}


class StoredRows:
    """The stored rows of one partition, read once per table."""

    def __init__(self, store: Store, department: str, year: int):
        self.store, self.department, self.year = store, department, year
        self._tables: dict[str, pd.DataFrame | None] = {}

    def table(self, name: str) -> pd.DataFrame | None:
        if name not in self._tables:
            self._tables[name] = self.store.read_optional(rows_dataset(name), self.department, self.year)
        return self._tables[name]

    def lookup(self, name: str, rows: list[int]) -> pd.DataFrame:
        """The stored rows of table `name` with these `_row` ordinals, in that order."""
        frame = self.table(name)
        if frame is None:
            return pd.DataFrame({"_row": rows})
        return pd.DataFrame({"_row": rows}).merge(frame, on="_row", how="left")


def raw_column(frame: pd.DataFrame, column: str) -> list[str]:
    """A column of stored rows as the landing file wrote it, as `raw_cell` gives each."""
    name = f"_raw_{column}" if f"_raw_{column}" in frame.columns else column
    if name not in frame.columns:
        return [""] * len(frame)
    values = frame[name]
    return [
        "" if missing else str(v) for v, missing in zip(values.tolist(), values.isna().tolist(), strict=True)
    ]


def raw_cell(row: pd.Series, column: str) -> str:
    """A stored row's cell as the landing file wrote it."""
    raw = f"_raw_{column}"
    value = row.get(raw) if raw in row.index else row.get(column)
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
