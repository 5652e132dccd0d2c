"""Run the planned reports in parallel worker processes: ``make reports`` lands here.

Usage example::

    reports_command(periods=["2011-12-Q1"], jobs=2, force=False, scheduler=None)

Every params file is checked before any kernel starts, each period's processed data is built
once, and only stale reports run (:mod:`helpers.pipeline.plan`). :func:`run_job` is the whole life of
one report (papermill, then HTML, then files moved into place, the stamp last); it takes a
picklable :class:`~helpers.pipeline.plan.Job` and returns a picklable :class:`JobResult`, so any pool
of workers can run it. A failed report keeps its executed notebook as ``<org>.failed.ipynb``
and never touches the last good outputs; it is removed once the report is good again (rerun,
or up to date because its inputs were put back). Ctrl-C or SIGTERM cancels pending reports,
shuts running kernels down and removes temporary files. A runner killed outright (``kill -9``) takes
its workers with it: each notices its parent's death, stops its report and exits within
:data:`PARENT_GRACE` seconds; the next run of the period takes the lock over and removes the
temporary files it left. A folder the run may not write or a full disk stops it with a
:class:`~helpers.errors.StorageError` (:mod:`helpers.files`). With ``scheduler`` the same jobs
go to a Dask cluster's workers instead (:mod:`helpers.pipeline.distributed`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

from tqdm import tqdm

from helpers.data.periods import Period
from helpers.data.store import build_processed
from helpers.data.validate import clear_problems, problems_path, record_problems
from helpers.errors import LockError, ParameterError, StorageError, ValidationError
from helpers.files import pid_alive, remove_temp_files, storage_faults, write_atomic
from helpers.kernels.forkserver import warm_kernels
from helpers.pipeline.export import export_period, exports_current, notebook_html, now, provenance
from helpers.pipeline.params import Dirs, PeriodParams, load_params, params_files
from helpers.pipeline.plan import Job, Plan, build_plan, canonical_json

log = logging.getLogger("helpers.pipeline.runner")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
INTERRUPTED = 130
#: Kernel command-line options: keep the kernel's own start-up warnings out of the terminal.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]
#: Seconds a worker whose runner has died gives its report to stop (the kernel shut down, the
#: temporary files removed) before it exits regardless.
PARENT_GRACE = 5.0
_WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class JobResult:
    """What became of one job (picklable)."""

    name: str  # period/family/org
    ok: bool
    seconds: float
    error: str = ""  # one line: the failing cell and its exception
    details: str = ""  # the traceback, for the log
    kept: str = ""  # where the failed run's executed notebook was kept, if anywhere


# --- one job --------------------------------------------------------------------------------

_running: set[str] = set()  # jobs running in this process (read by the worker's signal handler)
_stopping = threading.Event()  # set in a worker process once it has been told to stop


def _mark_provenance(nb: Any, job: Job, started: str) -> None:
    nb.metadata["nhs_kit"] = {
        **job.provenance,
        "period": job.period,
        "family": job.family,
        "org_code": job.org_code,
        "fingerprint": job.fingerprint,
        "started": started,
        "finished": now(),
    }


def _cell_label(index: int, count: object, source: str) -> str:
    first = next((line for line in source.splitlines() if line.strip()), "")
    return f"cell {index} (In [{count}]: {first.strip()[:60]})"


def _last_started_cell() -> str:
    """The cell papermill last started in the notebook being executed ('' if unknown)."""
    from helpers.pipeline import engine

    started = engine.started_cells()
    if not started:
        return ""
    index, cell = started[-1]
    return _cell_label(index, cell.get("execution_count"), cell.get("source", ""))


def _failure(exc: BaseException) -> tuple[str, str]:
    """One line naming the failing cell and the error, and the traceback for the log."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        line = (
            f"{_cell_label(exc.cell_index, exc.exec_count, exc.source)}: {exc.ename}: {exc.evalue}"
        )
        return line, _ANSI.sub("", "\n".join(exc.traceback))
    error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    cell = _last_started_cell()  # a timeout or a dead kernel: the cell that was running
    return (f"{cell}: {error}" if cell else error), ""


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while files are moved into place (any thread)."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _keep_failed(job: Job, started: str) -> bool:
    """Keep the failed run's executed cells as ``<org>.failed.ipynb`` (never the good file)."""
    import nbformat

    from helpers.pipeline import engine

    nb = engine.partial_notebook()  # also holds papermill's error cell, if it added one
    if nb is None:  # the kernel never got the notebook
        return False
    _mark_provenance(nb, job, started)
    tmp_nb = temp_paths(job)[0]
    with storage_faults(job.failed):
        nbformat.write(nb, tmp_nb)  # type: ignore[no-untyped-call]
        tmp_nb.replace(job.failed)
    return True


