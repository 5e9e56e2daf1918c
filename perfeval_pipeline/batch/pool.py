"""Worker processes for a batch: jobs fan out over `workers` processes (spawned, so a threaded
caller such as a Dagster run is safe), results come back as they finish. One worker, or one job,
runs in-process: a single partition never pays for starting a process."""

from __future__ import annotations

import atexit
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool


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
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
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
