"""The period's Excel workbook for the board and its analysts: ``board-tables.xlsx``.

Usage example (:func:`helpers.pipeline.export.export_period` does this after figures.csv)::

    data = board_workbook(plan, dirs, figures_csv_text, load_reference(dirs.reference))
    write_atomic(plan.output_dir / WORKBOOK, data, only_if_changed=True)

Sheets, in order: **Cover** (NHS London, the period and its label, the returns' position
month, the sample caveat, the sources of the published figures, what the numbers' formats
mean, and a contents table linking every sheet); every board table of London's and each
cluster's reports (:mod:`.board_tables`); and **Figures**, figures.csv joined with the figure
dictionary (label, unit, favourable direction, definition). Its document dates are the period's
end, never the clock, so the same reports give the same bytes. Any fault in building it is a
:class:`~helpers.errors.BoardOutputError` naming the cause.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections.abc import Mapping

from helpers.data.organisations import Reference
from helpers.data.periods import Period
from helpers.errors import BoardOutputError
from helpers.paths import ProjectPaths
from helpers.pipeline.board_tables import board_jobs, report_sheets
from helpers.pipeline.plan import Plan, is_up_to_date
from helpers.pipeline.xlsx import Cell, Sheet, workbook_bytes
from helpers.report.base import SAMPLE_CAVEAT
from helpers.report.registry import FAMILIES

WORKBOOK = "board-tables.xlsx"
#: figures.csv's units as the Figures sheet shows them, and the kind of cell of each value.
UNITS = {
    "gbp_m": ("£m", "money"),
    "pct": ("%", "pct"),
    "count": ("count", "count"),
    "flag": ("Yes/No", "flag"),
}
FIGURE_HEADERS = (
    "Period",
    "Notebook",
    "Code",
    "Organisation",
    "Figure",
    "Label",
    "Value",
    "Unit",
    "Favourable",
    "Definition",
)
FORMATS_NOTE = (
    "Numbers are stored as numbers: £ million to one decimal with negatives (deficits, adverse "
    "variances) in brackets; percentages 0-100 to one decimal (the header says %); counts; "
    "flags as 1 or 0, shown Yes or No (a pivot's sum counts them). An empty cell is a value "
    "the report does not have."
)
PIVOT_NOTE = (
    "Each sheet's table is an Excel table named in the contents below: Insert > PivotTable, "
    "then choose it by name (Figures holds every recorded figure, one row each)."
)


def figures_sheet(figures_text: str, names: Mapping[str, str]) -> Sheet:
    """figures.csv joined with the figure dictionary, one row per recorded figure
    (``names``: organisation code -> name)."""
    rows = []
    for r in csv.DictReader(io.StringIO(figures_text)):
        entry = FAMILIES[r["notebook"]].figure(r["figure"])
        unit, kind = UNITS[r["unit"]]
        code = r["org_code"]
        text = (r["period"], r["notebook"], code, names[code], r["figure"], entry.label)
        cells: list[Cell] = [(t, "text") for t in text]
        cells += [(float(r["value"]), kind), (unit, "text"), (entry.better, "text")]
        rows.append((*cells, (entry.definition, "text")))
    title = "Headline figures of every report, with the figure dictionary"
    notes = (("Source", "figures.csv joined with figure_definitions.csv (notebook, figure)"),)
    return Sheet("Figures", "Figures", title, notes, FIGURE_HEADERS, tuple(rows))


def _plain(markdown: str) -> str:
    return markdown.replace("**", "").replace("`", "")


def cover_notes(plan: Plan, dirs: ProjectPaths, missing: list[str]) -> list[tuple[str, str]]:
    """The cover's lines: who and when, the caveat, the published figures' sources, formats."""
    period = Period.parse(plan.period)
    year, month = period.calendar_month()
    label = period.label[:1].upper() + period.label[1:]
    position = (
        f"{period.end_month_label} of {period.financial_year} ({calendar.month_name[month]} {year})"
    )
    notes = [
        ("Organisation", "NHS London (Q36), the strategic health authority for London"),
        ("Period", f"{plan.period}: {label}"),
        ("Returns' position", f"{position}: year to date and forecast outturn as at that month"),
    ]
    caveat, rest = _plain(SAMPLE_CAVEAT).split(". ", 1)
    notes += [("Caveat", caveat + "."), ("", rest)]
    with dirs.published_figures.open(newline="", encoding="utf-8") as fh:
        published = [r for r in csv.DictReader(fh) if r["period"] == plan.period]
    where = dirs.show(dirs.published_figures)
    if published:
        sources = list(dict.fromkeys(r["source"] for r in published))
        line = f"{len(published)} for {plan.period}, each reproduced by these reports ({where})"
        notes.append(("Published figures", line))
        notes += [("Sources" if i == 0 else "", s) for i, s in enumerate(sources)]
    else:
        notes.append(("Published figures", f"none for {plan.period} in {where}"))
    notes += [("Numbers", FORMATS_NOTE), ("Pivoting", PIVOT_NOTE)]
    if missing:
        notes.append(("Not included", "reports not run or failed: " + ", ".join(missing)))
    return notes


def cover_sheet(plan: Plan, dirs: ProjectPaths, sheets: list[Sheet], missing: list[str]) -> Sheet:
    """The cover: what the workbook is, and a contents table with a link to every sheet."""
    rows = []
    for s in sheets:
        report = dict(s.notes).get("Report", "All reports of the period")
        rows.append(
            (
                (s.name, "link"),
                (s.table, "text"),
                (report, "text"),
                (s.title, "text"),
                (len(s.rows), "count"),
            )
        )
    headers = ("Sheet", "Excel table", "Report", "Table", "Rows")
    title = f"NHS London: board tables, {plan.period}"
    return Sheet(
        "Cover", "Contents", title, tuple(cover_notes(plan, dirs, missing)), headers, tuple(rows)
    )


def board_workbook(plan: Plan, dirs: ProjectPaths, figures_text: str, ref: Reference) -> bytes:
    """The period's workbook (bytes) from its good reports; BoardOutputError if it cannot be."""
    try:
        jobs = board_jobs(plan.jobs, ref)
        good = [j for j in jobs if is_up_to_date(j)]
        missing = [f"{j.family}/{j.org_code}" for j in jobs if j not in good]
        taken, tables = {"cover", "figures"}, {"contents", "figures"}
        sheets = [s for job in good for s in report_sheets(job, ref, dirs, taken, tables)]
        orgs = ref.organisations
        names = dict(zip(orgs["org_code"].astype(str), orgs["name"].astype(str), strict=True))
        sheets.append(figures_sheet(figures_text, names))
        cover = cover_sheet(plan, dirs, sheets, missing)
        end = Period.parse(plan.period).end_date
        properties = {
            "title": f"NHS London board tables, {plan.period}",
            "subject": "Board tables of London's and each PCT cluster's finance reports",
            "author": "London NHS finance reporting kit",
            "company": "NHS London",
            "comments": _plain(SAMPLE_CAVEAT),
            "created": dt.datetime.combine(end, dt.time()),
        }
        return workbook_bytes([cover, *sheets], properties)
    except BoardOutputError:
        raise
    except Exception as exc:  # any other fault is reported too; the reports stand
        raise BoardOutputError(f"{type(exc).__name__}: {exc}") from exc
