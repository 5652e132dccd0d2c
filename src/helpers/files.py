"""How the kit writes files: atomically, and with a machine's fault as one clear sentence.

Usage example::

    write_atomic(OUTPUTS_DIR / "2011-12-Q1" / "figures.csv", text)
    with storage_faults(path):                  # any other write: a parquet file, a log line
        frame.to_parquet(path)
    remove_temp_files(OUTPUTS_DIR / "2011-12-Q1")  # what a killed run left, under its lock

:func:`storage_faults` is the one place where an ``OSError`` of a write (a folder this user may
not write, a full disk, a file where a folder should be) becomes a
:class:`~helpers.errors.StorageError` naming the file and what to do, e.g. ``cannot write
outputs/2011-12-Q1/figures.csv: the disk is full (errno ENOSPC); free some space and run
again``. Temporary files are named ``.<name>.tmp-<pid>`` (here) and ``.<org>.tmp.ipynb`` /
``.<org>.tmp.html`` (a report being run, :func:`helpers.pipeline.runner.temp_paths`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

from helpers.errors import StorageError
from helpers.paths import PROJ_ROOT

#: Every temporary file name the kit uses (group ``pid``: the process that wrote it).
TEMP_NAME = re.compile(r"\..+\.tmp(?:\.ipynb|\.html|-(?P<pid>\d+))")

_NOT_A_FOLDER = "a file stands where a folder should be ({code}); move it aside and run again"
_ADVICE = {
    errno.ENOSPC: "the disk is full ({code}); free some space and run again",
    errno.EDQUOT: "the disk quota is used up ({code}); free some space and run again",
    errno.EACCES: "permission denied ({code}); make {fix} writable by this user and run again",
    errno.EPERM: "permission denied ({code}); make {fix} writable by this user and run again",
    errno.EROFS: "the file system is read-only ({code}); run on a writable copy of the project",
    errno.ENOTDIR: _NOT_A_FOLDER,
    errno.EEXIST: _NOT_A_FOLDER,  # mkdir(exist_ok=True) where a file has the folder's name
    errno.EISDIR: "a folder stands where the file should be ({code}); move it aside and run again",
}


def shown(path: Path | str) -> str:
    """``path`` relative to the project root when inside it (for messages)."""
    try:
        return Path(path).resolve().relative_to(PROJ_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def storage_message(path: Path, exc: OSError) -> str:
    """One sentence: which file could not be written, why, and what to do."""
    code = f"errno {errno.errorcode.get(exc.errno, exc.errno)}" if exc.errno else "no errno"
    refused = Path(exc.filename) if exc.filename else path
    # An existing file that may not be opened for writing, else the folder it would be made in.
    fix = f"{shown(refused)} and its folder" if _is_file(refused) else shown(refused.parent)
    advice = _ADVICE.get(exc.errno or 0)
    if advice is None:
        reason = (exc.strerror or str(exc)).strip().rstrip(".")
        advice = f"{reason} ({{code}}); check the folder and the disk, then run again"
    return f"cannot write {shown(path)}: " + advice.format(code=code, fix=fix)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a folder it may not search
        return False


@contextlib.contextmanager
def storage_faults(path: Path) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into a StorageError naming it."""
    try:
        yield
    except OSError as exc:
        raise StorageError(storage_message(path, exc)) from exc


def temp_path(path: Path) -> Path:
    """Where :func:`write_atomic` writes ``path`` before moving it into place."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_atomic(path: Path, text: str | bytes, *, only_if_changed: bool = False) -> bool:
    """Write ``text`` (UTF-8) or bytes via a temporary file and ``os.replace``; return whether
    it was written.

    On any failure the file in place is left as it was and the temporary file is removed;
    StorageError if the machine could not store it.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    if only_if_changed and path.is_file() and path.read_bytes() == data:
        return False
    tmp = temp_path(path)
    with storage_faults(path):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    return True


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (any user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_temp_files(folder: Path, *, recursive: bool = True, live_too: bool = True) -> list[Path]:
    """Remove the kit's temporary files under ``folder``; return those removed.

    Call it only while holding the lock of whatever writes there. With ``live_too`` false, a
    ``.tmp-<pid>`` file of a process still running is left alone (a folder without a lock).
    """
    found = folder.rglob(".*") if recursive else folder.glob(".*")
    removed = []
    for path in sorted(found):
        match = TEMP_NAME.fullmatch(path.name)
        if not match or not path.is_file():
            continue
        if not live_too and match["pid"] and pid_alive(int(match["pid"])):
            continue
        with storage_faults(path):
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed
