"""The kit's one exception family: catch :class:`KitError` to catch them all."""

from __future__ import annotations


class KitError(Exception):
    """Raised for any problem the kit reports to its user (the base of every kit error)."""


class PeriodError(KitError, ValueError):
    """Raised when a period string is not ``YYYY-YY-MNN`` or ``YYYY-YY-QN``."""


class ReferenceDataError(KitError):
    """Raised when an organisation code is unknown or not valid in a period."""


class ValidationError(KitError):
    """Raised when a period's returns break the data contract; carries every problem found."""

    def __init__(self, problems: list[str], summary: str = "") -> None:
        self.problems = list(problems)
        head = summary or f"{len(self.problems)} problem(s) in the returns"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class NoDataError(KitError):
    """Raised when a period has no returns, or a family has no data for the period."""


class ParameterError(KitError):
    """Raised when a report parameter or a params file is invalid."""


class ReportError(KitError):
    """Raised when one or more reports fail to execute."""


class LockError(KitError):
    """Raised when another run of the same period already holds the outputs lock."""
