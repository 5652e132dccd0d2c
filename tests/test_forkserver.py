"""The fork server and ForkProvisioner: forked kernels behave like launched ones, one report
each, with nothing passing between reports and no process left behind.

Until pyproject.toml registers the ``nhs-kit-fork`` entry point, the ``provisioners`` fixture
adds it to jupyter_client's KernelProvisionerFactory for the duration of this module, and the
``nhs-kit`` kernelspec under test is written to a temporary JUPYTER_PATH (the venv's own
kernelspec is left alone).
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest
from jupyter_client.connect import write_connection_file
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from papermill.exceptions import PapermillExecutionError

from helpers.kernels.forkserver import (
    ENV_VAR,
    INLINE_BACKEND,
    ForkRefusedError,
    fork_kernel,
    import_time_mismatch,
    ping,
    running_fork_server,
    warm_kernels,
    warm_server,
)
from helpers.kernels.kernelspec import PROVISIONER_NAME, install_kernelspec, kernel_dict
from helpers.paths import DEFAULT
from helpers.pipeline.job import KERNEL_PRELOAD

#: The state a report could leak: what B prints must match what a fresh kernel prints.
PROBE = """\
import hashlib, os, signal, sys, threading
import matplotlib, pandas as pd, helpers.metrics
rc = hashlib.sha256(repr(sorted(matplotlib.rcParams.items())).encode()).hexdigest()
print(rc, matplotlib.get_backend(), matplotlib.is_interactive())
print(pd.get_option("display.max_rows"), "x_global" in globals(), "NHS_KIT_LEAK" in os.environ,
      hasattr(helpers.metrics, "LEAKED"))
print(sys.argv[0], sys.path, os.getcwd(), __name__, sys.modules["__main__"].__name__)
print(os.environ["JPY_PARENT_PID"] == str(os.getppid()), os.environ["OPENBLAS_NUM_THREADS"])
print(os.environ["MPLBACKEND"], os.getpgid(0) == os.getpid(), os.getsid(0) == os.getpid())
print({s.name: str(signal.getsignal(s)) for s in (signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD)})
print(sorted(t.name for t in threading.enumerate()))
"""
CHART = """\
import pandas as pd, seaborn as sns
sns.barplot(data=pd.DataFrame({"x": ["a", "b", "c"], "y": [3, 1, 2]}), x="x", y="y");
"""
LEAK = """\
import os, matplotlib, pandas as pd, helpers.charts, helpers.metrics
x_global = 42
matplotlib.rcParams["lines.linewidth"] = 7.5
pd.set_option("display.max_rows", 3)
helpers.charts.set_theme()
helpers.metrics.LEAKED = True
os.environ["NHS_KIT_LEAK"] = "1"
"""
RANDOM = "import random, numpy as np\nprint(random.random(), np.random.random())"


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook whose first cell writes the kernel's pid and parent pid to ``<path>.pid``."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (_pid_cell(path), *cells)]
    nb.metadata["kernelspec"] = {"name": "nhs-kit", "display_name": "nhs-kit", "language": "python"}
    nbformat.write(nb, path)
    return path


def _pid_cell(path: Path) -> str:
    """A cell that writes the kernel's pid and parent pid to ``<path>.pid`` (read by _run)."""
    pid_file = str(path) + ".pid"
    return f"import os\nopen({pid_file!r}, 'w').write(f'{{os.getpid()}} {{os.getppid()}}')"


def _run(path: Path, **kwargs: Any) -> tuple[list[Any], int, int]:
    """Execute with papermill's API; return each cell's outputs, the kernel's pid and ppid."""
    out = path.with_suffix(".out.ipynb")
    papermill.execute_notebook(
        path, out, kernel_name="nhs-kit", progress_bar=False, cwd=path.parent, **kwargs
    )
    pid, ppid = map(int, Path(str(path) + ".pid").read_text().split())
    return [c.outputs for c in nbformat.read(out, as_version=4).cells], pid, ppid


