"""Run the evaluation for a set of partitions from the command line (`perfeval run`).

A selection becomes the fewest runs Dagster can launch as single runs: one per contiguous range of
partition keys (keys are ordered year first, so any set of whole years is one run). Each run's
steps print one line per partition as it finishes; Dagster's own log goes to a file unless
`verbose`. Peer benchmarks do not depend on how the selection is split (indicators/peers.py)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from filelock import FileLock

from perfeval_pipeline.catalog import RESULT
from perfeval_pipeline.config.settings import Settings
from perfeval_pipeline.orchestration.partitions import RANGE_END, RANGE_START, Partitions

# Exit codes of `perfeval run` (README § Commands).
EXIT_OK, EXIT_NOT_EVALUATED = 0, 3


@dataclass
class PartitionStatus:
    department: str
    year: int
    status: str
    total: float | None
    grade: str | None
    reason: str


def init_instance(home: Path) -> dg.DagsterInstance:
    """The instance of DAGSTER_HOME, created and migrated once under a lock: two first runs at the
    same time on a new home would otherwise race in its SQLite schema set-up."""
    home.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home / ".perfeval-instance.lock"), timeout=600):
        instance = dg.DagsterInstance.from_config(str(home))
        instance.get_runs(limit=1)  # touches run storage: creates and migrates its tables now
        instance.event_log_storage.get_latest_materialization_events([])
    return instance


@contextlib.contextmanager
def dagster_log_to(path: Path | None) -> Iterator[int]:
    """Send this process's stderr (Dagster's console log, worker warnings) to `path`; yield a file
    descriptor of the terminal for progress lines. With `path` None nothing is redirected."""
    saved = os.dup(2)
    if path is None:
        try:
            yield saved
        finally:
            os.close(saved)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield saved
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def run_ranges(
    settings: Settings, selected: list[tuple[str, int]], instance: dg.DagsterInstance, resource, evaluation
) -> list[dg.ExecuteInProcessResult]:
    """One Dagster run per contiguous range of the selection."""
    partitions = Partitions(settings)
    results = []
    for start, end in partitions.ranges(selected):
        tags = {RANGE_START: start, RANGE_END: end} if start != end else {}
        results.append(
            dg.materialize(
                [evaluation],
                instance=instance,
                resources={"perfeval": resource},
                partition_key=start if start == end else None,
                tags=tags,
                raise_on_error=False,
            )
        )
    return results


def statuses(
    settings: Settings, selected: list[tuple[str, int]], since: float = 0.0
) -> list[PartitionStatus]:
    """Each selected partition's state from the result.json a run written after `since` left."""
    import json

    out = []
    for department, year in selected:
        path = settings.report_folder(department, year) / RESULT.name
        if not path.exists() or path.stat().st_mtime < since:
            out.append(
                PartitionStatus(
                    department, year, "missing", None, None, "the run did not reach it (see the Dagster log)"
                )
            )
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        reasons = result.get("blocked_reasons") or result.get("failure") or []
        out.append(
            PartitionStatus(
                department,
                year,
                result["status"],
                result.get("total_score"),
                result.get("grade"),
                "; ".join(reasons),
            )
        )
    return out
