"""London's headline tiles: each figure with its dictionary label, in numbers and in words.

A tile says its value in board words ("a deficit of £106.8m", "£56.2m below plan"), judges it
against the dictionary's favourable direction (a word and a shape, not only a colour) and,
where the returns record one, its movement since the previous month's return. Only London's
forecast outturn has one (``region_forecast_movement_gbp_m``): savings returns are
period-level, and year to date and the counts are recorded at the period's month only, so
those tiles say that they have none.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence

from helpers import formats
from helpers.data.organisations import REGION
from helpers.pipeline.overview.book import NO_VALUE, FigureBook, judge
from helpers.pipeline.overview.model import MISSING, Judgement, Link, Tile
from helpers.pipeline.plan import Plan
from helpers.report.base import THRESHOLD, previous_month
from helpers.report.family import Figure
from helpers.report.registry import FAMILIES

OUTTURN, PROVIDERS, PCTS, CLUSTERS = (
    "regional_outturn",
    "provider_shortfall",
    "pct_support_needs",
    "cluster_milestone_slippage",
)
NO_MOVEMENT_SAVINGS = "No movement shown: savings returns are period-level (no previous month)."
NO_MOVEMENT_YTD = "No movement shown: year to date is recorded at this period's month only."
NO_MOVEMENT_COUNT = "No movement shown: the count is recorded for this period only."
MOVEMENT_NOTE = (
    "Only London's forecast outturn is recorded against the previous month's return, so only "
    "that tile shows a movement; savings returns are period-level, and year to date and the "
    "counts are recorded for this period only."
)


class _Tiles:
    """What every tile needs: the period's figures, its plan and London's reports."""

    def __init__(self, plan: Plan, book: FigureBook) -> None:
        self.plan, self.book = plan, book
        self.period = plan.params.period
        self.families = [f for f in plan.params.families if f in FAMILIES]
        self.jobs = {j.family: j for j in plan.jobs if j.org_code == REGION}

    def source(self, names: Sequence[str], prefer: Sequence[str]) -> str | None:
        """The first family of ``prefer`` (run this period) whose London report has ``names``."""
        for family in prefer:
            if family in self.families and all(
                self.book.get(family, REGION, n) is not None for n in names
            ):
                return family
        return None

    def values(self, family: str, names: Sequence[str]) -> list[float]:
        """London's values of ``names`` in ``family``'s report (present: see :meth:`source`)."""
        found = [self.book.get(family, REGION, n) for n in names]
        return [v for v in found if v is not None]

    def link(self, family: str | None) -> Link | None:
        """London's report of the family, if its HTML exists."""
        job = self.jobs.get(family or "")
        if job is None or not job.html.is_file():
            return None
        return Link(
            f"{family}/{job.html.name}", "London's report", f"“{FAMILIES[job.family].title}”"
        )

    def month(self) -> str:
        """The period's position month in words, e.g. ``June 2011``."""
        year, month = self.period.calendar_month()
        return f"{calendar.month_name[month]} {year}"

    def missing(self, key: str, entry: Figure, families: Sequence[str], why: str) -> Tile:
        """A tile whose figures no up-to-date London report recorded."""
        titles = formats.join_words(f"“{FAMILIES[f].title}”" for f in families)
        return Tile(
            key=key,
            label=entry.label,
            number=NO_VALUE,
            qualifier="not available",
            sentence=f"Not available: London's {titles} report recorded no figure ({why}).",
            judgement=Judgement(MISSING),
            definition=entry.definition,
            figures=(entry.name,),
            no_movement="No movement shown: there is no figure this period.",
            link=self.link(next((f for f in families if f in self.families), None)),
        )


def _entry(family: str, name: str) -> Figure:
    return FAMILIES[family].figure(name)


