"""Expectation suites built from table contracts, and running them on a typed frame.

Contract rules become `Check`s first (plain data, no GX import), so they can be listed and tested
cheaply; `run_checks` turns them into one Great Expectations suite per contract, cached with one
ephemeral context for the whole process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from perfeval_pipeline.feeds.contracts import ColumnContract, TableContract
from perfeval_pipeline.feeds.typing import PARSE_ERRORS

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition


@dataclass(frozen=True)
class Check:
    """One contract rule: the GX expectation that tests it and the reason its failing rows carry."""

    expectation: str  # GX expectation type, e.g. "expect_column_values_to_not_be_null"
    columns: tuple[str, ...]
    reason: str
    kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    # Uniqueness: GX flags every row of a duplicate group, but only the repeats are quarantined.
    keep_first: bool = False
    # A column whose per-row text is appended to the reason (which cells failed to parse, and how).
    detail_column: str | None = None


def column_label(col: ColumnContract) -> str:
    """'决算数 (final_amount)': the header evaluators know, then the canonical name."""
    return f"{col.aliases[0]} ({col.name})" if col.aliases else col.name


def contract_checks(contract: TableContract) -> list[Check]:
    """The checks a table contract implies, in the order their reasons are reported."""
    checks = []
    for col in contract.columns.values():
        label, on = column_label(col), {"column": col.name}
        if col.required:
            checks.append(
                Check(
                    "expect_column_values_to_not_be_null", (col.name,), f"{label} 为空 missing (required)", on
                )
            )
        if col.allowed is not None:
            checks.append(
                Check(
                    "expect_column_values_to_be_in_set",
                    (col.name,),
                    f"{label} 不在允许值内 not one of {'/'.join(col.allowed)}",
                    {**on, "value_set": list(col.allowed)},
                )
            )
        if col.min is not None:
            checks.append(
                Check(
                    "expect_column_values_to_be_between",
                    (col.name,),
                    f"{label} 小于 {col.min:g} below minimum {col.min:g}",
                    {**on, "min_value": col.min},
                )
            )
    if contract.key:
        labels = " + ".join(column_label(contract.columns[k]) for k in contract.key)
        reason = f"{labels} 重复 duplicate key (first occurrence kept)"
        if len(contract.key) == 1:
            kind, kwargs = "expect_column_values_to_be_unique", {"column": contract.key[0]}
        else:
            kind, kwargs = "expect_compound_columns_to_be_unique", {"column_list": list(contract.key)}
        checks.append(Check(kind, contract.key, reason, kwargs, keep_first=True))
    checks.append(
        Check(
            "expect_column_values_to_be_null",
            (PARSE_ERRORS,),
            "单元格无法解析 unparseable cell",
            {"column": PARSE_ERRORS},
            detail_column=PARSE_ERRORS,
        )
    )
    reasons = [c.reason for c in checks]
    if len(set(reasons)) != len(reasons):
        # Results are matched back to checks by reason (the expectation's description).
        raise ValueError(f"{contract.qualified_name}: two checks share a reason: {reasons}")
    return checks


def _gx():
    import great_expectations as gx  # lazy: the import alone takes 5-12 s

    return gx


@dataclass(frozen=True)
class _Runner:
    batch_definition: BatchDefinition
    suite: ExpectationSuite
    checks: dict[str, Check]  # by reason, in contract order


_LOCK = threading.Lock()
_context = None
_runners: dict[str, _Runner] = {}


def _get_context():
    global _context
    if _context is None:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = _gx().get_context(mode="ephemeral")
        # tqdm bars per validation would flood the run logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        _context = context
    return _context


def build_suite(contract: TableContract, name: str | None = None) -> ExpectationSuite:
    """A GX ExpectationSuite for the contract; each expectation's description is its reason."""
    gx = _gx()
    _get_context()  # GX suites look up their store in the active context, even to add an expectation
    suite = gx.ExpectationSuite(name=name or contract.qualified_name)
    for check in contract_checks(contract):
        cls = getattr(gx.expectations, "".join(p.title() for p in check.expectation.split("_")))
        suite.add_expectation(cls(**check.kwargs, description=check.reason))
    return suite


def _runner(contract: TableContract) -> _Runner:
    # Contracts hold dicts (unhashable); their repr identifies them, so an edited contract gets a new suite.
    key = repr(contract)
    with _LOCK:
        runner = _runners.get(key)
        if runner is None:
            context = _get_context()
            name = f"{contract.qualified_name}#{len(_runners)}"
            batch_definition = (
                context.data_sources.add_pandas(name)
                .add_dataframe_asset(name)
                .add_batch_definition_whole_dataframe(name)
            )
            suite = context.suites.add(build_suite(contract, name))
            checks = {c.reason: c for c in contract_checks(contract)}
            runner = _runners[key] = _Runner(batch_definition, suite, checks)
    return runner


def run_checks(frame: pd.DataFrame, contract: TableContract) -> list[tuple[Check, bool, dict]]:
    """Validate `frame` (unique index) with the contract's suite: per check, (check, success, GX's
    COMPLETE result with unexpected_count and unexpected_index_list as index labels). Raises if an
    expectation could not run: passing its rows silently would hide bad data."""
    runner = _runner(contract)
    batch = runner.batch_definition.get_batch(batch_parameters={"dataframe": frame})
    validation = batch.validate(runner.suite, result_format="COMPLETE")
    by_reason = {}
    for result in validation.results:
        check = runner.checks[result.expectation_config.description]
        if not result.success and "unexpected_index_list" not in (result.result or {}):
            raise RuntimeError(
                f"{contract.qualified_name}: {check.expectation} on {list(check.columns)} did not run: "
                f"{str(result.exception_info)[:1000]}"
            )
        by_reason[check.reason] = (check, bool(result.success), result.result)
    # GX returns results in its own order; reasons read better in contract order.
    return [by_reason[reason] for reason in runner.checks]
