"""Reading the returns workbook (``returns.xlsx``): a sheet per table, cells as a CSV holds them.

>>> read_workbook(folder / "returns.xlsx", raw)    # fills raw.tables and raw.problems

A cell may hold a number, a date (a real date, ISO text or an Excel serial number in a date
column) or text; a formula's saved value is read, to Excel's 15 significant digits, and a
formula Excel never saved is refused. Merged cells and sheets that are not tables are
problems, each naming the sheet and the cells.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np

from helpers.data.raw_tables import RawReturns, table_from_grid
from helpers.data.schemas import TABLES, date_columns
from helpers.messages import quoted
from helpers.problems import Problem, column_letter

#: Significant digits of an Excel number (what Excel shows and computes with).
EXCEL_DIGITS = 15


def _cell_text(value: object, is_date: bool) -> str:
    """An Excel cell's value as the text a CSV file would hold."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)) and is_date:
        try:  # a date typed as a serial number
            from openpyxl.utils.datetime import from_excel  # loaded with a workbook

            return str(from_excel(value).date().isoformat())
        except (ValueError, OverflowError):
            pass
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Excel keeps 15 significant digits: a formula's 0.7+0.2 is saved as
        # 0.8999999999999999 but is 0.9 to its user. Then the shortest text that parses back
        # to that float, never in e-notation.
        value = float(f"{value:.{EXCEL_DIGITS}g}")
        return str(np.format_float_positional(value, unique=True, trim="-"))
    return str(value).strip()


def read_workbook(path: Path, out: RawReturns) -> None:
    import openpyxl  # only for a workbook of returns: a run of CSV returns never loads it

    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, conditional
            # formats); they do not affect cell values.
            warnings.simplefilter("ignore", UserWarning)
            values = openpyxl.load_workbook(path, data_only=True)
            formulas = openpyxl.load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        out.problems.append(Problem(path.name, f"cannot be opened as an Excel workbook ({exc})"))
        return
    for ws in values.worksheets:
        if ws.title not in TABLES:
            out.problems.append(
                Problem(
                    path.name,
                    f"sheet {ws.title!r} is not a table of the returns (expected only sheets "
                    f"{', '.join(TABLES)})",
                )
            )
            continue
        out.present.add(ws.title)
        source = f"{path.name} [{ws.title}]"
        _merged_problems(ws, source, out.problems)
        grid = list(_sheet_grid(ws, formulas[ws.title], source, out.problems))
        table = table_from_grid(ws.title, source, grid, out.problems)
        if table is not None:
            out.tables[ws.title] = table
    for name, spec in TABLES.items():
        if spec.required and name not in values.sheetnames:
            out.problems.append(Problem(path.name, f"sheet {name!r} is missing (a required table)"))


def _sheet_grid(
    ws: Any, fws: Any, source: str, problems: list[Problem]
) -> Iterable[tuple[int, list[str]]]:
    """(row number, texts) of a worksheet, flagging formulas that have no saved value."""
    dates = date_columns()
    header: list[str] = []
    for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
        if n == 1:
            header = [_cell_text(v, False) for v in row]
            yield n, header
            continue
        cells = []
        for i, value in enumerate(row):
            col = header[i] if i < len(header) else ""
            if value is None:
                formula = fws.cell(row=n, column=i + 1).value
                if isinstance(formula, str) and formula.startswith("="):
                    problems.append(
                        Problem(
                            source,
                            f"formula {quoted(formula)} has no saved value (expected a value: "
                            "open the workbook in Excel and save it, or type the value)",
                            (n,),
                            col or column_letter(i + 1),
                        )
                    )
            cells.append(_cell_text(value, col in dates))
        yield n, cells


def _merged_problems(ws: Any, source: str, problems: list[Problem]) -> None:
    """One problem per merged range: a merged header hides a column name."""
    for rng in sorted(ws.merged_cells.ranges, key=str):
        what = "header cells" if rng.min_row == 1 else "cells"
        text = _cell_text(ws.cell(row=rng.min_row, column=rng.min_col).value, False)
        holding = f" holding {quoted(text)}" if text else ""
        problems.append(
            Problem(
                source,
                f"merged {what} {rng.coord}{holding} (expected one "
                f"{'column name' if rng.min_row == 1 else 'value'} per cell: unmerge them)",
                tuple(range(rng.min_row, rng.max_row + 1)),
            )
        )


def sheet_hashes(path: Path) -> dict[str, str]:
    """sha256 of each sheet's part of a workbook, by ``returns.xlsx [sheet]`` (for "what changed").

    The parts are hashed as stored (no cell is read), so a workbook re-saved with one sheet
    edited changes that sheet's hash only; an unreadable workbook gives no hashes.
    """
    try:
        with zipfile.ZipFile(path) as book:
            names = _sheet_parts(book)
            return {
                f"{path.name} [{sheet}]": hashlib.sha256(book.read(part)).hexdigest()
                for sheet, part in sorted(names.items())
            }
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return {}


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the zip, from xl/workbook.xml and its relationships."""
    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    }
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("p:Relationship", ns)}
    sheets = ElementTree.fromstring(book.read("xl/workbook.xml")).findall("m:sheets/m:sheet", ns)
    parts = {}
    for sheet in sheets:
        target = targets.get(sheet.get(f"{{{ns['r']}}}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        parts[str(sheet.get("name"))] = part
    return parts
