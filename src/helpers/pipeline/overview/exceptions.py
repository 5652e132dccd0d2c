"""The overview's exceptions: organisations that need the board's attention, named and linked.

- NHS trusts significantly behind plan (their own reports' flag), worst variance as a share
  of turnover first, with the variance in words;
- PCTs that need support to break even, largest deficit before support first, with the
  support in their forecast;
- PCT clusters that missed QIPP milestones (periods with cluster reports only), most first.

A list says so when some of its organisations' reports are not up to date, or when it is
shorter than London's own count (the organisations' reports were not all run).
"""

from __future__ import annotations

from helpers import formats
from helpers.data.organisations import REGION
from helpers.pipeline.overview.book import FigureBook, family_title, report_links
from helpers.pipeline.overview.model import ExceptionGroup, ExceptionItem, Link
from helpers.pipeline.overview.tables import who
from helpers.pipeline.plan import Job, Plan


def _listed(
    family: str,
    plan: Plan,
    book: FigureBook,
    flag: str,
    order: str,
    descending: bool = False,
) -> tuple[list[Job], list[Job]]:
    """The family's organisation jobs whose ``flag`` figure is set (worst first), and those
    not up to date (whose flag is not known)."""
    jobs = [j for j in plan.jobs if j.family == family and j.org_code != REGION]
    flagged = [j for j in jobs if (book.get(family, j.org_code, flag) or 0) > 0]
    sign = -1.0 if descending else 1.0
    flagged.sort(key=lambda j: (sign * (book.get(family, j.org_code, order) or 0), j.org_code))
    unknown = [j for j in jobs if book.get(family, j.org_code, flag) is None]
    return flagged, unknown


def _note(count: float | None, listed: int, unknown: int, noun: str) -> str:
    parts = []
    if unknown:
        parts.append(
            f"{formats.count_words(unknown).capitalize()} {noun} "
            f"{formats.plural(unknown, 'report is', 'reports are')} not up to date, so this "
            "list may be incomplete."
        )
    if count is not None and round(count) != listed:
        parts.append(f"London's report counts {round(count)}; {listed} are listed here.")
    return " ".join(parts)


def _item(job: Job, detail: str) -> ExceptionItem:
    """An exception: the organisation's name links its report (when it has one)."""
    name = job.org_name or job.org_code
    report = next((link for link in report_links(job, who(job)) if link.text == "Report"), None)
    link = None if report is None else Link(report.href, who(job))
    return ExceptionItem(job.org_code, name, detail, link)


def behind_plan(plan: Plan, book: FigureBook) -> ExceptionGroup:
    """NHS trusts significantly behind plan: variance in £m and as a share of turnover."""
    family = "provider_shortfall"
    title = "NHS trusts significantly behind plan"
    if family not in plan.params.families:
        return ExceptionGroup(
            "behind_plan",
            title,
            (),
            f"Not reported: no “{family_title(family)}” reports ran this period.",
        )
    flagged, unknown = _listed(
        family, plan, book, "significantly_behind_plan", "variance_pct_of_turnover"
    )
    items = []
    for job in flagged:
        variance = book.get(family, job.org_code, "variance_to_plan_gbp_m") or 0.0
        share = book.get(family, job.org_code, "variance_pct_of_turnover") or 0.0
        items.append(
            _item(
                job, f"{formats.signed_phrase(variance)}, {formats.pct(abs(share))} of its turnover"
            )
        )
    count = book.get(family, REGION, "trusts_significantly_behind_plan_count")
    return ExceptionGroup(
        "behind_plan",
        title,
        tuple(items),
        "No NHS trust is significantly behind plan.",
        _note(count, len(items), len(unknown), "NHS trust"),
    )


def needs_support(plan: Plan, book: FigureBook) -> ExceptionGroup:
    """PCTs that need support to break even: outturn before support, and the support."""
    family = "pct_support_needs"
    title = "PCTs that need support to break even"
    if family not in plan.params.families:
        return ExceptionGroup(
            "needs_support",
            title,
            (),
            f"Not reported: no “{family_title(family)}” reports ran this period.",
        )
    flagged, unknown = _listed(family, plan, book, "needs_support", "outturn_before_support_gbp_m")
    items = []
    for job in flagged:
        before = book.get(family, job.org_code, "outturn_before_support_gbp_m") or 0.0
        support = book.get(family, job.org_code, "lctb_support_gbp_m") or 0.0
        detail = (
            f"{formats.outturn_phrase(before)} before support; its forecast includes "
            f"{formats.amount(support)} of London Challenged Trust Board support"
        )
        items.append(_item(job, detail))
    count = book.get(family, REGION, "pcts_needing_support_count")
    return ExceptionGroup(
        "needs_support",
        title,
        tuple(items),
        "No PCT needs support to break even.",
        _note(count, len(items), len(unknown), "PCT"),
    )


def missed_milestones(plan: Plan, book: FigureBook) -> ExceptionGroup | None:
    """PCT clusters that missed QIPP milestones (None when the period has no cluster reports)."""
    family = "cluster_milestone_slippage"
    if family not in plan.params.families:
        return None
    flagged, unknown = _listed(
        family, plan, book, "milestones_missed_count", "milestones_missed_count", descending=True
    )
    items = []
    for job in flagged:
        missed = round(book.get(family, job.org_code, "milestones_missed_count") or 0)
        due = round(book.get(family, job.org_code, "milestones_due_count") or 0)
        items.append(
            _item(
                job,
                f"{missed} of {due} milestones due {formats.plural(missed, 'was', 'were')} missed",
            )
        )
    return ExceptionGroup(
        "missed_milestones",
        "PCT clusters that missed QIPP milestones",
        tuple(items),
        "No PCT cluster missed a QIPP milestone.",
        _note(None, len(items), len(unknown), "cluster"),
    )


def exceptions(plan: Plan, book: FigureBook) -> tuple[ExceptionGroup, ...]:
    """Every exception list of the period, in reading order."""
    groups = [behind_plan(plan, book), needs_support(plan, book), missed_milestones(plan, book)]
    return tuple(g for g in groups if g is not None)
