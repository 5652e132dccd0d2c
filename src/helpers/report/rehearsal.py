"""Rehearse a report in the fork server, so the kernels forked from it start warm.

A kernel forked from the server inherits its imports and loaded data, but each report still
paid for work done once per process: matplotlib laying out and rasterising its first glyphs
and ticks, pandas' Styler compiling its templates, the first call of each code path. The
runner has the server rehearse one report of each family it is about to run: the notebook's
own code cells run here, in a plain namespace, with their displays thrown away, then every
figure is closed. Nothing of the rehearsal is visible to a report: its namespace is
dropped, displays go nowhere, matplotlib's settings are put back, and the caches it fills
are keyed by what they hold (``tests/test_forkserver.py`` checks isolation).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

PARAMETERS_TAG = "parameters"


def code_cells(notebook: Path) -> list[tuple[bool, str]]:
    """(is the parameters cell, source) of each code cell of ``notebook``, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [
        (PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []), _source(cell))
        for cell in cells
        if cell.get("cell_type") == "code"
    ]


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def rehearse(notebook: str, parameters_json: str) -> None:
    """Run ``notebook``'s code cells with ``parameters`` (JSON) in a throw-away namespace.

    Its displays are discarded (outside an IPython shell they only print, and printing goes
    nowhere here); a cell that fails ends the rehearsal, which is only ever an optimisation.
    """
    import matplotlib
    import matplotlib.pyplot as plt

    parameters = json.loads(parameters_json)
    namespace: dict[str, Any] = {"__name__": "__rehearsal__"}
    path = Path(notebook).resolve()
    with (
        contextlib.chdir(path.parent),
        contextlib.redirect_stdout(io.StringIO()),
        matplotlib.rc_context(),
    ):
        try:
            for is_parameters, source in code_cells(path):
                exec(compile(source, f"<rehearsal {path.name}>", "exec"), namespace)
                if is_parameters:
                    namespace.update(parameters)
        finally:
            namespace.clear()
            plt.close("all")


__all__ = ["code_cells", "rehearse"]
