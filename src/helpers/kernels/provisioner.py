"""A kernel provisioner that forks kernels from the fork server when one is running.

Usage example (the ``nhs-kit`` kernelspec names it; see :mod:`helpers.kernels.kernelspec`)::

    with running_fork_server() as socket_path:
        os.environ["NHS_KIT_FORK_SERVER"] = socket_path
        papermill.execute_notebook(src, dst, kernel_name="nhs-kit")  # a forked kernel

Without ``NHS_KIT_FORK_SERVER`` (JupyterLab, nbval, plain papermill), or when the server is
gone or declines, the kernel is launched exactly as :class:`LocalProvisioner` launches it.
A forked kernel is not our child: it is watched through a pidfd, signalled as a process group
(the kernel calls ``setsid()``), and its exit code comes from the server that reaps it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from helpers.errors import ForkRefusedError, ForkServerError
from helpers.kernels.forkserver import ENV_VAR, exit_status, fork_kernel

#: Exit code reported when a forked kernel has exited but the server that knew its code is gone.
UNKNOWN_EXIT = 1
_LAUNCH_KWARGS = {"env", "cwd", "stdout", "stderr", "stdin", "kernel_id", "extra_arguments"}


class ForkProvisioner(LocalProvisioner):
    """:class:`LocalProvisioner` that asks the fork server for a warm kernel when it can."""

    _pidfd: int | None = None
    _forked_pid: int = 0
    _socket_path: str = ""
    _exit_code: int | None = None

    @property
    def has_process(self) -> bool:
        """Whether a (forked or launched) kernel process is being managed."""
        return self._pidfd is not None or bool(super().has_process)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        """Fork the kernel from the server named by ``$NHS_KIT_FORK_SERVER``, or launch it."""
        socket_path = os.environ.get(ENV_VAR, "") if sys.platform == "linux" else ""
        fds = _output_fds(kwargs) if socket_path else None
        if fds is not None:
            cwd = str(kwargs.get("cwd") or Path.cwd())
            try:
                pid, pidfd = fork_kernel(socket_path, cmd, cwd, kwargs.get("env") or {}, fds)
            except ForkRefusedError as exc:
                self.log.info("Fork server declined the kernel (%s); launching it normally", exc)
            except ForkServerError as exc:
                self.log.warning("%s; launching the kernel normally", exc)
            else:
                self._pidfd, self._socket_path, self._exit_code = pidfd, socket_path, None
                self.pid = self.pgid = self._forked_pid = pid  # setsid(): its own group
                self.cwd = cwd
                return self.connection_info
            finally:
                _close_opened(fds, kwargs)
        return await super().launch_kernel(cmd, **kwargs)

    async def poll(self) -> int | None:
        """None while the kernel runs, else its exit code."""
        if self._pidfd is None:
            return await super().poll()
        if self._exit_code is None and _has_exited(self._pidfd):
            try:
                code = exit_status(self._socket_path, self._forked_pid)
            except ForkServerError:
                code = None
            self._exit_code = UNKNOWN_EXIT if code is None else code
        return self._exit_code

    async def wait(self) -> int | None:
        """Wait for the kernel to exit; return its exit code."""
        if self._pidfd is None:
            return await super().wait()
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.02)
        self._close_pidfd()
        return code

    async def send_signal(self, signum: int) -> None:
        """Signal the kernel's process group (the kernel and what it started)."""
        if self._pidfd is None:
            await super().send_signal(signum)
            return
        try:
            os.killpg(self._forked_pid, signum)
        except OSError:
            if not _has_exited(self._pidfd):  # like Popen.send_signal: a dead kernel is quiet
                signal.pidfd_send_signal(self._pidfd, signum)

    async def kill(self, restart: bool = False) -> None:
        """SIGKILL the kernel's process group."""
        if self._pidfd is None:
            await super().kill(restart)
            return
        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
            await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        """SIGTERM the kernel's process group."""
        if self._pidfd is None:
            await super().terminate(restart)
            return
        with contextlib.suppress(ProcessLookupError):
            await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        """Kill a forked kernel that is somehow still running, then release its resources."""
        if self._pidfd is not None:
            if await self.poll() is None:
                await self.kill(restart)
            self._close_pidfd()
        await super().cleanup(restart)

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


def _has_exited(pidfd: int) -> bool:
    """A pidfd becomes readable when its process terminates."""
    return bool(select.select([pidfd], [], [], 0)[0])


def _output_fds(kwargs: dict[str, Any]) -> list[int] | None:
    """The kernel's stdout and stderr as descriptors, or None if a fork cannot honour them."""
    if set(kwargs) - _LAUNCH_KWARGS or kwargs.get("stdin") is not None:
        return None
    targets = [kwargs.get("stdout"), kwargs.get("stderr")]
    if not all(t is None or t == subprocess.DEVNULL or _fileno(t) >= 0 for t in targets):
        return None  # subprocess.PIPE and the like
    fds = [1, 2]  # a launched kernel inherits ours
    for i, target in enumerate(targets):
        if target == subprocess.DEVNULL:
            fds[i] = os.open(os.devnull, os.O_WRONLY)
        elif target is not None:
            fds[i] = _fileno(target)
    return fds


def _fileno(target: Any) -> int:
    """The descriptor of an int or a file object (-1 if it is neither)."""
    if isinstance(target, int):
        return target
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return int(target.fileno())
    return -1


def _close_opened(fds: list[int], kwargs: dict[str, Any]) -> None:
    """Close the descriptors :func:`_output_fds` opened itself (only for DEVNULL)."""
    for fd, name in zip(fds, ("stdout", "stderr"), strict=True):
        if kwargs.get(name) == subprocess.DEVNULL:
            os.close(fd)
