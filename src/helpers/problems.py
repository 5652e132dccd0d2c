"""One problem with the input: where it is (file, rows, column), the value and what was expected.

>>> p = Problem("savings.csv", "is not a number (expected £m)", rows=(4,), column="forecast_gbp_m",
...             value="tbc")
>>> str(p)
"savings.csv, row 4, column forecast_gbp_m: 'tbc' is not a number (expected £m)"

A problem found in a row names the row, the column and the value it refuses; a problem with a
whole file (a missing column, a missing organisation) names the file and says the rest in
words. :func:`summary_lines` keeps a long list readable (the first few per file and column,
then how many more), and :func:`problems_csv` is the whole list as a table an analyst can
send back to the organisations that made the returns.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from helpers.messages import quoted

#: How many problems of one file and column a message lists before it counts the rest.
SHOWN_PER_GROUP = 5
CSV_COLUMNS = ("file", "row", "column", "value", "problem")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d*)?")


@dataclass(frozen=True)
class Problem:
    """One way the input breaks the data contract."""

    source: str  # "savings.csv", "returns.xlsx [savings]" or "data/reference/organisations.csv"
    message: str  # what is wrong, then "(expected ...)"
    rows: tuple[int, ...] = ()  # the rows as the user sees them (the header is row 1)
    column: str | None = None
    value: str | None = None  # the value as written, when the problem is about one cell

    @property
    def where(self) -> str:
        """``savings.csv, row 4, column category`` (a file-level problem: just the file)."""
        if not self.rows:
            return self.source
        return f"{self.source}, {rows_text(self.rows)}" + (
            f", column {self.column}" if self.column else ""
        )

    def __str__(self) -> str:
        shown = f"{quoted(self.value)} " if self.value is not None else ""
        return f"{self.where}: {shown}{self.message}"


def rows_text(rows: Sequence[int]) -> str:
    """``row 4``, ``rows 3 and 9``, ``rows 2, 3 and 4``."""
    words = [str(r) for r in rows]
    if len(words) == 1:
        return f"row {words[0]}"
    return "rows " + ", ".join(words[:-1]) + " and " + words[-1]


def as_problem(item: Problem | str) -> Problem:
    """A Problem from a Problem or a whole-message string (its source is the text before ':')."""
    if isinstance(item, Problem):
        return item
    source, _, rest = item.partition(": ")
    return Problem(source, rest) if rest else Problem("", item)


def summary_lines(problems: Iterable[Problem], per_group: int = SHOWN_PER_GROUP) -> list[str]:
    """Each problem as a line, at most ``per_group`` per file and column, then a count line."""
    shown: dict[tuple[str, str | None], int] = {}
    hidden: dict[tuple[str, str | None], int] = {}
    lines: list[str] = []
    for problem in problems:
        group = (problem.source, problem.column)
        if shown.get(group, 0) < per_group:
            shown[group] = shown.get(group, 0) + 1
            lines.append(str(problem))
        else:
            hidden[group] = hidden.get(group, 0) + 1
    for (source, column), n in hidden.items():
        where = f"{source}, column {column}" if column else source
        lines.append(f"{where}: {n:,} more problem{'s' if n != 1 else ''} like those above")
    return lines


def problems_csv(problems: Iterable[Problem]) -> str:
    """Every problem as CSV text (file, row, column, value, problem), in the order found."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in problems:
        cells = [p.source, " ".join(map(str, p.rows)), p.column or "", p.value or "", p.message]
        writer.writerow([_as_text(c) for c in cells])
    return out.getvalue()


def _as_text(cell: str) -> str:
    """A cell Excel will show as text: a value from a return that starts like a formula
    (``=HYPERLINK(...)``, ``@SUM``) gets a leading apostrophe; plain numbers stay as they are."""
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def column_letter(number: int) -> str:
    """A spreadsheet column's letters from its 1-based number: 1 is ``A``, 28 is ``AB``
    (openpyxl's ``get_column_letter``, without importing openpyxl on every run)."""
    if number < 1:
        raise ValueError(f"a column number starts at 1, not {number}")
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters
