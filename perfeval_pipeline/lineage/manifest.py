"""Provenance manifest of a report folder, and drift verification against it.

reports/{year}/{department}/manifest.json records what the report was made from: the sha256 of the
bytes the ingest actually read from each landing file (hashed while reading, not re-read at the
end), per table the number of rows and a digest of their row hashes (the row hashes themselves are
in the store), the sha256 of the stored rows files, of every config file and of every rendered file,
the package version and the git commit.

`verify` re-reads a landing file only when its bytes changed, aligns its rows with the stored ones
by content (so an inserted row is one insertion, not a cascade of changed rows), names the rows and
cells that differ, and the indicators and printed figures each change affects."""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import json
import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from perfeval_pipeline.catalog import EVIDENCE, MANIFEST, QUALITY, RESULT, rows_dataset
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.files import read_landing_file, safe_text, sha256_file
from perfeval_pipeline.feeds.readers import read_feed
from perfeval_pipeline.store import Store, atomic_write_json

SCHEMA_VERSION = 2
_MAX_ROWS_NAMED = 20


def _package_version() -> str | None:
    try:
        return importlib.metadata.version("perfeval")
    except importlib.metadata.PackageNotFoundError:
        return None


def _git(root: Path, *args: str) -> str | None:
    # GIT_OPTIONAL_LOCKS=0: `git status` must not refresh (write) the index of the checkout it describes.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        out = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False, env=env
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def hashes_digest(hashes: list[str]) -> str:
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def _hash_files(folder: Path, exclude: set[str] = frozenset()) -> list[dict]:
    return [
        {"path": p.relative_to(folder).as_posix(), "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".")
        and "superseded" not in p.relative_to(folder).parts
        and p.relative_to(folder).as_posix() not in exclude
    ]


def build_manifest(settings: Settings, store: Store, department: str, year: int) -> dict:
    """From what the store recorded at ingest (no landing file is read again)."""
    quality = store.read(QUALITY, department, year)
    files: dict[str, dict] = {}
    stored = []
    for rec in quality.itertuples():
        if not rec.source_file:
            continue
        entry = files.setdefault(
            rec.source_file, {"path": rec.source_file, "sha256": rec.source_sha256, "tables": []}
        )
        dataset = rows_dataset(rec.table)
        rows = store.read(dataset, department, year, columns=["_row_hash"])
        entry["tables"].append(
            {
                "table": rec.table,
                "sheet": rec.source_sheet,
                "rows": len(rows),
                "rows_reported": int(rec.rows_reported),
                "row_hashes_sha256": hashes_digest(rows["_row_hash"].astype(str).tolist()),
            }
        )
        stored.append({"dataset": dataset.name, "sha256": sha256_file(store.path(dataset, department, year))})
    out_dir = settings.report_folder(department, year)
    return {
        "schema_version": SCHEMA_VERSION,
        "department": department,
        "year": year,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "package": {"name": "perfeval", "version": _package_version()},
        "git_commit": _git(settings.paths.root, "rev-parse", "HEAD"),
        "git_dirty": (lambda s: None if s is None else bool(s))(
            _git(settings.paths.root, "status", "--porcelain")
        ),
        "landing_dir": settings.landing_dir.as_posix(),
        "landing": sorted(files.values(), key=lambda f: f["path"]),
        "store_dir": settings.store_dir.as_posix(),
        "stored_rows": stored,
        "config_dir": settings.config_dir.as_posix(),
        "config": _hash_files(settings.config_dir),
        "outputs": _hash_files(out_dir, {MANIFEST.name}) if out_dir.is_dir() else [],
    }


def write_manifest(settings: Settings, store: Store, department: str, year: int) -> Path:
    """Write reports/{year}/{department}/manifest.json; call it after every rendered file is written."""
    path = settings.report_folder(department, year) / MANIFEST.name
    atomic_write_json(
        path, build_manifest(settings, store, department, year), settings.pipeline.report_file_mode
    )
    return path


# --- verification ------------------------------------------------------------------------------


@dataclass
class Drift:
    kind: str  # landing, config, output
    path: str
    message: str
    rows: list[int] = field(default_factory=list)
    affects: list[str] = field(default_factory=list)  # indicators (and printed figures) the change reaches

    def __str__(self) -> str:
        text = f"{self.kind} {safe_text(self.path)}: {self.message}"
        if self.affects:
            text += f" → affects {', '.join(self.affects)}"
        return text


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


def _affected(
    store: Store, result: dict, department: str, year: int, table: str, rows: list[int]
) -> list[str]:
    """Indicators whose evidence cites any of these stored rows, with the figure the form prints."""
    if not rows or not store.exists(EVIDENCE, department, year):
        return []
    evidence = store.read(EVIDENCE, department, year, columns=["indicator_id", "source_table", "_row"])
    hit = evidence.loc[
        (evidence["source_table"] == table) & evidence["_row"].isin(rows), "indicator_id"
    ].unique()
    shown = {i["id"]: i for i in result.get("indicators", [])}
    return [f"{i} ({shown[i]['name']} {shown[i]['display']})" if i in shown else str(i) for i in sorted(hit)]


def _table_drift(
    settings: Settings, store: Store, m: dict, rel: str, table_rec: dict, raw_now, result: dict
) -> list[Drift]:
    department, year, table = m["department"], m["year"], table_rec["table"]
    where = f"sheet {table_rec['sheet']} " if table_rec.get("sheet") else ""
    if raw_now is None:
        return [Drift("landing", rel, f"{where}is gone (table {table} no longer found)")]
    stored = store.read_optional(rows_dataset(table), department, year)
    if stored is None:
        return [Drift("landing", rel, f"{where}changed; the store no longer holds the rows it had ({table})")]
    digest_ok = hashes_digest(stored["_row_hash"].astype(str).tolist()) == table_rec["row_hashes_sha256"]
    before = stored["_row_hash"].astype(str).tolist()
    now = raw_now.frame["_row_hash"].astype(str).tolist()
    before_rows = stored["_source_row"].astype(int).tolist()
    now_rows = raw_now.frame["_source_row"].astype(int).tolist()
    drift: list[Drift] = []
    if not digest_ok:
        drift.append(
            Drift(
                "landing",
                rel,
                f"{where}changed, and the store was re-ingested since the report: rows compared with the store",
            )
        )
    matcher = difflib.SequenceMatcher(None, before, now, autojunk=False)
    named = 0
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            continue
        if named >= _MAX_ROWS_NAMED:
            drift.append(Drift("landing", rel, f"{where}more changes not listed"))
            break
        named += 1
        old_ordinals = stored["_row"].iloc[a0:a1].astype(int).tolist()
        affects = _affected(store, result, department, year, table, old_ordinals)
        if op == "replace" and a1 - a0 == b1 - b0:
            for i, j in zip(range(a0, a1), range(b0, b1), strict=True):
                cells = _changed_cells(stored.iloc[i], raw_now, j)
                detail = f" ({'; '.join(cells)})" if cells else ""
                drift.append(
                    Drift(
                        "landing",
                        rel,
                        f"{where}row {now_rows[j]} changed{detail}",
                        [now_rows[j]],
                        _affected(store, result, department, year, table, [int(stored["_row"].iloc[i])]),
                    )
                )
            continue
        if op in ("delete", "replace"):
            rows = before_rows[a0:a1]
            drift.append(
                Drift(
                    "landing",
                    rel,
                    f"{where}{len(rows)} row(s) removed (were rows {_span(rows)})",
                    rows,
                    affects,
                )
            )
        if op in ("insert", "replace"):
            rows = now_rows[b0:b1]
            drift.append(
                Drift("landing", rel, f"{where}{len(rows)} row(s) inserted at rows {_span(rows)}", rows)
            )
    return drift


def _span(rows: list[int]) -> str:
    return f"{rows[0]}–{rows[-1]}" if len(rows) > 1 else str(rows[0]) if rows else ""


def _changed_cells(old: pd.Series, raw_now, j: int) -> list[str]:
    """Cells (under the landing file's headers) that differ between the stored row and the row now."""
    headers = raw_now.header.headers if raw_now.header else {}
    out = []
    for canonical, header in headers.items():
        new = str(raw_now.frame[canonical].iloc[j])
        raw_col = f"_raw_{canonical}"
        before = old[raw_col] if raw_col in old.index else old.get(canonical)
        before = "" if before is None or (not isinstance(before, str) and pd.isna(before)) else str(before)
        if before.strip() != new.strip():
            out.append(f"{safe_text(header, 30)}: '{safe_text(before, 40)}' → '{safe_text(new, 40)}'")
    return out


def _landing_drift(settings: Settings, store: Store, m: dict, result: dict) -> list[Drift]:
    drift = []
    limits = settings.pipeline.limits
    for rec in m["landing"]:
        path = settings.landing_dir / rec["path"]
        if not path.is_file():
            drift.append(Drift("landing", rec["path"], "file is missing"))
            continue
        if sha256_file(path) == rec["sha256"]:
            continue
        feed = Path(rec["path"]).name.split(".", 1)[0]
        contract = settings.contracts.get(feed)
        _, _, table_part = path.stem.partition(".")
        file, issue = read_landing_file(path, settings.landing_dir, feed, table_part or None, limits)
        if issue or contract is None:
            drift.append(
                Drift(
                    "landing",
                    rec["path"],
                    f"changed and can no longer be read: {issue.message if issue else 'no contract'}",
                )
            )
            continue
        read = read_feed([file], contract, limits, str(Path(rec["path"]).parent))
        found = []
        for table_rec in rec["tables"]:
            name = table_rec["table"].split(".", 1)[1]
            found += _table_drift(settings, store, m, rec["path"], table_rec, read.tables.get(name), result)
        # Same cells, different bytes (re-saved workbook): still not the file the report read.
        drift += found or [Drift("landing", rec["path"], "file bytes changed (sha256), cells unchanged")]
    known = {rec["path"] for rec in m["landing"]}
    folder = settings.landing_folder(m["department"], m["year"])
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            rel = path.relative_to(settings.landing_dir).as_posix()
            if (
                path.is_file()
                and path.suffix.lower() in (".xlsx", ".csv")
                and rel not in known
                and not path.name.startswith(("~$", "."))
            ):
                drift.append(Drift("landing", rel, "new landing file, not read for this report"))
    return drift


def _files_drift(kind: str, recorded: list[dict], now: list[dict]) -> list[Drift]:
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


class NoManifest(FileNotFoundError):
    """The report folder has no manifest; the message says why (blocked, not run, …)."""


def verify(settings: Settings, folder: Path) -> Verification:
    """Compare a report folder with its manifest: landing rows, config files, rendered files."""
    folder = Path(folder)
    path = folder / MANIFEST.name
    if not path.is_file():
        result_path = folder / RESULT.name
        if result_path.is_file():
            result = json.loads(result_path.read_text(encoding="utf-8"))
            if result.get("status") != "evaluated":
                reasons = result.get("blocked_reasons") or result.get("failure") or []
                raise NoManifest(
                    f"{folder} has no form to verify: the partition is {result.get('status')} "
                    f"({'; '.join(reasons[:2])})"
                )
        raise NoManifest(
            f"no {MANIFEST.name} in {folder}: this department-year has not been evaluated (perfeval run)"
        )
    m = json.loads(path.read_text(encoding="utf-8"))
    store = Store(settings.store_dir)
    result_file = folder / RESULT.name
    result = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else {}
    drift = _landing_drift(settings, store, m, result)
    drift += _files_drift("config", m["config"], _hash_files(settings.config_dir))
    drift += _files_drift("output", m["outputs"], _hash_files(folder, {MANIFEST.name}))
    notes = []
    commit = _git(settings.paths.root, "rev-parse", "HEAD")
    if m.get("git_commit") and commit and commit != m["git_commit"]:
        notes.append(f"code: report made at commit {m['git_commit'][:12]}, checkout is now {commit[:12]}")
    if m["package"].get("version") != _package_version():
        notes.append(
            f"code: report made with perfeval {m['package'].get('version')}, now {_package_version()}"
        )
    checked = {"landing": len(m["landing"]), "config": len(m["config"]), "output": len(m["outputs"])}
    return Verification(folder, m, drift, checked, notes)
