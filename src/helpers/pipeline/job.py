"""One report's whole life: papermill in a fresh kernel, its HTML, files moved into place.

Usage example (what every worker, local or Dask, runs)::

    result = run_job(job)          # a picklable JobResult; never raises for a failed report
    result.ok, result.error, result.kept

:func:`run_job` takes a picklable :class:`~helpers.pipeline.plan.Job`: the notebook and its
HTML are written to temporary files and moved into place, the stamp last, so a failed or
interrupted run never leaves half a report where a good one was. A failed report keeps its
executed notebook as ``<org>.failed.ipynb`` beside the last good outputs; every write goes
through :func:`helpers.files.storage_faults`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.files import storage_faults, write_atomic
from helpers.pipeline.export import notebook_html, now
from helpers.pipeline.plan import Job, canonical_json

log = logging.getLogger(__name__)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: What a report's kernel imports from the kit: a warm fork server imports it once for all.
KERNEL_PRELOAD = (
    "helpers.metrics",
    "helpers.figures",
    "helpers.data.store",
    "helpers.charts",
    "helpers.report",
    "helpers.narrative",
    "helpers.report.trends",
    "helpers.data.history_store",
    "helpers.spc",
    "helpers.spc_chart",
)
#: Kernel command-line options: keep the kernel's own start-up warnings out of the terminal,
#: and keep its input history in memory (a report has no use for IPython's history file, and
#: every kernel writing its session to one shared SQLite file costs each report about 15 ms).
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"]


@dataclass(frozen=True)
class JobResult:
    """What became of one job (picklable)."""

    name: str  # period/family/org
    ok: bool
    seconds: float
    error: str = ""  # one line: the failing cell and its exception
    details: str = ""  # the traceback, for the log
    kept: str = ""  # where the failed run's executed notebook was kept, if anywhere
    phases: tuple[tuple[str, float], ...] = ()  # where a good report's seconds went, in order

    def phases_text(self) -> str:
        """``kernel start 0.21 s, cells 0.64 s, ...`` ('' when not measured)."""
        return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.phases)


#: The phases of a good report, as :attr:`JobResult.phases` names them.
PHASES = ("kernel start", "cells", "papermill", "html export", "writes")


def _phases(
    nb: Any, t_start: float, t_executed: float, t_html: float, t_done: float
) -> tuple[tuple[str, float], ...]:
    """Split a report's time (``time.time()`` marks) into :data:`PHASES`.

    The cells' own time is the sum of papermill's cell durations; the kernel start is from the
    call to papermill to the first cell's start; papermill is the rest of its call (between
    cells, the kernel's shutdown).
    """
    from datetime import datetime

    marks = [c.metadata.get("papermill", {}) for c in nb.cells if c.cell_type == "code"]
    cells = sum(float(m.get("duration") or 0.0) for m in marks)
    first = next((m["start_time"] for m in marks if m.get("start_time")), None)
    if first is None:
        return ()
    try:
        first_start = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):  # a timing is never worth a report
        return ()
    kernel = max(0.0, first_start - t_start)
    rest = max(0.0, t_executed - t_start - kernel - cells)
    seconds = (kernel, cells, rest, t_html - t_executed, t_done - t_html)
    return tuple(zip(PHASES, (round(v, 4) for v in seconds), strict=True))


# --- one job --------------------------------------------------------------------------------

#: Jobs running in this process (read by a worker's signal handler and its parent watch).
running: set[str] = set()
#: Set in a worker process once it has been told to stop.
stopping = threading.Event()


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
    from helpers.pipeline import engine  # papermill's engines: loaded only when a report runs

    started = engine.started_cells()
    if not started:
        return ""
    index, cell = started[-1]
    return _cell_label(index, cell.get("execution_count"), cell.get("source", ""))


def _failure(exc: BaseException) -> tuple[str, str]:
    """One line naming the failing cell and the error, and the traceback for the log."""
    from papermill.exceptions import PapermillExecutionError  # only when a report runs

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
    import nbformat  # only when a report runs

    from helpers.pipeline import engine  # papermill's engines: loaded only when a report runs

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
    from papermill.exceptions import PapermillExecutionError  # only when a report runs

    from helpers.pipeline import engine  # papermill's engines: loaded only when a report runs

    if isinstance(exc, PapermillExecutionError | KeyboardInterrupt):
        return False
    return not engine.started_cells()


def _execute(job: Job) -> Any:
    """papermill in a fresh kernel; a kernel that fails to start is started once more.

    The kernel talks over Unix sockets (:class:`~helpers.kernels.manager.IpcKernelManager`),
    so two kernels starting at once cannot be handed the same TCP port; a kernel that still
    fails before any cell has run is started again, which is safe. papermill writes nothing:
    :func:`run_job` writes the executed notebook itself, so that every write of a report goes
    through :func:`~helpers.files.storage_faults`.
    """
    import papermill  # only when a report runs: a no-op rerun never loads it (1.5 s)

    from helpers.kernels.manager import IpcKernelManager
    from helpers.pipeline import engine  # papermill's engines: loaded only when a report runs

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
                kernel_manager_class=IpcKernelManager,
            )
        except Exception as exc:
            if attempt == 2 or stopping.is_set() or not _kernel_never_ran(exc):
                raise
            log.warning("%s: the kernel did not start (%s); starting another", job.name, exc)
    raise AssertionError("unreachable")  # pragma: no cover


def run_job(job: Job) -> JobResult:
    """Execute one report with papermill, write its HTML, move both into place, stamp it."""
    import nbformat  # only when a report runs

    if stopping.is_set():
        raise KeyboardInterrupt("the run is stopping")
    t0 = time.monotonic()
    started = now()
    tmp_nb, tmp_html = temp_paths(job)
    running.add(job.name)
    try:
        with storage_faults(job.ipynb):
            job.output_dir.mkdir(parents=True, exist_ok=True)
        try:
            t_start = time.time()
            nb = _execute(job)
            t_executed = time.time()
            _mark_provenance(nb, job, started)
            html = notebook_html(nb, job.title)
            t_html = time.time()
        except Exception as exc:
            if stopping.is_set():  # its kernel went with the run: not the report's failure
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
        phases = _phases(nb, t_start, t_executed, t_html, time.time())
        return JobResult(job.name, True, time.monotonic() - t0, phases=phases)
    finally:
        for tmp in (tmp_nb, tmp_html):
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        running.discard(job.name)  # last: a worker whose runner died waits for this
