"""The production profile on one machine: the Dagster webserver, the daemon and N Celery workers as
background processes against PostgreSQL, RabbitMQ and Redis (prod.env), and a backfill launcher.

    python deploy/production/prodstack.py up --workers 2     # make prod-up PROD_WORKERS=2
    python deploy/production/prodstack.py status
    python deploy/production/prodstack.py backfill --year 2023 --per-run 3 --wait
    python deploy/production/prodstack.py down [--drain]     # make prod-down
    eval "$(python deploy/production/prodstack.py env)"       # the stack's environment in a shell

Every process runs in its own session (setsid), so its pid is its process group; pids are kept in
$PERFEVAL_PROD_DIR/run/<name>.pid and logs in $PERFEVAL_PROD_DIR/logs/<name>.log. Only those recorded
groups are ever signalled. Workers are plain `celery -A dagster_celery.app worker` processes whose
settings come from celery/dagster_celery_config.py (on their PYTHONPATH), so the recorded pid is the
worker's main process: SIGTERM to it is a warm shutdown (the running step finishes), SIGKILL to its
group is the loss of the machine.

Also a library: tests/test_production.py and bench.py start their own stacks with it."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shlex
import shutil
import signal
import socket
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = Path(sys.executable).parent
JOB = "evaluate_department_year"
LOCATION = "perfeval"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
# Taken from prod.env even when the caller's environment has them (the main Makefile exports the
# local profile's DAGSTER_HOME).
STACK_OWNED = {"DAGSTER_HOME"}
QUEUE_VARS = ("PERFEVAL_QUEUE_INGEST", "PERFEVAL_QUEUE_SCORE", "PERFEVAL_QUEUE_RENDER")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


# --- environment -------------------------------------------------------------------------------------
def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), value)


def load_env(
    base: Mapping[str, str] | None = None, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The stack's environment: `base` (default os.environ) and `overrides` win over prod.env, except
    for the stack-owned DAGSTER_HOME; $VAR references in prod.env are expanded in order."""
    env = dict(os.environ if base is None else base)
    env.update(overrides or {})
    env.setdefault("PERFEVAL_ROOT", str(ROOT))
    for line in (HERE / "prod.env").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key in STACK_OWNED and not (overrides and key in overrides):
            env[key] = _expand(value, env)
        elif key not in env:
            env[key] = _expand(value, env)
    return env


def free_port() -> int:
    """A TCP port that is free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(
    prefix: str,
    folder: Path,
    settings: Mapping[str, str],
    strip: tuple[str, ...] = ("PERFEVAL_", "DAGSTER_"),
) -> tuple[dict[str, str], str]:
    """The environment of a stack that runs beside others on one machine (a benchmark, a test
    session), and its tag: this process's environment without the variables that would point it
    elsewhere (`strip`); a PostgreSQL database, a web port and step queues of its own, named
    `{prefix}-{tag}`; its state under `folder`; `settings` on top."""
    tag = uuid.uuid4().hex[:8]
    queues = {v: f"{prefix}-{tag}-{v.rsplit('_', 1)[1].lower()}" for v in QUEUE_VARS}
    base = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    env = load_env(
        base,
        {
            "PERFEVAL_PROD_DIR": str(folder / "prod"),
            "DAGSTER_HOME": str(folder / "prod" / "dagster_home"),
            "PERFEVAL_PG_DB": f"{prefix.replace('-', '_')}_{tag}",
            "PERFEVAL_PROD_WEB_PORT": str(free_port()),
            **queues,
            **settings,
        },
    )
    return env, tag


def delete_queues(env: Mapping[str, str]) -> None:
    """Delete the stack's step queues on its broker, so a stack that ran beside others leaves none
    behind. Best effort: the broker may be gone already."""
    with contextlib.suppress(Exception):
        from kombu import Connection

        with Connection(env["PERFEVAL_CELERY_BROKER"], connect_timeout=3) as conn:
            for var in QUEUE_VARS:
                conn.default_channel.queue_delete(env[var])


def worker_queues(env: Mapping[str, str]) -> str:
    """The queues a worker listens on: PERFEVAL_WORKER_QUEUES, else every step kind's queue."""
    given = env.get("PERFEVAL_WORKER_QUEUES", "").strip()
    if given:
        return given
    queues = [env[v] for v in QUEUE_VARS if env.get(v)]
    return ",".join(dict.fromkeys(queues)) or "dagster"


