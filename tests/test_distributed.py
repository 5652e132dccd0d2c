"""Reports on a Dask cluster: a scheduler and two workers on 127.0.0.1, in subprocesses.

The cluster runs a reduced sample plan (8 reports of 2011-12-Q1) and must give what a local
run gives. Worker deaths are made deterministic by a cell added to the copy's
``provider_shortfall`` notebook: for the reports named in ``<root>/faults.json`` it logs the
attempt (its worker's pid) and kills its own worker with SIGKILL, mid-report, as many times as
the file says; the nannies restart the dead workers.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from dask_cluster import Cluster, local_cluster
from kit_project import kit_env, make_project, run_kit

from helpers.pipeline import runner
from helpers.pipeline.distributed import ClusterError, differences, require_distributed

Q1 = "2011-12-Q1"
M10 = "2010-11-M10"
REDUCED = {  # 8 reports, two of each family
    Q1: {
        "regional_outturn": ["Q36", "NCL"],
        "provider_shortfall": ["Q36", "RAL"],
        "pct_support_needs": ["Q36", "5K7"],
        "cluster_milestone_slippage": ["Q36", "NWL"],
    },
    M10: {"provider_shortfall": ["RAL"]},
}
THRESHOLD_FAMILIES = ("regional_outturn", "provider_shortfall")  # notebooks with threshold_pct
DIES_ONCE = f"{Q1}/provider_shortfall/RAL"
DIES_ALWAYS = f"{M10}/provider_shortfall/RAL"
FAULT_CELL = """\
import json, os, pathlib, signal, time
_root = pathlib.Path.cwd().parent
_key = f"{period}/provider_shortfall/{org_code}"
_faults = _root / "faults.json"
_deaths = json.loads(_faults.read_text()).get(_key, 0) if _faults.is_file() else 0
if _deaths:
    _log = _root / "attempts" / (_key.replace("/", "_") + ".txt")
    _log.parent.mkdir(exist_ok=True)
    with _log.open("a") as _fh:
        _fh.write(f"{os.getppid()}\\n")
    if len(_log.read_text().splitlines()) <= _deaths:
        os.kill(os.getppid(), signal.SIGKILL)  # the worker running this report dies
        time.sleep(60)"""


def reduced_project(root: Path) -> Path:
    """A project copy whose params run only the reports in ``REDUCED``."""
    make_project(root)
    for period, families in REDUCED.items():
        spec = {"period": period, "returns_dir": "", "families": {}}
        for family, orgs in families.items():
            options = {"threshold_pct": 1.0} if family in THRESHOLD_FAMILIES else {}
            spec["families"][family] = {"orgs": orgs, "options": options}
        (root / "params" / f"{period}.yaml").write_text(json.dumps(spec), encoding="utf-8")
    return root


def add_fault_cell(root: Path) -> None:
    """Put :data:`FAULT_CELL` after the parameters of the copy's provider_shortfall notebook."""
    path = root / "notebooks" / "provider_shortfall.ipynb"
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(FAULT_CELL, id="fault-injection"))
    nbformat.write(nb, path)
    faults = {DIES_ONCE: 1, DIES_ALWAYS: 99}
    (root / "faults.json").write_text(json.dumps(faults), encoding="utf-8")


def attempts(root: Path, key: str) -> list[str]:
    """The worker pids that started the report ``key``, one per attempt."""
    return (root / "attempts" / (key.replace("/", "_") + ".txt")).read_text().split()


def leftovers(root: Path) -> tuple[list[str], list[int]]:
    """Temporary files under outputs/, and processes still running in the copy's notebooks/."""
    notebooks = str((root / "notebooks").resolve())
    deadline = time.monotonic() + 15  # an orphaned kernel notices its parent's death in ~1 s
    while True:
        temps = [p.name for p in (root / "outputs").rglob(".*tmp*")]
        kernels = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if str((proc / "cwd").readlink()) == notebooks:
                    kernels.append(int(proc.name))
            except OSError:
                continue
        if not kernels or time.monotonic() > deadline:
            return temps, kernels
        time.sleep(0.5)


