"""Faults of the machine, not of the data: an outputs folder the kit may not write, a full
disk, a runner killed with ``kill -9`` and what it leaves, and the exit codes.

Every run goes through the command line (``python -m helpers.cli``) in a subprocess, against a
project copy under ``tmp_path``. A full disk is simulated by running the command line behind a
small bootstrap (:data:`FULL_DISK`) that makes writes to the matching files fail with ENOSPC,
in that process and in the workers it forks; the kit's own code is not changed for the test.
As root, where ``chmod`` stops no write, a read-only folder is tested by running the command
without ``CAP_DAC_OVERRIDE`` (dropped from its capability bounding set before it starts).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from kit_project import (
    add_cell,
    kit_env,
    leftovers,
    make_project,
    run_kit,
    tree_hashes,
    without_logs,
)

from helpers.errors import EXIT_BAD_INPUT, EXIT_CODES, LockError, StorageError
from helpers.files import remove_temp_files, storage_faults, storage_message, write_atomic
from helpers.paths import PROJ_ROOT, ProjectPaths
from helpers.pipeline.lock import period_lock

PERIOD = "2011-12-Q1"
PARAMS = f"""\
period: {PERIOD}
returns_dir: ""
families:
  regional_outturn:
    orgs: [Q36]
  pct_support_needs:
    orgs: [Q36, 5NC]
"""
#: ``python -c FULL_DISK <fnmatch pattern> <kit arguments>``: the kit's command line, with every
#: write to a file whose path matches the pattern failing as on a full disk (after the file was
#: opened, as a real full disk fails). Forked workers inherit it; kernels are new processes.
FULL_DISK = """\
import builtins, errno, fnmatch, io, os, runpy, sys

pattern = sys.argv.pop(1)
real_open = io.open


class FullDisk:
    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._fh.name)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def full_open(file, mode="r", *args, **kwargs):
    fh = real_open(file, mode, *args, **kwargs)
    named = isinstance(file, (str, os.PathLike))
    if named and set(mode) & set("wax+") and fnmatch.fnmatch(os.fspath(file), pattern):
        return FullDisk(fh)
    return fh


io.open = builtins.open = full_open
runpy.run_module("helpers.cli", run_name="__main__", alter_sys=True)
"""
#: ``python -c HOLD_AND_FORK <outputs/period>``: take the period's lock, fork a child that keeps
#: the lock file's descriptor, print the child's pid, then wait to be killed.
HOLD_AND_FORK = """\
import os, sys, time
from pathlib import Path
from helpers.pipeline.lock import period_lock

with period_lock(Path(sys.argv[1])):
    child = os.fork()
    if child == 0:
        time.sleep(120)
        os._exit(0)
    print(child, flush=True)
    time.sleep(120)
"""


def write_params(root: Path) -> None:
    """A params file with three reports of two families."""
    (root / "params" / f"{PERIOD}.yaml").write_text(PARAMS, encoding="utf-8")


def seed_outputs(root: Path) -> None:
    """A previous run's files (not real reports), so that "outputs unchanged" means something."""
    out = root / "outputs" / PERIOD
    (out / "regional_outturn").mkdir(parents=True)
    (out / ".lock").write_text("")
    (out / "figures.csv").write_text("period,notebook,org_code,figure,value,unit\n")
    (out / "index.html").write_text("<!DOCTYPE html><title>2011-12-Q1</title>\n")
    (out / "manifest.json").write_text(json.dumps({"period": PERIOD}) + "\n")
    (out / "regional_outturn" / "Q36.html").write_text("<!DOCTYPE html><p>London</p>\n")
    (out / "regional_outturn" / "Q36.ipynb").write_text('{"cells": [], "nbformat": 4}\n')
    (root / "outputs" / "index.html").write_text("<!DOCTYPE html><title>NHS London</title>\n")


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's error messages; there must be no traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("error: ")]


