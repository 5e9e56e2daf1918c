"""The data store: one Parquet file (zstd) per dataset and partition, Hive layout, written atomically
(temp file + rename), so DuckDB can query every dataset read-only while the pipeline writes and a
reader never sees half a file.

Layout: {store}/{dataset}/department={code}/year={year}/data.parquet (datasets: catalog.py).

Two runs of the same partition never interleave their writes: a stage holds the partition's lock
(`partition_lock`) while it writes. Temp files a killed process left behind are removed the next
time the partition is written under its lock."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from perfeval_pipeline.catalog import Dataset

TMP_SUFFIX = ".tmp"
LOCK_TIMEOUT_S = 600


def _strict(obj):
    """NaN and ±inf become None: result files must be strict JSON (no bare NaN/Infinity tokens)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    return obj


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file. The file
    gets `mode` less the process umask, as a plain open() would (mkstemp alone gives 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, mode & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps_json(obj: object) -> str:
    return json.dumps(_strict(obj), ensure_ascii=False, indent=2, allow_nan=False, default=str) + "\n"


def atomic_write_json(path: Path, obj: object, mode: int = 0o666) -> None:
    atomic_write_bytes(path, dumps_json(obj).encode("utf-8"), mode)


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, dataset: Dataset | str, department: str, year: int) -> Path:
        name = dataset.name if isinstance(dataset, Dataset) else dataset
        return self.root / name / f"department={department}" / f"year={year}" / "data.parquet"

    def write(self, dataset: Dataset, department: str, year: int, frame: pd.DataFrame) -> Path:
        path = self.path(dataset, department, year)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Hive keys live in the path; a same-named column would clash in DuckDB's view.
        frame = frame.drop(columns=[c for c in ("department", "year") if c in frame.columns])
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".data.", suffix=".parquet" + TMP_SUFFIX)
        os.close(fd)
        try:
            pq.write_table(table, tmp, compression="zstd", compression_level=3)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def read(
        self, dataset: Dataset, department: str, year: int, columns: list[str] | None = None
    ) -> pd.DataFrame:
        path = self.path(dataset, department, year)
        if not path.exists():
            raise FileNotFoundError(f"no {dataset.name} stored for {department} {year} ({path})")
        return pd.read_parquet(path, columns=columns)

    def read_optional(
        self, dataset: Dataset, department: str, year: int, columns: list[str] | None = None
    ) -> pd.DataFrame | None:
        """The stored frame, or None when that dataset has nothing for the partition."""
        return (
            self.read(dataset, department, year, columns) if self.exists(dataset, department, year) else None
        )

    def exists(self, dataset: Dataset, department: str, year: int) -> bool:
        return self.path(dataset, department, year).exists()

    def delete(self, dataset: Dataset, department: str, year: int) -> None:
        self.path(dataset, department, year).unlink(missing_ok=True)

    def glob(self, dataset: Dataset) -> str:
        return (self.root / dataset.name / "*" / "*" / "data.parquet").as_posix()

    def has_any(self, dataset: Dataset) -> bool:
        return any((self.root / dataset.name).glob("*/*/data.parquet"))

    # --- concurrency ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def partition_lock(self, department: str, year: int, timeout: float = LOCK_TIMEOUT_S):
        """Exclusive, across processes, for one partition's writes; clears orphaned temp files."""
        lock_dir = self.root / ".locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(lock_dir / f"{department}-{year}.lock"))
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise TimeoutError(
                f"{department} {year} is being written by another run (lock {lock.lock_file} held for {timeout:.0f} s)"
            ) from None
        try:
            self.clean_orphans(department, year)
            yield
        finally:
            lock.release()

    def clean_orphans(self, department: str, year: int) -> int:
        """Remove temp files of this partition left by a killed process; call under its lock."""
        removed = 0
        leaf = f"department={department}/year={year}/*{TMP_SUFFIX}"
        for pattern in (f"*/{leaf}", f"*/*/{leaf}"):  # datasets and rows/<table> datasets
            for path in self.root.glob(pattern):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed
