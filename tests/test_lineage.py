"""Tracing, drift and SQL over the hand-made department (fixtures/handmade/, not the demo
generator): every figure of its result traces to landing rows and recomputes; editing a landing
cell, adding a row, replacing a form or changing config is named by `perfeval verify`; the SQL
views count what the stages stored and refuse writes."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import evaluate, make_settings, perfeval_over, result_of

from perfeval_pipeline.catalog import QUALITY
from perfeval_pipeline.formatting import display
from perfeval_pipeline.lineage import sql
from perfeval_pipeline.lineage.trace import PartitionLineage
from perfeval_pipeline.store import Store

pytestmark = pytest.mark.gx
FIXTURE = Path(__file__).parent / "fixtures" / "handmade"
DEPARTMENT, YEAR = "hm-whlyj", 2023
BUDGET = f"{YEAR}/{DEPARTMENT}/financial.budget_lines.csv"


def build(root: Path):
    shutil.copytree(FIXTURE / "landing", root / "landing")
    settings = make_settings(
        root, departments=yaml.safe_load((FIXTURE / "department.yaml").read_text(encoding="utf-8"))
    )
    evaluate(settings, [(DEPARTMENT, YEAR)])
    return settings


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = build(tmp_path_factory.mktemp("lineage"))
    return settings, result_of(settings, DEPARTMENT, YEAR)


@pytest.fixture
def edited(tmp_path):
    """A partition of its own, to change its landing files, forms or config."""
    return build(tmp_path)


def figures(result: dict):
    """Every number result.json carries: each indicator's value and per-unit value, as printed."""
    for ind in result["indicators"]:
        if ind["value"] is not None:
            yield ind["id"], None, ind["display"]
        for unit in ind["by_unit"]:
            if unit["value"] is not None:
                yield ind["id"], str(unit["key"]), display(unit["value"], ind["display_kind"])


def test_every_figure_traces_to_landing_rows_and_recomputes(built):
    settings, result = built
    lineage = PartitionLineage(settings, DEPARTMENT, YEAR)
    records = {i["id"]: i for i in result["indicators"]}
    checked = 0
    for iid, unit, printed in figures(result):
        kind = "unit figure" if unit else "figure"
        assert any(
            m.kind == kind and m.indicator_id == iid and m.unit_key == unit for m in lineage.resolve(printed)
        ), printed
        t = lineage.trace(iid, unit)
        assert t.recomputation.matches, (iid, unit, t.recomputation)
        assert not t.hash_mismatches
        if unit is None:
            assert len(t.rows) == records[iid]["evidence_rows"]
        landing = [
            r
            for r in t.rows
            if not r.file.startswith("assets_config/") and r.table != "config.staffing_quota"
        ]
        assert all((settings.landing_dir / r.file).is_file() and r.row >= 2 for r in landing), iid
        checked += 1
    assert checked >= len([i for i in result["indicators"] if i["value"] is not None])


def test_trace_reports_score_rule_and_target_as_stored(built):
    settings, result = built
    lineage = PartitionLineage(settings, DEPARTMENT, YEAR)
    for rec in result["indicators"]:
        if rec["statistic"]:
            continue
        s = lineage.trace(rec["id"]).score
        assert (s["score"], s["points"], s["rule_kind"], s["rule"], s["target"]) == (
            rec["score"],
            rec["points"],
            rec["rule"],
            rec["rule_text"],
            rec["target"],
        )
        assert "；".join(s["reasons"]) == rec["deduction_reason"]


def test_trace_of_a_printed_percentage_shows_raw_cells_under_their_landing_headers(
    built, capsys, monkeypatch
):
    settings, result = built
    variance = next(i for i in result["indicators"] if i["id"] == "hq_budget_variance_rate")
    code, out = perfeval_over(
        capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR), variance["display"]
    )
    assert code == 0, out
    assert "hq_budget_variance_rate" in out
    # EXPECTED.md: 局本级 lines L01–L05, 决算数 2,400,000 over 年初预算 2,000,000.
    assert f"{BUDGET} row 2" in out and "决算数='1,200,000.00'" in out and "年初预算='1,200,000.00'" in out
    assert "2,400,000.00 / 2,000,000.00 -1 = 20%  ✓ matches" in out
    assert "10 of 10 rows match the landing files ✓" in out