def pg_connect(env: Mapping[str, str], dbname: str | None = None, timeout: int = 3):
    import psycopg2

    conn = psycopg2.connect(
        host=env["PERFEVAL_PG_HOST"],
        port=int(env["PERFEVAL_PG_PORT"]),
        user=env["PERFEVAL_PG_USER"],
        password=env.get("PERFEVAL_PG_PASSWORD") or None,
        dbname=dbname or env["PERFEVAL_PG_DB"],
        connect_timeout=timeout,
    )
    conn.autocommit = True
    return conn


def ensure_database(env: Mapping[str, str]) -> bool:
    """Create PERFEVAL_PG_DB when missing (Dagster creates its tables on first use); True if created."""
    name = env["PERFEVAL_PG_DB"]
    with contextlib.closing(pg_connect(env, "postgres")) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone():
            return False
        cur.execute(f'CREATE DATABASE "{name}"')
        return True


def drop_database(env: Mapping[str, str]) -> None:
    name = env["PERFEVAL_PG_DB"]
    with contextlib.closing(pg_connect(env, "postgres")) as conn, conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render_instance_yaml(env: Mapping[str, str]) -> str:
    """deploy/production/dagster.yaml with every {env: VAR} replaced by its value, so that any process
    (a test, a script) can open the instance from DAGSTER_HOME without the stack's environment."""
    import yaml

    def resolve(node):
        if isinstance(node, dict):
            if set(node) == {"env"}:
                value = env.get(node["env"])
                if value is None:
                    raise KeyError(f"dagster.yaml needs {node['env']} (prod.env)")
                return int(value) if value.isdigit() else value
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    config = yaml.safe_load((HERE / "dagster.yaml").read_text(encoding="utf-8"))
    return yaml.safe_dump(resolve(config), sort_keys=False)


# --- processes ---------------------------------------------------------------------------------------
def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pgid, os.WNOHANG)  # reap when we are the parent
        if not _group_alive(pgid):
            return True
        time.sleep(0.2)
    return not _group_alive(pgid)


