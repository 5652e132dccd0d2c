"""Reports on a Dask cluster: a scheduler and two workers on 127.0.0.1, in subprocesses.

The cluster runs a reduced sample plan (8 reports of 2011-12-Q1) and must give what a local
run gives. Worker deaths are made deterministic by a cell added to the copy's
``provider_shortfall`` notebook: for the reports named in ``<root>/faults.json`` it logs the
attempt (its worker's pid) and kills its own worker with SIGKILL, mid-report, as many times as
the file says; the nannies restart the dead workers. A last cell in every notebook of the copy
records the kernel's ancestry (kernel, fork server, worker, nanny) under ``<root>/kernels/``,
to prove the reports ran on kernels forked from their worker's own warm fork server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import psutil
import pytest
from dask_cluster import Cluster, local_cluster
from kit_project import add_cell, kit_env, make_project, run_kit

from helpers.kernels.forkserver import SWITCH_VAR
from helpers.pipeline import runner
from helpers.pipeline.distributed import ClusterError, differences, require_distributed
from helpers.pipeline.job import KERNEL_PRELOAD
from helpers.pipeline.warm_workers import PLUGIN_PREFIX, WarmKernels, plugin_name, warm_workers

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
_worker = os.getppid()
if b"helpers.kernels.forkserver" in pathlib.Path(f"/proc/{_worker}/cmdline").read_bytes():
    _worker = int(pathlib.Path(f"/proc/{_worker}/stat").read_text().rsplit(")")[-1].split()[1])
if _deaths:
    _log = _root / "attempts" / (_key.replace("/", "_") + ".txt")
    _log.parent.mkdir(exist_ok=True)
    with _log.open("a") as _fh:
        _fh.write(f"{_worker}\\n")
    if len(_log.read_text().splitlines()) <= _deaths:
        os.kill(_worker, signal.SIGKILL)  # the worker running this report dies
        time.sleep(60)"""
ANCESTRY_CELL = """\
import json, os, pathlib
_ancestry, _pid = [], os.getpid()
for _ in range(4):  # the kernel, its parent (a fork server), the worker, the nanny
    _cmd = pathlib.Path(f"/proc/{_pid}/cmdline").read_bytes().replace(b"\\0", b" ")
    _ancestry.append({"pid": _pid, "cmdline": _cmd.decode()})
    _pid = int(pathlib.Path(f"/proc/{_pid}/stat").read_text().rsplit(")")[-1].split()[1])
_out = pathlib.Path.cwd().parent / "kernels" / f"{os.getpid()}.json"
_out.parent.mkdir(exist_ok=True)
_report = f"{period}/FAMILY/{org_code}"
_out.write_text(json.dumps({"report": _report, "ancestry": _ancestry}))"""
HANG_CELL = """\
import os, pathlib, time
_hang = pathlib.Path.cwd().parent / "hang"
if _hang.is_file():
    (pathlib.Path.cwd().parent / "hanging").write_text(str(os.getpid()))
    while _hang.is_file():
        time.sleep(0.2)"""


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


def insert_after_parameters(root: Path, source: str) -> None:
    """Put ``source`` in a cell after the parameters of the copy's provider_shortfall notebook."""
    path = root / "notebooks" / "provider_shortfall.ipynb"
    nb = nbformat.read(path, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source, id="fault-injection"))
    nbformat.write(nb, path)


def add_fault_cell(root: Path) -> None:
    """Put :data:`FAULT_CELL` in provider_shortfall, and :data:`ANCESTRY_CELL` last everywhere."""
    insert_after_parameters(root, FAULT_CELL)
    faults = {DIES_ONCE: 1, DIES_ALWAYS: 99}
    (root / "faults.json").write_text(json.dumps(faults), encoding="utf-8")
    for family in REDUCED[Q1]:
        add_cell(root, family, ANCESTRY_CELL.replace("FAMILY", family))


