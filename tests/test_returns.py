"""Reading returns: board-paper numbers, encodings, CSV and Excel as the same text frames."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import openpyxl
import pandas as pd
import pandas.testing as pdt
import pytest
from fixtures_returns import COLUMNS, ReturnsKit, csv_text, set_cached_value

from helpers.data.returns import decode_text, parse_money, read_csv_table, read_returns
from helpers.errors import NoDataError


# --- parse_money --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("£1,234.5", 1234.5),
        ("(12.9)", -12.9),
        ("-12.9", -12.9),
        ("12.9", 12.9),
        (" 12.9 ", 12.9),
        ("\u00a012.9", 12.9),
        ("£ 12.9", 12.9),
        ("-£12.9", -12.9),
        ("£-12.9", -12.9),
        ("(£1,234.5)", -1234.5),
        ("( 12.9 )", -12.9),
        ("−12.9", -12.9),  # the typographic minus sign
        ("+3", 3.0),
        ("1,234,567.25", 1234567.25),
        (".5", 0.5),
        ("0", 0.0),
        ("1e-05", 1e-05),
        ("Â£12.9", 12.9),  # a UTF-8 £ read as cp1252
        (12, 12.0),
        (-0.4, -0.4),
    ],
)
def test_parse_money_accepts_board_paper_spellings(text: object, value: float) -> None:
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["", "   ", None])
def test_parse_money_empty_is_nan(text: object) -> None:
    assert math.isnan(parse_money(text))


@pytest.mark.parametrize(
    "text",
    [
        "twelve",
        "12,9",
        "1,23",
        "(12.9",
        "12.9)",
        "(-12.9)",
        "--1",
        "£",
        "12.9m",
        "-",
        "nan",
        "1 234",
        "12.9-",
        "£12.9£",
        True,
    ],
)
def test_parse_money_rejects_anything_else(text: object) -> None:
    with pytest.raises(ValueError, match="is not a number"):
        parse_money(text)


# --- encodings ----------------------------------------------------------------------------
def test_decode_text_encodings() -> None:
    assert decode_text("£1".encode()) == ("£1", "utf-8")
    assert decode_text(b"\xef\xbb\xbf\xc2\xa31") == ("£1", "utf-8-sig")
    assert decode_text(b"\xa31") == ("£1", "cp1252")
    with pytest.raises(ValueError, match="UTF-16"):
        decode_text("£1".encode("utf-16"))
    with pytest.raises(ValueError, match=r"byte 0x81 at position 1"):
        decode_text(b"a\x81b")  # undefined in cp1252 too


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_utf8_bom_does_not_pollute_the_first_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "variance_drivers.csv", "period,amount_gbp_m\nx,£1.5\n", "utf-8-sig")
    table, found = read_csv_table(path, "variance_drivers")
    problems = [str(p) for p in found]
    assert problems == []
    assert table.header == ("period", "amount_gbp_m")
    assert table.frame.loc[2, "amount_gbp_m"] == "£1.5"


def test_cp1252_file_with_pound_sign(tmp_path: Path) -> None:
    path = _write(tmp_path / "variance_drivers.csv", "period,amount_gbp_m\nx,£1.5\n", "cp1252")
    assert b"\xa3" in path.read_bytes()
    table, found = read_csv_table(path, "variance_drivers")
    problems = [str(p) for p in found]
    assert problems == []
    assert parse_money(table.frame.loc[2, "amount_gbp_m"]) == 1.5


def test_unreadable_file_in_a_folder_is_one_problem(returns_kit: ReturnsKit) -> None:
    (returns_kit.write() / "savings.csv").write_bytes(b"period\n\x81\n")
    raw = read_returns(returns_kit.folder)
    assert [str(p) for p in raw.problems] == [
        "savings.csv: byte 0x81 at position 7 is neither UTF-8 nor Windows cp1252 text"
    ]


def test_unreadable_encoding_is_a_problem(tmp_path: Path) -> None:
    path = _write(tmp_path / "savings.csv", "period\n")
    path.write_bytes(b"period\n\x81\n")
    _, found = read_csv_table(path, "savings")
    problems = [str(p) for p in found]
    assert problems == [
        "savings.csv: byte 0x81 at position 7 is neither UTF-8 nor Windows cp1252 text"
    ]


# --- CSV as text --------------------------------------------------------------------------
def test_csv_cells_are_text_and_rows_are_numbered_as_in_the_file(tmp_path: Path) -> None:
    text = "a,b\n 1.0 ,007\n\n,\nx,\n"  # a blank line and an all-empty row are skipped
    table, found = read_csv_table(_write(tmp_path / "t.csv", text), "t")
    problems = [str(p) for p in found]
    assert problems == []
    assert list(table.frame.index) == [2, 5]
    assert table.frame.loc[2].tolist() == ["1.0", "007"]  # stripped, never a number
    assert table.frame.loc[5].tolist() == ["x", ""]  # empty stays ""
    assert table.frame.dtypes.tolist() == ["str", "str"]
    assert table.where(5, "b") == "t.csv, row 5, column b"


def test_csv_row_with_extra_values_is_a_problem(tmp_path: Path) -> None:
    _, found = read_csv_table(_write(tmp_path / "t.csv", "a,b\n1,2,3\n1,2,,\n"), "t")
    problems = [str(p) for p in found]
    assert problems == [
        "t.csv, row 2: 3 values but the header has 2 columns (extra values '3'; expected 2: a "
        'value with a comma must be in quotes, e.g. "£1,234.5")'
    ]


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_csv_separated_by_semicolons_or_tabs_is_one_problem(
    tmp_path: Path, sep: str, word: str
) -> None:
    path = _write(tmp_path / "t.csv", f"period{sep}amount_gbp_m\n2011-12-Q1{sep}1,5\n")
    table, found = read_csv_table(path, "variance_drivers")
    problems = [str(p) for p in found]
    assert problems == [
        f"t.csv, row 1: 'period{sep}amount_gbp_m' is separated by {word} (expected commas: save "
        "the file as CSV UTF-8 (comma delimited))".replace("\t", "\\t")
    ]
    assert table.is_empty


def test_csv_duplicate_header_names_are_kept_in_header(tmp_path: Path) -> None:
    table, _ = read_csv_table(_write(tmp_path / "t.csv", "a,b,a\n1,2,3\n"), "t")
    assert table.header == ("a", "b", "a")
    assert list(table.frame.columns) == ["a", "b"]
    assert table.frame.loc[2, "a"] == "1"  # the first of the two


def test_csv_column_without_a_name_is_a_problem(tmp_path: Path) -> None:
    _, found = read_csv_table(_write(tmp_path / "t.csv", "a,,c\n1,2,3\n"), "t")
    problems = [str(p) for p in found]
    assert problems == [
        "t.csv, row 1, column B: no column name above values "
        "(expected a name from the data dictionary)"
    ]


def test_empty_csv_file_has_no_header(tmp_path: Path) -> None:
    table, found = read_csv_table(_write(tmp_path / "t.csv", ""), "t")
    problems = [str(p) for p in found]
    assert table.is_empty and problems == []


# --- folders ------------------------------------------------------------------------------
def test_missing_folder_is_no_data(tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match="does not exist"):
        read_returns(tmp_path / "2011-12-Q1")


def test_folder_without_returns_is_no_data(tmp_path: Path) -> None:
    folder = tmp_path / "2011-12-Q1"
    _write(folder / "README.md", "read-only")
    with pytest.raises(NoDataError, match="holds no CSV files"):
        read_returns(folder)


def test_csv_files_and_a_workbook_together_are_ambiguous(returns_kit: ReturnsKit) -> None:
    returns_kit.write()
    returns_kit.write_workbook()
    raw = read_returns(returns_kit.folder)
    assert len(raw.problems) == 1
    assert "holds both CSV files (financial_position.csv" in str(raw.problems[0])
    assert "and returns.xlsx; keep one or the other" in str(raw.problems[0])


def test_unexpected_files(returns_kit: ReturnsKit) -> None:
    folder = returns_kit.write()
    _write(folder / "notes.csv", "a\n1\n")
    _write(folder / "README.md", "ignored")
    _write(folder / ".~lock.savings.csv#", "ignored")
    raw = read_returns(folder)
    assert len(raw.problems) == 1
    assert str(raw.problems[0]).startswith(
        "notes.csv: unexpected file (expected financial_position"
    )


def test_missing_required_csv_file(returns_kit: ReturnsKit) -> None:
    raw = read_returns(returns_kit.write(skip=("savings", "milestones")))
    assert [str(p) for p in raw.problems] == [
        "savings.csv: missing (a required table of the returns)"
    ]


# --- Excel --------------------------------------------------------------------------------
def _book(tmp_path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    folder = tmp_path / "2011-12-Q1"
    folder.mkdir(parents=True, exist_ok=True)
    wb.save(folder / "returns.xlsx")
    return folder / "returns.xlsx"


def _required(**extra: list[list[object]]) -> dict[str, list[list[object]]]:
    sheets: dict[str, list[list[object]]] = {
        n: [COLUMNS[n]] for n in ("financial_position", "sha_budgets", "savings")
    }
    sheets["variance_drivers"] = [COLUMNS["variance_drivers"]]
    sheets.update(extra)
    return sheets


def test_excel_values_come_out_as_csv_text(tmp_path: Path) -> None:
    header = ["milestone_id", "due_date", "revised_date", "delay_months", "scheme"]
    rows: list[list[object]] = [
        header,
        ["A", dt.datetime(2011, 5, 31), 40908, 2, 12.9],  # real date, serial number
        ["B", "2011-06-15", 40908.0, 2.0, 0.1 + 0.2],  # text date, float serial
        [None, None, None, None, None],  # an empty row is skipped
        ["C", dt.date(2011, 9, 30), None, -3, 1234.5],
    ]
    path = _book(tmp_path, _required(milestones=rows))
    raw = read_returns(path.parent)
    assert [str(p) for p in raw.problems] == []
    frame = raw.tables["milestones"].frame
    assert list(frame.index) == [2, 3, 5]
    assert frame.loc[2].tolist() == ["A", "2011-05-31", "2011-12-31", "2", "12.9"]
    assert frame.loc[3].tolist() == ["B", "2011-06-15", "2011-12-31", "2", "0.3"]
    assert frame.loc[5].tolist() == ["C", "2011-09-30", "", "-3", "1234.5"]
    assert raw.tables["milestones"].source == "returns.xlsx [milestones]"


def test_csv_and_excel_give_identical_text_frames(tmp_path: Path) -> None:
    header = COLUMNS["variance_drivers"]
    rows: list[list[object]] = [
        ["2011-12-Q1", "RJ2", "cip_slippage", -3.5],
        ["2011-12-Q1", "RJ2", "other", 0.1],
        ["2011-12-Q1", "RRU", "premium_costs", 12],
    ]
    book = _book(tmp_path / "x", _required(variance_drivers=[header, *rows]))
    from_excel = read_returns(book.parent).tables["variance_drivers"].frame
    text = csv_text([dict(zip(header, map(str, r), strict=True)) for r in rows], header)
    path = _write(tmp_path / "c" / "variance_drivers.csv", text)
    from_csv = read_csv_table(path, "variance_drivers")[0].frame
    pdt.assert_frame_equal(from_excel, from_csv)


def test_formula_cells_give_their_saved_value(tmp_path: Path) -> None:
    header = COLUMNS["variance_drivers"]
    rows: list[list[object]] = [header, ["2011-12-Q1", "RJ2", "other", "=1.5*2"]]
    path = _book(tmp_path, _required(variance_drivers=rows))
    set_cached_value(path, "variance_drivers", "D2", "3")
    raw = read_returns(path.parent)
    assert [str(p) for p in raw.problems] == []
    assert raw.tables["variance_drivers"].frame.loc[2, "amount_gbp_m"] == "3"


def test_formula_without_saved_value_is_a_problem(tmp_path: Path) -> None:
    header = COLUMNS["variance_drivers"]
    rows: list[list[object]] = [header, ["2011-12-Q1", "RJ2", "other", "=1.5*2"]]
    path = _book(tmp_path, _required(variance_drivers=rows))
    raw = read_returns(path.parent)
    assert [str(p) for p in raw.problems] == [
        "returns.xlsx [variance_drivers], row 2, column amount_gbp_m: formula '=1.5*2' has no "
        "saved value (expected a value: open the workbook in Excel and save it, or type the value)"
    ]


def test_excel_float_noise_is_read_as_excel_shows_it(tmp_path: Path) -> None:
    """A formula's 0.7+0.2 is saved as 0.8999999999999999; Excel's 15 digits show 0.9."""
    header = COLUMNS["variance_drivers"]
    rows: list[list[object]] = [
        header,
        ["2011-12-Q1", "RJ2", "other", 0.7 + 0.2],
        ["2011-12-Q1", "RJ2", "cip_slippage", 1234567.123456789],
        ["2011-12-Q1", "RJ2", "premium_costs", -1e-7],
    ]
    raw = read_returns(_book(tmp_path, _required(variance_drivers=rows)).parent)
    amounts = raw.tables["variance_drivers"].frame["amount_gbp_m"].tolist()
    assert amounts == ["0.9", "1234567.12345679", "-0.0000001"]


def test_merged_header_cells_are_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = _book(tmp_path, _required())
    wb = openpyxl.load_workbook(path)
    ws = wb["savings"]
    ws.merge_cells("C1:D1")
    ws.append(["2011-12-Q1", "RJ2", "CIP", None, 1.0])
    wb.save(path)
    raw = read_returns(path.parent)
    assert (
        "returns.xlsx [savings], row 1: merged header cells C1:D1 holding 'programme' "
        "(expected one column name per cell: unmerge them)"
    ) in [str(p) for p in raw.problems]


def test_extra_and_missing_sheets_are_problems(tmp_path: Path) -> None:
    sheets = _required(Notes=[["anything"]])
    del sheets["savings"]
    raw = read_returns(_book(tmp_path, sheets).parent)
    assert [str(p) for p in raw.problems] == [
        "returns.xlsx: sheet 'Notes' is not a table of the returns (expected only sheets "
        "financial_position, sha_budgets, savings, variance_drivers, milestones)",
        "returns.xlsx: sheet 'savings' is missing (a required table)",
    ]


def test_damaged_workbook_is_a_problem(tmp_path: Path) -> None:
    _write(tmp_path / "2011-12-Q1" / "returns.xlsx", "not a zip file")
    raw = read_returns(tmp_path / "2011-12-Q1")
    assert len(raw.problems) == 1
    assert str(raw.problems[0]).startswith("returns.xlsx: cannot be opened as an Excel workbook")


def test_workbook_read_as_frames_of_str(tmp_path: Path) -> None:
    raw = read_returns(_book(tmp_path, _required()).parent)
    frame = raw.tables["savings"].frame
    assert frame.empty
    assert list(frame.columns) == COLUMNS["savings"]
    assert isinstance(frame, pd.DataFrame)