def run_full_disk(root: Path, pattern: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the kit with writes to files matching ``pattern`` failing with ENOSPC."""
    return subprocess.run(
        [sys.executable, "-c", FULL_DISK, pattern, *args],
        cwd=root,
        env=kit_env(root),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _without_dac_override() -> None:
    """In the child, before exec: as root, lose the power to write what the mode forbids."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(24, 1, 0, 0, 0) != 0:  # PR_CAPBSET_DROP, CAP_DAC_OVERRIDE
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_unprivileged(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the kit so that file modes bind it, even when the tests run as root."""
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args],
        cwd=root,
        env=kit_env(root),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
    )


def _read_only(folder: Path, files_too: bool) -> None:
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
        elif files_too:
            path.chmod(0o444)


def _writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A project copy with a previous run's outputs and its processed layer built."""
    root = make_project(tmp_path, periods=(PERIOD,))
    write_params(root)
    seed_outputs(root)
    proc = run_kit(root, "validate", "--period", PERIOD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy with the three reports run once (read-only: copy it to change it)."""
    root = make_project(tmp_path_factory.mktemp("faults"), periods=(PERIOD,))
    write_params(root)
    proc = run_kit(root, "reports", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    return root


@pytest.fixture
def project(first_run: Path, tmp_path: Path) -> Path:
    """A private copy of the first run's project, outputs included."""
    root = tmp_path / "project"
    shutil.copytree(first_run, root, symlinks=True)
    return root


# --- one sentence for a machine's fault ------------------------------------------------------


def test_the_message_names_the_file_the_fault_and_what_to_do(tmp_path: Path) -> None:
    target = tmp_path / "figures.csv"
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".x.tmp-1"))
    assert storage_message(target, full) == (
        f"cannot write {target}: the disk is full (errno ENOSPC); free some space and run again"
    )
    denied = PermissionError(errno.EACCES, "Permission denied", str(target))
    assert storage_message(target, denied) == (
        f"cannot write {target}: permission denied (errno EACCES); make {tmp_path} writable "
        "by this user and run again"
    )
    odd = OSError(errno.EIO, "Input/output error")
    assert storage_message(target, odd) == (
        f"cannot write {target}: Input/output error (errno EIO); check the folder and the "
        "disk, then run again"
    )


def test_write_atomic_on_a_full_disk_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "figures.csv"
    target.write_text("old\n")
    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        real(self, data[:3])  # part of it reached the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(StorageError, match=r"figures\.csv: the disk is full") as caught:
        write_atomic(target, "new figures\n")
    assert caught.value.exit_code == 3
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figures.csv"]


def test_storage_faults_passes_other_errors_through(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a storage fault"), storage_faults(tmp_path):
        raise ValueError("not a storage fault")


# --- folders the kit may not write, and full disks ------------------------------------------


@pytest.mark.parametrize(
    ("files_too", "refused", "fix"),
    [
        (True, ".lock", "outputs/2011-12-Q1/.lock and its folder"),
        (False, "logs/run-", "outputs/2011-12-Q1"),
    ],
    ids=["folder-and-files", "folder-only"],
)
def test_an_outputs_folder_the_kit_may_not_write_stops_it_cleanly(
    seeded: Path, files_too: bool, refused: str, fix: str
) -> None:
    out = seeded / "outputs"
    before = tree_hashes(out)
    _read_only(out / PERIOD, files_too)
    try:
        proc = run_unprivileged(seeded, "reports", "--period", PERIOD)
    finally:
        _writable(out / PERIOD)
    assert proc.returncode == 3, proc.stderr
    [line] = error_lines(proc)
    assert line.startswith(f"error: cannot write outputs/{PERIOD}/{refused}"), line
    assert line.endswith(
        f": permission denied (errno EACCES); make {fix} writable by this user and run again"
    ), line
    assert tree_hashes(out) == before


def test_a_file_where_the_period_folder_should_be_stops_the_kit_cleanly(seeded: Path) -> None:
    out = seeded / "outputs"
    shutil.rmtree(out / PERIOD)
    (out / PERIOD).write_text("not a folder\n")
    before = tree_hashes(out)
    proc = run_kit(seeded, "reports", "--period", PERIOD)
    assert proc.returncode == 3, proc.stderr
    assert error_lines(proc) == [
        f"error: cannot write outputs/{PERIOD}/.lock: a file stands where a folder should be "
        "(errno EEXIST); move it aside and run again"
    ]
    assert tree_hashes(out) == before


def test_a_full_disk_while_building_the_processed_layer_keeps_the_old_layer(
    seeded: Path,
) -> None:
    layer = seeded / "data" / "processed" / PERIOD
    before = tree_hashes(layer), tree_hashes(seeded / "outputs")
    raw = seeded / "data" / "raw" / PERIOD / "financial_position.csv"
    raw.write_text(raw.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # rebuild it
    proc = run_full_disk(seeded, f"*/processed/.{PERIOD}.tmp-*/manifest.json", "reports")
    assert proc.returncode == 3, proc.stderr
    assert error_lines(proc) == [
        f"error: cannot write data/processed/{PERIOD}: the disk is full (errno ENOSPC); "
        "free some space and run again"
    ]
    assert (tree_hashes(layer), tree_hashes(seeded / "outputs")) == before
    assert [p.name for p in layer.parent.glob(f".{PERIOD}.tmp-*")] == []  # its temporary copy


def test_a_full_disk_while_writing_the_log_stops_the_run_before_any_report(
    seeded: Path,
) -> None:
    before = tree_hashes(seeded / "outputs")
    proc = run_full_disk(seeded, f"*/outputs/{PERIOD}/logs/run-*.log", "reports")
    assert proc.returncode == 3, proc.stderr
    [line] = error_lines(proc)
    assert line.startswith(f"error: cannot write outputs/{PERIOD}/logs/run-"), line
    assert line.endswith(".log: the disk is full (errno ENOSPC); free some space and run again")
    assert without_logs(tree_hashes(seeded / "outputs")) == without_logs(before)
    assert "to run" in proc.stderr and "reports: " not in proc.stderr  # no report was started


@pytest.mark.slow
def test_a_full_disk_while_writing_figures_csv_leaves_the_period_pages_as_they_were(
    project: Path,
) -> None:
    before = tree_hashes(project / "outputs")
    params = project / "params" / f"{PERIOD}.yaml"
    params.write_text(PARAMS.replace("[Q36, 5NC]", "[Q36]"))  # new pages, but no report to run
    proc = run_full_disk(project, f"*/outputs/{PERIOD}/.figures.csv.tmp-*", "reports")
    assert proc.returncode == 3, proc.stderr
    assert error_lines(proc) == [
        f"error: cannot write outputs/{PERIOD}/figures.csv: the disk is full (errno ENOSPC); "
        "free some space and run again"
    ]
    assert "2 reports, 2 up to date, 0 to run" in proc.stderr
    assert without_logs(tree_hashes(project / "outputs")) == without_logs(before)
    assert leftovers(project) == []


@pytest.mark.slow
def test_a_full_disk_while_a_worker_writes_a_report_stops_the_run(project: Path) -> None:
    out = project / "outputs" / PERIOD
    before = tree_hashes(out)
    pattern = f"*/outputs/{PERIOD}/pct_support_needs/.5NC.tmp.ipynb"
    proc = run_full_disk(project, pattern, "reports", "--force", "--jobs", "2")
    assert proc.returncode == 3, proc.stderr
    assert error_lines(proc) == [
        f"error: cannot write outputs/{PERIOD}/pct_support_needs/5NC.ipynb: the disk is full "
        "(errno ENOSPC); free some space and run again"
    ]
    now = tree_hashes(out)
    for kept in ("figures.csv", "index.html", "manifest.json", "pct_support_needs/5NC.ipynb"):
        assert now[kept] == before[kept], kept  # the period's pages were not rewritten
    assert now["pct_support_needs/5NC.html"] == before["pct_support_needs/5NC.html"]
    assert not list(out.rglob("*.failed.ipynb"))  # a full disk is not the report's failure
    assert leftovers(project) == []


# --- the period lock and what a killed run leaves ------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_left_by_a_dead_run_is_reported_and_taken_over(tmp_path: Path) -> None:
    out = tmp_path / "outputs" / PERIOD
    out.mkdir(parents=True)
    dead = _dead_pid()
    (out / ".lock").write_text(f"pid {dead}\n")
    with period_lock(out, ProjectPaths.under(tmp_path)) as held:
        assert (out / ".lock").read_text() == f"pid {os.getpid()}\n"
    assert held.taken_over == f"taking over the lock of pid {dead}, which is no longer running"
    assert (out / ".lock").read_text() == ""
    with period_lock(out, ProjectPaths.under(tmp_path)) as held:  # released normally: no news
        pass
    assert held.taken_over == ""


def test_the_lock_is_not_held_by_processes_forked_from_its_holder(tmp_path: Path) -> None:
    """A forked child keeps the lock file open but not the lock: it goes with its holder."""
    out = tmp_path / "outputs" / PERIOD
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_FORK, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    child = 0
    try:
        assert holder.stdout is not None
        child = int(holder.stdout.readline())
        refused = pytest.raises(LockError, match=f"held by pid {holder.pid}\\)")
        with refused, period_lock(out, ProjectPaths.under(tmp_path)):
            pass
        holder.kill()
        holder.wait()
        assert psutil.pid_exists(child)  # the child still has the lock file open
        with period_lock(out, ProjectPaths.under(tmp_path)) as held:
            pass
        assert f"taking over the lock of pid {holder.pid}" in held.taken_over
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
        if child:
            os.kill(child, signal.SIGKILL)


def test_remove_temp_files_removes_only_the_kits_temporary_files(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    names = {
        ".RF4.tmp.ipynb": True,
        ".RF4.tmp.html": True,
        f".figures.csv.tmp-{dead}": True,
        f".index.html.tmp-{alive}": False,  # another run is writing it (with live_too=False)
        "RF4.ipynb": False,
        "RF4.failed.ipynb": False,
        ".lock": False,
        "notes.tmp": False,
    }
    for name in names:
        (tmp_path / name).write_text("x")
    (tmp_path / "family").mkdir()
    (tmp_path / "family" / ".Q36.tmp.ipynb").write_text("x")  # not looked at: recursive=False
    removed = remove_temp_files(tmp_path, recursive=False, live_too=False)
    assert sorted(p.name for p in removed) == sorted(n for n, gone in names.items() if gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [n for n, gone in names.items() if not gone] + ["family"]
    )
    assert sorted(p.name for p in remove_temp_files(tmp_path)) == sorted(
        [".Q36.tmp.ipynb", f".index.html.tmp-{alive}"]
    )


def _tree(proc: psutil.Process) -> set[psutil.Process]:
    try:
        return set(proc.children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


@pytest.mark.slow
@pytest.mark.parametrize("fork", [True, False], ids=["forked-kernels", "launched-kernels"])
def test_kill_9_of_the_runner_leaves_no_process_and_no_lock(project: Path, fork: bool) -> None:
    """Both workers are mid-cell when the runner is SIGKILLed: nothing of the run survives it,
    and the next run takes the stale lock over, removes temporary files and finishes."""
    gate, started = project / "gate", project / "started"
    gate.touch()
    started.mkdir()
    add_cell(
        project,
        "pct_support_needs",
        f"import pathlib, time\nif pathlib.Path({str(gate)!r}).exists():\n"
        f"    pathlib.Path({str(started)!r}, org_code).touch()\n    time.sleep(120)",
    )
    env = kit_env(project, {"NHS_KIT_FORK": "1" if fork else "0"})
    env.pop("NHS_KIT_FORK_SERVER", None)  # not the test session's warm server
    command = ["reports", "--period", PERIOD, "--jobs", "2", "--force"]
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.cli", *command],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    seen: set[psutil.Process] = set()
    try:
        parent = psutil.Process(runner.pid)
        deadline = time.monotonic() + 180
        while len(list(started.iterdir())) < 2:  # both pct reports are in their last cell
            if time.monotonic() > deadline or runner.poll() is not None:
                pytest.fail("the reports never reached their last cell")
            seen |= _tree(parent)
            time.sleep(0.2)
        seen |= _tree(parent)
        assert len(seen) >= (5 if fork else 4), seen  # 2 workers, 2 kernels (+ fork server)
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        _gone, alive = psutil.wait_procs(list(seen), timeout=10)
        assert alive == [], [(p.pid, p.cmdline()) for p in alive]
    finally:
        for proc in seen:  # only if the test failed: nothing of the run may outlive it
            if proc.is_running():
                proc.kill()
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    out = project / "outputs" / PERIOD
    assert (out / ".lock").read_text() == f"pid {runner.pid}\n"  # it never got to clear it
    assert not list(out.rglob("*.failed.ipynb"))  # being killed is not a report's failure
    stale = [
        out / "pct_support_needs" / ".5NC.tmp.ipynb",
        out / "pct_support_needs" / ".5NC.tmp.html",
        out / f".figures.csv.tmp-{runner.pid}",
        out / ".state" / "regional_outturn" / f".Q36.json.tmp-{runner.pid}",
        project / "outputs" / f".index.html.tmp-{runner.pid}",
    ]
    for path in stale:  # what a run killed while writing would leave
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a file")
    gate.unlink()
    proc = run_kit(project, "reports", "--period", PERIOD)
    assert proc.returncode == 0, proc.stderr
    assert f"taking over the lock of pid {runner.pid}, which is no longer running" in proc.stderr
    assert f"{PERIOD}: removed 5 temporary file(s) a stopped run left" in proc.stderr
    assert "3 reports, 1 up to date, 2 to run" in proc.stderr
    assert leftovers(project) == []
    assert (out / ".lock").read_text() == ""


# --- a failed notebook goes once its report is good again ----------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("how", ["rerun", "skip"])
def test_a_failed_notebook_is_removed_once_its_report_is_good_again(
    project: Path, how: str
) -> None:
    """5NC fails once; then its notebook is fixed (it reruns) or put back as it was (its last
    good report is up to date again and is skipped): either way its failed notebook goes."""
    notebook = project / "notebooks" / "pct_support_needs.ipynb"
    good = notebook.read_bytes()
    add_cell(project, "pct_support_needs", 'if org_code == "5NC":\n    raise RuntimeError("x")')
    proc = run_kit(project, "reports")
    assert proc.returncode == 1, proc.stderr
    out = project / "outputs" / PERIOD
    failed = out / "pct_support_needs" / "5NC.failed.ipynb"
    assert failed.is_file()
    if how == "rerun":
        notebook.write_bytes(good)
        add_cell(project, "pct_support_needs", "fixed = True")
        expected = "3 reports, 1 up to date, 2 to run"
    else:
        notebook.write_bytes(good)
        expected = "3 reports, 2 up to date, 1 to run"  # pct Q36 ran the failing version
    proc = run_kit(project, "reports")
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stderr
    assert not failed.exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert {r["status"] for r in manifest["reports"]} == {"ok"}
    index = (out / "index.html").read_text()
    assert "5NC.failed.ipynb" not in index and "Failed in the last run" not in index


# --- exit codes -----------------------------------------------------------------------------


def test_validate_exits_2_on_bad_returns_like_reports(tmp_path: Path) -> None:
    root = make_project(tmp_path, periods=(PERIOD,))
    savings = root / "data" / "raw" / PERIOD / "savings.csv"
    text = savings.read_text(encoding="utf-8")
    savings.write_text(text.replace(",drugs_costs,", ",prod,", 1), encoding="utf-8")
    validate = run_kit(root, "validate", "--period", PERIOD)
    assert validate.returncode == EXIT_BAD_INPUT == 2, validate.stdout + validate.stderr
    assert "column category: 'prod' is not allowed" in validate.stdout
    reports = run_kit(root, "reports", "--period", PERIOD)
    assert reports.returncode == validate.returncode, reports.stderr
    written = sorted(p.name for p in (root / "outputs" / PERIOD).iterdir())
    assert written == ["validation.csv"]  # the full list of problems, and nothing else


def test_the_readme_lists_every_exit_code_as_errors_defines_it() -> None:
    readme = (PROJ_ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", readme, flags=re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == EXIT_CODES
    assert len(rows) == len(EXIT_CODES)
    assert "`make` itself exits 2 whenever the command fails" in readme
