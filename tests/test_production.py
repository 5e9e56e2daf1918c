"""The production profile against real services on loopback: PostgreSQL (instance storage and
partition locks), RabbitMQ (Celery broker), Redis (Celery results), and a moto S3 server started here.

The test starts its own stack (deploy/production/prodstack.py: webserver, daemon, two Celery
workers) over a fresh PostgreSQL database and its own Celery queues, and stops and drops them at the
end. Data: twelve small clean department-years of the hostile corpus's base (tests/hostile/corpus.py).
The local profile (`perfeval run`, in-process executor, SQLite instance, deploy/local/dagster.yaml)
evaluates the same landing folders into its own store and reports; the production results must be
byte-identical to it.

Skipped, with the reason, only when a service does not answer; where the services exist (CI, this
machine kind) every test runs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import make_settings
from hostile.corpus import YEAR, department, write_base

from perfeval_pipeline.catalog import EVIDENCE, INDICATOR_VALUES, QUALITY, SCORES
from perfeval_pipeline.config.settings import Paths, load_settings, package_root
from perfeval_pipeline.orchestration.partitions import key
from perfeval_pipeline.store import ObjectStore, PostgresLock, Store

ROOT = package_root()
sys.path.insert(0, str(ROOT / "deploy" / "production"))
import prodstack  # noqa: E402

pytestmark = [pytest.mark.production, pytest.mark.slow]

CODES = [f"zz-prod-{i:02d}" for i in range(1, 13)]  # sort after every demo department: one contiguous range
FORMS = ("result.json", "feedback_form.docx", "feedback_form.xlsx")
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
BACKEND = "redis://127.0.0.1:6379/1"
BIN = Path(sys.executable).parent


# --- services ----------------------------------------------------------------------------------------
def _postgres_error() -> str | None:
    try:
        import psycopg2

        psycopg2.connect(dbname="postgres", connect_timeout=3, **PG).close()
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return f"PostgreSQL at {PG['host']}:{PG['port']} (user postgres, trust auth): {exc}".strip()
    return None


def _rabbit_error() -> str | None:
    try:
        from kombu import Connection

        with Connection(BROKER, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001
        return f"RabbitMQ at {BROKER}: {exc}"
    return None


def _redis_error() -> str | None:
    try:
        import redis

        redis.Redis.from_url(BACKEND, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis at {BACKEND}: {exc}"
    return None


def require(*checks) -> None:
    missing = [m for m in (c() for c in checks) if m]
    if missing:
        # CI's machines run all three services (.ci/run sets PERFEVAL_REQUIRE_SERVICES): there a
        # missing service is a failure, not a reason to skip.
        act = pytest.fail if os.environ.get("PERFEVAL_REQUIRE_SERVICES") == "1" else pytest.skip
        act("service not reachable: " + "; ".join(missing))


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


# --- data --------------------------------------------------------------------------------------------
def _one_worker_per_step(config: Path) -> None:
    """Celery is the parallelism here: each step runs its partitions in its worker's process."""
    p = config / "pipeline.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("workers: 0", "workers: 1"), encoding="utf-8")


