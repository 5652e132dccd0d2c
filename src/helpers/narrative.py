"""Board-style text: £m amounts, variances in words, and each family's summary paragraph.

>>> gbp_m(274.0), gbp_m(-12.9), signed_phrase(-196.0), signed_phrase(8.7)
('£274.0m', '£(12.9)m', '£196.0m below plan', '£8.7m above plan')
>>> outturn_phrase(274.0), outturn_phrase(-106.8), pct(16.9915)
('a £274.0m surplus', 'a £(106.8)m deficit', '17.0%')

Every summary builder is a pure function of the metrics outputs (figures dictionaries and
tables), so the words a board reads are tested like the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

Figures = Mapping[str, float | int]

_WORDS = (
    "no",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)


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


# --- numbers ------------------------------------------------------------------------------


def _rounded(x: float, decimals: int) -> float:
    """``x`` rounded, with -0.0 turned into 0.0 (so nothing prints as ``(0.0)``)."""
    r = round(float(x), decimals)
    return 0.0 if r == 0 else r


def money(x: float, decimals: int = 1) -> str:
    """A table cell in £m: ``274.0``, negatives in brackets ``(12.9)``, ``1,234.5``."""
    r = _rounded(x, decimals)
    text = f"{abs(r):,.{decimals}f}"
    return f"({text})" if r < 0 else text


def gbp_m(x: float, decimals: int = 1) -> str:
    """An amount in £ million: ``£274.0m``; a deficit or adverse amount ``£(12.9)m``."""
    return f"£{money(x, decimals)}m"


def pct(x: float, decimals: int = 1) -> str:
    """A percentage (0-100 scale): ``4.6%``; negative ``-0.7%``."""
    return f"{_rounded(x, decimals):.{decimals}f}%"


def count_words(n: int) -> str:
    """Small counts in words as board papers write them (``eight``); 13 and over as digits."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``11th``, ``22nd``."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def signed_phrase(variance: float, what: str = "plan") -> str:
    """A variance in words: ``£196.0m below plan``, ``£8.7m above plan`` or ``on plan``."""
    r = _rounded(variance, 1)
    if r == 0:
        return f"on {what}"
    return f"{gbp_m(abs(r))} {'above' if r > 0 else 'below'} {what}"


def outturn_phrase(x: float) -> str:
    """A surplus or deficit with its article: ``a £274.0m surplus``, ``a £(12.9)m deficit``."""
    r = _rounded(x, 1)
    if r == 0:
        return "break-even"
    return f"a {gbp_m(r)} {'surplus' if r > 0 else 'deficit'}"


def movement_phrase(movement: float, since: str) -> str:
    """Movement of a forecast: ``up £2.8m since M02``, ``down £23.9m since M09``."""
    r = _rounded(movement, 1)
    if r == 0:
        return f"unchanged since {since}"
    return f"{'up' if r > 0 else 'down'} {gbp_m(abs(r))} since {since}"