def _failed(job: Job, exc: BaseException, t0: float, started: str) -> JobResult:
    """The result of a report that failed, its executed cells kept aside."""
    error, details = _failure(exc)
    kept = _keep_failed(job, started)
    shown = f"outputs/{job.period}/{job.family}/{job.failed.name}" if kept else ""
    return JobResult(job.name, False, time.monotonic() - t0, error, details, shown)


def temp_paths(job: Job) -> tuple[Path, Path]:
    """Where a run of ``job`` writes its notebook and HTML before moving them into place."""
    return (
        job.output_dir / f".{job.org_code}.tmp.ipynb",  # names matched by files.TEMP_NAME
        job.output_dir / f".{job.org_code}.tmp.html",
    )


def _kernel_never_ran(exc: BaseException) -> bool:
    """Whether a run failed before its kernel executed any cell (e.g. a port clash at start)."""
    from papermill.exceptions import PapermillExecutionError

    from helpers.pipeline import engine

    if isinstance(exc, PapermillExecutionError | KeyboardInterrupt):
        return False
    return not engine.started_cells()


def _execute(job: Job) -> Any:
    """papermill in a fresh kernel; a kernel that fails to start is started once more.

    jupyter_client picks free ports just before the kernel binds them, so under load two
    kernels starting at once can clash (``ZMQError: Address already in use``); no cell has run
    then, so a second attempt is safe. papermill writes nothing: :func:`run_job` writes the
    executed notebook itself, so that every write of a report goes through
    :func:`~helpers.files.storage_faults`.
    """
    import papermill

    from helpers.pipeline import engine

    for attempt in (1, 2):
        engine.forget()
        try:
            return papermill.execute_notebook(
                job.notebook,
                None,
                parameters=job.parameters,
                kernel_name=job.kernel_name,
                cwd=job.notebook.parent,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                shutdown_kernel="immediate",  # no stall in the kernel's SIGINT handler
                extra_arguments=KERNEL_ARGUMENTS,
                execution_timeout=job.cell_timeout,
                engine_name=engine.ENGINE_NAME,
            )
        except Exception as exc:
            if attempt == 2 or _stopping.is_set() or not _kernel_never_ran(exc):
                raise
            log.warning("%s: the kernel did not start (%s); starting another", job.name, exc)
    raise AssertionError("unreachable")  # pragma: no cover


def run_job(job: Job) -> JobResult:
    """Execute one report with papermill, write its HTML, move both into place, stamp it."""
    import nbformat

    if _stopping.is_set():
        raise KeyboardInterrupt("the run is stopping")
    t0 = time.monotonic()
    started = now()
    tmp_nb, tmp_html = temp_paths(job)
    _running.add(job.name)
    try:
        with storage_faults(job.ipynb):
            job.output_dir.mkdir(parents=True, exist_ok=True)
        try:
            nb = _execute(job)
            _mark_provenance(nb, job, started)
            html = notebook_html(nb, job.title)
        except Exception as exc:
            if _stopping.is_set():  # its kernel went with the run: not the report's failure
                raise KeyboardInterrupt("the run is stopping") from exc
            return _failed(job, exc, t0, started)
        with storage_faults(job.ipynb):
            nbformat.write(nb, tmp_nb)  # type: ignore[no-untyped-call]
        with storage_faults(job.html):
            tmp_html.write_text(html, encoding="utf-8")
        stamp = {"fingerprint": job.fingerprint, "started": started, "finished": now()}
        with _signals_deferred(), storage_faults(job.ipynb):
            tmp_nb.replace(job.ipynb)
            tmp_html.replace(job.html)
            job.failed.unlink(missing_ok=True)
            write_atomic(job.stamp, canonical_json(stamp) + "\n")
        return JobResult(job.name, True, time.monotonic() - t0)
    finally:
        for tmp in (tmp_nb, tmp_html):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        _running.discard(job.name)  # last: a worker whose runner died waits for this


