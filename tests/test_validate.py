"""The data contract: the valid fixture passes, and each rule broken gives one clear problem.

Each test breaks the fixture of tests/fixtures_returns.py in one way and checks the message
names the file, the row (header = row 1), the column, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import openpyxl
import pandas as pd
import pandas.testing as pdt
import pytest
from fixtures_returns import COLUMNS, PERIOD, ReturnsKit

from helpers import cli
from helpers.data.organisations import load_reference
from helpers.data.periods import Period
from helpers.data.store import available_periods
from helpers.data.validate import validate_period
from helpers.errors import NoDataError, ValidationError
from helpers.paths import RAW_DIR, ProjectPaths

MONEY = "(expected £m, e.g. -12.9, (12.9) or £1,234.5)"


def only(problems: list[str]) -> str:
    """The one problem found (fails listing them all if there are more)."""
    assert len(problems) == 1, "\n".join(problems)
    return problems[0]


# --- the valid fixture and the sample -----------------------------------------------------
def test_valid_fixture_passes_with_typed_sorted_frames(returns_kit: ReturnsKit) -> None:
    assert returns_kit.problems() == []
    data = returns_kit.validate()
    fp = data.financial_position
    assert list(fp.columns) == COLUMNS["financial_position"]
    assert fp["org_code"].dtype == "str"
    assert fp["forecast_outturn_gbp_m"].dtype == "float64"
    assert list(fp[["org_code", "month"]].itertuples(index=False, name=None))[:4] == [
        ("5A7", "M01"),
        ("5A7", "M02"),
        ("5A7", "M03"),
        ("5K7", "M01"),
    ]
    assert fp.index.equals(pd.RangeIndex(len(fp)))
    rj2 = fp.loc[(fp["org_code"] == "RJ2") & (fp["month"] == "M03")].iloc[0]
    assert rj2["forecast_outturn_gbp_m"] == -3.0  # "(3.0)"
    assert rj2["turnover_gbp_m"] == 1234.5  # "£1,234.5"
    assert rj2["ytd_actual_gbp_m"] == -0.6  # "(0.6)"
    ms = data.milestones
    assert data.has_milestones
    assert ms["due_date"].dtype == "datetime64[ns]"
    assert ms["revised_date"].dtype == "datetime64[ns]"
    assert ms["delay_months"].dtype == "Int64"
    assert ms.loc[ms["milestone_id"] == "SEL-002", "delay_months"].iloc[0] == 2
    assert ms["org_code"].isna().sum() == 1  # a cluster-wide scheme
    assert data.savings["forecast_recurrent_gbp_m"].isna().sum() == 1


@pytest.mark.parametrize("period", [str(p) for p in available_periods()])
def test_sample_periods_are_valid(period: str) -> None:
    data = validate_period(Period.parse(period), RAW_DIR, load_reference())
    assert len(data.financial_position) > 0


def test_columns_in_another_order_are_accepted(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    expected = returns_kit.validate()
    shuffled = {name: list(reversed(cols)) for name, cols in COLUMNS.items()}
    returns_kit.write(columns=shuffled)
    data = returns_kit.validate()
    for name in COLUMNS:
        pdt.assert_frame_equal(data.table(name), expected.table(name))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_cp1252_files_give_the_same_data(
    returns_kit: ReturnsKit, encoding: str, tmp_path: Path
) -> None:
    plain = ReturnsKit(tmp_path / "plain")
    plain.write()
    returns_kit.write(encoding=encoding)
    written = (returns_kit.folder / "financial_position.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf") if encoding == "utf-8-sig" else b"\xa3" in written
    data, expected = returns_kit.validate(), plain.validate()
    for name in COLUMNS:
        pdt.assert_frame_equal(data.table(name), expected.table(name))


def test_workbook_gives_the_same_data_as_csv_files(returns_kit: ReturnsKit, tmp_path: Path) -> None:
    """Numbers typed as numbers, a formula with its saved value, dates in three spellings."""
    csv_kit = ReturnsKit(tmp_path / "csv")
    csv_kit.write()
    book = returns_kit.write_workbook()
    assert book.name == "returns.xlsx"
    data, expected = returns_kit.validate(), csv_kit.validate()
    for name in COLUMNS:
        pdt.assert_frame_equal(data.table(name), expected.table(name), check_dtype=True)


def test_workbook_messages_name_the_sheet(returns_kit: ReturnsKit) -> None:
    returns_kit.set("savings", "category", "prod", org_code="RRU")
    returns_kit.write_workbook()
    assert only(returns_kit.problems(write=False)) == (
        "returns.xlsx [savings], row 4, column category: 'prod' is not allowed (expected one "
        "of productivity, integration, drugs_costs, running_costs, activity_management)"
    )


def test_workbook_header_that_does_not_match(returns_kit: ReturnsKit) -> None:
    path = returns_kit.write_workbook(formula=False)  # openpyxl drops saved formula values
    wb = openpyxl.load_workbook(path)
    wb["variance_drivers"]["D1"] = "Amount (£m)"
    wb.save(path)
    problems = returns_kit.problems(write=False)
    assert problems[0].startswith(
        "returns.xlsx [variance_drivers]: unknown column 'Amount (£m)' (expected only the "
        "columns period, org_code, driver, amount_gbp_m"
    )
    assert problems[1].startswith("returns.xlsx [variance_drivers]: missing column 'amount_gbp_m'")


# --- reading and headers ------------------------------------------------------------------
def test_money_that_is_not_a_number(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set(
        "financial_position", "forecast_outturn_gbp_m", "twelve", org_code="5A7", month="M02"
    )
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, row {row}, column forecast_outturn_gbp_m: 'twelve' is not "
        f"a number {MONEY}"
    )


def test_missing_column(returns_kit: ReturnsKit) -> None:
    cols = [c for c in COLUMNS["financial_position"] if c != "lctb_support_gbp_m"]
    returns_kit.write(columns={"financial_position": cols})
    problem = only(returns_kit.problems(write=False))
    assert problem.startswith(
        "financial_position.csv: missing column 'lctb_support_gbp_m' (expected the columns "
        "period, month, org_code,"
    )
    assert problem.endswith("; their order does not matter)")


def test_unknown_column_with_a_hint(returns_kit: ReturnsKit) -> None:
    cols = [*COLUMNS["savings"], "Notes"]
    cols[cols.index("forecast_gbp_m")] = "forecast_gbp"
    returns_kit.write(columns={"savings": cols})
    problems = returns_kit.problems(write=False)
    assert problems[0].startswith("savings.csv: unknown column 'forecast_gbp' (expected only")
    assert problems[0].endswith("forecast_recurrent_gbp_m; did you mean 'forecast_gbp_m'?)")
    assert problems[1].startswith("savings.csv: unknown column 'Notes' (expected only the")
    assert problems[2].startswith("savings.csv: missing column 'forecast_gbp_m'")
    assert len(problems) == 3


def test_unknown_extra_column_alone_still_checks_rows(returns_kit: ReturnsKit) -> None:
    returns_kit.set("savings", "category", "prod", org_code="RRU")
    returns_kit.write(columns={"savings": [*COLUMNS["savings"], "Notes"]})
    problems = returns_kit.problems(write=False)
    assert [p.split(":")[0] for p in problems] == [
        "savings.csv",
        "savings.csv, row 4, column category",
    ]


def test_duplicated_column_names(returns_kit: ReturnsKit) -> None:
    returns_kit.write(columns={"savings": [*COLUMNS["savings"], "category"]})
    assert only(returns_kit.problems(write=False)) == (
        "savings.csv: column 'category' appears 2 times (columns D and J) "
        "(expected each column once)"
    )


def test_empty_file(returns_kit: ReturnsKit) -> None:
    (returns_kit.write() / "savings.csv").write_text("")
    assert only(returns_kit.problems(write=False)) == (
        "savings.csv: the file is empty (expected a header row with the columns period, "
        "org_code, programme, category, annual_plan_gbp_m, ytd_plan_gbp_m, ytd_actual_gbp_m, "
        "forecast_gbp_m, forecast_recurrent_gbp_m)"
    )


def test_blank_header_row(returns_kit: ReturnsKit) -> None:
    path = returns_kit.write() / "variance_drivers.csv"
    path.write_text("\n" + path.read_text())
    assert only(returns_kit.problems(write=False)) == (
        "variance_drivers.csv, row 1: the header row is empty but rows below hold values "
        "(expected a header row with the columns period, org_code, driver, amount_gbp_m)"
    )


def test_header_only_required_table(returns_kit: ReturnsKit) -> None:
    returns_kit.tables["savings"] = []
    assert only(returns_kit.problems()) == (
        "savings.csv: no data rows, only the header (expected at least one row: savings is a "
        "required table)"
    )


def test_header_only_milestones_are_fine(returns_kit: ReturnsKit) -> None:
    returns_kit.tables["milestones"] = []
    assert returns_kit.problems() == []
    data = returns_kit.validate()
    assert not data.has_milestones
    assert list(data.milestones.columns) == COLUMNS["milestones"]
    assert data.milestones["due_date"].dtype == "datetime64[ns]"


def test_milestones_are_required_from_2011_12(returns_kit: ReturnsKit) -> None:
    """QIPP milestone tracking began in 2011-12: a 2011-12 folder without the table is refused."""
    returns_kit.write(skip=("milestones",))
    assert only(returns_kit.problems(write=False)) == (
        "milestones.csv: missing (expected in every period from 2011-12 on: 2011-12-Q1 is in "
        "2011-12)"
    )


def test_missing_required_file(returns_kit: ReturnsKit) -> None:
    returns_kit.write(skip=("variance_drivers",))
    assert only(returns_kit.problems(write=False)) == (
        "variance_drivers.csv: missing (a required table of the returns)"
    )


def test_missing_or_empty_folder_is_no_data(returns_kit: ReturnsKit) -> None:
    with pytest.raises(NoDataError, match="does not exist"):
        returns_kit.validate()
    returns_kit.folder.mkdir(parents=True)
    with pytest.raises(NoDataError, match="holds no CSV files"):
        returns_kit.validate()


def test_csv_and_workbook_together(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    returns_kit.write_workbook()
    assert "and returns.xlsx; keep one or the other" in only(returns_kit.problems(write=False))


# --- one table's rows ---------------------------------------------------------------------
def test_month_label_not_m01_to_m12(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set("sha_budgets", "month", "M13", month="M01", budget_line="admin")
    b = returns_kit.set("sha_budgets", "month", "Jan", month="M01", budget_line="reserves")
    assert returns_kit.problems() == [
        f"sha_budgets.csv, row {a}, column month: 'M13' is not a month label (expected M01 to M12)",
        f"sha_budgets.csv, row {b}, column month: 'Jan' is not a month label (expected M01 to M12)",
    ]


def test_month_beyond_the_period(returns_kit: ReturnsKit) -> None:
    row = returns_kit.add("sha_budgets", month="M04")
    assert only(returns_kit.problems()) == (
        f"sha_budgets.csv, row {row}, column month: 'M04' is after the period's position "
        "(expected M01 to M03 for 2011-12-Q1)"
    )


def test_period_column_differs_from_folder(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("variance_drivers", "period", "2011-12-Q2", driver="other")
    assert only(returns_kit.problems()) == (
        f"variance_drivers.csv, row {row}, column period: '2011-12-Q2' differs from the "
        "folder's period (expected '2011-12-Q1')"
    )


def test_duplicate_key_names_both_rows(returns_kit: ReturnsKit) -> None:
    first = returns_kit.row("financial_position", org_code="RJ2", month="M02")
    second = returns_kit.add("financial_position", org_code="RJ2", month="M02")
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, rows {first} and {second}: the same key (org_code 'RJ2', "
        "month 'M02') appears 2 times (expected one row per org_code and month)"
    )


def test_negative_turnover_and_savings(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set(
        "financial_position", "turnover_gbp_m", "(290.1)", org_code="RRU", month="M02"
    )
    b = returns_kit.set("savings", "ytd_actual_gbp_m", "-0.5", org_code="RRU")
    assert returns_kit.problems() == [
        f"financial_position.csv, row {a}, column turnover_gbp_m: '(290.1)' is negative "
        "(expected a number ≥ 0)",
        f"savings.csv, row {b}, column ytd_actual_gbp_m: '-0.5' is negative "
        "(expected a number ≥ 0)",
    ]


def test_negative_resource_limit(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set(
        "financial_position", "resource_limit_gbp_m", "-480", org_code="5K7", month="M01"
    )
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, row {row}, column resource_limit_gbp_m: '-480' is negative "
        "(expected a number ≥ 0)"
    )


def test_required_value_missing(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("sha_budgets", "annual_plan_gbp_m", "", month="M02", budget_line="admin")
    assert only(returns_kit.problems()) == (
        f"sha_budgets.csv, row {row}, column annual_plan_gbp_m: value missing {MONEY}"
    )


def test_three_errors_in_one_file_give_three_problems(returns_kit: ReturnsKit) -> None:
    row = returns_kit.row("savings", org_code="RRU")
    returns_kit.tables["savings"][row - 2].update(
        category="prod", annual_plan_gbp_m="two", programme=""
    )
    problems = returns_kit.problems()
    assert problems == [
        f"savings.csv, row {row}, column annual_plan_gbp_m: 'two' is not a number "
        "(expected £m ≥ 0, e.g. 12.9 or £1,234.5)",
        f"savings.csv, row {row}, column programme: value missing (expected one of CIP, QIPP)",
        f"savings.csv, row {row}, column category: 'prod' is not allowed (expected one of "
        "productivity, integration, drugs_costs, running_costs, activity_management)",
    ]


def test_all_problems_of_all_files_at_once(returns_kit: ReturnsKit) -> None:
    returns_kit.set("financial_position", "ytd_plan_gbp_m", "x", org_code="RJ2", month="M01")
    returns_kit.set("sha_budgets", "budget_line", "estates", month="M01", budget_line="admin")
    returns_kit.set("milestones", "status", "done", milestone_id="SEL-001")
    returns_kit.write()
    with pytest.raises(ValidationError) as info:
        returns_kit.validate()
    assert [str(p).split(",")[0] for p in info.value.problems] == [
        "financial_position.csv",
        "sha_budgets.csv",
        "milestones.csv",
    ]
    assert str(info.value).startswith("2011-12-Q1: 3 problem(s) in ")


# --- reference data -----------------------------------------------------------------------
def test_unknown_organisation_code(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("savings", "org_code", "XYZ", org_code="RRU")
    assert only(returns_kit.problems()) == (
        f"savings.csv, row {row}, column org_code: 'XYZ' is not a known organisation code "
        "(expected a code listed in data/reference/organisations.csv)"
    )


def test_organisation_not_open_in_that_month(returns_kit: ReturnsKit) -> None:
    """RYX opened on 1 July 2011: a row at M01 (April) is wrong; it is not required at all."""
    row = returns_kit.add("financial_position", org_code="RYX", month="M01")
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, row {row}, column org_code: 'RYX' (New Community NHS Trust) "
        "was not open in M01 (April 2011) (expected an organisation open in that month; "
        "it opened on 2011-07-01)"
    )


def test_organisation_closed_before_the_period_end(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("savings", "org_code", "RNJ", org_code="RRU")
    assert only(returns_kit.problems()) == (
        f"savings.csv, row {row}, column org_code: 'RNJ' (Old Closed NHS Trust) was not open "
        "at the period end 2011-06-30 (expected an organisation valid in 2011-12-Q1; it was "
        "open from 1994-04-01 to 2011-03-31)"
    )


def test_pct_in_variance_drivers(returns_kit: ReturnsKit) -> None:
    row = returns_kit.add("variance_drivers", org_code="5A7", driver="other", amount_gbp_m="0")
    assert only(returns_kit.problems()) == (
        f"variance_drivers.csv, row {row}, column org_code: '5A7' (Bromley PCT) is a PCT "
        "(expected an NHS trust)"
    )


def test_cluster_in_financial_position(returns_kit: ReturnsKit) -> None:
    row = returns_kit.add("financial_position", org_code="NCL")
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, row {row}, column org_code: 'NCL' (North Central London) "
        "is a cluster (expected an NHS trust, PCT or care trust)"
    )


def test_programme_must_match_organisation_type(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set("savings", "programme", "QIPP", org_code="RRU")
    b = returns_kit.set("savings", "programme", "CIP", org_code="5K7")
    assert returns_kit.problems() == [
        f"savings.csv, row {a}, column programme: 'QIPP' for RRU (an NHS trust) (expected "
        "'CIP': CIP for NHS trusts, QIPP for PCTs and the care trust)",
        f"savings.csv, row {b}, column programme: 'CIP' for 5K7 (a PCT) (expected 'QIPP': "
        "CIP for NHS trusts, QIPP for PCTs and the care trust)",
    ]


def test_turnover_for_trusts_resource_limit_for_pcts(returns_kit: ReturnsKit) -> None:
    fp = "financial_position"
    a = returns_kit.set(fp, "turnover_gbp_m", "", org_code="RRU", month="M02")
    b = returns_kit.set(fp, "turnover_gbp_m", "5", org_code="5A7", month="M02")
    c = returns_kit.set(fp, "resource_limit_gbp_m", "", org_code="5K7", month="M01")
    d = returns_kit.set(fp, "resource_limit_gbp_m", "100", org_code="RJ2", month="M01")
    assert returns_kit.problems() == [
        f"{fp}.csv, row {d}, column resource_limit_gbp_m: '100' given for RJ2 (an NHS trust) "
        "(expected empty: resource_limit_gbp_m is for PCTs and care trusts only)",
        f"{fp}.csv, row {a}, column turnover_gbp_m: value missing for RRU (an NHS trust) "
        "(expected its annual turnover in £m)",
        f"{fp}.csv, row {b}, column turnover_gbp_m: '5' given for 5A7 (a PCT) "
        "(expected empty: turnover_gbp_m is for NHS trusts only)",
        f"{fp}.csv, row {c}, column resource_limit_gbp_m: value missing for 5K7 (a PCT) "
        "(expected its revenue resource limit in £m)",
    ]


def test_pct_only_amounts_are_zero_for_trusts(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set(
        "financial_position", "lctb_support_gbp_m", "1.0", org_code="RRU", month="M01"
    )
    assert only(returns_kit.problems()) == (
        f"financial_position.csv, row {row}, column lctb_support_gbp_m: '1.0' for RRU (an NHS "
        "trust) (expected 0: lctb_support_gbp_m is for PCTs)"
    )


def test_missing_organisation_at_the_period_month(returns_kit: ReturnsKit) -> None:
    tables = returns_kit.tables
    tables["financial_position"] = [
        r for r in tables["financial_position"] if (r["org_code"], r["month"]) != ("5K7", "M03")
    ]
    assert only(returns_kit.problems()) == (
        "financial_position.csv: no row for '5K7' (Camden PCT) at M03 (expected a row for "
        "every month it was open, M01 to M03: the year-to-date and movement figures need every "
        "month)"
    )


# --- savings and parts that add up --------------------------------------------------------
def test_savings_plan_to_date_above_annual_plan(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set(
        "savings", "ytd_plan_gbp_m", "3.5", org_code="RJ2", category="productivity"
    )
    assert only(returns_kit.problems()) == (
        f"savings.csv, row {row}, column ytd_plan_gbp_m: '3.5' is more than annual_plan_gbp_m "
        "'3.0' (expected ytd_plan_gbp_m ≤ annual_plan_gbp_m: the plan to date is at most the "
        "annual plan)"
    )


def test_savings_recurrent_above_forecast(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("savings", "forecast_recurrent_gbp_m", "2.5", org_code="RRU")
    assert only(returns_kit.problems()) == (
        f"savings.csv, row {row}, column forecast_recurrent_gbp_m: '2.5' is more than "
        "forecast_gbp_m '2.0' (expected forecast_recurrent_gbp_m ≤ forecast_gbp_m: the "
        "recurrent part is at most the forecast)"
    )


def test_variance_drivers_must_add_up(returns_kit: ReturnsKit) -> None:
    returns_kit.set("variance_drivers", "amount_gbp_m", "-3.2", driver="cip_slippage")
    fp_row = returns_kit.row("financial_position", org_code="RJ2", month="M03")
    assert only(returns_kit.problems()) == (
        "variance_drivers.csv, rows 2, 3, 4, 7 and 8, column amount_gbp_m: the variance drivers of "
        "'RJ2' (Lewisham Healthcare NHS Trust) add up to -4.7 but its variance to plan is -5.0 "
        f"(financial_position.csv, row {fp_row}, M03: forecast_outturn_gbp_m -3.0 − "
        "annual_plan_gbp_m 2.0); difference 0.3 (expected the drivers to add up to the "
        "variance within 0.05)"
    )


def test_variance_drivers_within_tolerance(returns_kit: ReturnsKit) -> None:
    returns_kit.set("variance_drivers", "amount_gbp_m", "-3.46", driver="cip_slippage")
    assert returns_kit.problems() == []


def test_trust_with_a_variance_and_no_drivers(returns_kit: ReturnsKit) -> None:
    tables = returns_kit.tables
    tables["variance_drivers"] = [r for r in tables["variance_drivers"] if r["org_code"] != "RJ2"]
    assert only(returns_kit.problems()) == (
        "variance_drivers.csv: no rows for 'RJ2' (Lewisham Healthcare NHS Trust) (expected "
        "every NHS trust's explanation of its variance to plan: a row for each driver "
        "cip_slippage, activity_above_plan, premium_costs, restructuring and other, 0 where "
        "there is none)"
    )


# --- milestones ---------------------------------------------------------------------------
def test_milestone_status_allowed_values(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("milestones", "status", "done", milestone_id="SEL-001")
    assert only(returns_kit.problems()) == (
        f"milestones.csv, row {row}, column status: 'done' is not allowed (expected one of "
        "met, missed, not_yet_due)"
    )


def test_milestone_status_against_due_date(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set("milestones", "due_date", "2011-07-31", milestone_id="SEL-001")
    b = returns_kit.set("milestones", "due_date", "2011-06-30", milestone_id="NCL-001")
    assert returns_kit.problems() == [
        f"milestones.csv, row {a}, column status: 'met' but due_date 2011-07-31 is after the "
        "period end 2011-06-30 (expected 'not_yet_due')",
        f"milestones.csv, row {b}, column status: 'not_yet_due' but due_date 2011-06-30 is on "
        "or before the period end 2011-06-30 (expected 'met' or 'missed')",
    ]


def test_missed_milestone_needs_revised_date_delay_and_reason(returns_kit: ReturnsKit) -> None:
    for col in ("revised_date", "delay_months", "reason_category"):
        row = returns_kit.set("milestones", col, "", milestone_id="SEL-002")
    assert returns_kit.problems() == [
        f"milestones.csv, row {row}, column revised_date: value missing for a missed milestone "
        "(expected a revised date after the due date)",
        f"milestones.csv, row {row}, column delay_months: value missing for a missed milestone "
        "(expected the delay in whole months)",
        f"milestones.csv, row {row}, column reason_category: value missing for a missed "
        "milestone (expected a reason category)",
    ]


def test_missed_milestone_values(returns_kit: ReturnsKit) -> None:
    row = returns_kit.set("milestones", "revised_date", "2011-06-15", milestone_id="SEL-002")
    returns_kit.set("milestones", "delay_months", "-1", milestone_id="SEL-002")
    returns_kit.set("milestones", "reason_category", "weather", milestone_id="SEL-002")
    assert returns_kit.problems() == [
        f"milestones.csv, row {row}, column delay_months: '-1' is negative (expected a whole "
        "number ≥ 0)",
        f"milestones.csv, row {row}, column reason_category: 'weather' is not allowed (expected "
        "one of awaiting_guidance, awaiting_agreement, specification, recruitment, "
        "procurement, capacity, other)",
        f"milestones.csv, row {row}, column revised_date: '2011-06-15' is not after due_date "
        "2011-06-15 (expected a revised date after the due date)",
    ]


def test_dates_and_whole_numbers_must_parse(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set("milestones", "due_date", "31/05/2011", milestone_id="SEL-001")
    b = returns_kit.set("milestones", "delay_months", "1.5", milestone_id="SEL-002")
    c = returns_kit.set("milestones", "revised_date", "2011-02-30", milestone_id="SEL-002")
    assert returns_kit.problems() == [
        f"milestones.csv, row {a}, column due_date: '31/05/2011' is not a date (expected a "
        "date YYYY-MM-DD, e.g. 2011-09-30)",
        f"milestones.csv, row {c}, column revised_date: '2011-02-30' is not a date (expected "
        "a date YYYY-MM-DD, e.g. 2011-09-30)",
        f"milestones.csv, row {b}, column delay_months: '1.5' is not a whole number (expected "
        "a whole number ≥ 0)",
    ]


def test_milestone_org_must_be_member_of_cluster(returns_kit: ReturnsKit) -> None:
    a = returns_kit.set("milestones", "org_code", "5K7", milestone_id="SEL-001")
    b = returns_kit.set("milestones", "cluster_code", "XXL", milestone_id="NCL-001")
    assert returns_kit.problems() == [
        f"milestones.csv, row {a}, column org_code: '5K7' (Camden PCT) is not a member of "
        "cluster SEL at 2011-06-30 (expected empty or one of 5A7)",
        f"milestones.csv, row {b}, column cluster_code: 'XXL' is not a cluster open at the "
        "period end (expected one of NCL, SEL)",
    ]


def test_duplicate_milestone_id(returns_kit: ReturnsKit) -> None:
    returns_kit.set("milestones", "milestone_id", "SEL-001", milestone_id="SEL-002")
    assert only(returns_kit.problems()) == (
        "milestones.csv, rows 2 and 3: the same key (milestone_id 'SEL-001') appears 2 times "
        "(expected one row per milestone_id)"
    )


# --- the command --------------------------------------------------------------------------
def _point_command_at(monkeypatch: pytest.MonkeyPatch, kit: ReturnsKit) -> None:
    """``nhs-kit`` (in this process) works on the fixture's folders."""
    paths = dataclasses.replace(
        ProjectPaths.under(kit.root),
        raw=kit.raw_dir,
        processed=kit.processed_dir,
        reference=kit.reference_dir,
    )
    monkeypatch.setattr(cli, "DEFAULT", paths)


