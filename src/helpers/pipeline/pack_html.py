"""The board pack as one HTML document: cover, contents, overview, reports, definitions.

Usage example (what :func:`helpers.pipeline.pack.build_pack` renders)::

    outline = pack_outline(plan)              # which reports go where, and which are missing
    html = pack_document(plan, outline, figures_frame, failed=set())

The parts follow a board pack's order: London's reports (one per family), each cluster's
reports, then the appendix of organisation reports (the params file's ``board_pack.appendix``,
every trust and PCT by default), grouped by family and ordered by name. A report that is not
up to date (failed or not run) is named where it would be, never shown from an old run. The
overview is the period page's own body (:func:`helpers.pipeline.pages.overview_body`), its
links to reports turned into links inside the pack. Everything is rendered by the
autoescaped templates ``board_pack.html.j2`` and ``board_pack.css``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from helpers.data.organisations import CLUSTERS, REGION
from helpers.pipeline.overview import build_overview
from helpers.pipeline.pack_reports import report_body
from helpers.pipeline.pages import asset, environment, overview_body
from helpers.pipeline.plan import Job, Plan, is_up_to_date
from helpers.report.base import sources_note
from helpers.report.registry import FAMILIES

CAVEAT = (
    "Organisation-level values in the sample returns are illustrative. NHS London published "
    "regional totals and a few named organisations only; the sample was generated so that the "
    "totals computed from the organisation rows reproduce every published figure."
)


@dataclass(frozen=True)
class PackReport:
    """One report in the pack: its job, how the contents name it and its anchor."""

    job: Job
    label: str  # in the contents and bookmarks, e.g. "Forecast outturn against plan"
    shift: int  # how many levels its headings move down (1 under a part, 2 under a group)

    @property
    def anchor(self) -> str:
        """The report's id in the document (unique: one report per family and organisation)."""
        return f"report-{self.job.family}-{self.job.org_code}"


@dataclass(frozen=True)
class Group:
    """Reports under one heading (a cluster, or a family in the appendix; none for London)."""

    anchor: str
    title: str
    section: str  # the running header of its pages, e.g. "Cluster reports: North Central ..."
    reports: tuple[PackReport, ...]
    missing: tuple[str, ...] = ()  # reports that would be here, named, with why not


@dataclass(frozen=True)
class Part:
    """A part of the pack (London's reports, the clusters' reports, the appendix)."""

    anchor: str
    title: str
    intro: str
    groups: tuple[Group, ...]

    @property
    def reports(self) -> list[PackReport]:
        """Every report of the part, in order."""
        return [r for g in self.groups for r in g.reports]


@dataclass(frozen=True)
class Outline:
    """What the pack holds, part by part, and the reports left out because not up to date."""

    parts: tuple[Part, ...]
    missing: tuple[str, ...] = field(default=())

    @property
    def reports(self) -> list[PackReport]:
        """Every report in the pack, in order."""
        return [r for p in self.parts for r in p.reports]


def _missing_text(job: Job) -> str:
    return f"{job.title}: not in this pack, as the report is not up to date (see the run's log)"


def _group(
    anchor: str, title: str, section: str, jobs: Sequence[Job], label: str, shift: int
) -> Group:
    """A group of ``jobs``; ``label`` is 'family' or 'organisation' (what names a report)."""
    good = [j for j in jobs if is_up_to_date(j)]
    reports = tuple(
        PackReport(j, FAMILIES[j.family].title if label == "family" else _org(j), shift)
        for j in good
    )
    missing = tuple(_missing_text(j) for j in jobs if j not in good)
    return Group(anchor, title, section, reports, missing)


def _org(job: Job) -> str:
    return f"{job.org_name} ({job.org_code})" if job.org_name else job.org_code


def pack_outline(plan: Plan) -> Outline:
    """Which of the plan's reports go in which part of the pack, in order."""
    by_org: dict[str, list[Job]] = {}
    for job in plan.jobs:  # the families in the params file's order
        by_org.setdefault(job.org_code, []).append(job)
    parts = []
    if REGION in by_org:
        london = _group("london-reports", "", "London's reports", by_org[REGION], "family", 1)
        intro = "London's report in each family, on every organisation of its kind."
        parts.append(Part("london", "London's reports", intro, (london,)))
    clusters = [c for c in CLUSTERS if c in by_org]
    if clusters:
        groups = tuple(
            _group(f"cluster-{c}", name, f"Cluster reports: {name}", by_org[c], "family", 2)
            for c in clusters
            for name in [_org(by_org[c][0])]
        )
        intro = "Each PCT cluster's reports, on the PCTs in the cluster at the period's end."
        parts.append(Part("clusters", "Cluster reports", intro, groups))
    chosen = set(plan.params.appendix)
    appendix = []
    for family in plan.params.families:
        jobs = [j for j in plan.jobs if j.family == family and j.org_code in chosen]
        if jobs:
            jobs.sort(key=lambda j: (j.org_name or j.org_code, j.org_code))
            title = FAMILIES[family].title
            section = f"Appendix: {title}"
            title = f"{title}: organisation reports"
            appendix.append(_group(f"appendix-{family}", title, section, jobs, "organisation", 2))
    if appendix:
        intro = "Each organisation's own report, by family, in order of name."
        parts.append(Part("appendix", "Appendix: organisation reports", intro, tuple(appendix)))
    missing = tuple(m for p in parts for g in p.groups for m in g.missing)
    return Outline(tuple(parts), missing)


# --- the document ---------------------------------------------------------------------------


_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)


def pack_links(body: str, anchors: Collection[str]) -> str:
    """The overview's links to report pages as links inside the pack; others become text."""

    def swap(m: re.Match[str]) -> str:
        target = re.fullmatch(r"([a-z_]+)/([A-Z0-9]+)\.html", m[1])
        anchor = f"report-{target[1]}-{target[2]}" if target else ""
        return f'<a href="#{anchor}">{m[2]}</a>' if anchor in anchors else m[2]

    return _LINK.sub(swap, body)


def published_sources(period: str) -> str:
    """The sources of the published figures for ``period`` (from report/base.py's note)."""
    return sources_note(period).replace("`", "")


def pack_document(
    plan: Plan, outline: Outline, figures: pd.DataFrame, failed: Collection[str]
) -> str:
    """The pack's HTML: every part rendered, the overview as the period page shows it."""
    period = plan.params.period
    anchors = {r.anchor for r in outline.reports}
    overview = pack_links(overview_body(build_overview(plan, figures, failed)), anchors)
    bodies = {
        r.anchor: Markup(report_body(_read(r.job), r.shift))  # our own exporter's HTML
        for r in outline.reports
    }
    families = [FAMILIES[f] for f in plan.params.families]
    label = period.label[:1].upper() + period.label[1:]
    return (
        environment()
        .get_template("board_pack.html.j2")
        .render(
            title=f"NHS London board pack: finance and savings, {period}",
            period=str(period),
            period_label=label,
            position=f"returns to {period.end_month_label} of {period.financial_year}",
            date=period.end_date.isoformat(),
            caveat=CAVEAT,
            sources=published_sources(str(period)),
            outline=outline,
            overview=Markup(overview),  # the overview partial's autoescaped HTML
            bodies=bodies,
            families=families,
            styles=asset("board_pack.css"),
        )
    )


def _read(job: Job) -> object:
    import nbformat  # only when a pack is built

    return nbformat.read(job.ipynb, as_version=4)  # type: ignore[no-untyped-call]
