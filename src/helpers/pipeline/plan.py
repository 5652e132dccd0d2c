"""The plan: one Job per report of a period, and which of them are already up to date.

Usage example::

    plan = build_plan(load_params(PARAMS_DIR / "2011-12-Q1.yaml"), force=False)
    len(plan.jobs), len(plan.to_run)

A job's fingerprint hashes everything its outputs depend on: the notebook file, the helper
package's ``.py`` files and templates (all but the command line's, :data:`NOT_FINGERPRINTED`),
the inputs of the period and of every period before it (raw returns and reference data, from
:func:`helpers.data.store.history_input_hash`: a report's trend charts read every month up to
its period), the job's parameters (canonical JSON), the kernel name and ``requirements.lock``.
A job is skipped when its ``.ipynb`` and ``.html`` exist and its stamp
(``outputs/<period>/.state/<family>/<org>.json``, written last by a good run) records the
same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpers.data.organisations import load_reference
from helpers.data.store import history_input_hash
from helpers.kernels.kernelspec import KERNEL_NAME
from helpers.paths import DEFAULT, ProjectPaths
from helpers.pipeline.params import PeriodParams
from helpers.report.registry import FAMILIES

HELPERS_DIR = Path(__file__).resolve().parents[1]
LOCK_FILE = "requirements.lock"
STATE_DIR = ".state"


@dataclass(frozen=True)
class Job:
    """One report to run: picklable, so any worker (a process, a Dask worker) can run it."""

    period: str
    family: str
    org_code: str
    parameters: dict[str, Any]
    notebook: Path  # the report notebook to execute (its folder is the kernel's cwd)
    output_dir: Path  # outputs/<period>/<family>
    stamp: Path  # outputs/<period>/.state/<family>/<org>.json
    fingerprint: str
    title: str
    provenance: dict[str, Any] = field(default_factory=dict)
    kernel_name: str = KERNEL_NAME
    cell_timeout: int | None = None  # seconds per cell (None: no limit)
    org_name: str = ""  # the organisation's name, from the reference data (for pages)

    @property
    def name(self) -> str:
        """``period/family/org``, for messages."""
        return f"{self.period}/{self.family}/{self.org_code}"

    @property
    def ipynb(self) -> Path:
        """The executed report."""
        return self.output_dir / f"{self.org_code}.ipynb"

    @property
    def html(self) -> Path:
        """The board-ready HTML copy (code hidden)."""
        return self.output_dir / f"{self.org_code}.html"

    @property
    def failed(self) -> Path:
        """Where a failed run's executed notebook is kept."""
        return self.output_dir / f"{self.org_code}.failed.ipynb"


@dataclass(frozen=True)
class Plan:
    """A period's jobs, split into those to run and those already up to date."""

    params: PeriodParams
    output_dir: Path
    jobs: list[Job]
    to_run: list[Job]

    @property
    def period(self) -> str:
        """The period, as text."""
        return str(self.params.period)

    @property
    def skipped(self) -> list[Job]:
        """Jobs whose outputs are up to date."""
        running = {j.name for j in self.to_run}
        return [j for j in self.jobs if j.name not in running]


# --- hashes ---------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Modules of the package that cannot change a report, so editing them marks none stale:
#: the command line's parsing and help texts.
NOT_FINGERPRINTED = ("cli.py",)


def _package_files(package_dir: Path) -> list[Path]:
    """The package's ``.py`` files and the files of its ``templates`` folders."""
    return sorted(
        p
        for p in package_dir.rglob("*")
        if p.is_file()
        and (p.suffix == ".py" or "templates" in p.relative_to(package_dir).parts[:-1])
    )


def code_hash(package_dir: Path = HELPERS_DIR) -> str:
    """One hash of the helper package's ``.py`` files and page templates, but the CLI's.

    Templates count like code (a page template changed is a page to rewrite, as when
    ``pages.py`` changes). The regression tooling (golden notebooks, project copies) lives in
    ``kit_dev``, outside the package, so editing it never marks a report stale either.
    """
    digest = hashlib.sha256()
    for path in _package_files(package_dir):
        if path.relative_to(package_dir).as_posix() in NOT_FINGERPRINTED:
            continue
        digest.update(path.relative_to(package_dir).as_posix().encode() + b"\0")
        digest.update(_stat_keyed_sha256(path, _stat_key(path)).encode())
    return digest.hexdigest()


def _stat_key(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


@lru_cache(maxsize=4096)
def _stat_keyed_sha256(path: Path, key: tuple[int, int, int]) -> str:
    """sha256 of a file while its inode, size and modification time stay ``key``: the
    package's hash is asked for several times a run (a file edited meanwhile hashes anew)."""
    return file_sha256(path)


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def fingerprint(parts: Mapping[str, object]) -> str:
    """sha256 of the canonical JSON of a job's inputs."""
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()


def read_stamp(path: Path) -> dict[str, Any]:
    """A job's stamp, or ``{}`` if missing or unreadable."""
    try:
        stamp: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def is_up_to_date(job: Job) -> bool:
    """True when the job's outputs exist and its stamp records the same fingerprint."""
    return (
        job.ipynb.is_file()
        and job.html.is_file()
        and read_stamp(job.stamp).get("fingerprint") == job.fingerprint
    )


# --- the plan -------------------------------------------------------------------------------


def _title(family: str, org_name: str, org_code: str, period: str) -> str:
    title = FAMILIES[family].title if family in FAMILIES else family
    return f"{title}: {org_name} ({org_code}), {period}"


def build_plan(
    params: PeriodParams,
    dirs: ProjectPaths | None = None,
    *,
    force: bool = False,
    provenance: Mapping[str, Any] | None = None,
) -> Plan:
    """Every job of the period, with ``to_run`` the jobs that are stale (all when forced)."""
    dirs = dirs or DEFAULT
    period = str(params.period)
    out = dirs.outputs / period
    lock = dirs.root / LOCK_FILE
    shared = {
        "code": code_hash(),
        "data": history_input_hash(params.period, params.raw_dir, dirs.reference),
        "lock": file_sha256(lock) if lock.is_file() else "",
        "kernel": KERNEL_NAME,
    }
    ref = load_reference(dirs.reference)
    jobs = []
    for family, run in params.families.items():
        nb_hash = file_sha256(run.notebook)
        for org in run.orgs:
            parameters = {
                "period": period,
                "org_code": org,
                "returns_dir": params.returns_dir,
                **run.options,
            }
            parts = {**shared, "notebook": nb_hash, "parameters": parameters}
            jobs.append(
                Job(
                    period=period,
                    family=family,
                    org_code=org,
                    parameters=parameters,
                    notebook=run.notebook,
                    output_dir=out / family,
                    stamp=out / STATE_DIR / family / f"{org}.json",
                    fingerprint=fingerprint(parts),
                    title=_title(family, ref.name(org), org, period),
                    provenance={**(provenance or {}), "notebook_sha256": nb_hash},
                    cell_timeout=params.cell_timeout,
                    org_name=ref.name(org),
                )
            )
    to_run = jobs if force else [j for j in jobs if not is_up_to_date(j)]
    return Plan(params, out, jobs, list(to_run))