def _gone(pid: int, timeout: float = 10) -> bool:
    """Whether the process has disappeared (exited and been reaped) within ``timeout``."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


_IMPORTS = """\
import os, sys
from pathlib import Path
from jupyter_client.connect import write_connection_file
from helpers.kernels.forkserver import fork_kernel
"""


def _idle_kernel(socket_path: str, folder: Path) -> int:
    """Fork a kernel nobody talks to (as a crashed client would leave it); return its pid."""
    connection_file, _ = write_connection_file(str(folder / "kernel.json"))
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    with Path(os.devnull).open("wb") as null:
        pid, pidfd = fork_kernel(socket_path, cmd, str(folder), env, [null.fileno()] * 2)
    os.close(pidfd)
    return pid


@pytest.fixture(scope="module")
def kernelspec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The ``nhs-kit`` kernelspec (fork provisioner) first on JUPYTER_PATH; entry point added."""
    prefix = tmp_path_factory.mktemp("prefix")
    folder = install_kernelspec(prefix)
    entry = EntryPoint(
        PROVISIONER_NAME,
        "helpers.kernels.provisioner:ForkProvisioner",
        KernelProvisionerFactory.GROUP_NAME,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        mp.delenv(ENV_VAR, raising=False)
        mp.setitem(KernelProvisionerFactory.instance().provisioners, PROVISIONER_NAME, entry)
        yield folder


@pytest.fixture(scope="module")
def server(kernelspec: Path) -> Iterator[str]:
    """One fork server for the module's tests (they set NHS_KIT_FORK_SERVER themselves)."""
    with running_fork_server() as socket_path:
        yield socket_path


# --- fast -----------------------------------------------------------------------------------
def test_kernelspec_selects_the_fork_provisioner(tmp_path: Path) -> None:
    folder = install_kernelspec(tmp_path)
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec == kernel_dict()
    assert spec["argv"] == [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert spec["metadata"]["kernel_provisioner"] == {"provisioner_name": "nhs-kit-fork"}
    assert spec["env"] == {"OPENBLAS_NUM_THREADS": "1"}
    assert (folder / "logo-64x64.png").is_file()


def test_import_time_variables_must_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", INLINE_BACKEND)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    env = dict(os.environ)
    assert import_time_mismatch(env) == []
    assert import_time_mismatch({k: v for k, v in env.items() if k != "MPLBACKEND"}) == []
    assert import_time_mismatch({**env, "PYTHONHASHSEED": "1", "JPY_SESSION_NAME": "x"}) == [
        "PYTHONHASHSEED"
    ]
    assert import_time_mismatch({**env, "MPLBACKEND": "agg", "NHS_KIT_ROOT": "/x"}) == [
        "MPLBACKEND",
        "NHS_KIT_ROOT",
    ]


# --- kernels --------------------------------------------------------------------------------
@pytest.mark.slow
def test_forked_kernel_gives_the_same_outputs(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _notebook(tmp_path / "probe.ipynb", PROBE, CHART)
    plain, plain_pid, plain_ppid = _run(nb)
    monkeypatch.setenv(ENV_VAR, server)
    forked, pid, ppid = _run(nb)
    assert plain_ppid == os.getpid()  # launched by us
    assert ppid == ping(server)["pid"]  # forked by the server
    assert forked[1:] == plain[1:]
    assert forked[2][0]["data"]["image/png"]  # pyplot figures still display by themselves
    assert _gone(pid) and _gone(plain_pid)


@pytest.mark.slow
def test_reports_do_not_see_each_other(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, server)
    a, a_pid, _ = _run(_notebook(tmp_path / "a.ipynb", LEAK, PROBE, RANDOM))
    b, b_pid, _ = _run(_notebook(tmp_path / "b.ipynb", PROBE, RANDOM))
    monkeypatch.delenv(ENV_VAR)
    fresh, _, _ = _run(_notebook(tmp_path / "c.ipynb", PROBE, RANDOM))
    assert a_pid != b_pid
    leaked = a[2][0]["text"].splitlines()
    assert leaked[1] == "3 True True True"  # A saw its own changes
    assert b[1] == fresh[1]  # B's state is a fresh kernel's: rcParams, options, globals, env
    assert b[1][0]["text"].splitlines()[1] == "60 False False False"
    assert b[1][0]["text"].splitlines()[0] != leaked[0]
    assert a[3][0]["text"] != b[2][0]["text"]  # random and numpy reseeded in each kernel


@pytest.mark.slow
@pytest.mark.parametrize("interrupt", [True, False], ids=["interrupt", "timeout"])
def test_a_stuck_cell_fails_fast_and_leaves_no_kernel(
    interrupt: bool, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, server)
    nb = _notebook(tmp_path / "stuck.ipynb", "import time\ntime.sleep(60)")
    start = time.monotonic()
    expected = PapermillExecutionError if interrupt else TimeoutError
    with pytest.raises(expected) as failure:
        _run(nb, execution_timeout=3, interrupt_on_timeout=interrupt)
    assert time.monotonic() - start < 30
    if interrupt:  # the SIGINT reached the forked kernel
        assert isinstance(failure.value, PapermillExecutionError)
        assert failure.value.ename == "KeyboardInterrupt"
    pid, ppid = map(int, Path(str(nb) + ".pid").read_text().split())
    assert ppid == ping(server)["pid"]
    assert _gone(pid)


@pytest.mark.slow
def test_a_dead_server_falls_back_to_a_launched_kernel(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "no-such.sock"))
    outputs, _pid, ppid = _run(_notebook(tmp_path / "n.ipynb", "print(6 * 7)"))
    assert ppid == os.getpid()
    assert outputs[1][0]["text"] == "42\n"


@pytest.mark.slow
def test_server_refuses_kernels_it_cannot_imitate(server: str, tmp_path: Path) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "123"}
    cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / "k.json")]
    with pytest.raises(ForkRefusedError, match="PYTHONHASHSEED"):
        fork_kernel(server, cmd, str(tmp_path), env, [1, 2])
    with pytest.raises(ForkRefusedError, match="interpreter"):
        fork_kernel(server, ["/usr/bin/python3", *cmd[1:]], str(tmp_path), env, [1, 2])


