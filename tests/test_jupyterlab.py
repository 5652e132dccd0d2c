"""JupyterLab as ``make lab`` starts it: loopback, token, notebooks/, the kit's kernel.

The slow test starts the real server from ``jupyter_lab_config.py`` against a project copy,
talks to it only through its REST API and kernel websocket (as JupyterLab's front end does),
runs ``regional_outturn.ipynb`` on its defaults and shuts the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from kit_project import make_project
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect
from traitlets.config.loader import PyFileConfigLoader

from helpers.figures import FIGURES_MIME
from helpers.kernels.forkserver import ENV_VAR

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "jupyter_lab_config.py"
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
NOTEBOOK = "regional_outturn.ipynb"
KERNEL = "nhs-kit"
START_TIMEOUT = 90.0
CELL_TIMEOUT = 120.0


# --- the configuration file itself (fast) ---------------------------------------------------


def load_lab_config(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The traitlets config ``make lab`` loads, read as a plain project (no NHS_KIT_ROOT)."""
    monkeypatch.delenv("NHS_KIT_ROOT", raising=False)
    return PyFileConfigLoader(CONFIG.name, path=str(REPO)).load_config()


def test_lab_config_is_loopback_with_a_token_on_notebooks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # the folder comes from the file's location, not the cwd
    cfg = load_lab_config(monkeypatch)
    assert cfg.ServerApp.ip == "127.0.0.1"
    assert cfg.ServerApp.allow_remote_access is False
    assert cfg.ServerApp.root_dir == str(REPO / "notebooks")
    assert "token" not in cfg.ServerApp and "token" not in cfg.IdentityProvider
    assert "disable_check_xsrf" not in cfg.ServerApp
    assert cfg.MultiKernelManager.default_kernel_name == KERNEL
    assert cfg.KernelSpecManager.allowed_kernelspecs == {KERNEL}
    checkpoints = Path(cfg.FileCheckpoints.checkpoint_dir)
    assert checkpoints.is_absolute() and (REPO / "notebooks") not in checkpoints.parents


def test_lab_config_follows_nhs_kit_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NHS_KIT_ROOT", str(tmp_path))
    cfg = PyFileConfigLoader(CONFIG.name, path=str(REPO)).load_config()
    assert cfg.ServerApp.root_dir == str(tmp_path / "notebooks")


def test_saving_a_notebook_drops_its_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = load_lab_config(monkeypatch).ContentsManager.pre_save_hook
    cell: dict[str, Any] = {"cell_type": "code", "source": "1", "execution_count": 3}
    cell["metadata"], cell["outputs"] = {}, [{"output_type": "stream", "text": "1"}]
    text: dict[str, Any] = {"cell_type": "markdown", "source": "# t", "metadata": {}}
    model: dict[str, Any] = {"type": "notebook", "content": {"cells": [dict(cell), dict(text)]}}
    hook(model=model, path="x.ipynb", contents_manager=None)
    assert model["content"]["cells"] == [{**cell, "outputs": [], "execution_count": None}, text]
    plain = {"type": "file", "content": "outputs"}
    hook(model=plain, path="x.txt", contents_manager=None)
    assert plain == {"type": "file", "content": "outputs"}


# --- the running server (slow) --------------------------------------------------------------