def test_trace_of_the_quota_and_of_the_total(built, capsys, monkeypatch):
    settings, result = built
    code, out = perfeval_over(
        capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR), "staffing_control_rate"
    )
    assert code == 0 and "staffing_quota" in out and "51.00 / 50.00 = 102%  ✓" in out
    code, out = perfeval_over(capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR))
    assert code == 0 and f"total {result['total_score']:.2f} of 100 points → {result['grade']}" in out
    for rec in result["indicators"]:
        if not rec["statistic"]:
            assert f"{rec['id']:<34} {rec['score']:>6.2f} / {rec['points']:<4g}" in out


def test_trace_json_limits_rows_unless_all(built, capsys, monkeypatch):
    settings, _ = built
    code, out = perfeval_over(
        capsys,
        monkeypatch,
        settings,
        "trace",
        DEPARTMENT,
        str(YEAR),
        "hq_budget_variance_rate",
        "--limit",
        "3",
        "--format",
        "json",
    )
    data = json.loads(out)
    assert (
        code == 0
        and data["ok"]
        and (data["traces"][0]["rows_total"], data["traces"][0]["rows_shown"]) == (10, 3)
    )
    code, out = perfeval_over(
        capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR), "hq_budget_variance_rate", "--all"
    )
    assert sum(BUDGET in line for line in out.splitlines()) == 10


def test_trace_of_an_unknown_number_or_partition_is_a_usage_error(built, capsys, monkeypatch):
    settings, _ = built
    code, out = perfeval_over(capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR), "123.45%")
    assert code == 2 and "nothing of" in out and "Traceback" not in out
    code, out = perfeval_over(capsys, monkeypatch, settings, "trace", "hm-whlyjj", str(YEAR))
    assert code == 2 and "hm-whlyj" in out


def test_verify_is_clean_right_after_the_run(built, capsys, monkeypatch):
    settings, _ = built
    folder = settings.report_folder(DEPARTMENT, YEAR)
    code, out = perfeval_over(capsys, monkeypatch, settings, "verify", str(folder))
    assert code == 0, out
    assert "clean: checked 19 landing file(s)" in out
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {o["path"] for o in manifest["outputs"]} >= {
        "result.json",
        "feedback_form.docx",
        "feedback_form.xlsx",
    }


def test_an_edited_cell_and_an_inserted_row_are_named_with_what_they_affect(edited, capsys, monkeypatch):
    settings = edited
    path = settings.landing_dir / BUDGET
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"190,000.00"' in lines[2]
    lines[2] = lines[2].replace('"190,000.00"', '"190,500.00"')
    lines.insert(5, f'{DEPARTMENT},{YEAR},L99,WL001,局本级,基本支出,公用经费,新增,"1.00",,,,"1.00",,\n')
    path.write_text("".join(lines), encoding="utf-8")
    code, out = perfeval_over(
        capsys, monkeypatch, settings, "verify", str(settings.report_folder(DEPARTMENT, YEAR))
    )
    assert code == 1
    drift = [line for line in out.splitlines() if line.startswith("DRIFT")]
    assert len(drift) == 2, drift
    assert (
        f"DRIFT landing {BUDGET}: row 3 changed (决算数: '190,000.00' → '190,500.00') → affects" in drift[0]
    )
    assert "hq_budget_variance_rate" in drift[0]
    assert "1 row(s) inserted at rows 6" in drift[1]
    code, out = perfeval_over(
        capsys, monkeypatch, settings, "trace", DEPARTMENT, str(YEAR), "hq_budget_variance_rate"
    )
    assert code == 1 and "row 3: recorded" in out and "决算数: '190,000.00' → '190,500.00'" in out


