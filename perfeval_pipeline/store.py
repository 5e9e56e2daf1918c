"""The data store: one Parquet file (zstd) per dataset and partition, Hive layout, written atomically,
so DuckDB can query every dataset read-only while the pipeline writes and a reader never sees half
a file.

The store is addressed by a location: a folder (the default, `data/store`; a shared filesystem in a
multi-machine deployment) or an S3 URL `s3://bucket/prefix` (any S3-compatible service; endpoint
and credentials from PERFEVAL_S3_ENDPOINT and the AWS_* variables). `Store(location)` gives the
right kind; both have the same methods.

Folder layout: {store}/{dataset}/department={code}/year={year}/data.parquet (datasets: catalog.py),
replaced by temp file + rename.

Object-store layout: {prefix}/{dataset}/department={code}/year={year}/data.g{generation}.{token}.parquet.
An object cannot be renamed, and overwriting a key is not safe for readers: a Parquet reader
fetches the footer and the column chunks with separate ranged GETs and can straddle an overwrite
(measured on a moto S3 server: 310 torn reads in 10 s). So every write is a new, never-overwritten
object with the next generation number, made visible by its single PUT (a multipart upload is
invisible until completed); readers take the highest generation; a delete writes a `.deleted`
tombstone generation. Superseded generations are removed by later writes of the same dataset and
partition once their successor is older than `grace_s`, so a reader that listed an old generation
can still finish reading it.

Two runs of the same partition never interleave their writes: a stage holds the partition's lock
(`partition_lock`) while it writes. The lock is a file lock next to the data (one machine, or a
filesystem with working flock), or, when PERFEVAL_LOCK_URL names a PostgreSQL database, a
PostgreSQL advisory lock (any number of machines; released by the server when the holder's
connection dies, so a killed worker never leaves it held). Temp files a killed process left behind
are removed the next time the partition is written under its lock."""

from __future__ import annotations

import contextlib
import glob as globlib
import hashlib
import io
import json
import math
import os
import re
import secrets
import socket
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from perfeval_pipeline.catalog import Dataset

TMP_SUFFIX = ".tmp"
LOCK_TIMEOUT_S = 600
# PostgreSQL database for partition locks shared by several machines (postgresql://user@host:port/db).
LOCK_URL_ENV = "PERFEVAL_LOCK_URL"
# S3-compatible endpoint, e.g. http://127.0.0.1:9000; unset: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS.
S3_ENDPOINT_ENV = "PERFEVAL_S3_ENDPOINT"
# Local folder for read-only copies of stored objects (Store.path of an object store).
S3_CACHE_ENV = "PERFEVAL_S3_CACHE"
# How long a superseded generation stays readable after its successor was written.
S3_GRACE_S = 900.0
_HOST = socket.gethostname().replace(".", "_")


def _strict(obj):
    """NaN and ±inf become None: result files must be strict JSON (no bare NaN/Infinity tokens)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    return obj


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale_temps(path: Path) -> int:
    """Remove temp files of `path` whose writer was a process of this host that no longer exists
    (killed while writing). A temp file of a live process, or of another host, is left alone."""
    removed = 0
    pattern = re.compile(re.escape(f".{path.name}.{_HOST}-") + r"(\d+)\.[^/]*" + re.escape(TMP_SUFFIX) + "$")
    for sibling in path.parent.glob(f".{globlib.escape(path.name)}.*{TMP_SUFFIX}"):
        m = pattern.match(sibling.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                sibling.unlink()
                removed += 1
    return removed


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o666) -> None:
    """Write to a temp file in the same folder, then rename: readers never see half a file. The file
    gets `mode` less the process umask, as a plain open() would (mkstemp alone gives 0600). The temp
    file's name carries host and pid, so one left by a killed writer is removed on the next write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _stale_temps(path)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{_HOST}-{os.getpid()}.", suffix=TMP_SUFFIX
    )
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


# --- locations -------------------------------------------------------------------------------------
_S3_IN_PATH = re.compile(r"(?:^|/)s3:/+(?P<rest>[^/].*)$")


def s3_location(location: str | Path) -> str | None:
    """'bucket/prefix' when `location` is an S3 URL, else None. Also recognizes a URL that went
    through Path() and was made absolute ('/project/s3:/bucket/prefix'), as PERFEVAL_STORE does."""
    text = location.as_posix() if isinstance(location, Path) else str(location)
    if text.startswith("s3://"):
        rest = text[len("s3://") :]
    else:
        m = _S3_IN_PATH.search(text)
        if not m:
            return None
        rest = m.group("rest")
    rest = rest.strip("/")
    if not rest:
        raise ValueError(f"S3 store location without a bucket: {location!s}")
    return rest


def is_remote(location: str | Path) -> bool:
    return s3_location(location) is not None


