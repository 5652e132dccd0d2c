"""Period: parsing, text round trip, time order, neighbours, months and dates."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers.data.periods import Period, month_number
from helpers.errors import KitError, PeriodError


@pytest.mark.parametrize("text", ["2010-11-M10", "2011-12-Q1", "2011-12-M01", "1999-00-Q4"])
def test_parse_and_str_round_trip(text: str) -> None:
    assert str(Period.parse(text)) == text


def test_parse_fields() -> None:
    p = Period.parse(" 2011-12-Q1 ")
    assert (p.start_year, p.kind, p.number) == (2011, "Q", 1)
    assert p.financial_year == "2011-12"
    assert p.month == 3
    assert p.end_month_label == "M03"
    assert p.is_quarter


@pytest.mark.parametrize(
    "text",
    [
        "2011-12",
        "2011-13-M01",  # not consecutive years
        "2011-12-M13",
        "2011-12-M00",
        "2011-12-M1",  # months have two digits
        "2011-12-Q5",
        "2011-12-Q01",
        "2011-12-m01",
        "11-12-M01",
        "",
        "2011/12-M01",
    ],
)
def test_bad_strings_are_rejected(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_period_error_is_a_kit_error_and_value_error() -> None:
    with pytest.raises(KitError):
        Period.parse("nonsense")
    with pytest.raises(ValueError, match="YYYY-YY-MNN"):
        Period.parse("nonsense")


def test_order_is_time_not_text() -> None:
    texts = [
        "2011-12-Q1",
        "2010-11-M11",
        "2011-12-M04",
        "2010-11-M10",
        "2011-12-M03",
        "2010-11-M09",
    ]
    ordered = [str(p) for p in sorted(Period.parse(t) for t in texts)]
    assert ordered == [
        "2010-11-M09",
        "2010-11-M10",
        "2010-11-M11",
        "2011-12-M03",
        "2011-12-Q1",
        "2011-12-M04",
    ]
    # as text, 2011-12-M04 would sort before 2011-12-Q1
    assert Period.parse("2011-12-M03") < Period.parse("2011-12-Q1") < Period.parse("2011-12-M04")
    assert Period.parse("2010-11-M12") < Period.parse("2011-12-M01")


def test_equality_and_hash() -> None:
    assert Period.parse("2011-12-Q1") == Period(2011, "Q", 1)
    assert len({Period.parse("2011-12-Q1"), Period.parse("2011-12-Q1")}) == 1
    assert Period.parse("2011-12-Q1") != Period.parse("2011-12-M03")


def test_previous_and_next_across_year_ends() -> None:
    assert str(Period.parse("2011-12-M01").previous()) == "2010-11-M12"
    assert str(Period.parse("2010-11-M12").next()) == "2011-12-M01"
    assert str(Period.parse("2011-12-Q1").previous()) == "2010-11-Q4"
    assert str(Period.parse("2010-11-Q4").next()) == "2011-12-Q1"
    assert str(Period.parse("2010-11-M10").next()) == "2010-11-M11"
    assert str(Period.parse("2011-12-Q2").previous()) == "2011-12-Q1"


def test_months_up_to_the_position() -> None:
    assert Period.parse("2011-12-Q1").months() == ["M01", "M02", "M03"]
    assert Period.parse("2010-11-M10").months()[-1] == "M10"
    assert len(Period.parse("2010-11-M10").months()) == 10
    assert Period.parse("2011-12-Q4").months()[-1] == "M12"


def test_dates() -> None:
    q1 = Period.parse("2011-12-Q1")
    assert q1.end_date == dt.date(2011, 6, 30)
    assert q1.start_date == dt.date(2011, 4, 1)
    assert q1.year_start == dt.date(2011, 4, 1)
    assert Period.parse("2011-12-Q3").end_date == dt.date(2011, 12, 31)
    assert Period.parse("2011-12-Q4").end_date == dt.date(2012, 3, 31)
    assert Period.parse("2010-11-M10").end_date == dt.date(2011, 1, 31)
    assert Period.parse("2011-12-M11").end_date == dt.date(2012, 2, 29)  # leap year


def test_calendar_month() -> None:
    m10 = Period.parse("2010-11-M10")
    assert m10.calendar_month() == (2011, 1)  # M10 is January
    assert m10.calendar_month(1) == (2010, 4)  # M01 is April
    assert m10.calendar_month(9) == (2010, 12)
    assert m10.calendar_month(12) == (2011, 3)


def test_label() -> None:
    assert Period.parse("2010-11-M10").label == "month 10 2010-11 (January 2011)"
    assert Period.parse("2011-12-Q1").label == "quarter 1 2011-12 (to June 2011)"


def test_month_number() -> None:
    assert month_number("M07") == 7
    for bad in ("M13", "M7", "7", "Q1"):
        with pytest.raises(PeriodError):
            month_number(bad)