@dataclass
class Lab:
    """A running ``jupyter lab`` process, its URL and token."""

    proc: subprocess.Popen[bytes]
    base: str
    token: str
    root: Path
    log: Path

    def api(self, method: str, path: str, body: Any = None, *, token: str | None = None) -> Any:
        """Call the REST API (with the server's token unless ``token`` says otherwise)."""
        status, payload = self.call(method, path, body, token=token)
        assert 200 <= status < 300, f"{method} {path}: HTTP {status}\n{self.log_tail()}"
        return payload

    def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> tuple[int, Any]:
        """(HTTP status, decoded JSON or None) of one API request."""
        token = self.token if token is None else token
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, None

    def log_tail(self) -> str:
        """The end of the server's log, for assertion messages."""
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab_command(port: int, token: str) -> list[str]:
    """``make lab``'s command, on a given port and token, without opening a browser."""
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", f"--config={CONFIG}", f"--port={port}"]
    command += ["--ServerApp.port_retries=0", "--no-browser", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:  # containers (CI) run as root; Jupyter refuses root without this
        command.append("--allow-root")
    return command


def wait_until_up(lab: Lab) -> None:
    """Poll /api/status until the server answers (or fail with its log)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert lab.proc.poll() is None, f"jupyter lab exited early:\n{lab.log_tail()}"
        try:
            if lab.call("GET", "/api/status")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"jupyter lab did not answer within {START_TIMEOUT:.0f} s:\n{lab.log_tail()}")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """JupyterLab from ``make lab``'s config, serving a project copy on a free port."""
    root = make_project(tmp_path / "project", periods=("2011-12-Q1",))
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}  # the server launches kernels
    env |= {"NHS_KIT_ROOT": str(root), "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("NHS_KIT_FORK_SERVER", None)
    for var, folder in (("CONFIG", "config"), ("DATA", "data"), ("RUNTIME", "runtime")):
        env[f"JUPYTER_{var}_DIR"] = str(tmp_path / "jupyter" / folder)
    log = tmp_path / "jupyter-lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            lab_command(port, token),
            cwd=tmp_path,  # not the project: the config must not depend on the cwd
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Lab(proc, f"http://127.0.0.1:{port}", token, root, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        if proc.poll() is None:  # the test failed before a clean shutdown
            leftovers = kernel_processes(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            for kernel in leftovers:  # kernels run in sessions of their own
                with contextlib.suppress(psutil.NoSuchProcess):
                    kernel.kill()


@dataclass
class CellRun:
    """What one executed cell sent back: its reply and its iopub outputs."""

    source: str
    reply: dict[str, Any] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """``ename: evalue`` of every error output, plus a failed reply."""
        found = [
            f"{m['content']['ename']}: {m['content']['evalue']}"
            for m in self.outputs
            if m["msg_type"] == "error"
        ]
        if self.reply.get("status") != "ok":
            found.append(f"execute_reply {self.reply.get('status')}: {self.reply.get('evalue')}")
        return found


def execute_request(code: str, session: str) -> tuple[str, str]:
    """(msg_id, JSON text) of an ``execute_request`` on the shell channel."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "session": session,
            "username": "test",
            "version": "5.3",
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(message)


async def run_cells(lab: Lab, kernel_id: str, sources: list[str]) -> list[CellRun]:
    """Execute ``sources`` one by one through the kernel's websocket, as JupyterLab does."""
    session = uuid.uuid4().hex
    url = f"{lab.base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
    request = HTTPRequest(
        f"{url}?session_id={session}", headers={"Authorization": f"token {lab.token}"}
    )
    conn = await websocket_connect(request, max_message_size=256 * 2**20)
    runs = []
    try:
        for source in sources:
            msg_id, text = execute_request(source, session)
            await conn.write_message(text)
            run, idle = CellRun(source), False
            while not (idle and run.reply):
                raw = await asyncio.wait_for(conn.read_message(), CELL_TIMEOUT)
                assert isinstance(raw, str), f"kernel channel closed or binary: {raw!r:.200}"
                msg = json.loads(raw)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
                    run.reply = msg["content"]
                elif msg["channel"] == "iopub" and msg["msg_type"] == "status":
                    idle = msg["content"]["execution_state"] == "idle"
                elif msg["channel"] == "iopub":
                    run.outputs.append(msg)
            runs.append(run)
            if run.errors:
                break
    finally:
        conn.close()
    return runs


def published(period: str, notebook: str, org_code: str) -> dict[str, tuple[float, float]]:
    """Published figures of one report: name -> (value, tolerance)."""
    path = REPO / "data" / "reference" / "published_figures.csv"
    with path.open(encoding="utf-8") as f:
        return {
            r["figure"]: (float(r["value"]), float(r["tolerance"]))
            for r in csv.DictReader(f)
            if (r["period"], r["notebook"], r["org_code"]) == (period, notebook, org_code)
        }


def kernel_processes(server_pid: int) -> list[psutil.Process]:
    """The IPython kernels below the server process."""
    return [
        p
        for p in psutil.Process(server_pid).children(recursive=True)
        if "ipykernel_launcher" in " ".join(p.cmdline())
    ]


def still_running(proc: psutil.Process) -> bool:
    """Whether ``proc`` (by pid and start time) is alive and not a zombie."""
    try:
        return bool(proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_jupyterlab_lists_runs_and_shuts_down(lab: Lab) -> None:
    # Only loopback, and nothing without the token.
    listening = [c.laddr for c in psutil.Process(lab.proc.pid).net_connections("inet")]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
    assert lab.call("GET", "/api/contents", token="")[0] == 403
    assert lab.call("GET", "/api/contents", token="not-the-token")[0] == 403

    # notebooks/ through the contents API; only the kit's kernel on offer.
    listing = lab.api("GET", "/api/contents")
    names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
    assert len(NOTEBOOKS) == 4 and names == NOTEBOOKS
    specs = lab.api("GET", "/api/kernelspecs")
    assert specs["default"] == KERNEL and set(specs["kernelspecs"]) == {KERNEL}

    # Open the notebook in a session and run it cell by cell on its defaults.
    model = lab.api("GET", f"/api/contents/{NOTEBOOK}?content=1")
    cells = [c for c in model["content"]["cells"] if c["cell_type"] == "code"]
    sources = [c["source"] if isinstance(c["source"], str) else "".join(c["source"]) for c in cells]
    body = {"path": NOTEBOOK, "type": "notebook", "name": NOTEBOOK, "kernel": {"name": KERNEL}}
    session = lab.api("POST", "/api/sessions", body)
    assert session["kernel"]["name"] == KERNEL
    kernels = kernel_processes(lab.proc.pid)
    assert len(kernels) == 1, lab.log_tail()

    runs = asyncio.run(run_cells(lab, session["kernel"]["id"], sources))
    failed = {r.source[:60]: r.errors for r in runs if r.errors}
    assert not failed and len(runs) == len(sources), f"{failed}\n{lab.log_tail()}"
    bundles = [
        m["content"]["data"][FIGURES_MIME]
        for r in runs
        for m in r.outputs
        if m["msg_type"] in ("display_data", "execute_result")
        and FIGURES_MIME in m["content"]["data"]
    ]
    assert len(bundles) == 1, "the report records its figures exactly once"
    payload = json.loads(bundles[0]) if isinstance(bundles[0], str) else bundles[0]
    assert (payload["period"], payload["notebook"], payload["org_code"]) == (
        "2011-12-Q1",
        "regional_outturn",
        "Q36",
    )
    recorded = {f["figure"]: f["value"] for f in payload["figures"]}
    expected = published("2011-12-Q1", "regional_outturn", "Q36")
    assert expected, "the published figures of the default report"
    for name, (value, tolerance) in expected.items():
        assert abs(recorded[name] - value) <= tolerance + 1e-9, (name, recorded[name], value)
    assert (lab.root / "data" / "processed").is_dir(), "the kernel used the project copy"

    # Saving (with a checkpoint, as the front end does) leaves notebooks/ as committed.
    run_cell = {**cells[0], "execution_count": 1}
    run_cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
    content = {**model["content"], "cells": [run_cell, *model["content"]["cells"][1:]]}
    lab.api("POST", f"/api/contents/{NOTEBOOK}/checkpoints")
    lab.api("PUT", f"/api/contents/{NOTEBOOK}", {"type": "notebook", "content": content})
    saved = json.loads((lab.root / "notebooks" / NOTEBOOK).read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in saved["cells"] if c["cell_type"] == "code")
    assert not (lab.root / "notebooks" / ".ipynb_checkpoints").exists()
    assert list((lab.root / ".ipynb_checkpoints").glob("regional_outturn-*.ipynb"))

    # A clean shutdown: the server exits and takes its kernel with it.
    lab.api("POST", "/api/shutdown")
    assert lab.proc.wait(timeout=60) == 0, lab.log_tail()
    deadline = time.monotonic() + 20
    while any(still_running(k) for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(still_running(k) for k in kernels), "a kernel outlived the server"
