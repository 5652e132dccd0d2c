"""Reading a period's raw returns, CSV files or one workbook, as frames of text.

>>> parse_money("(12.9)"), parse_money("£1,234.5"), parse_money(" -0.4 ")
(-12.9, 1234.5, -0.4)

Every cell comes out as stripped text (empty cells as ``""``) so that a CSV file and a
workbook with the same content give the same frame; types are converted and checked by
:mod:`helpers.data.validate`. A frame's index is the row number the user sees in the file or
sheet (the header is row 1). Problems with the files themselves (both CSV files and a
workbook, unknown files or sheets, merged cells, rows of the wrong length, a header below
title rows, a link to a file outside the project) are collected in
:attr:`RawReturns.problems` (:class:`helpers.problems.Problem`) rather than raised.
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

from helpers.data.schemas import SPECS, TABLES, date_columns
from helpers.errors import NoDataError, NotFiniteError
from helpers.messages import quoted
from helpers.problems import Problem

WORKBOOK = "returns.xlsx"
#: Significant digits of an Excel number (what Excel shows and computes with).
EXCEL_DIGITS = 15
#: Files with these endings are read as returns, so any other such file is a problem.
_DATA_SUFFIXES = (".csv", ".xlsx", ".xlsm", ".xls", ".ods")
#: How far down a sheet a header row below title rows is looked for.
_HEADER_SEARCH_ROWS = 10


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
        return _finite(float(value), value)
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
    amount = _finite(float(m["num"].replace(",", "")), value)
    return -amount if negative else amount


def _finite(amount: float, value: object) -> float:
    if not math.isfinite(amount):
        raise NotFiniteError(f"{value!r} is not a finite number")
    return amount


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) for UTF-8 with or without BOM, else cp1252; ValueError otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("the file is UTF-16; save it as CSV UTF-8 or Windows (cp1252) CSV")
    head = data[:400]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):  # text with a zero byte per letter
        raise ValueError(
            "the file is UTF-16 without a byte-order mark (a zero byte between the letters); "
            "save it as CSV UTF-8 or Windows (cp1252) CSV"
        )
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
    problems: list[Problem] = field(default_factory=list)
    present: set[str] = field(default_factory=set)  # tables whose file or sheet is there
    listed: bool = True  # False when the folder was refused before its tables were looked at


def period_files(folder: Path) -> list[Path]:
    """The folder's files the kit cares about (hidden files and Excel lock files left out)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))


def is_inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether ``path``, with every link followed, is inside one of ``roots`` (also followed)."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


def read_returns(folder: Path, roots: Sequence[Path] = ()) -> RawReturns:
    """Read a period folder's CSV files or its workbook; NoDataError if there is nothing.

    With ``roots`` (the project and the folder of period folders), a file that is a link to
    somewhere outside them is refused unread, so a return can never quote a system file.
    """
    if not folder.is_dir():
        raise NoDataError(f"no returns: the folder {folder} does not exist")
    files = [p for p in period_files(folder) if p.suffix.lower() in _DATA_SUFFIXES]
    if not files:
        raise NoDataError(f"no returns: {folder} holds no CSV files and no {WORKBOOK}")
    out = RawReturns(folder)
    outside = {p for p in files if roots and not is_inside(p, roots)}
    for p in sorted(outside):
        out.problems.append(
            Problem(
                p.name,
                "is a link to a file outside the project and its returns folder (expected the "
                "return itself: copy the file into the period folder instead of linking to it)",
            )
        )
    expected = {f"{name}.csv" for name in TABLES} | {WORKBOOK}
    csvs = [p for p in files if p.name in expected and p.suffix == ".csv"]
    book = folder / WORKBOOK
    for p in files:
        if p.name not in expected:
            out.problems.append(
                Problem(
                    p.name,
                    f"unexpected file (expected {', '.join(sorted(expected - {WORKBOOK}))} or "
                    f"one workbook {WORKBOOK})",
                )
            )
    if csvs and book.exists():
        out.problems.append(
            Problem(
                folder.name,
                f"holds both CSV files ({', '.join(p.name for p in csvs)}) and {WORKBOOK}; "
                "keep one or the other so that it is clear which to use",
            )
        )
        out.listed = False
        return out
    if book.exists():
        if book not in outside:
            _read_workbook(book, out)
    else:
        for p in csvs:
            out.present.add(p.stem)
            if p not in outside:
                _read_csv(p, out)
        for name, spec in TABLES.items():
            if spec.required and not (folder / f"{name}.csv").exists():
                out.problems.append(
                    Problem(f"{name}.csv", "missing (a required table of the returns)")
                )
    return out