def settings_at(base, store, reports):
    return load_settings(
        Paths.resolve(
            root=base.paths.root,
            config_dir=base.config_dir,
            landing_dir=base.landing_dir,
            store_dir=store,
            reports_dir=reports,
        )
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Twelve clean department-years and a config copy that knows them."""
    root = tmp_path_factory.mktemp("production")
    settings = make_settings(root, {c: department(c) for c in CODES}, edit=_one_worker_per_step)
    for c in CODES:
        write_base(settings.landing_folder(c, YEAR), settings, c)
    return root, settings


@pytest.fixture(scope="module")
def local_reference(project):
    """The local profile over the same landing folders: `perfeval run` in a subprocess (in-process
    executor, SQLite instance from deploy/local/dagster.yaml), started at once so that it runs while
    the production stack boots; a callable that waits for it and gives its settings."""
    root, settings = project
    home = root / "local_home"
    home.mkdir()
    shutil.copyfile(ROOT / "deploy" / "local" / "dagster.yaml", home / "dagster.yaml")
    local = settings_at(settings, root / "local_store", root / "local_reports")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFEVAL_", "DAGSTER_"))}
    env |= {
        "DAGSTER_HOME": str(home),
        "PERFEVAL_CONFIG": str(settings.config_dir),
        "PERFEVAL_LANDING": str(settings.landing_dir),
        "PERFEVAL_STORE": str(local.store_dir),
        "PERFEVAL_REPORTS": str(local.reports_dir),
    }
    argv = [str(BIN / "perfeval"), "run", "-y", str(YEAR), *(a for c in CODES for a in ("-d", c))]
    started = time.monotonic()
    log = open(root / "local_run.log", "wb")  # noqa: SIM115 - closed when the run is collected
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    done = {}

    def wait():
        if not done:
            rc = proc.wait(timeout=900)
            log.close()
            done["seconds"] = time.monotonic() - started
            print(f"\nproduction: local profile, 12 partitions in one run: {done['seconds']:.1f} s")
            assert rc == 0, (
                f"local profile run failed ({rc}):\n{(root / 'local_run.log').read_text()[-3000:]}"
            )
        return local

    yield wait
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    """A moto S3 server on a free loopback port with a bucket `perfeval`."""
    port = prodstack.free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_port(port)
        endpoint = f"http://127.0.0.1:{port}"
        env = {
            "PERFEVAL_S3_ENDPOINT": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        import boto3

        boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        ).create_bucket(Bucket="perfeval")
        yield env
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()


@contextlib.contextmanager
def environment(values: dict):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def stack(project, local_reference, moto):
    """The production stack: webserver, daemon and workers w1, w2 on a fresh PostgreSQL database and
    this session's own queues; stopped, its database dropped and its queues deleted afterwards."""
    require(_postgres_error, _rabbit_error, _redis_error)
    root, settings = project
    env, tag = prodstack.isolated_env(
        "perfeval-test",
        root,
        {
            "PERFEVAL_CELERY_BROKER": BROKER,
            "PERFEVAL_CELERY_BACKEND": BACKEND,
            "PERFEVAL_CONFIG": str(settings.config_dir),
            "PERFEVAL_LANDING": str(settings.landing_dir),
            "PERFEVAL_STORE": str(root / "prod_store"),
            "PERFEVAL_REPORTS": str(root / "prod_reports"),
            **moto,
        },
        strip=("PERFEVAL_", "DAGSTER_", "AWS_"),
    )
    s = prodstack.Stack(env)
    started = time.monotonic()
    try:
        s.up(workers=2)
        s.tag = tag
        s.boot_seconds = time.monotonic() - started
        print(f"\nproduction: stack up (webserver, daemon, 2 workers) in {s.boot_seconds:.1f} s")
        yield s
    finally:
        s.down(worker_timeout=60)
        prodstack.drop_database(env)
        prodstack.delete_queues(env)


def run_partitions(stack, codes: list[str], per_run: int, run_config: dict | None = None) -> list[str]:
    keys = [key(c, YEAR) for c in codes]
    runs = prodstack.plan_runs(keys, keys, per_run)
    if run_config is None:
        return [prodstack.submit(stack, r, {"dagster/max_retries": "1"}) for r in runs]
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=int(stack.env["PERFEVAL_PROD_WEB_PORT"]))
    return [
        client.submit_job_execution(
            prodstack.JOB,
            repository_location_name=prodstack.LOCATION,
            repository_name="__repository__",
            run_config=run_config,
            tags=prodstack.run_tags(r),
        )
        for r in runs
    ]


def sql(stack, query: str, *params) -> list[tuple]:
    with contextlib.closing(prodstack.pg_connect(stack.env)) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


def celery_workers(stack, run_id_or_ids, step: str = "") -> list[tuple[str, object]]:
    """(worker name, time) of each 'Executing steps … in celery worker' event of the runs, in order:
    rows from PostgreSQL's event_logs, each event's JSON read with Dagster's deserializer."""
    from dagster._serdes import deserialize_value

    ids = [run_id_or_ids] if isinstance(run_id_or_ids, str) else list(run_id_or_ids)
    rows = sql(
        stack,
        "SELECT event, timestamp FROM event_logs WHERE run_id = ANY(%s) AND dagster_event_type = 'ENGINE_EVENT' "
        "AND event LIKE %s ORDER BY id",
        ids,
        f"%Executing steps {step}%in celery worker%",
    )
    out = []
    for event, ts in rows:
        metadata = deserialize_value(event).dagster_event.event_specific_data.metadata
        out.append((metadata["Celery worker"].value.split("@")[0], ts))
    return out


def assert_same_forms(local, reports: Path, codes: list[str]) -> None:
    for c in codes:
        for name in FORMS:
            ours = reports / str(YEAR) / c / name
            theirs = local.report_folder(c, YEAR) / name
            assert ours.read_bytes() == theirs.read_bytes(), f"{c} {name} differs from the local profile's"