# --- worker processes -----------------------------------------------------------------------


def _worker_stop(signum: int, frame: FrameType | None) -> None:
    """In a worker: stop the running report (its kernel shuts down), or exit if idle."""
    _stopping.set()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if _running:
        raise KeyboardInterrupt
    raise SystemExit(0)


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
    if not _stopping.is_set():  # no PR_SET_PDEATHSIG here, or it came before the handler
        os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + PARENT_GRACE
    while _running and time.monotonic() < deadline:  # its kernel shuts down, temp files go
        time.sleep(0.05)
    os._exit(INTERRUPTED)


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the parent, which stops them with SIGTERM; they die with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_stop)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # kernels inherit it
    _die_with_parent()
    watch = threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch")
    watch.daemon = True
    watch.start()  # also catches a parent that died before the prctl above


def _stop_pool(pool: ProcessPoolExecutor, futures: dict[Future[JobResult], Job]) -> None:
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


def run_jobs(jobs: list[Job], workers: int, on_result: Callable[[JobResult], None]) -> None:
    """Run ``jobs`` in ``workers`` forked processes, calling ``on_result`` as each finishes."""
    if not jobs:
        return
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(workers, len(jobs))),
        mp_context=multiprocessing.get_context("fork"),  # workers inherit the imports
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
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


# --- signals and locks in the parent --------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while reports run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _ignoring_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _try_lock(fh: IO[str]) -> bool:
    """Take a POSIX record lock on the whole file; False if another process holds it."""
    try:
        fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True


def _taken_over(previous: str) -> str:
    """How to describe the holder a killed run left named in the lock file."""
    pid = re.fullmatch(r"pid (\d+)", previous)
    if pid and pid_alive(int(pid[1])):  # its pid is in use again, by another process
        return f"taking over the lock of {previous}, which no longer holds it"
    return f"taking over the lock of {previous}, which is no longer running"


@contextlib.contextmanager
def period_lock(output_dir: Path, dirs: Dirs | None = None) -> Iterator[None]:
    """Hold ``outputs/<period>/.lock``; LockError at once if another run holds it.

    The lock is a POSIX record lock (``lockf``), not ``flock``: it belongs to this process
    alone, so the workers and kernels forked from it never hold it (an inherited ``flock``
    outlived a runner killed with ``kill -9`` in its orphaned workers), and the system drops
    it when this process dies. It is also dropped if this process closes any descriptor of the
    file, so nothing else in the runner opens it. While held the file names the holder's pid;
    a pid still named when the lock is free was left by a killed run, and is reported.
    """
    dirs = dirs or Dirs()
    path = output_dir / ".lock"
    with storage_faults(path):
        output_dir.mkdir(parents=True, exist_ok=True)
        fh = path.open("a+", encoding="utf-8")
    with fh:
        with storage_faults(path):
            locked = _try_lock(fh)
        fh.seek(0)
        previous = fh.read().strip()
        if not locked:
            raise LockError(
                f"another run of {output_dir.name} is in progress ({dirs.show(path)} is held "
                f"by {previous or 'another process'}); wait for it to finish, then run again"
            )
        if previous:
            _say(f"{output_dir.name}: {_taken_over(previous)}")
        try:
            with storage_faults(path):
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()}\n")
                fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
                fh.flush()
            fcntl.lockf(fh, fcntl.LOCK_UN)


