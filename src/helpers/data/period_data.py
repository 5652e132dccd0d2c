"""A period's validated returns as typed frames: what the reports read.

>>> data.financial_position.dtypes["forecast_outturn_gbp_m"]
dtype('float64')
>>> data.has_milestones, data.row_counts["savings"]

Frames have the kit's dtypes, their columns in the data dictionary's order and their rows
sorted by key (:func:`tidy_frame`), whether they come from the contract check
(:mod:`helpers.data.validate`) or from the processed layer (:mod:`helpers.data.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from helpers.data.organisations import Reference
from helpers.data.periods import Period
from helpers.data.schemas import TABLES, dtypes


@dataclass(frozen=True)
class PeriodData:
    """A period's validated returns: typed frames sorted by key, plus the reference data."""

    period: Period
    financial_position: pd.DataFrame
    sha_budgets: pd.DataFrame
    savings: pd.DataFrame
    variance_drivers: pd.DataFrame
    milestones: pd.DataFrame  # empty, with its columns, when the period has no milestones
    reference: Reference
    #: What the frames were read from (the period's layer and its manifest's hash), when known:
    #: tables derived from periods of the same layer are then shared in this process
    #: (:func:`derived_once`), so a kernel forked from the warm server inherits them.
    source: tuple[str, str] | None = field(default=None, compare=False)

    @classmethod
    def from_tables(
        cls,
        period: Period,
        frames: dict[str, pd.DataFrame],
        reference: Reference,
        source: tuple[str, str] | None = None,
    ) -> PeriodData:
        """The period's data from one frame per table (every name in ``TABLES``)."""
        return cls(
            period=period,
            financial_position=frames["financial_position"],
            sha_budgets=frames["sha_budgets"],
            savings=frames["savings"],
            variance_drivers=frames["variance_drivers"],
            milestones=frames["milestones"],
            reference=reference,
            source=source,
        )

    @property
    def has_milestones(self) -> bool:
        """True when the period tracks QIPP milestones (from 2011-12)."""
        return not self.milestones.empty

    def table(self, name: str) -> pd.DataFrame:
        """A table by name, e.g. ``data.table("savings")``."""
        if name not in TABLES:
            raise KeyError(f"{name!r} is not a table (expected one of {', '.join(TABLES)})")
        frame: pd.DataFrame = getattr(self, name)
        return frame

    @property
    def row_counts(self) -> dict[str, int]:
        """Rows per table."""
        return {name: len(self.table(name)) for name in TABLES}


def tidy_frame(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns in order with the kit's dtypes, sorted by key, index reset."""
    spec = TABLES[name]
    out = frame.loc[:, list(spec.columns)].astype(dtypes(name))
    return out.sort_values(list(spec.key), kind="stable").reset_index(drop=True)


def empty_frame(name: str) -> pd.DataFrame:
    """A table with no rows but the right columns and dtypes."""
    return tidy_frame(name, pd.DataFrame({c: [] for c in TABLES[name].columns}))


#: Tables computed from what was read from a known layer: (layer, manifest hash, scope) ->
#: table name -> frame. Callers only ever get copies.
_SHARED: dict[tuple[str, str, str], dict[str, pd.DataFrame]] = {}


def shared_tables(source: tuple[str, str], scope: str = "") -> dict[str, pd.DataFrame]:
    """The process's tables computed from ``source`` (a layer and its manifest's hash) in
    ``scope`` (e.g. a history's as-at period), for the caller to fill and copy from. A layer's
    tables of an older manifest are dropped (a long ``watch`` process would keep every one)."""
    folder, digest = source
    for old in [k for k in _SHARED if k[0] == folder and k[1] != digest]:
        del _SHARED[old]
    return _SHARED.setdefault((folder, digest, scope), {})


def derived_once(data: PeriodData, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``compute()`` (a table derived from ``data``, named ``key``), a copy of it each call.

    Computed once per process for periods read from the same layer (:attr:`PeriodData.source`;
    a layer's tables of an older manifest are dropped), else on every call. The table is of the
    period as read: a change the caller made to ``data``'s frames in place is not seen.
    """
    if data.source is None:
        return compute()
    tables = shared_tables(data.source)
    if key not in tables:
        tables[key] = compute()
    return tables[key].copy()
