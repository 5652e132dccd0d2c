"""Run every stale report of one or more periods: what ``make reports`` does.

Usage example (the command line renders the result; see :mod:`helpers.cli`)::

    result = run_reports(["2011-12-Q1"], jobs=2, force=False, scheduler=None, observer=view)
    result.exit_code, [p.failed for p in result.periods]

Every params file is checked and every period's returns validated before anything is written
under ``outputs/`` (a refused period's problems go to ``outputs/<period>/validation.csv``); each
period's processed data is built once and only stale reports run (:mod:`~.plan`), in local
worker processes (:mod:`~.pool`) or on a Dask cluster (:mod:`~.distributed`), each through
:func:`~.job.run_job`. Each period is locked (:mod:`~.lock`) and tidied of what a stopped run
left. Ctrl-C or SIGTERM cancels pending reports and stops running ones (exit 130); a machine
that cannot store outputs stops the run with a :class:`~helpers.errors.StorageError` (exit 3).
Nothing here prints: a :class:`RunObserver` hears what happens as it happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from helpers.data.history_store import build_history
from helpers.data.periods import Period
from helpers.data.store import build_processed
from helpers.data.validate import clear_problems, problems_path, record_problems
from helpers.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REPORTS_FAILED,
    PackError,
    ParameterError,
    StorageError,
    ValidationError,
)
from helpers.files import remove_temp_files, storage_faults
from helpers.kernels.forkserver import warm_kernels
from helpers.paths import DEFAULT, ProjectPaths
from helpers.pipeline.changes import RunChanges
from helpers.pipeline.export import export_period, exports_current, now, provenance
from helpers.pipeline.job import KERNEL_PRELOAD, JobResult
from helpers.pipeline.lock import period_lock
from helpers.pipeline.pack import build_packs, pack_path
from helpers.pipeline.params import PeriodParams, load_params, params_files
from helpers.pipeline.plan import Job, Plan, build_plan
from helpers.pipeline.pool import run_jobs
from helpers.pipeline.run_record import (
    PeriodSummary,
    finished_line,
    index_page,
    nothing_moved_line,
    open_run_log,
    plan_line,
    write_record,
)


class RunObserver(Protocol):
    """What a run tells as it goes (the command line shows it; tests may record it)."""

    def notice(self, text: str) -> None:
        """A line worth showing now (plans, locks taken over, files tidied, periods done)."""

    def started(self, to_run: int, skipped: int) -> None:
        """The reports are about to run."""

    def finished(self, result: JobResult) -> None:
        """One report has finished (good or failed)."""

    def stopped(self) -> None:
        """No more reports will finish."""


class QuietObserver:
    """A :class:`RunObserver` that shows nothing (for tests and tools)."""

    def notice(self, text: str) -> None:
        """Say nothing."""

    def started(self, to_run: int, skipped: int) -> None:
        """Say nothing."""

    def finished(self, result: JobResult) -> None:
        """Say nothing."""

    def stopped(self) -> None:
        """Say nothing."""


@dataclass
class PeriodOutcome:
    """What became of one period's reports."""

    period: str
    reports: int
    skipped: int
    ran: int
    failed: list[str] = field(default_factory=list)
    index_page: str = ""  # as shown to the user, e.g. outputs/2011-12-Q1/index.html
    not_built: list[str] = field(default_factory=list)  # board outputs that failed, and why
    changes: RunChanges | None = None  # None when the period's pages were already current