# --- the cluster (tests/dask_cluster.py) -----------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reduced project copy the cluster works on, with the fault cell added."""
    root = reduced_project(tmp_path_factory.mktemp("dask_project"))
    add_fault_cell(root)
    return root


@pytest.fixture(scope="module")
def cluster(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A scheduler and two one-thread workers on 127.0.0.1 that see ``project`` as the root."""
    with local_cluster(tmp_path_factory.mktemp("dask_cluster"), kit_env(project), 2) as cluster:
        yield cluster


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_cluster_run_equals_local_run_and_survives_a_worker_death(
    project: Path, cluster: Cluster, tmp_path: Path
) -> None:
    local = reduced_project(tmp_path / "local")
    proc = run_kit(local, "reports", "--period", Q1, "--jobs", "2")  # the cluster boots meanwhile
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = run_kit(project, "reports", "--period", Q1, "--scheduler", cluster.address())
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second = attempts(project, DIES_ONCE)  # killed once, retried once, in a new worker
    assert first != second

    out, expected = project / "outputs" / Q1, local / "outputs" / Q1
    assert (out / "figures.csv").read_bytes() == (expected / "figures.csv").read_bytes()
    reports = {
        str(p.relative_to(expected)) for p in expected.glob("*/*.*") if p.parent.name in REDUCED[Q1]
    }
    assert {
        str(p.relative_to(out)) for p in out.glob("*/*.*") if p.parent.name in REDUCED[Q1]
    } == reports
    assert len(reports) == 16  # 8 reports: .ipynb and .html
    ral = nbformat.read(out / "provider_shortfall" / "RAL.ipynb", as_version=4)
    assert ral.metadata["nhs_kit"]["org_code"] == "RAL"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest.keys() == json.loads((expected / "manifest.json").read_text()).keys()
    assert leftovers(project) == ([], [])


@pytest.mark.slow
def test_report_whose_workers_keep_dying_is_retried_once_then_failed(
    project: Path, cluster: Cluster
) -> None:
    proc = run_kit(project, "reports", "--period", M10, "--scheduler", cluster.address())
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "provider_shortfall/RAL: KilledWorker: the worker running it died 2 times" in (
        proc.stderr
    )
    assert len(attempts(project, DIES_ALWAYS)) == 2  # the first run and exactly one retry
    folder = project / "outputs" / M10 / "provider_shortfall"
    assert not (folder / "RAL.ipynb").exists()  # never recorded as done
    assert not (project / "outputs" / M10 / ".state" / "provider_shortfall" / "RAL.json").exists()
    assert leftovers(project) == ([], [])
    assert cluster.alive()  # the nannies restarted their workers


@pytest.mark.slow
def test_workers_that_see_another_project_are_refused_before_any_report(
    cluster: Cluster, tmp_path: Path
) -> None:
    other = reduced_project(tmp_path / "other")  # the workers' NHS_KIT_ROOT is `project`
    proc = run_kit(other, "reports", "--period", M10, "--scheduler", cluster.address())
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "cannot run this project's reports" in proc.stderr
    assert f"project root is '{project_root(cluster)}', expected '{other.resolve()}'" in proc.stderr
    assert not list((other / "outputs" / M10).glob("*/*.ipynb"))


def project_root(cluster: Cluster) -> Path:
    """The project root the cluster's workers were started with."""
    return Path(cluster.env["NHS_KIT_ROOT"]).resolve()


def test_differences_name_what_a_worker_lacks() -> None:
    mine = {"project root": "/srv/kit", "helper code": "a", "python": "3.11.9"}
    mine["packages"] = ["pandas==3.1.1", "papermill==2.7.0"]
    theirs = {**mine, "python": "3.11.4", "packages": ["pandas==3.0.0", "papermill==2.7.0"]}
    assert differences(mine, theirs) == [
        "python is '3.11.4', expected '3.11.9'",
        "installed packages differ from this machine's (-pandas==3.1.1, +pandas==3.0.0)",
    ]
    assert differences(mine, dict(mine)) == []


def test_scheduler_without_dask_installed_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ClusterError, match=r"pip install '\.\[distributed\]'"):
        require_distributed()
    with pytest.raises(ClusterError, match="Dask distributed is not installed"):
        runner.run_reports([Q1], None, False, "tcp://127.0.0.1:8786")
