"""Every month of every return as one history: the latest return wins, in-month values derived.

>>> hist = History.from_returns([load_period("2010-11-M10"), load_period("2011-12-Q1")])
>>> hist.financial_position[["org_code", "month_period", "source_period"]].head(1)
>>> monthly_total(hist.as_of("2010-11-M10"), "in_month_actual_gbp_m").tail(1)

A return holds every month of its financial year up to its position, so the same month is
reported again by each later return of that year. The history keeps every row that was
returned (``submitted``) and resolves them to one row per organisation (or SHA budget line)
and month: the row of the latest return in time order (:class:`Period` order), with
``source_period`` naming that return and ``replaced`` the earlier returns (``;``-separated)
whose rows for the month it replaced. :meth:`History.as_of` resolves again with only the
returns up to a period, so a report of an earlier period never sees a later restatement.

Derived columns (see docs/data-dictionary.md, "The history"): year-to-date columns give
**in-month** values, ``ytd(month) - ytd(previous month)`` within the same financial year, and
an organisation's first month of the year (M01, or its first month open) is its own in-month
value. Forecasts and plans are levels, not cumulative: ``forecast_movement_gbp_m`` is the
forecast outturn's change since the previous month of the same year (empty in a first month),
never an in-month value.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pandas as pd

from helpers.data.period_data import PeriodData, shared_tables
from helpers.data.periods import Period
from helpers.errors import NoDataError

#: The history's tables and the key of a row within a month (organisation or budget line).
KEYS = {"financial_position": "org_code", "sha_budgets": "budget_line"}
#: Columns that every history table has before its returned values.
TIME = ["financial_year", "month", "month_period", "source_period", "replaced"]
DERIVED = [
    "in_month_plan_gbp_m",
    "in_month_actual_gbp_m",
    "in_month_variance_gbp_m",
    "forecast_movement_gbp_m",
]


def _month_period(financial_year: str, month: str) -> str:
    return f"{financial_year}-{month}"


def _time(month_period: str) -> int:
    """A month's place in time (months since April of year 0), for sorting."""
    p = Period.parse(month_period)
    return p.start_year * 12 + p.month


def submitted_rows(returns: Sequence[PeriodData], table: str) -> pd.DataFrame:
    """Every row of ``table`` in every return, ``period`` renamed ``source_period``."""
    frames = []
    for data in returns:
        frame = data.table(table).rename(columns={"period": "source_period"})
        frame.insert(1, "financial_year", data.period.financial_year)
        frames.append(frame)
    if not frames:
        raise NoDataError("the history needs at least one period's returns")
    out = pd.concat(frames, ignore_index=True)
    out["source_period"] = out["source_period"].astype(str)
    return out


def _order(periods: pd.Series) -> pd.Series:
    """Each period's position in time order (Period order, never text order)."""
    ranks = {str(p): i for i, p in enumerate(sorted({Period.parse(s) for s in periods.unique()}))}
    return periods.map(ranks).astype("int64")


def resolve(submitted: pd.DataFrame, table: str, as_of: Period | None = None) -> pd.DataFrame:
    """One row per key and month: the latest return's (up to ``as_of``), in time order."""
    key = KEYS[table]
    rows = submitted
    if as_of is not None:
        upto = {s for s in rows["source_period"].unique() if Period.parse(s) <= as_of}
        rows = rows.loc[rows["source_period"].isin(upto)]
    rows = rows.assign(_rank=_order(rows["source_period"]))
    keys = [key, "financial_year", "month"]
    rows = rows.sort_values([*keys, "_rank"], kind="stable")
    last = ~rows.duplicated(keys, keep="last")
    # the returns each kept row replaced, oldest first: joined only where a month was sent twice
    # (a groupby-transform over every row was most of a trend chart's time)
    replaced = rows.loc[~last].groupby(keys, sort=False)["source_period"].agg("; ".join)
    latest = rows.loc[last]
    latest = latest.assign(
        replaced=pd.MultiIndex.from_frame(latest[keys]).map(replaced.to_dict()).fillna("")
        if len(replaced)
        else ""
    )
    labels = [
        _month_period(y, m) for y, m in zip(latest["financial_year"], latest["month"], strict=True)
    ]
    times = {m: _time(m) for m in set(labels)}
    latest = latest.assign(month_period=labels, _t=[times[m] for m in labels])
    latest = latest.sort_values([key, "_t"], kind="stable").drop(columns=["_rank", "_t"])
    values = [c for c in submitted.columns if c not in (key, *TIME)]
    return _derive(latest[[key, *TIME, *values]].reset_index(drop=True), key)