def join_words(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def short_name(name: str) -> str:
    """An organisation's name without its legal suffix, for lists in prose."""
    for suffix in (" Teaching PCT", " PCT", " Care Trust", " NHS Trust"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _savings_sentence(who: str, programme: str, figs: Figures, prefix: str, base: str) -> str:
    plan = float(figs[f"{prefix}_savings_plan_gbp_m"])
    forecast = float(figs[f"{prefix}_savings_forecast_gbp_m"])
    shortfall = float(figs[f"{prefix}_savings_shortfall_pct"])
    share = float(figs[f"{prefix}_savings_pct_of_{base}"])
    gap = f"{pct(shortfall)} short of plan" if shortfall > 0 else f"{pct(-shortfall)} above plan"
    return (
        f"{who} forecast {programme} savings of {gbp_m(forecast)} against a plan of "
        f"{gbp_m(plan)}, {gap} ({pct(share)} of {base})."
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
        f"Year to date the position is {gbp_m(ytd)} against a plan of {gbp_m(ytd_plan)} "
        f"({signed_phrase(ytd - ytd_plan)})."
    )
    if previous_month is not None and "region_forecast_movement_gbp_m" in figs:
        move = float(figs["region_forecast_movement_gbp_m"])
        lines.append(f"The forecast is {movement_phrase(move, previous_month)}.")
    lines.append(
        f"Last year {area}'s outturn was {gbp_m(float(figs['region_prior_year_outturn_gbp_m']))}."
    )
    lines.append(_savings_sentence("Providers", "CIP", figs, "providers", "turnover"))
    lines.append(_savings_sentence("PCTs", "QIPP", figs, "pcts", "resources"))
    behind = int(figs["trusts_significantly_behind_plan_count"])
    support = int(figs["pcts_needing_support_count"])
    lines.append(
        f"{count_words(behind).capitalize()} NHS {_plural(behind, 'trust is', 'trusts are')} "
        f"significantly behind plan and {count_words(support)} "
        f"{_plural(support, 'PCT', 'PCTs')} cannot break even without support from the "
        f"London Challenged Trust Board ({gbp_m(float(figs['pcts_lctb_support_gbp_m']))} in "
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
        f"Year to date they report {gbp_m(ytd)} against a plan of {gbp_m(ytd_plan)} "
        f"({signed_phrase(ytd - ytd_plan)}); last year they returned "
        f"{gbp_m(float(figs['pcts_prior_year_outturn_gbp_m']))}.",
    ]
    if "pcts_savings_plan_gbp_m" in figs:
        lines.append(_savings_sentence("They", "QIPP", figs, "pcts", "resources"))
    verb = "needs" if support == 1 else "need"
    lines.append(
        f"{count_words(support).capitalize()} of its PCTs {verb} support from the London "
        "Challenged Trust Board to break even."
    )
    return " ".join(lines)


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


# --- provider_shortfall -------------------------------------------------------------------


def provider_summary_london(figs: Figures, table: pd.DataFrame, threshold_pct: float) -> str:
    """The provider_shortfall summary for London's NHS trusts (``metrics.trust_shortfall``)."""
    behind = table.loc[table["significantly_behind_plan"]]
    n = int(figs["trusts_significantly_behind_plan_count"])
    names = join_words(short_name(str(s)) for s in behind["name"])
    lines = [
        f"London's {len(table)} NHS trusts together forecast "
        f"{signed_phrase(float(figs['trusts_forecast_variance_to_plan_gbp_m']))}.",
        f"{count_words(n).capitalize()} {_plural(n, 'trust is', 'trusts are')} significantly "
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
        f"{signed_phrase(float(figs['variance_to_plan_gbp_m']))} ({pct(share)} of turnover): "
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
        f"It forecasts CIP savings of {gbp_m(forecast)} against a plan of {gbp_m(plan)}"
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
    """Non-zero variance drivers of one trust, largest first: ``CIP slippage £(4.3)m, ...``."""
    items = [
        (DRIVER_LABELS[d], float(row[f"driver_{d}_gbp_m"]))
        for d in DRIVER_LABELS
        if _rounded(float(row[f"driver_{d}_gbp_m"]), 1) != 0
    ]
    items.sort(key=lambda kv: (-abs(kv[1]), kv[0]))
    return join_words(f"{label} {gbp_m(value)}" for label, value in items)


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
        f"including {gbp_m(float(figs['pcts_lctb_support_gbp_m']))} of that support; "
        f"before it, {outturn_phrase(float(figs['pcts_outturn_before_support_gbp_m']))}.",
        f"Overperformance on acute contracts adds "
        f"{gbp_m(float(figs['pcts_acute_overperformance_gbp_m']))} of cost to the forecasts.",
        _savings_sentence("PCTs", "QIPP", figs, "pcts", "resources"),
    ]
    return " ".join(lines)


def pct_summary_org(figs: Figures, name: str) -> str:
    """The pct_support_needs summary for one PCT or care trust."""
    support = float(figs["lctb_support_gbp_m"])
    before = float(figs["outturn_before_support_gbp_m"])
    first = f"{name} forecasts {outturn_phrase(float(figs['forecast_outturn_gbp_m']))}"
    if _rounded(support, 1) > 0:
        first += f" including {gbp_m(support)} of London Challenged Trust Board support"
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
        f"contracts costs {gbp_m(float(figs['acute_overperformance_gbp_m']))}."
    )
    plan = float(figs["qipp_plan_gbp_m"])
    forecast = float(figs["qipp_forecast_gbp_m"])
    lines.append(
        f"It forecasts QIPP savings of {gbp_m(forecast)}, "
        f"{pct(float(figs['qipp_forecast_pct_of_plan']))} of its {gbp_m(plan)} plan."
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
        f"At the end of {when}, {area} had delivered {gbp_m(ytd)} of QIPP savings against "
        f"a year-to-date plan of {gbp_m(ytd_plan)}, {signed_phrase(var)}."
    ]
    if met_clusters is not None:
        n = len(met_clusters)
        who = join_words(met_clusters)
        lines.append(
            f"{count_words(n).capitalize()} of the clusters fully met "
            f"{_plural(n, 'its', 'their')} savings target" + (f": {who}." if n else ".")
        )
    elif "savings_target_met" in figs:
        met = bool(figs["savings_target_met"])
        lines.append(f"It {'fully met' if met else 'did not meet'} its savings target to date.")
    lines.append(
        f"The forecast for the year is {gbp_m(float(figs['qipp_forecast_gbp_m']))} against a "
        f"plan of {gbp_m(float(figs['qipp_annual_plan_gbp_m']))}, "
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
        f"{n} {_plural(n, 'milestone was', 'milestones were')} missed; {short} of them "
        f"slipped by two months or less. The commonest "
        f"{_plural(min(len(reasons), 2), 'reason was', 'reasons were')} {top}."
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