def leftovers(*folders: Path) -> list[Path]:
    return [p for f in folders for p in f.rglob("*") if p.name.endswith(".tmp")]


# --- tests -------------------------------------------------------------------------------------------
def test_postgres_partition_lock_excludes_and_dies_with_its_holder(tmp_path):
    """Two holders of one partition on different machines exclude each other through PostgreSQL; a
    SIGKILLed holder's lock is released by the server at once (no lease to expire)."""
    require(_postgres_error)
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    store = Store(tmp_path / "store", lock_url=url)
    name = f"perfeval:{store.url}:lock-test:{YEAR}"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from perfeval_pipeline.store import PostgresLock\n"
            "lock = PostgresLock(sys.argv[1], sys.argv[2]); lock.acquire(10)\n"
            "print('held', flush=True); time.sleep(120)\n",
            url,
            name,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="advisory lock"):
            with store.partition_lock("lock-test", YEAR, timeout=1):
                pass
        assert 0.9 < time.monotonic() - t0 < 5
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        t0 = time.monotonic()
        with store.partition_lock("lock-test", YEAR, timeout=10):
            waited = time.monotonic() - t0
        assert waited < 3, f"lock of a killed holder released only after {waited:.1f} s"
    finally:
        holder.kill()
        holder.wait()
    # The same name from a second lock object in this process: free again after release.
    lock = PostgresLock(url, name)
    lock.acquire(2)
    lock.release()


@pytest.fixture(scope="module")
def backfill(stack):
    """Twelve partitions on the production profile, as two runs of six, on two Celery workers."""
    t0 = time.monotonic()
    run_ids = run_partitions(stack, CODES, per_run=6)
    with stack.instance() as instance:
        statuses = prodstack.wait_runs(instance, run_ids, timeout=900)
    seconds = time.monotonic() - t0
    print(f"\nproduction: 12 partitions in 2 runs on 2 workers: {seconds:.1f} s")
    return run_ids, statuses, seconds


def test_backfill_of_12_partitions_on_2_workers_matches_the_local_profile(stack, backfill, local_reference):
    run_ids, statuses, _ = backfill
    assert set(statuses.values()) == {"SUCCESS"}, statuses
    local = local_reference()
    reports = Path(stack.env["PERFEVAL_REPORTS"])
    assert_same_forms(local, reports, CODES)
    for c in CODES:
        assert json.loads((reports / str(YEAR) / c / "result.json").read_text())["status"] == "evaluated"
    # The stored tables too: the same bytes in the shared store as in the local store.
    ours = {
        p.relative_to(stack.env["PERFEVAL_STORE"]): p
        for p in Path(stack.env["PERFEVAL_STORE"]).rglob("*.parquet")
    }
    theirs = {p.relative_to(local.store_dir): p for p in local.store_dir.rglob("*.parquet")}
    assert ours.keys() == theirs.keys() and len(ours) >= 12 * 5
    assert all(ours[k].read_bytes() == theirs[k].read_bytes() for k in ours)
    # Both workers did steps, each step on the queue of its kind.
    workers = {w for w, _ in celery_workers(stack, run_ids)}
    assert workers == {"w1", "w2"}, workers
    from dagster._serdes import deserialize_value

    queued = [
        deserialize_value(row[0]).message
        for row in sql(
            stack,
            "SELECT event FROM event_logs WHERE run_id = ANY(%s) AND event LIKE %s",
            run_ids,
            "%Submitting celery task%",
        )
    ]
    assert len(queued) == 6, queued
    for kind in ("ingest", "score", "render"):
        assert sum(f"perfeval-test-{stack.tag}-{kind}" in q for q in queued) == 2, queued


