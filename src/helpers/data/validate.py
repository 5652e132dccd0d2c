"""Checking a period's returns against the data contract, collecting every problem first.

>>> data = validate_period(Period.parse("2011-12-Q1"))  # PeriodData, or ValidationError

The returns are read as text (:mod:`helpers.data.returns`), and each table is checked on its own
(:mod:`helpers.data.contract`: header, types, the pandera schema, a unique key). Then come the rules
that need the period, the reference data or several tables, including **completeness**: every
organisation's row for every month it was open up to the period's position, every SHA budget
line every month, every trust's and PCT's five savings categories, every trust's five variance
drivers, and each table the period's financial year must have. Every problem names the file
(and sheet), the row as the user sees it, the column, the value and what was expected.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.data.contract import CheckedTable, check_table
from helpers.data.organisations import COMMISSIONER_TYPES, PROVIDER_TYPES, Reference, load_reference
from helpers.data.periods import Period
from helpers.data.returns import WORKBOOK, read_returns
from helpers.data.schemas import (
    BUDGET_LINES,
    CATEGORIES,
    DRIVERS,
    PARTS_TOLERANCE_GBP_M,
    TABLES,
)
from helpers.data.store import PeriodData, available_periods, empty_frame, load_period, tidy_frame
from helpers.errors import NoDataError, StorageError, ValidationError
from helpers.files import storage_faults, write_atomic
from helpers.paths import OUTPUTS_DIR, PROJ_ROOT, RAW_DIR
from helpers.problems import Problem, problems_csv

_TYPE_WORDS = {
    "nhs_trust": "an NHS trust",
    "pct": "a PCT",
    "care_trust": "a care trust",
    "cluster": "a cluster",
    "sha": "the SHA",
}
_REPORTING_TYPES = (*PROVIDER_TYPES, *COMMISSIONER_TYPES)
_EPS = 1e-9
PROBLEMS_FILE = "validation.csv"


@dataclass
class _Context:
    """What the cross-table rules share."""

    period: Period
    ref: Reference
    tables: dict[str, CheckedTable]
    problems: list[Problem]
    orgs: dict[Hashable, dict[Hashable, Any]] = field(init=False)
    valid_at_end: set[str] = field(init=False)
    open_all_year: set[str] = field(init=False)
    _month_ok: dict[tuple[str, int], bool] = field(default_factory=dict)
    _members: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.orgs = self.ref.organisations.set_index("org_code").to_dict("index")
        valid = self.ref.valid_in(self.period)
        self.valid_at_end = set(valid["org_code"])
        started = valid["valid_from"] <= pd.Timestamp(self.period.year_start)
        self.open_all_year = set(valid.loc[started, "org_code"])

    def org(self, code: str) -> dict[Hashable, Any]:
        """The organisation's reference row (name, org_type, valid_from, valid_to)."""
        return self.orgs[code]

    def members(self, cluster: str) -> list[str]:
        """The cluster's member PCTs at the period end."""
        if cluster not in self._members:
            self._members[cluster] = self.ref.cluster_members(cluster, self.period)
        return self._members[cluster]

    def describe(self, code: str) -> str:
        """``'RJ2' (Lewisham Healthcare NHS Trust)``."""
        return f"'{code}' ({self.org(code)['name']})"

    def org_type(self, code: str) -> str:
        return str(self.org(code)["org_type"])

    def dates(self, code: str) -> str:
        """``it was open from 1994-04-01 to 2011-03-31`` or ``it opened on 2011-05-01``."""
        start, end = self.org(code)["valid_from"], self.org(code)["valid_to"]
        if pd.isna(end):
            return f"it opened on {start:%Y-%m-%d}"
        return f"it was open from {start:%Y-%m-%d} to {end:%Y-%m-%d}"

    def valid_in_month(self, code: str, month: int) -> bool:
        """Reference.is_valid_in_month, skipped for organisations open all year to date."""
        if code in self.open_all_year:
            return True
        key = (code, month)
        if key not in self._month_ok:
            self._month_ok[key] = self.ref.is_valid_in_month(code, self.period, month)
        return self._month_ok[key]

    def reporting_orgs(self, types: Sequence[str] = _REPORTING_TYPES) -> list[str]:
        """Organisations of ``types`` valid at the period end, in code order."""
        return sorted(c for c in self.valid_at_end if self.org_type(c) in types)

    def reporting_in_month(self, month: int) -> list[str]:
        """NHS trusts, PCTs and care trusts open in financial-year month ``month``."""
        return sorted(
            str(code)
            for code, row in self.orgs.items()
            if row["org_type"] in _REPORTING_TYPES and self.valid_in_month(str(code), month)
        )


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


# --- rules that need the reference data or several tables ------------------------------


