"""The kit's own version: ``project.version`` of pyproject.toml, as installed.

>>> kit_version()
'0.2.0'

``nhs-kit --version`` prints it, and every run records it in ``manifest.json`` and in each
report's provenance (``metadata.nhs_kit.kit_version``). CHANGELOG.md says what each version
changed.
"""

from __future__ import annotations

from importlib import metadata

#: The kit's distribution name (pyproject.toml's ``project.name``).
DISTRIBUTION = "london-nhs-finance-kit"


def kit_version() -> str:
    """The installed version, or ``unknown`` in a source tree that was never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