@dataclass
class RunResult:
    """The whole run: every period's outcome, the failed reports, whether it was stopped."""

    periods: list[PeriodOutcome] = field(default_factory=list)
    failures: list[JobResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def not_built(self) -> list[str]:
        """Every period's board outputs that could not be built, and why."""
        return [line for p in self.periods for line in p.not_built]

    @property
    def exit_code(self) -> int:
        """0 all good, 1 some reports or board outputs failed, 130 stopped (bad input and
        storage raise)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_REPORTS_FAILED if self.failures or self.not_built else EXIT_OK


# --- before any report runs -----------------------------------------------------------------


def select_params(periods: list[str] | None, dirs: ProjectPaths) -> list[Path]:
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


def validate_returns(params: PeriodParams, dirs: ProjectPaths) -> None:
    """Validate the period's returns (and build its processed layer); ValidationError if bad.

    A refused period's problems are all written to ``outputs/<period>/validation.csv`` (and
    the message points there); once its returns are valid that list is removed.
    """
    period = str(params.period)
    try:
        _build(params, dirs)
    except ValidationError as exc:
        record_problems(exc, dirs.outputs, dirs.show(problems_path(dirs.outputs, period)))
        raise
    clear_problems(dirs.outputs, period)


def _build(params: PeriodParams, dirs: ProjectPaths) -> None:
    build_processed(
        params.period,
        raw_dir=params.raw_dir,
        processed_dir=params.processed_dir,
        reference_dir=dirs.reference,
    )


def _tidy(plan: Plan, dirs: ProjectPaths, log: _Log, observer: RunObserver) -> None:
    """Under the period's lock: remove what a stopped run left, and the failed notebooks of
    reports that are good again (up to date, so not rerun; a rerun removes its own)."""
    removed = remove_temp_files(plan.output_dir)
    removed += remove_temp_files(dirs.outputs, recursive=False, live_too=False)
    if removed:
        line = f"{plan.period}: removed {len(removed)} temporary file(s) a stopped run left"
        observer.notice(line)
        log.note(plan.period, f"{line}: {', '.join(dirs.show(p) for p in removed)}")
    for job in plan.skipped:
        if job.failed.is_file():
            with storage_faults(job.failed):
                job.failed.unlink()
            log.note(plan.period, f"removed {dirs.show(job.failed)}: the report is good again")


# --- the per-period logs --------------------------------------------------------------------


class _Log:
    """``outputs/<period>/logs/run-<time>.log`` of every period, closed with the run."""

    def __init__(self, plans: list[Plan], stack: contextlib.ExitStack) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.files: dict[str, IO[str]] = {}
        for plan in plans:
            self.files[plan.period] = open_run_log(plan.output_dir, stamp)
            stack.callback(self._close, self.files[plan.period])

    @staticmethod
    def _close(fh: IO[str]) -> None:
        with contextlib.suppress(OSError):  # a line that could not be written was reported
            fh.close()

    def note(self, period: str, text: str) -> None:
        """One timestamped line in the period's log."""
        fh = self.files[period]
        with storage_faults(Path(fh.name)):
            fh.write(f"{now()} {text}\n")
            fh.flush()

    def note_all(self, text: str) -> None:
        """The same line in every period's log, as far as each can still be written."""
        for period in self.files:
            with contextlib.suppress(StorageError):
                self.note(period, text)

    def result(self, result: JobResult) -> None:
        """A finished report, in its period's log."""
        period = result.name.split("/")[0]
        if result.ok:
            phases = f" ({result.phases_text()})" if result.phases else ""
            self.note(period, f"done    {result.name} in {result.seconds:.1f} s{phases}")
        else:
            self.note(period, f"FAILED  {result.name}: {result.error}\n{result.details}")


# --- running --------------------------------------------------------------------------------


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