def _org_problem(
    ctx: _Context, checked: CheckedTable, row: int, types: Sequence[str], wanted: str
) -> Problem | None:
    """The org_code is unknown, of the wrong type, or not open at the period end."""
    code = str(checked.cell(row, "org_code"))
    if code not in ctx.orgs:
        hint = (
            f"; codes are capital letters: did you mean {code.upper()!r}?"
            if code.upper() in ctx.orgs
            else ""
        )
        return checked.problem(
            row,
            "org_code",
            "is not a known organisation code (expected a code listed in "
            f"data/reference/organisations.csv{hint})",
        )
    kind = ctx.org_type(code)
    if kind not in types:
        return checked.problem(
            row,
            "org_code",
            f"({ctx.org(code)['name']}) is {_TYPE_WORDS[kind]} (expected {wanted})",
        )
    if code not in ctx.valid_at_end:
        return checked.problem(
            row,
            "org_code",
            f"({ctx.org(code)['name']}) was not open at the period end "
            f"{ctx.period.end_date} (expected an organisation valid in {ctx.period}; "
            f"{ctx.dates(code)})",
        )
    return None


def _check_financial_position(ctx: _Context) -> None:
    fp = ctx.tables.get("financial_position")
    if fp is None:
        return
    wanted = "an NHS trust, PCT or care trust"
    for row in fp.rows("org_code", "month"):
        code = str(fp.cell(row, "org_code"))
        month = int(str(fp.cell(row, "month"))[1:])
        if code not in ctx.orgs or ctx.org_type(code) not in _REPORTING_TYPES:
            if found := _org_problem(ctx, fp, row, _REPORTING_TYPES, wanted):
                ctx.problems.append(found)
            continue
        if not ctx.valid_in_month(code, month):
            y, m = ctx.period.calendar_month(month)
            ctx.problems.append(
                fp.problem(
                    row,
                    "org_code",
                    f"({ctx.org(code)['name']}) was not open in M{month:02d} "
                    f"({calendar.month_name[m]} {y}) (expected an organisation open in that "
                    f"month; {ctx.dates(code)})",
                )
            )
        ctx.problems.extend(_by_type_problems(ctx, fp, row, code))


def _by_type_problems(ctx: _Context, fp: CheckedTable, row: int, code: str) -> list[Problem]:
    """Turnover for trusts, resource limit for PCTs; PCT-only amounts are 0 for trusts."""
    out = []
    is_trust = ctx.org_type(code) in PROVIDER_TYPES
    who = f"{code} ({_TYPE_WORDS[ctx.org_type(code)]})"
    needs, empty = (
        ("turnover_gbp_m", "resource_limit_gbp_m")
        if is_trust
        else ("resource_limit_gbp_m", "turnover_gbp_m")
    )
    if (row, needs) not in fp.bad and pd.isna(fp.cell(row, needs)):
        what = "its annual turnover" if is_trust else "its revenue resource limit"
        out.append(fp.missing(row, needs, f"value missing for {who} (expected {what} in £m)"))
    if (row, empty) not in fp.bad and pd.notna(fp.cell(row, empty)):
        other = "NHS trusts" if empty == "turnover_gbp_m" else "PCTs and care trusts"
        out.append(
            fp.problem(row, empty, f"given for {who} (expected empty: {empty} is for {other} only)")
        )
    if is_trust:
        for col in (
            "lctb_support_gbp_m",
            "acute_overperformance_gbp_m",
            "cluster_transition_cost_gbp_m",
        ):
            value = fp.cell(row, col)
            if (row, col) not in fp.bad and pd.notna(value) and abs(value) > _EPS:
                out.append(fp.problem(row, col, f"for {who} (expected 0: {col} is for PCTs)"))
    return out


def _check_savings(ctx: _Context) -> None:
    sv = ctx.tables.get("savings")
    if sv is None:
        return
    for row in sv.rows("org_code"):
        found = _org_problem(ctx, sv, row, _REPORTING_TYPES, "an NHS trust, PCT or care trust")
        if found:
            ctx.problems.append(found)
            continue
        code = str(sv.cell(row, "org_code"))
        programme = "CIP" if ctx.org_type(code) in PROVIDER_TYPES else "QIPP"
        given = sv.cell(row, "programme")
        if (row, "programme") not in sv.bad and pd.notna(given) and given != programme:
            ctx.problems.append(
                sv.problem(
                    row,
                    "programme",
                    f"for {code} ({_TYPE_WORDS[ctx.org_type(code)]}) "
                    f"(expected '{programme}': CIP for NHS trusts, QIPP for PCTs and the care "
                    "trust)",
                )
            )
    for part, whole, words in (
        ("ytd_plan_gbp_m", "annual_plan_gbp_m", "the plan to date is at most the annual plan"),
        (
            "forecast_recurrent_gbp_m",
            "forecast_gbp_m",
            "the recurrent part is at most the forecast",
        ),
    ):
        for row in sv.rows(part, whole):
            if sv.cell(row, part) > sv.cell(row, whole) + _EPS:
                ctx.problems.append(
                    sv.problem(
                        row,
                        part,
                        f"is more than {whole} {sv.text(row, whole)!r} "
                        f"(expected {part} ≤ {whole}: {words})",
                    )
                )


