"""Shared fixtures: isolated landing/store folders and a small xlsx writer."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from perfeval_pipeline import config as perfeval_config


def pytest_configure(config):
    config.addinivalue_line("markers", "gx: imports Great Expectations (5-12 s, once per process)")


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
