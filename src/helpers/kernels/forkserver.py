"""A fork server: one warm process that forks IPython kernels with the heavy imports done.

Usage example (what the report runner does)::

    with running_fork_server() as socket_path:
        os.environ[ENV_VAR] = socket_path  # ForkProvisioner now forks `nhs-kit` kernels
        papermill.execute_notebook("in.ipynb", "out.ipynb", kernel_name="nhs-kit")

The server imports :data:`PRELOAD` once, then listens on a Unix socket (mode 0600) for JSON
lines. ``fork`` answers with the kernel's pid and a pidfd (passed as ancillary data); the
child calls ``setsid()``, restores the start-up signal handlers, takes the client's stdout and
stderr, cwd and environment, and runs ``IPKernelApp`` as ``python -m ipykernel_launcher``
would. The server refuses a request whose environment differs in a variable read at import
time (:func:`import_time_mismatch`): the client then starts the kernel normally. It reaps its
children, answers ``status`` with their exit codes, kills the kernels still alive when it
stops, and stops by itself when its parent process dies.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.errors import ForkRefusedError, ForkServerError

ENV_VAR = "NHS_KIT_FORK_SERVER"
#: A call the server makes before forking: ``("module:function", [string arguments])``.
Warm = tuple[str, Sequence[str]]
#: Set to 0 to start every kernel from scratch instead of forking it from a warm server.
SWITCH_VAR = "NHS_KIT_FORK"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Imported once by the server, in this order, before the caller's own modules (``preload``
#: of :func:`warm_kernels`: the kit passes the report modules); one that fails is skipped.
#: ``matplotlib_inline`` is left out on purpose (and unloaded if something pulls it in):
#: importing ``matplotlib_inline.backend_inline`` hooks figures into the running IPython
#: shell, so a kernel must import it itself, as pyplot does on first use (its dependencies
#: are preloaded, so that costs little).
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "seaborn",
    "IPython",
    "IPython.core.pylabtools",
    "IPython.display",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    # what a kernel's start imports besides (ipykernel.debugger is left out: in the server
    # it would find debugpy, which forked kernels leave out, see :func:`run_kernel`)
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "faulthandler",
    "tornado.gen",
    "tornado.locks",
    "tornado.platform.asyncio",
    "tornado.queues",
)
#: Environment variables read while the preloaded modules are imported (or at interpreter
#: start): a kernel that asks for other values must be started normally.
IMPORT_TIME_ENV = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "NHS_KIT_ROOT", "XDG_CONFIG_HOME")
IMPORT_TIME_PREFIXES = ("PYTHON", "PYDEVD", "MPL", "OPENBLAS_", "OMP_", "MKL_", "ARROW_")
_PARENT_ENV = ("JPY_PARENT_PID", "JPY_INTERRUPT_EVENT")
_MAX_MESSAGE = 1 << 20
#: The package whose functions a ``warm`` request may call in a running server.
WARM_PACKAGE = "helpers."
_POLL_SECONDS = 0.2

log = logging.getLogger(__name__)


# --- client side (used by helpers.kernels.provisioner) --------------------------------------
def call(
    socket_path: str, message: Mapping[str, Any], fds: Sequence[int] = (), timeout: float = 10
) -> tuple[dict[str, Any], list[int]]:
    """Send one request (with ``fds`` as ancillary data); return the answer and its fds."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
            socket.send_fds(sock, [_encode(message)], list(fds))
            answer, got = _receive(sock, max_fds=1)
        except OSError as exc:
            raise ForkServerError(f"fork server at {socket_path} did not answer: {exc}") from exc
    if "error" in answer:
        for fd in got:
            os.close(fd)
        raise ForkRefusedError(str(answer["error"]))
    return answer, got


def ping(socket_path: str) -> dict[str, Any]:
    """The server's pid, interpreter and preloaded modules (raises if it is not there)."""
    return call(socket_path, {"op": "ping"}, timeout=2)[0]


