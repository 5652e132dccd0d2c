"""Run the planned reports on a Dask cluster instead of local processes: ``--scheduler``.

Usage example::

    run_jobs_dask(plan.to_run, "tcp://10.0.0.5:8786", on_result=print)
    # or: make reports PERIOD=2011-12-Q1 SCHEDULER=tcp://10.0.0.5:8786

The contract is :func:`helpers.pipeline.pool.run_jobs`'s: every job runs through the same
:func:`helpers.pipeline.job.run_job` (``client.map(run_job, jobs, pure=False)``), and
``on_result`` gets one :class:`~helpers.pipeline.job.JobResult` per job as each finishes, so
skips, the progress bar, the logs, figures.csv and the manifest are the runner's, unchanged.
As in a local run, kernels fork from a warm fork server: each worker process runs one, started
by a worker plugin the run registers (:mod:`helpers.pipeline.warm_workers`) and kept between
runs of the same helper code.

What a cluster must offer, checked before any report is sent: at least one worker, and on
every worker the same project root (shared storage at the same path), the same helper code
and the same installed packages as this machine. Worker deaths: for the run, the scheduler's
``allowed-failures`` is set to 1, so a report whose worker dies is rescheduled on another
worker once and, if that worker dies too, reported as failed (a report that was only queued
on a dying worker counts that death as well: Dask cannot tell it from a running one). A report
that merely fails is never retried (``retries=0``): notebooks are deterministic; one that has
finished is not run again when its worker dies later (its result is released once received,
else Dask would recompute it). Ctrl-C cancels every report not yet started; reports already
running finish on their workers, and their outputs, as always, land whole or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from helpers.errors import ClusterError, StorageError
from helpers.kernels.forkserver import Warm
from helpers.paths import PROJ_ROOT
from helpers.pipeline.job import JobResult, run_job, temp_paths
from helpers.pipeline.plan import Job, code_hash

log = logging.getLogger(__name__)
#: Seconds to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT = 20.0
WORKER_TIMEOUT = 60.0
#: Times the scheduler reschedules a report whose worker died (then it is reported failed).
ALLOWED_FAILURES = 1
INSTALL_HINT = "pip install '.[distributed]'"


def require_distributed() -> None:
    """ClusterError, saying how to install it, unless Dask distributed can be imported."""
    try:
        import distributed  # noqa: F401  # an optional dependency: only asked for here
    except ImportError:
        raise ClusterError(
            f"--scheduler runs reports on a Dask cluster, but Dask distributed is not "
            f"installed in {sys.prefix}: {INSTALL_HINT} (the lock `make venv` installs has it)"
        ) from None


# --- what a worker must share with this machine -----------------------------------------------


def environment() -> dict[str, Any]:
    """This process's project root, helper code hash, Python and installed packages."""
    packages = sorted(
        f"{d.metadata['Name'].lower()}=={d.version}"
        for d in metadata.distributions()
        if d.metadata["Name"]
    )
    found: dict[str, Any] = {
        "project root": str(Path(PROJ_ROOT).resolve()),
        "helper code": code_hash(),
        "python": ".".join(map(str, sys.version_info[:3])),
        "packages": packages,
    }
    with contextlib.suppress(ImportError, ValueError):  # ValueError: not in a worker
        from distributed import get_worker  # optional dependency, on a worker

        found["worker"] = get_worker().address
    return found


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """How a worker's :func:`environment` differs from this machine's, one line each."""
    lines = []
    for key in ("project root", "helper code", "python"):
        if mine[key] != theirs.get(key):
            lines.append(f"{key} is {theirs.get(key)!r}, expected {mine[key]!r}")
    missing = sorted(set(mine["packages"]) - set(theirs.get("packages", [])))
    extra = sorted(set(theirs.get("packages", [])) - set(mine["packages"]))
    if missing or extra:
        shown = ", ".join([*(f"-{p}" for p in missing[:3]), *(f"+{p}" for p in extra[:3])])
        lines.append(f"installed packages differ from this machine's ({shown})")
    return lines


