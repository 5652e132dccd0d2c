"""Install the kit's ``nhs-kit`` kernelspec, which selects the fork provisioner.

Usage example (what ``make venv`` runs)::

    python -m helpers.kernels.kernelspec            # into sys.prefix/share/jupyter/kernels/nhs-kit
    python -m helpers.kernels.kernelspec --prefix /tmp/k

Compared with ``ipykernel install --sys-prefix --name nhs-kit`` the spec differs only in
``metadata.kernel_provisioner`` (``nhs-kit-fork``:
:class:`helpers.kernels.provisioner.ForkProvisioner`, registered as an entry point), ``env``
(one OpenBLAS thread) and an argv without ``-Xfrozen_modules=off`` (a forked kernel runs in
the fork server's interpreter, which is started without it).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

KERNEL_NAME = "nhs-kit"
DISPLAY_NAME = "NHS finance kit (Python 3.11)"
PROVISIONER_NAME = "nhs-kit-fork"
LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def kernel_dict(executable: str = sys.executable) -> dict[str, Any]:
    """The kernel.json contents."""
    return {
        "argv": [executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "metadata": {
            "debugger": True,
            "supported_encryption": ["curve"],
            "kernel_provisioner": {"provisioner_name": PROVISIONER_NAME},
        },
        "env": {"OPENBLAS_NUM_THREADS": "1"},
        "kernel_protocol_version": "5.5",
    }


def install_kernelspec(prefix: str | Path = sys.prefix, name: str = KERNEL_NAME) -> Path:
    """Write ``<prefix>/share/jupyter/kernels/<name>/`` (kernel.json and logos); return it."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / name
    folder.mkdir(parents=True, exist_ok=True)
    resources = _ipykernel_resources()
    for logo in LOGOS:
        if resources is not None and (resources / logo).is_file():
            shutil.copyfile(resources / logo, folder / logo)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as out:
        json.dump(kernel_dict(), out, indent=1)
        out.write("\n")
    Path(out.name).chmod(0o644)
    Path(out.name).replace(folder / "kernel.json")
    return folder


def _ipykernel_resources() -> Path | None:
    try:
        from ipykernel.kernelspec import RESOURCES  # the logos, if ipykernel is there
    except ImportError:
        return None
    return Path(RESOURCES)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m helpers.kernels.kernelspec [--prefix DIR] [--name NAME]``."""
    parser = argparse.ArgumentParser(description="Install the nhs-kit kernelspec.")
    parser.add_argument("--prefix", default=sys.prefix, help="default: this environment")
    parser.add_argument("--name", default=KERNEL_NAME)
    args = parser.parse_args(argv)
    print(install_kernelspec(args.prefix, args.name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
