"""What ``make validate`` does: validate each period, build its processed layer, list problems.

>>> [c.summary() for c in check_periods(["2011-12-Q1"])]
['2011-12-Q1: OK — 2,035 rows in 5 tables, 57 organisations']

A refused period's problems are written to ``outputs/<period>/validation.csv`` (every one,
for the organisations that sent the returns); a valid period's old list is removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.data.period_data import PeriodData
from helpers.data.periods import Period
from helpers.data.schemas import TABLES
from helpers.data.store import available_periods, load_period
from helpers.data.validate import clear_problems, problems_path, record_problems
from helpers.errors import KitError, NoDataError, ValidationError
from helpers.paths import DEFAULT, ProjectPaths


@dataclass(frozen=True)
class PeriodCheck:
    """One period's validation: its data if the returns are valid, else the error."""

    period: Period
    data: PeriodData | None = None
    error: KitError | None = None

    @property
    def ok(self) -> bool:
        """True when the period's returns are valid."""
        return self.error is None

    def summary(self) -> str:
        """``2011-12-Q1: OK — 2,035 rows in 5 tables, 57 organisations`` for a valid period."""
        if self.data is None:
            return f"{self.period}: {self.error}"
        counts = self.data.row_counts
        tables = sum(1 for name, n in counts.items() if n or TABLES[name].required)
        orgs = self.data.financial_position["org_code"].nunique()
        return (
            f"{self.period}: OK — {sum(counts.values()):,} rows in {tables} tables, "
            f"{orgs} organisations"
        )


def check_periods(periods: list[str] | None, dirs: ProjectPaths = DEFAULT) -> list[PeriodCheck]:
    """Validate (and build the processed layer of) each period, or of every period folder.

    A refused period's problems are written to ``outputs/<period>/validation.csv``; a valid
    period's old list is removed. NoDataError if there is no period folder at all.
    """
    chosen = [Period.parse(p) for p in periods] if periods else available_periods(dirs.raw)
    if not chosen:
        raise NoDataError(f"no period folders under {dirs.show(dirs.raw)}")
    checks = []
    for period in chosen:
        try:
            data = load_period(
                period,
                raw_dir=dirs.raw,
                processed_dir=dirs.processed,
                reference_dir=dirs.reference,
            )
        except ValidationError as exc:
            shown = dirs.show(problems_path(dirs.outputs, str(period)))
            record_problems(exc, dirs.outputs, shown)
            checks.append(PeriodCheck(period, error=exc))
            continue
        except NoDataError as exc:
            checks.append(PeriodCheck(period, error=exc))
            continue
        clear_problems(dirs.outputs, str(period))
        checks.append(PeriodCheck(period, data))
    return checks
