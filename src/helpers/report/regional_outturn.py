"""The regional_outturn report: forecast outturn against plan for London or a PCT cluster.

Usage example (the notebook ``notebooks/regional_outturn.ipynb``)::

    report = open_report("regional_outturn", "2011-12-Q1", "Q36", threshold_pct=1.0)
    show_table(outturn_table(report))
    charts.show(charts.bridge_chart(bridge(report)))

London's total is NHS trusts + PCTs (with the care trust) + the SHA's own budgets; a cluster's
report covers its member PCTs. Every table is computed from organisation rows
(:mod:`helpers.metrics`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers import formats, metrics, narrative
from helpers.data.organisations import REGION
from helpers.data.period_data import PeriodData
from helpers.report.base import THRESHOLD, Report, previous_month
from helpers.report.display import Table, board_table
from helpers.report.family import Family, Figures, figure
from helpers.report.trends import (
    TREND_DICTIONARY,
    trend_figures,
    trend_sentence,
    variance_trend,
)


def outturn_by_group(report: Report) -> pd.DataFrame:
    """Rows to compare with plan: London's groups, or a cluster's PCTs and its total (£m)."""
    money = [*metrics.MONEY, "variance_to_plan_gbp_m"]
    if report.cluster is None:
        frame = metrics.sector_summary(report.data).reset_index()
        frame = frame.rename(columns={"group": "label"})
    else:
        pos = metrics.position(report.data)
        pcts = pos.loc[pos["org_code"].isin(report.members)]
        rows = pcts.assign(label=pcts["name"].map(formats.short_name))[["label", *money]]
        total = metrics.sector_summary(report.data, cluster=report.cluster).loc[[report.cluster]]
        total = total.reset_index().rename(columns={"group": "label"})
        total["label"] = report.org_name
        frame = pd.concat([rows, total[["label", *money]]], ignore_index=True)
    frame["ytd_variance_gbp_m"] = frame["ytd_actual_gbp_m"] - frame["ytd_plan_gbp_m"]
    return frame.round(metrics.FIGURE_DECIMALS)


def trajectory(report: Report) -> pd.DataFrame:
    """Forecast outturn and plan by month (long form: month, group, plan, forecast)."""
    if report.cluster is None:
        return metrics.forecast_trajectory(report.data)
    fp = report.data.financial_position
    cols = ["annual_plan_gbp_m", "forecast_outturn_gbp_m"]
    rows = fp.loc[fp["org_code"].isin(report.members)]
    out = rows.groupby("month", sort=True)[cols].sum().reset_index()
    out.insert(1, "group", report.org_name)
    return out.round(metrics.FIGURE_DECIMALS)


def movement(report: Report) -> pd.DataFrame:
    """Forecast outturn now and at the previous month, by group (empty at M01)."""
    traj = trajectory(report)
    prev = previous_month(report.period)
    now = report.period.end_month_label
    if prev is None:
        return pd.DataFrame(columns=["group", "previous_gbp_m", "forecast_gbp_m", "movement_gbp_m"])
    wide = traj.pivot_table(
        index="group", columns="month", values="forecast_outturn_gbp_m", sort=False
    )
    out = pd.DataFrame(
        {
            "group": wide.index,
            "previous_gbp_m": wide[prev].to_numpy(),
            "forecast_gbp_m": wide[now].to_numpy(),
        }
    )
    out["movement_gbp_m"] = out["forecast_gbp_m"] - out["previous_gbp_m"]
    return out.round(metrics.FIGURE_DECIMALS)


def bridge(report: Report) -> pd.DataFrame:
    """Plan-to-forecast bridge: the plan, each group's variance, then the forecast (£m)."""
    groups = outturn_by_group(report)
    total_label = "London" if report.cluster is None else report.org_name
    total = groups.loc[groups["label"] == total_label].iloc[0]
    parts = groups.loc[groups["label"] != total_label]
    steps = [("Plan", "total", float(total["annual_plan_gbp_m"]))]
    steps += [
        (str(r["label"]), "change", float(r["variance_to_plan_gbp_m"]))
        for r in parts.to_dict("records")
    ]
    steps.append(("Forecast", "total", float(total["forecast_outturn_gbp_m"])))
    out = pd.DataFrame(steps, columns=["step", "kind", "amount_gbp_m"])
    running = out["amount_gbp_m"].where(out["kind"] == "change", 0.0).cumsum()
    out["end_gbp_m"] = (running + steps[0][2]).where(out["kind"] == "change", out["amount_gbp_m"])
    out["start_gbp_m"] = (out["end_gbp_m"] - out["amount_gbp_m"]).where(
        out["kind"] == "change", 0.0
    )
    return out.round(metrics.FIGURE_DECIMALS)


