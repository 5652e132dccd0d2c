"""Gather the period overview and the all-periods history from a plan and recorded figures."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pandas as pd

from helpers.data.periods import Period
from helpers.figures import unit_of
from helpers.pipeline.changes import RunChanges
from helpers.pipeline.overview.book import FigureBook, cell
from helpers.pipeline.overview.changes import changes_section
from helpers.pipeline.overview.exceptions import exceptions
from helpers.pipeline.overview.model import History, HistoryRow, Link, Overview
from helpers.pipeline.overview.tables import family_table
from helpers.pipeline.overview.tiles import london_tiles
from helpers.pipeline.overview.trend import trend_badge
from helpers.pipeline.plan import Plan
from helpers.report.registry import FAMILIES

CAVEAT = (
    "Organisation-level numbers in the sample data are illustrative; regional totals "
    "reproduce NHS London's published figures."
)
#: London's headline figures on the all-periods page: (figure, the families that record it).
HISTORY_FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("region_forecast_outturn_gbp_m", ("regional_outturn",)),
    ("region_forecast_plan_gbp_m", ("regional_outturn",)),
    ("region_forecast_variance_to_plan_gbp_m", ("regional_outturn",)),
    ("region_forecast_movement_gbp_m", ("regional_outturn",)),
    ("region_ytd_actual_gbp_m", ("regional_outturn",)),
    ("region_ytd_plan_gbp_m", ("regional_outturn",)),
    ("trusts_forecast_outturn_gbp_m", ("regional_outturn",)),
    ("pcts_forecast_outturn_gbp_m", ("regional_outturn", "pct_support_needs")),
    ("providers_savings_plan_gbp_m", ("provider_shortfall", "regional_outturn")),
    ("providers_savings_forecast_gbp_m", ("provider_shortfall", "regional_outturn")),
    ("providers_savings_shortfall_pct", ("provider_shortfall", "regional_outturn")),
    ("pcts_savings_plan_gbp_m", ("pct_support_needs", "regional_outturn")),
    ("pcts_savings_forecast_gbp_m", ("pct_support_needs", "regional_outturn")),
    ("pcts_savings_shortfall_pct", ("pct_support_needs", "regional_outturn")),
    ("trusts_significantly_behind_plan_count", ("provider_shortfall", "regional_outturn")),
    ("pcts_needing_support_count", ("pct_support_needs", "regional_outturn")),
    ("pcts_lctb_support_gbp_m", ("pct_support_needs", "regional_outturn")),
    ("milestones_due_count", ("cluster_milestone_slippage",)),
    ("milestones_missed_count", ("cluster_milestone_slippage",)),
)
_UNITS = {"gbp_m": " (£m)", "pct": " (%)"}


def build_overview(
    plan: Plan,
    figures: pd.DataFrame,
    failed: Collection[str] = (),
    changes: RunChanges | None = None,
) -> Overview:
    """The period overview of ``plan``'s reports, from ``figures`` (figures.csv's columns).

    ``figures`` holds the recorded figures of the period's up-to-date reports, as
    :func:`helpers.pipeline.export.collect_figures` gives them; ``failed`` names reports
    (``period/family/org``) that failed in this run, though a failed notebook kept beside a
    report says so too. Nothing is read but the plan's files' existence and stamps, so the
    board pack can call it after a run: ``build_overview(plan, collect_figures(good_jobs(plan)))``.
    ``changes`` (this run's, from :mod:`helpers.pipeline.changes`) adds the "changed since the
    last run" section when a figure moved.
    """
    book = FigureBook(figures)
    period = plan.params.period
    tiles, notes = london_tiles(plan, book)
    label = period.label[:1].upper() + period.label[1:]
    return Overview(
        period=str(period),
        title=f"NHS London finance reports, {period}",
        period_label=label,
        caveat=CAVEAT,
        tiles=tiles,
        tile_notes=notes,
        exceptions=exceptions(plan, book),
        tables=tuple(family_table(f, plan, book, failed) for f in plan.params.families),
        links=(
            Link("../index.html", "All periods", "(London's figures side by side)"),
            Link("figures.csv", "Headline figures (CSV)"),
            Link("figure_definitions.csv", "Figure definitions (CSV)"),
            Link("changes.csv", "Changes since the last run (CSV)"),
            Link("manifest.json", "Run manifest (JSON)"),
        ),
        changes=changes_section(plan, changes),
        trend=trend_badge(book),
    )


def _periods(outputs_dir: Path) -> list[Period]:
    found = []
    for child in outputs_dir.iterdir() if outputs_dir.is_dir() else []:
        if (child / "index.html").is_file():
            try:
                found.append(Period.parse(child.name))
            except ValueError:
                continue
    return sorted(found)


def _book(folder: Path) -> FigureBook:
    try:
        frame = pd.read_csv(folder / "figures.csv", dtype={"org_code": str, "value": float})
    except (OSError, ValueError, pd.errors.ParserError):
        frame = pd.DataFrame(columns=["notebook", "org_code", "figure", "value"])
    return FigureBook(frame)


def build_history(outputs_dir: Path) -> History:
    """London's headline figures for every period with an overview page, in time order."""
    periods = _periods(outputs_dir)
    books = [_book(outputs_dir / str(p)) for p in periods]
    rows = []
    for name, families in HISTORY_FIGURES:
        values: list[float | None] = []
        for book in books:
            try:
                values.append(book.first(families, "Q36", name)[1])
            except KeyError:
                values.append(None)
        if all(v is None for v in values) and periods:
            continue
        entry = FAMILIES[families[0]].figure(name)
        unit = unit_of(name)
        rows.append(
            HistoryRow(
                entry.label + _UNITS.get(unit, ""),
                entry.definition,
                tuple(cell(v, unit) for v in values),
            )
        )
    return History(
        title="NHS London finance reports",
        periods=tuple(Link(f"{p}/index.html", str(p), f"overview ({p.label})") for p in periods),
        period_labels=tuple(p.label for p in periods),
        rows=tuple(rows),
    )
