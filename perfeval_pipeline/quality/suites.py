"""Great Expectations suites built from the feed contracts, validated set-wise.

Contract rules become `Check`s first (plain data, no GX import), so they can be listed and tested
cheaply. `run_checks` validates one frame that holds a table's rows for *every* partition of a
chunk (a `_partition` column tells them apart): GX costs about 4 ms per expectation per call whatever
the row count, so one call per table per chunk instead of per partition is what keeps a province
run affordable. Uniqueness is checked per partition (compound with `_partition`); value sets that
depend on the partition (its budget units, its framework's indicators) are checked on a key column
that carries the partition, e.g. `_unit_key` = 'jdz-zwsjj/JDZ001'.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from perfeval_pipeline.costs import step
from perfeval_pipeline.feeds.contracts import ColumnContract, TableContract
from perfeval_pipeline.feeds.typing import PARSE_ERRORS, TOTAL_ROW

PARTITION = "_partition"
UNIT_KEY = "_unit_key"
INDICATOR_KEY = "_indicator_key"
_OPS = {">=": ("a_to_be_greater_than_b", True), ">": ("a_to_be_greater_than_b", False)}


@dataclass(frozen=True)
class ChunkContext:
    """What the checks need to know about the partitions validated together."""

    year: int
    unit_keys: frozenset[str] = frozenset()  # 'department/unit code' of every partition
    indicator_keys: frozenset[str] = frozenset()  # 'department/indicator id' (scored indicators)


@dataclass(frozen=True)
class Check:
    """One contract rule: the GX expectation that tests it and the reason its failing rows carry."""

    expectation: str  # GX expectation type, e.g. "expect_column_values_to_not_be_null"
    columns: tuple[str, ...]
    reason: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    # Uniqueness: GX flags every row of a duplicate group, but only the repeats are quarantined.
    keep_first: bool = False
    # A column whose per-row text is appended to the reason (which cells failed, and as what).
    detail_column: str | None = None


def _col_checks(col: ColumnContract, ctx: ChunkContext) -> list[Check]:
    label, on = col.label, {"column": col.name}
    out = []
    if col.required:
        out.append(Check("expect_column_values_to_not_be_null", (col.name,), f"{label} 为空 (required)", on))
    if col.allowed is not None:
        out.append(
            Check(
                "expect_column_values_to_be_in_set",
                (col.name,),
                f"{label} 不在允许值内 (not one of {'/'.join(col.allowed)})",
                {**on, "value_set": list(col.allowed)},
            )
        )
    if col.min is not None or col.max is not None:
        bounds = {k: v for k, v in (("min_value", col.min), ("max_value", col.max)) if v is not None}
        text = " – ".join(f"{v:g}" for v in bounds.values())
        out.append(
            Check(
                "expect_column_values_to_be_between",
                (col.name,),
                f"{label} 超出范围 (allowed {text})",
                {**on, **bounds},
            )
        )
    if col.plausible is not None:
        bounds = {
            k: v
            for k, v in (("min_value", col.plausible.min), ("max_value", col.plausible.max))
            if v is not None
        }
        text = " – ".join(f"{v:,.0f}" for v in bounds.values())
        out.append(
            Check(
                "expect_column_values_to_be_between",
                (f"_magnitude_{col.name}",),
                f"{label} 数量级异常，可能单位有误 (non-zero values must lie within {text}, check 元/万元)",
                {"column": f"_magnitude_{col.name}", **bounds},
            )
        )
    if col.within_year:
        end = datetime(ctx.year, 12, 31, 23, 59, 59) if col.type == "datetime" else datetime(ctx.year, 12, 31)
        out.append(
            Check(
                "expect_column_values_to_be_between",
                (col.name,),
                f"{label} 不在评价年度内 (outside {ctx.year})",
                {**on, "min_value": datetime(ctx.year, 1, 1), "max_value": end},
            )
        )
    if col.identity == "unit":
        out.append(
            Check(
                "expect_column_values_to_be_in_set",
                (col.name,),
                f"{label} 不是本部门的预算单位 (not a budget unit of this department)",
                {"column": UNIT_KEY, "value_set": sorted(ctx.unit_keys)},
            )
        )
    return out


def contract_checks(contract: TableContract, ctx: ChunkContext) -> list[Check]:
    """The checks a table contract implies for a chunk of partitions, in reporting order."""
    checks = []
    for col in contract.columns.values():
        checks += _col_checks(col, ctx)
    if "indicator_id" in contract.columns and contract.qualified_name == "evaluation.workpaper":
        checks.append(
            Check(
                "expect_column_values_to_be_in_set",
                ("indicator_id",),
                f"{contract.columns['indicator_id'].label} 不是本部门指标体系中的计分指标 (unknown indicator)",
                {"column": INDICATOR_KEY, "value_set": sorted(ctx.indicator_keys)},
            )
        )
    for rule in contract.rules:
        if rule.op in _OPS:
            kind, or_equal = _OPS[rule.op]
            a, b = rule.left, rule.right
        elif rule.op in ("<=", "<"):
            kind, or_equal = "a_to_be_greater_than_b", rule.op == "<="
            a, b = rule.right, rule.left
        else:
            kind, or_equal, a, b = "to_be_equal", None, rule.left, rule.right
        kwargs = {"column_A": a, "column_B": b, "ignore_row_if": "either_value_is_missing"}
        if or_equal is not None:
            kwargs["or_equal"] = or_equal
        checks.append(
            Check(f"expect_column_pair_values_{kind}", (rule.left, rule.right), rule.reason, kwargs)
        )
    checks.append(
        Check(
            "expect_column_values_to_be_in_set",
            (TOTAL_ROW,),
            "合计/小计行，不是明细行 (a totals row of the export)",
            {"column": TOTAL_ROW, "value_set": [False]},
        )
    )
    if contract.key:
        labels = " + ".join(contract.columns[k].label for k in contract.key)
        checks.append(
            Check(
                "expect_compound_columns_to_be_unique",
                contract.key,
                f"{labels} 重复 (duplicate key, first occurrence kept)",
                {"column_list": [PARTITION, *contract.key]},
                keep_first=True,
            )
        )
    checks.append(
        Check(
            "expect_column_values_to_be_null",
            (PARSE_ERRORS,),
            "单元格无法读取 (unreadable cell)",
            {"column": PARSE_ERRORS},
            detail_column=PARSE_ERRORS,
        )
    )
    reasons = [c.reason for c in checks]
    if len(set(reasons)) != len(reasons):
        raise ValueError(f"{contract.qualified_name}: two checks share a reason: {reasons}")
    return checks


# Once per process (the import, unless the fork server did it, and the context), so the benchmark
# counts it apart from validating.
STARTING_GX = "starting great_expectations"


def _gx():
    import great_expectations as gx  # lazy: the import alone takes seconds

    return gx


_LOCK = threading.Lock()
_state: dict[str, Any] = {}


def _batch_definition():
    """One ephemeral context and one pandas batch definition per process."""
    with _LOCK:
        if "batch" not in _state:
            with step(STARTING_GX):
                from great_expectations.data_context.types.base import ProgressBarsConfig

                gx = _gx()
                context = gx.get_context(mode="ephemeral")
                # tqdm bars per validation would flood the run logs.
                context.variables.progress_bars = ProgressBarsConfig(globally=False)
                _state["context"] = context
                _state["batch"] = (
                    context.data_sources.add_pandas("perfeval")
                    .add_dataframe_asset("rows")
                    .add_batch_definition_whole_dataframe("all")
                )
        return _state["batch"]


def build_suite(checks: list[Check], name: str):
    gx = _gx()
    _batch_definition()  # GX suites need an active context, even to add an expectation
    suite = gx.ExpectationSuite(name=name)
    for check in checks:
        cls = getattr(gx.expectations, "".join(p.title() for p in check.expectation.split("_")))
        suite.add_expectation(cls(**check.kwargs, description=check.reason))
    return suite


def run_checks(frame: pd.DataFrame, checks: list[Check], name: str) -> list[tuple[Check, bool, dict]]:
    """Validate `frame` (a unique RangeIndex) with the checks: per check (in `checks` order), whether
    it passed and GX's COMPLETE result (unexpected_index_list as index labels). Two passes: the
    whole suite with the cheapest result format, then the failed expectations again with COMPLETE
    for their failing rows (most tables pass; COMPLETE costs 2.4 times as much). Raises if an
    expectation could not run: passing its rows silently would hide bad data."""
    batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
    by_reason = {c.reason: c for c in checks}
    verdicts = {}
    for result in batch.validate(build_suite(checks, name), result_format="BOOLEAN_ONLY").results:
        check = by_reason[result.expectation_config.description]
        if result.exception_info and result.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"{name}: {check.expectation} on {list(check.columns)} did not run: {str(result.exception_info)[:500]}"
            )
        verdicts[check.reason] = bool(result.success)
    failed = [c for c in checks if not verdicts[c.reason]]
    details: dict[str, dict] = {}
    if failed:
        for result in batch.validate(build_suite(failed, name + "/failed"), result_format="COMPLETE").results:
            check = by_reason[result.expectation_config.description]
            if "unexpected_index_list" not in (result.result or {}):
                raise RuntimeError(
                    f"{name}: {check.expectation} on {list(check.columns)} did not run: {str(result.exception_info)[:500]}"
                )
            details[check.reason] = result.result
    return [(c, verdicts[c.reason], details.get(c.reason, {})) for c in checks]
