"""Lineage over one synthetic partition built through every stage (tests/test_lineage_data.py):
trace resolves every figure of result.json to landing rows and recomputes it; verify names the file,
row and cell that changed; SQL views count what the stages stored; Dagster metadata helpers."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_lineage_data import DEPARTMENT, HOTLINE_ROWS, YEAR, build_landing

from perfeval_pipeline import cli
from perfeval_pipeline import config as perfeval_config
from perfeval_pipeline.config import Settings
from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.findings.stage import report_dir, run_findings
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.indicators.stage import run_indicators
from perfeval_pipeline.lineage import sql
from perfeval_pipeline.lineage.manifest import write_manifest
from perfeval_pipeline.lineage.trace import Match, PartitionLineage
from perfeval_pipeline.quality.stage import ingest_feed
from perfeval_pipeline.render.stage import render_partition
from perfeval_pipeline.scoring.stage import run_scoring
from perfeval_pipeline.store import Store

REPO = Path(__file__).resolve().parent.parent
FOLDERS = {
    "PERFEVAL_LANDING": "landing",
    "PERFEVAL_STORE": "store",
    "PERFEVAL_REPORTS": "reports",
    "PERFEVAL_CONFIG": "config",
}
pytestmark = pytest.mark.gx


@dataclass
class Built:
    root: Path
    cfg: Settings
    store: Store
    result: dict

    @property
    def report(self) -> Path:
        return report_dir(self.cfg, DEPARTMENT, YEAR)


def _environment(mp: pytest.MonkeyPatch, root: Path, folders=FOLDERS) -> None:
    for var, name in folders.items():
        mp.setenv(var, str(root / name))
    perfeval_config.reset_settings_cache()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Landing → ingest → indicators → scores → findings → forms → manifest, once for the module.
    Config is a copy, so a test can change it without touching assets_config/."""
    root = tmp_path_factory.mktemp("lineage")
    shutil.copytree(REPO / "assets_config", root / "config")
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, root)
        cfg = perfeval_config.settings()
        build_landing(cfg.landing_dir)
        store = Store(cfg.store_dir)
        for feed in load_contracts():
            assert ingest_feed(feed, DEPARTMENT, YEAR, cfg, store).passed
        run_indicators(DEPARTMENT, YEAR, store, cfg)
        run_scoring(DEPARTMENT, YEAR, store, cfg)
        result = run_findings(DEPARTMENT, YEAR, store, {"passed": True}, cfg)
        render_partition(DEPARTMENT, YEAR, store, cfg)
        write_manifest(DEPARTMENT, YEAR, cfg)
        yield Built(root, cfg, store, result)
    perfeval_config.reset_settings_cache()


@pytest.fixture
def edited(built, tmp_path):
    """Editable copies of the landing, config and report folders (the store is shared, read only)."""
    for name in ("landing", "config", "reports"):
        shutil.copytree(built.root / name, tmp_path / name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERFEVAL_STORE", str(built.root / "store"))
        _environment(mp, tmp_path, {k: v for k, v in FOLDERS.items() if k != "PERFEVAL_STORE"})
        yield tmp_path
    perfeval_config.reset_settings_cache()


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def _figures(result: dict):
    """Every number result.json carries: each indicator's value and each per-unit value, as printed."""
    kinds = {s.id: s.display for s in load_framework("zwsj").all}
    for ind in result["indicators"]:
        if ind["value"] is not None:
            yield ind["id"], None, ind["display"]
        for unit in ind["by_unit"]:
            if unit["value"] is not None:
                yield ind["id"], str(unit["key"]), display(unit["value"], kinds[ind["id"]])


# --- trace ---------------------------------------------------------------------------------------


def test_every_figure_of_result_json_traces_to_landing_rows_and_recomputes(built):
    lineage = PartitionLineage(DEPARTMENT, YEAR)
    records = {i["id"]: i for i in built.result["indicators"]}
    checked = 0
    for iid, unit, printed in _figures(built.result):
        assert Match(iid, "unit display" if unit else "display", unit) in lineage.resolve(printed), printed
        t = lineage.trace(iid, unit)
        assert t.recomputation.matches, (iid, unit, t.recomputation)
        assert not t.hash_mismatches
        if unit is None:
            assert len(t.rows) == records[iid]["evidence_rows"]
            assert t.display == printed
        else:
            assert t.recomputation.display == printed
        landing = [r for r in t.rows if not r.file.startswith("assets_config/")]
        assert all((built.cfg.landing_dir / r.file).is_file() and r.row >= 2 for r in landing)
        checked += 1
    assert checked > 60


def test_trace_reports_score_rule_and_target_as_stored(built):
    lineage = PartitionLineage(DEPARTMENT, YEAR)
    for rec in built.result["indicators"]:
        if rec["statistic"]:
            continue
        s = lineage.trace(rec["id"]).score
        assert (s["score"], s["points"], s["rule"], s["target"]) == (
            rec["score"],
            rec["points"],
            rec["rule"],
            rec["target"],
        )
        assert "；".join(s["reasons"]) == rec["deduction_reason"]


def test_trace_of_a_printed_percentage_shows_raw_cells_under_their_landing_headers(built, capsys):
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "489.93%")
    assert code == 0
    assert "489.93% → hq_budget_variance_rate (display)" in out
    assert "financial.xlsx 预算决算表 row 3" in out
    assert "决算数（万元）='958.52'" in out and "年初预算数（万元）='131.99'" in out
    assert "19585200.00 / 3319900.00 -1 = 489.93%  ✓ matches" in out
    assert "4 of 4 rows match the landing files ✓" in out


