"""A papermill engine that keeps what a failed run executed, whatever stopped it.

Usage example (what :func:`helpers.pipeline.runner.run_job` does)::

    try:
        papermill.execute_notebook(src, dst, engine_name=ENGINE_NAME, ...)
    except Exception:
        nb = partial_notebook()  # the cells run so far, with their outputs

papermill writes the executed notebook when a cell raises (``PapermillExecutionError``), but
when a cell times out or the kernel dies it raises before writing anything (unless it saves
after every cell, which costs a full notebook write per cell). This engine is nbclient's,
remembering the notebook it was executing, so the runner can keep it beside the good outputs.
"""

from __future__ import annotations

import threading
from typing import Any

from papermill.engines import NBClientEngine, papermill_engines

ENGINE_NAME = "nhs-kit"
_last = threading.local()


class KeepPartialEngine(NBClientEngine):  # type: ignore[misc]
    """nbclient's engine; the notebook being executed stays readable after a failure."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, **kwargs: Any) -> Any:
        """Execute ``nb`` in place (as nbclient does), remembering it for this thread."""
        _last.notebook = nb
        return super().execute_notebook(nb, kernel_name, **kwargs)


def partial_notebook() -> Any | None:
    """The notebook this thread last executed (with the outputs it got), or None."""
    return getattr(_last, "notebook", None)


def started_cells() -> list[tuple[int, Any]]:
    """(index, cell) of every cell papermill started in the remembered notebook, in order."""
    nb = partial_notebook()
    cells = nb.cells if nb is not None else []
    return [
        (i, c)
        for i, c in enumerate(cells)
        if c.get("metadata", {}).get("papermill", {}).get("start_time")
    ]


def forget() -> None:
    """Drop the remembered notebook (before the next run)."""
    _last.notebook = None


papermill_engines.register(ENGINE_NAME, KeepPartialEngine)
