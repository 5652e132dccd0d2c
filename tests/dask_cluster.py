"""A throw-away Dask cluster on 127.0.0.1 for tests and benchmarks: real ``dask`` commands.

Usage example::

    with local_cluster(tmp_path, kit_env(root), workers=2) as cluster:
        run_kit(root, "reports", "--period", "2011-12-Q1", "--scheduler", cluster.address())

The scheduler and each worker (``dask worker --nworkers 1 --nthreads 1``, with its nanny) run
in their own process group, with the environment given (``NHS_KIT_ROOT`` of the project copy)
and the Dask settings the README gives for a cluster (``DASK_CONFIG=dask-cluster.yaml``; pass
``dask_config=None`` for Dask's defaults), and log to ``<folder>/scheduler.log`` and
``<folder>/worker-<i>.log``; leaving the block stops every group, killing what does not stop
within 20 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Cluster:
    """A scheduler and ``workers`` nanny-managed workers, each in its own process group."""

    folder: Path
    env: Mapping[str, str]
    workers: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str, log: str) -> None:
        """Start ``dask <args>`` in a new session, its output to ``<folder>/<log>``."""
        # Not the fork server of the process starting the cluster (a test session's, say):
        # workers start their own.
        env = {k: v for k, v in self.env.items() if k != "NHS_KIT_FORK_SERVER"}
        with (self.folder / log).open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                cwd=self.folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)

    def address(self, timeout: float = 120) -> str:
        """The scheduler's address, once every worker has registered with it."""
        deadline = time.monotonic() + timeout
        file = self.folder / "scheduler.json"
        logs = [self.folder / f"worker-{i}.log" for i in range(self.workers)]
        while time.monotonic() < deadline:
            joined = all(p.is_file() and "Registered to" in p.read_text() for p in logs)
            if file.is_file() and joined:
                return str(json.loads(file.read_text())["address"])
            dead = [p.args for p in self.procs if p.poll() is not None]
            assert not dead, f"cluster process exited: {dead}; logs in {self.folder}"
            time.sleep(0.3)
        raise AssertionError(f"cluster not ready in {timeout} s; logs in {self.folder}")

    def alive(self) -> bool:
        """True while the scheduler and every nanny still run."""
        return all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        """Stop every process group (workers first), killing what does not stop in 20 s."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


#: The Dask settings the README tells a cluster to use.
DASK_CONFIG = Path(__file__).resolve().parents[1] / "dask-cluster.yaml"


@contextmanager
def local_cluster(
    folder: Path, env: Mapping[str, str], workers: int, dask_config: Path | None = DASK_CONFIG
) -> Iterator[Cluster]:
    """Start a scheduler and ``workers`` one-thread workers; stop them all on the way out."""
    if dask_config is not None:
        env = {**env, "DASK_CONFIG": str(dask_config)}
    cluster = Cluster(folder, env, workers)
    try:
        cluster.start(
            "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", "scheduler.json", log="scheduler.log",
        )  # fmt: skip
        for i in range(workers):
            cluster.start(
                "worker", "--scheduler-file", "scheduler.json", "--host", "127.0.0.1",
                "--nworkers", "1", "--nthreads", "1", "--no-dashboard", log=f"worker-{i}.log",
            )  # fmt: skip
        yield cluster
    finally:
        cluster.stop()
