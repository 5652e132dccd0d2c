"""Copies of the project's inputs, for tests and benchmarks that must not touch outputs/.

Usage example::

    root = copy_inputs(tmp / "kit")              # notebooks, params, data/raw, data/reference
    subprocess.run([..., "-m", "helpers.cli", "reports"], env={**os.environ,
                   "NHS_KIT_ROOT": str(root)})
"""

from __future__ import annotations

import shutil
from pathlib import Path

from helpers.paths import PROJ_ROOT

#: What a project copy needs to run every report (outputs and the processed layer are rebuilt).
INPUTS = ("notebooks", "params", "data/raw", "data/reference")


def copy_inputs(root: Path, periods: tuple[str, ...] | None = None) -> Path:
    """Copy the project's inputs under ``root`` (only ``periods``' params files if given)."""
    for part in INPUTS:
        shutil.copytree(PROJ_ROOT / part, root / part, ignore=shutil.ignore_patterns(".*"))
    if periods is not None:
        for params in (root / "params").glob("*.yaml"):
            if params.stem not in periods:
                params.unlink()
    (root / "outputs").mkdir(exist_ok=True)
    return root
