"""Problems and quoted values: where a problem is, how long lists stay short, the CSV list."""

from __future__ import annotations

import csv
import io

import pytest

from helpers.messages import QUOTE_LIMIT, quoted
from helpers.problems import Problem, problems_csv, summary_lines


def test_a_cell_problem_names_file_row_column_and_value() -> None:
    p = Problem("savings.csv", "is not a number (expected £m)", (4,), "forecast_gbp_m", "tbc")
    assert (
        str(p) == "savings.csv, row 4, column forecast_gbp_m: 'tbc' is not a number (expected £m)"
    )


def test_a_file_problem_names_the_file_only() -> None:
    p = Problem("milestones.csv", "missing (expected ...)", column="month")
    assert str(p) == "milestones.csv: missing (expected ...)"


def test_several_rows_are_listed_in_words() -> None:
    p = Problem("savings.csv", "the same key", (3, 9, 12))
    assert str(p) == "savings.csv, rows 3, 9 and 12: the same key"


def test_summary_shows_a_few_per_file_and_column_then_counts_the_rest() -> None:
    many = [Problem("a.csv", "bad", (n,), "org_code", f"X{n}") for n in range(2, 12)]
    other = [Problem("a.csv", "bad", (2,), "month", "M13"), Problem("b.csv", "missing")]
    lines = summary_lines([*many, *other], per_group=3)
    assert lines == [
        "a.csv, row 2, column org_code: 'X2' bad",
        "a.csv, row 3, column org_code: 'X3' bad",
        "a.csv, row 4, column org_code: 'X4' bad",
        "a.csv, row 2, column month: 'M13' bad",
        "b.csv: missing",
        "a.csv, column org_code: 7 more problems like those above",
    ]


def test_the_csv_lists_every_problem_and_keeps_formulas_as_text() -> None:
    rows = list(
        csv.reader(
            io.StringIO(
                problems_csv(
                    [
                        Problem("a.csv", "bad", (2, 3), "x", "=HYPERLINK(1)"),
                        Problem("a.csv", "bad", (4,), "x", "-12.9"),
                        Problem("b.csv", "missing"),
                    ]
                )
            )
        )
    )
    assert rows == [
        ["file", "row", "column", "value", "problem"],
        ["a.csv", "2 3", "x", "'=HYPERLINK(1)", "bad"],
        ["a.csv", "4", "x", "-12.9", "bad"],
        ["b.csv", "", "", "", "missing"],
    ]


def test_quoted_values_are_never_longer_than_a_line() -> None:
    assert quoted("tbc") == "'tbc'"
    long = quoted("x" * 1_000_000)
    assert long.endswith("... (1,000,000 characters)") and len(long) < QUOTE_LIMIT + 40
    nested: object = [1] * 9
    for _ in range(9):  # what a YAML alias bomb expands to: 9**10 items
        nested = [nested] * 9
    assert len(quoted(nested)) <= 2 * QUOTE_LIMIT + 3
    assert len(quoted({f"k{i}": "v" * 500 for i in range(500)})) <= 2 * QUOTE_LIMIT + 3


def test_column_letters_match_openpyxl() -> None:
    """The kit's column letters are openpyxl's (the reference), without importing it per run."""
    from openpyxl.utils import get_column_letter

    from helpers.problems import column_letter

    assert [column_letter(n) for n in range(1, 18279)] == [
        get_column_letter(n) for n in range(1, 18279)
    ]
    with pytest.raises(ValueError, match="starts at 1"):
        column_letter(0)
