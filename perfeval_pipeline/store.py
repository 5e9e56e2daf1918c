"""The local data store: one Parquet file per stage, table and partition (Hive layout), written
atomically. One file per partition means concurrent runs never contend for a lock and DuckDB can
query every stage read-only while the pipeline writes (see lineage.sql).

Layout: {store}/{stage}/{table}/department={code}/year={year}/data.parquet
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

STAGES = ("raw", "clean", "quarantine", "quality", "indicators", "evidence", "scores", "findings")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: object) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, stage: str, table: str, department: str, year: int) -> Path:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; one of {STAGES}")
        return self.root / stage / table / f"department={department}" / f"year={year}" / "data.parquet"

    def write(self, stage: str, table: str, department: str, year: int, frame: pd.DataFrame) -> Path:
        path = self.path(stage, table, department, year)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hive keys live in the path; a same-named column would clash in DuckDB's view.
        frame = frame.drop(columns=[c for c in ("department", "year") if c in frame.columns])
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".data.", suffix=".parquet.tmp")
        os.close(fd)
        try:
            frame.reset_index(drop=True).to_parquet(tmp, index=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def read(self, stage: str, table: str, department: str, year: int) -> pd.DataFrame:
        path = self.path(stage, table, department, year)
        if not path.exists():
            raise FileNotFoundError(f"no {stage}/{table} stored for {department} {year} ({path})")
        return pd.read_parquet(path)

    def read_optional(self, stage: str, table: str, department: str, year: int) -> pd.DataFrame | None:
        """The stored frame, or None when that stage has nothing for the partition."""
        return (
            self.read(stage, table, department, year) if self.exists(stage, table, department, year) else None
        )

    def exists(self, stage: str, table: str, department: str, year: int) -> bool:
        return self.path(stage, table, department, year).exists()

    def tables(self, stage: str) -> list[str]:
        folder = self.root / stage
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    def glob(self, stage: str, table: str) -> str:
        return (self.root / stage / table / "*" / "*" / "data.parquet").as_posix()
