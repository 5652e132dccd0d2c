"""The processed layer: a period's validated returns as typed Parquet, rebuilt when inputs change.

>>> data = load_period("2011-12-Q1")            # validates and builds on first use
>>> data.financial_position.dtypes["forecast_outturn_gbp_m"]
dtype('float64')

``data/processed/<period>/`` holds one ``<table>.parquet`` per table and ``manifest.json``
with the sha256 of every raw input file, of the reference files and of the code that reads
them. A build writes into a temporary folder that then replaces the old one by rename, under
a file lock, so an interrupted build never leaves a half-written layer behind; a folder it may
not write or a full disk is a StorageError naming the folder, and the old layer stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from helpers.data.organisations import load_reference
from helpers.data.period_data import PeriodData, tidy_frame
from helpers.data.periods import Period
from helpers.data.returns import period_files
from helpers.data.schemas import TABLES
from helpers.data.validate import validate_period
from helpers.errors import NoDataError, PeriodError
from helpers.files import storage_faults
from helpers.paths import PROCESSED_DIR, RAW_DIR, REFERENCE_DIR

MANIFEST = "manifest.json"
REFERENCE_FILES = ("organisations.csv", "cluster_membership.csv")
#: The code that decides what the processed layer holds: every module of helpers/data/ (a
#: change to any of them rebuilds the layer).
_DATA_CODE = Path(__file__).resolve().parent


# --- hashes -----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _inputs(period: Period, raw_dir: Path, reference_dir: Path) -> dict[str, dict[str, str]]:
    """sha256 of the period's raw files, of the reference files and of the reading code."""
    folder = raw_dir / str(period)
    if not folder.is_dir():
        raise NoDataError(f"no returns for {period}: the folder {folder} does not exist")
    code = hashlib.sha256()
    for path in sorted(_DATA_CODE.glob("*.py")):
        code.update(path.name.encode() + b"\0" + _sha256(path).encode())
    return {
        "inputs": {p.name: _sha256(p) for p in period_files(folder)},
        "reference": {n: _sha256(reference_dir / n) for n in REFERENCE_FILES},
        "code": {"helpers": code.hexdigest()},
    }


def period_input_hash(
    period: Period | str, raw_dir: Path = RAW_DIR, reference_dir: Path = REFERENCE_DIR
) -> str:
    """One hash of the period's raw files and the reference files (for incremental runs).

    It combines the same file hashes that ``manifest.json`` records under ``inputs`` and
    ``reference``, computed from the files as they are now.
    """
    p = _as_period(period)
    found = _inputs(p, raw_dir, reference_dir)
    data = {"period": str(p), "inputs": found["inputs"], "reference": found["reference"]}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def history_input_hash(
    period: Period | str, raw_dir: Path = RAW_DIR, reference_dir: Path = REFERENCE_DIR
) -> str:
    """One hash of the inputs of every period up to ``period`` (what its reports read).

    A report reads its own period's returns and the history of every month up to it, so a
    resubmitted earlier return makes it stale, and a later quarter dropped in does not.
    """
    p = _as_period(period)
    earlier = [q for q in available_periods(raw_dir) if q <= p]
    parts = {str(q): period_input_hash(q, raw_dir, reference_dir) for q in earlier}
    parts[str(p)] = period_input_hash(p, raw_dir, reference_dir)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


# --- building and loading ---------------------------------------------------------------


@contextlib.contextmanager
def layer_lock(processed_dir: Path, name: Period | str, exclusive: bool) -> Iterator[None]:
    """Hold a lock on the layer ``processed_dir/<name>`` (exclusive to build, shared to read)."""
    path = processed_dir / f".{name}.lock"
    with storage_faults(path):
        processed_dir.mkdir(parents=True, exist_ok=True)
        fh = path.open("a")
    with fh:
        fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_manifest(folder: Path) -> dict[str, object] | None:
    try:
        manifest: dict[str, object] = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return manifest


def _is_fresh(folder: Path, found: dict[str, dict[str, str]]) -> bool:
    manifest = _read_manifest(folder)
    if manifest is None:
        return False
    if any(manifest.get(k) != v for k, v in found.items()):
        return False
    return all((folder / f"{name}.parquet").is_file() for name in TABLES)


def _write_layer(data: PeriodData, found: dict[str, dict[str, str]], folder: Path) -> None:
    """Write every table, then the manifest last (a manifest means the layer is complete)."""
    for name in TABLES:
        data.table(name).to_parquet(folder / f"{name}.parquet", index=False)
    manifest = {
        "period": str(data.period),
        **found,
        "rows": data.row_counts,
        "has_milestones": data.has_milestones,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final``, the old folder first renamed aside and then removed."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        final.replace(old)
    try:
        tmp.replace(final)
    except OSError:
        if old is not None:  # put the old layer back
            old.replace(final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def build_processed(
    period: Period | str,
    force: bool = False,
    *,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    reference_dir: Path = REFERENCE_DIR,
) -> Path:
    """Validate the period and write its processed layer unless it is up to date.

    Raises ValidationError (every problem found) or NoDataError; returns the folder.
    """
    p = _as_period(period)
    final = processed_dir / str(p)
    with layer_lock(processed_dir, p, exclusive=True):
        found = _inputs(p, raw_dir, reference_dir)
        if not force and _is_fresh(final, found):
            return final
        for stale in processed_dir.glob(f".{p}.*"):  # left by a build that was killed
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        data = validate_period(p, raw_dir, load_reference(reference_dir))
        with storage_faults(final):
            tmp = Path(tempfile.mkdtemp(prefix=f".{p}.tmp-", dir=processed_dir))
            try:
                tmp.chmod(0o755)  # mkdtemp makes it private
                _write_layer(data, found, tmp)
                replace_dir(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    return final


def load_period(
    period: Period | str,
    *,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    reference_dir: Path = REFERENCE_DIR,
) -> PeriodData:
    """The period's validated data, from Parquet (built first if missing or stale)."""
    p = _as_period(period)
    folder = build_processed(
        p, raw_dir=raw_dir, processed_dir=processed_dir, reference_dir=reference_dir
    )
    with layer_lock(processed_dir, p, exclusive=False):
        manifest = (folder / MANIFEST).read_bytes()
        frames = _read_layer(folder, manifest)
    copies = {name: frame.copy() for name, frame in frames.items()}
    source = (str(folder), hashlib.sha256(manifest).hexdigest())  # covers the reference too
    return PeriodData.from_tables(p, copies, load_reference(reference_dir), source=source)


@functools.lru_cache(maxsize=8)
def _read_layer(folder: Path, manifest: bytes) -> dict[str, pd.DataFrame]:
    """A period layer's frames, read once per process while its manifest is the same (a
    forked kernel inherits its fork server's; :func:`load_period` hands out copies)."""
    return {name: tidy_frame(name, pd.read_parquet(folder / f"{name}.parquet")) for name in TABLES}


def available_periods(raw_dir: Path = RAW_DIR) -> list[Period]:
    """Period folders under ``raw_dir``, in time order (folders not named like a period skipped)."""
    found = []
    if raw_dir.is_dir():
        for child in raw_dir.iterdir():
            if child.is_dir() and not child.name.startswith("."):
                with contextlib.suppress(PeriodError):
                    found.append(Period.parse(child.name))
    return sorted(found)


def _as_period(period: Period | str) -> Period:
    return period if isinstance(period, Period) else Period.parse(period)