# --- the command ----------------------------------------------------------------------------


def select_params(periods: list[str] | None, dirs: Dirs) -> list[Path]:
    """The params files to run: the named periods, or every params/*.yaml in time order."""
    if not periods:
        files = params_files(dirs)
        if not files:
            raise ParameterError(f"no params files in {dirs.show(dirs.params)}")
        return files
    chosen = sorted({Period.parse(p) for p in periods})
    files = [dirs.params / f"{p}.yaml" for p in chosen]
    for p, f in zip(chosen, files, strict=True):
        if not f.is_file():
            raise ParameterError(
                f"{dirs.show(f)} does not exist: write it with `make new-period PERIOD={p}`"
            )
    return files


def _open_log(plan: Plan, stamp: str, stack: contextlib.ExitStack) -> IO[str]:
    path = plan.output_dir / "logs" / f"run-{stamp}.log"
    with storage_faults(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("w", encoding="utf-8")
    stack.callback(_close_log, fh)
    return fh


def _close_log(fh: IO[str]) -> None:
    with contextlib.suppress(OSError):  # a line that could not be written was reported then
        fh.close()


def _note(fh: IO[str], text: str) -> None:
    with storage_faults(Path(fh.name)):
        fh.write(f"{now()} {text}\n")
        fh.flush()


def _note_all(logs: dict[str, IO[str]], text: str) -> None:
    """The same line in every period's log, as far as each can still be written."""
    for fh in logs.values():
        with contextlib.suppress(StorageError):
            _note(fh, text)


class _Progress:
    """The progress bar and the per-period logs, updated as results come in."""

    def __init__(self, plans: list[Plan], logs: dict[str, IO[str]]) -> None:
        self.logs = logs
        self.failed: dict[str, JobResult] = {}
        self.done = 0
        self.skipped = sum(len(p.skipped) for p in plans)
        total = sum(len(p.to_run) for p in plans)
        self.bar = tqdm(total=total, unit="report", desc="reports", file=sys.stderr, disable=None)
        self._postfix()

    def _postfix(self) -> None:
        self.bar.set_postfix(done=self.done, skipped=self.skipped, failed=len(self.failed))

    def __call__(self, result: JobResult) -> None:
        fh = self.logs[result.name.split("/")[0]]
        if result.ok:
            self.done += 1
            _note(fh, f"done    {result.name} in {result.seconds:.1f} s")
        else:
            self.failed[result.name] = result
            _note(fh, f"FAILED  {result.name}: {result.error}\n{result.details}")
            self.bar.write(f"failed: {result.name}: {result.error}", file=sys.stderr)
        self._postfix()
        self.bar.update(1)


def _validate_returns(params: PeriodParams, dirs: Dirs) -> None:
    """Validate the period's returns (and build its processed layer); ValidationError if bad.

    A refused period's problems are all written to ``outputs/<period>/validation.csv`` (and
    the message points there); once its returns are valid that list is removed.
    """
    period = str(params.period)
    try:
        build_processed(
            params.period,
            raw_dir=params.raw_dir,
            processed_dir=params.processed_dir,
            reference_dir=dirs.reference,
        )
    except ValidationError as exc:
        record_problems(exc, dirs.outputs, dirs.show(problems_path(dirs.outputs, period)))
        raise
    clear_problems(dirs.outputs, period)


def _prepare(params: PeriodParams, dirs: Dirs, force: bool) -> Plan:
    build_processed(
        params.period,
        raw_dir=params.raw_dir,
        processed_dir=params.processed_dir,
        reference_dir=dirs.reference,
    )
    return build_plan(params, dirs, force=force, provenance=provenance(params, dirs))


def _tidy(plan: Plan, dirs: Dirs, fh: IO[str]) -> None:
    """Under the period's lock: remove what a stopped run left, and the failed notebooks of
    reports that are good again (up to date, so not rerun; a rerun removes its own)."""
    removed = remove_temp_files(plan.output_dir)
    removed += remove_temp_files(dirs.outputs, recursive=False, live_too=False)
    if removed:
        line = f"{plan.period}: removed {len(removed)} temporary file(s) a stopped run left"
        _say(line)
        _note(fh, f"{line}: {', '.join(dirs.show(p) for p in removed)}")
    for job in plan.skipped:
        if job.failed.is_file():
            with storage_faults(job.failed):
                job.failed.unlink()
            _note(fh, f"removed {dirs.show(job.failed)}: the report is good again")


def _summary(progress: _Progress) -> int:
    if not progress.failed:
        return 0
    lines = [f"{len(progress.failed)} report(s) failed:"]
    for name, result in sorted(progress.failed.items()):
        lines.append(f"  {name}: {result.error}")
        if result.kept:
            lines.append(f"    kept: {result.kept}")
    print("\n".join(lines), file=sys.stderr)
    return 1


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(
    plans: list[Plan],
    workers: int,
    dirs: Dirs,
    logs: dict[str, IO[str]],
    scheduler: str | None = None,
) -> _Progress:
    """Run every stale job of every plan in one pool (or on Dask); KeyboardInterrupt if stopped."""
    to_run = [j for p in plans for j in p.to_run]
    if to_run:  # imported once here, inherited by the forked workers (not needed for a no-op)
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

    for plan in plans:
        line = (
            f"{plan.period}: {len(plan.jobs)} reports, {len(plan.skipped)} up to date, "
            f"{len(plan.to_run)} to run"
        )
        _say(line)
        where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} workers"
        _note(logs[plan.period], f"{dirs.show(plan.params.source)}: {line} ({where})")
    progress = _Progress(plans, logs)
    try:
        with _terminate_as_interrupt():
            if scheduler:
                from helpers.pipeline.distributed import run_jobs_dask

                run_jobs_dask(to_run, scheduler, progress)
            else:
                with warm_kernels(bool(to_run)):
                    run_jobs(to_run, workers, progress)
    finally:
        progress.bar.close()
    return progress