def test_trace_of_a_unit_figure_and_of_the_quota(built, capsys):
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "50.19%")
    assert code == 0 and "asset_utilization_rate[JDZ002] (unit display)" in out
    assert "501900.00 / 1000000.00 = 50.19%  ✓" in out
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "staffing_control_rate")
    assert code == 0 and "staffing_quota.行政编制" in out and "60.00 / 65.00 = 92.31%  ✓" in out


def test_trace_lists_the_first_rows_of_long_evidence_unless_all(built, capsys):
    n = 2 * HOTLINE_ROWS - HOTLINE_ROWS // 10  # 已办结 tickets are numerator and denominator rows
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "case_closure_rate")
    assert code == 0 and f"source rows (20 of {n})" in out and f"… {n - 20:,} more rows" in out
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "case_closure_rate", "--limit", "3")
    assert f"source rows (3 of {n})" in out
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "case_closure_rate", "--all")
    assert sum(" row " in line and "hotline.csv" in line for line in out.splitlines()) == n
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "case_closure_rate", "--format", "json")
    data = json.loads(out)
    trace = data["traces"][0]
    assert data["ok"] and (trace["rows_total"], trace["rows_shown"]) == (n, 20)
    assert (
        trace["recomputation"]["matches"] and trace["rows"][0]["file"] == f"{YEAR}/{DEPARTMENT}/hotline.csv"
    )


def test_trace_total_lists_every_scored_indicator(built, capsys):
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR))
    assert code == 0
    assert f"total {built.result['total_score']:.2f} of 100 points → {built.result['grade']}" in out
    for rec in built.result["indicators"]:
        if not rec["statistic"]:
            assert f"{rec['id']:<34} {rec['score']:>6.2f} / {rec['points']:<4g}" in out


def test_trace_of_an_unknown_number_says_so(built, capsys):
    assert cli.main(["trace", DEPARTMENT, str(YEAR), "123.45%"]) == 2
    assert "no indicator" in capsys.readouterr().err


# --- drift -------------------------------------------------------------------------------------


def _set_cell(path: Path, sheet: str, cell: str, value) -> None:
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


def test_verify_is_clean_right_after_the_run(built, capsys):
    code, out = _run(capsys, "verify", str(built.report))
    assert code == 0, out
    assert "clean: checked 5 landing file(s)" in out
    manifest = json.loads((built.report / "manifest.json").read_text(encoding="utf-8"))
    assert {o["path"] for o in manifest["outputs"]} >= {
        "result.json",
        "feedback_form.docx",
        "feedback_form.xlsx",
    }
    # The manifest's row hashes are the store's _row_hash: one vocabulary from landing to report.
    raw = built.store.read("raw", "financial.budget_lines", DEPARTMENT, YEAR)
    financial = next(f for f in manifest["landing"] if f["path"].endswith("financial.xlsx"))
    sheet = next(s for s in financial["sheets"] if s["sheet"] == "预算决算表")
    assert sheet["row_hashes"].split() == raw["_row_hash"].tolist()


