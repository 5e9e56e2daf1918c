"""Scale numbers of the production profile on this machine (`make bench-province`): a small province
backfilled with 1, 2 and 4 Celery workers; throughput per worker, the coordinator's overhead and the
PostgreSQL event log per partition.

    .venv/bin/python deploy/production/bench.py --workers 1 2 4 --partitions 12 --per-run 3

Its own stack (webserver, daemon, workers), PostgreSQL database, queues and folders under --dir; all
stopped and dropped at the end (--keep keeps the database and folders). Data: small clean
department-years built like the hostile corpus's base (tests/hostile/corpus.py, ~3 s of work each
here), evaluated with one process per step (Celery is the parallelism). The same partitions are
submitted for every worker count, as runs of --per-run partitions, all at once; the instance starts
at most PERFEVAL_MAX_CONCURRENT_RUNS (4) of them at a time.

Definitions of what is printed:
  wall         first submission → last run finished
  throughput   partitions / wall; per worker = that / workers
  work         sum over steps of STEP_START → STEP_SUCCESS (on the workers); utilization = work /
               (workers × wall)
  wait         per step: task submitted → a worker starts it (waiting for a free worker: capacity,
               not overhead)
  launch       per run: submitted → RUN_START (daemon dequeue, run-worker process start, definitions)
  in-run       per run: RUN_START → run end less its steps' submitted → success spans, plus the
               worker's set-up before STEP_START (Celery hand-off, 1 s result polling, step outputs)
  coordinator overhead per partition = (launch + in-run) summed over runs / partitions
  event log    rows and bytes (pg_column_size of the event column) of those runs, per partition"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import prodstack  # noqa: E402

YEAR = 2023


def make_province(folder: Path, n: int) -> tuple[Path, Path, list[str]]:
    """A config copy with n small departments (one process per step) and their landing folders."""
    from hostile.corpus import department, write_base

    from perfeval_pipeline.config.settings import Paths, load_settings

    config = folder / "assets_config"
    shutil.copytree(ROOT / "assets_config", config)
    raw = yaml.safe_load((config / "departments.yaml").read_text(encoding="utf-8"))
    codes = [f"zz-bench-{i:03d}" for i in range(1, n + 1)]
    raw["departments"].update({c: department(c) for c in codes})
    (config / "departments.yaml").write_text(
        yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8"
    )
    pipeline = config / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace("workers: 0", "workers: 1"), "utf-8")
    landing = folder / "landing"
    settings = load_settings(
        Paths.resolve(config_dir=config, landing_dir=landing, store_dir=folder / "store")
    )
    for c in codes:
        write_base(settings.landing_folder(c, YEAR), settings, c)
    return config, landing, codes


def measure(stack: prodstack.Stack, run_ids: list[str], submitted: float, partitions: int) -> dict:
    """The figures of a finished backfill, from PostgreSQL's runs and event_logs tables."""
    with contextlib.closing(prodstack.pg_connect(stack.env)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT run_id, extract(epoch FROM create_timestamp AT TIME ZONE 'UTC'), start_time, end_time, status "
            "FROM runs WHERE run_id = ANY(%s)",
            (run_ids,),
        )
        runs = {
            r[0]: {"created": float(r[1]), "start": r[2], "end": r[3], "status": r[4]} for r in cur.fetchall()
        }
        cur.execute(
            "SELECT run_id, step_key, CASE WHEN dagster_event_type <> 'ENGINE_EVENT' THEN dagster_event_type "
            "WHEN event LIKE '%%Submitting celery task%%' THEN 'SUBMITTED' ELSE 'PICKED' END, "
            "extract(epoch FROM timestamp AT TIME ZONE 'UTC') FROM event_logs WHERE run_id = ANY(%s) AND step_key IS NOT NULL "
            "AND (dagster_event_type IN ('STEP_START', 'STEP_SUCCESS') OR (dagster_event_type = 'ENGINE_EVENT' "
            "AND (event LIKE '%%Submitting celery task%%' OR event LIKE '%%in celery worker%%'))) ORDER BY id",
            (run_ids,),
        )
        steps: dict[tuple[str, str], dict[str, float]] = {}
        for run_id, step, kind, ts in cur.fetchall():
            steps.setdefault((run_id, step), {})[kind] = float(
                ts
            )  # the last one: a redelivered step restarts
        cur.execute(
            "SELECT count(*), coalesce(sum(pg_column_size(event)), 0) FROM event_logs WHERE run_id = ANY(%s)",
            (run_ids,),
        )
        rows, size = cur.fetchone()
        cur.execute("SELECT pg_database_size(current_database())")
        (db_size,) = cur.fetchone()
    work = sum(t["STEP_SUCCESS"] - t["STEP_START"] for t in steps.values())
    wait = sum(t["PICKED"] - t["SUBMITTED"] for t in steps.values())
    span: dict[str, float] = {}
    setup: dict[str, float] = {}
    for (run_id, _), t in steps.items():
        span[run_id] = span.get(run_id, 0.0) + t["STEP_SUCCESS"] - t["SUBMITTED"]
        setup[run_id] = setup.get(run_id, 0.0) + t["STEP_START"] - t["PICKED"]
    wall = max(r["end"] for r in runs.values()) - submitted
    launch = [r["start"] - r["created"] for r in runs.values()]
    # In a run, what is neither a step's work nor its wait for a free worker: Celery hand-offs,
    # the 1 s result polling, step outputs, the worker's plan set-up before STEP_START.
    in_run = [(r["end"] - r["start"]) - span.get(i, 0.0) + setup.get(i, 0.0) for i, r in runs.items()]
    return {
        "runs": len(runs),
        "steps": len(steps),
        "statuses": sorted({r["status"] for r in runs.values()}),
        "wall_s": round(wall, 1),
        "partitions_per_min": round(partitions / wall * 60, 2),
        "work_s": round(work, 1),
        "work_s_per_partition": round(work / partitions, 2),
        "queue_wait_s_per_step": round(wait / len(steps), 2),
        "launch_s_per_run": round(statistics.mean(launch), 2),
        "in_run_overhead_s_per_run": round(statistics.mean(in_run), 2),
        "coordinator_overhead_s_per_partition": round((sum(launch) + sum(in_run)) / partitions, 2),
        "event_rows_per_partition": round(rows / partitions, 1),
        "event_bytes_per_partition": round(size / partitions),
        "database_bytes": db_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--per-run", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/perfeval-bench-prod"))
    parser.add_argument("--keep", action="store_true", help="keep the database and folders")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    folder = args.dir
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.monotonic()
    config, landing, codes = make_province(folder, args.partitions)
    print(
        f"bench: {len(codes)} department-years written in {time.monotonic() - t0:.1f} s under {folder}",
        flush=True,
    )
    env, tag = prodstack.isolated_env(
        "perfeval-bench",
        folder,
        {
            "PERFEVAL_CONFIG": str(config),
            "PERFEVAL_LANDING": str(landing),
            "PERFEVAL_STORE": str(folder / "store"),
            "PERFEVAL_REPORTS": str(folder / "reports"),
        },
    )
    stack = prodstack.Stack(env)
    keys = [f"{YEAR}-{c}" for c in codes]
    results = []
    try:
        t0 = time.monotonic()
        stack.up(workers=0)
        print(f"bench: webserver and daemon up in {time.monotonic() - t0:.1f} s", flush=True)
        for n in args.workers:
            for w in stack.workers():
                stack.stop(f"worker-{w}")
            shutil.rmtree(folder / "store", ignore_errors=True)
            shutil.rmtree(folder / "reports", ignore_errors=True)
            t0 = time.monotonic()
            for i in range(1, n + 1):
                stack.start_worker(f"b{i}-{tag}")
            for i in range(1, n + 1):
                stack.wait_worker(f"b{i}-{tag}")
            boot = time.monotonic() - t0
            load_before = os.getloadavg()
            submitted = time.time()
            run_ids = prodstack.backfill(stack, keys, args.per_run, {"perfeval/bench": f"{tag}-w{n}"})
            with stack.instance() as instance:
                statuses = prodstack.wait_runs(instance, run_ids, timeout=3600)
            load_after = os.getloadavg()
            m = measure(stack, run_ids, submitted, len(keys))
            m |= {
                "workers": n,
                "partitions": len(keys),
                "per_run": args.per_run,
                "partitions_per_min_per_worker": round(m["partitions_per_min"] / n, 2),
                "worker_boot_s": round(boot, 1),
                "utilization": round(m["work_s"] / (n * m["wall_s"]), 2),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in load_after],
            }
            if set(statuses.values()) != {"SUCCESS"}:
                m["failed_runs"] = {r: s for r, s in statuses.items() if s != "SUCCESS"}
            results.append(m)
            print(json.dumps(m), flush=True)
    finally:
        stack.down(worker_timeout=120)
        if not args.keep:
            prodstack.drop_database(env)
            prodstack.delete_queues(env)

    print(
        f"\nbench: {os.cpu_count()} cores; {len(keys)} partitions as runs of {args.per_run}; "
        f"max {env['PERFEVAL_MAX_CONCURRENT_RUNS']} concurrent runs"
    )
    head = (
        f"{'workers':>7} {'wall s':>7} {'part/min':>8} {'/worker':>7} {'util':>5} {'work s/part':>11} "
        f"{'wait s/step':>11} {'launch s/run':>12} {'in-run s/run':>12} {'coord s/part':>12} "
        f"{'events/part':>11} {'bytes/part':>10}  loadavg 1 min"
    )
    print(head)
    for m in results:
        print(
            f"{m['workers']:>7} {m['wall_s']:>7} {m['partitions_per_min']:>8} {m['partitions_per_min_per_worker']:>7} "
            f"{m['utilization']:>5} {m['work_s_per_partition']:>11} {m['queue_wait_s_per_step']:>11} "
            f"{m['launch_s_per_run']:>12} {m['in_run_overhead_s_per_run']:>12} "
            f"{m['coordinator_overhead_s_per_partition']:>12} {m['event_rows_per_partition']:>11} "
            f"{m['event_bytes_per_partition']:>10}  {m['loadavg_before'][0]}→{m['loadavg_after'][0]}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if all("failed_runs" not in m for m in results) else 3


if __name__ == "__main__":
    sys.exit(main())