def _frame_table(frame: pd.DataFrame) -> pa.Table:
    # Hive keys live in the path; a same-named column would clash in DuckDB's view.
    frame = frame.drop(columns=[c for c in ("department", "year") if c in frame.columns])
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def _write_parquet(table: pa.Table, where) -> None:
    pq.write_table(table, where, compression="zstd", compression_level=3)


# --- partition locks -------------------------------------------------------------------------------
def _pg_dsn(url: str) -> str:
    """A libpq URI from a PostgreSQL URL (SQLAlchemy's 'postgresql+psycopg2://' accepted)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ValueError(f"{LOCK_URL_ENV} must be a postgresql:// URL, got {url!r}")
    return f"postgresql://{rest}"


class PostgresLock:
    """A session-level PostgreSQL advisory lock on a 64-bit key: exclusive across every machine that
    uses the same database, released when the holder's connection closes, including when the
    holder is killed (the server drops its session)."""

    def __init__(self, url: str, name: str):
        self.dsn = _pg_dsn(url)
        self.name = name
        self.key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)
        self._conn = None

    def acquire(self, timeout: float) -> None:
        import psycopg2
        import psycopg2.errors

        conn = psycopg2.connect(
            self.dsn,
            connect_timeout=10,
            application_name="perfeval-partition-lock",
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
        )
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT set_config('lock_timeout', %s, false)", (f"{max(1, int(timeout * 1000))}ms",)
                )
                try:
                    cur.execute("SELECT pg_advisory_lock(%s)", (self.key,))
                except psycopg2.errors.LockNotAvailable:
                    raise TimeoutError(
                        f"{self.name} is being written by another run (PostgreSQL advisory lock {self.key} held for {timeout:.0f} s)"
                    ) from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            try:
                with self._conn.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            finally:
                self._conn.close()
                self._conn = None


@contextlib.contextmanager
def _locked(lock_url: str | None, lock_file: Path, name: str, what: str, timeout: float):
    if lock_url:
        lock = PostgresLock(lock_url, name)
        lock.acquire(timeout)
        try:
            yield
        finally:
            lock.release()
        return
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    flock = FileLock(str(lock_file))
    try:
        flock.acquire(timeout=timeout)
    except Timeout:
        raise TimeoutError(
            f"{what} is being written by another run (lock {flock.lock_file} held for {timeout:.0f} s)"
        ) from None
    try:
        yield
    finally:
        flock.release()


class Store:
    """A folder of Parquet files; `Store('s3://bucket/prefix')` gives an `ObjectStore` instead."""

    def __new__(cls, root: str | Path = "", **kwargs):
        if cls is Store and is_remote(root):
            return super().__new__(ObjectStore)
        return super().__new__(cls)

    def __init__(self, root: str | Path, lock_url: str | None = None):
        self.root = Path(root)
        self.lock_url = lock_url if lock_url is not None else os.environ.get(LOCK_URL_ENV) or None

    remote = False

    @property
    def url(self) -> str:
        return self.root.as_posix()

    def path(self, dataset: Dataset | str, department: str, year: int) -> Path:
        name = dataset.name if isinstance(dataset, Dataset) else dataset
        return self.root / name / f"department={department}" / f"year={year}" / "data.parquet"

    def write(self, dataset: Dataset, department: str, year: int, frame: pd.DataFrame) -> Path:
        path = self.path(dataset, department, year)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = _frame_table(frame)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".data.", suffix=".parquet" + TMP_SUFFIX)
        os.close(fd)
        try:
            _write_parquet(table, tmp)
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

    def snapshot(self) -> Store:
        """A store to answer many has_any/glob questions at once (an object store lists once)."""
        return self

    # --- concurrency ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def partition_lock(self, department: str, year: int, timeout: float = LOCK_TIMEOUT_S):
        """Exclusive, across processes, for one partition's writes; clears orphaned temp files."""
        with _locked(
            self.lock_url,
            self.root / ".locks" / f"{department}-{year}.lock",
            f"perfeval:{self.url}:{department}:{year}",
            f"{department} {year}",
            timeout,
        ):
            self.clean_orphans(department, year)
            yield

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


# --- object storage ----------------------------------------------------------------------------------
_OBJECT = re.compile(r"^data\.g(?P<gen>\d{10})\.(?P<token>[0-9a-f]{8,32})\.(?P<kind>parquet|deleted)$")
_PARTITION = re.compile(r"^(?P<dataset>.+)/department=(?P<department>[^/]+)/year=(?P<year>\d+)$")