@pytest.mark.slow
def test_stopping_the_server_kills_every_kernel(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_fork_server() as socket_path:
        monkeypatch.setenv(ENV_VAR, socket_path)
        pids = [_run(_notebook(tmp_path / f"r{i}.ipynb", "1 + 1"))[1] for i in range(3)]
        idle = _idle_kernel(socket_path, tmp_path)
        server_pid = ping(socket_path)["pid"]
        assert _alive(idle)
    assert _gone(server_pid, timeout=0)  # the context manager waited for it
    assert all(_gone(pid, timeout=0) for pid in [*pids, idle])


@pytest.mark.slow
def test_server_and_kernels_die_with_their_parent(kernelspec: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import json, time
        from helpers.kernels.forkserver import ping, running_fork_server
        with running_fork_server() as sock:
            kernel = _idle_kernel(sock, Path({str(tmp_path)!r}))
            print(json.dumps([ping(sock)["pid"], kernel]), flush=True)
            time.sleep(600)
    """)
    script = _IMPORTS + inspect.getsource(_idle_kernel) + script
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        server_pid, kernel = json.loads(parent.stdout.readline())
        assert _alive(server_pid) and _alive(kernel)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        if parent.stdout:
            parent.stdout.close()
    assert _gone(server_pid) and _gone(kernel)


def test_an_immediate_shutdown_kills_the_kernel_without_interrupting_it(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """papermill's immediate shutdown, as the kit's runs ask: SIGKILL only (jupyter_client
    sends SIGINT first, and a kernel that handled it logged a KeyboardInterrupt as it went)."""
    from helpers.kernels.manager import IpcKernelManager
    from helpers.kernels.provisioner import ForkProvisioner

    monkeypatch.setenv(ENV_VAR, server)
    sent: list[int] = []
    send = ForkProvisioner.send_signal

    async def recording(self: ForkProvisioner, signum: int) -> None:
        sent.append(signum)
        await send(self, signum)

    monkeypatch.setattr(ForkProvisioner, "send_signal", recording)
    _, pid, ppid = _run(
        _notebook(tmp_path / "kill.ipynb", "x = 1"),
        kernel_manager_class=IpcKernelManager,
        shutdown_kernel="immediate",
    )
    assert ppid == ping(server)["pid"]
    assert sent == [signal.SIGKILL]
    assert _gone(pid)


def test_kernels_of_a_run_talk_over_private_unix_sockets(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No TCP port to clash over: the forked kernel binds ipc sockets in a 0700 directory of
    its own, which is gone once the kernel has shut down."""
    from helpers.kernels.manager import SOCKET_DIR_PREFIX, IpcKernelManager

    monkeypatch.setenv(ENV_VAR, server)
    # The manager makes its socket folder in this test's own temporary folder, so kernels of
    # other tests or runs (pytest -n 2, the machine's own) do not change what is compared.
    # Short: an ipc socket's path must fit in 107 bytes.
    private = Path(tempfile.mkdtemp(prefix="kit-ipc-test-"))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    before = set(Path(tempfile.gettempdir()).glob(SOCKET_DIR_PREFIX + "*"))
    cell = (
        "import json, os, stat, ipykernel.connect as c\n"
        "info = json.load(open(c.get_connection_file()))\n"
        "d = os.path.dirname(info['ip'])\n"
        "print(info['transport'], oct(stat.S_IMODE(os.stat(d).st_mode)), "
        "sorted(os.listdir(d))[:1], d)"
    )
    outputs, pid, ppid = _run(
        _notebook(tmp_path / "ipc.ipynb", cell), kernel_manager_class=IpcKernelManager
    )
    transport, mode, first, socket_dir = outputs[1][0]["text"].split()
    assert ppid == ping(server)["pid"]  # still a forked kernel
    assert (transport, mode, first) == ("ipc", "0o700", "['kernel-1']")
    assert Path(socket_dir).name.startswith(SOCKET_DIR_PREFIX)
    assert Path(socket_dir).parent == private
    assert _gone(pid)
    assert not Path(socket_dir).exists()
    assert set(Path(tempfile.gettempdir()).glob(SOCKET_DIR_PREFIX + "*")) == before
    private.rmdir()  # empty: nothing else was left in it


#: A report that changes the period's loaded frames in place, then says what it sees.
SPOIL = (
    "from helpers.data.store import load_period\n"
    "from helpers.data.history_store import history_for\n"
    "d = load_period('2010-11-M10')\n"
    "d.financial_position.loc[:, 'forecast_outturn_gbp_m'] = 0.0\n"
    "d.reference.organisations.loc[:, 'name'] = 'spoilt'\n"
    "h = history_for('2010-11-M10')\n"
    "h.submitted['financial_position'].loc[:, 'ytd_actual_gbp_m'] = 0.0\n"
    "h.financial_position.loc[:, 'ytd_actual_gbp_m'] = 0.0\n"  # the resolved table (shared)
    "from helpers import metrics\n"
    "from helpers.report.base import period_table\n"
    "period_table(d, metrics.pct_support).loc[:, 'outturn_before_support_gbp_m'] = 0.0\n"
)
LOOK = (
    "from helpers.data.store import load_period\n"
    "from helpers.data.history_store import history_for\n"
    "from helpers import metrics\n"
    "from helpers.report.base import period_table\n"
    "d = load_period('2010-11-M10')\n"
    "h = history_for('2010-11-M10')\n"
    "s = period_table(d, metrics.pct_support)\n"  # warm computed it: shared
    "print(round(float(d.financial_position['forecast_outturn_gbp_m'].abs().sum()), 1), "
    "sorted(set(d.reference.organisations['name']))[:1], "
    "round(float(h.financial_position['ytd_actual_gbp_m'].abs().sum()), 1), "
    "round(float(s['outturn_before_support_gbp_m'].abs().sum()), 1))"
)


@pytest.mark.slow
def test_a_report_that_changes_loaded_frames_changes_nothing_the_next_sees(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork server loads the period's frames, reference data, history and shared derived
    tables once (warm); a report that overwrites them in place, in its own kernel or in the
    same one, leaves the next report reading the returns as they are."""
    warm = [("helpers.report.opening:warm", ["2010-11-M10", ""])]
    with running_fork_server(warm=warm) as socket_path:
        monkeypatch.setenv(ENV_VAR, socket_path)
        fresh, _, _ = _run(_notebook(tmp_path / "fresh.ipynb", LOOK))
        spoilt, _, ppid = _run(_notebook(tmp_path / "spoil.ipynb", SPOIL, LOOK))
        after, _, _ = _run(_notebook(tmp_path / "after.ipynb", LOOK))
        assert ppid == ping(socket_path)["pid"]
    seen = fresh[1][0]["text"]
    assert float(seen.split()[0]) > 0 and float(seen.split()[-1]) > 0 and "spoilt" not in seen
    assert spoilt[2][0]["text"] == seen  # the same kernel, loading again: copies each time
    assert after[1][0]["text"] == seen  # the next kernel


@pytest.mark.slow
def test_kernels_of_a_server_that_rehearsed_a_report_start_as_fresh_ones(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server runs a whole provider report before forking (``helpers.report.rehearsal``):
    its kernels still see a fresh kernel's settings, globals and threads, and a report run in
    one gives the outputs it gives in a kernel forked from a server that rehearsed nothing."""
    notebook = DEFAULT.notebooks / "provider_shortfall.ipynb"
    rehearsal = ("helpers.report.rehearsal:rehearse", [str(notebook), json.dumps(RF4_M10)])
    probe = _notebook(tmp_path / "probe.ipynb", PROBE, CHART)
    report = _report_notebook(tmp_path / "report.ipynb", notebook, {**RF4_M10, "org_code": "RAL"})
    outputs = {}
    for name, warm in (("plain", []), ("rehearsed", [rehearsal])):
        with running_fork_server(preload=KERNEL_PRELOAD, warm=warm) as socket_path:
            monkeypatch.setenv(ENV_VAR, socket_path)
            outputs[name] = (_run(probe)[0], _run(report)[0])
    plain, rehearsed = outputs["plain"], outputs["rehearsed"]
    assert rehearsed[0][1:] == plain[0][1:]  # rcParams, options, globals, env, threads; chart
    assert _texts(rehearsed[1]) == _texts(plain[1])  # the report reads the same
    assert len(_texts(plain[1])) >= 8 and any("RAL" in text for text in _texts(plain[1]))


RF4_M10 = {"period": "2010-11-M10", "org_code": "RF4"}


def _report_notebook(path: Path, notebook: Path, parameters: dict[str, str]) -> Path:
    """``notebook``'s code cells, ``parameters`` set after its parameters cell, at ``path``."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.cell_type == "code"]  # outputs for _run
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    lines = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(lines))
    nb.cells.insert(0, nbformat.v4.new_code_cell(_pid_cell(path)))
    nbformat.write(nb, path)
    return path


def _texts(cells: list[Any]) -> list[str]:
    """Every text/markdown or text/html output of ``cells`` (images left out)."""
    return [
        str(out.get("data", {}).get(mime, ""))
        for outs in cells
        for out in outs
        for mime in ("text/markdown", "text/html")
        if mime in out.get("data", {})
    ]


def test_what_the_run_does_meanwhile_overlaps_the_servers_start(
    kernelspec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``meanwhile`` (the run's papermill import) runs once, after the server process has
    started and before it listens (it is still importing); with forking off, still once."""
    socket_path = str(tmp_path / "server.sock")
    seen: list[bool] = []

    def meanwhile() -> None:
        seen.append(Path(socket_path).exists())

    with running_fork_server(socket_path, meanwhile=meanwhile):
        assert ping(socket_path)["pid"]
    assert seen == [False]
    monkeypatch.setenv("NHS_KIT_FORK", "0")
    monkeypatch.delenv(ENV_VAR, raising=False)
    with warm_kernels(True, (), (), meanwhile):
        assert ENV_VAR not in os.environ
    assert seen == [False, False]


def test_a_running_server_warms_on_request_and_only_with_the_kits_functions(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Dask worker's server starts before any run; each run has it warm for its periods
    and reports (``warm_server``): kernels forked afterwards inherit what the calls loaded."""
    rehearsed = nbformat.v4.new_notebook()
    rehearsed.cells = [nbformat.v4.new_code_cell("import helpers.spc_chart")]
    nbformat.write(rehearsed, tmp_path / "rehearsed.ipynb")
    probe = _notebook(
        tmp_path / "probe.ipynb", "import sys\nprint('helpers.spc_chart' in sys.modules)"
    )
    monkeypatch.setenv(ENV_VAR, server)
    before = _run(probe)[0][1][0]["text"]
    rehearse = ("helpers.report.rehearsal:rehearse", [str(tmp_path / "rehearsed.ipynb"), "{}"])
    assert warm_server(server, [rehearse]) == 1
    after = _run(probe)[0][1][0]["text"]
    assert (before, after) == ("False\n", "True\n")
    with pytest.raises(ForkRefusedError, match="not the kit's own functions: os:system"):
        warm_server(server, [("os:system", ["true"])])
    with monkeypatch.context() as mp:  # on a Dask worker (without a server: nothing to do)
        from helpers.pipeline.warm_workers import _warm_here

        assert _warm_here([rehearse]) == 1
        mp.delenv(ENV_VAR)
        assert _warm_here([rehearse]) == 0
