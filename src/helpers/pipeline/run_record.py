"""The last good run's record: a rerun with nothing changed is answered without the data stack.

Usage example (the command line prints the lines; the runner writes the record)::

    quick = rerun_unchanged(["2011-12-Q1"], DEFAULT)  # None: take the full way
    if quick is not None:
        print("\\n".join(quick.lines))

A full check of what is stale validates every return and fingerprints every report, which
starts by importing pandas and pandera (about 0.6 s of a one-second no-op). A good run (every
report and board output built, not stopped) therefore ends by recording every file it read or
wrote, by size, modification and change time and inode, as ``make`` does: the params, the
returns and processed layers its params name, the reference data, the notebooks, the helper
package, ``requirements.lock``, ``pyproject.toml`` and everything under ``outputs/`` but the
logs and locks. When the same periods are asked for again and every one of those files is as
recorded (none added, removed or touched), nothing a full check reads has changed, so its
answer is known: every report is up to date. The answer is given under each period's lock and
written to a run log, as a full run's would be. Anything else (a file touched, a new return, an
output deleted, ``--force``, ``--scheduler``) goes the full way, which compares contents.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from helpers.files import storage_faults, write_atomic
from helpers.paths import ProjectPaths
from helpers.pipeline.lock import period_lock

HELPERS_DIR = Path(__file__).resolve().parents[1]
RECORD_NAME = "last-runs.json"
SKIPPED_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints", "logs", ".git"})
SKIPPED_FILES = frozenset({".lock", RECORD_NAME})
VERSION = 1

Stat = list[int]


@dataclass(frozen=True)
class PeriodSummary:
    """What a rerun with nothing to do says of one period."""

    period: str
    reports: int
    params: str  # the params file, as shown (for the log)
    index_page: str  # as shown, e.g. outputs/2011-12-Q1/index.html


@dataclass(frozen=True)
class QuickAnswer:
    """The answer to a rerun with nothing changed: the lines a full check would show."""

    periods: list[PeriodSummary]
    notices: list[str]  # locks taken over from killed runs, in the order they were taken

    @property
    def lines(self) -> list[str]:
        """What the command line shows, as a full rerun with nothing to do shows it."""
        out = list(self.notices)
        out += [plan_line(p.period, p.reports, p.reports, 0) for p in self.periods]
        out += [nothing_moved_line(p.period) for p in self.periods]
        out += [finished_line(p.period, 0, p.index_page) for p in self.periods]
        return out


# --- the lines a run shows (the runner's, and the quick answer's) ---------------------------


def plan_line(period: str, reports: int, up_to_date: int, to_run: int) -> str:
    """``2011-12-Q1: 73 reports, 73 up to date, 0 to run``."""
    return f"{period}: {reports} reports, {up_to_date} up to date, {to_run} to run"


def nothing_moved_line(period: str) -> str:
    """A period whose reports were all up to date, so its pages were left as they were."""
    return f"{period}: every report up to date, so no figure moved"


def finished_line(period: str, failed: int, index_page: str) -> str:
    """``2011-12-Q1: 0 failed; outputs/2011-12-Q1/index.html``."""
    return f"{period}: {failed} failed; {index_page}"


def index_page(output_dir: Path, dirs: ProjectPaths) -> str:
    """The period's index page, as shown to the user."""
    return f"{dirs.show(output_dir)}/index.html"


def selection_key(periods: Sequence[str] | None) -> str:
    """The record's key for the periods asked for (every params file: ``*``)."""
    return ",".join(sorted(set(periods))) if periods else "*"


def record_path(dirs: ProjectPaths) -> Path:
    """``outputs/.state/last-runs.json``."""
    return dirs.outputs / ".state" / RECORD_NAME


def _watched(dirs: ProjectPaths, data_roots: Sequence[Path]) -> list[Path]:
    fixed = [dirs.params, dirs.notebooks, dirs.reference, HELPERS_DIR, dirs.outputs]
    files = [dirs.root / "requirements.lock", dirs.root / "pyproject.toml"]
    return sorted({*fixed, *data_roots, *files})