def _run(
    plans: list[Plan],
    workers: int,
    scheduler: str | None,
    log: _Log,
    observer: RunObserver,
    result: RunResult,
) -> None:
    """Run every stale job of every plan in one pool (or on Dask); KeyboardInterrupt if stopped."""
    to_run = [j for p in plans for j in p.to_run]

    def on_result(job_result: JobResult) -> None:
        log.result(job_result)
        if not job_result.ok:
            result.failures.append(job_result)
        observer.finished(job_result)

    observer.started(len(to_run), sum(len(p.skipped) for p in plans))
    try:
        with _terminate_as_interrupt():
            warm = [
                ("helpers.report.opening:warm", [plan.period, str(plan.params.returns_dir)])
                for plan in plans
                if plan.to_run
            ]
            warm += rehearsals(to_run)
            if scheduler:
                from helpers.pipeline.distributed import run_jobs_dask  # only with --scheduler

                run_jobs_dask(to_run, scheduler, on_result, warm)
            else:
                with warm_kernels(bool(to_run), KERNEL_PRELOAD, warm, _import_report_runners):
                    run_jobs(to_run, workers, on_result)
    finally:
        observer.stopped()


def _import_report_runners() -> None:
    """Import papermill and nbconvert once, for the forked workers to inherit (not needed
    for a no-op). It takes about 2 s (jsonschema's IRI checker compiles ~35 grammars at
    import, python-jsonschema/jsonschema#1428), so it runs while the fork server starts."""
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


#: A family is rehearsed in the fork server (see :mod:`helpers.report.rehearsal`) when at
#: least this many of its reports are to run: the rehearsal costs about one report's time,
#: once, before the first kernel forks, and saves each report its first-run costs.
REHEARSE_FROM = 3
#: Set to 0 to have the fork server rehearse nothing. A rehearsal runs only the kit's own
#: code (a notebook's cells up to the first that does anything else, see
#: :func:`helpers.report.rehearsal.kit_only`), so an analyst's cell that writes or waits never
#: runs outside its report.
REHEARSE_VAR = "NHS_KIT_REHEARSE"


def rehearsals(jobs: Sequence[Job]) -> list[tuple[str, list[str]]]:
    """Fork-server warm calls that rehearse one report of each family with enough to run
    (none if ``NHS_KIT_REHEARSE=0``)."""
    if os.environ.get(REHEARSE_VAR, "1") == "0":
        return []
    by_family: dict[str, list[Job]] = {}
    for job in jobs:
        by_family.setdefault(job.family, []).append(job)
    return [
        (
            "helpers.report.rehearsal:rehearse",
            [str(family_jobs[0].notebook), json.dumps(family_jobs[0].parameters)],
        )
        for family_jobs in by_family.values()
        if len(family_jobs) >= REHEARSE_FROM
    ]


def _check_options(jobs: int | None, scheduler: str | None) -> None:
    if scheduler:
        from helpers.pipeline.distributed import require_distributed  # only with --scheduler

        require_distributed()
        if jobs is not None:
            raise ParameterError("--jobs with --scheduler: the cluster's workers set parallelism")
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be at least 1, not {jobs}")


def run_reports(
    periods: list[str] | None,
    jobs: int | None,
    force: bool,
    scheduler: str | None,
    dirs: ProjectPaths = DEFAULT,
    observer: RunObserver | None = None,
) -> RunResult:
    """Run every stale report of the periods; the result says what became of each.

    Raises a KitError for bad input (nothing run, nothing written but the list of refused
    returns' problems) and StorageError when the machine cannot store the outputs.
    """
    observer = observer or QuietObserver()
    _check_options(jobs, scheduler)
    all_params = [load_params(f, dirs) for f in select_params(periods, dirs)]
    for params in all_params:  # refuse bad returns before anything is written under outputs/
        validate_returns(params, dirs)
    for raw, processed in sorted({(p.raw_dir, p.processed_dir) for p in all_params}):
        build_history(raw_dir=raw, processed_dir=processed, reference_dir=dirs.reference)
    workers = jobs or os.cpu_count() or 1
    started = now()
    result = RunResult()
    with contextlib.ExitStack() as stack:
        for params in all_params:
            held = stack.enter_context(period_lock(dirs.outputs / str(params.period), dirs))
            if held.taken_over:
                observer.notice(f"{params.period}: {held.taken_over}")
        plans = [
            build_plan(p, dirs, force=force, provenance=provenance(p, dirs)) for p in all_params
        ]
        log = _Log(plans, stack)
        where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} workers"
        for plan in plans:
            line = plan_line(plan.period, len(plan.jobs), len(plan.skipped), len(plan.to_run))
            observer.notice(line)
            log.note(plan.period, f"{dirs.show(plan.params.source)}: {line} ({where})")
            _tidy(plan, dirs, log, observer)
        try:
            _run(plans, workers, scheduler, log, observer, result)
            with _terminate_as_interrupt():  # a pack being built is stopped, not cut off
                _finish(plans, dirs, result, started, log, observer, workers)
            if result.exit_code == EXIT_OK:  # the next rerun with nothing changed is quick
                _record(periods, plans, dirs)
        except KeyboardInterrupt:
            log.note_all("interrupted: pending reports cancelled, running ones stopped")
            result.interrupted = True
        except StorageError as exc:
            log.note_all(f"stopped: {exc}")
            raise
    return result


def _record(periods: list[str] | None, plans: list[Plan], dirs: ProjectPaths) -> None:
    summaries = [
        PeriodSummary(
            plan.period,
            len(plan.jobs),
            dirs.show(plan.params.source),
            index_page(plan.output_dir, dirs),
        )
        for plan in plans
    ]
    roots = {root for plan in plans for root in (plan.params.raw_dir, plan.params.processed_dir)}
    write_record(periods, summaries, sorted(roots), dirs)


def _finish(
    plans: list[Plan],
    dirs: ProjectPaths,
    result: RunResult,
    started: str,
    log: _Log,
    observer: RunObserver,
    workers: int,
) -> None:
    """Write each period's pages and workbook (unless they already describe exactly these
    reports), then the board packs that are not current (several at once); a board output
    that cannot be built is told and logged, and the run goes on."""
    failed = {
        plan.period: sorted(r.name for r in result.failures if r.name.startswith(plan.period + "/"))
        for plan in plans
    }
    not_built: dict[str, list[str]] = {plan.period: [] for plan in plans}
    changes: dict[str, RunChanges | None] = {plan.period: None for plan in plans}
    for plan in plans:
        if plan.to_run or not exports_current(plan, dirs):
            exported = export_period(plan, dirs, set(failed[plan.period]), started)
            changes[plan.period], not_built[plan.period] = exported.changes, exported.not_built
            observer.notice(exported.changes.summary(plan.period))
            log.note(plan.period, exported.changes.summary(plan.period))
            log.note(
                plan.period,
                f"pages in {exported.pages_seconds:.2f} s, "
                f"workbook in {exported.workbook_seconds:.2f} s",
            )
        else:
            observer.notice(nothing_moved_line(plan.period))
    packs = build_packs([(plan, failed[plan.period]) for plan in plans], dirs, workers)
    for plan, pack in zip(plans, packs, strict=True):
        if isinstance(pack, PackError):
            shown = dirs.show(pack_path(plan))
            not_built[plan.period].append(
                f"{shown} could not be built, the reports are unaffected: {pack}"
            )
        elif pack.status == "built":
            line = f"board pack {dirs.show(pack.path)}, {pack.pages} pages in {pack.seconds:.1f} s"
            observer.notice(f"{plan.period}: {line}")
            log.note(plan.period, line)
        for line in not_built[plan.period]:
            observer.notice(f"{plan.period}: {line}")
            log.note(plan.period, f"NOT BUILT {line}")
        log.note(plan.period, f"finished: {len(failed[plan.period])} failed")
        page = index_page(plan.output_dir, dirs)
        observer.notice(finished_line(plan.period, len(failed[plan.period]), page))
        result.periods.append(
            PeriodOutcome(
                plan.period,
                len(plan.jobs),
                len(plan.skipped),
                len(plan.to_run),
                failed[plan.period],
                page,
                not_built[plan.period],
                changes[plan.period],
            )
        )
