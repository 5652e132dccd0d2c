"""The pct_support_needs report: PCTs' break-even with and without support.

Usage example (the notebook ``notebooks/pct_support_needs.ipynb``)::

    report = open_report("pct_support_needs", "2010-11-M10", "5NC")
    show_table(break_even_table(report))

A PCT *needs support* when its forecast outturn before London Challenged Trust Board (LCTB)
support is a deficit (:func:`helpers.metrics.pct_support`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers import metrics, narrative
from helpers.data.organisations import REGION
from helpers.data.period_data import PeriodData
from helpers.report.base import Report, peers, savings_category_table
from helpers.report.display import Table, board_table
from helpers.report.family import Family, Figures, figure
from helpers.report.trends import (
    TREND_DICTIONARY,
    trend_figures,
    trend_sentence,
    variance_trend,
)


def pct_table(report: Report, only_needing_support: bool = False) -> Table:
    """PCTs by outturn before LCTB support, worst first (the support chart's data).

    In a PCT's report the full list shows the PCTs ranked nearest it
    (:func:`helpers.report.base.peers`).
    """
    table = report.derived(metrics.pct_support)
    ranks = ""
    if only_needing_support:
        table = table.loc[table["needs_support"]]
    else:
        table, ranks = peers(report, table, "PCTs")
    columns = {
        "org_code": ("Code", "text"),
        "name": ("PCT", "text"),
        "cluster_code": ("Cluster", "text"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "lctb_support_gbp_m": ("LCTB support £m", "money"),
        "outturn_before_support_gbp_m": ("Before support £m", "money"),
        "underlying_gbp_m": ("Underlying £m", "money"),
        "acute_overperformance_gbp_m": ("Acute overperformance £m", "money"),
        "needs_support": ("Needs support", "flag"),
        "qipp_forecast_pct_of_plan": ("QIPP forecast % of plan", "pct"),
    }
    if table["cluster_code"].isna().all():
        del columns["cluster_code"]
    caption = (
        "PCTs that need support to break even"
        if only_needing_support
        else f"PCTs by forecast outturn before support, {report.period}{ranks}"
    )
    return board_table(table, columns, caption, "No PCT needs support to break even.")


def break_even_table(report: Report) -> Table:
    """One PCT's bridge from forecast outturn to underlying position (or London's PCTs)."""
    table = report.derived(metrics.pct_support)
    if not report.is_region:
        table = table.loc[table["org_code"] == report.org_code]
    pos = report.derived(metrics.position).set_index("org_code")["non_recurrent_gbp_m"]
    non_recurrent = float(table["org_code"].map(pos).sum())
    items = [
        ("Forecast outturn", float(table["forecast_outturn_gbp_m"].sum())),
        ("less LCTB support", -float(table["lctb_support_gbp_m"].sum())),
        ("Outturn before support", float(table["outturn_before_support_gbp_m"].sum())),
        ("less other non-recurrent measures", -non_recurrent),
        ("Underlying position", float(table["underlying_gbp_m"].sum())),
        ("Acute overperformance", float(table["acute_overperformance_gbp_m"].sum())),
        ("QIPP plan", float(table["qipp_plan_gbp_m"].sum())),
        ("QIPP forecast", float(table["qipp_forecast_gbp_m"].sum())),
    ]
    frame = pd.DataFrame(items, columns=["item", "amount_gbp_m"])
    who = "London's PCTs" if report.is_region else report.org_code
    columns = {"item": ("", "text"), "amount_gbp_m": (f"{who} £m", "money")}
    return board_table(frame, columns, "Break-even with and without support, £m")


def qipp_category_table(report: Report) -> Table:
    """QIPP by workstream category, for the PCT, the cluster or all London PCTs."""
    orgs = None if report.is_region else (report.members or [report.org_code])
    return savings_category_table(report, "QIPP", orgs)


# --- headline figures, from organisation rows ------------------------------------------


def headline_figures(
    data: PeriodData, org_code: str = REGION, *, support: pd.DataFrame | None = None
) -> Figures:
    """Headline figures of the pct_support_needs report (London's PCTs, or one PCT).

    ``support``: ``metrics.pct_support(data)`` if already computed.
    """
    table = metrics.pct_support(data) if support is None else support
    if org_code == REGION:
        qipp = metrics.savings_summary(data).loc["QIPP"]
        figs: dict[str, Any] = {
            "pcts_needing_support_count": int(table["needs_support"].sum()),
            "pcts_lctb_support_gbp_m": table["lctb_support_gbp_m"].sum(),
            "pcts_forecast_outturn_gbp_m": table["forecast_outturn_gbp_m"].sum(),
            "pcts_outturn_before_support_gbp_m": table["outturn_before_support_gbp_m"].sum(),
            "pcts_acute_overperformance_gbp_m": table["acute_overperformance_gbp_m"].sum(),
            **metrics.savings_figures("pcts", qipp, "resources"),
        }
        return {k: metrics.rounded(v) for k, v in figs.items()}
    row = table.set_index("org_code").loc[org_code]
    figs = {
        "needs_support": bool(row["needs_support"]),
        "forecast_outturn_gbp_m": row["forecast_outturn_gbp_m"],
        "lctb_support_gbp_m": row["lctb_support_gbp_m"],
        "outturn_before_support_gbp_m": row["outturn_before_support_gbp_m"],
        "underlying_gbp_m": row["underlying_gbp_m"],
        "acute_overperformance_gbp_m": row["acute_overperformance_gbp_m"],
        "qipp_plan_gbp_m": row["qipp_plan_gbp_m"],
        "qipp_forecast_gbp_m": row["qipp_forecast_gbp_m"],
        "qipp_forecast_pct_of_plan": row["qipp_forecast_pct_of_plan"],
    }
    return {k: metrics.rounded(v) for k, v in figs.items()}


# --- figures, summary and definitions (the registry entry) --------------------------------


def figures(report: Report) -> Figures:
    """London's PCTs' (or one PCT's) headline figures, and the trend's latest point."""
    support = report.derived(metrics.pct_support)
    figs = headline_figures(report.data, report.org_code, support=support)
    return {**figs, **trend_figures(variance_trend(report))}


def summary(report: Report) -> str:
    """The board summary: who needs support, before and after it, QIPP."""
    figs = report.figures()
    if report.is_region:
        text = narrative.pct_summary_london(figs, report.derived(metrics.pct_support))
        who = "London's PCTs' in-month variance to plan"
    else:
        text = narrative.pct_summary_org(figs, report.org_name)
        who = "its in-month variance to plan"
    return f"{text} {trend_sentence(variance_trend(report), who)}"


def definitions(report: Report) -> list[str]:
    """The definitions the notes repeat."""
    return [
        "Needs support: the forecast outturn before London Challenged Trust Board support "
        "is a deficit. Underlying position = forecast − LCTB support − other non-recurrent "
        "measures.",
    ]


DICTIONARY = (
    # London's report
    figure(
        "pcts_needing_support_count",
        "PCTs that need support to break even",
        "PCTs whose forecast outturn before London Challenged Trust Board support is a deficit.",
        "lower",
    ),
    figure(
        "pcts_lctb_support_gbp_m",
        "London Challenged Trust Board support",
        "LCTB support included in the PCTs' forecasts, £m.",
        "neither",
    ),
    figure(
        "pcts_forecast_outturn_gbp_m",
        "Forecast outturn, PCTs",
        "PCTs' forecast full-year surplus (+) or deficit (−), support included, £m.",
    ),
    figure(
        "pcts_outturn_before_support_gbp_m",
        "Forecast outturn before support, PCTs",
        "PCTs' forecast outturn minus LCTB support, £m.",
    ),
    figure(
        "pcts_acute_overperformance_gbp_m",
        "Acute contract overperformance, PCTs",
        "Forecast cost of activity above plan on secondary-care (acute) contracts, £m.",
        "lower",
    ),
    figure(
        "pcts_savings_plan_gbp_m",
        "QIPP plan, PCTs",
        "Planned QIPP savings for the year over London's PCTs, £m.",
        "neither",
    ),
    figure(
        "pcts_savings_forecast_gbp_m",
        "QIPP forecast, PCTs",
        "Forecast QIPP savings for the year over London's PCTs, £m.",
    ),
    figure(
        "pcts_savings_shortfall_pct",
        "QIPP shortfall, PCTs",
        "(QIPP plan − forecast) / plan × 100 over London's PCTs.",
        "lower",
    ),
    figure(
        "pcts_savings_pct_of_resources",
        "QIPP forecast as % of resources, PCTs",
        "Forecast QIPP savings as a percentage of the PCTs' revenue resource limits.",
    ),
    # a PCT's report
    figure(
        "needs_support",
        "Needs support to break even",
        "1 when the forecast outturn before LCTB support is a deficit, else 0.",
        "lower",
    ),
    figure(
        "forecast_outturn_gbp_m",
        "Forecast outturn",
        "The PCT's forecast full-year surplus (+) or deficit (−), support included, £m.",
    ),
    figure(
        "lctb_support_gbp_m",
        "London Challenged Trust Board support",
        "LCTB support included in the PCT's forecast, £m.",
        "neither",
    ),
    figure(
        "outturn_before_support_gbp_m",
        "Forecast outturn before support",
        "The PCT's forecast outturn minus its LCTB support, £m.",
    ),
    figure(
        "underlying_gbp_m",
        "Underlying position",
        "Forecast outturn minus LCTB support and other non-recurrent measures, £m.",
    ),
    figure(
        "acute_overperformance_gbp_m",
        "Acute contract overperformance",
        "Forecast cost of activity above plan on the PCT's acute contracts, £m.",
        "lower",
    ),
    figure(
        "qipp_plan_gbp_m",
        "QIPP plan",
        "The PCT's planned QIPP savings for the year, £m.",
        "neither",
    ),
    figure("qipp_forecast_gbp_m", "QIPP forecast", "The PCT's forecast QIPP savings, £m."),
    figure(
        "qipp_forecast_pct_of_plan",
        "QIPP forecast as % of plan",
        "Forecast QIPP savings as a percentage of the plan.",
    ),
)

FAMILY = Family(
    name="pct_support_needs",
    title="PCT break-even and support needs",
    org_types=("sha", "pct", "care_trust"),
    org_help="NHS London (Q36: all PCTs) or one PCT or care trust, e.g. 5NC",
    options=(),
    dictionary=(*DICTIONARY, *TREND_DICTIONARY),
    figures=figures,
    summary=summary,
    definitions=definitions,
)