def reports_command(
    periods: list[str] | None,
    jobs: int | None,
    force: bool,
    scheduler: str | None,
    dirs: Dirs | None = None,
) -> int:
    """Run every stale report of the periods; 0 if all are good, 1 if any failed, 130 if stopped."""
    if scheduler:
        from helpers.pipeline.distributed import require_distributed

        require_distributed()
        if jobs is not None:
            raise ParameterError("--jobs with --scheduler: the cluster's workers set parallelism")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, not {jobs}")
    dirs = dirs or Dirs()
    all_params = [load_params(f, dirs) for f in select_params(periods, dirs)]
    for params in all_params:  # refuse bad returns before anything is written under outputs/
        _validate_returns(params, dirs)
    workers = jobs or os.cpu_count() or 1
    started = now()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with contextlib.ExitStack() as stack:
        for params in all_params:
            stack.enter_context(period_lock(dirs.outputs / str(params.period), dirs))
        plans = [_prepare(p, dirs, force) for p in all_params]
        logs = {plan.period: _open_log(plan, stamp, stack) for plan in plans}
        for plan in plans:
            _tidy(plan, dirs, logs[plan.period])
        try:
            progress = _run(plans, workers, dirs, logs, scheduler)
            for plan in plans:
                failed = {n for n in progress.failed if n.startswith(plan.period + "/")}
                if plan.to_run or not exports_current(plan, dirs):
                    export_period(plan, dirs, failed, started)
                _note(logs[plan.period], f"finished: {len(failed)} failed")
                line = f"{plan.period}: {len(failed)} failed; {dirs.show(plan.output_dir)}"
                _say(line + "/index.html")
        except KeyboardInterrupt:
            _note_all(logs, "interrupted: pending reports cancelled, running ones stopped")
            _say("interrupted: pending reports cancelled; no output was left half-written")
            return INTERRUPTED
        except StorageError as exc:
            _note_all(logs, f"stopped: {exc}")
            raise
    return _summary(progress)
