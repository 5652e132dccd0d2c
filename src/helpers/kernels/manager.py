"""The kernel manager and client of a run: Unix sockets, and no fixed waits at start or end.

Usage example (what :func:`helpers.pipeline.job.run_job` does)::

    papermill.execute_notebook(src, None, kernel_name="nhs-kit",
                               kernel_manager_class=IpcKernelManager)

Three things jupyter_client does for an interactive session cost a batch of short reports
dearly, measured here on forked kernels (each report waited about 0.4 s doing nothing):

- **TCP ports.** It picks five free ports and releases them before the kernel binds them, so
  two kernels starting at once can be handed the same one. A run measured here lost 60 s that
  way (``ZMQError: Address already in use``, then papermill's whole start-up timeout before
  the retry). Unix sockets in a private directory (mode 0700) of each kernel's own cannot
  clash; the directory is short, since a socket path is limited to about 100 bytes.
- **Ready.** Once the kernel answers ``kernel_info``, the client drains the IOPub channel until
  it has been quiet for 0.2 s: a fixed 0.2 s per kernel. nbclient reads only the messages that
  answer its own requests (by parent message id), so :class:`QuickReadyClient` takes what is
  already there and goes on.
- **Shutdown.** After killing the kernel the manager polls every 0.1 s until it has gone; a
  forked kernel goes within milliseconds, so :class:`IpcKernelManager` polls every 5 ms. And
  it sends SIGINT before the SIGKILL of an immediate shutdown (papermill's, the kit's): a
  kernel that handles it first logs ``ERROR | KeyboardInterrupt caught in kernel.`` to the
  run's console as it goes, after a good report. :class:`IpcKernelManager` only kills it.

These override three private methods of jupyter_client (``_async_wait``,
``_async_interrupt_kernel`` and the body of ``wait_for_ready``), pinned by the lock;
``tests/test_forkserver.py`` checks the kernels still start, run and go, and the benchmark
shows the time each phase takes.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type, default

#: Prefix of each kernel's socket directory under the system's temporary directory.
SOCKET_DIR_PREFIX = "nhs-kit-ipc-"
#: How often a stopping kernel is checked for having gone, and a starting one re-asked.
SHUTDOWN_POLL_SECONDS = 0.005
READY_POLL_SECONDS = 1.0
#: Milliseconds between a client's attempts to connect to a kernel that is not listening yet.
RECONNECT_MS = 5


class QuickReadyClient(AsyncKernelClient):
    """:class:`AsyncKernelClient` that connects as soon as its kernel listens, and whose
    ``wait_for_ready`` does not wait for a quiet IOPub."""

    def _context_default(self) -> zmq.asyncio.Context:
        """A context whose sockets retry a connection every :data:`RECONNECT_MS` (ZeroMQ's
        default, 100 ms, is most of a forked kernel's start: the client asks before the
        kernel has bound its sockets)."""
        self._created_context = True
        context = zmq.asyncio.Context()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return once the kernel has answered ``kernel_info`` and IOPub is connected.

        As jupyter_client's, except that the IOPub messages already received are dropped
        without waiting 0.2 s for more. RuntimeError if the kernel dies or ``timeout`` passes.
        """
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            with contextlib.suppress(Empty):
                msg = await self.shell_channel.get_msg(timeout=READY_POLL_SECONDS)
                if msg["msg_type"] == "kernel_info_reply":
                    with contextlib.suppress(Empty):  # IOPub not yet connected: ask again
                        await self.iopub_channel.get_msg(timeout=0.2)
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while await self.iopub_channel.msg_ready():  # what is already there, no waiting
            await self.iopub_channel.get_msg(timeout=0)


class IpcKernelManager(AsyncKernelManager):
    """:class:`AsyncKernelManager` on the ``ipc`` transport, with a :class:`QuickReadyClient`."""

    client_class = DottedObjectName("helpers.kernels.manager.QuickReadyClient")
    client_factory = Type(QuickReadyClient, klass=AsyncKernelClient)

    @default("transport")
    def _transport_default(self) -> str:
        return "ipc"

    @default("ip")
    def _ip_default(self) -> str:
        """``<tmp>/nhs-kit-ipc-XXXX/kernel``: ZeroMQ appends ``-<n>`` for each channel."""
        self._socket_dir = tempfile.mkdtemp(prefix=SOCKET_DIR_PREFIX)
        return str(Path(self._socket_dir) / "kernel")

    _killing = False

    async def shutdown_kernel(  # type: ignore[override]  # async, as AsyncKernelManager's
        self, now: bool = False, restart: bool = False
    ) -> None:
        """As jupyter_client's, except that a kernel shut down ``now`` is not interrupted
        before it is killed."""
        self._killing = now
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            self._killing = False

    async def _async_interrupt_kernel(self) -> None:
        """Interrupt the kernel, unless it is being killed (see :meth:`shutdown_kernel`)."""
        if not self._killing:
            await super()._async_interrupt_kernel()

    async def _async_wait(self, pollinterval: float = SHUTDOWN_POLL_SECONDS) -> None:
        """Wait until the kernel has gone, checking every :data:`SHUTDOWN_POLL_SECONDS`."""
        await super()._async_wait(min(pollinterval, SHUTDOWN_POLL_SECONDS))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        """jupyter_client's cleanup (connection file, sockets), then the socket directory."""
        await super()._async_cleanup_resources(restart)
        socket_dir = getattr(self, "_socket_dir", "")
        if socket_dir and not restart:
            with contextlib.suppress(OSError):  # a socket the kernel still holds: leave it
                for leftover in Path(socket_dir).iterdir():
                    leftover.unlink()
                Path(socket_dir).rmdir()
