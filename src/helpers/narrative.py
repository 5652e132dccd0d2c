"""The board's words: each family's summary paragraph, written from its headline figures.

Usage example (what each family's ``summary`` does)::

    text = regional_summary(report.figures(), area="London", year="2011-12",
                            previous_month="M02")  # "London forecasts a surplus of £215.4m ..."

Every summary builder is a pure function of the metrics outputs (figures dictionaries and
tables), so the words a board reads are tested like the numbers. Numbers are written in board
style by :mod:`helpers.formats` (``a deficit of £106.8m``, never ``£(106.8)m`` in text).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from helpers.formats import (
    amount,
    count_words,
    effect_phrase,
    join_words,
    movement_phrase,
    ordinal,
    outturn_phrase,
    pct,
    planned_phrase,
    plural,
    rounded,
    short_name,
    signed_phrase,
)

Figures = Mapping[str, float | int]


# --- safe text ----------------------------------------------------------------------------

#: What a name or other text from the data must not be in Markdown that becomes HTML: raw
#: HTML (nbconvert's Markdown renderer passes it through) and link or image brackets.
_MARKDOWN_UNSAFE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]"})


def markdown_safe(text: str) -> str:
    """Board Markdown made safe to render as HTML: text from the data stays text.

    >>> markdown_safe("<script>alert(1)</script> A&E [x](javascript:y)")
    '&lt;script&gt;alert(1)&lt;/script&gt; A&amp;E \\\\[x\\\\](javascript:y)'

    The kit's own Markdown uses none of these characters (no raw HTML, no links), so the
    whole text of a Markdown output can pass through here; emphasis and headings are kept.
    """
    return text.translate(_MARKDOWN_UNSAFE)


def _savings_sentence(who: str, programme: str, figs: Figures, prefix: str, base: str) -> str:
    plan = float(figs[f"{prefix}_savings_plan_gbp_m"])
    forecast = float(figs[f"{prefix}_savings_forecast_gbp_m"])
    shortfall = float(figs[f"{prefix}_savings_shortfall_pct"])
    share = float(figs[f"{prefix}_savings_pct_of_{base}"])
    gap = f"{pct(shortfall)} short of plan" if shortfall > 0 else f"{pct(-shortfall)} above plan"
    return (
        f"{who} forecast {programme} savings of {amount(forecast)} against a plan of "
        f"{amount(plan)}, {gap} ({pct(share)} of {base})."
    )


# --- regional_outturn ---------------------------------------------------------------------


def regional_summary(
    figs: Figures,
    *,
    area: str,
    year: str,
    previous_month: str | None = None,
) -> str:
    """The regional_outturn summary for London (``region_*`` figures) or a cluster (``pcts_*``)."""
    if "region_forecast_outturn_gbp_m" not in figs:
        return _cluster_outturn_summary(figs, area=area, year=year)
    lines = [
        f"{area} forecasts {outturn_phrase(float(figs['region_forecast_outturn_gbp_m']))} "
        f"for {year}, {signed_phrase(float(figs['region_forecast_variance_to_plan_gbp_m']))}."
    ]
    parts = [
        f"NHS trusts {_group_clause(figs, 'trusts')}",
        f"PCTs {_group_clause(figs, 'pcts')}",
        f"the SHA's own budgets {_group_clause(figs, 'sha')}",
    ]
    lines.append(f"Within that, {join_words(parts)}.")
    ytd = float(figs["region_ytd_actual_gbp_m"])
    ytd_plan = float(figs["region_ytd_plan_gbp_m"])
    lines.append(
        f"Year to date {area} reports {outturn_phrase(ytd)} against {planned_phrase(ytd_plan)} "
        f"({signed_phrase(ytd - ytd_plan)})."
    )
    if previous_month is not None and "region_forecast_movement_gbp_m" in figs:
        move = float(figs["region_forecast_movement_gbp_m"])
        lines.append(f"The forecast is {movement_phrase(move, previous_month)}.")
    prior = float(figs["region_prior_year_outturn_gbp_m"])
    lines.append(f"Last year {area}'s outturn was {outturn_phrase(prior)}.")
    lines.append(_savings_sentence("Providers", "CIP", figs, "providers", "turnover"))
    lines.append(_savings_sentence("PCTs", "QIPP", figs, "pcts", "resources"))
    behind = int(figs["trusts_significantly_behind_plan_count"])
    support = int(figs["pcts_needing_support_count"])
    lines.append(
        f"{count_words(behind).capitalize()} NHS {plural(behind, 'trust is', 'trusts are')} "
        f"significantly behind plan and {count_words(support)} "
        f"{plural(support, 'PCT', 'PCTs')} cannot break even without support from the "
        f"London Challenged Trust Board ({amount(float(figs['pcts_lctb_support_gbp_m']))} in "
        "the forecasts)."
    )
    return " ".join(lines)


def _group_clause(figs: Figures, prefix: str) -> str:
    out = float(figs[f"{prefix}_forecast_outturn_gbp_m"])
    var = float(figs[f"{prefix}_forecast_variance_to_plan_gbp_m"])
    return f"forecast {outturn_phrase(out)} ({signed_phrase(var)})"


def _cluster_outturn_summary(figs: Figures, *, area: str, year: str) -> str:
    out = float(figs["pcts_forecast_outturn_gbp_m"])
    var = float(figs["pcts_forecast_variance_to_plan_gbp_m"])
    ytd = float(figs["pcts_ytd_actual_gbp_m"])
    ytd_plan = float(figs["pcts_ytd_plan_gbp_m"])
    support = int(figs["pcts_needing_support_count"])
    lines = [
        f"{area}'s PCTs forecast {outturn_phrase(out)} for {year}, {signed_phrase(var)}.",
        f"Year to date they report {outturn_phrase(ytd)} against {planned_phrase(ytd_plan)} "
        f"({signed_phrase(ytd - ytd_plan)}); last year they returned "
        f"{outturn_phrase(float(figs['pcts_prior_year_outturn_gbp_m']))}.",
    ]
    if "pcts_savings_plan_gbp_m" in figs:
        lines.append(_savings_sentence("They", "QIPP", figs, "pcts", "resources"))
    verb = "needs" if support == 1 else "need"
    lines.append(
        f"{count_words(support).capitalize()} of its PCTs {verb} support from the London "
        "Challenged Trust Board to break even."
    )
    return " ".join(lines)


# --- provider_shortfall -------------------------------------------------------------------


def provider_summary_london(figs: Figures, table: pd.DataFrame, threshold_pct: float) -> str:
    """The provider_shortfall summary for London's NHS trusts (``metrics.trust_shortfall``)."""
    behind = table.loc[table["significantly_behind_plan"]]
    n = int(figs["trusts_significantly_behind_plan_count"])
    names = join_words(short_name(str(s)) for s in behind["name"])
    lines = [
        f"London's {len(table)} NHS trusts together forecast "
        f"{signed_phrase(float(figs['trusts_forecast_variance_to_plan_gbp_m']))}.",
        f"{count_words(n).capitalize()} {plural(n, 'trust is', 'trusts are')} significantly "
        f"behind plan (an adverse variance of more than {pct(threshold_pct)} of turnover)"
        + (f": {names}." if n else "."),
        _savings_sentence("Together they", "CIP", figs, "providers", "turnover"),
    ]
    return " ".join(lines)


