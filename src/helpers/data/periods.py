"""The Period type: NHS financial-year months (M01 = April) and quarters (Q1 = April-June).

>>> p = Period.parse("2011-12-Q1")
>>> str(p), p.month, p.end_month_label
('2011-12-Q1', 3, 'M03')
>>> Period.parse("2010-11-M10") < p
True
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import total_ordering

from helpers.errors import PeriodError
from helpers.messages import quoted

_PATTERN = re.compile(r"^(?P<y1>\d{4})-(?P<y2>\d{2})-(?P<kind>[MQ])(?P<n>\d{1,2})$")


@total_ordering
@dataclass(frozen=True)
class Period:
    """A reporting period: a month (``M01``-``M12``) or quarter (``Q1``-``Q4``) of a year."""

    start_year: int
    kind: str  # "M" or "Q"
    number: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2010-11-M10`` or ``2011-12-Q1``; raise PeriodError otherwise."""
        m = _PATTERN.match(str(text).strip())
        if not m:
            raise PeriodError(
                f"period {quoted(text)} is not of the form YYYY-YY-MNN or YYYY-YY-QN "
                "(e.g. 2011-12-Q1)"
            )
        y1, y2, kind, n = int(m["y1"]), int(m["y2"]), m["kind"], int(m["n"])
        if (y1 + 1) % 100 != y2:
            raise PeriodError(f"period {quoted(text)}: {y1}-{y2:02d} is not a financial year")
        if kind == "M" and not (1 <= n <= 12 and len(m["n"]) == 2):
            raise PeriodError(f"period {quoted(text)}: month must be M01 to M12")
        if kind == "Q" and not (1 <= n <= 4 and len(m["n"]) == 1):
            raise PeriodError(f"period {quoted(text)}: quarter must be Q1 to Q4")
        return cls(y1, kind, n)

    def __str__(self) -> str:
        code = f"M{self.number:02d}" if self.kind == "M" else f"Q{self.number}"
        return f"{self.financial_year}-{code}"

    @property
    def financial_year(self) -> str:
        """The financial year as written in board papers, e.g. ``2011-12``."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    @property
    def month(self) -> int:
        """Month of the financial year at the period's end (a quarter ends on its last month)."""
        return self.number if self.kind == "M" else self.number * 3

    @property
    def end_month_label(self) -> str:
        """The month label of the period's position, e.g. ``M03`` for Q1."""
        return f"M{self.month:02d}"

    @property
    def is_quarter(self) -> bool:
        """True for a quarter, False for a month."""
        return self.kind == "Q"

    def _key(self) -> tuple[int, int, int]:
        # Quarters sort just after the month they end on.
        return (self.start_year, self.month, 1 if self.kind == "Q" else 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self._key() < other._key()

    def months(self) -> list[str]:
        """Month labels from M01 up to the period's position (the year-to-date months)."""
        return [f"M{m:02d}" for m in range(1, self.month + 1)]

    def calendar_month(self, fy_month: int | None = None) -> tuple[int, int]:
        """(year, month) in the calendar of a financial-year month (default: the period end)."""
        m = self.month if fy_month is None else fy_month
        cal = (m + 2) % 12 + 1  # M01 -> April (4), M10 -> January (1)
        year = self.start_year if cal >= 4 else self.start_year + 1
        return year, cal

    @property
    def start_date(self) -> dt.date:
        """The first day of the period (first month of a quarter)."""
        first = self.month - 2 if self.kind == "Q" else self.month
        y, m = self.calendar_month(first)
        return dt.date(y, m, 1)

    @property
    def end_date(self) -> dt.date:
        """The last day of the period (its quarter end for a quarter)."""
        y, m = self.calendar_month()
        return dt.date(y, m, calendar.monthrange(y, m)[1])

    @property
    def year_start(self) -> dt.date:
        """1 April of the period's financial year."""
        return dt.date(self.start_year, 4, 1)

    def previous(self) -> Period:
        """The period before, of the same kind (M01 -> previous year's M12; Q1 -> Q4)."""
        last = 12 if self.kind == "M" else 4
        if self.number == 1:
            return Period(self.start_year - 1, self.kind, last)
        return Period(self.start_year, self.kind, self.number - 1)

    def next(self) -> Period:
        """The period after, of the same kind."""
        last = 12 if self.kind == "M" else 4
        if self.number == last:
            return Period(self.start_year + 1, self.kind, 1)
        return Period(self.start_year, self.kind, self.number + 1)

    @property
    def label(self) -> str:
        """A board-paper label, e.g. ``month 10 2010-11 (January 2011)``."""
        y, m = self.calendar_month()
        when = f"{calendar.month_name[m]} {y}"
        if self.kind == "Q":
            return f"quarter {self.number} {self.financial_year} (to {when})"
        return f"month {self.number} {self.financial_year} ({when})"


def month_number(label: str) -> int:
    """``"M07"`` -> 7, raising PeriodError for anything else."""
    if not re.fullmatch(r"M(0[1-9]|1[0-2])", str(label)):
        raise PeriodError(f"month {label!r} is not M01 to M12")
    return int(str(label)[1:])
