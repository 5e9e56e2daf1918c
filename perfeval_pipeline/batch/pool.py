"""Worker processes for a batch: jobs fan out over `workers` processes, results come back as they
finish. One worker, or one job, runs in-process: a single partition never pays for starting a process.

Workers are forked from a fork server (multiprocessing's "forkserver"): a process started afresh
(so a threaded caller such as a Dagster run is safe) that imports the stages' libraries once. Each
worker then starts with them imported instead of importing them itself: Great Expectations alone
costs ~8 s of CPU per process here."""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

# What the phases (batch/phases.py) import, imported once in the fork server.
PRELOAD = (
    "great_expectations",
    "perfeval_pipeline.batch.phases",
    "perfeval_pipeline.quality.stage",
    "perfeval_pipeline.indicators.stage",
    "perfeval_pipeline.indicators.peers",
    "perfeval_pipeline.scoring.stage",
    "perfeval_pipeline.findings.stage",
    "perfeval_pipeline.render.stage",
    "perfeval_pipeline.lineage.manifest",
)


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))  # takes effect when the server first starts
    return context


def default_workers(configured: int = 0) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def _init_worker() -> None:
    # Each worker is one core's worth of work: libraries must not start thread pools of their own.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "ARROW_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        import pyarrow

        pyarrow.set_cpu_count(1)
        pyarrow.set_io_thread_count(2)
    except Exception:  # noqa: BLE001 - thread tuning is best effort
        pass


class Pool:
    """A lazily started process pool shared by the phases of one batch."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self._executor: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, jobs: Iterable[tuple]) -> Iterator[tuple[tuple, object]]:
        """(job, fn(*job)) as each finishes; in-process when there is one worker or one job."""
        jobs = list(jobs)
        if self.workers == 1 or len(jobs) <= 1:
            for job in jobs:
                yield job, fn(*job)
            return
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_init_worker
            )
        pending = {self._executor.submit(fn, *job): job for job in jobs}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    yield job, future.result()
        except BrokenProcessPool:
            self._executor = None  # a worker died: the next map starts fresh processes
            raise

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_SHARED: dict[int, Pool] = {}


def shared_pool(workers: int) -> Pool:
    """The process's pool of `workers` processes, started once and reused by every batch (the three
    steps of a Dagster run each make a batch: one pool means the workers import their libraries
    once per run, not once per step). Closed when the process exits."""
    workers = max(1, workers)
    if workers not in _SHARED:
        _SHARED[workers] = Pool(workers)
    return _SHARED[workers]


@atexit.register
def _close_shared() -> None:
    for pool in _SHARED.values():
        pool.close()