def warm_server(socket_path: str, warm: Sequence[Warm], timeout: float = 600) -> int:
    """Have a running server make ``warm`` calls (as ``--warm`` at its start) before it
    forks more kernels; return how many it made. Only the kit's own functions
    (``helpers.*``) are called. A Dask worker's server, started before any run, is warmed
    this way for each run's periods and reports."""
    calls = [[target, list(args)] for target, args in warm]
    return int(call(socket_path, {"op": "warm", "calls": calls}, timeout=timeout)[0]["warmed"])


def fork_kernel(
    socket_path: str, cmd: Sequence[str], cwd: str, env: Mapping[str, str], fds: Sequence[int]
) -> tuple[int, int]:
    """Ask for a kernel running ``cmd``, with ``fds`` as its stdout and stderr: (pid, pidfd)."""
    request = {"op": "fork", "cmd": list(cmd), "cwd": cwd, "env": dict(env)}
    answer, got = call(socket_path, request, fds)
    if len(got) != 1:
        for fd in got:
            os.close(fd)
        raise ForkServerError("fork server answered without a pidfd")
    return int(answer["pid"]), got[0]


def exit_status(socket_path: str, pid: int) -> int | None:
    """The exit code of a kernel the server forked, or None while it runs (or if unknown)."""
    code = call(socket_path, {"op": "status", "pid": pid}, timeout=2)[0].get("code")
    return None if code is None else int(code)


