"""Checking a period's returns against the data contract, collecting every problem first.

>>> data = validate_period(Period.parse("2011-12-Q1"))  # PeriodData, or ValidationError

The returns are read as text (:mod:`helpers.returns`), converted to types, checked column
by column with the pandera schemas (:mod:`helpers.schemas`, ``lazy=True``) and then by the
rules that need several columns, tables or the reference data. Every message names the file
(and sheet), the row as the user sees it, the column, the value and what was expected.
"""

from __future__ import annotations

import calendar
import difflib
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pandera.pandas as pa
from openpyxl.utils import get_column_letter

from helpers.errors import NoDataError, ValidationError
from helpers.organisations import COMMISSIONER_TYPES, PROVIDER_TYPES, Reference, load_reference
from helpers.paths import RAW_DIR
from helpers.periods import Period
from helpers.returns import RawTable, parse_money, read_returns
from helpers.schemas import (
    PARTS_TOLERANCE_GBP_M,
    SCHEMAS,
    TABLES,
    Kind,
    column_kinds,
    dtypes,
    expected,
)
from helpers.store import PeriodData, available_periods, empty_frame, load_period, tidy_frame

_TYPE_WORDS = {
    "nhs_trust": "an NHS trust",
    "pct": "a PCT",
    "care_trust": "a care trust",
    "cluster": "a cluster",
    "sha": "the SHA",
}
_REPORTING_TYPES = (*PROVIDER_TYPES, *COMMISSIONER_TYPES)
_EPS = 1e-9


@dataclass
class _Checked:
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

    def problem(self, row: int, col: str, message: str) -> str:
        """``source, row N, column C: 'value' message`` and mark the cell as reported."""
        self.bad.add((row, col))
        return f"{self.raw.where(row, col)}: {self.text(row, col)!r} {message}"


@dataclass
class _Context:
    """What the cross-table rules share."""

    period: Period
    ref: Reference
    tables: dict[str, _Checked]
    problems: list[str]
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


# --- reading and converting one table ----------------------------------------------------


def _letters(positions: Iterable[int]) -> str:
    return " and ".join(get_column_letter(i + 1) for i in positions)


