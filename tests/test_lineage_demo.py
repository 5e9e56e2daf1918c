"""Lineage over the demo seed partition jdz-zwsjj 2023 (258,500 hotline tickets), built once for the
session through every stage: every figure of its result.json traces to landing rows and recomputes,
489.93% walks back to the final-accounts rows, and a one-row edit of the big CSV is named by verify."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from perfeval_pipeline import cli
from perfeval_pipeline import config as perfeval_config
from perfeval_pipeline.findings.stage import report_dir
from perfeval_pipeline.formatting import display
from perfeval_pipeline.indicators.framework import load_framework
from perfeval_pipeline.lineage.manifest import write_manifest
from perfeval_pipeline.lineage.trace import PartitionLineage
from perfeval_pipeline.render.stage import render_partition
from perfeval_pipeline.store import Store

DEPARTMENT, YEAR = "jdz-zwsjj", 2023
pytestmark = [pytest.mark.slow, pytest.mark.gx]


@pytest.fixture(scope="module")
def demo(seed_evaluation):
    """The session's evaluated seed partition (conftest.seed_evaluation), rendered and manifested."""
    cfg = perfeval_config.settings()
    render_partition(DEPARTMENT, YEAR, Store(cfg.store_dir), cfg)
    write_manifest(DEPARTMENT, YEAR, cfg)
    return cfg.landing_dir.parent, cfg, seed_evaluation


def test_every_demo_figure_traces_and_recomputes(demo, record_property):
    _, _, result = demo
    kinds = {s.id: s.display for s in load_framework("zwsj").all}
    lineage = PartitionLineage(DEPARTMENT, YEAR)
    seconds = {}
    for ind in result["indicators"]:
        started = time.perf_counter()
        figures = [(None, ind["display"])] if ind["value"] is not None else []
        figures += [
            (str(u["key"]), display(u["value"], kinds[ind["id"]]))
            for u in ind["by_unit"]
            if u["value"] is not None
        ]
        for unit, printed in figures:
            assert any(m.indicator_id == ind["id"] and m.unit_key == unit for m in lineage.resolve(printed))
            t = lineage.trace(ind["id"], unit)
            assert t.recomputation.matches, (ind["id"], unit, t.recomputation)
            assert not t.hash_mismatches, ind["id"]
        seconds[ind["id"]] = round(time.perf_counter() - started, 2)
    record_property("trace_seconds", json.dumps(seconds))
    assert len(lineage.trace("hotline_tickets").rows) == 258_500


def test_the_seed_variance_rate_walks_back_to_the_final_accounts(demo, capsys):
    lineage = PartitionLineage(DEPARTMENT, YEAR)
    assert [m.indicator_id for m in lineage.resolve("489.93%")] == ["hq_budget_variance_rate"]
    t = lineage.trace("hq_budget_variance_rate")
    assert {(r.file, r.sheet) for r in t.rows} == {(f"{YEAR}/{DEPARTMENT}/financial.xlsx", "预算决算表")}
    assert t.recomputation.display == "489.93%" and t.recomputation.matches
    for figure, iid in (
        ("1958.52", "hq_final_accounts"),
        ("331.99", "hq_initial_budget"),
        ("25.85万", "hotline_tickets"),
        ("2.64%", "procurement_overrun_rate"),
        ("8.38%", "procurement_overrun_rate"),
        ("50.19%", "asset_utilization_rate"),
    ):
        assert iid in [m.indicator_id for m in lineage.resolve(figure)]
    assert cli.main(["trace", DEPARTMENT, str(YEAR), "489.93%"]) == 0
    assert "✓ matches the stored value" in capsys.readouterr().out


def test_one_changed_hotline_row_is_named(demo, tmp_path, capsys):
    root, cfg, _ = demo
    folder = report_dir(cfg, DEPARTMENT, YEAR)
    assert cli.main(["verify", str(folder)]) == 0
    landing = tmp_path / "landing"
    shutil.copytree(cfg.landing_dir, landing)
    path = landing / str(YEAR) / DEPARTMENT / "hotline.csv"
    data = path.read_bytes()
    lines = data.split(b"\n")
    row = 100_001  # spreadsheet numbering: the header is row 1
    encoding = "utf-8" if data.startswith(b"\xef\xbb\xbf") else "gb18030"
    old = lines[row - 1].decode(encoding)
    lines[row - 1] = old.replace("JDZ", "JDX", 1).encode(encoding)  # the ticket id, first cell
    path.write_bytes(b"\n".join(lines))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERFEVAL_LANDING", str(landing))
        perfeval_config.reset_settings_cache()
        code = cli.main(["verify", str(folder)])
    perfeval_config.reset_settings_cache()
    out = capsys.readouterr().out
    assert code == 1
    assert f"DRIFT landing {YEAR}/{DEPARTMENT}/hotline.csv: row {row} changed (工单编号: 'JDZ" in out
