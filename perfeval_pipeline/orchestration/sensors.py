"""The landing sensor: watches {landing_dir}/{year}/{department}/ and runs that partition once its
folder holds every required feed, and again after a feed file's content changes.

A folder whose files are the very bytes its last evaluation read (the sha256 in its manifest) starts
no run, so switching the sensor on over evaluated data runs nothing. The cursor keeps, per folder,
each feed file's size, mtime and sha256 (the hash is recomputed only when size or mtime changed)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import dagster as dg

from perfeval_pipeline.catalog import MANIFEST, RESULT
from perfeval_pipeline.config.errors import did_you_mean
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.feeds.files import safe_text, scan_folder, sha256_file
from perfeval_pipeline.orchestration.partitions import key
from perfeval_pipeline.orchestration.resources import PerfevalResource


@dataclass
class LandingScan:
    """What one look at the landing folder found; `cursor` is the state to keep for the next look."""

    run_requests: list[dg.RunRequest] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def unknown_folder(settings: Settings, rel: str, department: str, year: str) -> str | None:
    """Why a landing folder is not a partition (with the fix), or None when it is one."""
    problems = []
    if not year.isdigit() or int(year) not in settings.years:
        problems.append(
            f"year {year!r} is not in `years` {list(settings.years)}: add it to {settings.config_dir / 'pipeline.yaml'}"
        )
    if department not in settings.departments:
        problems.append(
            f"department {department!r} is unknown{did_you_mean(department, settings.departments)}: add it to "
            f"{settings.config_dir / 'departments.yaml'}"
        )
    elif (
        year.isdigit()
        and int(year) in settings.years
        and int(year) not in settings.department_years(department)
    ):
        problems.append(
            f"{department} is not evaluated for {year}: its `years` in departments.yaml are {list(settings.department_years(department))}"
        )
    return f"landing folder {safe_text(rel)} is ignored: " + "; ".join(problems) if problems else None


def evaluated_hashes(settings: Settings, department: str, year: int) -> dict[str, str] | None:
    """The landing files (relative path → sha256) the partition's current report was made from."""
    folder = settings.report_folder(department, year)
    manifest, result = folder / MANIFEST.name, folder / RESULT.name
    if not manifest.is_file() or not result.is_file():
        return None
    if json.loads(result.read_text(encoding="utf-8")).get("status") != "evaluated":
        return None
    return {
        f["path"]: f["sha256"] for f in json.loads(manifest.read_text(encoding="utf-8")).get("landing", [])
    }


def scan_landing(settings: Settings, previous: dict, now: float, settle_seconds: float) -> LandingScan:
    """Compare every {year}/{department} folder with the previous cursor (pure apart from reading files)."""
    scan = LandingScan()
    feeds = set(settings.contracts)
    folders = sorted(
        p for y in settings.landing_dir.iterdir() if y.is_dir() for p in y.iterdir() if p.is_dir()
    )
    for folder in folders:
        rel = folder.relative_to(settings.landing_dir).as_posix()
        before = previous.get(rel, {"files": {}, "acted": None, "changes": 0})
        found = scan_folder(folder, settings.landing_dir, feeds)
        paths = sorted(p for files in found.files.values() for p in files)
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
        problem = unknown_folder(settings, rel, department, year)
        if problem:
            # Warned once per content; not "acted", so the folder runs once its department or year is added.
            if combined != before.get("warned"):
                scan.warnings.append(problem)
            entry["warned"] = combined
            continue
        if combined == before["acted"]:
            continue
        missing = [f for f in settings.required_feeds if not found.files.get(f)]
        if missing:
            scan.waiting.append(f"{rel} (missing {', '.join(missing)})")
            continue  # not acted on: the run comes when the last feed lands
        done = evaluated_hashes(settings, department, int(year))
        if done is not None and done == {f"{rel}/{n}": f[2] for n, f in files.items()}:
            entry["acted"] = combined  # evaluated from exactly these bytes already
            continue
        entry["changes"] += 1
        # The change number keeps a revert to earlier content (A → B → A) from reusing A's run key,
        # which Dagster would silently drop; kept in the cursor, it is stable across re-evaluations.
        pk = key(department, int(year))
        scan.run_requests.append(
            dg.RunRequest(
                run_key=f"{pk}:{combined[:16]}:{entry['changes']}",
                partition_key=pk,
                tags={"perfeval/landing_hash": combined[:16]},
            )
        )
        entry["acted"] = combined
    return scan


def landing_sensor(settings: Settings, job) -> dg.SensorDefinition:
    cfg = settings.pipeline.landing_sensor

    @dg.sensor(
        name="landing_sensor",
        job=job,
        minimum_interval_seconds=cfg.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING if cfg.running else dg.DefaultSensorStatus.STOPPED,
        description=(
            "监视 data/landing/{年度}/{部门}/：某部门年度的全部必需数据源到齐后运行一次，文件内容变化后再运行；"
            "与上次评价所读文件完全相同的不运行。未知部门或年度的文件夹在日志中提示修改哪个配置文件。\n\n"
            "Runs a department-year when its folder is complete, again when a file's content changes; never for "
            "files already evaluated. Settings: `landing_sensor` in pipeline.yaml."
        ),
    )
    def landing(context: dg.SensorEvaluationContext, perfeval: PerfevalResource) -> dg.SensorResult:
        current = perfeval.settings()
        if not current.landing_dir.is_dir():
            return dg.SensorResult(skip_reason=f"landing folder {current.landing_dir} does not exist")
        scan = scan_landing(current, json.loads(context.cursor or "{}"), time.time(), cfg.settle_seconds)
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