def _check_variance_drivers(ctx: _Context) -> None:
    vd = ctx.tables.get("variance_drivers")
    if vd is None:
        return
    for row in vd.rows("org_code"):
        if found := _org_problem(ctx, vd, row, PROVIDER_TYPES, "an NHS trust"):
            ctx.problems.append(found)


def _fmt(x: float) -> str:
    """£m with 1 to 3 decimals: ``-5.3``, ``0.051``, ``0.0``."""
    text = f"{x:.3f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return "0.0" if text == "-0.0" else text


def _check_parts_add_up(ctx: _Context) -> None:
    """Per trust, drivers sum to forecast outturn - annual plan at the period's month."""
    fp, vd = ctx.tables.get("financial_position"), ctx.tables.get("variance_drivers")
    if fp is None or vd is None:
        return
    end = ctx.period.end_month_label
    cols = ("org_code", "month", "forecast_outturn_gbp_m", "annual_plan_gbp_m")
    at_end = fp.ok(*cols)
    at_end = at_end.loc[at_end["month"] == end]
    drivers = vd.ok("org_code", "amount_gbp_m")
    bad_driver_orgs = {str(vd.cell(r, "org_code")) for r, c in vd.bad if c == "amount_gbp_m"}
    for row, pos in at_end.iterrows():
        code = str(pos["org_code"])
        if code not in ctx.orgs or ctx.org_type(code) not in PROVIDER_TYPES:
            continue
        if code in bad_driver_orgs:
            continue  # an amount is already reported as unreadable
        mine = drivers.loc[drivers["org_code"] == code]
        if mine.empty:
            continue  # the completeness rule says the drivers are missing
        total = float(mine["amount_gbp_m"].sum())
        variance = float(pos["forecast_outturn_gbp_m"] - pos["annual_plan_gbp_m"])
        diff = total - variance
        if abs(diff) <= PARTS_TOLERANCE_GBP_M + _EPS:
            continue
        ctx.problems.append(
            Problem(
                vd.raw.source,
                f"the variance drivers of {ctx.describe(code)} add up "
                f"to {_fmt(total)} but its variance to plan is {_fmt(variance)} "
                f"({fp.raw.source}, row {row}, {end}: forecast_outturn_gbp_m "
                f"{_fmt(pos['forecast_outturn_gbp_m'])} − annual_plan_gbp_m "
                f"{_fmt(pos['annual_plan_gbp_m'])}); difference {_fmt(diff)} (expected the "
                f"drivers to add up to the variance within {PARTS_TOLERANCE_GBP_M})",
                tuple(sorted(int(r) for r in mine.index)),
                "amount_gbp_m",
            )
        )


def _check_milestones(ctx: _Context) -> None:
    ms = ctx.tables.get("milestones")
    if ms is None:
        return
    end = pd.Timestamp(ctx.period.end_date)
    for row in ms.rows("cluster_code"):
        cluster = str(ms.cell(row, "cluster_code"))
        ok = cluster in ctx.valid_at_end and ctx.org_type(cluster) == "cluster"
        if not ok:
            clusters = sorted(c for c in ctx.valid_at_end if ctx.org_type(c) == "cluster")
            ctx.problems.append(
                ms.problem(
                    row,
                    "cluster_code",
                    "is not a cluster open at the period end "
                    f"(expected one of {', '.join(clusters) or 'none: no clusters yet'})",
                )
            )
            continue
        if (row, "org_code") in ms.bad or pd.isna(ms.cell(row, "org_code")):
            continue
        members = ctx.members(cluster)
        org = str(ms.cell(row, "org_code"))
        if org not in members:
            name = f" ({ctx.org(org)['name']})" if org in ctx.orgs else ""
            ctx.problems.append(
                ms.problem(
                    row,
                    "org_code",
                    f"{name} is not a member of cluster {cluster} at "
                    f"{ctx.period.end_date} (expected empty or one of "
                    f"{', '.join(members)})".lstrip(),
                )
            )
    for row in ms.rows("status", "due_date"):
        status, due = ms.cell(row, "status"), ms.cell(row, "due_date")
        late = due > end
        if (status == "not_yet_due") != late:
            wanted = "'not_yet_due'" if late else "'met' or 'missed'"
            side = "after" if late else "on or before"
            ctx.problems.append(
                ms.problem(
                    row,
                    "status",
                    f"but due_date {due:%Y-%m-%d} is {side} the period "
                    f"end {end:%Y-%m-%d} (expected {wanted})",
                )
            )
    for row in ms.rows("status"):
        if ms.cell(row, "status") == "missed":
            ctx.problems.extend(_missed_problems(ms, row))