def check_workers(client: Any, address: str) -> None:
    """ClusterError unless a worker has joined and every worker shares this environment."""
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
    except TimeoutError:
        raise ClusterError(
            f"no Dask worker joined the scheduler {address} within {WORKER_TIMEOUT:.0f} s; "
            f"start one with `dask worker {address}`"
        ) from None
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    # As tasks, not client.run: the first helpers import would block a worker's event loop.
    asked = [
        client.submit(environment, pure=False, workers=[w], allow_other_workers=True)
        for w in workers
    ]
    try:
        found = client.gather(asked)
    except Exception as exc:  # e.g. the helper package cannot be imported there
        raise ClusterError(
            f"a Dask worker of {address} cannot run the kit's code ({type(exc).__name__}: "
            f"{exc}); install the project and its `requirements.lock` on every worker"
        ) from None
    mine = environment()
    problems = [
        f"worker {theirs.get('worker', worker)}: {line}"
        for worker, theirs in zip(workers, found, strict=True)
        for line in differences(mine, theirs)
    ]
    if problems:
        raise ClusterError(
            "the Dask workers cannot run this project's reports as this machine would:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nevery worker needs the project at the same path on shared storage "
            "(or NHS_KIT_ROOT set to it) and `requirements.lock` installed (`make venv`)"
        )


# --- worker deaths ------------------------------------------------------------------------


def _set_allowed_failures(value: int, dask_scheduler: Any = None) -> int:
    """On the scheduler: set how often a task may see its worker die; return the old value."""
    previous = int(dask_scheduler.allowed_failures)
    dask_scheduler.allowed_failures = value
    return previous


@contextlib.contextmanager
def one_retry_after_worker_death(client: Any) -> Iterator[None]:
    """Let the scheduler reschedule a report once after a worker death, for this run only."""
    previous = client.run_on_scheduler(_set_allowed_failures, ALLOWED_FAILURES)
    try:
        yield
    finally:
        if previous != ALLOWED_FAILURES:
            with contextlib.suppress(Exception):  # the scheduler may be gone by now
                client.run_on_scheduler(_set_allowed_failures, previous)


def tidy_dead_attempt(job: Job) -> None:
    """After a report's last worker died: drop its temporary files.

    run_job writes a report's notebook only once it has run to the end, so there is one only
    if the worker died while the HTML was being written: that notebook is kept as
    ``<org>.failed.ipynb``, like a failed report's.
    """
    import nbformat  # only after a worker died

    tmp_nb, tmp_html = temp_paths(job)
    tmp_html.unlink(missing_ok=True)
    try:
        nbformat.read(tmp_nb, as_version=4)  # type: ignore[no-untyped-call]
    except Exception:  # missing, or cut short mid-write when the worker died
        tmp_nb.unlink(missing_ok=True)
        return
    tmp_nb.replace(job.failed)


def _result(fut: Any, job: Job) -> JobResult:
    from distributed import KilledWorker  # optional dependency (only with --scheduler)

    try:
        result: JobResult = fut.result()
        return result
    except StorageError:  # the machine cannot store reports: the run stops
        raise
    except KilledWorker as exc:
        tidy_dead_attempt(job)
        error = (
            f"KilledWorker: the worker running it died {exc.allowed_failures + 1} times "
            f"(last {exc.last_worker.address}); see that worker's log"
        )
        return JobResult(job.name, False, 0.0, error)
    except Exception as exc:  # cancelled, or the scheduler went away: the report failed
        return JobResult(job.name, False, 0.0, f"{type(exc).__name__}: {exc}")


# --- the run ------------------------------------------------------------------------------


def connect(address: str) -> Any:
    """A Client of the scheduler at ``address``; ClusterError if it does not answer."""
    require_distributed()
    from distributed import Client  # optional dependency (only with --scheduler)

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler {address!r} ({exc}); check the address "
            f"(tcp://host:8786) and that `dask scheduler` is running there"
        ) from None


def run_jobs_dask(
    jobs: list[Job],
    scheduler_address: str,
    on_result: Callable[[JobResult], None],
    warm: Sequence[Warm] = (),
) -> None:
    """Run ``jobs`` on the cluster's workers, calling ``on_result`` as each finishes.

    ``warm``: calls each worker's fork server makes first (the run's data and rehearsals,
    as a local run's server makes them at its start)."""
    if not jobs:
        return
    from distributed import as_completed  # optional dependency (only with --scheduler)

    client = connect(scheduler_address)
    try:
        check_workers(client, scheduler_address)
        from helpers.pipeline.warm_workers import warm_servers, warm_workers  # distributed

        if warm_workers(client):
            warm_servers(client, warm)
        with one_retry_after_worker_death(client):
            futures = dict(zip(client.map(run_job, jobs, pure=False), jobs, strict=True))
            try:
                for fut in as_completed(futures, loop=client.loop):  # type: ignore[no-untyped-call]
                    on_result(_result(fut, futures.pop(fut)))
                    fut.release()  # else Dask runs it again if the worker holding it dies
            except (KeyboardInterrupt, StorageError):
                client.cancel(list(futures))
                raise
    finally:
        client.close()
