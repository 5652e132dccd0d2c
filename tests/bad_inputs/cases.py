"""The bad-input corpus: small edits of the sample returns and params, each accepted or refused.

Usage example (what tests/test_bad_inputs.py does with each case)::

    root = make_project(tmp_path, periods=(case.period,))
    outcome = case.edit(Project(root))  # Refuse(words), or the Changes of an accepted edit
    run_kit(root, "reports", "--period", case.period)

A refused case returns the words one line of the kit's message must contain: the file (and
sheet), the row, the column, the value as written and what was expected (``None`` where the
problem is not about a row, a column or a value, e.g. a missing column). An accepted case
returns the :class:`Change` s its edit makes to the processed frames (none for a mere change
of spelling, encoding or layout), so that the test compares them with the unedited sample's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bad_inputs.project import PERIOD, Project, Rows


@dataclass(frozen=True)
class Refuse:
    """Words one line of the refusal must contain (``None``: not about a row/column/value)."""

    file: str
    row: str | None
    column: str | None
    value: str | None
    expected: str
    absent: tuple[str, ...] = ()  # text the output must not hold (e.g. a linked file's lines)

    def words(self) -> list[str]:
        """The non-empty words, in order."""
        found = (self.file, self.row, self.column, self.value, self.expected)
        return [w for w in found if w is not None]


@dataclass(frozen=True)
class Change:
    """An accepted edit's effect: ``column`` of the rows matching ``match`` becomes ``value``."""

    table: str
    match: dict[str, str]
    column: str
    value: Any


Edit = Callable[[Project], Refuse | list[Change]]


@dataclass(frozen=True)
class Case:
    """One entry of the corpus."""

    name: str
    kind: str  # the kind of bad input, in the words
    accepted: bool
    edit: Edit
    period: str = PERIOD
    tags: tuple[str, ...] = field(default=())


CASES: list[Case] = []


def _case(kind: str, accepted: bool, period: str = PERIOD) -> Callable[[Edit], Edit]:
    def register(edit: Edit) -> Edit:
        CASES.append(Case(edit.__name__, kind, accepted, edit, period))
        return edit

    return register


def accept(kind: str) -> Callable[[Edit], Edit]:
    """Register an edit the kit must read correctly."""
    return _case(kind, True)


def refuse(kind: str, period: str = PERIOD) -> Callable[[Edit], Edit]:
    """Register an edit the kit must refuse with a message naming where and why."""
    return _case(kind, False, period)


