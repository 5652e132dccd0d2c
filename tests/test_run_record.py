"""The last good run's record: a rerun is answered from it only when no file it lists has
changed (end to end, with real reports: tests/test_runner.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.errors import LockError
from helpers.paths import ProjectPaths
from helpers.pipeline.run_record import (
    PeriodSummary,
    record_path,
    rerun_unchanged,
    write_record,
)

PERIOD = "2011-12-Q1"
SUMMARY = PeriodSummary(PERIOD, 4, f"params/{PERIOD}.yaml", f"outputs/{PERIOD}/index.html")


@pytest.fixture
def dirs(tmp_path: Path) -> ProjectPaths:
    """A project whose last run of 2011-12-Q1 was good: inputs, outputs and the record."""
    dirs = ProjectPaths.under(tmp_path)
    files = {
        dirs.params / f"{PERIOD}.yaml": "period: 2011-12-Q1\n",
        dirs.raw / PERIOD / "financial_returns.csv": "org_code,plan\nRF4,1.0\n",
        dirs.processed / PERIOD / "manifest.json": "{}",
        dirs.reference / "organisations.csv": "org_code\nRF4\n",
        dirs.notebooks / "regional_outturn.ipynb": "{}",
        dirs.outputs / PERIOD / "regional_outturn" / "Q36.html": "<p>report</p>",
        dirs.outputs / PERIOD / ".state" / "regional_outturn" / "Q36.json": "{}",
        dirs.outputs / "index.html": "<p>overview</p>",
        tmp_path / "requirements.lock": "pandas==3.1.1\n",
        tmp_path / "pyproject.toml": "[project]\n",
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    write_record(None, [SUMMARY], [dirs.raw, dirs.processed], dirs)
    return dirs


def test_a_rerun_with_nothing_changed_is_answered_as_a_full_check_would_be(
    dirs: ProjectPaths,
) -> None:
    answer = rerun_unchanged(None, dirs)
    assert answer is not None
    assert answer.lines == [
        f"{PERIOD}: 4 reports, 4 up to date, 0 to run",
        f"{PERIOD}: every report up to date, so no figure moved",
        f"{PERIOD}: 0 failed; outputs/{PERIOD}/index.html",
    ]
    (log,) = (dirs.outputs / PERIOD / "logs").iterdir()  # a run log, as a full run writes
    assert "4 reports, 4 up to date, 0 to run (nothing changed since the last good run" in (
        log.read_text()
    )
    assert rerun_unchanged(None, dirs) is not None  # its own log and lock do not count


def _rewrite_same_size(path: Path) -> None:
    path.write_text(path.read_text().replace("1.0", "2.0"))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: _rewrite_same_size(d.raw / PERIOD / "financial_returns.csv"),
        lambda d: (d.raw / "2011-12-Q2").mkdir() or (d.raw / "2011-12-Q2" / "a.csv").touch(),
        lambda d: os.utime(d.reference / "organisations.csv"),
        lambda d: (d.processed / PERIOD / "manifest.json").unlink(),
        lambda d: (d.params / "2011-12-Q2.yaml").write_text("period: 2011-12-Q2\n"),
        lambda d: (d.notebooks / "regional_outturn.ipynb").write_text('{"cells": []}'),
        lambda d: (d.outputs / PERIOD / "regional_outturn" / "Q36.html").unlink(),
        lambda d: (d.outputs / PERIOD / ".state" / "regional_outturn" / "Q36.json").unlink(),
        lambda d: (d.outputs / "index.html").write_text("<p>edited</p>"),
        lambda d: (d.outputs / PERIOD / ".Q36.html.tmp-1").touch(),  # a stopped run's leftover
        lambda d: os.utime(d.root / "requirements.lock"),
        lambda d: record_path(d).write_text("not json"),
    ],
    ids=[
        "a return rewritten, same size",
        "a new period's returns",
        "reference data touched",
        "the processed layer",
        "a new params file",
        "a notebook edited",
        "a report deleted",
        "a report's stamp deleted",
        "the overview edited",
        "a temporary file left",
        "the lock file touched",
        "the record spoilt",
    ],
)
def test_any_change_since_the_last_good_run_takes_the_full_way(
    dirs: ProjectPaths, change: Callable[[ProjectPaths], object]
) -> None:
    change(dirs)
    assert rerun_unchanged(None, dirs) is None
    assert not (dirs.outputs / PERIOD / "logs").exists()  # the full way will tell and log


def test_the_record_answers_only_the_periods_it_was_made_for(dirs: ProjectPaths) -> None:
    assert rerun_unchanged([PERIOD], dirs) is None  # recorded for every period, not one
    write_record([PERIOD], [SUMMARY], [dirs.raw, dirs.processed], dirs)
    assert rerun_unchanged([PERIOD], dirs) is not None
    assert rerun_unchanged(None, dirs) is not None  # both records are kept


HOLD = """
import sys, time
from pathlib import Path
from helpers.pipeline.lock import period_lock
with period_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_rerun_refuses_while_another_run_holds_the_periods_lock(dirs: ProjectPaths) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(dirs.outputs / PERIOD)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LockError, match="in progress"):
            rerun_unchanged(None, dirs)
    finally:
        holder.kill()
        holder.wait()


def test_a_copy_of_the_project_checks_its_own_files(dirs: ProjectPaths, tmp_path: Path) -> None:
    copy = ProjectPaths.under(
        Path(shutil.copytree(dirs.root, tmp_path.parent / f"{tmp_path.name}-copy"))
    )
    _rewrite_same_size(copy.raw / PERIOD / "financial_returns.csv")
    assert rerun_unchanged(None, copy) is None  # the copy's files, not the original's
    assert rerun_unchanged(None, dirs) is not None
