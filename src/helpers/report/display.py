"""Showing board text and tables in a report: fixed text and HTML forms that nbval compares.

Usage example (in a report notebook)::

    show_markdown(report.summary_markdown())
    show_table(board_table(frame, {"org_code": ("Code", "text"), "x_gbp_m": ("£m", "money")},
                           "Caption"))

Markdown from the data is escaped (:func:`helpers.narrative.markdown_safe`), so a scripted
organisation name is shown as text; a :class:`Table` has a caption, header cells and
right-aligned numbers, and the same frame always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from IPython.display import Markdown

from helpers import formats, narrative


class BoardText(Markdown):
    """IPython Markdown whose plain-text form is the text itself (so nbval compares the words).

    Its Markdown form goes through :func:`helpers.narrative.markdown_safe`, so a name from
    the data such as ``<script>...`` is shown as text in the HTML report, never run.
    """

    def __repr__(self) -> str:
        return str(self.data)

    def _repr_markdown_(self) -> str:
        return narrative.markdown_safe(str(self.data))


def show_markdown(text: str) -> None:
    """Display board text as Markdown (its text/plain form is the same text); skip empty text."""
    from IPython.display import display

    if text.strip():
        display(BoardText(text))  # type: ignore[no-untyped-call]


#: The MIME type under which a shown table also carries its values (numbers as numbers), so
#: that the board workbook and pack read a report's tables from its executed notebook.
TABLE_MIME = "application/vnd.nhs-kit.table+json"


@dataclass(frozen=True)
class Table:
    """A table ready for the board: formatted text cells, a caption, right-aligned numbers.

    ``values`` holds the same cells unformatted (money and percentages as numbers, counts as
    integers, flags as booleans) and ``kinds`` each column's kind, for outputs that keep
    numbers as numbers.
    """

    frame: pd.DataFrame
    caption: str
    numeric: tuple[str, ...] = ()
    empty_text: str = "Nothing to show."
    values: tuple[tuple[Any, ...], ...] = ()
    kinds: tuple[str, ...] = ()


#: Column kinds understood by :func:`board_table`.
KINDS = ("text", "money", "pct", "count", "flag")


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if kind == "money":
        return formats.money_cell(float(value))
    if kind == "pct":
        return formats.pct_cell(float(value))
    if kind == "count":
        return str(int(value))
    if kind == "flag":
        return "Yes" if bool(value) else "No"
    return str(value)


def _value(value: Any, kind: str) -> Any:
    """A cell as data: None for missing, else a float (4 decimals), int, bool or text."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if kind in ("money", "pct"):
        return round(float(value), 4) + 0.0  # no -0.0
    if kind == "count":
        return int(value)
    if kind == "flag":
        return bool(value)
    return str(value)


def board_table(
    frame: pd.DataFrame,
    columns: Mapping[str, tuple[str, str]],
    caption: str,
    empty_text: str = "Nothing to show.",
) -> Table:
    """Format ``frame``'s ``columns`` (``{column: (header, kind)}``) as board-paper text."""
    out = pd.DataFrame(index=range(len(frame)))
    for col, (header, kind) in columns.items():
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
        out[header] = [_cell(v, kind) for v in frame[col].tolist()]
    numeric = tuple(h for h, k in columns.values() if k != "text")
    kinds = tuple(k for _, k in columns.values())
    rows = zip(*(frame[col].tolist() for col in columns), strict=True) if len(frame) else []
    values = tuple(tuple(_value(v, k) for v, k in zip(row, kinds, strict=True)) for row in rows)
    return Table(out.astype(str), caption, numeric, empty_text, values, kinds)


def table_data(table: Table) -> dict[str, Any]:
    """The table as data: caption, column headers and kinds, rows of values (JSON-ready)."""
    return {
        "caption": table.caption,
        "columns": [
            {"header": str(h), "kind": k}
            for h, k in zip(table.frame.columns, table.kinds, strict=True)
        ],
        "rows": [list(row) for row in table.values],
        "empty_text": table.empty_text,
    }


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:40] + "-" + hashlib.sha1(text.encode()).hexdigest()[:6]


def table_bundle(table: Table) -> dict[str, Any]:
    """The display bundle of a table: deterministic text/plain, text/html and its data."""
    if table.frame.empty:
        empty = narrative.markdown_safe(table.empty_text)
        return {
            "text/plain": table.empty_text,
            "text/markdown": f"*{empty}*",
            TABLE_MIME: table_data(table),
        }
    frame = table.frame
    plain = f"{table.caption}\n{frame.to_string(index=False)}"
    return {"text/plain": plain, "text/html": table_html(table), TABLE_MIME: table_data(table)}


_NUM = ' class="num"'


def table_html(table: Table) -> str:
    """The table as accessible HTML: a caption, column headers with ``scope="col"``, the first
    text column as row headers (``scope="row"``), numbers right-aligned; its style is scoped
    to its own id, with white on NHS blue headers (6.4:1 contrast)."""
    e = html.escape
    ident = f"T_{_slug(table.caption)}"
    headers = [str(c) for c in table.frame.columns]
    numeric = [h in table.numeric for h in headers]
    row_header = bool(headers) and not numeric[0]
    head = "".join(
        '<td class="corner"></td>' if not h else f'<th scope="col"{_NUM * n}>{e(h)}</th>'
        for h, n in zip(headers, numeric, strict=True)
    )
    rows = []
    for values in table.frame.itertuples(index=False):
        cells = []
        for i, (value, n) in enumerate(zip(values, numeric, strict=True)):
            if i == 0 and row_header:
                cells.append(f'<th scope="row">{e(str(value))}</th>')
            else:
                cells.append(f"<td{_NUM * n}>{e(str(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    style = (
        f"#{ident} caption {{ text-align: left; font-weight: bold; }}\n"
        f"#{ident} th, #{ident} td {{ padding: 2px 8px; }}\n"
        f"#{ident} th, #{ident} td {{ text-align: left; }}\n"
        f"#{ident} thead th {{ background-color: #005EB8; color: #FFFFFF; }}\n"
        f"#{ident} .num {{ text-align: right; }}\n"
    )
    body = "\n".join(rows)
    return (
        f'<style type="text/css">\n{style}</style>\n'
        f'<table id="{ident}" class="nhs-kit-table">\n<caption>{e(table.caption)}</caption>\n'
        f"<thead>\n<tr>{head}</tr>\n</thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
    )


def show_table(table: Table) -> None:
    """Display a :class:`Table` (or its empty text when it has no rows)."""
    from IPython.display import display

    display(table_bundle(table), raw=True)  # type: ignore[no-untyped-call]


def label(code: object) -> str:
    """A category code as words: ``drugs_costs`` -> ``Drugs costs`` (missing -> ``—``)."""
    if code is None or code is pd.NA or (isinstance(code, float) and math.isnan(code)):
        return "—"
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]
