"""The overview's family tables: organisations worst first, each row linking its report.

Which figures each family's table shows, and why (the board reads a table in a minute):

- ``regional_outturn`` (London and the PCT clusters): the PCTs' forecast variance to plan, their
  forecast outturn, the QIPP shortfall and how many PCTs need support. Ordered by the variance,
  most adverse first: it is the question this report answers for a cluster.
- ``provider_shortfall`` (NHS trusts): variance to plan in £m and as a share of turnover, whether
  significantly behind plan, the CIP shortfall and the forecast outturn. Ordered by the variance
  as a share of turnover, the measure that decides "significantly behind plan", so a small
  trust's large slip ranks above a large trust's small one.
- ``pct_support_needs`` (PCTs): the outturn before support (the figure that decides whether a
  PCT needs support, so the order), the support, the forecast with it, whether it needs
  support and QIPP delivery against plan.
- ``cluster_milestone_slippage`` (clusters): milestones missed (the order, most first; ties by
  QIPP variance to date), milestones due, QIPP variance to date and for the year, and whether
  the savings target to date is met.

London's row comes first, out of the order: its report covers every organisation of the
family, so its cells are totals (or counts, in a flag column). A family the kit does not know
here (a new one) shows its first few organisation figures, ordered by the first of them.
Which way is "worst" always comes from the dictionary's ``better``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from helpers import formats
from helpers.data.organisations import REGION
from helpers.figures import unit_of
from helpers.pipeline.overview.book import (
    FigureBook,
    cell,
    family_title,
    header,
    report_links,
    report_status,
)
from helpers.pipeline.overview.model import (
    Column,
    FamilyTable,
    Row,
)
from helpers.pipeline.plan import Job, Plan
from helpers.report.registry import FAMILIES

SAME = ""  # London's figure has the organisations' name (in the same report family)


@dataclass(frozen=True)
class TableSpec:
    """A family table: its columns (organisations' figure, London's figure and family) and
    the figures that order it, worst first."""

    columns: tuple[tuple[str, str | None, str | None], ...]
    worst: tuple[str, ...]
    order: str
    total_note: str


SPECS: dict[str, TableSpec] = {
    "regional_outturn": TableSpec(
        columns=(
            ("pcts_forecast_variance_to_plan_gbp_m", SAME, None),
            ("pcts_forecast_outturn_gbp_m", SAME, None),
            ("pcts_savings_shortfall_pct", SAME, None),
            ("pcts_needing_support_count", SAME, None),
        ),
        worst=("pcts_forecast_variance_to_plan_gbp_m",),
        order="PCT clusters by their PCTs' forecast variance to plan, most adverse first",
        total_note="London's row is every London PCT and the care trust.",
    ),
    "provider_shortfall": TableSpec(
        columns=(
            ("variance_pct_of_turnover", None, None),
            ("variance_to_plan_gbp_m", "trusts_forecast_variance_to_plan_gbp_m", None),
            ("significantly_behind_plan", "trusts_significantly_behind_plan_count", None),
            ("cip_shortfall_pct", "providers_savings_shortfall_pct", None),
            ("forecast_outturn_gbp_m", "trusts_forecast_outturn_gbp_m", "regional_outturn"),
        ),
        worst=("variance_pct_of_turnover",),
        order="NHS trusts by forecast variance to plan as a share of turnover, most adverse first",
        total_note="London's row is every NHS trust (a count in the yes/no column).",
    ),
    "pct_support_needs": TableSpec(
        columns=(
            ("outturn_before_support_gbp_m", "pcts_outturn_before_support_gbp_m", None),
            ("lctb_support_gbp_m", "pcts_lctb_support_gbp_m", None),
            ("forecast_outturn_gbp_m", "pcts_forecast_outturn_gbp_m", None),
            ("needs_support", "pcts_needing_support_count", None),
            ("qipp_forecast_pct_of_plan", None, None),
        ),
        worst=("outturn_before_support_gbp_m",),
        order="PCTs by forecast outturn before support, largest deficit first",
        total_note="London's row is every PCT and the care trust (a count in the yes/no column).",
    ),
    "cluster_milestone_slippage": TableSpec(
        columns=(
            ("milestones_missed_count", SAME, None),
            ("milestones_due_count", SAME, None),
            ("qipp_ytd_variance_gbp_m", SAME, None),
            ("qipp_forecast_variance_gbp_m", SAME, None),
            ("savings_target_met", "clusters_meeting_savings_target_count", None),
        ),
        worst=("milestones_missed_count", "qipp_ytd_variance_gbp_m"),
        order="PCT clusters by QIPP milestones missed, most first, then by QIPP variance to date",
        total_note="London's row is every cluster (a count in the yes/no column).",
    ),
}


def _generic_spec(family: str, jobs: Sequence[Job], book: FigureBook) -> TableSpec:
    """A new family's table: its first four figures that organisations' reports recorded."""
    orgs = [j.org_code for j in jobs if j.org_code != REGION]
    names = [
        f.name
        for f in FAMILIES[family].dictionary
        if any(book.get(family, o, f.name) is not None for o in orgs)
    ][:4]
    order = f"by {FAMILIES[family].figure(names[0]).label}" if names else "by code"
    return TableSpec(tuple((n, SAME, None) for n in names), tuple(names[:1]), order, "")


def who(job: Job) -> str:
    """An organisation as the pages name it: ``Barnet PCT (5A9)``."""
    return f"{job.org_name or job.org_code} ({job.org_code})"


def _row(job: Job, spec: TableSpec, book: FigureBook, failed: Collection[str]) -> Row:
    cells = []
    for name, london, where in spec.columns:
        entry = FAMILIES[job.family].figure(name)
        if job.org_code == REGION:
            shown = name if london == SAME else london
            value = None if shown is None else book.get(where or job.family, REGION, shown)
            cells.append(cell(value, "count" if entry.unit == "flag" else unit_of(shown or name)))
        else:
            value = book.get(job.family, job.org_code, name)
            cells.append(cell(value, entry.unit, entry.better))
    state, text = report_status(job, failed)
    return Row(
        job.org_code,
        job.org_name or job.org_code,
        tuple(cells),
        state,
        text,
        report_links(job, who(job)),
    )


def _worst_first(rows: list[Row], family: str, spec: TableSpec) -> list[Row]:
    """Rows worst first on ``spec.worst`` (missing values last, then by code)."""
    index = [n for n, _, _ in spec.columns]

    def key(row: Row) -> tuple[object, ...]:
        parts: list[object] = []
        for name in spec.worst:
            sort = row.cells[index.index(name)].sort
            sign = {"higher": 1.0, "lower": -1.0}.get(FAMILIES[family].figure(name).better, 1.0)
            parts += [sort is None, 0.0 if sort is None else sign * sort]
        return (*parts, row.org_code)

    return sorted(rows, key=key)


def family_table(
    family: str, plan: Plan, book: FigureBook, failed: Collection[str] = ()
) -> FamilyTable:
    """One family's table: London's row, then every organisation worst first."""
    jobs = [j for j in plan.jobs if j.family == family]
    title = family_title(family)
    known = family in FAMILIES
    spec = SPECS.get(family) or (_generic_spec(family, jobs, book) if known else None)
    spec = spec or TableSpec((), (), "by code", "")
    columns = tuple(
        Column(
            name,
            header(FAMILIES[family].figure(name).label, name),
            unit_of(name),
            FAMILIES[family].figure(name).definition,
        )
        for name, _, _ in spec.columns
    )
    rows = [_row(j, spec, book, failed) for j in jobs]
    total = next((r for r in rows if r.org_code == REGION), None)
    others = _worst_first([r for r in rows if r.org_code != REGION], family, spec)
    n = len(jobs)
    caption = f"{title}, {plan.period}: {n} {formats.plural(n, 'report', 'reports')}"
    return FamilyTable(
        family, title, caption, spec.order, columns, total, tuple(others), spec.total_note
    )