def _encode(message: Mapping[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def _receive(sock: socket.socket, max_fds: int) -> tuple[dict[str, Any], list[int]]:
    data, fds, _flags, _addr = socket.recv_fds(sock, 65536, max_fds)
    chunks = [data]
    while data and not data.endswith(b"\n") and sum(map(len, chunks)) < _MAX_MESSAGE:
        data = sock.recv(65536)
        chunks.append(data)
    try:
        message = json.loads(b"".join(chunks))
        if not isinstance(message, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        for fd in fds:
            os.close(fd)
        raise ConnectionError("malformed message") from None
    return message, fds


# --- starting and stopping ------------------------------------------------------------------
@contextlib.contextmanager
def running_fork_server(
    socket_path: str | None = None,
    timeout: float = 60,
    preload: Sequence[str] = (),
    warm: Sequence[Warm] = (),
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[str]:
    """Run a fork server for the duration of the block; yield its socket path.

    ``preload`` names more modules for it to import after :data:`PRELOAD` (the caller's own,
    e.g. the report package); ``warm`` calls for it to make once, after them, so that every
    kernel inherits what they load (``("helpers.report.opening:warm", ["2011-12-Q1", ""])``:
    the period's data). ``meanwhile`` is called while the server starts (it starts on another
    core). On exit (also on KeyboardInterrupt) the server is stopped and kills the kernels it
    forked that are still running.
    """
    with contextlib.ExitStack() as stack:
        if socket_path is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="nhs-kit-fork-"))
            socket_path = str(Path(folder) / "server.sock")
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        argv = [sys.executable, "-m", "helpers.kernels.forkserver", "--socket", socket_path]
        argv += ["--parent-pid", str(os.getpid())]
        argv += [a for name in preload for a in ("--preload", name)]
        argv += [a for call in warm for a in ("--warm", json.dumps([call[0], list(call[1])]))]
        server = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        stack.callback(_stop, server)
        if meanwhile is not None:
            meanwhile()
        _wait_ready(server, socket_path, timeout)
        yield socket_path


@contextlib.contextmanager
def warm_kernels(
    wanted: bool = True,
    preload: Sequence[str] = (),
    warm: Sequence[Warm] = (),
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[None]:
    """Run a fork server for the block and point this process's kernels (and its children's) at it.

    Each kernel is still a fresh process used once; with ``wanted`` false, ``NHS_KIT_FORK=0``,
    off Linux or when the server fails to start, kernels start from scratch as usual.
    ``preload``: modules the server imports for its kernels besides :data:`PRELOAD`;
    ``warm``: calls it makes before forking any (see :func:`running_fork_server`);
    ``meanwhile``: called once before the block when ``wanted``, while the server starts (if
    it does).
    """
    if not wanted:
        yield
        return
    if os.environ.get(SWITCH_VAR, "1") == "0" or sys.platform != "linux":
        if meanwhile is not None:
            meanwhile()
        yield
        return
    with contextlib.ExitStack() as stack:
        try:
            socket_path = stack.enter_context(
                running_fork_server(preload=preload, warm=warm, meanwhile=meanwhile)
            )
        except ForkServerError as exc:
            log.warning("%s; starting kernels from scratch", exc)
            yield
            return
        previous = os.environ.get(ENV_VAR)
        os.environ[ENV_VAR] = socket_path  # processes forked or started from here inherit it
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(ENV_VAR, None)
            else:
                os.environ[ENV_VAR] = previous


def _wait_ready(server: subprocess.Popen[bytes], socket_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ForkServerError(f"fork server exited with code {server.returncode}")
        with contextlib.suppress(ForkServerError):
            ping(socket_path)
            return
        time.sleep(0.05)
    raise ForkServerError(f"fork server not ready after {timeout:g} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server (it kills its kernels and exits); SIGKILL it if it hangs."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the server -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _KernelJob:
    """What a forked child runs: the kernel's argv after ``-m ipykernel_launcher``, and more."""

    args: list[str]
    cwd: str
    env: dict[str, str]
    fds: list[int]
    server_pid: int


def preload(modules: Sequence[str] = PRELOAD) -> list[str]:
    """Import ``modules`` as a kernel would see them; return those that imported."""
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)  # as ipykernel sets it before user code
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("JE_ARROW_MALLOC_CONF", "background_thread:false")  # no thread
    for name in _PARENT_ENV:  # ipykernel reads these when imported; each child gets its own
        os.environ.pop(name, None)
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module being edited must not stop the server
            log.warning("fork server: not preloading %s (%s)", name, exc)
        else:
            loaded.append(name)
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib_inline"]:
        del sys.modules[name]
    return loaded


def warm_call(call: str) -> None:
    """Make one ``["module:function", [args]]`` call; a failure is logged, never fatal (the
    kernels then load what it would have loaded themselves)."""
    try:
        target, call_args = json.loads(call)
    except (ValueError, TypeError) as exc:
        log.warning("fork server: warming %s failed (%s: %s)", call, type(exc).__name__, exc)
        return
    _call(str(target), [str(a) for a in call_args])


def _call(target: str, args: Sequence[str]) -> None:
    """Call ``module:function`` with ``args``; a failure is only logged."""
    try:
        module, _, function = target.partition(":")
        getattr(importlib.import_module(module), function)(*args)
    except Exception as exc:  # a warm-up is only ever an optimisation
        log.warning(
            "fork server: warming %s%s failed (%s: %s)", target, list(args), type(exc).__name__, exc
        )


def import_time_mismatch(env: Mapping[str, str]) -> list[str]:
    """Names of the import-time variables on which ``env`` differs from this process."""

    def read_at_import(name: str) -> bool:
        return name in IMPORT_TIME_ENV or name.startswith(IMPORT_TIME_PREFIXES)

    wanted = {**env, "MPLBACKEND": env.get("MPLBACKEND") or INLINE_BACKEND}
    names = {n for n in (*wanted, *os.environ) if read_at_import(n)} - {"JE_ARROW_MALLOC_CONF"}
    return sorted(n for n in names if wanted.get(n) != os.environ.get(n))


def serve(socket_path: str, parent_pid: int, loaded: list[str]) -> _KernelJob | None:
    """Answer requests until stopped or orphaned; return the job in a forked child."""
    server_pid = os.getpid()
    kernels: dict[int, int | None] = {}  # pid -> exit code, None while running
    listener = _listen(socket_path)
    try:
        while os.getppid() == parent_pid:
            _reap(kernels)
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                try:
                    job = _answer(conn, kernels, loaded)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("fork server: bad request: %s", exc)
                    continue
            if job is not None:
                return job
        log.warning("fork server: parent %d has gone; stopping", parent_pid)
        return None
    finally:
        listener.close()
        if os.getpid() == server_pid:
            _kill_all(kernels)
            with contextlib.suppress(FileNotFoundError):
                Path(socket_path).unlink()


def _listen(socket_path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        Path(socket_path).unlink()
    old_umask = os.umask(0o177)
    try:
        listener.bind(socket_path)
    finally:
        os.umask(old_umask)
    Path(socket_path).chmod(0o600)
    listener.listen(16)
    listener.settimeout(_POLL_SECONDS)
    return listener


def _answer(
    conn: socket.socket, kernels: dict[int, int | None], loaded: list[str]
) -> _KernelJob | None:
    """Handle one request; in a forked child, return its :class:`_KernelJob`."""
    conn.settimeout(5)
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    if int.from_bytes(creds[4:8], sys.byteorder) != os.getuid():
        return None
    request, fds = _receive(conn, max_fds=2)
    op = request.get("op")
    if op == "fork":
        return _fork(conn, request, fds, kernels)
    for fd in fds:
        os.close(fd)
    if op == "status":
        _reap(kernels)
        conn.sendall(_encode({"code": kernels.get(int(request["pid"]))}))
    elif op == "ping":
        conn.sendall(_encode({"pid": os.getpid(), "executable": sys.executable, "loaded": loaded}))
    elif op == "warm":
        conn.sendall(_encode(_warm(request["calls"])))
    else:
        conn.sendall(_encode({"error": f"unknown op {op!r}"}))
    return None


def _warm(calls: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Make each ``[target, args]`` call of the kit's own (``helpers.*``) in the server."""
    foreign = [str(c[0]) for c in calls if not str(c[0]).startswith(WARM_PACKAGE)]
    if foreign:
        return {"error": f"not the kit's own functions: {', '.join(foreign)}"}
    for target, args in calls:
        _call(str(target), [str(a) for a in args])
    gc.collect()
    gc.freeze()  # as at start: the kernels forked from here share what the calls loaded
    return {"warmed": len(calls)}


def _fork(
    conn: socket.socket, request: dict[str, Any], fds: list[int], kernels: dict[int, int | None]
) -> _KernelJob | None:
    """Fork a kernel; the parent answers with its pid and pidfd, the child gets the job."""
    refusal = _refusal(request, fds)
    if refusal:
        for fd in fds:
            os.close(fd)
        conn.sendall(_encode({"error": refusal}))
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    server_pid = os.getpid()
    pid = os.fork()
    if pid == 0:
        cmd, env = request["cmd"], request["env"]
        return _KernelJob(cmd[3:], request["cwd"], env, fds, server_pid)
    kernels[pid] = None
    for fd in fds:
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    try:
        socket.send_fds(conn, [_encode({"pid": pid})], [pidfd])
    except OSError:
        os.kill(pid, signal.SIGKILL)  # nobody will ever connect to it
        raise
    finally:
        os.close(pidfd)
    return None


def _refusal(request: dict[str, Any], fds: list[int]) -> str:
    """Why this fork request cannot be served ('' if it can)."""
    cmd, cwd, env = request.get("cmd"), request.get("cwd"), request.get("env")
    if not (isinstance(cmd, list) and all(isinstance(a, str) for a in cmd) and len(cmd) > 3):
        return "cmd must be a list of strings"
    if cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return f"not an ipykernel_launcher command: {cmd[:3]}"
    if not _same_interpreter(cmd[0]):
        return f"{cmd[0]} is not the fork server's interpreter {sys.executable}"
    if not (isinstance(cwd, str) and Path(cwd).is_dir()):
        return f"no such directory: {cwd}"
    if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        return "env must map names to strings"
    if len(fds) != 2:
        return "expected two file descriptors (stdout, stderr)"
    mismatch = import_time_mismatch(env)
    return f"environment differs in import-time variables {mismatch}" if mismatch else ""


def _same_interpreter(executable: str) -> bool:
    path = Path(executable)
    if path.absolute() == Path(sys.executable).absolute():
        return True
    mine = Path(sys.executable)
    with contextlib.suppress(OSError):
        return path.parent.resolve() == mine.parent.resolve() and path.samefile(mine)
    return False


def _reap(kernels: dict[int, int | None]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        kernels[pid] = os.waitstatus_to_exitcode(status)


def _kill_all(kernels: dict[int, int | None]) -> None:
    """SIGKILL the process group of every kernel still running, and reap them."""
    _reap(kernels)
    running = [pid for pid, code in kernels.items() if code is None]
    for pid in running:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:  # not yet its own group leader
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for pid in running:
        with contextlib.suppress(ChildProcessError):
            kernels[pid] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if running:
        log.warning("fork server: killed %d kernel(s) still running", len(running))


# --- the forked child -----------------------------------------------------------------------
def run_kernel(job: _KernelJob, handlers: Mapping[int, Any]) -> None:
    """Become a kernel exactly as ``python -m ipykernel_launcher <args>`` would be."""
    os.setsid()
    for signum, handler in handlers.items():
        if signal.getsignal(signum) != handler:  # those the server changed (SIGTERM)
            signal.signal(signum, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    devnull = os.open(os.devnull, os.O_RDONLY)
    for fd, target in ((devnull, 0), (job.fds[0], 1), (job.fds[1], 2)):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(job.cwd)
    os.environ.clear()
    os.environ.update(job.env)
    os.environ["JPY_PARENT_PID"] = str(job.server_pid)  # as jupyter_client's launcher does
    gc.enable()
    if "numpy" in sys.modules:  # `random` reseeds itself after a fork; numpy does not
        import numpy.random  # already loaded (checked above): this only names it

        numpy.random.seed()
    spec = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [spec.origin if spec and spec.origin else "ipykernel_launcher", *job.args]
    # A forked kernel runs a report and is never debugged: without debugpy, ipykernel leaves
    # its debugger out (importing debugpy was 0.14 s of each kernel's start; preloading it in
    # the server made the start slower still). Kernels JupyterLab starts are not forked.
    sys.modules.setdefault("debugpy", None)  # type: ignore[arg-type]
    from ipykernel.kernelapp import IPKernelApp  # preloaded by the server; named in the child

    # parent_handle's default was read from the server's environment when ipykernel was
    # imported; the kernel must watch the server, and exit if the server dies.
    IPKernelApp.launch_instance(argv=job.args, parent_handle=job.server_pid)


def _startup_handlers() -> dict[int, Any]:
    """The signal handlers Python set up at start (restored in each kernel)."""
    handlers: dict[int, Any] = {}
    for signum in signal.valid_signals():
        with contextlib.suppress(OSError, ValueError):
            handler = signal.getsignal(signum)
            if handler is not None:
                handlers[signum] = handler
    return handlers


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> int:
    """A fork server: ``python -m helpers.kernels.forkserver --socket PATH [--parent-pid N]``."""

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--socket", required=True, help="path of the Unix socket to listen on")
    parser.add_argument("--parent-pid", type=int, default=os.getppid(), help="stop if it dies")
    parser.add_argument("--preload", action="append", default=[], help="a module to import too")
    parser.add_argument("--warm", action="append", default=[], help='["module:function", [args]]')
    args = parser.parse_args(argv)
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]  # as ipykernel_launcher does; each kernel's shell adds '' back
    handlers = _startup_handlers()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    loaded = preload((*PRELOAD, *args.preload))
    for call in args.warm:
        warm_call(call)
    tasks = sum(1 for _ in Path("/proc/self/task").iterdir())
    if tasks != 1:  # pyarrow's thread pools and jemalloc's: Arrow re-creates them after a fork
        log.info("fork server: %d threads after preloading and warming; forking anyway", tasks)
    gc.collect()
    gc.freeze()  # keep the preloaded objects' pages shared with the kernels
    gc.disable()
    job = serve(args.socket, args.parent_pid, loaded)
    if job is not None:
        run_kernel(job, handlers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