def test_replaced_or_missing_forms_and_changed_config_are_named(edited, capsys, monkeypatch):
    settings = edited
    folder = settings.report_folder(DEPARTMENT, YEAR)
    (folder / "feedback_form.docx").write_bytes(b"not the form")
    (folder / "feedback_form.xlsx").unlink()
    grades = settings.config_dir / "grades.yaml"
    grades.write_text(grades.read_text(encoding="utf-8").replace("min: 80", "min: 75"), encoding="utf-8")
    code, out = perfeval_over(capsys, monkeypatch, settings, "verify", str(folder))
    assert code == 1
    assert "DRIFT output feedback_form.docx: altered" in out
    assert "DRIFT output feedback_form.xlsx: missing" in out
    assert "DRIFT config grades.yaml: altered" in out
    assert not any(line.startswith("DRIFT landing") for line in out.splitlines())


def test_verify_without_manifest_is_a_usage_error(tmp_path, capsys, monkeypatch, built):
    code, out = perfeval_over(capsys, monkeypatch, built[0], "verify", str(tmp_path))
    assert code == 2 and "manifest" in out


def test_sql_views_count_what_the_stages_stored(built, capsys, monkeypatch):
    settings, result = built
    store = Store(settings.store_dir)
    count = lambda q: sql.query(settings, store, q).fetchall()[0][0]  # noqa: E731
    for feed in result["quality"]["feeds"].values():
        for table in feed["tables"].values():
            name = table["table"].replace(".", "_")
            if not table["present"]:
                continue
            assert (
                count(f"SELECT count(*) FROM rows_{name}") == table["rows_read"] - table["rows_reported"]
            ), name
            assert count(f"SELECT count(*) FROM clean_{name}") == table["rows_kept"], name
            assert count(f"SELECT count(*) FROM quarantine_{name}") == table["rows_quarantined"], name
    assert count("SELECT count(*) FROM indicator_values") == len(result["indicators"])
    for ind in result["indicators"]:
        assert (
            count(f"SELECT count(*) FROM evidence WHERE indicator_id = '{ind['id']}'") == ind["evidence_rows"]
        )
    assert count("SELECT count(*) FROM findings WHERE kind = 'problem'") == sum(
        len(g["items"]) for g in result["problems"]
    )
    code, out = perfeval_over(
        capsys,
        monkeypatch,
        settings,
        "sql",
        "--format",
        "csv",
        "SELECT r._source_row, r._raw_final_amount FROM evidence e JOIN rows_financial_budget_lines r USING (department, year, _row) "
        "WHERE e.indicator_id = 'hq_final_accounts' AND e.source_table = 'financial.budget_lines' ORDER BY 1",
    )
    assert code == 0, out
    assert out.splitlines()[:3] == ["_source_row,_raw_final_amount", '2,"1,200,000.00"', '3,"190,000.00"']


def test_sql_refuses_writes_and_files_outside_the_store(built, capsys, monkeypatch, tmp_path):
    settings, _ = built
    target = tmp_path / "out.csv"
    code, out = perfeval_over(capsys, monkeypatch, settings, "sql", f"COPY (SELECT 1) TO '{target}'")
    assert code == 2 and "read-only" in out and not target.exists()
    assert (
        perfeval_over(capsys, monkeypatch, settings, "sql", "SELECT * FROM read_csv('/etc/hostname')")[0] == 2
    )
    assert perfeval_over(capsys, monkeypatch, settings, "sql", "SELECT 1; SELECT 2")[0] == 2


def test_sql_reads_consistently_while_partitions_are_rewritten(built, tmp_path):
    """Store.write replaces each partition file atomically: a query sees the old or the new file."""
    settings, _ = built
    store = Store(tmp_path)
    dataset = QUALITY
    small, large = pd.DataFrame({"x": range(1000)}), pd.DataFrame({"x": range(3000)})
    for d in ("a", "b", "c"):
        store.write(dataset, d, 2023, small)
    con = sql.connect(settings, store)
    stop, errors = threading.Event(), []

    def rewrite():
        i = 0
        while not stop.is_set():
            try:
                store.write(dataset, "b", 2023, large if i % 2 else small)
            except Exception as exc:  # surfaced by the assertion below
                errors.append(exc)
            i += 1

    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        seen = {
            sql.query(settings, store, f"SELECT count(*) FROM {QUALITY.view}", con).fetchall()[0][0]
            for _ in range(200)
        }
    finally:
        stop.set()
        writer.join()
    assert not errors
    assert seen <= {3000, 5000} and seen
