"""The history layer on disk: ``data/processed/history/``, rebuilt only when a period layer changes.

>>> hist = load_history()                          # builds what is missing or stale
>>> hist.as_of("2010-11-M10").financial_position.shape
>>> history_for("2011-12-Q1", returns_dir="")      # what a report of that period reads

The folder holds ``<table>.parquet`` (the resolved history: one row per organisation or SHA
budget line and month, latest return winning, see :mod:`helpers.data.history`),
``submitted/<table>.parquet`` (every row of every return, so that the history as of an earlier
period can be resolved again) and ``manifest.json``: the sha256 of the ``manifest.json`` of every
period layer it was built from (:mod:`helpers.data.store`, which validates and builds those
first, incrementally), and the periods whose returns were refused and so left out. A build
writes a temporary folder and swaps it in by rename, under a lock, as the period layers do.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from helpers.data.history import KEYS, History
from helpers.data.periods import Period
from helpers.data.store import (
    MANIFEST,
    available_periods,
    build_processed,
    layer_lock,
    load_period,
    replace_dir,
)
from helpers.errors import NoDataError, ValidationError
from helpers.files import storage_faults
from helpers.paths import DEFAULT, PROCESSED_DIR, RAW_DIR, REFERENCE_DIR, ProjectPaths

HISTORY = "history"
REFUSED = "refused"


def _layers(raw_dir: Path, processed_dir: Path, reference_dir: Path) -> dict[str, str]:
    """Each period folder -> sha256 of its layer's manifest, or ``refused`` (invalid returns)."""
    periods = available_periods(raw_dir)
    if not periods:
        raise NoDataError(f"no period folders under {raw_dir}, so there is no history")
    out = {}
    for p in periods:
        try:
            folder = build_processed(
                p, raw_dir=raw_dir, processed_dir=processed_dir, reference_dir=reference_dir
            )
        except ValidationError:
            out[str(p)] = REFUSED  # `make validate` lists its problems; the others still count
            continue
        out[str(p)] = hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()
    return out


def _is_fresh(folder: Path, layers: dict[str, str]) -> bool:
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    files = [folder / f"{t}.parquet" for t in KEYS] + [
        folder / "submitted" / f"{t}.parquet" for t in KEYS
    ]
    return bool(manifest.get("layers") == layers and all(f.is_file() for f in files))


def _write(history: History, layers: dict[str, str], folder: Path) -> None:
    """Every table, then the manifest last (a manifest means the layer is complete)."""
    (folder / "submitted").mkdir()
    rows = {}
    for table in KEYS:
        history.submitted[table].to_parquet(folder / "submitted" / f"{table}.parquet", index=False)
        resolved = history.table(table)
        resolved.to_parquet(folder / f"{table}.parquet", index=False)
        rows[table] = len(resolved)
    manifest = {
        "layers": layers,
        "refused": sorted(p for p, h in layers.items() if h == REFUSED),
        "returns": [str(p) for p in history.returns],
        "rows": rows,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def build_history(
    force: bool = False,
    *,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    reference_dir: Path = REFERENCE_DIR,
) -> Path:
    """Build the period layers that are stale, then the history if any of them changed.

    Periods whose returns are refused are left out (and listed in the manifest); NoDataError
    if no period is valid. Returns the history's folder.
    """
    layers = _layers(raw_dir, processed_dir, reference_dir)
    final = processed_dir / HISTORY
    with layer_lock(processed_dir, HISTORY, exclusive=True):
        if not force and _is_fresh(final, layers):
            return final
        valid = [Period.parse(p) for p, h in layers.items() if h != REFUSED]
        if not valid:
            raise NoDataError(f"every period's returns under {raw_dir} were refused: no history")
        for stale in processed_dir.glob(f".{HISTORY}.tmp-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        dirs = {"raw_dir": raw_dir, "processed_dir": processed_dir, "reference_dir": reference_dir}
        history = History.from_returns([load_period(p, **dirs) for p in valid])
        with storage_faults(final):
            tmp = Path(tempfile.mkdtemp(prefix=f".{HISTORY}.tmp-", dir=processed_dir))
            try:
                tmp.chmod(0o755)
                _write(history, layers, tmp)
                replace_dir(tmp, final)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
    return final


def load_history(
    *,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    reference_dir: Path = REFERENCE_DIR,
) -> History:
    """The whole history (every valid period), from Parquet, built first if missing or stale."""
    folder = build_history(
        raw_dir=raw_dir, processed_dir=processed_dir, reference_dir=reference_dir
    )
    with layer_lock(processed_dir, HISTORY, exclusive=False):
        text = (folder / MANIFEST).read_bytes()
        submitted = {t: frame.copy() for t, frame in _read_submitted(folder, text).items()}
    returns = tuple(Period.parse(p) for p in json.loads(text)["returns"])
    source = (str(folder), hashlib.sha256(text).hexdigest())
    return History(returns, submitted, returns[-1], source=source)


@functools.lru_cache(maxsize=4)
def _read_submitted(folder: Path, manifest: bytes) -> dict[str, pd.DataFrame]:
    """The history's submitted rows, read once per process while its manifest is the same."""
    return {t: pd.read_parquet(folder / "submitted" / f"{t}.parquet") for t in KEYS}


def history_for(
    period: Period | str, returns_dir: str | Path = "", dirs: ProjectPaths = DEFAULT
) -> History:
    """The history a report of ``period`` reads: returns up to it, from its ``returns_dir``."""
    raw, processed = dirs.returns_folders(returns_dir, period)
    return load_history(raw_dir=raw, processed_dir=processed, reference_dir=dirs.reference).as_of(
        period
    )
