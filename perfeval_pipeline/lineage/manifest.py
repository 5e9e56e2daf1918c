"""Provenance manifest of a report folder, and drift verification against it.

reports/{year}/{department}/manifest.json records the sha256 of every landing file the partition
read, of every config file (assets_config/**), of every rendered file in the folder, the package
version and git commit, and per landing sheet the per-row content hashes (the readers' `_row_hash`)
with their spreadsheet row numbers, so `verify` can name the row that changed, not just the file.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from perfeval_pipeline.config import Settings, config_dir, project_root
from perfeval_pipeline.config import settings as load_settings
from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.feeds.readers import feed_files, map_headers, row_hashes
from perfeval_pipeline.findings.stage import report_dir
from perfeval_pipeline.lineage.sources import read_landing_sheets, sha256_file, table_contract_for
from perfeval_pipeline.store import Store, atomic_write_json

MANIFEST = "manifest.json"
SCHEMA_VERSION = 1
_MAX_ROWS_NAMED = 20  # per sheet; beyond that verify gives the count


def _package_version() -> str | None:
    try:
        return importlib.metadata.version("perfeval")
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index of the checkout it describes.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env=env,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit() -> str | None:
    return _git("rev-parse", "HEAD") or None


def git_dirty() -> bool | None:
    """Whether the checkout differs from its commit (changed or new files): then the commit alone does not
    name the code."""
    status = _git("status", "--porcelain")
    return None if status is None else bool(status)


def _row_ranges(rows: list[int]) -> list[list[int]]:
    """[2, 3, 4, 7] → [[2, 4], [7, 7]]: spreadsheet rows skip blank lines, so store runs, not a start."""
    ranges: list[list[int]] = []
    for r in rows:
        if ranges and ranges[-1][1] == r - 1:
            ranges[-1][1] = r
        else:
            ranges.append([r, r])
    return ranges


def _expand(ranges: list[list[int]]) -> list[int]:
    return [r for first, last in ranges for r in range(first, last + 1)]


def _sheet_record(sheet: str, frame: pd.DataFrame) -> dict:
    # Hashes as one space-separated string: a JSON list would put the hotline's 258,500 on as many lines.
    return {
        "sheet": sheet,
        "header": [str(c) for c in frame.columns],
        "rows": _row_ranges([int(i) + 2 for i in frame.index]),
        "row_hashes": " ".join(row_hashes(frame)),
    }


def landing_files(cfg: Settings, department: str, year: int) -> list[Path]:
    folder = cfg.landing_dir / str(year) / department
    return sorted(p for feed in load_contracts() for p in feed_files(folder, feed))


def _landing_record(cfg: Settings, path: Path) -> dict:
    sheets = read_landing_sheets(path)
    return {
        "path": path.relative_to(cfg.landing_dir).as_posix(),
        "sha256": sha256_file(path),
        "sheets": [_sheet_record(name, frame) for name, frame in sheets.items()],
    }


def _hash_files(folder: Path, exclude: set[str] = frozenset()) -> list[dict]:
    return [
        {"path": p.relative_to(folder).as_posix(), "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and p.relative_to(folder).as_posix() not in exclude
    ]


def build_manifest(department: str, year: int, cfg: Settings | None = None) -> dict:
    cfg = cfg or load_settings()
    out_dir = report_dir(cfg, department, year)
    return {
        "schema_version": SCHEMA_VERSION,
        "department": department,
        "year": year,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package": {"name": "perfeval", "version": _package_version()},
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "landing_dir": cfg.landing_dir.as_posix(),
        "landing": [_landing_record(cfg, p) for p in landing_files(cfg, department, year)],
        "config_dir": config_dir().as_posix(),
        "config": _hash_files(config_dir()),
        "outputs": _hash_files(out_dir, {MANIFEST}) if out_dir.is_dir() else [],
    }


def write_manifest(department: str, year: int, cfg: Settings | None = None) -> Path:
    """Write reports/{year}/{department}/manifest.json; call it after every rendered file is written."""
    cfg = cfg or load_settings()
    path = report_dir(cfg, department, year) / MANIFEST
    atomic_write_json(path, build_manifest(department, year, cfg))
    return path


# --- verification ------------------------------------------------------------------------------


@dataclass
class Drift:
    kind: str  # landing, config, output
    path: str
    message: str
    rows: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind} {self.path}: {self.message}"


@dataclass
class Verification:
    report_dir: Path
    manifest: dict
    drift: list[Drift]
    checked: dict[str, int]
    notes: list[str]

    @property
    def clean(self) -> bool:
        return not self.drift


def _changed_columns(
    store: Store,
    department: str,
    year: int,
    rel_file: str,
    sheet: str,
    row: int,
    old_hash: str,
    new_cells: pd.Series,
) -> list[str]:
    """Headers of the cells that differ between the landing row now and the raw row stored at ingest.
    Empty when the store no longer holds the row as it was (re-ingested since, or never stored)."""
    contract = table_contract_for(rel_file, sheet)
    if contract is None or not store.exists("raw", contract.qualified_name, department, year):
        return []
    raw = store.read("raw", contract.qualified_name, department, year)
    hit = raw[
        (raw["_source_file"] == rel_file) & (raw["_source_sheet"] == sheet) & (raw["_source_row"] == row)
    ]
    if hit.empty or hit["_row_hash"].iloc[0] != old_hash:
        return []
    mapping, _, _ = map_headers(list(new_cells.index), contract)
    old = hit.iloc[0]
    changed = []
    for header, canonical in mapping.items():
        if canonical not in old.index:  # department/year live in the store's path, not its columns
            continue
        before, after = str(old[canonical]), str(new_cells[header])
        if before != after:
            changed.append(f"{header}: '{before}' → '{after}'")
    return changed


def _sheet_drift(store: Store, m: dict, rel_file: str, old: dict, frame: pd.DataFrame | None) -> list[Drift]:
    where = f"sheet {old['sheet']} " if old["sheet"] else ""
    if frame is None:
        return [Drift("landing", rel_file, f"sheet {old['sheet']} is gone")]
    drift = []
    if [str(c) for c in frame.columns] != old["header"]:
        drift.append(
            Drift(
                "landing",
                rel_file,
                f"{where}header row 1 changed: {old['header']} → {[str(c) for c in frame.columns]}",
                [1],
            )
        )
    before = dict(zip(_expand(old["rows"]), old["row_hashes"].split(), strict=True))
    now_rows = [int(i) + 2 for i in frame.index]
    now = dict(zip(now_rows, row_hashes(frame), strict=True))
    changed = sorted(r for r in before.keys() & now.keys() if before[r] != now[r])
    removed = sorted(before.keys() - now.keys())
    added = sorted(now.keys() - before.keys())
    for r in changed[:_MAX_ROWS_NAMED]:
        columns = _changed_columns(
            store, m["department"], m["year"], rel_file, old["sheet"], r, before[r], frame.loc[r - 2]
        )
        detail = f" ({'; '.join(columns)})" if columns else ""
        drift.append(Drift("landing", rel_file, f"{where}row {r} changed{detail}", [r]))
    if len(changed) > _MAX_ROWS_NAMED:
        drift.append(
            Drift(
                "landing",
                rel_file,
                f"{where}{len(changed) - _MAX_ROWS_NAMED} more rows changed",
                changed[_MAX_ROWS_NAMED:],
            )
        )
    for label, rows in (("removed", removed), ("added", added)):
        if rows:
            shown = ", ".join(map(str, rows[:_MAX_ROWS_NAMED])) + (
                " …" if len(rows) > _MAX_ROWS_NAMED else ""
            )
            drift.append(Drift("landing", rel_file, f"{where}{len(rows)} row(s) {label}: {shown}", rows))
    return drift


def _landing_drift(cfg: Settings, store: Store, m: dict) -> list[Drift]:
    drift = []
    for rec in m["landing"]:
        path = cfg.landing_dir / rec["path"]
        if not path.is_file():
            drift.append(Drift("landing", rec["path"], "file is missing"))
            continue
        if sha256_file(path) == rec["sha256"]:
            continue
        sheets = read_landing_sheets(path)
        found = []
        for old in rec["sheets"]:
            found += _sheet_drift(store, m, rec["path"], old, sheets.get(old["sheet"]))
        for name in sheets.keys() - {s["sheet"] for s in rec["sheets"]}:
            found.append(Drift("landing", rec["path"], f"new sheet {name}"))
        # Same cells, different bytes (re-saved workbook): still not the file the report read.
        drift += found or [Drift("landing", rec["path"], "file bytes changed (sha256), cells unchanged")]
    known = {rec["path"] for rec in m["landing"]}
    for path in landing_files(cfg, m["department"], m["year"]):
        rel = path.relative_to(cfg.landing_dir).as_posix()
        if rel not in known:
            drift.append(Drift("landing", rel, "new landing file, not read for this report"))
    return drift


def _files_drift(kind: str, folder: Path, recorded: list[dict], now: list[dict]) -> list[Drift]:
    before = {r["path"]: r["sha256"] for r in recorded}
    after = {r["path"]: r["sha256"] for r in now}
    drift = [Drift(kind, p, "missing") for p in sorted(before.keys() - after.keys())]
    drift += [
        Drift(kind, p, "altered (sha256 differs)")
        for p in sorted(before.keys() & after.keys())
        if before[p] != after[p]
    ]
    drift += [Drift(kind, p, "new file, not in the manifest") for p in sorted(after.keys() - before.keys())]
    return drift


def verify(folder: Path, cfg: Settings | None = None) -> Verification:
    """Compare a report folder with its manifest: landing rows, config files, rendered files."""
    cfg = cfg or load_settings()
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"no {MANIFEST} in {folder}: the report was not finished, or predates manifests"
        )
    m = json.loads(path.read_text(encoding="utf-8"))
    store = Store(cfg.store_dir)
    drift = _landing_drift(cfg, store, m)
    drift += _files_drift("config", config_dir(), m["config"], _hash_files(config_dir()))
    drift += _files_drift("output", Path(folder), m["outputs"], _hash_files(Path(folder), {MANIFEST}))
    notes = []
    commit = git_commit()
    if m.get("git_commit") and commit and commit != m["git_commit"]:
        notes.append(f"code: report made at commit {m['git_commit'][:12]}, checkout is now {commit[:12]}")
    if m["package"].get("version") != _package_version():
        notes.append(
            f"code: report made with perfeval {m['package'].get('version')}, now {_package_version()}"
        )
    checked = {"landing": len(m["landing"]), "config": len(m["config"]), "output": len(m["outputs"])}
    return Verification(Path(folder), m, drift, checked, notes)
