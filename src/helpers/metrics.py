"""Headline computations: every figure the reports publish, computed from organisation rows.

Usage example::

    from helpers.data.store import load_period
    from helpers import metrics
    data = load_period("2010-11-M10")
    metrics.sector_summary(data).loc["London", "forecast_outturn_gbp_m"]   # 274.0

Sign convention: surplus and favourable variance positive, deficit and adverse negative.
Savings are positive amounts; a shortfall is (plan - forecast) / plan as a percentage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from helpers.data.organisations import CLUSTERS, COMMISSIONER_TYPES

if TYPE_CHECKING:
    from helpers.data.period_data import PeriodData

MONEY = [
    "ytd_plan_gbp_m",
    "ytd_actual_gbp_m",
    "annual_plan_gbp_m",
    "forecast_outturn_gbp_m",
    "prior_year_outturn_gbp_m",
]
GROUPS = ("NHS trusts", "PCTs", "SHA", "London")
DRIVERS = ("cip_slippage", "activity_above_plan", "premium_costs", "restructuring", "other")
DEFAULT_BEHIND_PLAN_THRESHOLD_PCT = 1.0
#: Rounding of recorded figures: enough for £0.1m inputs, free of float noise.
FIGURE_DECIMALS = 4
#: The most organisations a ranking chart (or an organisation's ranking table) shows: more
#: bars cannot be read at the chart's size, and one report's cost must not grow with the
#: number of organisations in the region.
RANK_LIMIT = 40


def variance(actual: pd.Series | float, plan: pd.Series | float) -> pd.Series | float:
    """Variance to plan: actual or forecast minus plan (favourable positive)."""
    return actual - plan


def shortfall_pct(plan: pd.Series | float, forecast: pd.Series | float) -> pd.Series | float:
    """Savings shortfall as a percentage of plan: (plan - forecast) / plan x 100."""
    return (plan - forecast) / plan * 100.0


def share_pct(part: pd.Series | float, whole: pd.Series | float) -> pd.Series | float:
    """``part`` as a percentage of ``whole`` (e.g. savings as % of turnover)."""
    return part / whole * 100.0


def _group_of(org_type: str) -> str:
    return "PCTs" if org_type in COMMISSIONER_TYPES else "NHS trusts"


def position(data: PeriodData, month: str | None = None) -> pd.DataFrame:
    """Each trust's and PCT's financial position at ``month`` (default: the period's position).

    Adds name, type, sector, cluster and group from the reference data, and the derived
    variance to plan, YTD variance, outturn before LCTB support and underlying position.
    """
    month = month or data.period.end_month_label
    fp = data.financial_position
    pos = fp.loc[fp["month"] == month].copy()
    orgs = data.reference.organisations.set_index("org_code")
    pos["name"] = pos["org_code"].map(orgs["name"])
    pos["org_type"] = pos["org_code"].map(orgs["org_type"])
    pos["sector"] = pos["org_code"].map(orgs["sector"])
    pos["cluster_code"] = pos["org_code"].map(data.reference.cluster_of(data.period))
    pos["group"] = pos["org_type"].map(_group_of)
    pos["variance_to_plan_gbp_m"] = pos["forecast_outturn_gbp_m"] - pos["annual_plan_gbp_m"]
    pos["ytd_variance_gbp_m"] = pos["ytd_actual_gbp_m"] - pos["ytd_plan_gbp_m"]
    pos["outturn_before_support_gbp_m"] = pos["forecast_outturn_gbp_m"] - pos["lctb_support_gbp_m"]
    pos["underlying_gbp_m"] = pos["outturn_before_support_gbp_m"] - pos["non_recurrent_gbp_m"]
    return pos.sort_values("org_code", kind="stable").reset_index(drop=True)


def sha_position(data: PeriodData, month: str | None = None) -> pd.DataFrame:
    """The SHA's budget lines at ``month`` (default: the period's position)."""
    month = month or data.period.end_month_label
    sha = data.sha_budgets
    return sha.loc[sha["month"] == month].reset_index(drop=True)


def sector_summary(data: PeriodData, cluster: str | None = None) -> pd.DataFrame:
    """Totals for NHS trusts, PCTs, the SHA and London (or one cluster's PCTs), in £m.

    Index: ``NHS trusts``, ``PCTs``, ``SHA``, ``London`` (a cluster: ``PCTs`` and the
    cluster's code). Columns: the five money columns plus ``variance_to_plan_gbp_m``.
    """
    pos = position(data)
    if cluster is not None:
        pcts = pos.loc[pos["cluster_code"] == cluster, MONEY].sum()
        out = pd.DataFrame({"PCTs": pcts, cluster: pcts}).T
    else:
        by_group = pos.groupby("group", sort=False)[MONEY].sum()
        sha = sha_position(data)[MONEY].sum()
        out = pd.DataFrame(
            {
                "NHS trusts": by_group.loc["NHS trusts"],
                "PCTs": by_group.loc["PCTs"],
                "SHA": sha,
            }
        ).T
        out.loc["London"] = out.sum()
    out["variance_to_plan_gbp_m"] = out["forecast_outturn_gbp_m"] - out["annual_plan_gbp_m"]
    out.index.name = "group"
    return out.round(FIGURE_DECIMALS)


def forecast_trajectory(data: PeriodData) -> pd.DataFrame:
    """Forecast outturn and plan by month for NHS trusts, PCTs, the SHA and London (long form)."""
    fp = data.financial_position
    orgs = data.reference.organisations.set_index("org_code")["org_type"]
    groups = fp["org_code"].map(orgs).map(_group_of)
    cols = ["annual_plan_gbp_m", "forecast_outturn_gbp_m"]
    orgs_m = fp.groupby([fp["month"], groups.rename("group")])[cols].sum().reset_index()
    sha_m = data.sha_budgets.groupby("month")[cols].sum().reset_index().assign(group="SHA")
    long = pd.concat([orgs_m, sha_m], ignore_index=True)
    london = long.groupby("month")[cols].sum().reset_index().assign(group="London")
    long = pd.concat([long, london], ignore_index=True)
    long["group"] = pd.Categorical(long["group"], categories=list(GROUPS), ordered=True)
    long = long.sort_values(["group", "month"], kind="stable").reset_index(drop=True)
    long["group"] = long["group"].astype(str)
    return long[["month", "group", *cols]].round(FIGURE_DECIMALS)


def savings_by_org(data: PeriodData) -> pd.DataFrame:
    """Savings per organisation (all categories), with shortfall % and % of turnover/resources."""
    sav = data.savings
    cols = [
        "annual_plan_gbp_m",
        "ytd_plan_gbp_m",
        "ytd_actual_gbp_m",
        "forecast_gbp_m",
        "forecast_recurrent_gbp_m",
    ]
    per = sav.groupby(["org_code", "programme"], sort=True)[cols].sum(min_count=1).reset_index()
    pos = position(data).set_index("org_code")
    per["name"] = per["org_code"].map(pos["name"])
    per["cluster_code"] = per["org_code"].map(pos["cluster_code"])
    base = pos["turnover_gbp_m"].fillna(pos["resource_limit_gbp_m"])
    per["base_gbp_m"] = per["org_code"].map(base)
    per["shortfall_pct"] = shortfall_pct(per["annual_plan_gbp_m"], per["forecast_gbp_m"])
    per["forecast_pct_of_plan"] = share_pct(per["forecast_gbp_m"], per["annual_plan_gbp_m"])
    per["pct_of_base"] = share_pct(per["forecast_gbp_m"], per["base_gbp_m"])
    return per.round(FIGURE_DECIMALS)


def savings_summary(data: PeriodData, orgs: list[str] | None = None) -> pd.DataFrame:
    """CIP (NHS trusts) and QIPP (PCTs) totals: plan, forecast, shortfall %, % of base."""
    per = savings_by_org(data)
    if orgs is not None:
        per = per.loc[per["org_code"].isin(orgs)]
    money = [
        "annual_plan_gbp_m",
        "ytd_plan_gbp_m",
        "ytd_actual_gbp_m",
        "forecast_gbp_m",
        "forecast_recurrent_gbp_m",
        "base_gbp_m",
    ]
    out = per.groupby("programme", sort=True)[money].sum()
    out["shortfall_pct"] = shortfall_pct(out["annual_plan_gbp_m"], out["forecast_gbp_m"])
    out["pct_of_base"] = share_pct(out["forecast_gbp_m"], out["base_gbp_m"])
    return out.round(FIGURE_DECIMALS)


def savings_by_category(data: PeriodData, orgs: list[str] | None = None) -> pd.DataFrame:
    """Savings plan and forecast by programme and workstream category."""
    sav = data.savings if orgs is None else data.savings.loc[data.savings["org_code"].isin(orgs)]
    cols = ["annual_plan_gbp_m", "ytd_plan_gbp_m", "ytd_actual_gbp_m", "forecast_gbp_m"]
    out = sav.groupby(["programme", "category"], sort=True)[cols].sum().reset_index()
    out["shortfall_pct"] = shortfall_pct(out["annual_plan_gbp_m"], out["forecast_gbp_m"])
    return out.round(FIGURE_DECIMALS)


@dataclass(frozen=True)
class RankWindow:
    """The rows of a ranking that a report shows: ``rows`` hold ranks ``first``..``last``."""

    rows: pd.DataFrame
    first: int
    total: int

    @property
    def last(self) -> int:
        """The rank (1-based) of the last row shown."""
        return self.first + len(self.rows) - 1

    @property
    def partial(self) -> bool:
        """Whether some of the ranking is left out."""
        return len(self.rows) < self.total

    def label(self, noun: str) -> str:
        """``"ranked 101-140 of 250 NHS trusts"`` when partial, else ``""``."""
        return f"ranked {self.first}-{self.last} of {self.total} {noun}" if self.partial else ""


def rank_window(
    ranked: pd.DataFrame, subject: str | None = None, limit: int = RANK_LIMIT
) -> RankWindow:
    """At most ``limit`` rows of ``ranked`` (already in rank order, an ``org_code`` column).

    Without a ``subject`` (London's report) the top of the ranking; with one, the rows around
    the subject's own, so an organisation is always shown among its nearest peers.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    total = len(ranked)
    start = 0
    if subject is not None and total > limit:
        hits = (ranked["org_code"] == subject).to_numpy().nonzero()[0]
        if len(hits):
            start = min(max(int(hits[0]) - limit // 2, 0), total - limit)
    rows = ranked.iloc[start : start + limit]
    return RankWindow(rows, start + 1, total)


def trust_shortfall(
    data: PeriodData, threshold_pct: float = DEFAULT_BEHIND_PLAN_THRESHOLD_PCT
) -> pd.DataFrame:
    """NHS trusts' variance to plan, CIP delivery and drivers, worst variance first.

    A trust is *significantly behind plan* when its forecast variance to plan is adverse by
    more than ``threshold_pct`` per cent of its turnover.
    """
    pos = position(data)
    trusts = pos.loc[pos["group"] == "NHS trusts"].set_index("org_code")
    sav = savings_by_org(data).set_index("org_code")
    out = trusts[
        [
            "name",
            "sector",
            "turnover_gbp_m",
            "annual_plan_gbp_m",
            "forecast_outturn_gbp_m",
            "variance_to_plan_gbp_m",
        ]
    ].copy()
    out["variance_pct_of_turnover"] = share_pct(
        out["variance_to_plan_gbp_m"], out["turnover_gbp_m"]
    )
    out["significantly_behind_plan"] = out["variance_pct_of_turnover"] < -threshold_pct
    out["cip_plan_gbp_m"] = sav["annual_plan_gbp_m"]
    out["cip_forecast_gbp_m"] = sav["forecast_gbp_m"]
    out["cip_shortfall_pct"] = sav["shortfall_pct"]
    drivers = (
        data.variance_drivers.pivot_table(
            index="org_code", columns="driver", values="amount_gbp_m", aggfunc="sum"
        )
        .reindex(index=out.index, columns=list(DRIVERS))
        .fillna(0.0)
    )
    for d in DRIVERS:
        out[f"driver_{d}_gbp_m"] = drivers[d]
    out = out.reset_index().sort_values(["variance_to_plan_gbp_m", "org_code"], kind="stable")
    return out.reset_index(drop=True).round(FIGURE_DECIMALS)


def pct_support(data: PeriodData) -> pd.DataFrame:
    """PCTs' break-even with and without LCTB support, acute overperformance and QIPP."""
    pos = position(data)
    pcts = pos.loc[pos["group"] == "PCTs"].set_index("org_code")
    sav = savings_by_org(data).set_index("org_code")
    out = pcts[
        [
            "name",
            "cluster_code",
            "resource_limit_gbp_m",
            "annual_plan_gbp_m",
            "forecast_outturn_gbp_m",
            "lctb_support_gbp_m",
            "outturn_before_support_gbp_m",
            "underlying_gbp_m",
            "acute_overperformance_gbp_m",
        ]
    ].copy()
    out["needs_support"] = out["outturn_before_support_gbp_m"] < 0
    out["qipp_plan_gbp_m"] = sav["annual_plan_gbp_m"]
    out["qipp_forecast_gbp_m"] = sav["forecast_gbp_m"]
    out["qipp_forecast_pct_of_plan"] = sav["forecast_pct_of_plan"]
    out = out.reset_index().sort_values(["outturn_before_support_gbp_m", "org_code"], kind="stable")
    return out.reset_index(drop=True).round(FIGURE_DECIMALS)


def cluster_savings(data: PeriodData) -> pd.DataFrame:
    """QIPP by cluster: YTD plan and actual, annual plan, forecast, variances, target met.

    A cluster *meets its savings target* when its year-to-date QIPP savings are at least
    its year-to-date plan.
    """
    per = savings_by_org(data)
    per = per.loc[per["programme"] == "QIPP"].dropna(subset=["cluster_code"])
    cols = ["ytd_plan_gbp_m", "ytd_actual_gbp_m", "annual_plan_gbp_m", "forecast_gbp_m"]
    out = per.groupby("cluster_code")[cols].sum().reindex(list(CLUSTERS)).dropna(how="all")
    out["ytd_variance_gbp_m"] = out["ytd_actual_gbp_m"] - out["ytd_plan_gbp_m"]
    out["forecast_variance_gbp_m"] = out["forecast_gbp_m"] - out["annual_plan_gbp_m"]
    out["savings_target_met"] = out["ytd_variance_gbp_m"].round(FIGURE_DECIMALS) >= 0
    out.index.name = "cluster_code"
    return out.round(FIGURE_DECIMALS)


def milestone_status(data: PeriodData) -> pd.DataFrame:
    """Milestones by cluster: due (met + missed), met, missed and not yet due."""
    ms = data.milestones
    counts = pd.crosstab(ms["cluster_code"], ms["status"])
    counts = counts.reindex(index=[c for c in CLUSTERS if c in counts.index])
    counts = counts.reindex(columns=["met", "missed", "not_yet_due"], fill_value=0)
    counts["due"] = counts["met"] + counts["missed"]
    counts.index.name = "cluster_code"
    counts.columns.name = None
    return counts[["due", "met", "missed", "not_yet_due"]].astype("int64")


def milestone_delays(data: PeriodData, cluster: str | None = None) -> pd.DataFrame:
    """Missed milestones with delay and reason, longest delay first."""
    ms = data.milestones
    missed = ms.loc[ms["status"] == "missed"]
    if cluster is not None:
        missed = missed.loc[missed["cluster_code"] == cluster]
    cols = [
        "milestone_id",
        "cluster_code",
        "org_code",
        "category",
        "scheme",
        "due_date",
        "revised_date",
        "delay_months",
        "reason_category",
        "reason_text",
    ]
    return (
        missed[cols]
        .sort_values(["delay_months", "milestone_id"], ascending=[False, True], kind="stable")
        .reset_index(drop=True)
    )


def rounded(x: Any) -> float | int:
    """A recorded figure: flags and counts as integers, money and shares to 4 decimals."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    return round(float(x), FIGURE_DECIMALS)


def group_figures(prefix: str, row: Any) -> dict[str, Any]:
    """A group's position as figures: ``<prefix>_ytd_plan_gbp_m`` ... ``_prior_year_...``."""
    return {
        f"{prefix}_ytd_plan_gbp_m": row["ytd_plan_gbp_m"],
        f"{prefix}_ytd_actual_gbp_m": row["ytd_actual_gbp_m"],
        f"{prefix}_forecast_plan_gbp_m": row["annual_plan_gbp_m"],
        f"{prefix}_forecast_outturn_gbp_m": row["forecast_outturn_gbp_m"],
        f"{prefix}_forecast_variance_to_plan_gbp_m": row["variance_to_plan_gbp_m"],
        f"{prefix}_prior_year_outturn_gbp_m": row["prior_year_outturn_gbp_m"],
    }


def savings_figures(prefix: str, row: Any, base: str) -> dict[str, Any]:
    """A programme's savings as figures: plan, forecast, shortfall %, % of ``base``."""
    return {
        f"{prefix}_savings_plan_gbp_m": row["annual_plan_gbp_m"],
        f"{prefix}_savings_forecast_gbp_m": row["forecast_gbp_m"],
        f"{prefix}_savings_shortfall_pct": row["shortfall_pct"],
        f"{prefix}_savings_pct_of_{base}": row["pct_of_base"],
    }
