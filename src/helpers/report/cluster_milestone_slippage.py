"""The cluster_milestone_slippage report: QIPP savings and milestones by PCT cluster.

Usage example (the notebook ``notebooks/cluster_milestone_slippage.ipynb``)::

    report = open_report("cluster_milestone_slippage", "2011-12-Q1", "NCL")
    show_table(milestone_table(report))
    show_markdown(delays_markdown(report))

A cluster *meets its savings target* when its year-to-date QIPP savings are at least its
year-to-date plan; milestones due are those met or missed by the period's end. Years without
milestone tracking (2010-11) say so instead of showing empty tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers import metrics, narrative
from helpers.data.organisations import REGION
from helpers.data.period_data import PeriodData
from helpers.report.base import Report
from helpers.report.display import Table, board_table, label
from helpers.report.family import Family, Figures, figure


def cluster_table(report: Report) -> Table:
    """QIPP to date and forecast against plan by cluster, with London's total (chart data)."""
    sav = metrics.cluster_savings(report.data)
    frame = sav.reset_index()
    if not frame.empty:
        total = sav.drop(columns="savings_target_met").sum().to_frame().T
        total.insert(0, "cluster_code", "London")
        frame = pd.concat([frame.astype({"savings_target_met": "object"}), total])
    columns = {
        "cluster_code": ("Cluster", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "ytd_variance_gbp_m": ("YTD variance £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_variance_gbp_m": ("Forecast variance £m", "money"),
        "savings_target_met": ("Target met to date", "flag"),
    }
    return board_table(
        frame,
        columns,
        f"QIPP savings by cluster, {report.period}, £m",
        "There were no PCT clusters in this period (they were formed in April 2011).",
    )


def member_qipp_table(report: Report) -> Table:
    """QIPP by PCT: the cluster's members, or every PCT in a London report."""
    per = metrics.savings_by_org(report.data)
    per = per.loc[per["programme"] == "QIPP"]
    if report.cluster is not None:
        per = per.loc[per["org_code"].isin(report.members)]
    columns = {
        "org_code": ("Code", "text"),
        "name": ("PCT", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_pct_of_plan": ("Forecast % of plan", "pct"),
    }
    return board_table(per, columns, f"QIPP savings by PCT, {report.period}, £m")


STATUS_COLUMNS = ["due", "met", "missed", "not_yet_due"]


def milestone_counts(report: Report) -> pd.DataFrame:
    """Milestones due, met, missed and not yet due by cluster (``label``; empty without any)."""
    if not report.data.has_milestones:
        return pd.DataFrame(columns=["label", *STATUS_COLUMNS])
    counts = metrics.milestone_status(report.data)
    return counts.reset_index().rename(columns={"cluster_code": "label"})


def milestone_status_by_category(milestones: pd.DataFrame) -> pd.DataFrame:
    """Milestones due (met + missed), met, missed and not yet due by workstream category."""
    counts = pd.crosstab(milestones["category"], milestones["status"])
    counts = counts.reindex(columns=["met", "missed", "not_yet_due"], fill_value=0)
    counts["due"] = counts["met"] + counts["missed"]
    counts.index = counts.index.map(label)
    counts.index.name = "label"
    counts.columns.name = None
    return counts[STATUS_COLUMNS].astype("int64")


def _status_columns(by: str) -> dict[str, tuple[str, str]]:
    return {
        "label": (by, "text"),
        "due": ("Due", "count"),
        "met": ("Met", "count"),
        "missed": ("Missed", "count"),
        "not_yet_due": ("Not yet due", "count"),
    }


def milestone_table(report: Report) -> Table:
    """The milestone chart's data: due, met, missed, not yet due by cluster, and London."""
    counts = milestone_counts(report)
    if not counts.empty:
        total = counts[STATUS_COLUMNS].sum().to_frame().T.assign(label="London")
        counts = pd.concat([counts, total], ignore_index=True)
    return board_table(
        counts,
        _status_columns("Cluster"),
        f"QIPP milestones by cluster, {report.period}",
        no_tracking_sentence(report),
    )


def category_milestone_table(report: Report) -> Table:
    """Milestones by workstream category, for London or the cluster."""
    ms = report.data.milestones
    if report.cluster is not None:
        ms = ms.loc[ms["cluster_code"] == report.cluster]
    counts = (
        milestone_status_by_category(ms).reset_index()
        if report.data.has_milestones
        else pd.DataFrame(columns=["label", *STATUS_COLUMNS])
    )
    who = "London" if report.cluster is None else report.cluster
    return board_table(
        counts,
        _status_columns("Workstream category"),
        f"QIPP milestones by workstream category, {who}, {report.period}",
        no_tracking_sentence(report),
    )


def no_tracking_sentence(report: Report) -> str:
    """The short note shown in place of milestone tables for a year without tracking."""
    return f"No QIPP milestones were tracked in {report.period.financial_year}."


def delays(report: Report) -> pd.DataFrame:
    """Missed milestones (for the cluster, or all), longest delay first."""
    if not report.data.has_milestones:
        return metrics.milestone_delays(report.data).iloc[0:0]
    return metrics.milestone_delays(report.data, cluster=report.cluster)


def delays_table(report: Report) -> Table:
    """Missed milestones with their delay in months and the reason given."""
    frame = delays(report).copy()
    frame["category"] = frame["category"].map(label)
    frame["reason_category"] = frame["reason_category"].map(label)
    frame["due"] = frame["due_date"].dt.strftime("%b %Y")
    columns = {
        "milestone_id": ("Milestone", "text"),
        "org_code": ("PCT", "text"),
        "category": ("Category", "text"),
        "scheme": ("Scheme", "text"),
        "due": ("Due", "text"),
        "delay_months": ("Delay (months)", "count"),
        "reason_category": ("Reason", "text"),
        "reason_text": ("Explanation", "text"),
    }
    empty = (
        "No milestone due by the end of the period was missed."
        if report.data.has_milestones
        else no_tracking_sentence(report)
    )
    return board_table(frame, columns, "Missed milestones, longest delay first", empty)


def delays_markdown(report: Report) -> str:
    """The delays in words (empty for a year without tracking: the table says so)."""
    if not report.data.has_milestones:
        return ""
    return narrative.delays_summary(delays(report))


# --- headline figures, from organisation rows ------------------------------------------


def headline_figures(data: PeriodData, org_code: str = REGION) -> Figures:
    """Headline figures of the cluster_milestone_slippage report (London, or one cluster).

    Only what the period's returns hold: without clusters (before April 2011) London's QIPP
    totals come from its PCTs, and without milestone tracking (2010-11) there are no
    milestone counts.
    """
    sav = metrics.cluster_savings(data)
    if sav.empty:
        return _qipp_from_pcts(data)
    status = metrics.milestone_status(data)
    if org_code == REGION:
        q: Any = sav.sum(numeric_only=True)
        counts: Any = status.sum()
        figs: dict[str, Any] = {
            "clusters_meeting_savings_target_count": int(sav["savings_target_met"].sum())
        }
    else:
        q = sav.loc[org_code]
        counts = (
            status.loc[org_code] if org_code in status.index else pd.Series(0, index=status.columns)
        )
        figs = {"savings_target_met": bool(q["savings_target_met"])}
    figs.update(
        {
            "qipp_ytd_plan_gbp_m": q["ytd_plan_gbp_m"],
            "qipp_ytd_actual_gbp_m": q["ytd_actual_gbp_m"],
            "qipp_ytd_variance_gbp_m": q["ytd_actual_gbp_m"] - q["ytd_plan_gbp_m"],
            "qipp_annual_plan_gbp_m": q["annual_plan_gbp_m"],
            "qipp_forecast_gbp_m": q["forecast_gbp_m"],
            "qipp_forecast_variance_gbp_m": q["forecast_gbp_m"] - q["annual_plan_gbp_m"],
            "milestones_due_count": int(counts["due"]),
            "milestones_met_count": int(counts["met"]),
            "milestones_missed_count": int(counts["missed"]),
            "milestones_not_yet_due_count": int(counts["not_yet_due"]),
        }
    )
    if not data.has_milestones:
        figs = {k: v for k, v in figs.items() if not k.startswith("milestones_")}
    return {k: metrics.rounded(v) for k, v in figs.items()}


def _qipp_from_pcts(data: PeriodData) -> Figures:
    """London's QIPP figures from its PCTs' rows (a period without clusters), or none."""
    qipp = metrics.savings_summary(data)
    if "QIPP" not in qipp.index:
        return {}
    q = qipp.to_dict("index")["QIPP"]
    figs = {
        "qipp_ytd_plan_gbp_m": q["ytd_plan_gbp_m"],
        "qipp_ytd_actual_gbp_m": q["ytd_actual_gbp_m"],
        "qipp_ytd_variance_gbp_m": q["ytd_actual_gbp_m"] - q["ytd_plan_gbp_m"],
        "qipp_annual_plan_gbp_m": q["annual_plan_gbp_m"],
        "qipp_forecast_gbp_m": q["forecast_gbp_m"],
        "qipp_forecast_variance_gbp_m": q["forecast_gbp_m"] - q["annual_plan_gbp_m"],
    }
    return {k: metrics.rounded(v) for k, v in figs.items()}


# --- figures, summary and definitions (the registry entry) --------------------------------


def figures(report: Report) -> Figures:
    """London's (or one cluster's) QIPP and milestone figures."""
    return headline_figures(report.data, report.org_code)


def summary(report: Report) -> str:
    """The board summary: QIPP against plan, who met target, milestones due and missed."""
    figs = report.figures()
    year = report.period.financial_year
    if not report.data.has_milestones:
        text = narrative.no_milestones_sentence(year)
        if figs:
            text += " " + narrative.cluster_summary(
                figs, area="London's PCTs", when=report.period.label
            )
        return text
    met = None
    if report.is_region:
        sav = metrics.cluster_savings(report.data)
        names = report.data.reference.organisations.set_index("org_code")["name"]
        met = [str(names[c]) for c in sav.index[sav["savings_target_met"]]]
    return narrative.cluster_summary(
        figs, area=report.area, when=report.period.label, met_clusters=met
    )


def definitions(report: Report) -> list[str]:
    """The definitions the notes repeat."""
    return [
        "A cluster meets its savings target when its year-to-date QIPP savings are at "
        "least its year-to-date plan; milestones due are those met or missed by the "
        "period's end.",
    ]


DICTIONARY = (
    figure(
        "clusters_meeting_savings_target_count",
        "PCT clusters meeting their savings target",
        "Clusters whose QIPP savings to date are at least their year-to-date plan.",
    ),
    figure(
        "savings_target_met",
        "Savings target met to date",
        "1 when the cluster's QIPP savings to date are at least its year-to-date plan, else 0.",
    ),
    figure(
        "qipp_ytd_plan_gbp_m", "QIPP plan to date", "Planned QIPP savings to date, £m.", "neither"
    ),
    figure(
        "qipp_ytd_actual_gbp_m", "QIPP delivered to date", "QIPP savings delivered to date, £m."
    ),
    figure(
        "qipp_ytd_variance_gbp_m",
        "QIPP variance to date",
        "QIPP delivered minus planned to date, £m (favourable positive).",
    ),
    figure(
        "qipp_annual_plan_gbp_m",
        "QIPP plan for the year",
        "Planned QIPP savings for the year, £m.",
        "neither",
    ),
    figure("qipp_forecast_gbp_m", "QIPP forecast", "Forecast QIPP savings for the year, £m."),
    figure(
        "qipp_forecast_variance_gbp_m",
        "QIPP forecast variance",
        "Forecast QIPP savings minus the plan for the year, £m (favourable positive).",
    ),
    figure(
        "milestones_due_count",
        "QIPP milestones due",
        "Local QIPP programme milestones due by the period's end (met or missed).",
        "neither",
    ),
    figure("milestones_met_count", "QIPP milestones met", "Milestones due and met."),
    figure(
        "milestones_missed_count",
        "QIPP milestones missed",
        "Milestones due by the period's end and not met (each with a revised date and reason).",
        "lower",
    ),
    figure(
        "milestones_not_yet_due_count",
        "QIPP milestones not yet due",
        "Milestones that fall due after the period's end.",
        "neither",
    ),
)

FAMILY = Family(
    name="cluster_milestone_slippage",
    title="QIPP savings and milestone slippage",
    org_types=("sha", "cluster"),
    org_help="NHS London (Q36) or a PCT cluster (NCL, INEL, ...)",
    options=(),
    dictionary=DICTIONARY,
    figures=figures,
    summary=summary,
    definitions=definitions,
)