def outturn_table(report: Report) -> Table:
    """Forecast outturn, year to date and prior year against plan, by group."""
    frame = outturn_by_group(report)
    move = movement(report)
    prev = previous_month(report.period)
    columns: dict[str, tuple[str, str]] = {
        "label": ("", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD actual £m", "money"),
        "ytd_variance_gbp_m": ("YTD variance £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
    }
    if prev is not None and report.cluster is None:
        frame["movement_gbp_m"] = frame["label"].map(move.set_index("group")["movement_gbp_m"])
        columns["movement_gbp_m"] = (f"Movement since {prev} £m", "money")
    columns["prior_year_outturn_gbp_m"] = ("Prior-year outturn £m", "money")
    return board_table(frame, columns, f"Outturn against plan, {report.period}, £m")


def savings_table(report: Report) -> Table:
    """CIP (NHS trusts) and QIPP (PCTs) savings against plan, as a share of turnover/resources."""
    orgs = report.members if report.cluster else None
    sav = metrics.savings_summary(report.data, orgs=orgs).reset_index()
    sav["who"] = sav["programme"].map({"CIP": "NHS trusts (CIP)", "QIPP": "PCTs (QIPP)"})
    sav["base"] = sav["programme"].map({"CIP": "turnover", "QIPP": "resources"})
    columns = {
        "who": ("Programme", "text"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_recurrent_gbp_m": ("of which recurrent £m", "money"),
        "shortfall_pct": ("Shortfall %", "pct"),
        "pct_of_base": ("Forecast % of turnover/resources", "pct"),
    }
    return board_table(sav, columns, f"Savings against plan, {report.period}, £m")


def trajectory_table(report: Report) -> Table:
    """The trajectory chart's data: forecast outturn by month for each group, and the plan."""
    traj = trajectory(report)
    wide = traj.pivot_table(
        index="group", columns="month", values="forecast_outturn_gbp_m", sort=False
    )
    plan = traj.groupby("group", sort=False)["annual_plan_gbp_m"].last()
    wide.insert(0, "Plan", plan)
    frame = wide.reset_index()
    columns = {"group": ("", "text")} | {c: (str(c), "money") for c in wide.columns}
    return board_table(frame, columns, "Forecast outturn by month, £m")


def bridge_table(report: Report) -> Table:
    """The bridge chart's data: plan, each group's variance, forecast."""
    columns = {"step": ("Step", "text"), "amount_gbp_m": ("£m", "money")}
    return board_table(bridge(report), columns, "From plan to forecast outturn, £m")


# --- headline figures, from organisation rows ------------------------------------------


def headline_figures(
    data: PeriodData,
    org_code: str = REGION,
    threshold_pct: float = metrics.DEFAULT_BEHIND_PLAN_THRESHOLD_PCT,
) -> Figures:
    """Headline figures of the regional_outturn report (London, or one cluster's PCTs)."""
    figs: dict[str, Any] = {}
    if org_code != REGION:
        s = metrics.sector_summary(data, cluster=org_code).loc["PCTs"]
        members = data.reference.cluster_members(org_code, data.period)
        q = metrics.savings_summary(data, orgs=members)
        figs.update(metrics.group_figures("pcts", s))
        if "QIPP" in q.index:
            figs.update(metrics.savings_figures("pcts", q.loc["QIPP"], "resources"))
        sup = metrics.pct_support(data)
        figs["pcts_needing_support_count"] = int(
            sup.loc[sup["cluster_code"] == org_code, "needs_support"].sum()
        )
        return {k: metrics.rounded(v) for k, v in figs.items()}
    summary = metrics.sector_summary(data)
    prefixes = {"NHS trusts": "trusts", "PCTs": "pcts", "SHA": "sha", "London": "region"}
    for label, prefix in prefixes.items():
        figs.update(metrics.group_figures(prefix, summary.loc[label]))
    prev = previous_month_london(data)
    if prev is not None:
        figs["region_forecast_movement_gbp_m"] = (
            metrics.rounded(summary.at["London", "forecast_outturn_gbp_m"]) - prev
        )
    sav = metrics.savings_summary(data)
    figs.update(metrics.savings_figures("providers", sav.loc["CIP"], "turnover"))
    figs.update(metrics.savings_figures("pcts", sav.loc["QIPP"], "resources"))
    pos = metrics.position(data)
    figs["pct_cluster_transition_cost_gbp_m"] = pos["cluster_transition_cost_gbp_m"].sum()
    figs["pcts_lctb_support_gbp_m"] = pos["lctb_support_gbp_m"].sum()
    figs["trusts_significantly_behind_plan_count"] = int(
        metrics.trust_shortfall(data, threshold_pct)["significantly_behind_plan"].sum()
    )
    figs["pcts_needing_support_count"] = int(metrics.pct_support(data)["needs_support"].sum())
    return {k: metrics.rounded(v) for k, v in figs.items()}


def previous_month_london(data: PeriodData) -> float | None:
    """London's forecast outturn in the previous month's return, if the period has one."""
    if data.period.month < 2:
        return None
    traj = metrics.forecast_trajectory(data)
    prev = f"M{data.period.month - 1:02d}"
    row = traj.loc[(traj["group"] == "London") & (traj["month"] == prev)]
    return None if row.empty else float(row["forecast_outturn_gbp_m"].iloc[0])


# --- figures, summary and definitions (the registry entry) --------------------------------


def figures(report: Report) -> Figures:
    """London's (or the cluster's PCTs') headline figures, and the trend's latest point."""
    figs = headline_figures(report.data, report.org_code, report.threshold_pct)
    return {**figs, **trend_figures(variance_trend(report))}


def summary(report: Report) -> str:
    """The board summary: outturn against plan, year to date, savings, who is behind."""
    figs = report.figures()
    text = narrative.regional_summary(
        figs,
        area=report.area,
        year=report.period.financial_year,
        previous_month=previous_month(report.period),
    )
    if report.is_region:
        cost = float(figs["pct_cluster_transition_cost_gbp_m"])
        if cost:
            text += (
                f" The PCT forecasts include {formats.amount(cost)} of costs of the new "
                "cluster arrangements."
            )
    who = "London's" if report.is_region else f"{report.org_name}'s PCTs'"
    return f"{text} {trend_sentence(variance_trend(report), f'{who} in-month variance to plan')}"


def definitions(report: Report) -> list[str]:
    """The definitions the notes repeat."""
    return [
        f"London's total is NHS trusts + PCTs (with the care trust) + the SHA's own budgets; "
        f"a trust is significantly behind plan when its adverse variance exceeds "
        f"{formats.pct(report.threshold_pct)} of turnover.",
    ]


_GROUPS = (
    ("trusts", "NHS trusts", "each NHS trust's return"),
    ("pcts", "PCTs", "each PCT's and the care trust's return (a cluster's report: its PCTs)"),
    ("sha", "SHA budgets", "the SHA's own budget lines (admin, reserves, central budgets)"),
    ("region", "London", "NHS trusts + PCTs + the SHA's own budgets"),
)
_POSITIONS = (
    (
        "ytd_plan_gbp_m",
        "Year-to-date plan",
        "planned surplus (+) or deficit (−) to date",
        "neither",
    ),
    ("ytd_actual_gbp_m", "Year-to-date position", "actual surplus or deficit to date", "higher"),
    ("forecast_plan_gbp_m", "Full-year plan", "planned full-year surplus or deficit", "neither"),
    (
        "forecast_outturn_gbp_m",
        "Forecast outturn",
        "forecast full-year surplus or deficit, support and non-recurrent measures included",
        "higher",
    ),
    (
        "forecast_variance_to_plan_gbp_m",
        "Forecast variance to plan",
        "forecast outturn minus full-year plan (favourable positive)",
        "higher",
    ),
    ("prior_year_outturn_gbp_m", "Prior-year outturn", "last year's final outturn", "higher"),
)
_SAVINGS = (
    ("providers", "NHS trusts' CIP", "turnover"),
    ("pcts", "PCTs' QIPP", "resources"),
)
DICTIONARY = (
    *(
        figure(
            f"{group}_{key}",
            f"{label}, {who}",
            f"{what[:1].upper()}{what[1:]}, £m, from {source}.",
            better,
        )
        for group, who, source in _GROUPS
        for key, label, what, better in _POSITIONS
    ),
    *(
        entry
        for prefix, who, base in _SAVINGS
        for entry in (
            figure(
                f"{prefix}_savings_plan_gbp_m",
                f"Savings plan, {who}",
                "Planned savings for the year, £m, all five workstream categories.",
                "neither",
            ),
            figure(
                f"{prefix}_savings_forecast_gbp_m",
                f"Savings forecast, {who}",
                "Forecast savings for the year, £m.",
            ),
            figure(
                f"{prefix}_savings_shortfall_pct",
                f"Savings shortfall, {who}",
                "(Plan − forecast) / plan × 100: how far forecast savings fall short.",
                "lower",
            ),
            figure(
                f"{prefix}_savings_pct_of_{base}",
                f"Savings as % of {base}, {who}",
                f"Forecast savings as a percentage of {base}.",
            ),
        )
    ),
    figure(
        "region_forecast_movement_gbp_m",
        "Movement in London's forecast since the previous month",
        "London's forecast outturn now minus its forecast in the previous month's return, £m.",
    ),
    figure(
        "pct_cluster_transition_cost_gbp_m",
        "Cost of the new PCT cluster arrangements",
        "Transition costs of PCT clusters included in the PCTs' forecasts, £m.",
        "lower",
    ),
    figure(
        "pcts_lctb_support_gbp_m",
        "London Challenged Trust Board support in PCT forecasts",
        "Support from the London Challenged Trust Board included in the PCTs' forecasts, £m.",
        "neither",
    ),
    figure(
        "trusts_significantly_behind_plan_count",
        "NHS trusts significantly behind plan",
        "Trusts whose adverse forecast variance exceeds the threshold % of their turnover.",
        "lower",
    ),
    figure(
        "pcts_needing_support_count",
        "PCTs that need support to break even",
        "PCTs whose forecast outturn before London Challenged Trust Board support is a deficit.",
        "lower",
    ),
)

FAMILY = Family(
    name="regional_outturn",
    title="Forecast outturn against plan",
    org_types=("sha", "cluster"),
    org_help="NHS London (Q36) or a PCT cluster (NCL, INEL, ONEL, NWL, SEL, SWL)",
    options=(THRESHOLD,),
    dictionary=(*DICTIONARY, *TREND_DICTIONARY),
    figures=figures,
    summary=summary,
    definitions=definitions,
)