class Stack:
    """The processes of one stack, recorded under `folder` (PERFEVAL_PROD_DIR)."""

    def __init__(self, env: Mapping[str, str]):
        self.env = dict(env)
        self.dir = Path(self.env["PERFEVAL_PROD_DIR"])
        self.run_dir = self.dir / "run"
        self.log_dir = self.dir / "logs"
        self.home = Path(self.env["DAGSTER_HOME"])

    # setup ------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        for d in (self.run_dir, self.log_dir, self.home):
            d.mkdir(parents=True, exist_ok=True)
        for var in ("PERFEVAL_ARTIFACTS", "PERFEVAL_COMPUTE_LOGS"):
            Path(self.env[var]).mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(render_instance_yaml(self.env), encoding="utf-8")
        shutil.copyfile(HERE / "workspace.yaml", self.dir / "workspace.yaml")
        ensure_database(self.env)

    def instance(self):
        import dagster as dg

        return dg.DagsterInstance.from_config(str(self.home))

    # processes --------------------------------------------------------------------------------------
    def pidfile(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            return int(self.pidfile(name).read_text())
        return None

    def alive(self, name: str) -> bool:
        pid = self.pid(name)
        return pid is not None and _group_alive(pid)

    def names(self) -> list[str]:
        return sorted(p.stem for p in self.run_dir.glob("*.pid"))

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> int:
        import subprocess

        if self.alive(name):
            return self.pid(name)  # type: ignore[return-value]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log(name), "ab") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=dict(env or self.env),
                start_new_session=True,  # its own process group: pid == pgid
            )
        self.pidfile(name).write_text(str(proc.pid))
        return proc.pid

    def start_web(self) -> int:
        return self.spawn(
            "web",
            [
                str(BIN / "dagster-webserver"),
                "-w",
                str(self.dir / "workspace.yaml"),
                "-h",
                self.env["PERFEVAL_PROD_WEB_HOST"],
                "-p",
                self.env["PERFEVAL_PROD_WEB_PORT"],
            ],
        )

    def start_daemon(self) -> int:
        return self.spawn(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(self.dir / "workspace.yaml")]
        )

    def start_worker(self, name: str, queues: str | None = None, concurrency: int | None = None) -> int:
        """`celery -A dagster_celery.app worker` with perfeval's worker settings; queues as ONE
        comma-separated -Q (celery keeps only the last of several -Q)."""
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE / "celery"), *filter(None, [env.get("PYTHONPATH")])])
        return self.spawn(
            f"worker-{name}",
            [
                str(BIN / "celery"),
                "-A",
                "dagster_celery.app",
                "worker",
                "-n",
                f"{name}@%h",
                "-Q",
                queues or worker_queues(self.env),
                "--concurrency",
                str(concurrency or int(self.env.get("PERFEVAL_WORKER_CONCURRENCY", "1"))),
                "--prefetch-multiplier",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ],
            env,
        )

    def workers(self) -> list[str]:
        return [n.removeprefix("worker-") for n in self.names() if n.startswith("worker-")]

    # readiness --------------------------------------------------------------------------------------
    def web_url(self) -> str:
        return f"http://{self.env['PERFEVAL_PROD_WEB_HOST']}:{self.env['PERFEVAL_PROD_WEB_PORT']}"

    def wait_web(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.web_url() + "/server_info", timeout=2) as r:
                    if r.status == 200:
                        return
            if not self.alive("web"):
                raise RuntimeError(f"the webserver exited; see {self.log('web')}")
            time.sleep(0.3)
        raise TimeoutError(
            f"webserver not answering at {self.web_url()} after {timeout:.0f} s; see {self.log('web')}"
        )

    def wait_worker(self, name: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        marker = f"{name}@"
        while time.monotonic() < deadline:
            text = (
                self.log(f"worker-{name}").read_text(errors="replace")
                if self.log(f"worker-{name}").exists()
                else ""
            )
            if any(marker in line and " ready." in line for line in text.splitlines()):
                return
            if not self.alive(f"worker-{name}"):
                raise RuntimeError(f"worker {name} exited; see {self.log(f'worker-{name}')}")
            time.sleep(0.3)
        raise TimeoutError(f"worker {name} not ready after {timeout:.0f} s; see {self.log(f'worker-{name}')}")

    def wait_daemon(self, timeout: float = 120) -> None:
        """Until the daemon's run coordinator has sent a heartbeat to the instance."""
        deadline = time.monotonic() + timeout
        with self.instance() as instance:
            while time.monotonic() < deadline:
                beats = instance.get_daemon_heartbeats()
                if "QUEUED_RUN_COORDINATOR" in beats:
                    return
                if not self.alive("daemon"):
                    raise RuntimeError(f"the daemon exited; see {self.log('daemon')}")
                time.sleep(0.5)
        raise TimeoutError(f"daemon not running after {timeout:.0f} s; see {self.log('daemon')}")

    def up(self, workers: int, queues: str | None = None) -> None:
        self.prepare()
        self.start_web()
        self.start_daemon()
        for i in range(1, workers + 1):
            self.start_worker(f"w{i}", queues)
        self.wait_web()
        for i in range(1, workers + 1):
            self.wait_worker(f"w{i}")
        self.wait_daemon()

    # stopping ---------------------------------------------------------------------------------------
    def kill(self, name: str) -> None:
        """SIGKILL the whole process group: the machine is lost, nothing gets to clean up."""
        pid = self.pid(name)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
            self.pidfile(name).unlink(missing_ok=True)

    def stop(self, name: str, timeout: float = 60) -> None:
        """Workers: SIGTERM to the celery main process only (warm shutdown: the running step
        finishes). Others: SIGTERM to the group. Then SIGKILL whatever is left after `timeout`."""
        pid = self.pid(name)
        if pid is None:
            return
        if _group_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                if name.startswith("worker-"):
                    os.kill(pid, signal.SIGTERM)
                else:
                    os.killpg(pid, signal.SIGTERM)
            if not _wait_gone(pid, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
        self.pidfile(name).unlink(missing_ok=True)

    def drain(self, timeout: float = 600) -> int:
        """Wait until no run is starting, started or canceling (run workers are children of the
        daemon's code server: stopping the daemon fails them). Returns the runs still in flight."""
        import dagster as dg

        busy = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
        deadline = time.monotonic() + timeout
        with self.instance() as instance:
            while (
                n := instance.get_runs_count(dg.RunsFilter(statuses=busy))
            ) and time.monotonic() < deadline:
                print(f"prod: draining, {n} run(s) in flight", flush=True)
                time.sleep(2)
        return n

    def down(self, drain: bool = False, worker_timeout: float = 300) -> None:
        """Workers first (warm: each finishes its step), then the daemon and the webserver; the
        processes of one kind are signalled together and waited for together."""
        if drain and self.alive("daemon"):
            self.drain()
        self._stop_all([f"worker-{w}" for w in self.workers()], worker_timeout)
        self._stop_all([n for n in ("daemon", "web") if n in self.names()], 30)

    def _stop_all(self, names: list[str], timeout: float) -> None:
        pids = {n: self.pid(n) for n in names}
        for name, pid in pids.items():
            if pid is not None and _group_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    if name.startswith("worker-"):
                        os.kill(pid, signal.SIGTERM)
                    else:
                        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, pid in pids.items():
            if pid is not None and not _wait_gone(pid, max(0.0, deadline - time.monotonic())):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                _wait_gone(pid, 10)
            self.pidfile(name).unlink(missing_ok=True)

    def status(self) -> list[tuple[str, int | None, bool]]:
        return [(n, self.pid(n), self.alive(n)) for n in self.names()]


# --- launching -----------------------------------------------------------------------------------------
def chunks(keys: list[str], per_run: int) -> list[list[str]]:
    per_run = max(1, per_run)
    return [keys[i : i + per_run] for i in range(0, len(keys), per_run)]


def run_tags(keys: list[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    tags = {"dagster/partition": keys[0]} if len(keys) == 1 else {RANGE_START: keys[0], RANGE_END: keys[-1]}
    return {**tags, **(extra or {})}


def plan_runs(all_keys: list[str], selected: Iterable[str], per_run: int) -> list[list[str]]:
    """The selection as runs of at most `per_run` partitions, each a contiguous range of the job's
    partition keys (Dagster runs a range as one run)."""
    wanted = set(selected)
    runs: list[list[str]] = []
    current: list[str] = []
    for k in all_keys:
        if k in wanted:
            current.append(k)
        elif current:
            runs += chunks(current, per_run)
            current = []
    if current:
        runs += chunks(current, per_run)
    return runs


def submit(stack: Stack, keys: list[str], tags: Mapping[str, str] | None = None) -> str:
    """Submit one run of the evaluation job over `keys` (a contiguous range) through the webserver's
    GraphQL API; it is queued, then the daemon starts it."""
    from dagster_graphql import DagsterGraphQLClient

    host, port = stack.env["PERFEVAL_PROD_WEB_HOST"], int(stack.env["PERFEVAL_PROD_WEB_PORT"])
    client = DagsterGraphQLClient(host, port_number=port)
    return client.submit_job_execution(
        JOB, repository_location_name=LOCATION, repository_name="__repository__", tags=run_tags(keys, tags)
    )


def wait_runs(instance, run_ids: list[str], timeout: float = 1800, poll: float = 0.5) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        statuses = {r: instance.get_run_by_id(r).status.value for r in run_ids}
        if all(s in TERMINAL for s in statuses.values()):
            return statuses
        time.sleep(poll)
    raise TimeoutError(f"runs not finished after {timeout:.0f} s: {statuses}")


def backfill(stack: Stack, keys: list[str], per_run: int, tags: Mapping[str, str] | None = None) -> list[str]:
    """Submit `keys` as contiguous runs of at most `per_run` partitions; run retries as a safety net."""
    from perfeval_pipeline.config.settings import load_settings
    from perfeval_pipeline.orchestration.partitions import Partitions

    with _environment(stack.env):
        settings = load_settings()
    runs = plan_runs(Partitions(settings).keys, keys, per_run)
    label = time.strftime("%Y%m%d-%H%M%S")
    base = {"dagster/max_retries": "1", "perfeval/backfill": label, **(tags or {})}
    return [submit(stack, r, base) for r in runs]


@contextlib.contextmanager
def _environment(env: Mapping[str, str]):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- command line ------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prodstack", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start the webserver, the daemon and N workers")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--queues", help="comma-separated queues of the workers (default: every step kind's)")
    down = sub.add_parser("down", help="stop every process of the stack")
    down.add_argument(
        "--drain", action="store_true", help="wait for runs in flight before stopping the daemon"
    )
    sub.add_parser("status", help="the stack's processes")
    sub.add_parser("env", help="print the stack's environment as shell exports")
    worker = sub.add_parser("worker", help="start one more worker")
    worker.add_argument("name")
    worker.add_argument("--queues")
    worker.add_argument("--concurrency", type=int)
    bf = sub.add_parser(
        "backfill", help="evaluate department-years on the stack, as runs of --per-run partitions"
    )
    bf.add_argument("--year", "-y", type=int, action="append")
    bf.add_argument("--department", "-d", action="append")
    bf.add_argument(
        "--per-run", type=int, default=0, help="partitions per run (default: spread over the workers)"
    )
    bf.add_argument("--wait", action="store_true")
    args = parser.parse_args(argv)

    env = load_env()
    stack = Stack(env)
    if args.cmd == "env":
        for k in sorted(k for k in env if k.startswith("PERFEVAL_") or k in STACK_OWNED):
            print(f"export {k}={shlex.quote(env[k])}")
        return 0
    if args.cmd == "up":
        t0 = time.monotonic()
        stack.up(args.workers, args.queues)
        print(
            f"prod: up in {time.monotonic() - t0:.1f} s — UI {stack.web_url()}, {args.workers} worker(s) on "
            f"{args.queues or worker_queues(env)}, DAGSTER_HOME={stack.home}, logs {stack.log_dir}"
        )
        return 0
    if args.cmd == "worker":
        stack.start_worker(args.name, args.queues, args.concurrency)
        stack.wait_worker(args.name)
        print(f"prod: worker {args.name} ready")
        return 0
    if args.cmd == "down":
        t0 = time.monotonic()
        stack.down(drain=args.drain)
        print(f"prod: down in {time.monotonic() - t0:.1f} s")
        return 0
    if args.cmd == "status":
        rows = stack.status()
        for name, pid, alive in rows:
            print(f"{name:<16} pid {pid}  {'up' if alive else 'DOWN'}")
        if not rows:
            print(f"prod: nothing recorded under {stack.run_dir}")
        return 0
    if args.cmd == "backfill":
        from perfeval_pipeline.config.settings import load_settings
        from perfeval_pipeline.orchestration.partitions import key

        with _environment(env):
            settings = load_settings()
        keys = [
            key(d, y)
            for d, y in settings.partitions
            if (not args.year or y in args.year) and (not args.department or d in args.department)
        ]
        if not keys:
            print("prod: nothing selected", file=sys.stderr)
            return 2
        per_run = args.per_run or math.ceil(len(keys) / max(1, len(stack.workers())))
        t0 = time.monotonic()
        run_ids = backfill(stack, keys, per_run)
        print(f"prod: {len(keys)} partition(s) in {len(run_ids)} run(s): {' '.join(run_ids)}")
        if args.wait:
            with stack.instance() as instance:
                statuses = wait_runs(instance, run_ids)
            for r, s in statuses.items():
                print(f"{r} {s}")
            print(f"prod: finished in {time.monotonic() - t0:.1f} s")
            return 0 if all(s == "SUCCESS" for s in statuses.values()) else 3
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