def test_editing_one_landing_amount_names_file_row_and_cell(edited, capsys):
    landing = edited / "landing" / str(YEAR) / DEPARTMENT / "financial.xlsx"
    _set_cell(landing, "预算决算表", "M3", 958.53)  # 决算数（万元） of line L002, 局本级
    code, out = _run(capsys, "verify", str(edited / "reports" / str(YEAR) / DEPARTMENT))
    assert code == 1
    assert (
        f"DRIFT landing {YEAR}/{DEPARTMENT}/financial.xlsx: sheet 预算决算表 row 3 changed "
        f"(决算数（万元）: '958.52' → '958.53')"
    ) in out
    assert out.count("DRIFT") == 1
    code, out = _run(capsys, "trace", DEPARTMENT, str(YEAR), "hq_budget_variance_rate")
    assert code == 1
    assert "financial.xlsx 预算决算表 row 3: recorded" in out and "决算数（万元）: '958.52' → '958.53'" in out


def test_editing_a_csv_row_and_adding_one_is_named(edited, capsys):
    path = edited / "landing" / str(YEAR) / DEPARTMENT / "hotline.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    frame.loc[9, "办理状态"] = "已办结"  # spreadsheet row 11 (header is row 1)
    frame = pd.concat([frame, frame.iloc[[0]].assign(工单编号="T999999")], ignore_index=True)
    frame.to_csv(path, index=False, encoding="gb18030")
    code, out = _run(capsys, "verify", str(edited / "reports" / str(YEAR) / DEPARTMENT))
    assert code == 1
    assert "hotline.csv: row 11 changed (办理状态: '办理中' → '已办结')" in out
    assert f"hotline.csv: 1 row(s) added: {HOTLINE_ROWS + 2}" in out


def test_replaced_or_missing_rendered_files_and_changed_config_are_named(edited, capsys):
    folder = edited / "reports" / str(YEAR) / DEPARTMENT
    (folder / "feedback_form.docx").write_bytes(b"not the form")
    (folder / "feedback_form.xlsx").unlink()
    grades = edited / "config" / "grades.yaml"
    grades.write_text(grades.read_text(encoding="utf-8").replace("min: 80", "min: 75"), encoding="utf-8")
    code, out = _run(capsys, "verify", str(folder))
    assert code == 1
    assert "DRIFT output feedback_form.docx: altered" in out
    assert "DRIFT output feedback_form.xlsx: missing" in out
    assert "DRIFT config grades.yaml: altered" in out
    assert "landing" not in "".join(line for line in out.splitlines() if line.startswith("DRIFT"))


