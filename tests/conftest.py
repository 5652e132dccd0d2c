"""Shared pytest fixtures (each group in clearly named functions; add yours below)."""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_returns import ReturnsKit
from kit_project import make_project, run_kit

from helpers.kernels.forkserver import warm_kernels
from helpers.pipeline.job import KERNEL_PRELOAD


# --- Ctrl-C reaches the runs the tests start ------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    """Give SIGINT back its default if the session started with it ignored.

    A shell starts a background job (``make test &``, ``nohup make test &``) with SIGINT
    ignored, and every process the tests start inherits that, so the tests that press Ctrl-C
    on a run (tests/test_runner.py, tests/test_watch.py) would wait on a run that never hears
    it. A terminal's foreground job, as a user's ``make reports``, has SIGINT at its default.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- warm kernels for every test session ----------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def warm_kernel_server(request: pytest.FixtureRequest) -> Iterator[None]:
    """Kernels started on ``nhs-kit`` in this session (papermill, nbval) fork from a warm server.

    Outputs are the same as a launched kernel's (tests/test_forkserver.py proves it); only the
    start-up is cheaper. Started only when the session has slow tests or notebooks to compare;
    ``NHS_KIT_FORK=0`` turns it off; tests of the fallback unset the variable.
    """
    items = request.session.items
    wanted = any(i.get_closest_marker("slow") or i.path.suffix == ".ipynb" for i in items)
    with warm_kernels(wanted, KERNEL_PRELOAD):
        yield


# --- returns, validation and the processed layer (tests/fixtures_returns.py) --------------
@pytest.fixture
def returns_kit(tmp_path: Path) -> ReturnsKit:
    """A tiny valid period 2011-12-Q1 (not yet written) with its own reference data."""
    return ReturnsKit(tmp_path)


# --- a whole sample run in a copy of the project (tests/kit_project.py) -------------------
def _run_sample(root: Path) -> Path:
    make_project(root)
    proc = run_kit(root, "reports", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return root


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy on which ``reports`` ran every report of both sample periods (once).

    Read-only for the tests that share it: copy it (``shutil.copytree``) before changing it.
    Under pytest-xdist (``make test``: ``-n 2 --dist loadfile``) the workers share one run: the
    first worker to need it makes it, under a lock in the session's temporary folder, and any
    other waits for it rather than making its own.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _run_sample(tmp_path_factory.mktemp("sample_run"))
    shared = tmp_path_factory.getbasetemp().parent  # the session's, above each worker's own
    made = shared / "sample_run.path"
    with (shared / "sample_run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not made.is_file():
            made.write_text(str(_run_sample(tmp_path_factory.mktemp("sample_run"))))
        return Path(made.read_text())
