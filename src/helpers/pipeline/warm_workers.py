"""Warm kernels on Dask workers: a fork server in every worker process, as in a local run.

Usage example (what :func:`helpers.pipeline.distributed.run_jobs_dask` does)::

    warm_workers(client)  # every worker, now and joining later, forks its kernels warm

A :class:`WarmKernels` worker plugin is registered with the scheduler, which gives it to every
worker, also to one that joins (or is restarted by its nanny) later. Its ``setup`` starts a
fork server in the worker process (:func:`helpers.kernels.forkserver.warm_kernels`, off the
event loop: the server's imports take seconds) and points that process's kernels at it
(``NHS_KIT_FORK_SERVER``); its ``teardown`` (the worker closes, or the plugin is removed)
stops the server, which kills any kernel still running. A worker killed outright takes both
with it: the server watches its parent process (the worker) and, once it has gone, kills its
kernels and exits. Where a server cannot start, that worker's kernels start from scratch.

The plugin's name carries the helper code's hash and the plugin is idempotent: a later run of
the same code finds it in place and its servers stay warm between runs; a run whose helper
code changed removes the old plugin (its servers stop) before registering its own, so no
kernel forks from helper modules older than the code on disk. ``NHS_KIT_FORK=0`` where the run
starts removes the plugin and starts every kernel from scratch; in one worker's environment,
that worker's.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
from collections.abc import Sequence
from typing import Any

from distributed import WorkerPlugin  # this module is imported only with --scheduler

from helpers.errors import ForkServerError
from helpers.kernels.forkserver import ENV_VAR, SWITCH_VAR, Warm, warm_kernels, warm_server
from helpers.pipeline.job import KERNEL_PRELOAD
from helpers.pipeline.plan import code_hash

log = logging.getLogger(__name__)
PLUGIN_PREFIX = "nhs-kit-warm-kernels-"
#: What a worker process itself imports for its first report (a local runner imports them
#: before forking its workers): loaded while its fork server starts, not during a report.
WORKER_PRELOAD = ("papermill", "nbconvert", "helpers.pipeline.export")


class WarmKernels(WorkerPlugin):
    """A worker plugin that runs a fork server for the kernels of the worker's reports."""

    idempotent = True  # registered again by a later run: left as it is, servers warm

    def __init__(self, name: str, preload: Sequence[str] = KERNEL_PRELOAD) -> None:
        self.name = name
        self.preload = tuple(preload)
        self._stack: contextlib.ExitStack | None = None

    async def setup(self, worker: Any) -> None:
        """Start the fork server and the worker's own imports, each in a thread."""
        await asyncio.gather(asyncio.to_thread(self._start), asyncio.to_thread(_import_worker))

    async def teardown(self, worker: Any) -> None:
        """Stop the fork server (it kills its kernels still running)."""
        await asyncio.to_thread(self._stop)

    def _start(self) -> None:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as a local worker; kernels inherit it
        stack = contextlib.ExitStack()
        try:  # a server that fails to start is logged by warm_kernels: kernels start cold
            stack.enter_context(warm_kernels(True, self.preload))
        except Exception:  # never fail the worker over it
            log.exception("warm kernels: cannot start a fork server; kernels start from scratch")
            stack.close()
            return
        self._stack = stack

    def _stop(self) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()


def _import_worker() -> None:
    for name in WORKER_PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # the report will say what is wrong
            log.warning("warm kernels: cannot import %s on the worker (%s)", name, exc)


def plugin_name() -> str:
    """The plugin's name for the helper code on disk here (checked equal on every worker)."""
    return PLUGIN_PREFIX + code_hash()[:16]


def _registered_plugins(dask_scheduler: Any = None) -> list[str]:
    """On the scheduler: the names of the worker plugins it gives to workers."""
    return list(dask_scheduler.worker_plugins)


def warm_servers(client: Any, warm: Sequence[Warm]) -> dict[str, int]:
    """Have every worker's fork server make the run's ``warm`` calls (load its periods'
    data, rehearse its families) before any report; worker address -> calls made (0 for
    a worker without a server: its kernels start from scratch and load for themselves)."""
    if not warm:
        return {}
    made: dict[str, int] = client.run(_warm_here, list(warm))
    return made


def _warm_here(warm: Sequence[Warm]) -> int:
    """On a worker: pass ``warm`` to this worker's fork server, if it has one."""
    socket_path = os.environ.get(ENV_VAR)
    if not socket_path:
        return 0
    try:
        return warm_server(socket_path, warm)
    except ForkServerError as exc:  # only ever an optimisation: kernels load for themselves
        log.warning("warm kernels: the fork server did not warm (%s)", exc)
        return 0


def warm_workers(client: Any) -> str:
    """Have every worker of ``client``'s cluster fork warm kernels; return the plugin's name.

    Waits until each worker's fork server is ready (seconds, only when the plugin is new).
    With ``NHS_KIT_FORK=0`` here, the plugin is removed instead (its servers stop) and every
    kernel starts from scratch; the name returned is then ''.
    """
    wanted = os.environ.get(SWITCH_VAR, "1") != "0"
    name = plugin_name() if wanted else ""
    for stale in client.run_on_scheduler(_registered_plugins):
        if stale.startswith(PLUGIN_PREFIX) and stale != name:
            log.info("warm kernels: removing %s", stale)
            client.unregister_worker_plugin(stale)
    if wanted:
        client.register_plugin(WarmKernels(name))  # idempotent: nothing happens if it is there
    return name