def _forecast(t: _Tiles) -> Tile:
    names = ["region_forecast_outturn_gbp_m", "region_forecast_plan_gbp_m"]
    names.append("region_forecast_variance_to_plan_gbp_m")
    entry = _entry(OUTTURN, names[0])
    if t.source(names, [OUTTURN]) is None:
        return t.missing("forecast_outturn", entry, [OUTTURN], "it failed or is not up to date")
    outturn, plan, variance = t.values(OUTTURN, names)
    better = _entry(OUTTURN, names[2]).better
    movement, no_movement = None, None
    prev = previous_month(t.period)
    moved = t.book.get(OUTTURN, REGION, "region_forecast_movement_gbp_m")
    if moved is not None and prev is not None:
        year, month = t.period.calendar_month(int(prev[1:]))
        since = f"the {calendar.month_name[month]} {year} return ({prev})"
        judged = judge(moved, _entry(OUTTURN, "region_forecast_movement_gbp_m").better)
        word = "" if judged.state == "neutral" else f", {judged.word.lower()}"
        movement = formats.movement_phrase(moved, since) + word
        names.append("region_forecast_movement_gbp_m")
    else:
        no_movement = "No movement shown: this is the first month of the financial year."
    return Tile(
        key="forecast_outturn",
        label=entry.label,
        number=formats.amount(outturn),
        qualifier=formats.position_word(outturn),
        sentence=(
            f"Forecast {formats.outturn_phrase(outturn)} for {t.period.financial_year} against "
            f"{formats.planned_phrase(plan)}: {formats.signed_phrase(variance)}."
        ),
        judgement=judge(variance, better),
        definition=entry.definition,
        figures=tuple(names),
        movement=movement,
        no_movement=no_movement,
        link=t.link(OUTTURN),
    )


def _ytd(t: _Tiles) -> Tile:
    names = ["region_ytd_actual_gbp_m", "region_ytd_plan_gbp_m"]
    entry = _entry(OUTTURN, names[0])
    if t.source(names, [OUTTURN]) is None:
        return t.missing("ytd", entry, [OUTTURN], "it failed or is not up to date")
    actual, plan = t.values(OUTTURN, names)
    variance = formats.rounded(actual - plan)
    phrase = formats.outturn_phrase(actual)
    return Tile(
        key="ytd",
        label=entry.label,
        number=formats.amount(actual),
        qualifier=formats.position_word(actual),
        sentence=(
            f"{phrase[:1].upper()}{phrase[1:]} to the end of {t.month()} against "
            f"{formats.planned_phrase(plan)}: {formats.signed_phrase(variance)}."
        ),
        judgement=judge(variance, entry.better),
        definition=entry.definition,
        figures=tuple(names),
        no_movement=NO_MOVEMENT_YTD,
        link=t.link(OUTTURN),
    )


def _savings(t: _Tiles, key: str, prefix: str, prefer: Sequence[str]) -> Tile:
    names = [f"{prefix}_savings_{n}" for n in ("shortfall_pct", "forecast_gbp_m", "plan_gbp_m")]
    family = t.source(names, prefer)
    if family is None:
        entry = _entry(prefer[0], names[0])
        return t.missing(key, entry, prefer, "they failed, are not up to date or were not run")
    entry = _entry(family, names[0])
    shortfall, forecast, plan = t.values(family, names)
    return Tile(
        key=key,
        label=entry.label,
        number=formats.pct(abs(shortfall)),
        qualifier="shortfall" if formats.rounded(shortfall) >= 0 else "ahead of plan",
        sentence=(
            f"Forecast savings of {formats.amount(forecast)} against a plan of "
            f"{formats.amount(plan)}: {formats.signed_phrase(forecast - plan)}."
        ),
        judgement=judge(shortfall, entry.better),
        definition=entry.definition,
        figures=tuple(names),
        no_movement=NO_MOVEMENT_SAVINGS,
        link=t.link(family),
    )


