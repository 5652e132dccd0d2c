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

import nbformat

from kit_dev.project import copy_inputs, kit_env

__all__ = [
    "add_cell",
    "kit_env",
    "leftovers",
    "make_project",
    "run_kit",
    "tree_hashes",
    "without_logs",
]


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


def without_logs(hashes: Mapping[str, str]) -> dict[str, str]:
    """File hashes without the run logs (every run adds one)."""
    return {k: v for k, v in hashes.items() if "/logs/" not in k}


def add_cell(root: Path, family: str, source: str) -> None:
    """Append a code cell to the project copy's notebook (the real notebooks are untouched)."""
    path = root / "notebooks" / f"{family}.ipynb"
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    nb.cells.append(nbformat.v4.new_code_cell(source))  # type: ignore[no-untyped-call]
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]


def leftovers(root: Path) -> list[str]:
    """Temporary files left in outputs/ (a clean run leaves none)."""
    return sorted(str(p) for p in (root / "outputs").rglob("*") if ".tmp" in p.name)