def test_run_and_event_history_is_in_postgresql(stack, backfill):
    run_ids, _, _ = backfill
    runs = sql(stack, "SELECT run_id, status, pipeline_name FROM runs WHERE run_id = ANY(%s)", run_ids)
    assert sorted(r[0] for r in runs) == sorted(run_ids)
    assert {(r[1], r[2]) for r in runs} == {("SUCCESS", prodstack.JOB)}
    tags = sql(
        stack,
        "SELECT key, value FROM run_tags WHERE run_id = %s AND key LIKE 'dagster/asset_partition%%'",
        run_ids[0],
    )
    assert dict(tags) == {
        prodstack.RANGE_START: key(CODES[0], YEAR),
        prodstack.RANGE_END: key(CODES[5], YEAR),
    }
    kinds = dict(
        sql(
            stack,
            "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = ANY(%s) GROUP BY 1",
            run_ids,
        )
    )
    assert kinds["PIPELINE_SUCCESS"] == 2, kinds  # RUN_SUCCESS, under its stored (legacy) name
    assert kinds["STEP_SUCCESS"] == 6 and kinds["STEP_START"] == 6, kinds
    assert kinds["ASSET_MATERIALIZATION"] >= 12 * 5  # every partition's own materializations
    materialized = sql(
        stack,
        "SELECT DISTINCT partition FROM event_logs WHERE run_id = ANY(%s) AND asset_key = %s",
        run_ids,
        '["feedback_form"]',
    )
    assert sorted(p[0] for p in materialized) == [key(c, YEAR) for c in CODES]
    storage = type(stack.instance().event_log_storage).__name__
    assert storage == "PostgresEventLogStorage"


def test_sigkill_of_a_worker_mid_step_completes_on_the_other(stack, local_reference):
    """The worker running the ingest step loses its whole process group (the machine gone); RabbitMQ
    requeues the unacknowledged step, the other worker runs it from the start, the run succeeds,
    and the outputs are the same bytes as the local profile's with no temp file left anywhere."""
    codes = CODES[:3]
    local = local_reference()
    (run_id,) = run_partitions(stack, codes, per_run=3)
    with stack.instance() as instance:
        deadline = time.monotonic() + 300
        victim = None
        while victim is None and time.monotonic() < deadline:
            rows = celery_workers(stack, run_id, "evaluation.ingest")
            victim = rows[0][0] if rows else None
            time.sleep(0.2)
        assert victim in ("w1", "w2"), (
            f"the ingest step never started: {instance.get_run_by_id(run_id).status}"
        )
        time.sleep(2.0)  # well inside the step (3 partitions: 15-25 s here)
        done = sql(
            stack,
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'STEP_SUCCESS'",
            run_id,
        )[0][0]
        assert done == 0, "the ingest step finished before the kill: nothing was tested"
        killed_at = time.time()
        stack.kill(f"worker-{victim}")
        statuses = prodstack.wait_runs(instance, [run_id], timeout=600)
    assert statuses[run_id] == "SUCCESS", statuses
    executed = celery_workers(stack, run_id, "evaluation.ingest")
    survivor = "w2" if victim == "w1" else "w1"
    assert [w for w, _ in executed] == [victim, survivor], executed
    redelivered_after = executed[1][1].replace(tzinfo=UTC).timestamp() - killed_at
    assert redelivered_after < 30, f"redelivered {redelivered_after:.1f} s after the kill"
    reports, store = Path(stack.env["PERFEVAL_REPORTS"]), Path(stack.env["PERFEVAL_STORE"])
    assert_same_forms(local, reports, codes)
    assert leftovers(store, reports) == []
    for path in store.rglob("*.parquet"):
        pq.read_metadata(path)  # every stored file is whole
    print(
        f"\nproduction: {victim} killed mid-step; ingest redelivered to {survivor} {redelivered_after:.1f} s later"
    )


def test_s3_store_round_trips_and_replaces_atomically(project, local_reference, moto):
    """A partition's tables written to S3 read back equal and as the same Parquet bytes; replacing a
    table while readers read it gives every reader a whole version (never a torn file); a
    superseded version stays readable for the grace period, then is collected."""
    _, settings = project
    local = local_reference()
    with environment(moto):
        s3 = Store(f"s3://perfeval/roundtrip-{uuid.uuid4().hex[:6]}")
        assert isinstance(s3, ObjectStore)
        source = Store(local.store_dir)
        c = CODES[0]
        for ds in (QUALITY, INDICATOR_VALUES, EVIDENCE, SCORES):
            frame = source.read(ds, c, YEAR)
            s3.write(ds, c, YEAR, frame)
            pd.testing.assert_frame_equal(s3.read(ds, c, YEAR), frame)
            assert s3.path(ds, c, YEAR).read_bytes() == source.path(ds, c, YEAR).read_bytes()
        assert s3.exists(SCORES, c, YEAR) and not s3.exists(SCORES, CODES[1], YEAR)

        versions = [
            pd.DataFrame({"v": range(n), "s": [f"行{i}" * (n % 7 + 1) for i in range(n)]})
            for n in range(1, 40)
        ]
        s3.write(SCORES, "race", YEAR, versions[0])
        sizes = {len(v) for v in versions}
        errors, reads, stop = [], [0], threading.Event()

        def reader():
            while not stop.is_set():
                try:
                    got = s3.read(SCORES, "race", YEAR)
                    assert len(got) in sizes and list(got["v"]) == list(range(len(got)))
                    reads[0] += 1
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(repr(exc))

        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for v in versions[1:]:
            s3.write(SCORES, "race", YEAR, v)
        stop.set()
        for t in threads:
            t.join()
        assert errors == [] and reads[0] > 10, (errors[:3], reads)
        pd.testing.assert_frame_equal(s3.read(SCORES, "race", YEAR), versions[-1])
        folder = s3._dir(SCORES, "race", YEAR)
        assert len(s3._generations(folder)) == len(versions)  # all within the grace period
        s3.delete(SCORES, "race", YEAR)
        assert not s3.exists(SCORES, "race", YEAR)
        assert s3.read_optional(SCORES, "race", YEAR) is None
        eager = ObjectStore(s3.url, grace_s=0)
        eager.write(SCORES, "race", YEAR, versions[0])
        assert [g[0] for g in eager._generations(folder)] == [len(versions) + 2]