def _behind_plan(t: _Tiles) -> Tile:
    name = "trusts_significantly_behind_plan_count"
    family = t.source([name], [PROVIDERS, OUTTURN])
    if family is None:
        entry = _entry(PROVIDERS, name)
        return t.missing("behind_plan", entry, [PROVIDERS, OUTTURN], "failed or not run")
    entry = _entry(family, name)
    (count,) = t.values(family, [name])
    n = round(count)
    options = t.plan.params.families[family].options
    threshold = formats.pct(float(options.get(THRESHOLD.name, THRESHOLD.default)))
    who = "No NHS trust is" if n == 0 else f"{formats.count_words(n).capitalize()} NHS "
    if n:
        who += f"{formats.plural(n, 'trust is', 'trusts are')}"
    return Tile(
        key="behind_plan",
        label=entry.label,
        number=str(n),
        qualifier=formats.plural(n, "trust", "trusts"),
        sentence=(
            f"{who} significantly behind plan (an adverse forecast variance over {threshold} "
            "of turnover)."
        ),
        judgement=judge(count, entry.better),
        definition=entry.definition,
        figures=(name,),
        no_movement=NO_MOVEMENT_COUNT,
        link=t.link(family),
    )


def _needs_support(t: _Tiles) -> Tile:
    names = ["pcts_needing_support_count", "pcts_lctb_support_gbp_m"]
    family = t.source(names, [PCTS, OUTTURN])
    if family is None:
        entry = _entry(PCTS, names[0])
        return t.missing("needs_support", entry, [PCTS, OUTTURN], "failed or not run")
    entry = _entry(family, names[0])
    count, support = t.values(family, names)
    n = round(count)
    who = "No PCT needs" if n == 0 else f"{formats.count_words(n).capitalize()} "
    if n:
        who += formats.plural(n, "PCT needs", "PCTs need")
    return Tile(
        key="needs_support",
        label=entry.label,
        number=str(n),
        qualifier=formats.plural(n, "PCT", "PCTs"),
        sentence=(
            f"{who} London Challenged Trust Board support to break even; the PCTs' forecasts "
            f"include {formats.amount(support)} of that support."
        ),
        judgement=judge(count, entry.better),
        definition=entry.definition,
        figures=tuple(names),
        no_movement=NO_MOVEMENT_COUNT,
        link=t.link(family),
    )


def _milestones(t: _Tiles) -> Tile:
    names = ["milestones_missed_count", "milestones_due_count", "milestones_not_yet_due_count"]
    entry = _entry(CLUSTERS, names[0])
    if t.source(names, [CLUSTERS]) is None:
        why = f"no milestones were tracked in {t.period.financial_year}, or it failed"
        return t.missing("missed_milestones", entry, [CLUSTERS], why)
    missed, due, later = (round(v) for v in t.values(CLUSTERS, names))
    return Tile(
        key="missed_milestones",
        label=entry.label,
        number=str(missed),
        qualifier=f"of {due} due",
        sentence=(
            f"{formats.count_words(missed).capitalize()} of the {due} QIPP milestones due by "
            f"the end of {t.month()} {formats.plural(missed, 'was', 'were')} missed; "
            f"{later} {formats.plural(later, 'is', 'are')} not yet due."
        ),
        judgement=judge(missed, entry.better),
        definition=entry.definition,
        figures=tuple(names),
        no_movement=NO_MOVEMENT_COUNT,
        link=t.link(CLUSTERS),
    )


_BUILDERS: tuple[Callable[[_Tiles], Tile], ...] = (
    _forecast,
    _ytd,
    lambda t: _savings(t, "cip", "providers", [PROVIDERS, OUTTURN]),
    lambda t: _savings(t, "qipp", "pcts", [PCTS, OUTTURN]),
    _behind_plan,
    _needs_support,
)


def london_tiles(plan: Plan, book: FigureBook) -> tuple[tuple[Tile, ...], tuple[str, ...]]:
    """London's tiles in reading order, and notes saying which tiles lack what, and why."""
    t = _Tiles(plan, book)
    tiles = [build(t) for build in _BUILDERS]
    notes = [MOVEMENT_NOTE]
    if CLUSTERS in t.families:
        tiles.append(_milestones(t))
    else:
        notes.append(
            "There is no QIPP milestones tile: this period runs no "
            f"“{FAMILIES[CLUSTERS].title}” reports (PCT clusters and milestone tracking "
            "began in 2011-12)."
        )
    return tuple(tiles), tuple(notes)