def read_csv_table(
    path: Path, name: str, source: str | None = None
) -> tuple[RawTable, list[Problem]]:
    """One CSV file as a RawTable (every column text), with the problems met reading it."""
    out = RawReturns(path.parent)
    _read_csv(path, out, name, source)
    table = out.tables.get(name) or RawTable(name, source or path.name, (), pd.DataFrame())
    return table, out.problems


def _read_csv(
    path: Path, out: RawReturns, name: str | None = None, source: str | None = None
) -> None:
    name = name or path.stem
    shown_as = source or path.name
    try:
        text, _ = decode_text(path.read_bytes())
    except ValueError as exc:
        out.problems.append(Problem(shown_as, str(exc)))
        return
    first = text.split("\n", 1)[0]
    for sep, word in ((";", "semicolons"), ("\t", "tabs")):
        if sep in first and "," not in first:
            out.problems.append(
                Problem(
                    shown_as,
                    f"is separated by {word} (expected commas: save the file as CSV UTF-8 "
                    "(comma delimited))",
                    (1,),
                    value=first[:40] + ("..." if len(first) > 40 else ""),
                )
            )
            return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        grid = [(n, [c.strip() for c in row]) for n, row in enumerate(reader, start=1)]
    except csv.Error as exc:
        out.problems.append(Problem(shown_as, f"not readable as CSV ({exc})", (reader.line_num,)))
        return
    table = _from_grid(name, shown_as, grid, out.problems)
    if table is not None:
        out.tables[name] = table


def _header_below(name: str, rows: Sequence[tuple[int, list[str]]]) -> int | None:
    """The row number of a header row below title rows, if row 1 is not the header."""
    spec = SPECS.get(name)
    if spec is None:
        return None
    wanted = set(spec.columns)
    if wanted & set(rows[0][1]):
        return None
    for n, cells in rows[1:_HEADER_SEARCH_ROWS]:
        if len(wanted & set(cells)) >= min(3, len(wanted)):
            return n
    return None


def _from_grid(
    name: str, source: str, grid: Sequence[tuple[int, list[str]]], problems: list[Problem]
) -> RawTable | None:
    """Build a RawTable from (row number, cells) rows; fully empty rows are skipped.

    None (with the problem said) when the header is below title rows: nothing else in the
    table can be read until it is moved up.
    """
    rows = [(n, cells) for n, cells in grid if any(cells)]
    if not rows or rows[0][0] != 1:
        return RawTable(name, source, (), pd.DataFrame(), blank_header=bool(rows))
    below = _header_below(name, rows)
    if below is not None:
        above = below - 1
        problems.append(
            Problem(
                source,
                f"the header is on row {below}, not row 1 (expected the column names in row 1: "
                f"delete the {above} title row{'s' if above > 1 else ''} above it)",
                (below,),
            )
        )
        return None
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
                Problem(
                    source,
                    "no column name above values (expected a name from the data dictionary)",
                    (1,),
                    get_column_letter(i + 1),
                )
            )
    for n, cells in body:
        extra = [c for c in cells[width:] if c]
        if extra:
            problems.append(
                Problem(
                    source,
                    f"{len(cells)} values but the header has {width} columns (extra values "
                    f"{', '.join(quoted(c) for c in extra[:5])}; expected {width}: a value with "
                    'a comma must be in quotes, e.g. "£1,234.5")',
                    (n,),
                )
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
        table = _from_grid(ws.title, source, grid, out.problems)
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
                            col or get_column_letter(i + 1),
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
