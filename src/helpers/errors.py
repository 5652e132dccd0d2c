"""The kit's one exception family: catch :class:`KitError` to catch them all.

Each error carries the exit code the command line ends with (:data:`EXIT_CODES` lists them
all, and the README copies that table): bad input is 2, a machine that cannot store the
outputs (a folder it may not write, a full disk) is 3.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpers.problems import Problem, as_problem, summary_lines

#: Exit codes of the ``nhs-kit`` command (``make`` itself exits 2 whenever a command fails).
EXIT_OK = 0
EXIT_REPORTS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STORAGE = 3
EXIT_INTERRUPTED = 130
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "every report is good (or the returns are valid)",
    EXIT_REPORTS_FAILED: (
        "some reports or a board output (the workbook, the board pack) failed; the rest of "
        "the period's outputs were written"
    ),
    EXIT_BAD_INPUT: "bad input (returns, reference data, params or options): nothing was run",
    EXIT_STORAGE: "the machine could not store the outputs (no permission, disk full)",
    EXIT_INTERRUPTED: "stopped by Ctrl-C or SIGTERM; no half-written output was left",
}


class KitError(Exception):
    """Raised for any problem the kit reports to its user (the base of every kit error)."""

    exit_code: int = EXIT_BAD_INPUT


class PeriodError(KitError, ValueError):
    """Raised when a period string is not ``YYYY-YY-MNN`` or ``YYYY-YY-QN``."""


class ReferenceDataError(KitError):
    """Raised when an organisation code is unknown or not valid in a period."""


class ValidationError(KitError):
    """Raised when returns or reference data break the data contract; carries every problem.

    Its message lists the first few problems of each file and column and counts the rest;
    ``listed_in`` is where the whole list was written (``outputs/<period>/validation.csv``).
    """

    def __init__(
        self, problems: Sequence[Problem | str], summary: str = "", period: str | None = None
    ) -> None:
        self.problems = [as_problem(p) for p in problems]
        self.summary = summary or f"{len(self.problems)} problem(s) in the returns"
        self.period = period
        self.listed_in: str | None = None  # as shown to the user
        super().__init__(self.summary)

    def lines(self) -> list[str]:
        """The message's problem lines: a few per file and column, then counts."""
        return summary_lines(self.problems)

    def __str__(self) -> str:
        listed = (
            f"\n  every problem is listed in {self.listed_in}" if self.listed_in is not None else ""
        )
        return self.summary + ":\n" + "\n".join(f"  - {line}" for line in self.lines()) + listed


class NoDataError(KitError):
    """Raised when a period has no returns, or a family has no data for the period."""


class ParameterError(KitError):
    """Raised when a report parameter or a params file is invalid."""


class FigureError(KitError):
    """Raised when a report records a figure its family's dictionary does not define."""


class SeriesError(KitError, ValueError):
    """Raised when a series cannot be charted (a value not finite, an unknown rebase point)."""


class LockError(KitError):
    """Raised when another run of the same period already holds the outputs lock."""


class StorageError(KitError):
    """Raised when the machine cannot store what a run writes (no permission, a full disk)."""

    exit_code = EXIT_STORAGE


class NotFiniteError(KitError, ValueError):
    """Raised by a parser when a number is too large to be finite (``1e309`` is infinity)."""


class ForkServerError(KitError):
    """Raised when the fork server cannot be started, reached, or will not fork a kernel."""


class ForkRefusedError(ForkServerError):
    """Raised when the fork server declines a kernel that must be started normally."""


class ClusterError(KitError):
    """Raised when a Dask cluster cannot run the kit's reports (missing, unreachable, unlike)."""


class GoldenError(KitError):
    """Raised when regenerating the golden files fails (a report failed, or the full run did)."""


class BoardOutputError(KitError):
    """Raised when a board output (the period's workbook or board pack) cannot be built from
    its reports."""

    exit_code = EXIT_REPORTS_FAILED


class PackError(BoardOutputError):
    """Raised when a period's board pack cannot be built from its reports (they stay good)."""
