"""The layers are enforced, not hoped: import-linter fails on a cycle or an import upwards.

``make lint`` runs ``lint-imports`` with the contracts in pyproject.toml. Here it runs on a copy
of the package with one import added where it must not be, and on an unchanged copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import PROJ_ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _copy(tmp: Path, name: str) -> Path:
    """A project with ``src/`` and ``pyproject.toml`` only: enough for import-linter."""
    root = tmp / name
    shutil.copytree(
        PROJ_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    shutil.copy(PROJ_ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def _add_import(root: Path, module: str, line: str) -> None:
    path = root / "src" / Path(*module.split(".")).with_suffix(".py")
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("from __future__ import annotations\n")
    path.write_text(head + sep + line + "\n" + rest, encoding="utf-8")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_package_keeps_every_contract(tmp_path: Path) -> None:
    proc = _lint(_copy(tmp_path, "unchanged"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # a cycle: data (low) importing the report package, which imports data
        ("helpers.data.periods", "import helpers.report.registry", "Layers:"),
        ("helpers.kernels.provisioner", "import helpers.data.store", "Kernels import nothing"),
        ("helpers.metrics", "import kit_dev.project", "never imports the regression tooling"),
    ],
)
def test_an_import_against_the_layers_fails_lint(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    root = _copy(tmp_path, "broken")
    _add_import(root, module, line)
    proc = _lint(root)
    assert proc.returncode != 0, proc.stdout
    assert "BROKEN" in proc.stdout
    broken = [ln for ln in proc.stdout.splitlines() if "BROKEN" in ln or contract in ln]
    assert any(contract in ln for ln in broken), proc.stdout
    assert module in proc.stdout  # the report names the offending import
