"""One table against its schema: header, types, pandera checks and a unique key.

>>> checked = check_table(raw_table, problems)   # a CheckedTable, or None if rows are unusable

Used for the returns (:mod:`helpers.data.validate` adds the rules that need several tables) and
for the reference data (:mod:`helpers.data.organisations`), so a bad organisations.csv is refused
the same way as a bad return: every problem names the file (and sheet), the row as the user
sees it, the column, the value and what was expected (:class:`helpers.problems.Problem`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pandera.pandas as pa

from helpers.data.raw_tables import RawTable
from helpers.data.returns import parse_money
from helpers.data.schemas import SPECS, Kind, column_kinds, dtypes, expected
from helpers.errors import NotFiniteError
from helpers.problems import Problem, column_letter


@dataclass
class CheckedTable:
    """A table that passed its header checks: typed frame (index = file row) and bad cells."""

    raw: RawTable
    frame: pd.DataFrame
    bad: set[tuple[int, str]] = field(default_factory=set)
    _cells: dict[Hashable, dict[Hashable, Any]] = field(default_factory=dict)

    def typed(self, frame: pd.DataFrame) -> None:
        """Set the typed frame (and a fast cell lookup)."""
        self.frame = frame
        self._cells = frame.to_dict("index")

    def cell(self, row: int, col: str) -> Any:
        """A typed cell: text, float, Timestamp, int or a missing value."""
        return self._cells[row][col]

    def ok(self, *cols: str) -> pd.DataFrame:
        """Rows whose ``cols`` hold a value that has not already been reported."""
        frame = self.frame
        present = frame[list(cols)].notna().all(axis=1)
        bad_rows = {r for r, c in self.bad if c in cols}
        return frame.loc[present & ~frame.index.isin(sorted(bad_rows))]

    def rows(self, *cols: str) -> list[int]:
        """Row numbers of :meth:`ok`."""
        return [int(r) for r in self.ok(*cols).index]

    def text(self, row: int, col: str) -> str:
        """The cell as written in the file."""
        return str(self.raw.frame.at[row, col])

    def problem(self, row: int, col: str, message: str) -> Problem:
        """The cell's problem (its value as written, then ``message``); marks it reported."""
        self.bad.add((row, col))
        return Problem(self.raw.source, message, (row,), col, self.text(row, col))

    def missing(self, row: int, col: str, message: str) -> Problem:
        """An empty cell's problem (no value to quote); marks it reported."""
        self.bad.add((row, col))
        return Problem(self.raw.source, message, (row,), col)


# --- the header ---------------------------------------------------------------------------


def _letters(positions: Iterable[int]) -> str:
    return " and ".join(column_letter(i + 1) for i in positions)


