"""Reading a period's raw returns, CSV files or one workbook, as frames of text.

>>> parse_money("(12.9)"), parse_money("£1,234.5"), parse_money(" -0.4 ")
(-12.9, 1234.5, -0.4)

Every cell comes out as stripped text (empty cells as ``""``) so that a CSV file and a
workbook with the same content give the same frame; types are converted and checked by
:mod:`helpers.validate`. A frame's index is the row number the user sees in the file or
sheet (the header is row 1). Problems with the files themselves (both CSV files and a
workbook, unknown files or sheets, merged cells, rows of the wrong length) are collected in
:attr:`RawReturns.problems` rather than raised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from helpers.errors import NoDataError
from helpers.schemas import TABLES, date_columns

WORKBOOK = "returns.xlsx"
#: Significant digits of an Excel number (what Excel shows and computes with).
EXCEL_DIGITS = 15
#: Files with these endings are read as returns, so any other such file is a problem.
_DATA_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")

_MONEY = re.compile(
    r"""^(?P<open>\()?\s*
        (?P<sign>[-−–+])?\s*
        (?:£|Â£)?\s*
        (?P<sign2>[-−–])?\s*
        (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)\s*
        (?P<close>\))?$""",
    re.VERBOSE,
)


def parse_money(value: object) -> float:
    """A £m amount as written in board papers -> float; empty -> NaN; else ValueError."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).replace("\u00a0", " ").strip()
    if not text:
        return math.nan
    m = _MONEY.match(text)
    sign = (m["sign"] or m["sign2"]) if m else None
    if not m or bool(m["open"]) != bool(m["close"]) or (m["sign"] and m["sign2"]):
        raise ValueError(f"{value!r} is not a number")
    if m["open"] and sign:
        raise ValueError(f"{value!r} is not a number (a sign inside brackets)")
    negative = bool(m["open"]) or sign in ("-", "−", "–")
    amount = float(m["num"].replace(",", ""))
    return -amount if negative else amount


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) for UTF-8 with or without BOM, else cp1252; ValueError otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("the file is UTF-16; save it as CSV UTF-8 or Windows (cp1252) CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"byte 0x{data[exc.start]:02X} at position {exc.start} is neither UTF-8 "
            "nor Windows cp1252 text"
        ) from None


@dataclass(frozen=True)
class RawTable:
    """One table as text: ``frame`` is indexed by the row number the user sees."""

    name: str
    source: str  # "savings.csv" or "returns.xlsx [savings]"
    header: tuple[str, ...]  # the header row as written (may repeat or miss names)
    frame: pd.DataFrame  # one str column per distinct header name, index = file row
    blank_header: bool = False  # row 1 is empty but rows below hold values

    @property
    def kind(self) -> str:
        """``file`` for a CSV file, ``sheet`` for a workbook's sheet (for messages)."""
        return "sheet" if self.source.endswith("]") else "file"

    @property
    def is_empty(self) -> bool:
        """True when there is not even a header row."""
        return not self.header

    def where(self, row: int, column: str | None = None) -> str:
        """``savings.csv, row 4, column category`` for messages."""
        return f"{self.source}, row {row}" + (f", column {column}" if column else "")


@dataclass
class RawReturns:
    """Everything read from a period folder, and the problems met on the way."""

    folder: Path
    tables: dict[str, RawTable] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def period_files(folder: Path) -> list[Path]:
    """The folder's files the kit cares about (hidden files and Excel lock files left out)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def read_returns(folder: Path) -> RawReturns:
    """Read a period folder's CSV files or its workbook; NoDataError if there is nothing."""
    if not folder.is_dir():
        raise NoDataError(f"no returns: the folder {folder} does not exist")
    files = [p for p in period_files(folder) if p.suffix.lower() in _DATA_SUFFIXES]
    if not files:
        raise NoDataError(f"no returns: {folder} holds no CSV files and no {WORKBOOK}")
    out = RawReturns(folder)
    expected = {f"{name}.csv" for name in TABLES} | {WORKBOOK}
    csvs = [p for p in files if p.name in expected and p.suffix == ".csv"]
    book = folder / WORKBOOK
    for p in files:
        if p.name not in expected:
            out.problems.append(
                f"{p.name}: unexpected file (expected {', '.join(sorted(expected - {WORKBOOK}))}"
                f" or one workbook {WORKBOOK})"
            )
    if csvs and book.exists():
        out.problems.append(
            f"{folder.name}: holds both CSV files ({', '.join(p.name for p in csvs)}) and "
            f"{WORKBOOK}; keep one or the other so that it is clear which to use"
        )
        return out
    if book.exists():
        _read_workbook(book, out)
    else:
        for p in csvs:
            _read_csv(p, out)
        for name, spec in TABLES.items():
            if spec.required and not (folder / f"{name}.csv").exists():
                out.problems.append(f"{name}.csv: missing (a required table of the returns)")
    return out


