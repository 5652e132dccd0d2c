"""The runner end to end, on a small copy of the project: outputs, incremental reruns,
failures that stay alone, cell timeouts, dead kernels, Ctrl-C/SIGTERM and the period lock.

Every run goes through the command line (``python -m helpers.cli reports``) in a subprocess,
as ``make reports`` runs it, against a project copy under ``tmp_path``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import papermill
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

from helpers.paths import ProjectPaths
from helpers.pipeline import engine
from helpers.pipeline import job as one_job
from helpers.pipeline.lock import period_lock
from helpers.pipeline.plan import Job

PERIOD = "2011-12-Q1"
SMALL_PARAMS = f"""\
period: {PERIOD}
returns_dir: ""
cell_timeout: {{timeout}}
families:
  regional_outturn:
    orgs: [Q36]
  provider_shortfall:
    orgs: [RF4]
    options:
      threshold_pct: {{threshold}}
  pct_support_needs:
    orgs: [Q36, 5NC]
"""
REPORTS = {
    "regional_outturn/Q36",
    "provider_shortfall/RF4",
    "pct_support_needs/Q36",
    "pct_support_needs/5NC",
}


def write_params(root: Path, threshold: float = 1.0, timeout: int = 600) -> None:
    """A params file with four reports of three families."""
    text = SMALL_PARAMS.format(threshold=threshold, timeout=timeout)
    (root / "params" / f"{PERIOD}.yaml").write_text(text, encoding="utf-8")


def report_files(root: Path) -> dict[str, str]:
    """Hashes of the reports' notebooks, HTML and stamps (not logs or the manifest)."""
    out = root / "outputs" / PERIOD
    return {
        k: v
        for k, v in tree_hashes(out).items()
        if k.endswith((".ipynb", ".html")) or k.startswith(".state/")
    }


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A project copy with the four small reports run once (read-only: copy it to change it)."""
    root = make_project(tmp_path_factory.mktemp("runner"), periods=(PERIOD,))
    write_params(root)
    return root, run_kit(root, "reports", "--jobs", "2")


@pytest.fixture
def project(first_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    """A private copy of the first run's project, outputs included."""
    root = tmp_path / "project"
    shutil.copytree(first_run[0], root, symlinks=True)
    return root


# --- a good run -----------------------------------------------------------------------------


