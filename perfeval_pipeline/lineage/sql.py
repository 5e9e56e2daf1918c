"""Read-only SQL over every stored stage: an in-memory DuckDB with one view per stage/table.

Views read the Hive-partitioned Parquet files directly (department and year come from the path), so
they see every partition and need no load step. Store.write replaces each partition file with
os.replace, so a query running while the pipeline writes reads either the old or the new file, never
half of one; the glob never matches the temporary files (`.data.*.parquet.tmp`).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.store import STAGES, Store

# SELECT covers WITH, VALUES, DESCRIBE, SHOW and SUMMARIZE; EXPLAIN only plans.
ALLOWED_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}

_STAGE_TEXT = {
    "raw": "{title}: every row as read, cells as text, with _source_file/_source_sheet/_source_row/_row_hash",
    "clean": "{title}: typed rows that passed every contract check",
    "quarantine": "{title}: typed rows that failed a check; _reason says which",
    "quality": "{title}: one row per table: rows read/kept/quarantined, passed, structural issues",
}
_TABLE_TEXT = {
    ("indicators", "values"): "one row per indicator and statistic: value, display, numerator, denominator, "
    "reason, evidence_rows, by_unit and items (JSON text)",
    ("evidence", "indicators"): "every source row behind every indicator: indicator_id, role (numerator, "
    "denominator, value, item or rule id), table, source file/sheet/row, _row_hash, "
    "amount (what the row contributed)",
    ("scores", "indicators"): "one row per scored indicator: points, score, deduction, reasons (JSON), rule, "
    "target, target_source, workpaper deduction and refs",
    (
        "scores",
        "levels",
    ): "subtotals per level1 (level=1) and level2 (level=2), and the total (level=0, grade)",
    ("findings", "items"): "存在问题 items and 相关建议 of the form, with the indicators they cite",
}


@dataclass(frozen=True)
class View:
    name: str
    stage: str
    table: str
    glob: str
    description: str


def view_name(stage: str, table: str) -> str:
    """'clean' + 'financial.budget_lines' → 'clean_financial_budget_lines'."""
    return f"{stage}_{table.replace('.', '_')}"


def _titles() -> dict[str, str]:
    titles = {}
    for feed in load_contracts().values():
        titles[feed.name] = feed.title
        titles.update({t.qualified_name: t.title for t in feed.tables.values()})
    return titles


def describe(stage: str, table: str, titles: dict[str, str]) -> str:
    if (stage, table) in _TABLE_TEXT:
        return _TABLE_TEXT[(stage, table)]
    if stage in _STAGE_TEXT:
        return _STAGE_TEXT[stage].format(title=titles.get(table, table))
    return f"{stage}/{table}"


def views(store: Store) -> list[View]:
    """One view per stage/table that has at least one stored partition."""
    titles = _titles()
    out = []
    for stage in STAGES:
        for table in store.tables(stage):
            if any((store.root / stage / table).glob("*/*/data.parquet")):
                out.append(
                    View(
                        view_name(stage, table),
                        stage,
                        table,
                        store.glob(stage, table),
                        describe(stage, table, titles),
                    )
                )
    return out


def connect(store: Store) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with every view, allowed to read the store and nothing else."""
    store = Store(store.root.resolve())  # allowed_directories compares resolved paths
    con = duckdb.connect(":memory:")
    for v in views(store):
        glob = v.glob.replace("'", "''")
        con.execute(
            f"CREATE VIEW \"{v.name}\" AS SELECT * FROM read_parquet('{glob}', "
            f"hive_partitioning = true, union_by_name = true)"
        )
    con.execute(f"SET allowed_directories = ['{store.root.resolve().as_posix()}']")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


class ReadOnlyError(ValueError):
    """The SQL would change something; only SELECT-like statements run."""


def query(store: Store, sql: str, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """Run one read-only statement over the views."""
    con = con or connect(store)
    statements = con.extract_statements(sql)
    if len(statements) != 1:
        raise ReadOnlyError(f"give exactly one statement, got {len(statements)}")
    if statements[0].type not in ALLOWED_STATEMENTS:
        raise ReadOnlyError(f"read-only: {statements[0].type.name} statements are not run (SELECT only)")
    return con.sql(sql)