def kernel_ancestries(root: Path, period: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Per kernel that ran a report of ``period`` to the end: the report and its ancestry."""
    found = []
    for file in (root / "kernels").glob("*.json"):
        record = json.loads(file.read_text())
        if record["report"].startswith(f"{period}/"):
            found.append((record["report"], record["ancestry"]))
    return found


def _ppid(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")")[-1].split()[1])


def fork_servers(root: Path) -> dict[int, int]:
    """The fork servers of the copy at ``root`` (by its NHS_KIT_ROOT): pid -> the pid it serves.

    A server stops as soon as the process it serves (``--parent-pid``) is not its parent any
    more; one left with another parent is an orphan. A forked kernel shows its server's command
    line and environment too: it is told apart by its parent, a server.
    """
    wanted = f"NHS_KIT_ROOT={root}".encode()
    found = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
            if b"helpers.kernels.forkserver" not in argv:
                continue
            if wanted in (proc / "environ").read_bytes().split(b"\0"):
                found[int(proc.name)] = int(argv[argv.index(b"--parent-pid") + 1])
        except (OSError, ValueError):
            continue
    kernels = set()
    for pid in found:
        with contextlib.suppress(OSError, IndexError, ValueError):
            if _ppid(pid) in found:
                kernels.add(pid)
    return {pid: served for pid, served in found.items() if pid not in kernels}


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaps in this container counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def attempts(root: Path, key: str) -> list[str]:
    """The worker pids that started the report ``key``, one per attempt."""
    return (root / "attempts" / (key.replace("/", "_") + ".txt")).read_text().split()


def leftovers(root: Path) -> tuple[list[str], list[int], list[int]]:
    """Temporary files under outputs/, processes still running in the copy's notebooks/ (its
    kernels), and its fork servers whose worker has gone."""
    notebooks = str((root / "notebooks").resolve())
    deadline = time.monotonic() + 15  # an orphaned kernel notices its parent's death in ~1 s
    while True:
        temps = [p.name for p in (root / "outputs").rglob(".*tmp*")]
        kernels = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if str((proc / "cwd").readlink()) == notebooks and running(int(proc.name)):
                    kernels.append(int(proc.name))
            except OSError:
                continue
        orphans = []
        for server, served in fork_servers(root).items():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if running(server) and _ppid(server) != served:
                    orphans.append(server)
        if not (kernels or orphans) or time.monotonic() > deadline:
            return temps, kernels, orphans
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
    assert leftovers(project) == ([], [], [])  # the killed worker's fork server went with it

    ancestries = kernel_ancestries(project, Q1)  # every report once, on a kernel forked warm
    assert sorted(report for report, _ in ancestries) == sorted(
        f"{Q1}/{family}/{org}" for family, orgs in REDUCED[Q1].items() for org in orgs
    )  # a report done before its worker died is not run again
    nannies = {proc.pid for proc in cluster.procs[1:]}
    for report, (kernel, server, worker, nanny) in ancestries:
        assert "-m helpers.kernels.forkserver" in server["cmdline"], (report, kernel, server)
        assert f"--parent-pid {worker['pid']} " in server["cmdline"]  # the worker's own server
        assert nanny["pid"] in nannies, (report, worker, nanny)


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
    assert leftovers(project) == ([], [], [])
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


@pytest.mark.slow
def test_warm_kernels_go_with_a_worker_killed_mid_report_and_with_the_cluster(
    tmp_path: Path,
) -> None:
    root = reduced_project(tmp_path / "project")
    insert_after_parameters(root, HANG_CELL)  # M10's one report waits while <root>/hang exists
    (root / "hang").touch()
    (tmp_path / "cluster").mkdir()
    with local_cluster(tmp_path / "cluster", kit_env(root), 2) as cluster:
        address = cluster.address()
        command = ["reports", "--period", M10, "--scheduler", address]
        with (tmp_path / "run.log").open("w") as log:
            run = subprocess.Popen(
                [sys.executable, "-m", "helpers.cli", *command],
                env=kit_env(root), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            kernel = wait_for_pid(root / "hanging", run, tmp_path / "run.log")
            server = _ppid(kernel)
            worker = _ppid(server)
            nanny = next(p for p in cluster.procs[1:] if p.pid == _ppid(worker))
            assert fork_servers(root).get(server) == worker  # the kernel forked from its server
            assert len(fork_servers(root)) == 2  # and each worker has one

            os.killpg(nanny.pid, signal.SIGKILL)  # kill -9 of `dask worker`: nanny and worker
            nanny.wait()
            assert all_gone([kernel, server]), "the dead worker's kernel or fork server runs"

            (root / "hang").unlink()  # the report, retried on the other worker, finishes
            assert run.wait(timeout=300) == 0, (tmp_path / "run.log").read_text()[-3000:]
        finally:
            if run.poll() is None:
                run.kill()
        servers = fork_servers(root)
        again = run_kit(root, "reports", "--period", M10, "--force", "--scheduler", address)
        assert again.returncode == 0, again.stderr[-3000:]
        assert fork_servers(root) == servers  # the plugin, registered again, kept them warm
        survivors = list(fork_servers(root))
        assert len(survivors) == 1
    assert all_gone(survivors), "the cluster has stopped, its fork server still runs"
    assert leftovers(root) == ([], [], [])


def all_gone(pids: list[int], timeout: float = 15) -> bool:
    """Whether every process of ``pids`` has gone within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(running(pid) for pid in pids)


def wait_for_pid(file: Path, run: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> int:
    """The pid written to ``file`` by a kernel (while ``run`` still runs; its output in ``log``)."""
    deadline = time.monotonic() + timeout
    while not file.is_file() or not file.read_text():
        assert run.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"no kernel wrote {file} in {timeout} s"
        time.sleep(0.2)
    return int(file.read_text())


class FakeClient:
    """What :func:`warm_workers` asks of a distributed Client, recorded."""

    def __init__(self, registered: list[str]) -> None:
        self.registered = registered
        self.calls: list[tuple[str, str]] = []

    def run_on_scheduler(self, function: Any) -> list[str]:
        return list(self.registered)

    def unregister_worker_plugin(self, name: str) -> None:
        self.calls.append(("unregister", name))

    def register_plugin(self, plugin: WarmKernels) -> None:
        assert plugin.idempotent and plugin.preload == KERNEL_PRELOAD
        self.calls.append(("register", plugin.name))


def test_a_run_replaces_the_warm_kernels_of_other_helper_code_and_keeps_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SWITCH_VAR, raising=False)
    name = plugin_name()
    old = PLUGIN_PREFIX + "0" * 16
    client = FakeClient(["shuffle", old, name])
    assert warm_workers(client) == name
    assert client.calls == [("unregister", old), ("register", name)]  # a no-op: idempotent

    monkeypatch.setenv(SWITCH_VAR, "0")  # kernels from scratch: the warm servers stop
    client = FakeClient(["shuffle", name])
    assert warm_workers(client) == ""
    assert client.calls == [("unregister", name)]


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
