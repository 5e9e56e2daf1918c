"""Dagster materialization metadata for lineage: row counts, column schemas, column lineage (which
feed columns each stored column derives from, per the framework's measure config) and the commands
that trace or query a partition. The only lineage module that imports Dagster; assets call these with
the frames they just stored for a partition.

Column lineage is stored by Dagster OSS but only drawn by the Dagster+ UI; the schema and row count
show in OSS.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.indicators.framework import Framework, IndicatorSpec
from perfeval_pipeline.lineage.sql import view_name
from perfeval_pipeline.lineage.trace import side_columns, side_spec

INDICATORS_ASSET = dg.AssetKey("indicator_values")


def feed_asset_key(feed: str) -> dg.AssetKey:
    """The ingest asset of a feed (orchestration/assets.py names them '{feed}_feed')."""
    return dg.AssetKey(f"{feed}_feed")


def trace_command(department: str, year: int, indicator: str | None = None) -> str:
    return f"perfeval trace {department} {year}" + (f" {indicator}" if indicator else "")


def sql_command(stage: str, table: str, department: str, year: int) -> str:
    return (
        f"perfeval sql \"SELECT * FROM {view_name(stage, table)} WHERE department = '{department}' "
        f'AND year = {year}"'
    )


def column_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=str(c), type=str(t)) for c, t in frame.dtypes.items()])


def table_metadata(frame: pd.DataFrame) -> dict:
    """`dagster/row_count` and `dagster/column_schema` of a stored frame."""
    return {"dagster/row_count": len(frame), "dagster/column_schema": column_schema(frame)}


def _side_deps(side: dict, by: str | None = None) -> list[dg.TableColumnDep]:
    """Feed columns a measure side reads: summed columns, and columns its filter or breakdown reads.
    A view table (e.g. asset_register.assets_checked) resolves to the contract tables of its feed."""
    if "table" not in side:  # the staffing quota comes from config, not from an asset
        return []
    feed, table = side["table"].split(".", 1)
    contract = load_contracts().get(feed)
    if contract is None:
        return []
    # A view (e.g. assets_checked) is named after the table it extends; its derived flags have no column.
    tables = (
        [contract.tables[table]]
        if table in contract.tables
        else [t for t in contract.tables.values() if table.startswith(t.name)]
    )
    deps = []
    for col in side_columns(side, by):
        for t in tables:
            if col in t.columns:
                deps.append(dg.TableColumnDep(asset_key=feed_asset_key(feed), column_name=f"{t.name}.{col}"))
    return deps


def _roles(spec: IndicatorSpec) -> dict[str, str]:
    """Evidence role → stored column it feeds (count and total measures store their value as numerator)."""
    kind = spec.measure["kind"]
    if kind == "ratio":
        return {"numerator": "numerator", "denominator": "denominator"}
    if kind == "rule_hits":
        return dict.fromkeys(spec.measure["rules"], "numerator")
    return {"value" if kind == "total" else "item": "numerator"}


def _unique(deps: list[dg.TableColumnDep]) -> list[dg.TableColumnDep]:
    return list({(d.asset_key, d.column_name): d for d in deps}.values())


def indicator_column_lineage(framework: Framework) -> dg.TableColumnLineage:
    """indicators/values columns ← the feed columns every indicator's measure reads, e.g.
    numerator ← financial_feed budget_lines.final_amount."""
    by_column: dict[str, list[dg.TableColumnDep]] = {"numerator": [], "denominator": []}
    for spec in framework.all:
        for role, column in _roles(spec).items():
            by_column[column] += _side_deps(side_spec(spec.measure, role), spec.measure.get("by"))
    every = _unique(by_column["numerator"] + by_column["denominator"])
    deps = {
        "numerator": _unique(by_column["numerator"]),
        "denominator": _unique(by_column["denominator"]),
        "value": every,
        "display": every,
        "by_unit": every,
        "items": every,
    }
    return dg.TableColumnLineage(deps_by_column={k: v for k, v in deps.items() if v})


def indicator_values_metadata(
    values: pd.DataFrame, evidence: pd.DataFrame, framework: Framework, department: str, year: int
) -> dict:
    """For the indicator_values asset (indicators/values and evidence/indicators of one partition)."""
    return {
        **table_metadata(values),
        "dagster/column_lineage": indicator_column_lineage(framework),
        "evidence_rows": len(evidence),
        "evidence_schema": dg.MetadataValue.table_schema(column_schema(evidence)),
        "trace": dg.MetadataValue.text(trace_command(department, year) + " [indicator id or printed number]"),
        "sql": dg.MetadataValue.text(sql_command("evidence", "indicators", department, year)),
    }


def scorecard_metadata(scores: pd.DataFrame, department: str, year: int) -> dict:
    """For the scorecard asset (scores/indicators of one partition)."""
    value = [dg.TableColumnDep(asset_key=INDICATORS_ASSET, column_name="value")]
    targets = [
        dg.TableColumnDep(asset_key=feed_asset_key("evaluation"), column_name=f"targets.{c}")
        for c in ("name", "value", "unit")
    ]
    workpaper = [
        dg.TableColumnDep(asset_key=feed_asset_key("evaluation"), column_name=f"workpaper.{c}")
        for c in ("indicator_id", "deduction", "finding", "record_id")
    ]
    lineage = dg.TableColumnLineage(
        deps_by_column={
            "score": value + targets + workpaper,
            "deduction": value + targets + workpaper,
            "reasons": value + targets + workpaper,
            "target": targets + value,
            "target_source": targets,
            "workpaper_deduction": workpaper,
            "workpaper_refs": workpaper,
        }
    )
    return {
        **table_metadata(scores),
        "dagster/column_lineage": lineage,
        "trace": dg.MetadataValue.text(trace_command(department, year)),
        "sql": dg.MetadataValue.text(sql_command("scores", "indicators", department, year)),
    }


def feed_metadata(feed: str, clean: dict[str, pd.DataFrame], department: str, year: int) -> dict:
    """For a feed asset: row count over its clean tables, the main table's schema as the asset's
    schema, and each table's schema and SQL view."""
    contract = load_contracts()[feed]
    main = clean.get(contract.main_table.name, pd.DataFrame())
    out = {
        "dagster/row_count": sum(len(f) for f in clean.values()),
        "dagster/column_schema": column_schema(main),
    }
    for name, frame in clean.items():
        out[f"schema {feed}.{name}"] = dg.MetadataValue.table_schema(column_schema(frame))
        out[f"sql {feed}.{name}"] = dg.MetadataValue.text(
            sql_command("clean", f"{feed}.{name}", department, year)
        )
    return out


def findings_metadata(items: pd.DataFrame, department: str, year: int, report_dir: str) -> dict:
    """For the findings asset (findings/items of one partition and its result.json)."""
    cites = [
        dg.TableColumnDep(asset_key=INDICATORS_ASSET, column_name=c) for c in ("value", "display", "items")
    ]
    lineage = dg.TableColumnLineage(deps_by_column={"text": cites, "cites": cites})
    return {
        **table_metadata(items),
        "dagster/column_lineage": lineage,
        "trace": dg.MetadataValue.text(trace_command(department, year)),
        "verify": dg.MetadataValue.text(f"perfeval verify {report_dir}"),
    }
