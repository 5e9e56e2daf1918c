"""Read-only SQL over every stored dataset: an in-memory DuckDB with one view per dataset (catalog.py),
reading the Hive-partitioned Parquet files directly (department and year come from the path), so
the views see every partition and need no load step. Store.write replaces each partition file with
a rename, so a query running while the pipeline writes reads the old or the new file, never half.

On an object store (`s3://…`) DuckDB's httpfs extension may be unavailable (it is downloaded on
first use; this project's machines cannot): each dataset's current objects are registered as a
pyarrow dataset instead (Store.arrow_dataset: one listing, immutable objects, the union of the
partitions' columns as union_by_name gives), and the same views select from them.

Every view that concerns indicators has `indicator_id` and `indicator_name`; `evidence` carries the
landing file, sheet and row of each evidence row."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from perfeval_pipeline.catalog import (
    EVIDENCE,
    FINDINGS,
    INDICATOR_VALUES,
    LEVELS,
    PEER_BENCHMARKS,
    QUALITY,
    RECTIFICATION,
    SCORES,
    Dataset,
    rows_dataset,
)
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.contracts import all_tables
from perfeval_pipeline.store import Store

# SELECT covers WITH, VALUES, DESCRIBE, SHOW and SUMMARIZE; EXPLAIN only plans.
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
SOURCE = ["_source_file", "_source_sheet", "_source_row", "_row_hash"]


@dataclass(frozen=True)
class View:
    name: str
    title: str  # Chinese title
    description: str
    sql: str


def _arrow_name(dataset: Dataset) -> str:
    """The name a dataset of an object store is registered under in the connection."""
    return "__store_" + "".join(c if c.isalnum() else "_" for c in dataset.name)


def _read(store: Store, dataset: Dataset) -> str:
    if store.remote:
        return f'"{_arrow_name(dataset)}"'
    glob = store.glob(dataset).replace("'", "''")
    return f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"


def _datasets(settings: Settings) -> list[Dataset]:
    """Every dataset a view may read."""
    rows = [rows_dataset(t.qualified_name) for t in all_tables(settings.contracts)]
    return [
        *rows,
        QUALITY,
        INDICATOR_VALUES,
        LEVELS,
        FINDINGS,
        RECTIFICATION,
        SCORES,
        PEER_BENCHMARKS,
        EVIDENCE,
    ]


def views(settings: Settings, store: Store) -> list[View]:
    """One view per dataset that has at least one stored partition."""
    out: list[View] = []
    tables = [t for t in all_tables(settings.contracts) if store.has_any(rows_dataset(t.qualified_name))]
    for t in tables:
        ds = rows_dataset(t.qualified_name)
        base = t.qualified_name.replace(".", "_")
        src = _read(store, ds)
        out.append(View(f"rows_{base}", f"{t.title}（全部行）", ds.description, f"SELECT * FROM {src}"))
        out.append(
            View(
                f"clean_{base}",
                f"{t.title}（保留行）",
                f"kept rows of {t.qualified_name}",
                f"SELECT * EXCLUDE (_status, _reason) FROM {src} WHERE _status = 'kept'",
            )
        )
        out.append(
            View(
                f"quarantine_{base}",
                f"{t.title}（隔离行）",
                f"quarantined rows of {t.qualified_name} with _reason",
                f"SELECT * FROM {src} WHERE _status = 'quarantined'",
            )
        )
    names = (
        f"SELECT DISTINCT indicator_id, indicator_name FROM {_read(store, INDICATOR_VALUES)}"
        if store.has_any(INDICATOR_VALUES)
        else None
    )
    simple = [
        (QUALITY, "数据质量"),
        (INDICATOR_VALUES, "指标值"),
        (LEVELS, "分级得分"),
        (FINDINGS, "存在问题与建议"),
        (RECTIFICATION, "整改跟踪"),
    ]
    for ds, title in simple:
        if store.has_any(ds):
            out.append(View(ds.view, title, ds.description, f"SELECT * FROM {_read(store, ds)}"))
    if store.has_any(SCORES) and names:
        out.append(
            View(
                SCORES.view,
                "指标得分",
                SCORES.description,
                f"SELECT s.*, n.indicator_name FROM {_read(store, SCORES)} s LEFT JOIN ({names}) n USING (indicator_id)",
            )
        )
    if store.has_any(PEER_BENCHMARKS) and names:
        out.append(
            View(
                PEER_BENCHMARKS.view,
                "同组基准",
                PEER_BENCHMARKS.description,
                f"SELECT b.*, n.indicator_name FROM {_read(store, PEER_BENCHMARKS)} b LEFT JOIN ({names}) n USING (indicator_id)",
            )
        )
    if store.has_any(EVIDENCE) and names:
        refs = " UNION ALL ".join(
            f"SELECT '{t.qualified_name}' AS source_table, department, year, _row, {', '.join(SOURCE)} FROM {_read(store, rows_dataset(t.qualified_name))}"
            for t in tables
        )
        joined = f"SELECT e.*, n.indicator_name, r._source_file, r._source_sheet, r._source_row, r._row_hash FROM {_read(store, EVIDENCE)} e LEFT JOIN ({names}) n USING (indicator_id)"
        if refs:
            joined += f" LEFT JOIN ({refs}) r USING (department, year, source_table, _row)"
        out.append(View(EVIDENCE.view, "证据行", EVIDENCE.description, joined))
    return out


def connect(settings: Settings, store: Store) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with every view, allowed to read the store and nothing else."""
    con = duckdb.connect(":memory:")
    if store.remote:
        # One listing for every view; DuckDB scans the registered datasets through pyarrow, so
        # it needs no file access of its own at all.
        store = store.snapshot()
        for ds in _datasets(settings):
            if store.has_any(ds):
                con.register(_arrow_name(ds), store.arrow_dataset(ds))
        for v in views(settings, store):
            con.execute(f'CREATE VIEW "{v.name}" AS {v.sql}')
    else:
        root = store.root.resolve()
        for v in views(settings, Store(root)):
            con.execute(f'CREATE VIEW "{v.name}" AS {v.sql}')
        con.execute(f"SET allowed_directories = ['{root.as_posix()}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


class ReadOnlyError(ValueError):
    """The SQL would change something; only SELECT-like statements run."""


def query(
    settings: Settings, store: Store, sql: str, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyRelation:
    """Run one read-only statement over the views."""
    con = con or connect(settings, store)
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ReadOnlyError(f"give exactly one statement, got {len(statements)}")
    if statements[0].type not in ALLOWED_STATEMENTS:
        raise ReadOnlyError(f"read-only: {statements[0].type.name} statements are not run (SELECT only)")
    return con.sql(sql)


def schema(settings: Settings, store: Store) -> list[tuple[View, list[tuple[str, str, str]]]]:
    """Every view with its columns: (name, type, title) — titles from the contracts' Chinese headers."""
    titles = {c.name: c.header for t in all_tables(settings.contracts) for c in t.columns.values()}
    titles |= {
        "department": "部门编码",
        "year": "年度",
        "indicator_id": "指标编码",
        "indicator_name": "指标名称",
        "_source_file": "来源文件",
        "_source_sheet": "工作表",
        "_source_row": "行号",
        "_row_hash": "行哈希",
        "_row": "行序号",
        "_status": "状态（kept/quarantined）",
        "_reason": "隔离原因",
        "value": "指标值",
        "display": "显示值",
        "numerator": "分子",
        "denominator": "分母",
        "score": "得分",
        "points": "分值",
        "deduction": "扣分",
        "amount": "贡献值",
        "role": "角色",
        "source_table": "来源表",
    }
    store = store.snapshot()
    con = connect(settings, store)
    out = []
    for v in views(settings, store):
        cols = con.execute(f'DESCRIBE "{v.name}"').fetchall()
        out.append((v, [(c[0], c[1], titles.get(c[0].removeprefix("_raw_"), "")) for c in cols]))
    return out