def test_verify_without_manifest_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["verify", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


# --- SQL ---------------------------------------------------------------------------------------


def test_sql_views_count_what_the_stages_stored(built, capsys):
    names = {v.name for v in sql.views(built.store)}
    assert {
        "raw_financial_budget_lines",
        "clean_financial_budget_lines",
        "quarantine_financial_budget_lines",
        "quality_financial",
        "indicators_values",
        "evidence_indicators",
        "scores_indicators",
        "scores_levels",
        "findings_items",
        "clean_hotline_tickets",
    } <= names
    count = lambda q: sql.query(built.store, q).fetchall()[0][0]  # noqa: E731
    assert count("SELECT count(*) FROM raw_financial_budget_lines") == 7
    assert count("SELECT count(*) FROM clean_financial_budget_lines") == 6
    assert count("SELECT count(*) FROM quarantine_financial_budget_lines WHERE line_id = 'L007'") == 1
    assert (
        count(
            f"SELECT count(*) FROM clean_hotline_tickets WHERE department = '{DEPARTMENT}' AND year = {YEAR}"
        )
        == HOTLINE_ROWS
    )
    assert count("SELECT count(*) FROM indicators_values") == len(built.result["indicators"])
    assert (
        count("SELECT count(*) FROM evidence_indicators WHERE indicator_id = 'hq_budget_variance_rate'") == 4
    )
    assert count("SELECT count(*) FROM findings_items WHERE kind = 'problem'") == sum(
        len(g["items"]) for g in built.result["problems"]
    )
    code, out = _run(capsys, "sql", "--views")
    assert code == 0 and "evidence_indicators" in out and "预算决算表: typed rows" in out
    code, out = _run(
        capsys,
        "sql",
        "--format",
        "csv",
        "SELECT e._source_row, r.final_amount FROM evidence_indicators e JOIN raw_financial_budget_lines r "
        "USING (_source_file, _source_sheet, _source_row) WHERE e.indicator_id = 'hq_final_accounts' "
        "ORDER BY 1",
    )
    assert out.splitlines() == ["_source_row,final_amount", '2,"1,000.00"', "3,958.52"]


def test_sql_refuses_writes_and_files_outside_the_store(built, capsys, tmp_path):
    target = tmp_path / "out.csv"
    assert cli.main(["sql", f"COPY (SELECT 1) TO '{target}'"]) == 2
    assert "read-only" in capsys.readouterr().err and not target.exists()
    assert cli.main(["sql", "SELECT * FROM read_csv('/etc/hostname')"]) == 2
    assert cli.main(["sql", "SELECT 1; SELECT 2"]) == 2


def test_sql_reads_consistently_while_partitions_are_rewritten(tmp_path):
    """Store.write replaces each partition file atomically: a query sees the old or the new file."""
    store = Store(tmp_path)
    small, large = pd.DataFrame({"x": range(1000)}), pd.DataFrame({"x": range(3000)})
    for d in ("a", "b", "c"):
        store.write("clean", "t.rows", d, 2023, small)
    con = sql.connect(store)
    stop, errors = threading.Event(), []

    def rewrite():
        i = 0
        while not stop.is_set():
            try:
                store.write("clean", "t.rows", "b", 2023, large if i % 2 else small)
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)
            i += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        seen = {
            sql.query(store, "SELECT count(*) FROM clean_t_rows", con).fetchall()[0][0] for _ in range(300)
        }
    finally:
        stop.set()
        writer.join()
    assert not errors
    assert seen <= {3000, 5000} and seen


# --- Dagster metadata ----------------------------------------------------------------------------


def test_metadata_helpers_give_schema_row_count_column_lineage_and_trace(built):
    import dagster as dg

    from perfeval_pipeline.lineage import metadata

    framework = load_framework("zwsj")
    values = built.store.read("indicators", "values", DEPARTMENT, YEAR)
    evidence = built.store.read("evidence", "indicators", DEPARTMENT, YEAR)
    meta = metadata.indicator_values_metadata(values, evidence, framework, DEPARTMENT, YEAR)
    assert meta["dagster/row_count"] == len(values)
    assert "numerator" in {c.name for c in meta["dagster/column_schema"].columns}
    lineage = meta["dagster/column_lineage"].deps_by_column
    final = dg.TableColumnDep(
        asset_key=dg.AssetKey("financial_feed"), column_name="budget_lines.final_amount"
    )
    assert final in lineage["numerator"] and final not in lineage["denominator"]
    assert (
        dg.TableColumnDep(asset_key=dg.AssetKey("financial_feed"), column_name="budget_lines.initial_budget")
        in lineage["denominator"]
    )
    assert meta["trace"].value.startswith(f"perfeval trace {DEPARTMENT} {YEAR}")
    scores = metadata.scorecard_metadata(
        built.store.read("scores", "indicators", DEPARTMENT, YEAR), DEPARTMENT, YEAR
    )
    assert (
        scores["dagster/row_count"] == len(framework.indicators)
        and "score" in scores["dagster/column_lineage"].deps_by_column
    )
    clean = {
        t: built.store.read("clean", f"financial.{t}", DEPARTMENT, YEAR)
        for t in load_contracts()["financial"].tables
    }
    feed = metadata.feed_metadata("financial", clean, DEPARTMENT, YEAR)
    assert feed["dagster/row_count"] == sum(len(f) for f in clean.values())
    items = built.store.read("findings", "items", DEPARTMENT, YEAR)
    found = metadata.findings_metadata(items, DEPARTMENT, YEAR, str(built.report))
    assert found["verify"].value == f"perfeval verify {built.report}"
