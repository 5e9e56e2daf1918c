"""Shared fixtures: isolated landing/store folders and a small xlsx writer."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest

from perfeval_pipeline import config as perfeval_config

PATH_VARIABLES = ("PERFEVAL_LANDING", "PERFEVAL_STORE", "PERFEVAL_REPORTS")
SEED = ("jdz-zwsjj", 2023)
# The seed's peer group (四小地市): its mean is the target of 户均发布率, so the golden partition
# needs its peers evaluated first.
SEED_PEERS = ("jdz-zwsjj", "pxs-zwsjj", "xys-zwsjj", "yts-zwsjj")


def pytest_configure(config):
    config.addinivalue_line("markers", "gx: imports Great Expectations (5-12 s, once per process)")


@pytest.fixture(scope="session", autouse=True)
def isolated_paths(tmp_path_factory):
    """No test reads or writes the repo's data/ or reports/: the session gets its own folders."""
    root = tmp_path_factory.mktemp("perfeval")
    saved = {v: os.environ.get(v) for v in PATH_VARIABLES}
    for var in PATH_VARIABLES:
        os.environ[var] = str(root / var.removeprefix("PERFEVAL_").lower())
    perfeval_config.reset_settings_cache()
    yield root
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    perfeval_config.reset_settings_cache()


def evaluate(pairs, cfg=None):
    """Run the stages in the asset graph's order for several partitions (every partition's
    indicators before any scoring, as one Dagster run over them does). Returns results by pair."""
    from perfeval_pipeline.findings.stage import run_findings, write_blocked
    from perfeval_pipeline.indicators.stage import run_indicators
    from perfeval_pipeline.quality.stage import ingest_feed, partition_quality_passed
    from perfeval_pipeline.scoring.stage import run_scoring
    from perfeval_pipeline.store import Store

    cfg = cfg or perfeval_config.settings()
    store = Store(cfg.store_dir)
    usable, results = [], {}
    for department, year in pairs:
        for feed in cfg.required_feeds:
            ingest_feed(feed, department, year, cfg, store)
        ok, reasons = partition_quality_passed(department, year, store)
        if ok:
            usable.append((department, year))
        else:
            results[(department, year)] = write_blocked(department, year, reasons, cfg)
    for department, year in usable:
        run_indicators(department, year, store, cfg)
    for department, year in usable:
        run_scoring(department, year, store, cfg)
    for department, year in usable:
        results[(department, year)] = run_findings(department, year, store, {"passed": True}, cfg)
    return results


@pytest.fixture(scope="session")
def seed_evaluation(isolated_paths):
    """The demo's 2023 peer group generated and evaluated once per session; the seed's result."""
    from perfeval_pipeline.demo import generate_demo

    cfg = perfeval_config.settings()
    generate_demo(cfg.landing_dir, departments=list(SEED_PEERS), years=[SEED[1]])
    results = evaluate([(d, SEED[1]) for d in SEED_PEERS], cfg)
    return results[SEED]


@pytest.fixture
def tmp_settings(tmp_path, monkeypatch):
    """Settings whose landing, store and reports folders live under tmp_path."""
    for var in ("PERFEVAL_LANDING", "PERFEVAL_STORE", "PERFEVAL_REPORTS"):
        monkeypatch.setenv(var, str(tmp_path / var.removeprefix("PERFEVAL_").lower()))
    perfeval_config.reset_settings_cache()
    yield perfeval_config.settings()
    perfeval_config.reset_settings_cache()


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A workbook with one sheet per entry; each entry's first list is the header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


@pytest.fixture
def xlsx():
    return write_xlsx