def read_csv_table(path: Path, name: str) -> tuple[RawTable, list[str]]:
    """One CSV file as a RawTable (every column text), with the problems met reading it."""
    out = RawReturns(path.parent)
    _read_csv(path, out, name)
    table = out.tables.get(name) or _from_grid(name, path.name, [], out.problems)
    return table, out.problems


def _read_csv(path: Path, out: RawReturns, name: str | None = None) -> None:
    name = name or path.stem
    try:
        text, _ = decode_text(path.read_bytes())
    except ValueError as exc:
        out.problems.append(f"{path.name}: {exc}")
        return
    first = text.split("\n", 1)[0]
    for sep, word in ((";", "semicolons"), ("\t", "tabs")):
        if sep in first and "," not in first:
            shown = repr(first[:40]) + ("..." if len(first) > 40 else "")
            out.problems.append(
                f"{path.name}, row 1: {shown} is separated by {word} (expected commas: save "
                "the file as CSV UTF-8 (comma delimited))"
            )
            return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        grid = [(n, [c.strip() for c in row]) for n, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        out.problems.append(f"{path.name}, row {reader.line_num}: not readable as CSV ({exc})")
        return
    out.tables[name] = _from_grid(name, path.name, grid, out.problems)


def _from_grid(
    name: str, source: str, grid: Sequence[tuple[int, list[str]]], problems: list[str]
) -> RawTable:
    """Build a RawTable from (row number, cells) rows; fully empty rows are skipped."""
    rows = [(n, cells) for n, cells in grid if any(cells)]
    if not rows or rows[0][0] != 1:
        return RawTable(name, source, (), pd.DataFrame(), blank_header=bool(rows))
    header = list(rows[0][1])
    body = rows[1:]
    width = len(header)
    used = [any(cells[i] for _, cells in body if i < len(cells)) for i in range(width)]
    while header and not header[-1] and not used[len(header) - 1]:
        header.pop()  # trailing empty columns
    width = len(header)
    for i, col in enumerate(header):
        if not col and used[i]:
            problems.append(
                f"{source}, row 1, column {get_column_letter(i + 1)}: no column name above "
                "values (expected a name from the data dictionary)"
            )
    for n, cells in body:
        extra = [c for c in cells[width:] if c]
        if extra:
            problems.append(
                f"{source}, row {n}: {len(cells)} values but the header has {width} columns "
                f"(extra values {', '.join(repr(c) for c in extra)}; expected {width}: a value "
                'with a comma must be in quotes, e.g. "£1,234.5")'
            )
    first: dict[str, int] = {}
    for i, col in enumerate(header):
        if col and col not in first:
            first[col] = i
    data = {
        col: [cells[i] if i < len(cells) else "" for _, cells in body] for col, i in first.items()
    }
    index = pd.Index([n for n, _ in body], dtype="int64", name="row")
    frame = pd.DataFrame(data, index=index, dtype="str", columns=list(first))
    return RawTable(name, source, tuple(header), frame)


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


def _read_workbook(path: Path, out: RawReturns) -> None:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, conditional
            # formats); they do not affect cell values.
            warnings.simplefilter("ignore", UserWarning)
            values = openpyxl.load_workbook(path, data_only=True)
            formulas = openpyxl.load_workbook(path, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        out.problems.append(f"{path.name}: cannot be opened as an Excel workbook ({exc})")
        return
    for ws in values.worksheets:
        if ws.title not in TABLES:
            out.problems.append(
                f"{path.name}: sheet {ws.title!r} is not a table of the returns "
                f"(expected only sheets {', '.join(TABLES)})"
            )
            continue
        source = f"{path.name} [{ws.title}]"
        _merged_problems(ws, source, out.problems)
        grid = list(_sheet_grid(ws, formulas[ws.title], source, out.problems))
        out.tables[ws.title] = _from_grid(ws.title, source, grid, out.problems)
    for name, spec in TABLES.items():
        if spec.required and name not in values.sheetnames:
            out.problems.append(f"{path.name}: sheet {name!r} is missing (a required table)")


def _sheet_grid(
    ws: Any, fws: Any, source: str, problems: list[str]
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
                        f"{source}, row {n}, column {col or get_column_letter(i + 1)}: "
                        f"formula {formula!r} has no saved value (expected a value: open "
                        "the workbook in Excel and save it, or type the value)"
                    )
            cells.append(_cell_text(value, col in dates))
        yield n, cells


def _merged_problems(ws: Any, source: str, problems: list[str]) -> None:
    """One problem per merged range: a merged header hides a column name."""
    for rng in sorted(ws.merged_cells.ranges, key=str):
        what = "header cells" if rng.min_row == 1 else "cells"
        rows = (
            f"row {rng.min_row}"
            if rng.min_row == rng.max_row
            else f"rows {rng.min_row}-{rng.max_row}"
        )
        text = _cell_text(ws.cell(row=rng.min_row, column=rng.min_col).value, False)
        holding = f" holding {text!r}" if text else ""
        problems.append(
            f"{source}, {rows}: merged {what} {rng.coord}{holding} (expected one "
            f"{'column name' if rng.min_row == 1 else 'value'} per cell: unmerge them)"
        )
