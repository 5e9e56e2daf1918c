"""Write demo landing data: landing_dir/{year}/{department}/{feed}.xlsx (hotline: hotline.csv)."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from perfeval_pipeline.config import Department, Paths, Settings, load_settings
from perfeval_pipeline.demo import assets, evaluation, financial, hotline, transactions, transport
from perfeval_pipeline.demo.common import partition_rng
from perfeval_pipeline.demo.defects import plant_defects
from perfeval_pipeline.demo.derive import derive_params
from perfeval_pipeline.demo.export import format_table, header
from perfeval_pipeline.demo.params import PartitionParams
from perfeval_pipeline.demo.seed import SEED_PARTITION, seed_params
from perfeval_pipeline.demo.writers import write_csv, write_workbook

Builder = Callable[[PartitionParams, Department, np.random.Generator], dict[str, pd.DataFrame]]
BUILDERS: dict[str, Builder] = {
    "financial": financial.build,
    "asset_register": assets.build,
    "hotline": hotline.build,
    "transactions": transactions.build,
    "evaluation": evaluation.build,
}
# Builders that differ for 交通运输 departments (framework jtys); the other feeds share the builders above.
TRANSPORT_BUILDERS: dict[str, Builder] = {"transactions": transport.build_transactions}
CSV_FEEDS = {"hotline"}  # 25万 rows: a CSV, as 12345 systems export it
# Tables longer than this land as {feed}.{table}.csv beside the workbook: openpyxl writes ~30k cells/s.
BIG_TABLE_ROWS = 5000


def partition_params(dept: Department, year: int) -> PartitionParams:
    if dept.framework == transport.FRAMEWORK:
        return transport.derive_params(dept, year)
    return seed_params(dept) if (dept.code, year) == SEED_PARTITION else derive_params(dept, year)


def builder(dept: Department, feed: str) -> Builder:
    if dept.framework == transport.FRAMEWORK:
        return TRANSPORT_BUILDERS.get(feed, BUILDERS[feed])
    return BUILDERS[feed]


def export_cells(
    settings: Settings, dept: Department, year: int, feed: str, params: PartitionParams
) -> dict[str, pd.DataFrame]:
    """A feed's export cells per table (canonical column names), planted defects included."""
    contract = settings.contracts[feed]
    tables = builder(dept, feed)(params, dept, partition_rng(dept.code, year, feed))
    cells = {name: format_table(frame, contract.tables[name], params.style) for name, frame in tables.items()}
    return plant_defects(dept.code, year, feed, cells)


def write_feed(
    settings: Settings, folder: Path, dept: Department, year: int, feed: str, params: PartitionParams
) -> list[Path]:
    """One feed's files: a workbook with a sheet per table, big tables as {feed}.{table}.csv beside it."""
    contract = settings.contracts[feed]
    cells = export_cells(settings, dept, year, feed, params)
    written, sheets = [], []
    for name, table in contract.tables.items():
        headers = [header(table.columns[c], table, params.style) for c in cells[name].columns]
        if feed in CSV_FEEDS or len(cells[name]) > BIG_TABLE_ROWS:
            path = folder / (f"{feed}.csv" if feed in CSV_FEEDS else f"{feed}.{name}.csv")
            write_csv(path, headers, cells[name], params.style.csv_encoding)
            written.append(path)
        else:
            sheets.append((table.title, headers, cells[name]))
    if sheets:
        path = folder / f"{feed}.xlsx"
        write_workbook(path, sheets, datetime(year + 1, 1, 15, 9, 0, 0))  # when the year's data was exported
        written.append(path)
    return written


def write_partition(settings: Settings, folder: Path, dept: Department, year: int) -> list[Path]:
    params = partition_params(dept, year)
    return [path for feed in BUILDERS for path in write_feed(settings, folder, dept, year, feed, params)]


def _complete(folder: Path) -> bool:
    """Every feed's main file exists; side-table CSVs are written before their workbook."""
    return all(
        (folder / (f"{feed}.csv" if feed in CSV_FEEDS else f"{feed}.xlsx")).is_file() for feed in BUILDERS
    )


def _write_timed(paths: Paths, landing_dir: Path, code: str, year: int) -> tuple[list[Path], float]:
    started = time.perf_counter()
    settings = load_settings(paths)
    files = write_partition(settings, Path(landing_dir) / str(year) / code, settings.department(code), year)
    return files, time.perf_counter() - started


def generate_demo(
    settings: Settings,
    landing_dir: Path | None = None,
    departments: list[str] | None = None,
    years: list[int] | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
    *,
    workers: int | None = None,
) -> list[Path]:
    """Write the demo feeds of every department × year (default: all of departments.yaml × pipeline years).

    A partition whose five feeds all exist is skipped unless `overwrite`. Output is deterministic: the
    same partition always gets the same bytes, whatever the number of worker processes (default: one
    per CPU). Returns the files written, partition by partition in year, department order."""
    landing_dir = Path(landing_dir or settings.landing_dir)
    codes = [settings.department(code).code for code in (departments or list(settings.departments))]
    report = progress or (lambda _msg: None)
    todo = []
    for year in years or list(settings.years):
        for code in codes:
            if year not in settings.department_years(code):
                continue
            if not overwrite and _complete(Path(landing_dir) / str(year) / code):
                report(f"{code} {year}: exists, skipped")
            else:
                todo.append((code, year))
    workers = min(workers or os.cpu_count() or 1, len(todo))
    done: dict[tuple[str, int], list[Path]] = {}
    if workers <= 1:
        for code, year in todo:
            done[code, year], seconds = _write_timed(settings.paths, landing_dir, code, year)
            report(f"{code} {year}: wrote {len(done[code, year])} files in {seconds:.1f}s")
    else:
        # spawn, not fork: the caller may be a threaded process (Dagster); workers re-read the config.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {
                pool.submit(_write_timed, settings.paths, landing_dir, code, year): (code, year)
                for code, year in todo
            }
            for future in as_completed(futures):
                code, year = futures[future]
                done[code, year], seconds = future.result()
                report(f"{code} {year}: wrote {len(done[code, year])} files in {seconds:.1f}s")
    return [path for key in todo for path in done[key]]
