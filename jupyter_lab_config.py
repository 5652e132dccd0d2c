"""JupyterLab for exploring the report notebooks: what ``make lab`` starts.

Usage example::

    make lab                                                # from the project root
    .venv/bin/jupyter lab --config=jupyter_lab_config.py    # the same, by hand

The server listens on 127.0.0.1 only and requires its generated token (printed in the URL it
logs; the browser it opens already carries it). It serves ``notebooks/`` of the project root
(this file's folder, or ``$NHS_KIT_ROOT`` as for every kit command), offers only the kit's
``nhs-kit`` kernel, keeps checkpoints out of ``notebooks/`` and saves notebooks there without
outputs, so they stay as committed (nbstripout in pre-commit guards the same rule).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

PROJECT_ROOT = Path(os.environ.get("NHS_KIT_ROOT") or Path(__file__).resolve().parent)
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
KERNEL_NAME = "nhs-kit"


def strip_outputs(model: dict[str, Any], path: str, **_: Any) -> None:
    """Pre-save hook: save notebooks without outputs or execution counts, as committed."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    for cell in model["content"].get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


# Network: loopback only, always with a token (the generated one; never set it empty).
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.allow_remote_access = False

# Files: the project's notebooks, checkpoints beside the project (git-ignored), not inside.
c.ServerApp.root_dir = str(NOTEBOOKS_DIR)
c.FileCheckpoints.checkpoint_dir = str(PROJECT_ROOT / ".ipynb_checkpoints")
c.ContentsManager.pre_save_hook = strip_outputs
# JupyterLab applies this file twice to the same manager; the hook replacing itself is fine.
warnings.filterwarnings("ignore", "Overriding existing pre_save_hook \\(strip_outputs\\)")

# Kernels: the kit's own kernelspec, and no other.
c.MultiKernelManager.default_kernel_name = KERNEL_NAME
c.KernelSpecManager.allowed_kernelspecs = {KERNEL_NAME}