def _stats(paths: Sequence[Path], root: Path) -> dict[str, Stat]:
    """Every file under ``paths`` (skipping caches, logs and locks), by its path from ``root``
    (a project copy's record names the copy's files): size, times and inode."""
    found: dict[str, Stat] = {}
    for path in paths:
        for file in _files(root / path):
            st = file.stat(follow_symlinks=False)
            found[_relative(Path(file.path), root)] = [
                st.st_size,
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_ino,
            ]
    return found


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _files(path: Path) -> Iterator[os.DirEntry[str]]:
    try:
        entries = list(os.scandir(path))
    except NotADirectoryError:
        parent = path.parent
        with contextlib.suppress(FileNotFoundError):
            yield from (e for e in os.scandir(parent) if e.name == path.name)
        return
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIPPED_DIRS:
                yield from _files(Path(entry.path))
        elif entry.name not in SKIPPED_FILES:
            yield entry


def write_record(
    periods: Sequence[str] | None,
    summaries: Sequence[PeriodSummary],
    data_roots: Sequence[Path],
    dirs: ProjectPaths,
) -> None:
    """After a good run: record what it read and wrote, for :func:`rerun_unchanged`."""
    path = record_path(dirs)
    records = _read(path)
    watched = [_relative(p, dirs.root) for p in _watched(dirs, data_roots)]
    records[selection_key(periods)] = {
        "periods": [vars(s) for s in summaries],
        "watched": watched,
        "files": _stats([Path(p) for p in watched], dirs.root),
    }
    write_atomic(path, json.dumps({"version": VERSION, "runs": records}))


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    runs = data.get("runs")
    return runs if isinstance(runs, dict) else {}


def rerun_unchanged(periods: Sequence[str] | None, dirs: ProjectPaths) -> QuickAnswer | None:
    """The answer to a rerun of ``periods`` if nothing has changed since the last good run of
    them, else None. Takes each period's lock (LockError if a run holds one) and logs."""
    record = _read(record_path(dirs)).get(selection_key(periods))
    if not isinstance(record, dict):
        return None
    try:
        summaries = [PeriodSummary(**s) for s in record["periods"]]
        watched = [Path(p) for p in record["watched"]]
        files = record["files"]
    except (KeyError, TypeError):
        return None
    notices: list[str] = []
    with contextlib.ExitStack() as stack:
        for summary in summaries:
            held = stack.enter_context(period_lock(dirs.outputs / summary.period, dirs))
            if held.taken_over:
                notices.append(f"{summary.period}: {held.taken_over}")
        if _stats(watched, dirs.root) != files:
            return None
        answer = QuickAnswer(summaries, notices)
        _log(answer, dirs)
    return answer


def open_run_log(output_dir: Path, stamp: str) -> IO[str]:
    """A new ``outputs/<period>/logs/run-<stamp>.log`` (``-2``, ``-3``, ... if a run of the
    same second has one), open for writing."""
    folder = output_dir / "logs"
    with storage_faults(folder / f"run-{stamp}.log"):
        folder.mkdir(parents=True, exist_ok=True)
        for n in itertools.count(1):
            path = folder / (f"run-{stamp}.log" if n == 1 else f"run-{stamp}-{n}.log")
            with contextlib.suppress(FileExistsError):
                return path.open("x", encoding="utf-8")
    raise AssertionError("unreachable")  # pragma: no cover


def _log(answer: QuickAnswer, dirs: ProjectPaths) -> None:
    """One run log per period, as a full run writes."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    for summary in answer.periods:
        line = plan_line(summary.period, summary.reports, summary.reports, 0)
        with (
            open_run_log(dirs.outputs / summary.period, stamp) as fh,
            storage_faults(Path(fh.name)),
        ):
            fh.write(
                f"{at} {summary.params}: {line} (nothing changed since the "
                f"last good run, {dirs.show(record_path(dirs))})\n{at} finished: 0 failed\n"
            )


__all__ = [
    "PeriodSummary",
    "QuickAnswer",
    "finished_line",
    "index_page",
    "nothing_moved_line",
    "open_run_log",
    "plan_line",
    "record_path",
    "rerun_unchanged",
    "selection_key",
    "write_record",
]
