"""A throw-away copy of the project for tests that run the pipeline end to end.

Usage example::

    root = make_project(tmp_path)                     # notebooks, params, data, empty outputs
    proc = run_kit(root, "reports", "--period", "2011-12-Q1", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr

The copy has its own ``outputs/`` and ``data/processed/``, so tests never touch the real ones;
``run_kit`` runs the command line in a subprocess with ``NHS_KIT_ROOT`` pointing at the copy,
exactly as ``make reports`` would run it there.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from helpers.project import copy_inputs, kit_env

__all__ = ["kit_env", "make_project", "run_kit", "tree_hashes"]


def make_project(root: Path, periods: tuple[str, ...] | None = None) -> Path:
    """Copy the inputs of the project under ``root`` (only ``periods``' params if given)."""
    return copy_inputs(root, periods)


def run_kit(
    root: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m helpers.cli <args>`` against the project at ``root``."""
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args],
        cwd=root,
        env=kit_env(root, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative path (to prove nothing changed)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
