"""Signal or noise: a report's month-by-month series read with the Making Data Count rules.

Usage example (a family module's cell functions)::

    t = trend(report, "in_month_variance_gbp_m", "In-month variance to plan", target=0.0)
    charts.show(trend_chart(t))        # the XmR chart with its variation and assurance icons
    trend_sentence(t)                  # "Month by month, the variance to plan shows ..."
    trend_figures(t)                   # the latest point's classification as recorded flags

The series is every month of every return up to the report's period (the history layer,
:mod:`helpers.data.history`: the latest return wins for a month reported twice), summed over
the report's subject: London (every NHS trust, PCT and the SHA's budgets), a cluster's member
PCTs, the NHS trusts or PCTs of a family's London report, or one organisation. The analysis is
:func:`helpers.spc.xmr` (limits, the four rules, variation and assurance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from helpers import spc
from helpers.data.history import monthly_total
from helpers.data.history_store import history_for
from helpers.errors import SeriesError
from helpers.report.base import Report
from helpers.report.display import show_markdown
from helpers.report.family import Figure, Figures, figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

#: The latest point's classification of a report's variance-to-plan series, as recorded flags.
TREND_DICTIONARY: tuple[Figure, ...] = (
    figure(
        "spc_variance_concern",
        "Month-by-month variance to plan: special cause of concern",
        "1 when the latest in-month variance to plan is a special cause of concern (Making "
        "Data Count rules: beyond a limit, a shift or trend of 7, or 2 of 3 near a limit).",
        "lower",
    ),
    figure(
        "spc_variance_improvement",
        "Month-by-month variance to plan: special cause of improvement",
        "1 when the latest in-month variance to plan is a special cause of improvement.",
    ),
    figure(
        "spc_target_consistently_met",
        "Breaking even on plan each month: consistently met",
        "1 when the in-month variance's lower process limit is at or above 0 (on plan or better).",
    ),
    figure(
        "spc_target_consistently_missed",
        "Breaking even on plan each month: consistently missed",
        "1 when the in-month variance's upper process limit is below 0 (always behind plan).",
        "lower",
    ),
)


@dataclass(frozen=True)
class Trend:
    """An XmR analysis of one of a report's monthly series (None result: too few months)."""

    title: str
    ylabel: str
    result: spc.XmR | None
    months: int


def _subject(report: Report) -> tuple[list[str] | None, bool, str]:
    """(organisations, with the SHA's budgets?, how the text names them) for the report."""
    data = report.data
    fp = data.financial_position
    if report.cluster is not None:
        return report.members, False, f"{report.org_name}'s PCTs"
    if not report.is_region:
        return [report.org_code], False, report.org_name
    if report.family == "provider_shortfall":
        trusts = data.reference.organisations
        codes = trusts.loc[trusts["org_type"] == "nhs_trust", "org_code"].astype(str)
        return sorted(set(codes) & set(fp["org_code"])), False, "London's NHS trusts"
    if report.family == "pct_support_needs":
        orgs = data.reference.organisations
        codes = orgs.loc[orgs["org_type"].isin(["pct", "care_trust"]), "org_code"].astype(str)
        return sorted(set(codes) & set(fp["org_code"])), False, "London's PCTs"
    return None, True, "London"


def trend(
    report: Report, column: str, what: str, target: float | None = None, better: str = "higher"
) -> Trend:
    """The report's subject's ``column`` by month, analysed (``what`` names it in titles).

    Computed once per report and column (a chart, the summary and the figures share it).
    """
    key = f"trend:{column}"
    if key not in report._cache:
        report._cache[key] = _trend(report, column, what, target, better)
    found: Trend = report._cache[key]
    return found


def variance_trend(report: Report) -> Trend:
    """The in-month variance to plan of the report's subject (target: on plan, 0)."""
    return trend(report, "in_month_variance_gbp_m", "In-month variance to plan", target=0.0)


def position_trend(report: Report) -> Trend:
    """The in-month surplus (+) or deficit (−) of the report's subject (no target)."""
    return trend(report, "in_month_actual_gbp_m", "In-month surplus or deficit")


def show_trend(t: Trend) -> None:
    """Display the trend's XmR chart, or say why there is none (too few months)."""
    from helpers import charts  # seaborn and matplotlib: only when a chart is shown

    chart = trend_chart(t)
    if chart is None:
        show_markdown(f"*{t.title}: too few months ({t.months}) for a chart yet.*")
    else:
        charts.show(chart)


def _trend(report: Report, column: str, what: str, target: float | None, better: str) -> Trend:
    orgs, sha, who = _subject(report)
    history = history_for(report.period, report.returns_dir)
    series = monthly_total(history, column, orgs, sha=sha).dropna()
    title = (
        f"{what}, {who}, by month to {report.period.end_month_label} {report.period.financial_year}"
    )
    ylabel = "£m in the month"
    try:
        result = spc.xmr(series, better=better, target=target)
    except SeriesError:
        return Trend(title, ylabel, None, len(series))
    return Trend(title, ylabel, result, len(series))


def trend_chart(t: Trend) -> MplFigure | None:
    """The XmR chart (None when the series is too short to analyse)."""
    from helpers.spc_chart import xmr_chart  # matplotlib: only when a chart is drawn

    if t.result is None:
        return None
    return xmr_chart(t.result, t.title, t.ylabel, name="£m")


_VARIATION = {
    "common_cause": "shows only common cause variation: no significant change",
    "improvement": "shows a special cause of improvement: significantly {side}er than before",
    "concern": "shows a special cause of concern: significantly {side}er than before",
    "neutral": "shows special cause variation: significantly {side}er than before",
}
_ASSURANCE = {
    "pass": "it is consistently on plan or better, so every month is expected to be",
    "fail": "it is consistently behind plan, which will go on unless something changes",
    "inconsistent": "it will be on plan in some months and behind it in others",
}


def trend_sentence(t: Trend, what: str) -> str:
    """The variation and assurance summary of ``what`` in words (one sentence)."""
    if t.result is None:
        return f"There are too few months ({t.months}) to read {what} as a trend yet."
    v = t.result.variation
    text = f"Month by month, {what} {_VARIATION[v.kind].format(side=v.side)}"
    if t.result.assurance.known:
        text += f"; {_ASSURANCE[t.result.assurance.kind]}"
    if t.result.trial:
        text += f" (trial limits: only {t.months} months so far)"
    return text + "."


def trend_figures(t: Trend) -> Figures:
    """The latest point's classification as flags (empty when too short to analyse)."""
    if t.result is None:
        return {}
    latest = t.result.latest
    point = str(latest["point_type"])
    code = t.result.assurance.kind
    return {
        "spc_variance_concern": int(point == "concern"),
        "spc_variance_improvement": int(point == "improvement"),
        "spc_target_consistently_met": int(code == "pass"),
        "spc_target_consistently_missed": int(code == "fail"),
    }