FP = "financial_position"
DRIVERS = ("cip_slippage", "activity_above_plan", "premium_costs", "restructuring", "other")
RAL_M03 = {"org_code": "RAL", "month": "M03"}
MONEY = "expected £m"
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 1 is 1900-01-01 (after Excel's leap-year bug)


def _column(rows: Rows, name: str) -> int:
    return rows[0].index(name)


# --- file level ---------------------------------------------------------------------------


@refuse("empty file")
def empty_file(p: Project) -> Refuse:
    p.csv("savings").write_bytes(b"")
    return Refuse("savings.csv", None, None, None, "expected a header row with the columns")


@refuse("header only")
def header_only(p: Project) -> Refuse:
    p.edit_rows("savings", lambda rows: rows[:1])
    return Refuse("savings.csv", None, None, None, "expected at least one row")


@refuse("missing file")
def missing_file(p: Project) -> Refuse:
    p.csv("variance_drivers").unlink()
    return Refuse("variance_drivers.csv", None, None, None, "missing (a required table")


@refuse("unreadable encoding")
def utf16_file(p: Project) -> Refuse:
    text = p.csv("sha_budgets").read_text(encoding="utf-8")
    p.csv("sha_budgets").write_bytes(text.encode("utf-16"))
    return Refuse("sha_budgets.csv", None, None, None, "save it as CSV UTF-8")


@accept("UTF-8 with BOM")
def utf8_bom(p: Project) -> list[Change]:
    for table in ("financial_position", "savings", "milestones"):
        p.write_rows(table, p.rows(table), encoding="utf-8-sig")
    return []


@accept("cp1252 file")
def cp1252_with_pound_signs(p: Project) -> list[Change]:
    def pounds(rows: Rows) -> None:
        at = _column(rows, "annual_plan_gbp_m")
        for row in rows[1:]:
            row[at] = "£" + row[at] if not row[at].startswith("-") else "-£" + row[at][1:]

    rows = p.rows("savings")
    pounds(rows)
    p.write_rows("savings", rows, encoding="cp1252")
    assert b"\xa3" in p.csv("savings").read_bytes()
    return []


@accept("Windows line endings")
def crlf_line_endings(p: Project) -> list[Change]:
    p.write_rows(FP, p.rows(FP), newline="\r\n")
    return []


# --- columns ------------------------------------------------------------------------------


@refuse("missing column")
def missing_column(p: Project) -> Refuse:
    def drop(rows: Rows) -> Rows:
        at = _column(rows, "forecast_gbp_m")
        return [r[:at] + r[at + 1 :] for r in rows]

    p.edit_rows("savings", drop)
    return Refuse("savings.csv", None, "'forecast_gbp_m'", None, "expected the columns")


@refuse("extra column")
def extra_column(p: Project) -> Refuse:
    p.edit_rows(
        "variance_drivers", lambda rows: [[*r, "" if i else "notes"] for i, r in enumerate(rows)]
    )
    return Refuse("variance_drivers.csv", None, "'notes'", None, "expected only the columns")


@refuse("renamed column")
def renamed_column(p: Project) -> Refuse:
    def rename(rows: Rows) -> None:
        rows[0][_column(rows, "forecast_outturn_gbp_m")] = "forecast outturn (£m)"

    p.edit_rows(FP, rename)
    return Refuse(
        "financial_position.csv", None, "'forecast outturn (£m)'", None, "expected only the columns"
    )


@refuse("duplicated column")
def duplicated_column(p: Project) -> Refuse:
    def duplicate(rows: Rows) -> Rows:
        at = _column(rows, "annual_plan_gbp_m")
        return [[*r, r[at]] for r in rows]

    p.edit_rows("savings", duplicate)
    return Refuse(
        "savings.csv",
        None,
        "'annual_plan_gbp_m' appears 2 times",
        None,
        "expected each column once",
    )


@accept("columns in another order")
def columns_reversed(p: Project) -> list[Change]:
    for table in (FP, "milestones"):
        p.edit_rows(table, lambda rows: [list(reversed(r)) for r in rows])
    return []


@accept("rows in another order")
def rows_reversed(p: Project) -> list[Change]:
    p.edit_rows("savings", lambda rows: rows[:1] + rows[:0:-1])
    return []


# --- money --------------------------------------------------------------------------------


@refuse("text in a money column")
def text_in_money(p: Project) -> Refuse:
    row = p.set(FP, "forecast_outturn_gbp_m", "tbc", **RAL_M03)
    return Refuse(
        "financial_position.csv", f"row {row}", "column forecast_outturn_gbp_m", "'tbc'", MONEY
    )


@refuse("text in a money column")
def decimal_comma_in_money(p: Project) -> Refuse:
    row = p.set("variance_drivers", "amount_gbp_m", "-1,3", org_code="RAL", driver="cip_slippage")
    return Refuse("variance_drivers.csv", f"row {row}", "column amount_gbp_m", "'-1,3'", MONEY)


@refuse("text in a money column")
def units_in_money(p: Project) -> Refuse:
    row = p.set("savings", "ytd_actual_gbp_m", "0.8m", org_code="5A4", category="productivity")
    return Refuse(
        "savings.csv", f"row {row}", "column ytd_actual_gbp_m", "'0.8m'", "expected £m ≥ 0"
    )


@accept("£1,234.5 in a money column")
def pound_and_thousands(p: Project) -> list[Change]:
    p.set(FP, "turnover_gbp_m", "£1,234.5", **RAL_M03)
    for org in ("5A4", "5A5"):
        for month in ("M01", "M02", "M03"):
            value = p.get(FP, "resource_limit_gbp_m", org_code=org, month=month)
            p.set(FP, "resource_limit_gbp_m", f"£{value}", org_code=org, month=month)
    return [Change(FP, RAL_M03, "turnover_gbp_m", 1234.5)]


@accept("(12.9) in a money column")
def negatives_in_brackets(p: Project) -> list[Change]:
    def brackets(rows: Rows) -> None:
        at = _column(rows, "amount_gbp_m")
        for row in rows[1:]:
            if row[at].startswith("-"):
                row[at] = f"({row[at][1:]})"

    p.edit_rows("variance_drivers", brackets)
    assert "(" in p.csv("variance_drivers").read_text(encoding="utf-8")
    return []


@accept("-12.9 in a money column")
def minus_and_spaces(p: Project) -> list[Change]:
    p.set(FP, "prior_year_outturn_gbp_m", " -12.9 ", **RAL_M03)
    p.set(FP, "prior_year_outturn_gbp_m", "−12.9", org_code="RAL", month="M02")  # U+2212
    return [
        Change(FP, RAL_M03, "prior_year_outturn_gbp_m", -12.9),
        Change(FP, {"org_code": "RAL", "month": "M02"}, "prior_year_outturn_gbp_m", -12.9),
    ]


@refuse("negative where only ≥ 0 is allowed")
def negative_turnover(p: Project) -> Refuse:
    row = p.set(FP, "turnover_gbp_m", "(484.8)", **RAL_M03)
    return Refuse(
        "financial_position.csv",
        f"row {row}",
        "column turnover_gbp_m",
        "'(484.8)'",
        "expected a number ≥ 0",
    )


# --- rows and keys ------------------------------------------------------------------------


@refuse("unknown organisation")
def unknown_organisation(p: Project) -> Refuse:
    row = p.set("savings", "org_code", "RXX", org_code="RAL", category="productivity")
    return Refuse(
        "savings.csv", f"row {row}", "column org_code", "'RXX'", "expected a code listed in"
    )


@refuse("organisation outside its validity dates")
def organisation_not_yet_open(p: Project) -> Refuse:
    def add(rows: Rows) -> None:
        new = list(rows[p.row_of(FP, **RAL_M03) - 1])
        new[_column(rows, "org_code")] = "R1H"  # Barts Health, from April 2012
        rows.append(new)

    p.edit_rows(FP, add)
    row = len(p.rows(FP))
    return Refuse(
        "financial_position.csv",
        f"row {row}",
        "column org_code",
        "'R1H'",
        "it opened on 2012-04-01",
    )


@refuse("organisation of the wrong type")
def pct_in_variance_drivers(p: Project) -> Refuse:
    row = p.set("variance_drivers", "org_code", "5C9", org_code="RAL", driver="other")
    return Refuse(
        "variance_drivers.csv", f"row {row}", "column org_code", "'5C9'", "expected an NHS trust"
    )


@refuse("duplicate rows")
def duplicate_row(p: Project) -> Refuse:
    first = p.row_of("savings", org_code="5A4", category="drugs_costs")
    p.edit_rows("savings", lambda rows: [*rows, rows[first - 1]])
    last = len(p.rows("savings"))
    return Refuse(
        "savings.csv",
        f"rows {first} and {last}",
        "category 'drugs_costs'",
        "org_code '5A4'",
        "expected one row per org_code and category",
    )


@refuse("period in the file differs from the folder")
def period_differs(p: Project) -> Refuse:
    def relabel(rows: Rows) -> None:
        for row in rows[1:]:
            row[0] = "2011-12-Q2"

    p.edit_rows("sha_budgets", relabel)
    return Refuse(
        "sha_budgets.csv", "row 2", "column period", "'2011-12-Q2'", "expected '2011-12-Q1'"
    )


@refuse("period in the file differs from the folder")
def last_periods_file(p: Project) -> Refuse:
    old = p.root / "data" / "raw" / "2010-11-M10" / "sha_budgets.csv"
    p.csv("sha_budgets").write_bytes(old.read_bytes())
    return Refuse(
        "sha_budgets.csv", "row 2", "column period", "'2010-11-M10'", "expected '2011-12-Q1'"
    )


@refuse("month after the period")
def month_after_period(p: Project) -> Refuse:
    row = p.set("sha_budgets", "month", "M04", month="M03", budget_line="admin")
    return Refuse("sha_budgets.csv", f"row {row}", "column month", "'M04'", "expected M01 to M03")


@refuse("value not allowed")
def category_spelled_differently(p: Project) -> Refuse:
    row = p.set("savings", "category", "Drugs costs", org_code="5A4", category="drugs_costs")
    return Refuse(
        "savings.csv",
        f"row {row}",
        "column category",
        "'Drugs costs'",
        "expected one of productivity",
    )


@refuse("parts not adding up to totals")
def drivers_do_not_add_up(p: Project) -> Refuse:
    p.set("variance_drivers", "amount_gbp_m", "2.6", org_code="RAL", driver="other")  # was 1.6
    rows = [p.row_of("variance_drivers", org_code="RAL", driver=d) for d in DRIVERS]
    return Refuse(
        "variance_drivers.csv",
        f"rows {', '.join(map(str, rows[:-1]))} and {rows[-1]}",
        "column amount_gbp_m",
        "add up to 2.0 but its variance to plan is 1.0",
        "expected the drivers to add up to the variance",
    )


@refuse("parts not adding up to totals")
def savings_to_date_above_annual_plan(p: Project) -> Refuse:
    row = p.set("savings", "ytd_plan_gbp_m", "9.9", org_code="5A4", category="productivity")
    return Refuse(
        "savings.csv",
        f"row {row}",
        "column ytd_plan_gbp_m",
        "'9.9'",
        "expected ytd_plan_gbp_m ≤ annual_plan_gbp_m",
    )


@refuse("dates as text")
def uk_date_in_csv(p: Project) -> Refuse:
    row = p.set("milestones", "due_date", "30/06/2011", milestone_id="NCL-001")
    return Refuse(
        "milestones.csv",
        f"row {row}",
        "column due_date",
        "'30/06/2011'",
        "expected a date YYYY-MM-DD",
    )


# --- the workbook -------------------------------------------------------------------------


@accept("Excel workbook")
def workbook(p: Project) -> list[Change]:
    p.to_workbook()
    return []


@accept("Excel workbook with formulas (cached values used)")
def workbook_formulas(p: Project) -> list[Change]:
    outturn = p.cell(FP, "forecast_outturn_gbp_m", **RAL_M03)
    plan = p.cell(FP, "annual_plan_gbp_m", **RAL_M03)
    ytd = p.cell(FP, "ytd_actual_gbp_m", **RAL_M03)
    ytd_before = p.cell(FP, "ytd_actual_gbp_m", org_code="RAL", month="M02")
    p.to_workbook()
    wb = p.workbook()
    ws = wb[FP]
    ws[outturn] = f"=ROUND({plan}+1,1)"  # 1.5 + 1 = 2.5, the sample's value
    ws[ytd] = f"={ytd_before}+0.2"  # 0.7 + 0.2, which Excel saves as 0.8999999999999999
    p.save(wb)
    p.set_cached_values(FP, {outturn: "2.5", ytd: repr(0.7 + 0.2)})
    return []


@refuse("Excel workbook with formulas (no cached value)")
def workbook_formula_without_value(p: Project) -> Refuse:
    outturn = p.cell(FP, "forecast_outturn_gbp_m", **RAL_M03)
    p.to_workbook()
    wb = p.workbook()
    wb[FP][outturn] = "=1.5+1"
    p.save(wb)
    return Refuse(
        "returns.xlsx [financial_position]",
        f"row {outturn[1:]}",
        "column forecast_outturn_gbp_m",
        "'=1.5+1'",
        "expected a value",
    )


@accept("dates as Excel serials")
def workbook_dates_as_serials(p: Project) -> list[Change]:
    p.to_workbook()
    wb = p.workbook()
    for cell in wb["milestones"]["G"][1:]:  # due_date
        if cell.value is not None:
            cell.value = (cell.value - EXCEL_EPOCH).days
            cell.number_format = "General"
    p.save(wb)
    return []


@accept("dates as text")
def workbook_dates_as_iso_text(p: Project) -> list[Change]:
    p.to_workbook()
    wb = p.workbook()
    for cell in wb["milestones"]["I"][1:]:  # revised_date
        if cell.value is not None:
            cell.value = f"{cell.value:%Y-%m-%d}"
            cell.number_format = "@"
    p.save(wb)
    return []


@refuse("dates as text")
def workbook_dates_as_uk_text(p: Project) -> Refuse:
    row = p.row_of("milestones", milestone_id="NCL-001")
    p.to_workbook()
    wb = p.workbook()
    wb["milestones"][f"G{row}"] = "30/06/2011"
    p.save(wb)
    return Refuse(
        "returns.xlsx [milestones]",
        f"row {row}",
        "column due_date",
        "'30/06/2011'",
        "expected a date YYYY-MM-DD",
    )


@accept("board-paper numbers typed as text in a workbook")
def workbook_numbers_as_text(p: Project) -> list[Change]:
    row = p.row_of("variance_drivers", org_code="RAL", driver="cip_slippage")
    p.to_workbook()
    wb = p.workbook()
    wb["variance_drivers"][f"D{row}"] = "(1.3)"
    p.save(wb)
    return []


@refuse("Excel workbook with a missing sheet")
def workbook_missing_sheet(p: Project) -> Refuse:
    p.to_workbook()
    wb = p.workbook()
    del wb["savings"]
    p.save(wb)
    return Refuse("returns.xlsx", None, None, "sheet 'savings'", "missing (a required table)")


@refuse("Excel workbook with an extra sheet")
def workbook_extra_sheet(p: Project) -> Refuse:
    p.to_workbook()
    wb = p.workbook()
    wb.create_sheet("Notes")["A1"] = "Prepared by the finance team"
    p.save(wb)
    return Refuse(
        "returns.xlsx", None, None, "sheet 'Notes'", "expected only sheets financial_position"
    )


@refuse("Excel workbook with merged header cells")
def workbook_merged_header(p: Project) -> Refuse:
    p.to_workbook()
    wb = p.workbook()
    wb["savings"].merge_cells("E1:F1")
    p.save(wb)
    return Refuse(
        "returns.xlsx [savings]",
        "row 1",
        "E1:F1",
        "'annual_plan_gbp_m'",
        "expected one column name per cell",
    )


@refuse("text in a money column")
def workbook_text_in_money(p: Project) -> Refuse:
    row = p.row_of("savings", org_code="5A4", category="productivity")
    p.to_workbook()
    wb = p.workbook()
    wb["savings"][f"H{row}"] = "n/a"
    p.save(wb)
    return Refuse(
        "returns.xlsx [savings]", f"row {row}", "column forecast_gbp_m", "'n/a'", "expected £m ≥ 0"
    )


@refuse("CSV files and a workbook together")
def workbook_and_csv_files(p: Project) -> Refuse:
    kept = p.csv("savings").read_bytes()
    p.to_workbook()
    p.csv("savings").write_bytes(kept)
    return Refuse("2011-12-Q1", None, None, "savings.csv", "keep one or the other")


# --- the params file ----------------------------------------------------------------------

PARAMS = "params/2011-12-Q1.yaml"


@refuse("params file with an unknown key")
def params_unknown_key(p: Project) -> Refuse:
    p.edit_params(lambda spec: spec.update(threshold=2.0))
    return Refuse(PARAMS, None, "threshold", "2.0", "expected only the keys")


@refuse("params file with an unknown key")
def params_unknown_option(p: Project) -> Refuse:
    p.edit_params(
        lambda spec: spec["families"]["provider_shortfall"]["options"].update(treshold_pct=2.0)
    )
    return Refuse(
        PARAMS,
        None,
        "families.provider_shortfall.options.treshold_pct",
        None,
        "the notebook's parameters are",
    )


@refuse("params file with a wrong type")
def params_wrong_type(p: Project) -> Refuse:
    p.edit_params(
        lambda spec: spec["families"]["provider_shortfall"]["options"].update(threshold_pct="high")
    )
    return Refuse(
        PARAMS,
        None,
        "families.provider_shortfall.options.threshold_pct",
        "'high'",
        "expected float",
    )


@refuse("params file with a wrong type")
def params_orgs_not_a_list(p: Project) -> Refuse:
    p.edit_params(lambda spec: spec["families"]["pct_support_needs"].update(orgs="5C9"))
    return Refuse(
        PARAMS, None, "families.pct_support_needs.orgs", "'5C9'", "expected 'all' or a list"
    )


@refuse("params file naming an unknown organisation")
def params_unknown_org(p: Project) -> Refuse:
    p.edit_params(lambda spec: spec["families"]["provider_shortfall"].update(orgs=["Q36", "RXX"]))
    return Refuse(
        PARAMS,
        None,
        "families.provider_shortfall.orgs[1]",
        "'RXX'",
        "not a known organisation code",
    )


def _next_quarter(spec: dict[str, Any]) -> None:
    spec["period"] = "2011-12-Q2"


@refuse("params file for a period with no returns", period="2011-12-Q2")
def params_period_without_returns(p: Project) -> Refuse:
    p.edit_params(_next_quarter, period="2011-12-Q2")
    return Refuse("params/2011-12-Q2.yaml", None, "returns_dir", "data/raw/2011-12-Q2", "expected")


# --- more of what finance teams send ------------------------------------------------------


@refuse("text in a money column")
def excel_turned_a_number_into_a_date(p: Project) -> Refuse:
    row = p.row_of("savings", org_code="5A4", category="productivity")
    p.to_workbook()
    wb = p.workbook()
    wb["savings"][f"F{row}"] = dt.datetime(2011, 5, 1)  # "1.5" typed into a date-formatted cell
    p.save(wb)
    return Refuse(
        "returns.xlsx [savings]", f"row {row}", "column ytd_plan_gbp_m", "'2011-05-01'", MONEY
    )


@refuse("values separated by semicolons")
def semicolon_separated(p: Project) -> Refuse:
    text = p.csv("sha_budgets").read_text(encoding="utf-8").replace(",", ";")
    p.csv("sha_budgets").write_text(text, encoding="utf-8")
    return Refuse("sha_budgets.csv", "row 1", None, "'period;month;", "expected commas")


@refuse("a totals row")
def totals_row(p: Project) -> Refuse:
    def total(rows: Rows) -> None:
        rows.append(["Total", "", "", *[""] * (len(rows[0]) - 3)])
        rows[-1][_column(rows, "amount_gbp_m")] = "1.0"

    p.edit_rows("variance_drivers", total)
    row = len(p.rows("variance_drivers"))
    return Refuse("variance_drivers.csv", f"row {row}", "column period", "'Total'", "expected")


@accept("blank lines")
def blank_lines(p: Project) -> list[Change]:
    p.edit_rows("savings", lambda rows: [r for row in rows for r in (row, [])])
    return []


@refuse("unquoted thousands separator")
def unquoted_thousands(p: Project) -> Refuse:
    row = p.row_of(FP, **RAL_M03)
    lines = p.csv(FP).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[row - 1] = lines[row - 1].replace(",484.8,", ",£1,484.8,")
    p.csv(FP).write_text("".join(lines), encoding="utf-8")
    return Refuse(
        "financial_position.csv", f"row {row}", None, "'0.0'", 'must be in quotes, e.g. "£1,234.5"'
    )


@refuse("params file that is not YAML")
def params_not_yaml(p: Project) -> Refuse:
    with p.params.open("a", encoding="utf-8") as fh:
        fh.write("  pct_support_needs: {orgs: [Q36, 5C9}\n")  # a bracket left open
    lines = len(p.params.read_text(encoding="utf-8").splitlines())
    return Refuse(PARAMS, f"line {lines}", "column", None, "not valid YAML")


@refuse("params file whose period differs from its name")
def params_period_differs(p: Project) -> Refuse:
    p.edit_params(lambda spec: spec.update(period="2011-12-Q2"))
    return Refuse(PARAMS, None, "period", "'2011-12-Q2'", "differs from the file name")


@accept("Excel's lock file and hidden files beside the returns")
def lock_and_hidden_files(p: Project) -> list[Change]:
    (p.folder / "~$returns.xlsx").write_bytes(b"\x00 owner")
    (p.folder / ".DS_Store").write_bytes(b"\x00\x00")
    return []


@refuse("a second copy of a file")
def downloaded_twice(p: Project) -> Refuse:
    (p.folder / "savings (1).csv").write_bytes(p.csv("savings").read_bytes())
    return Refuse("savings (1).csv", None, None, None, "expected financial_position.csv")


# --- incomplete and impossible returns (issue 13) -------------------------------------------
REFERENCE = "data/reference"


def _drop(p: Project, table: str, keep: Callable[[dict[str, str]], bool]) -> None:
    def drop(rows: Rows) -> Rows:
        return rows[:1] + [r for r in rows[1:] if keep(dict(zip(rows[0], r, strict=True)))]

    p.edit_rows(table, drop)


@refuse("an SHA budget line missing for a month")
def sha_line_missing(p: Project) -> Refuse:
    _drop(p, "sha_budgets", lambda r: (r["month"], r["budget_line"]) != ("M03", "reserves"))
    return Refuse(
        "sha_budgets.csv",
        None,
        None,
        "no row for budget_line 'reserves' at M03",
        "expected admin, reserves and central_budgets for every month M01 to M03",
    )


@refuse("an organisation's month missing")
def trust_month_missing(p: Project) -> Refuse:
    _drop(p, FP, lambda r: (r["org_code"], r["month"]) != ("RAL", "M02"))
    return Refuse(
        "financial_position.csv",
        None,
        None,
        "no row for 'RAL' (Royal Free Hampstead NHS Trust) at M02",
        "expected a row for every month it was open, M01 to M03",
    )


@refuse("a whole month missing")
def month_missing_everywhere(p: Project) -> Refuse:
    for table in (FP, "sha_budgets"):
        _drop(p, table, lambda r: r["month"] != "M02")
    return Refuse(
        "financial_position.csv",
        None,
        None,
        "no rows at all for M02",
        "expected a row for every NHS trust, PCT and care trust for each month M01 to M03",
    )


@refuse("an organisation's savings programme missing")
def trust_savings_missing(p: Project) -> Refuse:
    _drop(p, "savings", lambda r: r["org_code"] != "RAL")
    return Refuse(
        "savings.csv",
        None,
        None,
        "no rows for 'RAL' (Royal Free Hampstead NHS Trust)",
        "expected its savings programme: a row for each category productivity",
    )


@refuse("a savings category missing")
def savings_category_missing(p: Project) -> Refuse:
    _drop(p, "savings", lambda r: (r["org_code"], r["category"]) != ("5A4", "drugs_costs"))
    return Refuse(
        "savings.csv", None, None, "no row for '5A4'", "with category 'drugs_costs' (expected"
    )


@refuse("a trust's variance drivers missing")
def trust_drivers_missing(p: Project) -> Refuse:
    _drop(p, "variance_drivers", lambda r: r["org_code"] != "RAL")
    return Refuse(
        "variance_drivers.csv",
        None,
        None,
        "no rows for 'RAL'",
        "expected every NHS trust's explanation of its variance to plan",
    )


@refuse("a table the year must have missing")
def milestones_missing(p: Project) -> Refuse:
    p.csv("milestones").unlink()
    return Refuse(
        "milestones.csv", None, None, None, "missing (expected in every period from 2011-12 on"
    )


@refuse("an infinite number")
def infinite_money(p: Project) -> Refuse:
    row = p.set(FP, "prior_year_outturn_gbp_m", "1e309", **RAL_M03)
    return Refuse(
        "financial_position.csv",
        f"row {row}",
        "column prior_year_outturn_gbp_m",
        "'1e309'",
        "is too large to be an amount (it reads as infinity)",
    )


@refuse("an implausibly large amount")
def money_in_thousands(p: Project) -> Refuse:
    row = p.set(FP, "turnover_gbp_m", "484800", **RAL_M03)  # £000s, not £m
    return Refuse(
        "financial_position.csv",
        f"row {row}",
        "column turnover_gbp_m",
        "'484800'",
        "is larger than any NHS body's accounts (expected £ million, between -10,000 and 10,000",
    )


def _reference(p: Project, name: str) -> Path:
    return p.root / REFERENCE / f"{name}.csv"


@refuse("a duplicate code in the reference data")
def reference_duplicate_code(p: Project) -> Refuse:
    path = _reference(p, "organisations")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(n for n, line in enumerate(lines, start=1) if line.startswith("RAL,"))
    path.write_text("".join([*lines, lines[first - 1]]), encoding="utf-8")
    return Refuse(
        f"{REFERENCE}/organisations.csv",
        f"rows {first} and {len(lines) + 1}",
        None,
        "org_code 'RAL'",
        "expected one row per org_code",
    )


@refuse("a UK-style date in the reference data")
def reference_uk_date(p: Project) -> Refuse:
    path = _reference(p, "organisations")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(n for n, line in enumerate(lines, start=1) if line.startswith("RAL,"))
    fields = lines[row - 1].split(",")
    year, month, day = fields[4].split("-")
    fields[4] = f"{day}/{month}/{year}"  # 1991-04-01 as 01/04/1991
    lines[row - 1] = ",".join(fields)
    path.write_text("".join(lines), encoding="utf-8")
    return Refuse(
        f"{REFERENCE}/organisations.csv",
        f"row {row}",
        "column valid_from",
        repr(fields[4]),
        "expected a date YYYY-MM-DD",
    )


@refuse("a column missing from the reference data")
def reference_missing_column(p: Project) -> Refuse:
    path = _reference(p, "cluster_membership")
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(",".join(r[:3]) + "\n" for r in rows), encoding="utf-8")
    return Refuse(
        f"{REFERENCE}/cluster_membership.csv", None, "'valid_to'", None, "expected the columns"
    )