def provider_summary_trust(
    figs: Figures, table: pd.DataFrame, org_code: str, threshold_pct: float
) -> str:
    """The provider_shortfall summary for one trust, placed in London's distribution."""
    row = table.loc[table["org_code"] == org_code].iloc[0]
    name = str(row["name"])
    share = float(figs["variance_pct_of_turnover"])
    ranked = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    rank = int(ranked["org_code"].tolist().index(org_code)) + 1
    behind = bool(figs["significantly_behind_plan"])
    verdict = (
        "significantly behind plan"
        if behind
        else f"not significantly behind plan (threshold {pct(threshold_pct)} of turnover)"
    )
    lines = [
        f"{name} forecasts {outturn_phrase(float(figs['forecast_outturn_gbp_m']))}, "
        f"{signed_phrase(float(figs['variance_to_plan_gbp_m']))} ({pct(abs(share))} of turnover): "
        f"it is {verdict}.",
        f"By variance as a share of turnover it ranks {ordinal(rank)} of London's "
        f"{len(table)} NHS trusts, worst first.",
    ]
    drivers = driver_phrase(row)
    if drivers:
        lines.append(f"The trust attributes the variance to {drivers}.")
    plan = float(figs["cip_plan_gbp_m"])
    forecast = float(figs["cip_forecast_gbp_m"])
    short = float(figs["cip_shortfall_pct"])
    lines.append(
        f"It forecasts CIP savings of {amount(forecast)} against a plan of {amount(plan)}"
        + (f", {pct(short)} short." if short > 0 else ".")
    )
    return " ".join(lines)


