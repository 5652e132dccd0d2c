"""Copies of the project's inputs, for tests and benchmarks that must not touch outputs/.

Usage example::

    root = copy_inputs(tmp / "kit")              # notebooks, params, data/raw, data/reference
    subprocess.run([..., "-m", "helpers.cli", "reports"], env=kit_env(root))
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from helpers.paths import PROJ_ROOT

#: What a project copy needs to run every report (outputs and the processed layer are rebuilt).
INPUTS = ("notebooks", "params", "data/raw", "data/reference")


def copy_inputs(
    root: Path, periods: tuple[str, ...] | None = None, source: Path = PROJ_ROOT
) -> Path:
    """Copy ``source``'s inputs under ``root`` (only ``periods``' params files if given)."""
    for part in INPUTS:
        shutil.copytree(source / part, root / part, ignore=shutil.ignore_patterns(".*"))
    if periods is not None:
        for params in (root / "params").glob("*.yaml"):
            if params.stem not in periods:
                params.unlink()
    (root / "outputs").mkdir(exist_ok=True)
    return root


def kit_env(root: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a kit command run against the project copy at ``root``."""
    return {**os.environ, "NHS_KIT_ROOT": str(root), "OPENBLAS_NUM_THREADS": "1", **(extra or {})}
