"""Worker processes for the local run: forked, parallel, and gone when their runner is.

Usage example (what :func:`helpers.pipeline.runner.run_reports` does)::

    run_jobs(plan.to_run, workers=2, on_result=print)
    run_in_workers(build_one_pack, requests, workers=2)   # any picklable task, same workers

Workers are forked from the runner (they inherit its imports), leave Ctrl-C to it and stop
their report when it sends SIGTERM. A runner killed outright (``kill -9``) takes its workers
with it: each sets ``PR_SET_PDEATHSIG`` and watches its parent, stops its report (the kernel
shuts down, temporary files go) and exits within :data:`PARENT_GRACE` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from types import FrameType
from typing import Any, TypeVar

from helpers.errors import EXIT_INTERRUPTED, StorageError
from helpers.pipeline import job as one_job
from helpers.pipeline.job import JobResult, run_job
from helpers.pipeline.plan import Job

T = TypeVar("T")
R = TypeVar("R")
#: Seconds a worker whose runner has died gives its report to stop (the kernel shut down, the
#: temporary files removed) before it exits regardless.
PARENT_GRACE = 5.0
_WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _worker_stop(signum: int, frame: FrameType | None) -> None:
    """In a worker: stop the running report (its kernel shuts down).

    An idle worker carries on waiting: the pool's shutdown sends it the sentinel that ends it
    (and if the runner has died, :func:`_watch_parent` ends it). Exiting here instead made the
    pool see a worker die, mark itself broken and close its queues under the worker still
    stopping its report, which then failed reading them with an ``EOFError`` traceback.
    """
    one_job.stopping.set()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if one_job.running:
        raise KeyboardInterrupt


def _die_with_parent() -> None:
    """On Linux, have the kernel send this process SIGTERM when its parent dies."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _watch_parent(parent: int) -> None:
    """In a worker: once the runner has died, stop the running report, then exit.

    The pool's call queue never wakes a worker whose runner is dead (the worker holds the
    queue's other end itself), so without this an idle or finished worker would wait forever.
    """
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    if not one_job.stopping.is_set():  # no PR_SET_PDEATHSIG here, or it came before the handler
        os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + PARENT_GRACE
    while one_job.running and time.monotonic() < deadline:  # its kernel shuts down, temp files go
        time.sleep(0.05)
    os._exit(EXIT_INTERRUPTED)


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops them with SIGTERM; they die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # kernels inherit it
    _die_with_parent()
    watch = threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch")
    watch.daemon = True
    watch.start()  # also catches a parent that died before the prctl above


def _stop_pool(pool: ProcessPoolExecutor, futures: dict[Future[Any], Any]) -> None:
    """Cancel pending jobs, then stop running ones and wait for their kernels to shut down."""
    for fut in futures:
        fut.cancel()
    processes = dict(pool._processes or {})
    pool.shutdown(wait=False, cancel_futures=True)
    for pid in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    for proc in processes.values():
        proc.join(timeout=30)
        if proc.is_alive():  # pragma: no cover - a worker stuck past its kernel's shutdown
            proc.kill()


def _result(fut: Future[JobResult], job: Job) -> JobResult:
    try:
        return fut.result()
    except StorageError:  # the machine cannot store reports: the run stops
        raise
    except Exception as exc:  # a worker died: the report failed, the run goes on
        return JobResult(job.name, False, 0.0, f"{type(exc).__name__}: {exc}")


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("fork"),  # workers inherit the imports
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )


def run_in_workers(task: Callable[[T], R], items: list[T], workers: int) -> list[R]:
    """``task`` of each item in forked workers like the reports' (they die with the runner;
    Ctrl-C or SIGTERM stops them), in the items' order; a task's exception is raised here."""
    pool = _pool(min(workers, len(items)))
    futures = {pool.submit(task, item): item for item in items}
    try:
        return [fut.result() for fut in futures]
    except BaseException:
        with _ignoring_signals():
            _stop_pool(pool, futures)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_jobs(jobs: list[Job], workers: int, on_result: Callable[[JobResult], None]) -> None:
    """Run ``jobs`` in ``workers`` forked processes, calling ``on_result`` as each finishes."""
    if not jobs:
        return
    pool = _pool(min(workers, len(jobs)))
    futures = {pool.submit(run_job, job): job for job in jobs}
    try:
        for fut in as_completed(futures):
            on_result(_result(fut, futures[fut]))
    except (KeyboardInterrupt, StorageError):
        with _ignoring_signals():
            _stop_pool(pool, futures)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while the pool is being stopped (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