@refuse("a return that links outside the project")
def linked_return(p: Project) -> Refuse:
    p.csv("savings").unlink()
    p.csv("savings").symlink_to("/etc/passwd")
    return Refuse(
        "savings.csv",
        None,
        None,
        None,
        "is a link to a file outside the project and its returns folder",
        absent=("root:", "/etc/passwd"),
    )


@refuse("a header below title rows")
def workbook_title_rows(p: Project) -> Refuse:
    p.to_workbook()
    wb = p.workbook()
    wb["savings"].insert_rows(1, 2)
    wb["savings"]["A1"] = "NHS London: savings return, quarter 1 2011-12"
    p.save(wb)
    return Refuse(
        "returns.xlsx [savings]",
        "row 3",
        None,
        "the header is on row 3, not row 1",
        "delete the 2 title rows above it",
    )


@refuse("UTF-16 without a byte-order mark")
def utf16_without_bom(p: Project) -> Refuse:
    text = p.csv("sha_budgets").read_text(encoding="utf-8")
    p.csv("sha_budgets").write_bytes(text.encode("utf-16-le"))
    return Refuse(
        "sha_budgets.csv", None, None, None, "UTF-16 without a byte-order mark", absent=("\\x00",)
    )


@refuse("a code in lower case")
def lower_case_code(p: Project) -> Refuse:
    row = p.set("savings", "org_code", "ral", org_code="RAL", category="productivity")
    return Refuse("savings.csv", f"row {row}", "column org_code", "'ral'", "did you mean 'RAL'?")
