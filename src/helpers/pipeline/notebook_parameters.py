"""What a notebook's ``parameters`` cell declares, as papermill inspects it (and cached).

>>> [p.name for p in notebook_parameters(NOTEBOOKS_DIR / "provider_shortfall.ipynb")]
['period', 'org_code', 'threshold_pct', 'returns_dir']

A params file's options are checked against the notebook an analyst may have edited, not only
against the registry. Inspecting imports papermill (about 1.5 s), so the answer is kept per
notebook content (its SHA-256) and a run with every report up to date never imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class NotebookParameter:
    """A parameter declared in a notebook's ``parameters`` cell."""

    name: str
    type_name: str  # "str", "float", "int", "bool" or "None" (unknown)


def notebook_parameters(notebook: Path, cache_dir: Path | None = None) -> list[NotebookParameter]:
    """The notebook's declared parameters, in cell order, as papermill inspects them.

    An answer kept by :func:`remember_parameters` in ``cache_dir`` (under the notebook's
    SHA-256) is used instead, so a run that finds every report up to date never imports
    papermill (about 1.5 s of start-up).
    """
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
    cached = _cache_entry(digest, cache_dir)
    if cached is not None and cached.is_file():
        try:
            return [NotebookParameter(n, t) for n, t in json.loads(cached.read_text("utf-8"))]
        except (ValueError, TypeError):
            pass  # a damaged cache entry: inspect again
    return _inspect(notebook.resolve(), digest)


def remember_parameters(
    notebook: Path, found: list[NotebookParameter], cache_dir: Path | None
) -> None:
    """Keep a notebook's inspected parameters for the next run (atomically; once valid)."""
    cached = _cache_entry(hashlib.sha256(notebook.read_bytes()).hexdigest(), cache_dir)
    if cached is None or cached.is_file():
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([[p.name, p.type_name] for p in found]), "utf-8")
    tmp.replace(cached)


def _cache_entry(digest: str, cache_dir: Path | None) -> Path | None:
    return cache_dir / f"{digest}.json" if cache_dir is not None else None


@cache
def _inspect(notebook: Path, digest: str) -> list[NotebookParameter]:
    import papermill  # only when a notebook changed: it costs about 1.5 s of start-up

    found = papermill.inspect_notebook(notebook)
    return [NotebookParameter(n, str(p["inferred_type_name"])) for n, p in found.items()]