def test_the_pipeline_writes_to_s3_and_trace_and_sql_read_it(stack, project, local_reference, moto):
    """Two partitions evaluated on the Celery workers with the store on S3 (the resource's store_dir
    set by the run's config); the objects are the local profile's bytes, and `perfeval trace` and
    `perfeval sql` work against the S3 URL."""
    _, settings = project
    local = local_reference()
    codes = CODES[10:12]
    url = f"s3://perfeval/store-{stack.tag}"
    reports = Path(stack.env["PERFEVAL_PROD_DIR"]) / "s3_reports"
    config = {"resources": {"perfeval": {"config": {"store_dir": url, "reports_dir": str(reports)}}}}
    run_ids = run_partitions(stack, codes, per_run=2, run_config=config)
    with stack.instance() as instance:
        statuses = prodstack.wait_runs(instance, run_ids, timeout=600)
    assert set(statuses.values()) == {"SUCCESS"}, statuses
    assert_same_forms(local, reports, codes)
    with environment(moto):
        s3 = Store(url).snapshot()
        source = Store(local.store_dir)
        for ds in (QUALITY, INDICATOR_VALUES, EVIDENCE, SCORES):
            assert set(s3.committed(ds)) == {(c, YEAR) for c in codes}
            for c in codes:
                assert s3.path(ds, c, YEAR).read_bytes() == source.path(ds, c, YEAR).read_bytes()
    assert not (ROOT / "s3:").exists()  # the URL never became a local folder

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERFEVAL_", "DAGSTER_"))}
    env |= moto | {
        "PERFEVAL_CONFIG": str(settings.config_dir),
        "PERFEVAL_LANDING": str(settings.landing_dir),
        "PERFEVAL_STORE": url,
        "PERFEVAL_REPORTS": str(reports),
        "PERFEVAL_S3_CACHE": str(Path(stack.env["PERFEVAL_PROD_DIR"]) / "s3_cache"),
    }
    query = "SELECT department, count(*) AS n, sum(score) AS total FROM scores GROUP BY department ORDER BY department"
    out = subprocess.run(
        [str(BIN / "perfeval"), "sql", "--format", "csv", query],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    from perfeval_pipeline.lineage import sql as lineage_sql

    expected = lineage_sql.query(local, Store(local.store_dir), query).df()
    expected = expected[expected["department"].isin(codes)].reset_index(drop=True)
    got = pd.read_csv(io.StringIO(out.stdout))
    assert list(got["department"]) == codes, out.stdout
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)

    result = json.loads((reports / str(YEAR) / codes[0] / "result.json").read_text())
    indicator = next(i for i in result["indicators"] if i["id"] == "budget_execution_rate")
    trace = subprocess.run(
        [str(BIN / "perfeval"), "trace", codes[0], str(YEAR), indicator["id"], "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert trace.returncode == 0, trace.stderr[-2000:]
    traced = json.loads(trace.stdout)
    assert traced["ok"] is True
    (t,) = traced["traces"]
    assert (t["id"], t["value"], t["display"]) == (indicator["id"], indicator["value"], indicator["display"])
    assert len(t["rows"]) == indicator["evidence_rows"] > 0  # the evidence rows, read from S3
    assert all(r["hash_ok"] for r in t["rows"])  # each checked against its landing file