def s3_filesystem():
    """pyarrow's S3 filesystem for the configured endpoint: PERFEVAL_S3_ENDPOINT (or the AWS SDK's
    AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), credentials from the AWS_* variables or ~/.aws, region
    AWS_REGION / AWS_DEFAULT_REGION (default us-east-1)."""
    from pyarrow import fs

    kwargs: dict = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "connect_timeout": 10,
        "request_timeout": 60,
    }
    endpoint = (
        os.environ.get(S3_ENDPOINT_ENV)
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
    )
    if endpoint:
        scheme, sep, host = endpoint.partition("://")
        kwargs["endpoint_override"] = host.rstrip("/") if sep else endpoint
        kwargs["scheme"] = scheme if sep else "https"
    return fs.S3FileSystem(**kwargs)


class ObjectStore(Store):
    """The store on S3-compatible object storage (see the module docstring for the layout)."""

    remote = True

    def __init__(
        self,
        root: str | Path,
        lock_url: str | None = None,
        filesystem=None,
        grace_s: float = S3_GRACE_S,
        cache_dir: str | Path | None = None,
    ):
        self.base = s3_location(root)
        if self.base is None:
            raise ValueError(f"not an S3 location: {root!s}")
        self.lock_url = lock_url if lock_url is not None else os.environ.get(LOCK_URL_ENV) or None
        self.fs = filesystem or s3_filesystem()
        self.grace_s = grace_s
        cache = cache_dir or os.environ.get(S3_CACHE_ENV)
        self.cache_dir = (
            Path(cache) if cache else Path(tempfile.gettempdir()) / f"perfeval-s3-cache-{os.getuid()}"
        )
        self._listing: dict[str, dict[tuple[str, int], str]] | None = None

    @property
    def root(self) -> Path:  # type: ignore[override]
        raise AttributeError(
            f"{self.url} is an object store: it has no folder (use Store.path for a local copy of one file)"
        )

    @property
    def url(self) -> str:
        return f"s3://{self.base}"

    # --- keys ------------------------------------------------------------------------------------
    def _dir(self, dataset: Dataset | str, department: str, year: int) -> str:
        name = dataset.name if isinstance(dataset, Dataset) else dataset
        return f"{self.base}/{name}/department={department}/year={year}"

    def _generations(self, folder: str) -> list[tuple[int, str, str, object]]:
        """(generation, token, kind, FileInfo) of the objects in a partition folder, oldest first."""
        from pyarrow import fs

        out = []
        for info in self.fs.get_file_info(fs.FileSelector(folder, allow_not_found=True)):
            m = _OBJECT.match(info.base_name)
            if m and info.type == fs.FileType.File:
                out.append((int(m.group("gen")), m.group("token"), m.group("kind"), info))
        return sorted(out, key=lambda g: (g[0], g[1]))

    def current(self, dataset: Dataset | str, department: str, year: int) -> str | None:
        """The key of the partition's current object, or None when nothing (or a tombstone) is current."""
        gens = self._generations(self._dir(dataset, department, year))
        if not gens or gens[-1][2] != "parquet":
            return None
        return gens[-1][3].path

    def _commit(self, folder: str, kind: str, body: bytes) -> str:
        """PUT the next generation (a new key, never an overwrite), then drop superseded ones."""
        gens = self._generations(folder)
        gen = gens[-1][0] + 1 if gens else 1
        key = f"{folder}/data.g{gen:010d}.{secrets.token_hex(8)}.{kind}"
        with self.fs.open_output_stream(key) as out:  # visible only once closed, whole
            out.write(body)
        self._collect(folder)
        return key

    def _collect(self, folder: str) -> int:
        """Delete generations superseded for longer than grace_s. Times are the server's own
        LastModified values, compared with each other, so client clocks do not matter."""
        gens = self._generations(folder)
        if len(gens) < 2:
            return 0
        newest = max(g[3].mtime for g in gens)
        removed = 0
        for older, successor in zip(gens, gens[1:], strict=False):
            if (newest - successor[3].mtime).total_seconds() >= self.grace_s:
                with contextlib.suppress(FileNotFoundError, OSError):
                    self.fs.delete_file(older[3].path)
                    removed += 1
        return removed

    # --- the Store API ---------------------------------------------------------------------------
    def path(self, dataset: Dataset | str, department: str, year: int) -> Path:
        """A local, read-only copy of the partition's current object (cached by generation, which
        never changes), for code that opens files: hashing, DuckDB's read_parquet. When nothing is
        stored the path does not exist."""
        name = dataset.name if isinstance(dataset, Dataset) else dataset
        key = self.current(name, department, year)
        folder = self.cache_dir / self.base / name / f"department={department}" / f"year={year}"
        if key is None:
            return folder / "none" / "data.parquet"
        local = folder / key.rsplit("/", 1)[1].removesuffix(".parquet") / "data.parquet"
        if not local.exists():
            with self.fs.open_input_stream(key) as src:
                atomic_write_bytes(local, src.read(), 0o644)
        return local

    def write(self, dataset: Dataset, department: str, year: int, frame: pd.DataFrame) -> str:
        buf = io.BytesIO()
        _write_parquet(_frame_table(frame), buf)
        key = self._commit(self._dir(dataset, department, year), "parquet", buf.getvalue())
        return f"s3://{key}"

    def read(
        self, dataset: Dataset, department: str, year: int, columns: list[str] | None = None
    ) -> pd.DataFrame:
        key = self.current(dataset, department, year)
        if key is None:
            raise FileNotFoundError(
                f"no {dataset.name} stored for {department} {year} ({self.url}/{dataset.name})"
            )
        return pd.read_parquet(key, filesystem=self.fs, columns=columns)

    def exists(self, dataset: Dataset, department: str, year: int) -> bool:
        return self.current(dataset, department, year) is not None

    def delete(self, dataset: Dataset, department: str, year: int) -> None:
        if self.exists(dataset, department, year):
            self._commit(self._dir(dataset, department, year), "deleted", b"")

    def glob(self, dataset: Dataset) -> str:
        return f"{self.url}/{dataset.name}/*/*/data.*.parquet"

    def committed(self, dataset: Dataset) -> dict[tuple[str, int], str]:
        """Every partition's current object key: one listing of the dataset (or of the snapshot)."""
        if self._listing is not None:
            return dict(self._listing.get(dataset.name, {}))
        return self._list(f"{self.base}/{dataset.name}").get(dataset.name, {})

    def _list(self, prefix: str) -> dict[str, dict[tuple[str, int], str]]:
        from pyarrow import fs

        latest: dict[str, tuple[int, str, str, str]] = {}
        for info in self.fs.get_file_info(fs.FileSelector(prefix, allow_not_found=True, recursive=True)):
            m = _OBJECT.match(info.base_name)
            if not m or info.type != fs.FileType.File:
                continue
            folder = info.path.rsplit("/", 1)[0]
            mark = (int(m.group("gen")), m.group("token"), m.group("kind"), info.path)
            if folder not in latest or mark[:2] > latest[folder][:2]:
                latest[folder] = mark
        out: dict[str, dict[tuple[str, int], str]] = {}
        for folder, (_, _, kind, key) in latest.items():
            p = _PARTITION.match(folder.removeprefix(self.base + "/"))
            if p and kind == "parquet":
                out.setdefault(p.group("dataset"), {})[(p.group("department"), int(p.group("year")))] = key
        return out

    def has_any(self, dataset: Dataset) -> bool:
        return bool(self.committed(dataset))

    def snapshot(self) -> ObjectStore:
        """This store with one listing of everything taken now: has_any/committed/arrow_dataset
        answer from it (sql.connect builds its views from one consistent listing)."""
        snap = ObjectStore.__new__(ObjectStore)
        snap.__dict__.update(self.__dict__)
        snap._listing = self._list(self.base)
        return snap

    def arrow_dataset(self, dataset: Dataset):
        """The dataset's current objects as one pyarrow dataset with Hive keys department (string) and
        year (int64) and the union of the partitions' columns (as DuckDB's union_by_name), for
        registering in DuckDB where its httpfs extension is not available."""
        import pyarrow.dataset as ds

        keys = sorted(self.committed(dataset).values())
        hive = ds.partitioning(pa.schema([("department", pa.string()), ("year", pa.int64())]), flavor="hive")
        base = f"{self.base}/{dataset.name}"
        found = ds.dataset(
            keys, filesystem=self.fs, format="parquet", partitioning=hive, partition_base_dir=base
        )
        schema = pa.unify_schemas(
            [f.physical_schema for f in found.get_fragments()] + [hive.schema], promote_options="permissive"
        )
        return ds.dataset(
            keys,
            filesystem=self.fs,
            format="parquet",
            partitioning=hive,
            partition_base_dir=base,
            schema=schema,
        )

    # --- concurrency ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def partition_lock(self, department: str, year: int, timeout: float = LOCK_TIMEOUT_S):
        """Exclusive for one partition's writes: a PostgreSQL advisory lock when PERFEVAL_LOCK_URL is
        set (needed when writers run on several machines), else a file lock on this machine only."""
        safe = self.base.replace("/", "_")
        with _locked(
            self.lock_url,
            self.cache_dir / ".locks" / safe / f"{department}-{year}.lock",
            f"perfeval:{self.url}:{department}:{year}",
            f"{department} {year}",
            timeout,
        ):
            yield

    def clean_orphans(self, department: str, year: int) -> int:
        """Nothing to clean: an object appears whole when its PUT completes, or not at all (abandoned
        multipart uploads are the bucket's AbortIncompleteMultipartUpload lifecycle rule's job)."""
        return 0