DRIVER_LABELS = {
    "cip_slippage": "CIP slippage",
    "activity_above_plan": "activity above plan",
    "premium_costs": "premium costs of unplanned activity",
    "restructuring": "restructuring",
    "other": "other items",
}


def driver_phrase(row: pd.Series) -> str:
    """Non-zero drivers of one trust, largest first: ``CIP slippage (£4.3m adverse), ...``."""
    items = [
        (DRIVER_LABELS[d], float(row[f"driver_{d}_gbp_m"]))
        for d in DRIVER_LABELS
        if rounded(float(row[f"driver_{d}_gbp_m"]), 1) != 0
    ]
    items.sort(key=lambda kv: (-abs(kv[1]), kv[0]))
    return join_words(f"{label} ({effect_phrase(value)})" for label, value in items)


# --- pct_support_needs --------------------------------------------------------------------


def pct_summary_london(figs: Figures, table: pd.DataFrame) -> str:
    """The pct_support_needs summary for London's PCTs (``metrics.pct_support``)."""
    needing = table.loc[table["needs_support"]]
    n = int(figs["pcts_needing_support_count"])
    names = join_words(short_name(str(s)) for s in needing.sort_values("name")["name"])
    lines = [
        f"{count_words(n).capitalize()} of London's {len(table)} PCTs cannot break even "
        "without support from the London "
        "Challenged Trust Board" + (f": {names}." if n else "."),
        f"Together PCTs forecast {outturn_phrase(float(figs['pcts_forecast_outturn_gbp_m']))} "
        f"including {amount(float(figs['pcts_lctb_support_gbp_m']))} of that support; "
        f"before it, {outturn_phrase(float(figs['pcts_outturn_before_support_gbp_m']))}.",
        f"Overperformance on acute contracts adds "
        f"{amount(float(figs['pcts_acute_overperformance_gbp_m']))} of cost to the forecasts.",
        _savings_sentence("PCTs", "QIPP", figs, "pcts", "resources"),
    ]
    return " ".join(lines)


def pct_summary_org(figs: Figures, name: str) -> str:
    """The pct_support_needs summary for one PCT or care trust."""
    support = float(figs["lctb_support_gbp_m"])
    before = float(figs["outturn_before_support_gbp_m"])
    first = f"{name} forecasts {outturn_phrase(float(figs['forecast_outturn_gbp_m']))}"
    if rounded(support, 1) > 0:
        first += f" including {amount(support)} of London Challenged Trust Board support"
    lines = [first + "."]
    if bool(figs["needs_support"]):
        lines.append(
            f"Without support it would report {outturn_phrase(before)}: "
            "it needs support to break even."
        )
    else:
        lines.append(f"Before any support it reports {outturn_phrase(before)}: it breaks even.")
    lines.append(
        f"Its underlying position, without non-recurrent measures, is "
        f"{outturn_phrase(float(figs['underlying_gbp_m']))}; overperformance on acute "
        f"contracts costs {amount(float(figs['acute_overperformance_gbp_m']))}."
    )
    plan = float(figs["qipp_plan_gbp_m"])
    forecast = float(figs["qipp_forecast_gbp_m"])
    lines.append(
        f"It forecasts QIPP savings of {amount(forecast)}, "
        f"{pct(float(figs['qipp_forecast_pct_of_plan']))} of its {amount(plan)} plan."
    )
    return " ".join(lines)