@pytest.mark.slow
def test_first_run_writes_every_output(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    root, proc = first_run
    assert proc.returncode == 0, proc.stderr
    assert "4 reports, 0 up to date, 4 to run" in proc.stderr
    out = root / "outputs" / PERIOD
    for name in REPORTS:
        family, org = name.split("/")
        nb = nbformat.read(out / family / f"{org}.ipynb", as_version=4)  # type: ignore[no-untyped-call]
        meta = nb.metadata["nhs_kit"]
        assert (meta["period"], meta["family"], meta["org_code"]) == (PERIOD, family, org)
        assert {"started", "finished", "git", "versions", "inputs", "fingerprint"} <= set(meta)
        assert meta["versions"]["papermill"] and meta["inputs"]["returns"]
        assert (out / family / f"{org}.html").is_file()
        assert (out / ".state" / family / f"{org}.json").is_file()
    for page in ("index.html", "figures.csv", "manifest.json", "board-pack.pdf"):
        assert (out / page).is_file()
    assert f"{PERIOD}: board pack outputs/{PERIOD}/board-pack.pdf, " in proc.stderr
    assert (root / "outputs" / "index.html").is_file()
    assert len(list((out / "logs").glob("run-*.log"))) == 1
    assert leftovers(root) == []


@pytest.mark.slow
def test_manifest_records_parameters_inputs_versions_and_times(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    manifest = json.loads((first_run[0] / "outputs" / PERIOD / "manifest.json").read_text())
    assert manifest["period"] == PERIOD
    assert {f"{r['family']}/{r['org_code']}" for r in manifest["reports"]} == REPORTS
    assert {r["status"] for r in manifest["reports"]} == {"ok"}
    rf4 = next(r for r in manifest["reports"] if r["org_code"] == "RF4")
    assert rf4["parameters"] == {
        "period": PERIOD,
        "org_code": "RF4",
        "returns_dir": "",
        "threshold_pct": 1.0,
    }
    assert rf4["started"] <= rf4["finished"]
    returns = manifest["inputs"]["returns"]
    assert any(name.endswith("financial_position.csv") for name in returns)
    assert all(len(digest) == 64 for digest in returns.values())
    assert {"papermill", "pandas", "nbconvert"} <= set(manifest["versions"])
    assert manifest["run"]["started"] <= manifest["run"]["finished"]


@pytest.mark.slow
def test_html_hides_code_embeds_charts_and_opens_offline(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    page = (first_run[0] / "outputs" / PERIOD / "provider_shortfall" / "RF4.html").read_text()
    assert "import helpers" not in page and "record_figures(" not in page  # code hidden
    assert 'src="data:image/png;base64,' in page  # charts embedded
    assert "Barking Havering and Redbridge" in page
    assert re.search(r"£\d+\.\dm", page)  # figures in board style
    assert 'src="http' not in page and "cdn." not in page  # nothing fetched from the network


@pytest.mark.slow
def test_figures_csv_is_sorted_tidy_and_from_every_report(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    path = first_run[0] / "outputs" / PERIOD / "figures.csv"
    frame = pd.read_csv(path, dtype={"value": str})
    assert list(frame.columns[:5]) == ["period", "notebook", "org_code", "figure", "value"]
    assert {f"{n}/{o}" for n, o in zip(frame.notebook, frame.org_code, strict=True)} == REPORTS
    keys = frame[["notebook", "org_code", "figure"]]
    assert not keys.duplicated().any()
    assert frame.equals(
        frame.sort_values(["notebook", "org_code", "figure"]).reset_index(drop=True)
    )


# --- incremental reruns ---------------------------------------------------------------------


@pytest.mark.slow
def test_rerun_with_nothing_changed_runs_no_report_and_rewrites_nothing(project: Path) -> None:
    before = tree_hashes(project / "outputs")
    proc = run_kit(project, "reports")  # a copy: its files are checked the full way
    assert proc.returncode == 0, proc.stderr
    assert "4 reports, 4 up to date, 0 to run" in proc.stderr
    after = tree_hashes(project / "outputs")
    record = ".state/last-runs.json"  # the good run's record, of this copy's files now
    assert {k: v for k, v in without_logs(after).items() if k != record} == {
        k: v for k, v in without_logs(before).items() if k != record
    }  # reports, figures.csv, index pages and manifest untouched; only a new log
    quick = run_kit(project, "reports", env={"PYTHONVERBOSE": "1"})  # answered from the record
    assert quick.returncode == 0, quick.stderr
    shown = [line for line in quick.stderr.splitlines() if line.startswith(PERIOD)]
    assert shown == [line for line in proc.stderr.splitlines() if line.startswith(PERIOD)]
    assert "import 'pandas'" not in quick.stderr  # (PYTHONVERBOSE lists every import)
    assert len(list((project / "outputs" / PERIOD / "logs").iterdir())) == 3  # each run logs
    assert without_logs(tree_hashes(project / "outputs")) == without_logs(after)


@pytest.mark.slow
def test_a_changed_option_reruns_only_its_reports_and_force_reruns_all(project: Path) -> None:
    before = report_files(project)
    write_params(project, threshold=2.5)
    proc = run_kit(project, "reports")
    assert proc.returncode == 0, proc.stderr
    assert "4 reports, 3 up to date, 1 to run" in proc.stderr
    after = report_files(project)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {
        "provider_shortfall/RF4.ipynb",
        "provider_shortfall/RF4.html",
        ".state/provider_shortfall/RF4.json",
        ".state/board-pack.json",  # a changed report: the pack is rebuilt
    }
    assert "board pack outputs/" in proc.stderr
    pdf = project / "outputs" / PERIOD / "board-pack.pdf"
    pack = pdf.read_bytes(), pdf.stat().st_mtime_ns
    proc = run_kit(project, "reports", "--force")
    assert proc.returncode == 0, proc.stderr
    assert "4 reports, 0 up to date, 4 to run" in proc.stderr
    assert "board pack outputs/" not in proc.stderr  # the same reports: the pack is kept
    assert (pdf.read_bytes(), pdf.stat().st_mtime_ns) == pack


@pytest.mark.slow
def test_changed_returns_rerun_every_report_of_the_period(project: Path) -> None:
    path = project / "data" / "raw" / PERIOD / "financial_position.csv"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # same data
    proc = run_kit(project, "reports")
    assert proc.returncode == 0, proc.stderr
    assert "4 reports, 0 up to date, 4 to run" in proc.stderr


# --- failures -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_dead_kernel_and_a_cell_timeout_fail_alone(project: Path) -> None:
    """5NC's kernel dies and RF4's cell exceeds the timeout; the other reports complete."""
    good = report_files(project)
    write_params(project, timeout=5)
    add_cell(project, "pct_support_needs", 'import os\nif org_code == "5NC":\n    os._exit(3)')
    add_cell(project, "provider_shortfall", "import time\ntime.sleep(120)")
    proc = run_kit(project, "reports")
    assert proc.returncode == 1
    assert "2 report(s) failed" in proc.stderr
    failures = [line for line in proc.stderr.splitlines() if line.startswith("  2011-12-Q1/")]
    assert len(failures) == 2
    dead = next(line for line in failures if "/5NC:" in line)
    slow = next(line for line in failures if "/RF4:" in line)
    assert "DeadKernelError" in dead or "died" in dead.lower()
    assert "cell" in slow and "time.sleep(120)" in slow and "timed out" in slow.lower()
    out = project / "outputs" / PERIOD
    # The failed reports' last good outputs are untouched; their executions are kept aside.
    now = report_files(project)
    for kept in ("pct_support_needs/5NC", "provider_shortfall/RF4"):
        for suffix in (".ipynb", ".html"):
            assert now[kept + suffix] == good[kept + suffix]
    assert (out / "provider_shortfall" / "RF4.failed.ipynb").is_file()
    assert (out / "pct_support_needs" / "5NC.failed.ipynb").is_file()
    # pct_support_needs/Q36 ran the changed notebook and succeeded.
    assert now["pct_support_needs/Q36.ipynb"] != good["pct_support_needs/Q36.ipynb"]
    assert leftovers(project) == []
    manifest = json.loads((out / "manifest.json").read_text())
    status = {f"{r['family']}/{r['org_code']}": r["status"] for r in manifest["reports"]}
    assert status == {
        "regional_outturn/Q36": "ok",
        "provider_shortfall/RF4": "failed",
        "pct_support_needs/Q36": "ok",
        "pct_support_needs/5NC": "failed",
    }
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Failed in the last run (an earlier report is shown)" in index
    assert 'href="pct_support_needs/5NC.failed.ipynb"' in index


def _descendants(proc: psutil.Process) -> set[psutil.Process]:
    try:
        return set(proc.children(recursive=True))
    except psutil.NoSuchProcess:
        return set()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_a_run_leaves_no_kernel_and_no_half_written_file(
    project: Path, signum: signal.Signals
) -> None:
    """Ctrl-C (SIGINT to the process group) or SIGTERM mid-run; then the next run finishes."""
    good = report_files(project)
    started = project / "started"
    started.mkdir()
    mark = (
        f"import pathlib, time\npathlib.Path({str(started)!r}, org_code).touch()\ntime.sleep(120)"
    )
    add_cell(project, "pct_support_needs", mark)
    runner = subprocess.Popen(
        [sys.executable, "-m", "helpers.cli", "reports", "--jobs", "2"],
        cwd=project,
        env=kit_env(project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    seen: set[psutil.Process] = set()
    try:
        parent = psutil.Process(runner.pid)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until both pct kernels are mid-cell
            seen |= _descendants(parent)
            if len(list(started.iterdir())) == 2:  # both pct reports are in their last cell
                break
            time.sleep(0.2)
        else:
            pytest.fail("the reports never started")
        seen |= _descendants(parent)
        if signum == signal.SIGINT:
            os.killpg(runner.pid, signal.SIGINT)
        else:
            runner.send_signal(signal.SIGTERM)
        _, stderr = runner.communicate(timeout=60)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert runner.returncode == 130, stderr
    assert "interrupted" in stderr
    assert len(seen) >= 3  # workers, the fork server and kernels were there
    _gone, alive = psutil.wait_procs(list(seen), timeout=10)
    assert alive == [], alive
    assert leftovers(project) == []
    now = report_files(project)
    assert {k: now.get(k) for k in good} == good  # nothing good was overwritten or lost

    nb_path = project / "notebooks" / "pct_support_needs.ipynb"
    nb = nbformat.read(nb_path, as_version=4)  # type: ignore[no-untyped-call]
    nb.cells.pop()
    nbformat.write(nb, nb_path)  # type: ignore[no-untyped-call]
    proc = run_kit(project, "reports")
    assert proc.returncode == 0, proc.stderr


def test_a_second_run_of_the_same_period_refuses_while_the_first_holds_the_lock(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path, periods=(PERIOD,))
    write_params(root)
    before = tree_hashes(root / "outputs")
    with period_lock(root / "outputs" / PERIOD, ProjectPaths.under(root)):
        proc = run_kit(root, "reports")
        held = tree_hashes(root / "outputs")
    assert proc.returncode == 2
    assert f"another run of {PERIOD} is in progress" in proc.stderr
    assert "outputs/2011-12-Q1/.lock" in proc.stderr
    assert {k: v for k, v in held.items() if k != f"{PERIOD}/.lock"} == before


# --- a kernel that fails to start -----------------------------------------------------------


def _job(tmp_path: Path) -> Job:
    return Job(
        period=PERIOD,
        family="regional_outturn",
        org_code="Q36",
        parameters={},
        notebook=tmp_path / "n.ipynb",
        output_dir=tmp_path,
        stamp=tmp_path / "stamp.json",
        fingerprint="",
        title="",
    )


def test_a_kernel_that_fails_to_start_is_started_once_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def flaky(*args: object, **kwargs: object) -> str:
        calls.append("call")
        if len(calls) == 1:
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return "executed"

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    assert one_job._execute(_job(tmp_path)) == "executed"
    assert len(calls) == 2


def test_a_report_that_failed_mid_cell_is_not_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def dies_mid_cell(*args: object, **kwargs: object) -> str:
        calls.append("call")
        nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        nb.cells.append(nbformat.v4.new_code_cell("x = 1"))  # type: ignore[no-untyped-call]
        nb.cells[0].metadata["papermill"] = {"start_time": "2011-07-01T00:00:00"}
        engine._last.notebook = nb
        raise RuntimeError("Kernel died")

    monkeypatch.setattr(papermill, "execute_notebook", dies_mid_cell)
    with pytest.raises(RuntimeError, match="Kernel died"):
        one_job._execute(_job(tmp_path))
    assert len(calls) == 1


def test_a_reports_time_is_split_into_its_phases() -> None:
    """The log's breakdown: kernel start to the first cell, the cells' own durations, the rest
    of papermill's call, then the export and the writes; unreadable marks give no breakdown."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_code_cell("2")]
    nb.cells[0].metadata["papermill"] = {
        "start_time": "2026-12-01T10:00:00.500000+00:00",
        "duration": 0.25,
    }
    nb.cells[1].metadata["papermill"] = {"start_time": "2026-12-01T10:00:00.800Z", "duration": 0.5}
    t0 = 1796119200.0  # 2026-12-01T10:00:00Z
    phases = dict(one_job._phases(nb, t0, t0 + 1.0, t0 + 1.25, t0 + 1.5))
    assert list(phases) == list(one_job.PHASES)
    assert phases == pytest.approx(
        {"kernel start": 0.5, "cells": 0.75, "papermill": 0.0, "html export": 0.25, "writes": 0.25}
    )
    nb.cells[0].metadata["papermill"]["start_time"] = "not a time"
    assert one_job._phases(nb, t0, t0 + 1.0, t0 + 1.25, t0 + 1.5) == ()
    result = one_job.JobResult("p/f/o", True, 1.5, phases=(("cells", 0.75), ("writes", 0.25)))
    assert result.phases_text() == "cells 0.75 s, writes 0.25 s"
