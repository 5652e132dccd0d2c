"""The provider_shortfall report: NHS trusts' CIP savings and variance to plan.

Usage example (the notebook ``notebooks/provider_shortfall.ipynb``)::

    report = open_report("provider_shortfall", "2010-11-M10", "RF4", threshold_pct=1.0)
    show_table(trust_table(report))
    charts.show(charts.drivers_chart(drivers(report), report.chart_label))

A trust is *significantly behind plan* when its forecast variance to plan is adverse by more
than ``threshold_pct`` per cent of its turnover (:func:`helpers.metrics.trust_shortfall`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers import formats, metrics, narrative
from helpers.data.organisations import REGION
from helpers.data.period_data import PeriodData
from helpers.report.base import THRESHOLD, Report, peers, savings_category_table
from helpers.report.display import Table, board_table, label
from helpers.report.family import Family, Figures, figure
from helpers.report.trends import (
    TREND_DICTIONARY,
    trend_figures,
    trend_sentence,
    variance_trend,
)


def trust_table(report: Report) -> Table:
    """NHS trusts ranked by variance as % of turnover (the ranking chart's data).

    London's report lists every trust; a trust's report the trusts ranked nearest it
    (:func:`helpers.report.base.peers`).
    """
    table = report.derived(metrics.trust_shortfall, report.threshold_pct)
    table = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    table, ranks = peers(report, table, "NHS trusts")
    columns = {
        "org_code": ("Code", "text"),
        "name": ("NHS trust", "text"),
        "turnover_gbp_m": ("Turnover £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
        "variance_pct_of_turnover": ("Variance % of turnover", "pct"),
        "significantly_behind_plan": ("Significantly behind", "flag"),
        "cip_plan_gbp_m": ("CIP plan £m", "money"),
        "cip_forecast_gbp_m": ("CIP forecast £m", "money"),
        "cip_shortfall_pct": ("CIP shortfall %", "pct"),
    }
    caption = f"NHS trusts by variance to plan as a share of turnover, {report.period}{ranks}"
    return board_table(table, columns, caption)


def behind_plan_table(report: Report) -> Table:
    """The trusts significantly behind plan, worst variance first."""
    table = report.derived(metrics.trust_shortfall, report.threshold_pct)
    table = table.loc[table["significantly_behind_plan"]]
    columns = {
        "org_code": ("Code", "text"),
        "name": ("NHS trust", "text"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
        "variance_pct_of_turnover": ("Variance % of turnover", "pct"),
        "cip_shortfall_pct": ("CIP shortfall %", "pct"),
    }
    caption = (
        f"Trusts significantly behind plan (adverse variance over "
        f"{formats.pct(report.threshold_pct)} of turnover)"
    )
    return board_table(table, columns, caption, "No trust is significantly behind plan.")


def drivers(report: Report) -> pd.DataFrame:
    """Variance drivers (£m) of the report's subject (the trust, or all London trusts).

    Columns: ``driver``, ``amount_gbp_m`` and, in a trust's report, ``london_gbp_m``.
    """
    table = report.derived(metrics.trust_shortfall, report.threshold_pct)
    keys = list(narrative.DRIVER_LABELS)
    out = pd.DataFrame({"driver": [label(narrative.DRIVER_LABELS[k]) for k in keys]})
    london = [float(table[f"driver_{k}_gbp_m"].sum()) for k in keys]
    if report.is_region:
        out["amount_gbp_m"] = london
    else:
        row = table.loc[table["org_code"] == report.org_code].to_dict("records")[0]
        out["amount_gbp_m"] = [float(row[f"driver_{k}_gbp_m"]) for k in keys]
        out["london_gbp_m"] = london
    return out.round(metrics.FIGURE_DECIMALS)


def drivers_table(report: Report) -> Table:
    """The drivers chart's data (with all London trusts' drivers beside a trust's own)."""
    columns = {
        "driver": ("Driver", "text"),
        "amount_gbp_m": (f"{report.chart_label} £m", "money"),
    }
    if not report.is_region:
        columns["london_gbp_m"] = ("All London trusts £m", "money")
    return board_table(drivers(report), columns, "Drivers of the variance to plan, £m")


def cip_category_table(report: Report) -> Table:
    """CIP by workstream category, for the trust or for all London trusts."""
    return savings_category_table(report, "CIP", None if report.is_region else [report.org_code])


# --- headline figures, from organisation rows ------------------------------------------


def headline_figures(
    data: PeriodData,
    org_code: str = REGION,
    threshold_pct: float = metrics.DEFAULT_BEHIND_PLAN_THRESHOLD_PCT,
    *,
    shortfall: pd.DataFrame | None = None,
) -> Figures:
    """Headline figures of the provider_shortfall report (London's trusts, or one trust).

    ``shortfall``: ``metrics.trust_shortfall(data, threshold_pct)`` if already computed.
    """
    table = metrics.trust_shortfall(data, threshold_pct) if shortfall is None else shortfall
    if org_code == REGION:
        cip = metrics.savings_summary(data).loc["CIP"]
        figs: dict[str, Any] = {
            "trusts_significantly_behind_plan_count": int(table["significantly_behind_plan"].sum()),
            "trusts_forecast_variance_to_plan_gbp_m": table["variance_to_plan_gbp_m"].sum(),
            **metrics.savings_figures("providers", cip, "turnover"),
        }
        return {k: metrics.rounded(v) for k, v in figs.items()}
    row = table.set_index("org_code").loc[org_code]
    figs = {
        "forecast_outturn_gbp_m": row["forecast_outturn_gbp_m"],
        "plan_gbp_m": row["annual_plan_gbp_m"],
        "variance_to_plan_gbp_m": row["variance_to_plan_gbp_m"],
        "variance_pct_of_turnover": row["variance_pct_of_turnover"],
        "significantly_behind_plan": bool(row["significantly_behind_plan"]),
        "cip_plan_gbp_m": row["cip_plan_gbp_m"],
        "cip_forecast_gbp_m": row["cip_forecast_gbp_m"],
        "cip_shortfall_pct": row["cip_shortfall_pct"],
    }
    return {k: metrics.rounded(v) for k, v in figs.items()}


# --- figures, summary and definitions (the registry entry) --------------------------------


def figures(report: Report) -> Figures:
    """London's trusts' (or one trust's) headline figures, and the trend's latest point."""
    shortfall = report.derived(metrics.trust_shortfall, report.threshold_pct)
    figs = headline_figures(report.data, report.org_code, report.threshold_pct, shortfall=shortfall)
    return {**figs, **trend_figures(variance_trend(report))}


def summary(report: Report) -> str:
    """The board summary: variance to plan, who is behind, CIP against plan."""
    figs = report.figures()
    table = report.derived(metrics.trust_shortfall, report.threshold_pct)
    if report.is_region:
        text = narrative.provider_summary_london(figs, table, report.threshold_pct)
        who = "London's NHS trusts' in-month variance to plan"
    else:
        text = narrative.provider_summary_trust(figs, table, report.org_code, report.threshold_pct)
        who = "the trust's in-month variance to plan"
    return f"{text} {trend_sentence(variance_trend(report), who)}"


def definitions(report: Report) -> list[str]:
    """The definitions the notes repeat."""
    return [
        f"Significantly behind plan: forecast variance to plan adverse by more than "
        f"{formats.pct(report.threshold_pct)} of turnover (the report's `threshold_pct` "
        "parameter). CIP shortfall = (plan − forecast) / plan.",
    ]


DICTIONARY = (
    # London's report
    figure(
        "trusts_significantly_behind_plan_count",
        "NHS trusts significantly behind plan",
        "Trusts whose adverse forecast variance exceeds the threshold % of their turnover.",
        "lower",
    ),
    figure(
        "trusts_forecast_variance_to_plan_gbp_m",
        "Forecast variance to plan, NHS trusts",
        "Sum over London's NHS trusts of forecast outturn minus plan, £m (favourable positive).",
    ),
    figure(
        "providers_savings_plan_gbp_m",
        "CIP plan, NHS trusts",
        "Planned cost improvement (CIP) savings for the year over London's NHS trusts, £m.",
        "neither",
    ),
    figure(
        "providers_savings_forecast_gbp_m",
        "CIP forecast, NHS trusts",
        "Forecast CIP savings for the year over London's NHS trusts, £m.",
    ),
    figure(
        "providers_savings_shortfall_pct",
        "CIP shortfall, NHS trusts",
        "(CIP plan − forecast) / plan × 100 over London's NHS trusts.",
        "lower",
    ),
    figure(
        "providers_savings_pct_of_turnover",
        "CIP forecast as % of turnover, NHS trusts",
        "Forecast CIP savings as a percentage of the trusts' annual turnover.",
    ),
    # a trust's report
    figure(
        "forecast_outturn_gbp_m",
        "Forecast outturn",
        "The trust's forecast full-year surplus (+) or deficit (−), £m.",
    ),
    figure(
        "plan_gbp_m", "Full-year plan", "The trust's planned surplus or deficit, £m.", "neither"
    ),
    figure(
        "variance_to_plan_gbp_m",
        "Forecast variance to plan",
        "Forecast outturn minus plan, £m (favourable positive).",
    ),
    figure(
        "variance_pct_of_turnover",
        "Variance as % of turnover",
        "Forecast variance to plan as a percentage of the trust's annual turnover.",
    ),
    figure(
        "significantly_behind_plan",
        "Significantly behind plan",
        "1 when the adverse variance exceeds the threshold % of turnover, else 0.",
        "lower",
    ),
    figure(
        "cip_plan_gbp_m", "CIP plan", "The trust's planned CIP savings for the year, £m.", "neither"
    ),
    figure(
        "cip_forecast_gbp_m", "CIP forecast", "The trust's forecast CIP savings for the year, £m."
    ),
    figure(
        "cip_shortfall_pct",
        "CIP shortfall",
        "(CIP plan − forecast) / plan × 100 for the trust.",
        "lower",
    ),
)

FAMILY = Family(
    name="provider_shortfall",
    title="Provider savings and variance to plan",
    org_types=("sha", "nhs_trust"),
    org_help="NHS London (Q36: all NHS trusts) or one NHS trust, e.g. RF4",
    options=(THRESHOLD,),
    dictionary=(*DICTIONARY, *TREND_DICTIONARY),
    figures=figures,
    summary=summary,
    definitions=definitions,
)
