"""Checking a period's returns against the data contract, collecting every problem first.

>>> data = validate_period(Period.parse("2011-12-Q1"))  # PeriodData, or ValidationError

The returns are read as text (:mod:`helpers.data.returns`); each table is checked on its own
(:mod:`helpers.data.contract`: header, types, the pandera schema, a unique key) and against
the folder's period; then come the rules that need the reference data or several tables
(:mod:`helpers.data.rules`) and completeness (:mod:`helpers.data.completeness`). Every problem
names the file (and sheet), the row as the user sees it, the column, the value and what was
expected; a refused period's whole list goes to ``outputs/<period>/validation.csv``.
"""

from __future__ import annotations

from pathlib import Path

from helpers.data.completeness import COMPLETENESS, table_problems
from helpers.data.context import Context
from helpers.data.contract import CheckedTable, check_table
from helpers.data.organisations import Reference, load_reference
from helpers.data.period_data import PeriodData, empty_frame, tidy_frame
from helpers.data.periods import Period
from helpers.data.returns import WORKBOOK, read_returns
from helpers.data.rules import RULES
from helpers.data.schemas import TABLES
from helpers.errors import StorageError, ValidationError
from helpers.files import storage_faults, write_atomic
from helpers.paths import PROJ_ROOT, RAW_DIR
from helpers.problems import Problem, problems_csv

PROBLEMS_FILE = "validation.csv"


# --- rules within one table that need the period --------------------------------------------


def _row_problems(checked: CheckedTable, period: Period) -> list[Problem]:
    """The folder's period, and month labels up to the period's month."""
    out = []
    for row in checked.rows("period"):
        if checked.cell(row, "period") != str(period):
            out.append(
                checked.problem(
                    row, "period", f"differs from the folder's period (expected '{period}')"
                )
            )
    if "month" in checked.frame:
        for row in checked.rows("month"):
            if int(str(checked.cell(row, "month"))[1:]) > period.month:
                out.append(
                    checked.problem(
                        row,
                        "month",
                        f"is after the period's position (expected M01 to "
                        f"{period.end_month_label} for {period})",
                    )
                )
    return out


# --- entry points -----------------------------------------------------------------------


def validate_period(
    period: Period, raw_dir: Path = RAW_DIR, reference: Reference | None = None
) -> PeriodData:
    """Read and check a period's returns; ValidationError lists every problem found."""
    ref = reference if reference is not None else load_reference()
    folder = raw_dir / str(period)
    raw = read_returns(folder, roots=(PROJ_ROOT, raw_dir))
    problems = list(raw.problems)
    tables: dict[str, CheckedTable] = {}
    for name in TABLES:
        table = raw.tables.get(name)
        checked = None if table is None else check_table(table, problems)
        if checked is not None:
            problems.extend(_row_problems(checked, period))
            tables[name] = checked
    ctx = Context(period, ref, tables, problems)
    if raw.listed:
        table_problems(ctx, raw.present, (folder / WORKBOOK).exists())
    for rule in (*RULES, *COMPLETENESS):
        rule(ctx)
    if problems:
        raise ValidationError(
            problems,
            summary=f"{period}: {len(problems):,} problem(s) in {folder}",
            period=str(period),
        )
    frames = {
        name: tidy_frame(name, tables[name].frame) if name in tables else empty_frame(name)
        for name in TABLES
    }
    return PeriodData.from_tables(period, frames, ref)


def problems_path(outputs_dir: Path, period: str) -> Path:
    """Where a refused period's full list of problems is written."""
    return outputs_dir / period / PROBLEMS_FILE


def record_problems(exc: ValidationError, outputs_dir: Path, shown: str) -> None:
    """Write every problem of ``exc`` to ``outputs/<period>/validation.csv`` (atomically).

    ``shown`` is how messages name that file. The reports of the period are not touched; if
    the file cannot be written the message simply does not point at it.
    """
    if exc.period is None:
        return
    try:
        write_atomic(problems_path(outputs_dir, exc.period), problems_csv(exc.problems))
    except StorageError:
        return  # the problems are still printed; only the pointer to the file is left out
    exc.listed_in = shown


def clear_problems(outputs_dir: Path, period: str) -> None:
    """Remove a refused run's list of problems once the period's returns are valid."""
    path = problems_path(outputs_dir, period)
    if path.is_file():
        with storage_faults(path):
            path.unlink(missing_ok=True)
