"""The demo generator: deterministic (the same bytes every time, whether a department-year is
written alone or together with others, by one process or several); every required feed for every
configured department-year; landing files that `perfeval validate` accepts; the defects planted for
the quality checks present in the export. Two small department-years are written (a 政务服务 and a
交通运输 one, 2023); the other department-years are built in memory with a small hotline."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import make_settings

from perfeval_pipeline import cli
from perfeval_pipeline.demo import PLANTED_DEFECTS, generate_demo
from perfeval_pipeline.demo.common import fmt_money
from perfeval_pipeline.demo.defects import DEFECTIVE_DEPARTMENT
from perfeval_pipeline.demo.generate import export_cells, partition_params
from perfeval_pipeline.feeds.contracts import ColumnContract
from perfeval_pipeline.feeds.files import scan_folder
from perfeval_pipeline.feeds.typing import convert_column

PAIR, YEAR = ("pxs-zwsjj", "jdz-jtysj"), 2023


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def together(tmp_path_factory):
    """Both department-years written by one call over two worker processes; what it returned."""
    settings = make_settings(tmp_path_factory.mktemp("together"))
    written = generate_demo(settings, departments=list(PAIR), years=[YEAR], workers=2)
    return settings, written


def test_the_same_department_year_gets_the_same_bytes_alone_or_together(together, tmp_path):
    settings, written = together
    expected = files(settings.landing_dir)
    assert sorted(p.relative_to(settings.landing_dir).as_posix() for p in written) == sorted(expected)
    alone = make_settings(tmp_path)
    for code in reversed(PAIR):  # the other order, one process, one department per call
        generate_demo(alone, departments=[code], years=[YEAR], workers=1)
    got = files(alone.landing_dir)
    assert got.keys() == expected.keys()
    assert [name for name in expected if got[name] != expected[name]] == []


def test_existing_department_years_are_skipped_unless_overwritten(together, tmp_path):
    settings, written = together
    before = {p: p.stat().st_mtime_ns for p in written}
    said = []
    assert generate_demo(settings, departments=list(PAIR), years=[YEAR], progress=said.append) == []
    assert sorted(said) == sorted(f"{code} {YEAR}: exists, skipped" for code in PAIR)
    assert {p: p.stat().st_mtime_ns for p in written} == before
    # Written again: the same bytes (xlsx properties carry a fixed export time, not the clock).
    expected = files(settings.landing_dir)
    again = generate_demo(settings, departments=[PAIR[1]], years=[YEAR], overwrite=True, workers=1)
    assert again and files(settings.landing_dir) == expected


def test_every_required_feed_is_written_and_nothing_else(together):
    settings, _ = together
    for code in PAIR:
        scan = scan_folder(settings.landing_folder(code, YEAR), settings.landing_dir, set(settings.contracts))
        assert not scan.ignored and not scan.issues, code
        missing = [f for f in settings.pipeline.required_feeds if not scan.files[f]]
        assert missing == [], code


def test_every_configured_department_year_builds_every_required_table():
    """All of departments.yaml × pipeline.yaml years, in memory: each required feed's tables with
    the contract's required columns (less a structural defect planted on purpose), with rows where
    the table may not be empty; the hotline is shrunk to a few tickets to keep this quick."""
    settings = make_settings_shipped()
    missing_on_purpose = {
        (d["department"], d["year"], d["feed"], d["table"], d["column"])
        for d in PLANTED_DEFECTS
        if d["kind"] == "missing_column"
    }
    assert len(settings.partitions) == len(settings.departments) * len(settings.years)
    for code, year in settings.partitions:
        dept = settings.department(code)
        params = partition_params(dept, year)
        # The defective department's planted ticket defects sit among its first 3000 tickets.
        small = 3000 if code == DEFECTIVE_DEPARTMENT else 50
        params = dataclasses.replace(params, hotline=dataclasses.replace(params.hotline, tickets=small))
        for feed in settings.pipeline.required_feeds:
            contract = settings.contracts[feed]
            cells = export_cells(settings, dept, year, feed, params)
            assert set(cells) == set(contract.tables), (code, year, feed)
            for name, table in contract.tables.items():
                required = {
                    c
                    for c, col in table.columns.items()
                    if col.required and (code, year, feed, name, c) not in missing_on_purpose
                }
                assert required <= set(cells[name].columns), (
                    code,
                    year,
                    feed,
                    name,
                    required - set(cells[name].columns),
                )
                if not table.may_be_empty:
                    assert len(cells[name]), (code, year, feed, name)


def make_settings_shipped():
    from perfeval_pipeline.config.settings import load_settings

    return load_settings()


@pytest.mark.slow
@pytest.mark.gx
def test_the_landing_files_pass_validate(together, capsys, monkeypatch):
    settings, _ = together
    for var, path in (("PERFEVAL_LANDING", settings.landing_dir), ("PERFEVAL_STORE", settings.store_dir)):
        monkeypatch.setenv(var, str(path))
    argv = ["validate", "-y", str(YEAR)] + [a for code in PAIR for a in ("-d", code)]
    code = cli.main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    verdicts = sorted(line for line in lines if line.endswith((": ok", ": BLOCKED")))
    assert verdicts == sorted(f"{c} {YEAR}: ok" for c in PAIR)
    # Clean data: no row quarantined or left unread, no hidden sheet, no stray file.
    counts = [line.split() for line in lines if line.startswith("  ") and " read " in line]
    assert len(counts) == len(PAIR) * len(settings.pipeline.required_feeds)
    for c in counts:
        assert c[c.index("quarantined") + 1] == "0" and c[c.index("reported") + 1] == "0", c
    assert "hidden sheet" not in out and "not a feed file" not in out and "is ignored" not in out
    assert not any(settings.store_dir.rglob("*.parquet")), "validate stores nothing"


@pytest.mark.parametrize(
    "style,unit",
    [
        ("plain", None),
        ("thousands", None),
        ("wan", "万元"),
    ],
)
def test_money_formats_convert_back_exactly(style, unit):
    cents = [0, 1, 99, 100, 84_000_000, 1_958_520_000, 3_935_020_000, 7_999_999_999, 12_345_678_901]
    typed = convert_column(
        pd.Series([fmt_money(c, style) for c in cents]), ColumnContract(name="x", type="money"), unit
    )
    assert typed.tolist() == [round(c / 100, 2) for c in cents]


@pytest.mark.parametrize("year", sorted({d["year"] for d in PLANTED_DEFECTS}))
def test_planted_defects_are_in_the_export(year):
    from perfeval_pipeline.numbers import parse_cells

    def dates(v):
        return convert_column(v, ColumnContract(name="d", type="date"), None)

    def numbers(v):
        return pd.Series(parse_cells(pa.array(v.tolist(), type=pa.string()), "number").to_pandas())

    settings = make_settings_shipped()
    dept = settings.department(DEFECTIVE_DEPARTMENT)
    params = partition_params(dept, year)
    defects = [d for d in PLANTED_DEFECTS if d["year"] == year]
    assert defects and all(d["department"] == DEFECTIVE_DEPARTMENT for d in defects)
    cells = {feed: export_cells(settings, dept, year, feed, params) for feed in {d["feed"] for d in defects}}
    for d in defects:
        frame = cells[d["feed"]][d["table"]]
        if d["kind"] == "missing_column":
            assert d["column"] not in frame.columns, d
            continue
        table = settings.contracts[d["feed"]].tables[d["table"]]
        values = frame.loc[frame[table.key[0]].isin(d["key"]), d["column"]]
        col = table.columns[d["column"]]
        checks = {
            "not_allowed": lambda v, col=col: ~v.isin(col.allowed),
            "duplicate_key": lambda v: pd.Series([len(v) == 2]),
            "unparseable": lambda v: (v != "").to_numpy() & dates(v).isna().to_numpy(),
            "below_min": lambda v: numbers(v) < 0,
            "required_missing": lambda v: v == "",
        }
        assert len(values) and checks[d["kind"]](values).all(), d
