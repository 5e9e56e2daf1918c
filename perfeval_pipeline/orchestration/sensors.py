"""The landing sensor: watches {landing_dir}/{year}/{department}/ and runs that partition once its
folder holds every required feed, and once again after each change of a feed file's content.

The cursor keeps, per folder, each feed file's size, mtime and sha256 (the hash is recomputed only
when size or mtime changed) and the combined hash last acted on."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from perfeval_pipeline.config import Settings, config_dir, load_yaml, settings
from perfeval_pipeline.feeds.contracts import load_contracts
from perfeval_pipeline.feeds.readers import feed_files
from perfeval_pipeline.orchestration.partitions import partition_key

SENSOR_DEFAULTS = {"interval_seconds": 60, "settle_seconds": 30, "running": False}


def sensor_settings() -> dict:
    return {**SENSOR_DEFAULTS, **(load_yaml(config_dir() / "pipeline.yaml").get("landing_sensor") or {})}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LandingScan:
    """What one look at the landing folder found; `cursor` is the state to keep for the next look."""

    run_requests: list[dg.RunRequest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def _unknown(cfg: Settings, rel: str, department: str, year: str) -> str | None:
    """Why a folder is not a partition (with the fix), or None when it is one."""
    problems = []
    if not year.isdigit() or int(year) not in cfg.years:
        problems.append(
            f"year {year!r} is not in `years` {list(cfg.years)}: add it to "
            f"{config_dir() / 'pipeline.yaml'} (landing folders are <year>/<department>/)"
        )
    if department not in cfg.departments:
        problems.append(
            f"department {department!r} is unknown: add it to {config_dir() / 'departments.yaml'}"
        )
    return f"landing folder {rel} is ignored: " + "; ".join(problems) if problems else None


def scan_landing(cfg: Settings, previous: dict, now: float, settle_seconds: float) -> LandingScan:
    """Compare every {year}/{department} folder with the previous cursor (pure apart from reading files)."""
    scan = LandingScan()
    feeds = list(load_contracts())
    folders = sorted(
        p
        for year_dir in cfg.landing_dir.iterdir()
        if year_dir.is_dir()
        for p in year_dir.iterdir()
        if p.is_dir()
    )
    for folder in folders:
        rel = folder.relative_to(cfg.landing_dir).as_posix()
        before = previous.get(rel, {"files": {}, "acted": None, "changes": 0})
        paths = sorted({p for feed in feeds for p in feed_files(folder, feed)})
        stats = {p.name: p.stat() for p in paths}
        if any(now - s.st_mtime < settle_seconds for s in stats.values()):
            # Still being copied: look again next tick, with the previous state kept.
            scan.waiting.append(f"{rel} (files still being written)")
            scan.cursor[rel] = before
            continue
        files = {}
        for path in paths:
            size, mtime = stats[path.name].st_size, stats[path.name].st_mtime_ns
            old = before["files"].get(path.name)
            same = old is not None and old[0] == size and old[1] == mtime
            files[path.name] = [size, mtime, old[2] if same else sha256_file(path)]
        combined = hashlib.sha256(
            "".join(f"{n}:{f[2]}\n" for n, f in sorted(files.items())).encode()
        ).hexdigest()
        entry = {**before, "files": files}
        scan.cursor[rel] = entry
        department, year = folder.name, folder.parent.name
        problem = _unknown(cfg, rel, department, year)
        if problem:
            # Warned once per content; not "acted", so the folder runs once its department or year is added.
            if combined != before.get("warned"):
                scan.warnings.append(problem)
            entry["warned"] = combined
            continue
        if combined == before["acted"]:
            continue
        missing = [f for f in cfg.required_feeds if not feed_files(folder, f)]
        if missing:
            scan.waiting.append(f"{rel} (missing {', '.join(missing)})")
            continue  # not acted on: the run comes when the last feed lands
        key = str(partition_key(department, int(year)))
        entry["changes"] += 1
        # The change number keeps a revert to earlier content (A → B → A) from reusing A's run key,
        # which Dagster would silently drop; kept in the cursor, it is stable across re-evaluations.
        scan.run_requests.append(
            dg.RunRequest(
                run_key=f"{key}:{combined[:16]}:{entry['changes']}",
                partition_key=key,
                tags={"perfeval/landing_hash": combined[:16]},
            )
        )
        entry["acted"] = combined
    return scan


def landing_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    cfg = sensor_settings()

    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=int(cfg["interval_seconds"]),
        default_status=dg.DefaultSensorStatus.RUNNING if cfg["running"] else dg.DefaultSensorStatus.STOPPED,
        description=(
            "Watches data/landing/{year}/{department}/: runs that department-year once its folder holds every "
            "required feed (pipeline.yaml `required_feeds`), and once more after each change of a feed file's "
            "content (sha256; a touch without change does nothing). Folders of unknown departments or years "
            "are logged as warnings naming the file to edit. Settings: `landing_sensor` in pipeline.yaml."
        ),
    )
    def landing(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        current = settings()
        if not current.landing_dir.is_dir():
            return dg.SensorResult(skip_reason=f"landing folder {current.landing_dir} does not exist")
        scan = scan_landing(current, json.loads(context.cursor or "{}"), time.time(), cfg["settle_seconds"])
        for warning in scan.warnings:
            context.log.warning(warning)
        cursor = json.dumps(scan.cursor, sort_keys=True)
        if scan.run_requests:
            return dg.SensorResult(run_requests=scan.run_requests, cursor=cursor)
        reasons = [
            "no new or changed complete department-year folder",
            *scan.warnings,
            *(f"waiting for {w}" for w in scan.waiting),
        ]
        return dg.SensorResult(skip_reason="; ".join(reasons), cursor=cursor)

    return landing
