"""Sheets of tables as one .xlsx workbook (XlsxWriter): £m formats, frozen headers, Excel tables.

Usage example::

    sheet = Sheet(
        name="London Outturn against plan", table="London_Outturn_against_plan",
        title="Outturn against plan, 2011-12-Q1, £m", notes=(("Report", "Regional outturn"),),
        headers=("Item", "Plan £m"), rows=((("NHS trusts", "text"), (-115.5, "money")),),
    )
    data = workbook_bytes([sheet], {"title": "...", "created": dt.datetime(2011, 6, 30)})

Every number is stored as a number with its kind's format (:data:`NUMBER_FORMATS`): money
``#,##0.0;(#,##0.0);0.0`` (£m, negatives in brackets), percentages ``0.0`` (0-100, the header
says %), counts ``#,##0``, and flags stored as 1 or 0 and shown ``Yes`` or ``No`` (so a pivot
can sum them); a missing value is an empty cell. Text is always written as a string, never as
a formula, a number or a link (``write_string``, with XlsxWriter's ``strings_to_formulas``,
``strings_to_numbers`` and ``strings_to_urls`` off), so ``=HYPERLINK(...)`` from a return stays
text. The workbook is built in memory (XlsxWriter then dates its zip entries 1980-01-01) with
the document properties given, so the same sheets and properties give the same bytes; any
warning XlsxWriter raises (a bad name, a cell out of range) is an error.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from helpers import formats

#: A cell: its value (None when missing) and kind (text, link, money, pct, count, flag).
Cell = tuple[Any, str]

NUMBER_FORMATS: dict[str, str] = {
    "money": "#,##0.0;(#,##0.0);0.0",
    "pct": "0.0",
    "count": "#,##0",
    "flag": '"Yes";"Yes";"No"',
}
TABLE_STYLE = "Table Style Medium 2"
_MIN_WIDTH, _MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a title, a few notes, then one table (an Excel table when it has rows)."""

    name: str  # the worksheet's name: unique, at most 31 characters
    table: str  # the Excel table's name (what an analyst picks for a pivot)
    title: str  # the first row: the table's caption
    notes: tuple[tuple[str, str], ...]  # (label, text) rows under the title
    headers: tuple[str, ...]  # unique and non-empty (Excel tables require it)
    rows: tuple[tuple[Cell, ...], ...]
    empty_text: str = "Nothing to show."

    @property
    def header_row(self) -> int:
        """The zero-based row of the table's header (below the title, notes and a gap)."""
        return len(self.notes) + 2


def _text(value: Any, kind: str) -> str:
    """What a cell shows, to size its column (board style, as the reports print it)."""
    if value is None:
        return ""
    if kind == "money":
        return formats.money_cell(float(value))
    if kind == "pct":
        return formats.pct_cell(float(value))
    if kind == "count":
        return f"{int(value):,}"
    if kind == "flag":
        return "Yes" if value else "No"
    return str(value)


def column_widths(sheet: Sheet) -> list[int]:
    """A width per column: its longest header or cell text, within sensible bounds."""
    widths = [len(h) for h in sheet.headers]
    for row in sheet.rows:
        for i, (value, kind) in enumerate(row):
            widths[i] = max(widths[i], len(_text(value, kind)))
    return [min(max(w + 2, _MIN_WIDTH), _MAX_WIDTH) for w in widths]


def _link(sheet_name: str) -> str:
    return "internal:'" + sheet_name.replace("'", "''") + "'!A1"


def _write_cell(ws: Any, row: int, col: int, cell: Cell, styles: Mapping[str, Any]) -> None:
    value, kind = cell
    if value is None:
        ws.write_blank(row, col, None, styles.get(kind))
    elif kind == "link":
        ws.write_url(row, col, _link(str(value)), string=str(value))
    elif kind == "text":
        ws.write_string(row, col, str(value))
    elif kind == "flag":
        ws.write_number(row, col, 1 if value else 0, styles["flag"])
    else:
        ws.write_number(row, col, value, styles[kind])


def _write_sheet(book: Any, sheet: Sheet, styles: Mapping[str, Any]) -> None:
    ws = book.add_worksheet(sheet.name)
    ws.write_string(0, 0, sheet.title, styles["title"])
    for i, (label, text) in enumerate(sheet.notes, start=1):
        ws.write_string(i, 0, label, styles["label"])
        ws.write_string(i, 1, text)
    top = sheet.header_row
    for col, width in enumerate(column_widths(sheet)):
        ws.set_column(col, col, width)
    ws.freeze_panes(top + 1, 0)
    if not sheet.rows:  # an Excel table needs a data row: headers, then the report's words
        for col, header in enumerate(sheet.headers):
            ws.write_string(top, col, header, styles["header"])
        ws.write_string(top + 1, 0, sheet.empty_text, styles["empty"])
        return
    ws.add_table(
        top,
        0,
        top + len(sheet.rows),
        len(sheet.headers) - 1,
        {
            "name": sheet.table,
            "style": TABLE_STYLE,
            "columns": [{"header": h} for h in sheet.headers],
            "title": sheet.title[:255],
        },
    )
    for r, row in enumerate(sheet.rows, start=top + 1):
        for c, cell in enumerate(row):
            _write_cell(ws, r, c, cell, styles)


def workbook_bytes(sheets: Sequence[Sheet], properties: Mapping[str, Any]) -> bytes:
    """The .xlsx file of ``sheets`` (the first is the one that opens) with these properties.

    ``properties`` are XlsxWriter's document properties; give ``created`` (a datetime) for
    byte-stable output, since XlsxWriter otherwise stamps the current time.
    """
    import xlsxwriter  # only when a workbook is built (a no-op rerun never loads it)

    buffer = io.BytesIO()
    options = {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book = xlsxwriter.Workbook(buffer, options)
        styles: dict[str, Any] = {
            k: book.add_format({"num_format": f}) for k, f in NUMBER_FORMATS.items()
        }
        styles["title"] = book.add_format({"bold": True, "font_size": 14})
        styles["label"] = book.add_format({"bold": True})
        styles["header"] = book.add_format({"bold": True, "bottom": 1})
        styles["empty"] = book.add_format({"italic": True})
        book.set_properties(dict(properties))
        for sheet in sheets:
            _write_sheet(book, sheet, styles)
        book.close()
    return buffer.getvalue()