def _header_problems(table: RawTable) -> tuple[list[str], bool]:
    """Problems with the header row, and whether rows can still be checked."""
    spec = TABLES[table.name]
    out = []
    named = [h for h in table.header if h]
    for col in dict.fromkeys(named):
        at = [i for i, h in enumerate(table.header) if h == col]
        if len(at) > 1:
            out.append(
                f"{table.source}: column {col!r} appears {len(at)} times (columns "
                f"{_letters(at)}) (expected each column once)"
            )
    for col in dict.fromkeys(named):
        if col not in spec.columns:
            close = difflib.get_close_matches(col, spec.columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            out.append(
                f"{table.source}: unknown column {col!r} (expected only the columns "
                f"{', '.join(spec.columns)}{hint})"
            )
    missing = [c for c in spec.columns if c not in named]
    if missing:
        out.append(
            f"{table.source}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)} (expected the columns "
            f"{', '.join(spec.columns)}; their order does not matter)"
        )
    return out, not missing


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
    return int(float(text))


_PARSERS: dict[Kind, tuple[Callable[[str], object], str]] = {
    "text": (_parse_text, ""),
    "money": (parse_money, "is not a number"),
    "date": (_parse_date, "is not a date"),
    "int": (_parse_int, "is not a whole number"),
}


def _convert(table: RawTable, problems: list[str]) -> _Checked:
    """Typed frame (index = file row), one problem per cell that cannot be converted."""
    checked = _Checked(table, pd.DataFrame(index=table.frame.index))
    columns = {}
    for col, kind in column_kinds(table.name).items():
        parse, complaint = _PARSERS[kind]
        values: list[object] = []
        for row, text in zip(table.frame.index.tolist(), table.frame[col].tolist(), strict=True):
            try:
                values.append(parse(str(text)))
            except ValueError:
                values.append(None)
                problems.append(
                    checked.problem(row, col, f"{complaint} (expected {expected(table.name, col)})")
                )
        columns[col] = values
    checked.typed(pd.DataFrame(columns, index=table.frame.index).astype(dtypes(table.name)))
    return checked


def _schema_problems(checked: _Checked) -> list[str]:
    """Run the table's pandera schema lazily; one message per failure case."""
    name = checked.raw.name
    try:
        SCHEMAS[name].validate(checked.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    out = []
    for case in cases.itertuples(index=False):
        col, check, row = str(case.column), str(case.check), case.index
        if row is None or pd.isna(row):
            out.append(f"{checked.raw.source}, column {col}: {check} ({case.failure_case})")
            continue
        row = int(row)
        if (row, col) in checked.bad:
            continue
        if check == "not_nullable":
            checked.bad.add((row, col))
            out.append(
                f"{checked.raw.where(row, col)}: value missing (expected {expected(name, col)})"
            )
        elif check.startswith("is "):
            out.append(checked.problem(row, col, check))
        else:
            out.append(checked.problem(row, col, f"fails the check {check}"))
    return out


def _key_text(checked: _Checked, row: int, key: Sequence[str]) -> str:
    return ", ".join(f"{c} {checked.text(row, c)!r}" for c in key)


def _rows_text(rows: Sequence[int]) -> str:
    """``row 4``, ``rows 3 and 9``, ``rows 2, 3 and 4``."""
    words = [str(r) for r in rows]
    if len(words) == 1:
        return f"row {words[0]}"
    return "rows " + ", ".join(words[:-1]) + " and " + words[-1]


def _row_problems(checked: _Checked, period: Period) -> list[str]:
    """The folder's period, month labels up to the period's month, and unique keys."""
    out = []
    frame, name = checked.frame, checked.raw.name
    for row in checked.rows("period"):
        if checked.cell(row, "period") != str(period):
            out.append(
                checked.problem(
                    row, "period", f"differs from the folder's period (expected '{period}')"
                )
            )
    if "month" in frame:
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
    key = list(TABLES[name].key)
    keyed = checked.ok(*key)
    for _, group in keyed.groupby(key, sort=True):
        if len(group) > 1:
            rows = sorted(int(r) for r in group.index)
            out.append(
                f"{checked.raw.source}, {_rows_text(rows)}: the same key "
                f"({_key_text(checked, rows[0], key)}) appears {len(rows)} times (expected one "
                f"row per {' and '.join(key)})"
            )
    return out


def _check_table(table: RawTable, period: Period, problems: list[str]) -> _Checked | None:
    """Header, types, pandera schema and row rules of one table; None if rows are unusable."""
    spec = TABLES[table.name]
    if table.is_empty:
        what = (
            ", row 1: the header row is empty but rows below hold values"
            if table.blank_header
            else f": the {table.kind} is empty"
        )
        problems.append(
            f"{table.source}{what} (expected a header row with the columns "
            f"{', '.join(spec.columns)})"
        )
        return None
    header, usable = _header_problems(table)
    problems.extend(header)
    if not usable:
        return None
    if table.frame.empty and spec.required:
        problems.append(
            f"{table.source}: no data rows, only the header (expected at least one row: "
            f"{table.name} is a required table)"
        )
        return None
    checked = _convert(table, problems)
    problems.extend(_schema_problems(checked))
    problems.extend(_row_problems(checked, period))
    return checked


# --- rules that need the reference data or several tables ------------------------------


def _org_problem(
    ctx: _Context, checked: _Checked, row: int, types: Sequence[str], wanted: str
) -> str | None:
    """The org_code is unknown, of the wrong type, or not open at the period end."""
    code = str(checked.cell(row, "org_code"))
    if code not in ctx.orgs:
        return checked.problem(
            row,
            "org_code",
            "is not a known organisation code (expected a code listed in "
            "data/reference/organisations.csv)",
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


def _by_type_problems(ctx: _Context, fp: _Checked, row: int, code: str) -> list[str]:
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
        fp.bad.add((row, needs))
        what = "its annual turnover" if is_trust else "its revenue resource limit"
        out.append(f"{fp.raw.where(row, needs)}: value missing for {who} (expected {what} in £m)")
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
        total = float(mine["amount_gbp_m"].sum())
        variance = float(pos["forecast_outturn_gbp_m"] - pos["annual_plan_gbp_m"])
        diff = total - variance
        if abs(diff) <= PARTS_TOLERANCE_GBP_M + _EPS:
            continue
        where = _rows_text(sorted(int(r) for r in mine.index)) if len(mine) else "no rows"
        ctx.problems.append(
            f"{vd.raw.source}, {where}, column amount_gbp_m: the variance drivers of "
            f"{ctx.describe(code)} add up "
            f"to {_fmt(total)} but its variance to plan is {_fmt(variance)} "
            f"({fp.raw.source}, row {row}, {end}: forecast_outturn_gbp_m "
            f"{_fmt(pos['forecast_outturn_gbp_m'])} − annual_plan_gbp_m "
            f"{_fmt(pos['annual_plan_gbp_m'])}); difference {_fmt(diff)} (expected the drivers "
            f"to add up to the variance within {PARTS_TOLERANCE_GBP_M})"
        )


def _check_complete(ctx: _Context) -> None:
    """Every trust, PCT and care trust open all year to the period end has a row at its month."""
    fp = ctx.tables.get("financial_position")
    if fp is None:
        return
    end = ctx.period.end_month_label
    orgs = ctx.ref.valid_in(ctx.period)
    due = orgs.loc[
        orgs["org_type"].isin(_REPORTING_TYPES)
        & (orgs["valid_from"] <= pd.Timestamp(ctx.period.year_start))
    ]
    present = set(fp.frame.loc[fp.frame["month"] == end, "org_code"].dropna())
    for code in sorted(set(due["org_code"]) - present):
        ctx.problems.append(
            f"{fp.raw.source}: no row for {ctx.describe(code)} at {end} (expected a row for "
            f"every NHS trust, PCT and care trust open from 1 April to the period end, "
            f"{ctx.period.end_date})"
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


def _missed_problems(ms: _Checked, row: int) -> list[str]:
    """A missed milestone needs a later revised date, a delay and a reason."""
    out = []
    for col, what in (
        ("revised_date", "a revised date after the due date"),
        ("delay_months", "the delay in whole months"),
        ("reason_category", "a reason category"),
    ):
        if (row, col) not in ms.bad and pd.isna(ms.cell(row, col)):
            ms.bad.add((row, col))
            out.append(
                f"{ms.raw.where(row, col)}: value missing for a missed milestone (expected {what})"
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


# --- entry points -----------------------------------------------------------------------


def validate_period(
    period: Period, raw_dir: Path = RAW_DIR, reference: Reference | None = None
) -> PeriodData:
    """Read and check a period's returns; ValidationError lists every problem found."""
    ref = reference if reference is not None else load_reference()
    folder = raw_dir / str(period)
    raw = read_returns(folder)
    problems = list(raw.problems)
    tables: dict[str, _Checked] = {}
    for name in TABLES:
        table = raw.tables.get(name)
        checked = None if table is None else _check_table(table, period, problems)
        if checked is not None:
            tables[name] = checked
    ctx = _Context(period, ref, tables, problems)
    for rule in (
        _check_financial_position,
        _check_complete,
        _check_savings,
        _check_variance_drivers,
        _check_parts_add_up,
        _check_milestones,
    ):
        rule(ctx)
    if problems:
        raise ValidationError(problems, summary=f"{period}: {len(problems)} problem(s) in {folder}")
    frames = {
        name: tidy_frame(name, tables[name].frame) if name in tables else empty_frame(name)
        for name in TABLES
    }
    return PeriodData.from_tables(period, frames, ref)


def validate_command(periods: list[str] | None) -> int:
    """Validate (and build the processed layer of) each period; 0 if all are OK, else 2."""
    chosen = [Period.parse(p) for p in periods] if periods else available_periods()
    if not chosen:
        print(f"no period folders under {RAW_DIR}")
        return 2  # bad input, as errors.EXIT_BAD_INPUT
    status = 0
    for period in chosen:
        try:
            data = load_period(period)
        except ValidationError as exc:
            print(f"{period}: {len(exc.problems)} problem(s)")
            for problem in exc.problems:
                print(f"  - {problem}")
            status = 2
            continue
        except NoDataError as exc:
            print(f"{period}: {exc}")
            status = 2
            continue
        counts = data.row_counts
        tables = sum(1 for name, n in counts.items() if n or TABLES[name].required)
        orgs = data.financial_position["org_code"].nunique()
        print(
            f"{period}: OK — {sum(counts.values()):,} rows in {tables} tables, {orgs} organisations"
        )
    return status
