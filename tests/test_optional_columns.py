"""Every optional column of every contract, generated from the contracts (not listed by hand): a
base department whose files carry every column, then one variant per optional column with that
column's cells left empty, one with all of them empty and one with all their headers gone. An
allowed empty cell must never crash a stage, block the partition or quarantine a row; each
variant's form is rendered and its result says, for every indicator, a value or why not.

The base is the hostile corpus's hand-built clean folder, with the columns it leaves out filled
from each column's contract (type, allowed values, identity)."""

from __future__ import annotations

import pytest
from conftest import evaluate, make_settings, result_of
from hostile.corpus import UNITS, YEAR, _rows, department, write_feed

pytestmark = [pytest.mark.slow, pytest.mark.gx]


def filler(col, code: str, i: int):
    """A valid cell for a column the base leaves out, from its contract alone."""
    if col.allowed:
        return col.allowed[0]
    if col.identity == "department":
        return code
    if col.identity == "year":
        return YEAR
    if col.identity == "unit":
        return UNITS[0][0]
    if col.type in ("int", "float", "money", "rate"):
        value = 1000.0 if col.type == "money" else (0.5 if col.type == "rate" else 1)
        bounds = col.plausible or col
        if bounds.min is not None:
            value = max(value, bounds.min)
        if bounds.max is not None:
            value = min(value, bounds.max)
        return value
    if col.type == "date":
        return f"{YEAR}-06-30"
    if col.type == "datetime":
        return f"{YEAR}-06-30 10:00:00"
    if col.type == "bool":
        return "是"
    return f"补充{i}" if col.code else "补充"


def optional_columns(settings, rows) -> list[tuple[str, str, str]]:
    """(feed, table, column) of every optional column of the tables the base lands."""
    return [
        (feed, table, name)
        for feed, tables in rows.items()
        for table, table_rows in tables.items()
        if table_rows
        for name, col in settings.contracts[feed].tables[table].columns.items()
        if not col.required
    ]


def full_rows(settings, code: str) -> dict:
    rows = _rows(code)
    for feed, tables in rows.items():
        for table, table_rows in tables.items():
            columns = settings.contracts[feed].tables[table].columns
            for i, r in enumerate(table_rows):
                for name, col in columns.items():
                    if name not in r:
                        r[name] = filler(col, code, i)
    return rows


def blank(rows: dict, targets: list[tuple[str, str, str]], drop: bool) -> dict:
    for feed, table, column in targets:
        for r in rows[feed][table]:
            if drop:
                r.pop(column, None)
            else:
                r[column] = None
    return rows


@pytest.fixture(scope="module")
def variants(tmp_path_factory):
    root = tmp_path_factory.mktemp("optional")
    probe = make_settings(root / "probe")
    columns = optional_columns(probe, _rows("probe"))
    plan = {"op-base": ([], False), "op-all-empty": (columns, False), "op-all-absent": (columns, True)}
    plan |= {f"op-{i:02d}": ([c], False) for i, c in enumerate(columns)}
    settings = make_settings(root, {code: department(code) for code in plan})
    for code, (targets, drop) in plan.items():
        folder = settings.landing_folder(code, YEAR)
        for feed, tables in blank(full_rows(settings, code), targets, drop).items():
            # write_csv writes the columns some row carries: a dropped column loses its header too.
            write_feed(folder, settings, feed, tables)
    batch = evaluate(settings, [(code, YEAR) for code in plan], workers=2)
    return settings, plan, batch


def test_the_contracts_have_optional_columns_to_test(variants):
    _, plan, _ = variants
    assert len(plan) > 20


def test_the_full_base_keeps_every_row(variants):
    settings, _, _ = variants
    result = result_of(settings, "op-base", YEAR)
    assert result["status"] == "evaluated", result.get("blocked_reasons") or result.get("failure")
    for feed in result["quality"]["feeds"].values():
        for table in feed["tables"].values():
            assert table["rows_quarantined"] == 0 and table["rows_reported"] == 0, (
                table["table"],
                table["failed_expectations"],
            )


def test_an_empty_optional_column_changes_nothing_but_what_it_measures(variants):
    settings, plan, batch = variants
    failures = []
    for code, (targets, drop) in plan.items():
        what = "absent" if drop else "empty"
        label = (
            f"{code}: {what} {', '.join('.'.join(t) for t in targets[:3])}{'…' if len(targets) > 3 else ''}"
        )
        outcome = batch.final((code, YEAR))
        if not outcome.ok:
            failures.append(f"{label}: {outcome.status} {outcome.message}")
            continue
        result = result_of(settings, code, YEAR)
        quarantined = [
            (t["table"], t["failed_expectations"])
            for f in result["quality"]["feeds"].values()
            for t in f["tables"].values()
            if t["rows_quarantined"] or t["rows_reported"]
        ]
        if quarantined:
            failures.append(f"{label}: rows quarantined {quarantined}")
        for ind in result["indicators"]:
            if ind["value"] is None and not ind["reason"]:
                failures.append(f"{label}: {ind['id']} has neither a value nor a reason")
        folder = settings.report_folder(code, YEAR)
        if not (folder / "feedback_form.docx").exists() or not (folder / "feedback_form.xlsx").exists():
            failures.append(f"{label}: no form rendered")
    assert not failures, "\n".join(failures)


def test_each_outcome_says_where_its_cpu_went(variants):
    """The benchmark's breakdown (costs.py) reaches the batch result from the worker processes."""
    from perfeval_pipeline.bench.baseline import cpu_by_step

    _, plan, batch = variants
    outcome = batch.final(("op-base", YEAR))
    assert outcome.ok
    assert {"reading", "typing", "great_expectations", "store", "indicators", "peers"} <= set(
        batch.ingest[("op-base", YEAR)].cpu
    )
    assert {"peers", "store", "scoring", "findings"} <= set(batch.score[("op-base", YEAR)].cpu)
    assert {"chart", "docx", "xlsx", "manifest"} <= set(batch.render[("op-base", YEAR)].cpu)
    steps = cpu_by_step(batch)
    assert all(v >= 0 for v in steps.values()) and sum(steps.values()) > 0
    assert list(steps.values()) == sorted(steps.values(), reverse=True)
    # A chunk's shared steps (reading, typing, validation) are split over its partitions, not repeated.
    shared = sum(batch.ingest[(code, YEAR)].cpu["typing"] for code in plan)
    assert steps["typing"] == pytest.approx(shared)
