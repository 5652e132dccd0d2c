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
import io
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.raw_tables import RawReturns, RawTable, table_from_grid
from helpers.data.schemas import TABLES
from helpers.data.workbook import read_workbook
from helpers.errors import NoDataError, NotFiniteError
from helpers.problems import Problem

WORKBOOK = "returns.xlsx"
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
            read_workbook(book, out)
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
    table = table_from_grid(name, shown_as, grid, out.problems)
    if table is not None:
        out.tables[name] = table
