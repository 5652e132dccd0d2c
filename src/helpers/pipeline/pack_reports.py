"""A report's print body for the board pack, from its executed notebook.

Usage example::

    body = report_body(nbformat.read(job.ipynb, as_version=4), shift=1)  # h1 becomes h2

The body comes from the same nbconvert exporter as the report's HTML page
(:func:`helpers.pipeline.export.html_exporter`) with a print template,
``templates/report_print.html.j2``: no code, prompts or streams; the markdown and each chart
with its alt text as the page has them. Each board table is rebuilt from what it carries
(:data:`~helpers.report.display.TABLE_MIME`: caption, headers, column kinds) with the cell
texts the page prints (read from its HTML, so both show the same numbers) as a plain table
with header cells and no style sheet of its own (per-table style sheets, as pandas' Styler
wrote them, were most of WeasyPrint's time). The headline figures are shown with their labels
and units from the family's figure dictionary, in board number style (:mod:`helpers.formats`);
the pack defines them once, at its end.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader
from markupsafe import Markup

from helpers import formats
from helpers.errors import PackError
from helpers.figures import FIGURES_MIME
from helpers.pipeline.export import html_exporter
from helpers.pipeline.pack_columns import column_widths
from helpers.pipeline.pages import environment
from helpers.report.display import TABLE_MIME
from helpers.report.registry import FAMILIES

#: The templates folder (the print template is an nbconvert template, so loaded by path).
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
#: The print template's choice among a cell output's forms, first found first.
PRINT_PRIORITY = [TABLE_MIME, FIGURES_MIME, "image/png", "text/markdown", "text/html", "text/plain"]
_UNITS = {"gbp_m": "£m", "pct": "%", "count": "count", "flag": "yes/no"}


# --- board tables ---------------------------------------------------------------------------


class _Cells(HTMLParser):
    """The texts of a table's body cells, row by row (``<th>`` and ``<td>`` in ``<tbody>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._body = True
        elif tag == "tr" and self._body:
            self.rows.append([])
        elif tag in ("th", "td") and self._body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._body = False
        elif tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def printed_cells(table_html: str) -> list[list[str]]:
    """The body rows of a report table as its HTML prints them."""
    parser = _Cells()
    parser.feed(table_html)
    return [row for row in parser.rows if row]


def board_table_html(table: Mapping[str, Any], table_html: str) -> str:
    """A board table from its data and the cell texts of its HTML (``""`` when empty)."""
    rows = printed_cells(table_html) if table["rows"] else []
    kinds = [c["kind"] for c in table["columns"]]
    width = len(kinds)
    if len(rows) != len(table["rows"]) or any(len(r) != width for r in rows):
        raise PackError(
            f"the table {table['caption']!r} prints {len(rows)} rows where its data has "
            f"{len(table['rows'])} of {width} columns"
        )
    headers = [c["header"] for c in table["columns"]]
    widths = column_widths(headers, kinds, rows, table["caption"])
    return (
        environment()
        .get_template("board_table.html.j2")
        .render({**table, "rows": rows, "widths": widths})
    )


# --- headline figures -----------------------------------------------------------------------


def figure_text(value: float, unit: str) -> str:
    """A headline figure's value as a board table prints it: ``(106.8)``, ``11.5``, ``3``."""
    if unit == "gbp_m":
        return formats.money_cell(value)
    if unit == "pct":
        return formats.pct_cell(value)
    if unit == "flag":
        return "Yes" if value else "No"
    return str(round(value))


def headline_figures_html(payload: Mapping[str, Any]) -> str:
    """The recorded figures of a report, labelled from its family's figure dictionary."""
    family = FAMILIES[payload["notebook"]]
    recorded = {f["figure"]: f for f in payload["figures"]}
    rows = [
        {
            "label": entry.label,
            "value": figure_text(float(recorded[entry.name]["value"]), entry.unit),
            "unit": _UNITS.get(entry.unit, entry.unit),
        }
        for entry in family.dictionary
        if entry.name in recorded
    ]
    caption = (
        f"Headline figures of this report ({len(rows)}); negative amounts in brackets; "
        "each is defined at the end of the pack"
    )
    texts = [[row["label"], row["value"], row["unit"]] for row in rows]
    widths = column_widths(["Figure", "Value", "Unit"], ["text", "money", "unit"], texts, caption)
    return (
        environment()
        .get_template("headline_figures.html.j2")
        .render(caption=caption, figures=rows, widths=widths)
    )


def _board_data(data: Mapping[str, Any]) -> Markup:
    """The print template's filter for the kit's own cell outputs."""
    if TABLE_MIME in data:
        return Markup(board_table_html(data[TABLE_MIME], str(data.get("text/html", ""))))
    if FIGURES_MIME in data:
        return Markup(headline_figures_html(data[FIGURES_MIME]))
    return Markup("")


# --- one report -----------------------------------------------------------------------------


@cache
def _print_exporter() -> Any:
    from traitlets.config import Config  # with nbconvert: only when a pack is built

    return html_exporter(
        "report_print.html.j2",
        [FileSystemLoader(TEMPLATES_DIR)],
        config=Config({"NbConvertBase": {"display_data_priority": PRINT_PRIORITY}}),
        filters={"board_data": _board_data},
        exclude_anchor_links=True,
    )


_HEADING = re.compile(r"<(/?)h([1-6])\b")


def shift_headings(body: str, shift: int) -> str:
    """Every heading ``shift`` levels down (at most h6), so the pack's own headings lead."""
    return _HEADING.sub(lambda m: f"<{m[1]}h{min(6, int(m[2]) + shift)}", body)


def report_body(nb: Any, shift: int = 0) -> str:
    """A report's print body: its headings moved ``shift`` levels down, the first one (the
    report's title) marked ``report-title``."""
    body, _ = _print_exporter().from_notebook_node(nb)
    body = shift_headings(str(body), shift)
    return re.sub(r"<h([1-6])>", r'<h\1 class="report-title">', body, count=1)