# --- cluster_milestone_slippage -----------------------------------------------------------


def no_milestones_sentence(year: str) -> str:
    """What the cluster report says for a year without milestone tracking (2010-11)."""
    return (
        f"There is no QIPP milestone tracking for {year}: PCT clusters were formed in April "
        "2011 and NHS London began tracking QIPP milestones by cluster in 2011-12, so this "
        "report shows London's QIPP savings only."
    )


def cluster_summary(
    figs: Figures, *, area: str, when: str, met_clusters: list[str] | None = None
) -> str:
    """The cluster_milestone_slippage summary for London (with the clusters that met target)."""
    ytd = float(figs["qipp_ytd_actual_gbp_m"])
    ytd_plan = float(figs["qipp_ytd_plan_gbp_m"])
    var = float(figs["qipp_ytd_variance_gbp_m"])
    lines = [
        f"At the end of {when}, {area} had delivered {amount(ytd)} of QIPP savings against "
        f"a year-to-date plan of {amount(ytd_plan)}, {signed_phrase(var)}."
    ]
    if met_clusters is not None:
        n = len(met_clusters)
        who = join_words(met_clusters)
        lines.append(
            f"{count_words(n).capitalize()} of the clusters fully met "
            f"{plural(n, 'its', 'their')} savings target" + (f": {who}." if n else ".")
        )
    elif "savings_target_met" in figs:
        met = bool(figs["savings_target_met"])
        lines.append(f"It {'fully met' if met else 'did not meet'} its savings target to date.")
    lines.append(
        f"The forecast for the year is {amount(float(figs['qipp_forecast_gbp_m']))} against a "
        f"plan of {amount(float(figs['qipp_annual_plan_gbp_m']))}, "
        f"{signed_phrase(float(figs['qipp_forecast_variance_gbp_m']))}."
    )
    if "milestones_due_count" in figs:
        due = int(figs["milestones_due_count"])
        missed = int(figs["milestones_missed_count"])
        later = int(figs["milestones_not_yet_due_count"])
        lines.append(
            f"Of {due} QIPP programme milestones due, {int(figs['milestones_met_count'])} "
            f"were met and {missed} missed; {later} fall due later in the year."
        )
    return " ".join(lines)


def delays_summary(delays: pd.DataFrame) -> str:
    """Missed milestones in words: how many, how short, the commonest reasons, the longest."""
    if delays.empty:
        return "No milestone due by the end of the period was missed."
    months = delays["delay_months"].astype("int64")
    n = len(delays)
    short = int((months <= 2).sum())
    reasons = delays["reason_category"].astype(str).value_counts()
    reasons = reasons.sort_index().sort_values(ascending=False, kind="stable")
    top = join_words(f"{str(r).replace('_', ' ')} ({c})" for r, c in reasons.head(2).items())
    text = (
        f"{n} {plural(n, 'milestone was', 'milestones were')} missed; {short} of them "
        f"slipped by two months or less. The commonest "
        f"{plural(min(len(reasons), 2), 'reason was', 'reasons were')} {top}."
    )
    longest = delays.loc[months >= 3]
    if not longest.empty:
        items = [
            f"{r['scheme']} in {r['cluster_code']} ({int(r['delay_months'])} months, "
            f"{str(r['reason_category']).replace('_', ' ')})"
            for r in longest.to_dict("records")
        ]
        text += f" The longest delays: {join_words(items)}."
    return text