def header_problems(table: RawTable) -> tuple[list[Problem], bool]:
    """Problems with the header row, and whether rows can still be checked."""
    columns = SPECS[table.name].columns
    out = []
    named = [h for h in table.header if h]
    for col in dict.fromkeys(named):
        at = [i for i, h in enumerate(table.header) if h == col]
        if len(at) > 1:
            out.append(
                Problem(
                    table.source,
                    f"column {col!r} appears {len(at)} times (columns {_letters(at)}) "
                    "(expected each column once)",
                    column=col,
                )
            )
    for col in dict.fromkeys(named):
        if col not in columns:
            close = difflib.get_close_matches(col, columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(
                Problem(
                    table.source,
                    f"unknown column {col!r} (expected only the columns "
                    f"{', '.join(columns)}{hint})",
                    column=col,
                )
            )
    missing = [c for c in columns if c not in named]
    if missing:
        out.append(
            Problem(
                table.source,
                f"missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(c) for c in missing)} (expected the columns "
                f"{', '.join(columns)}; their order does not matter)",
                column=missing[0],
            )
        )
    return out, not missing


# --- converting text to types -------------------------------------------------------------

#: The largest whole number a count or delay may hold (anything bigger is a typing error).
INT_LIMIT = 1_000_000


def _parse_text(text: str) -> object:
    return text or None


def _parse_date(text: str) -> object:
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return pd.Timestamp(text)  # ValueError for an impossible date such as 2011-02-30


def _parse_int(text: str) -> object:
    if not text:
        return None
    if not re.fullmatch(r"[-+]?\d+(\.0*)?", text):  # "2" or "2.0" (Excel's way), not "2.5"
        raise ValueError(text)
    number = int(text.split(".")[0])
    if abs(number) > INT_LIMIT:
        raise NotFiniteError(text)
    return number


_PARSERS: dict[Kind, tuple[Callable[[str], object], str]] = {
    "text": (_parse_text, ""),
    "money": (parse_money, "is not a number"),
    "date": (_parse_date, "is not a date"),
    "int": (_parse_int, "is not a whole number"),
}
_TOO_BIG = {
    "money": "is too large to be an amount (it reads as infinity)",
    "int": f"is too large (more than {INT_LIMIT:,})",
}


def convert(table: RawTable, problems: list[Problem]) -> CheckedTable:
    """Typed frame (index = file row), one problem per cell that cannot be converted."""
    checked = CheckedTable(table, pd.DataFrame(index=table.frame.index))
    columns = {}
    for col, kind in column_kinds(table.name).items():
        parse, complaint = _PARSERS[kind]
        values: list[object] = []
        for row, text in zip(table.frame.index.tolist(), table.frame[col].tolist(), strict=True):
            try:
                values.append(parse(str(text)))
            except ValueError as exc:
                values.append(None)
                said = _TOO_BIG[kind] if isinstance(exc, NotFiniteError) else complaint
                problems.append(
                    checked.problem(row, col, f"{said} (expected {expected(table.name, col)})")
                )
        columns[col] = values
    checked.typed(pd.DataFrame(columns, index=table.frame.index).astype(dtypes(table.name)))
    return checked


def schema_problems(checked: CheckedTable) -> list[Problem]:
    """Run the table's pandera schema lazily; one problem per failure case."""
    name = checked.raw.name
    try:
        SPECS[name].schema.validate(checked.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    out = []
    for case in cases.itertuples(index=False):
        col, check, row = str(case.column), str(case.check), case.index
        if row is None or pd.isna(row):
            out.append(Problem(checked.raw.source, f"{check} ({case.failure_case})", column=col))
            continue
        row = int(row)
        if (row, col) in checked.bad:
            continue
        if check == "not_nullable":
            out.append(checked.missing(row, col, f"value missing (expected {expected(name, col)})"))
        elif check.startswith("is "):
            out.append(checked.problem(row, col, check))
        else:
            out.append(checked.problem(row, col, f"fails the check {check}"))
    return out


# --- keys and the whole table -------------------------------------------------------------


def key_problems(checked: CheckedTable) -> list[Problem]:
    """One problem per key that appears on more than one row."""
    spec = SPECS[checked.raw.name]
    key = list(spec.key)
    out = []
    for _, group in checked.ok(*key).groupby(key, sort=True):
        if len(group) > 1:
            rows = tuple(sorted(int(r) for r in group.index))
            said = ", ".join(f"{c} {checked.text(rows[0], c)!r}" for c in key)
            out.append(
                Problem(
                    checked.raw.source,
                    f"the same key ({said}) appears {len(rows)} times (expected one row per "
                    f"{' and '.join(key)})",
                    rows,
                )
            )
    return out


def check_table(table: RawTable, problems: list[Problem]) -> CheckedTable | None:
    """Header, types, pandera schema and unique key of one table; None if rows are unusable."""
    spec = SPECS[table.name]
    if table.is_empty:
        what = (
            Problem(table.source, "the header row is empty but rows below hold values", (1,))
            if table.blank_header
            else Problem(table.source, f"the {table.kind} is empty")
        )
        problems.append(
            Problem(
                what.source,
                f"{what.message} (expected a header row with the columns "
                f"{', '.join(spec.columns)})",
                what.rows,
            )
        )
        return None
    header, usable = header_problems(table)
    problems.extend(header)
    if not usable:
        return None
    if table.frame.empty and spec.required:
        problems.append(
            Problem(
                table.source,
                f"no data rows, only the header (expected at least one row: {table.name} is a "
                "required table)",
            )
        )
        return None
    checked = convert(table, problems)
    problems.extend(schema_problems(checked))
    problems.extend(key_problems(checked))
    return checked