def _derive(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Add the in-month values and the forecast's movement (rows sorted by key and time)."""
    months = frame["month"].str[1:].astype(int)
    same_year = frame.groupby([key, "financial_year"], sort=False)
    previous_month = same_year["month"].shift().str[1:].astype("Int64")
    first = previous_month.isna()
    follows = (previous_month == months - 1).fillna(False).astype(bool)

    def in_month(column: str) -> pd.Series:
        before = same_year[column].shift()
        out = (frame[column] - before).where(follows, float("nan"))
        return out.where(~first, frame[column])

    out = frame.copy()
    out["in_month_plan_gbp_m"] = in_month("ytd_plan_gbp_m").round(6)
    out["in_month_actual_gbp_m"] = in_month("ytd_actual_gbp_m").round(6)
    out["in_month_variance_gbp_m"] = (
        out["in_month_actual_gbp_m"] - out["in_month_plan_gbp_m"]
    ).round(6)
    movement = frame["forecast_outturn_gbp_m"] - same_year["forecast_outturn_gbp_m"].shift()
    out["forecast_movement_gbp_m"] = movement.where(follows, float("nan")).round(6)
    return out


@dataclass(frozen=True)
class History:
    """The resolved history of every table, the rows it came from, and the returns used."""

    returns: tuple[Period, ...]
    submitted: dict[str, pd.DataFrame]
    as_at: Period  # the latest return resolved (the history "as of" this period)
    _resolved: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)
    #: What the submitted rows were read from (the layer and its manifest's hash), when known:
    #: histories of the same layer and ``as_at`` then share their resolved tables in this
    #: process, so a kernel forked from the warm server inherits them instead of resolving again.
    source: tuple[str, str] | None = field(default=None, compare=False)

    @classmethod
    def from_returns(cls, returns: Sequence[PeriodData]) -> History:
        """The history of some periods' validated returns (in any order)."""
        submitted = {table: submitted_rows(returns, table) for table in KEYS}
        periods = tuple(sorted(d.period for d in returns))
        return cls(periods, submitted, periods[-1])

    def table(self, name: str) -> pd.DataFrame:
        """A resolved table: one row per key and month, latest return up to :attr:`as_at`.

        Resolved once per history (a report's charts read it several times), or once per
        process for histories of the same layer (:attr:`source`); each call gets its own copy.
        """
        resolved = (
            self._resolved if self.source is None else shared_tables(self.source, str(self.as_at))
        )
        if name not in resolved:
            resolved[name] = resolve(self.submitted[name], name, self.as_at)
        return resolved[name].copy()

    @property
    def financial_position(self) -> pd.DataFrame:
        """One row per organisation and month (see the module's docstring)."""
        return self.table("financial_position")

    @property
    def sha_budgets(self) -> pd.DataFrame:
        """One row per SHA budget line and month."""
        return self.table("sha_budgets")

    def as_of(self, period: Period | str) -> History:
        """The history as a report of ``period`` sees it: only returns up to it."""
        p = period if isinstance(period, Period) else Period.parse(period)
        if p not in self.returns:
            raise NoDataError(f"the history holds no return for {p}")
        return History(
            tuple(r for r in self.returns if r <= p), self.submitted, p, source=self.source
        )


def monthly_total(
    history: History, column: str, org_codes: Collection[str] | None = None, sha: bool = True
) -> pd.Series:
    """``column`` summed by month (``month_period``, time order) over organisations and the SHA.

    ``org_codes`` limits the organisations (default: every one); ``sha`` adds the SHA's budget
    lines (London's total is trusts + PCTs + SHA). A column the SHA lacks counts only orgs.
    """
    fp = history.financial_position
    if org_codes is not None:
        fp = fp.loc[fp["org_code"].isin(list(org_codes))]
    parts = [fp[["month_period", column]]]
    sb = history.sha_budgets
    if sha and column in sb.columns:
        parts.append(sb[["month_period", column]])
    rows = pd.concat(parts, ignore_index=True)
    total = rows.groupby("month_period", sort=False)[column].sum(min_count=1)
    order = sorted(total.index, key=_time)
    return total.loc[order].rename(column).round(6)
