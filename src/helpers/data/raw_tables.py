"""A table of the returns as text, as the user sees it: the rows numbered as in the file.

>>> table = table_from_grid("savings", "savings.csv", [(1, header), (2, cells)], problems)
>>> table.frame.index.tolist()     # the rows as the user sees them (the header is row 1)
[2]

CSV files and workbook sheets both become a :class:`RawTable` of text, so a CSV file and a
workbook with the same content give the same frame; fully empty rows are skipped, trailing
empty columns dropped, and a header below title rows is recognised and said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.data.schemas import SPECS
from helpers.messages import quoted
from helpers.problems import Problem, column_letter

#: How far down a sheet a header row below title rows is looked for.
_HEADER_SEARCH_ROWS = 10


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


def table_from_grid(
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
                    column_letter(i + 1),
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
