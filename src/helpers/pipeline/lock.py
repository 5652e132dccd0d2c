"""The period lock: two runs of one period never overlap, and a killed run's lock is taken over.

Usage example::

    with period_lock(OUTPUTS_DIR / "2011-12-Q1") as held:  # LockError if a live run holds it
        held.taken_over  # "taking over the lock of pid 4242, which is no longer running"
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from helpers.errors import LockError
from helpers.files import pid_alive, storage_faults
from helpers.paths import DEFAULT, ProjectPaths


@dataclass
class HeldLock:
    """A lock this run holds; ``taken_over`` says whose stale lock it took, if any."""

    path: Path
    taken_over: str = ""


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
def period_lock(output_dir: Path, dirs: ProjectPaths | None = None) -> Iterator[HeldLock]:
    """Hold ``outputs/<period>/.lock``; LockError at once if another run holds it.

    The lock is a POSIX record lock (``lockf``), not ``flock``: it belongs to this process
    alone, so the workers and kernels forked from it never hold it (an inherited ``flock``
    outlived a runner killed with ``kill -9`` in its orphaned workers), and the system drops
    it when this process dies. It is also dropped if this process closes any descriptor of the
    file, so nothing else in the runner opens it. While held the file names the holder's pid;
    a pid still named when the lock is free was left by a killed run: the lock is taken over
    and :attr:`HeldLock.taken_over` says so.
    """
    dirs = dirs or DEFAULT
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
        held = HeldLock(path, _taken_over(previous) if previous else "")
        try:
            with storage_faults(path):
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()}\n")
                fh.flush()
            yield held
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
                fh.flush()
            fcntl.lockf(fh, fcntl.LOCK_UN)