def _missed_problems(ms: CheckedTable, row: int) -> list[Problem]:
    """A missed milestone needs a later revised date, a delay and a reason."""
    out = []
    for col, what in (
        ("revised_date", "a revised date after the due date"),
        ("delay_months", "the delay in whole months"),
        ("reason_category", "a reason category"),
    ):
        if (row, col) not in ms.bad and pd.isna(ms.cell(row, col)):
            out.append(
                ms.missing(row, col, f"value missing for a missed milestone (expected {what})")
            )
    revised, due = ms.cell(row, "revised_date"), ms.cell(row, "due_date")
    known = (row, "revised_date") not in ms.bad and pd.notna(revised) and pd.notna(due)
    if known and revised <= due:
        out.append(
            ms.problem(
                row,
                "revised_date",
                f"is not after due_date {due:%Y-%m-%d} "
                "(expected a revised date after the due date)",
            )
        )
    return out


# --- completeness: nothing the board's totals need may be missing ------------------------


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


def _check_months_complete(ctx: _Context) -> None:
    """Every trust, PCT and care trust has a row for every month it was open, to the position."""
    fp = ctx.tables.get("financial_position")
    if fp is None:
        return
    present = _present(fp, "org_code", "month")
    if present is None:
        return
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


def _check_sha_complete(ctx: _Context) -> None:
    """Every SHA budget line has a row for every month to the position."""
    sha = ctx.tables.get("sha_budgets")
    if sha is None:
        return
    present = _present(sha, "month", "budget_line")
    if present is None:
        return
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
    ctx: _Context, name: str, column: str, parts: Sequence[str], types: Sequence[str], what: str
) -> None:
    """Every organisation of ``types`` valid at the period end has a row for each of ``parts``."""
    table = ctx.tables.get(name)
    if table is None:
        return
    present = _present(table, "org_code", column)
    if present is None:
        return
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


def _check_savings_complete(ctx: _Context) -> None:
    _check_all_parts(
        ctx, "savings", "category", CATEGORIES, _REPORTING_TYPES, "its savings programme"
    )


def _check_drivers_complete(ctx: _Context) -> None:
    _check_all_parts(
        ctx,
        "variance_drivers",
        "driver",
        DRIVERS,
        PROVIDER_TYPES,
        "every NHS trust's explanation of its variance to plan",
    )


def _table_problems(ctx: _Context, present: set[str], workbook: bool) -> None:
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


_RULES = (
    _check_financial_position,
    _check_months_complete,
    _check_sha_complete,
    _check_savings,
    _check_savings_complete,
    _check_variance_drivers,
    _check_drivers_complete,
    _check_parts_add_up,
    _check_milestones,
)


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
    ctx = _Context(period, ref, tables, problems)
    if raw.listed:
        _table_problems(ctx, raw.present, (folder / WORKBOOK).exists())
    for rule in _RULES:
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


def validate_command(periods: list[str] | None, outputs_dir: Path = OUTPUTS_DIR) -> int:
    """Validate (and build the processed layer of) each period; 0 if all are OK, else 2.

    A refused period's problems are listed in ``outputs/<period>/validation.csv``.
    """
    chosen = [Period.parse(p) for p in periods] if periods else available_periods()
    if not chosen:
        print(f"no period folders under {RAW_DIR}")
        return 2
    status = 0
    for period in chosen:
        try:
            data = load_period(period)
        except ValidationError as exc:
            record_problems(exc, outputs_dir, f"outputs/{period}/{PROBLEMS_FILE}")
            print(f"{period}: {len(exc.problems):,} problem(s)")
            print("\n".join(f"  - {line}" for line in exc.lines()))
            if exc.listed_in:
                print(f"  every problem is listed in {exc.listed_in}")
            status = 2
            continue
        except NoDataError as exc:
            print(f"{period}: {exc}")
            status = 2
            continue
        clear_problems(outputs_dir, str(period))
        counts = data.row_counts
        tables = sum(1 for name, n in counts.items() if n or TABLES[name].required)
        orgs = data.financial_position["org_code"].nunique()
        print(
            f"{period}: OK — {sum(counts.values()):,} rows in {tables} tables, {orgs} organisations"
        )
    return status