def validate_command(periods: list[str] | None) -> int:
    """``nhs-kit validate [--period P ...]``: its exit code (output in capsys)."""
    return cli.main(["validate", *(a for p in periods or [] for a in ("--period", p))])


def test_validate_command_ok(
    returns_kit: ReturnsKit, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _point_command_at(monkeypatch, returns_kit)
    returns_kit.write()
    assert validate_command(None) == 0
    assert capsys.readouterr().out == ("2011-12-Q1: OK — 54 rows in 5 tables, 4 organisations\n")
    assert (returns_kit.processed_dir / PERIOD / "manifest.json").is_file()


def test_validate_command_lists_problems(
    returns_kit: ReturnsKit, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _point_command_at(monkeypatch, returns_kit)
    returns_kit.set("savings", "category", "prod", org_code="RRU")
    returns_kit.write()
    outputs = returns_kit.root / "outputs"
    assert validate_command([PERIOD]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2011-12-Q1: 1 problem(s)"
    assert out[1].startswith("  - savings.csv, row 4, column category: 'prod' is not allowed")
    assert out[2] == "  every problem is listed in outputs/2011-12-Q1/validation.csv"
    assert not (returns_kit.processed_dir / PERIOD).exists()
    listed = pd.read_csv(outputs / PERIOD / "validation.csv", dtype=str, keep_default_na=False)
    assert listed.to_dict("records") == [
        {
            "file": "savings.csv",
            "row": "4",
            "column": "category",
            "value": "prod",
            "problem": "is not allowed (expected one of productivity, integration, drugs_costs, "
            "running_costs, activity_management)",
        }
    ]
    returns_kit.set("savings", "category", "productivity", org_code="RRU")
    returns_kit.write()
    assert validate_command([PERIOD]) == 0  # put right: the stale list goes
    assert not (outputs / PERIOD / "validation.csv").exists()


def test_validate_command_no_data(
    returns_kit: ReturnsKit, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _point_command_at(monkeypatch, returns_kit)
    assert validate_command(None) == 2
    assert capsys.readouterr().err.startswith("error: no period folders under ")
    assert validate_command(["2011-12-Q2"]) == 2
    assert "does not exist" in capsys.readouterr().out


# --- a long list of problems --------------------------------------------------------------
def test_200_000_problems_give_a_short_message_and_a_full_list(
    returns_kit: ReturnsKit, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An analyst sees a few problems per file and column and a count; the CSV has them all."""
    _point_command_at(monkeypatch, returns_kit)
    extra = [{**returns_kit.tables["savings"][0], "org_code": f"Z{i:05d}"} for i in range(200_000)]
    returns_kit.tables["savings"] += extra
    returns_kit.write()
    outputs = returns_kit.root / "outputs"
    assert validate_command([PERIOD]) == 2
    out = capsys.readouterr().out
    assert len(out) < 4_000, out[:4_000]
    lines = out.splitlines()
    assert lines[0] == "2011-12-Q1: 200,000 problem(s)"
    shown = [line for line in lines if "is not a known organisation code" in line]
    assert len(shown) == 5
    assert "  - savings.csv, column org_code: 199,995 more problems like those above" in lines
    listed = pd.read_csv(outputs / PERIOD / "validation.csv", dtype=str, keep_default_na=False)
    assert len(listed) == 200_000
    assert listed["value"].iloc[-1] == "Z199999"
    assert set(listed["column"]) == {"org_code"}
