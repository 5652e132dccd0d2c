"""A kernel manager that talks to its kernel over Unix sockets instead of TCP ports.

Usage example (what :func:`helpers.pipeline.job.run_job` does)::

    papermill.execute_notebook(src, None, kernel_name="nhs-kit",
                               kernel_manager_class=IpcKernelManager)

jupyter_client's TCP transport picks five free ports and releases them before the kernel binds
them, so two kernels starting at once can be handed the same port. A run measured here lost
60 s that way: the kernel failed to bind (``ZMQError: Address already in use``) and papermill
waited its whole start-up timeout before the report was retried. Unix sockets in a directory
of the kernel's own cannot clash, and need no port at all. The directory is short (a socket
path is limited to about 100 bytes) and private (mode 0700); jupyter_client removes the
sockets when the kernel shuts down, and the directory goes with the manager's cleanup.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import default

#: Prefix of each kernel's socket directory under the system's temporary directory.
SOCKET_DIR_PREFIX = "nhs-kit-ipc-"


class IpcKernelManager(AsyncKernelManager):
    """:class:`AsyncKernelManager` on the ``ipc`` transport, sockets in a private directory."""

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        """``<tmp>/nhs-kit-ipc-XXXX/kernel``: ZeroMQ appends ``-<n>`` for each channel."""
        self._socket_dir = tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX)
        return str(Path(self._socket_dir) / "kernel")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        """jupyter_client's cleanup (connection file, sockets), then the socket directory."""
        await super()._async_cleanup_resources(restart)
        socket_dir = getattr(self, "_socket_dir", "")
        if socket_dir and not restart:
            with contextlib.suppress(OSError):  # a socket the kernel still holds: leave it
                for leftover in Path(socket_dir).iterdir():
                    leftover.unlink()
                Path(socket_dir).rmdir()
