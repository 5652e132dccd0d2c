"""Completeness: nothing London's totals are computed from may be missing from a period.

>>> for rule in COMPLETENESS: rule(ctx)   # after helpers.data.rules.RULES

Every NHS trust, PCT and care trust has a row for every month it was open up to the period's
position; every SHA budget line every month; every trust and PCT its five savings categories;
every trust its five variance drivers; and a period has each table its financial year must
have (milestones from 2011-12). Each missing piece is named: file, organisation, month or
category. A table with a key cell already refused is checked once that cell is put right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from helpers.data.context import REPORTING_TYPES, Context
from helpers.data.contract import CheckedTable
from helpers.data.organisations import PROVIDER_TYPES
from helpers.data.returns import WORKBOOK
from helpers.data.schemas import BUDGET_LINES, CATEGORIES, DRIVERS, TABLES
from helpers.problems import Problem


def _month_words(months: Iterable[int]) -> str:
    """``M02``, ``M01 and M02``, ``M01, M02 and M03``."""
    labels = [f"M{m:02d}" for m in months]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _present(checked: CheckedTable, *cols: str) -> set[tuple[str, ...]] | None:
    """The values of the key ``cols`` on each row (as text), for completeness checks.

    None when a key cell was already refused: which organisation, month or category that row
    meant is unknown, so completeness is checked once the refused cells are put right.
    """
    if any(col in cols for _, col in checked.bad):
        return None
    frame = checked.ok(*cols)
    return set(frame[list(cols)].astype(str).itertuples(index=False, name=None))


def _keys(ctx: Context, name: str, *cols: str) -> tuple[CheckedTable, set[tuple[str, ...]]] | None:
    """The table and its rows' keys, or None when it is missing or has a refused key cell."""
    table = ctx.tables.get(name)
    if table is None:
        return None
    present = _present(table, *cols)
    return None if present is None else (table, present)


def _check_months_complete(ctx: Context) -> None:
    """Every trust, PCT and care trust has a row for every month it was open, to the position."""
    found = _keys(ctx, "financial_position", "org_code", "month")
    if found is None:
        return
    fp, present = found
    months = range(1, ctx.period.month + 1)
    due = {m: ctx.reporting_in_month(m) for m in months}
    span = f"M01 to {ctx.period.end_month_label}"
    whole = [
        m
        for m in months
        if len(due[m]) > 1 and all((o, f"M{m:02d}") not in present for o in due[m])
    ]
    if whole:
        ctx.problems.append(
            Problem(
                fp.raw.source,
                f"no rows at all for {_month_words(whole)} (expected a row for every NHS trust, "
                f"PCT and care trust for each month {span} of {ctx.period})",
                column="month",
            )
        )
    missing: dict[str, list[int]] = {}
    for m in months:
        if m in whole:
            continue
        for org in due[m]:
            if (org, f"M{m:02d}") not in present:
                missing.setdefault(org, []).append(m)
    for org, gaps in sorted(missing.items()):
        ctx.problems.append(
            Problem(
                fp.raw.source,
                f"no row for {ctx.describe(org)} at {_month_words(gaps)} (expected a row for "
                f"every month it was open, {span}: the year-to-date and movement figures need "
                "every month)",
                column="month",
            )
        )


def _check_sha_complete(ctx: Context) -> None:
    """Every SHA budget line has a row for every month to the position."""
    found = _keys(ctx, "sha_budgets", "month", "budget_line")
    if found is None:
        return
    sha, present = found
    lines = ", ".join(BUDGET_LINES[:-1]) + " and " + BUDGET_LINES[-1]
    expected = (
        f"expected {lines} for every month M01 to {ctx.period.end_month_label}: London's "
        "total includes the SHA's own budgets"
    )
    months = range(1, ctx.period.month + 1)
    whole = [m for m in months if all((f"M{m:02d}", b) not in present for b in BUDGET_LINES)]
    if whole:
        ctx.problems.append(
            Problem(
                sha.raw.source,
                f"no rows at all for {_month_words(whole)} ({expected})",
                column="month",
            )
        )
    for line in BUDGET_LINES:
        gaps = [m for m in months if m not in whole and (f"M{m:02d}", line) not in present]
        if gaps:
            ctx.problems.append(
                Problem(
                    sha.raw.source,
                    f"no row for budget_line {line!r} at {_month_words(gaps)} ({expected})",
                    column="budget_line",
                )
            )


def _check_all_parts(
    ctx: Context, name: str, column: str, parts: Sequence[str], types: Sequence[str], what: str
) -> None:
    """Every organisation of ``types`` valid at the period end has a row for each of ``parts``."""
    found = _keys(ctx, name, "org_code", column)
    if found is None:
        return
    table, present = found
    listed = ", ".join(parts[:-1]) + " and " + parts[-1]
    for org in ctx.reporting_orgs(types):
        gaps = [p for p in parts if (org, p) not in present]
        if len(gaps) == len(parts):
            message = f"no rows for {ctx.describe(org)}"
        elif gaps:
            message = f"no row for {ctx.describe(org)} with {column} " + ", ".join(
                repr(g) for g in gaps
            )
        else:
            continue
        ctx.problems.append(
            Problem(
                table.raw.source,
                f"{message} (expected {what}: a row for each {column} {listed}, 0 where "
                "there is none)",
                column=column,
            )
        )


def _check_savings_complete(ctx: Context) -> None:
    _check_all_parts(
        ctx, "savings", "category", CATEGORIES, REPORTING_TYPES, "its savings programme"
    )


def _check_drivers_complete(ctx: Context) -> None:
    _check_all_parts(
        ctx,
        "variance_drivers",
        "driver",
        DRIVERS,
        PROVIDER_TYPES,
        "every NHS trust's explanation of its variance to plan",
    )


def table_problems(ctx: Context, present: set[str], workbook: bool) -> None:
    """Tables the period's financial year must have (milestones from 2011-12)."""
    for name, spec in TABLES.items():
        if spec.required or not spec.required_in(ctx.period.start_year) or name in present:
            continue
        source, what = (
            (WORKBOOK, f"sheet {name!r} is missing")
            if workbook
            else (
                f"{name}.csv",
                "missing",
            )
        )
        ctx.problems.append(
            Problem(
                source,
                f"{what} (expected in every period from {spec.required_from} on: "
                f"{ctx.period} is in {ctx.period.financial_year})",
            )
        )


#: The completeness rules, in the order their problems are listed.
COMPLETENESS = (
    _check_months_complete,
    _check_sha_complete,
    _check_savings_complete,
    _check_drivers_complete,
)
