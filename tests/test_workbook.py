"""The period's Excel workbook, outputs/<period>/board-tables.xlsx, read back with openpyxl.

- Fast: sheet and table names fit Excel's rules; the tables come from London's reports, then
  each cluster's; the cover names the period, its sources and any report left out; numbers
  are numbers in the £m, % and count formats and flags 1/0 shown Yes/No; text that looks like
  a formula stays text; the same sheets give the same bytes, dated from the properties given
  and not the clock.
- Slow, on the session's full sample run: London's figures equal figures.csv; every board table
  of London's and the clusters' reports is a sheet equal to the report's own table data, with a
  frozen header and an Excel table; a no-op rerun leaves the workbook alone and a rebuild gives
  the same bytes; a workbook that cannot be built is reported and leaves the reports as they
  were. And on a throw-away copy whose returns give milestones formula-like reasons, those
  reasons are string cells in the workbook, never formulas.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from kit_project import leftovers, make_project, run_kit, tree_hashes

from helpers.data.organisations import load_reference
from helpers.data.periods import Period
from helpers.paths import DEFAULT
from helpers.pipeline.board_tables import (
    board_jobs,
    headers_of,
    read_tables,
    table_name,
    unique_sheet_name,
)
from helpers.pipeline.board_workbook import WORKBOOK, cover_notes
from helpers.pipeline.params import load_params
from helpers.pipeline.plan import Plan, build_plan
from helpers.pipeline.xlsx import NUMBER_FORMATS, Sheet, workbook_bytes
from helpers.report.registry import FAMILIES

PERIODS = ("2010-11-M10", "2011-12-Q1")
MONEY = "#,##0.0;(#,##0.0);0.0"
FORMULA_LIKE = ('=HYPERLINK("http://x","y")', "@SUM(A1)", "+1+1 awaiting agreement", "-2 months")
CREATED = dt.datetime(2011, 6, 30)


# --- names ----------------------------------------------------------------------------------


def test_sheet_names_are_whole_words_within_31_characters_and_unique() -> None:
    taken: set[str] = {"cover", "figures"}
    caption = "NHS trusts by variance to plan as a share of turnover, 2011-12-Q1"
    first = unique_sheet_name("London", caption, taken)
    again = unique_sheet_name("London", caption, taken)
    assert first == "London NHS trusts by variance"
    assert again == "London NHS trusts by variance 2"
    assert unique_sheet_name("NCL", "Forecast outturn by month, £m", taken) == "NCL FOT by month"
    odd = unique_sheet_name("SEL", "Plans [draft]: A/B * C? 'x' \\ y", taken)
    assert not re.search(r"[\[\]:*?/\\']", odd)
    assert unique_sheet_name("London", "Figures", taken) == "London Figures"
    assert all(len(name) <= 31 for name in taken)


def test_table_names_are_unique_and_never_look_like_a_cell() -> None:
    taken: set[str] = set()
    assert table_name("NCL Missed milestones", taken) == "NCL_Missed_milestones"
    assert table_name("NCL Missed milestones", taken) == "NCL_Missed_milestones_2"
    assert table_name("1 odd", taken) == "T_1_odd"


def test_headers_are_named_unique_and_carry_their_unit() -> None:
    columns = [
        {"header": "", "kind": "text"},
        {"header": "Plan", "kind": "money"},
        {"header": "Plan £m", "kind": "money"},
        {"header": "Shortfall", "kind": "pct"},
        {"header": "Due", "kind": "count"},
    ]
    assert headers_of(columns) == ("Item", "Plan £m", "Plan £m (2)", "Shortfall %", "Due")


def default_plan(period: str) -> Plan:
    """The project's own plan of a period (planning starts no kernel)."""
    return build_plan(load_params(DEFAULT.params / f"{period}.yaml", DEFAULT), DEFAULT)


def test_board_tables_come_from_london_then_each_cluster_in_report_order() -> None:
    ref = load_reference(DEFAULT.reference)
    jobs = board_jobs(reversed(default_plan("2011-12-Q1").jobs), ref)
    orgs = list(dict.fromkeys(j.org_code for j in jobs))
    assert orgs == ["Q36", "NCL", "INEL", "ONEL", "NWL", "SEL", "SWL"]
    london = [j.family for j in jobs if j.org_code == "Q36"]
    assert london == list(FAMILIES)
    assert [j.family for j in jobs if j.org_code == "NCL"] == [
        "regional_outturn",
        "cluster_milestone_slippage",
    ]


def test_cover_names_what_is_left_out_and_where_the_figures_were_published() -> None:
    notes = dict(cover_notes(default_plan("2010-11-M10"), DEFAULT, ["provider_shortfall/Q36"]))
    assert notes["Not included"] == "reports not run or failed: provider_shortfall/Q36"
    assert notes["Period"] == "2010-11-M10: Month 10 2010-11 (January 2011)"
    assert notes["Returns' position"].startswith("M10 of 2010-11 (January 2011)")
    assert notes["Sources"].startswith("NHS London board papers, March 2011")
    assert "data/reference/published_figures.csv" in notes["Published figures"]


# --- writing one workbook -------------------------------------------------------------------


def small_sheet(**changes: Any) -> Sheet:
    rows = (
        (("RF4", "text"), (-12.94, "money"), (2.8129, "pct"), (3, "count"), (True, "flag")),
        ((FORMULA_LIKE[0], "text"), (None, "money"), (None, "pct"), (0, "count"), (False, "flag")),
        (
            (FORMULA_LIKE[1], "text"),
            (1234.5, "money"),
            (-0.7, "pct"),
            (None, "count"),
            (None, "flag"),
        ),
    )
    fields: dict[str, Any] = {
        "name": "London Trusts behind plan",
        "table": "London_Trusts_behind_plan",
        "title": "Trusts significantly behind plan",
        "notes": (("Report", FORMULA_LIKE[2]),),
        "headers": ("Code", "Variance £m", "Variance %", "Months", "Behind"),
        "rows": rows,
    }
    return Sheet(**{**fields, **changes})


def read_back(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def test_numbers_are_numbers_in_board_formats_and_missing_values_are_empty() -> None:
    ws = read_back(workbook_bytes([small_sheet()], {"created": CREATED}))[
        "London Trusts behind plan"
    ]
    top = small_sheet().header_row + 1  # openpyxl rows count from 1
    header = [c.value for c in ws[top]]
    assert header == list(small_sheet().headers)
    first = ws[top + 1]
    assert [c.value for c in first] == ["RF4", -12.94, 2.8129, 3, 1]
    assert [c.number_format for c in first[1:]] == [
        NUMBER_FORMATS[k] for k in ("money", "pct", "count", "flag")
    ]
    assert NUMBER_FORMATS["money"] == MONEY and NUMBER_FORMATS["flag"] == '"Yes";"Yes";"No"'
    assert [c.value for c in ws[top + 2]][1:] == [None, None, 0, 0]
    assert ws.freeze_panes == f"A{top + 1}"
    assert {name: ws.tables[name].ref for name in ws.tables} == {
        "London_Trusts_behind_plan": f"A{top}:E{top + 3}"
    }


def test_text_that_looks_like_a_formula_is_a_string_never_a_formula() -> None:
    data = workbook_bytes([small_sheet()], {"created": CREATED})
    ws = read_back(data)["London Trusts behind plan"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value in FORMULA_LIKE}
    assert set(cells) == set(FORMULA_LIKE[:3])
    assert all(c.data_type == "s" for c in cells.values())
    assert not any(b"<f>" in part for part in _sheet_xml(data))


def _sheet_xml(data: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]


def test_same_sheets_same_bytes_dated_from_the_properties_not_the_clock() -> None:
    first = workbook_bytes([small_sheet()], {"created": CREATED})
    assert workbook_bytes([small_sheet()], {"created": CREATED}) == first
    assert read_back(first).properties.created == CREATED
    assert workbook_bytes([small_sheet()], {"created": CREATED + dt.timedelta(days=1)}) != first


def test_a_table_with_no_rows_shows_its_headers_and_its_words() -> None:
    empty = small_sheet(rows=(), empty_text="No trust is significantly behind plan.")
    ws = read_back(workbook_bytes([empty], {"created": CREATED}))[empty.name]
    top = empty.header_row + 1
    assert [c.value for c in ws[top]] == list(empty.headers)
    assert ws.cell(top + 1, 1).value == "No trust is significantly behind plan."
    assert not ws.tables  # an Excel table needs a data row


# --- the sample run's workbooks -------------------------------------------------------------


def london_and_cluster_notebooks(out: Path) -> list[Path]:
    """The executed reports whose tables the workbook holds (London's and the clusters')."""
    clusters = ("NCL", "INEL", "ONEL", "NWL", "SEL", "SWL")
    return sorted(p for p in out.glob("*/*.ipynb") if p.stem in ("Q36", *clusters))


def sheet_table(ws: Any) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of a sheet's one Excel table."""
    (ref,) = [ws.tables[name].ref for name in ws.tables]
    rows = [[c.value for c in row] for row in ws[ref]]
    return rows[0], rows[1:]


@pytest.mark.slow
@pytest.mark.parametrize("period", PERIODS)
def test_london_figures_equal_figures_csv(sample_run: Path, period: str) -> None:
    out = sample_run / "outputs" / period
    book = openpyxl.load_workbook(out / WORKBOOK)
    header, rows = sheet_table(book["Figures"])
    sheet = pd.DataFrame(rows, columns=header)
    csv_frame = pd.read_csv(out / "figures.csv")
    london = csv_frame.loc[csv_frame["org_code"] == "Q36"]
    assert len(london) > 20
    got = sheet.set_index(["Notebook", "Code", "Figure"])["Value"]
    for r in london.itertuples():
        assert got[(r.notebook, "Q36", r.figure)] == r.value, r.figure
    assert len(sheet) == len(csv_frame)  # and nothing else
    kinds = {"gbp_m": "money", "pct": "pct", "count": "count", "flag": "flag"}
    top = int(re.sub(r"\D", "", book["Figures"].freeze_panes))
    for r, cell in zip(csv_frame.itertuples(), book["Figures"]["G"][top - 1 :], strict=True):
        assert cell.number_format == NUMBER_FORMATS[kinds[r.unit]]
    definitions = pd.read_csv(out / "figure_definitions.csv").set_index(["notebook", "figure"])
    for r in sheet.itertuples():
        assert r.Label == definitions.loc[(r.Notebook, r.Figure), "label"]


@pytest.mark.slow
@pytest.mark.parametrize("period", PERIODS)
def test_every_board_table_is_a_sheet_equal_to_its_report(sample_run: Path, period: str) -> None:
    out = sample_run / "outputs" / period
    book = openpyxl.load_workbook(out / WORKBOOK)
    assert book.sheetnames[0] == "Cover" and book.sheetnames[-1] == "Figures"
    sheets = {}  # (report shown in, caption) -> sheet
    for ws in book.worksheets[1:-1]:
        assert len(ws.title) <= 31 and ws["A3"].value == "Shown in"
        sheets[(ws["B3"].value, ws["A1"].value)] = ws
    expected = {
        (f"outputs/{period}/{nb.parent.name}/{nb.stem}.html", t["caption"]): t
        for nb in london_and_cluster_notebooks(out)
        for t in read_tables(nb)
    }
    assert sheets.keys() == expected.keys()
    assert {nb.stem for nb in london_and_cluster_notebooks(out)} >= {"Q36"}
    for key, table in expected.items():
        ws, kinds = sheets[key], [c["kind"] for c in table["columns"]]
        top = int(re.sub(r"\D", "", ws.freeze_panes)) - 1  # the header row (1-based)
        assert [c.value for c in ws[top]] == list(headers_of(table["columns"]))
        if not table["rows"]:
            assert not ws.tables and ws.cell(top + 1, 1).value == table["empty_text"]
            continue
        header, rows = sheet_table(ws)
        assert header == list(headers_of(table["columns"]))
        assert rows == [
            [int(v) if k == "flag" and v is not None else v for v, k in zip(r, kinds, strict=True)]
            for r in table["rows"]
        ]
        for row in ws.iter_rows(min_row=top + 1, max_row=top + len(rows)):
            for kind, cell in zip(kinds, row, strict=True):
                if kind == "text":
                    assert cell.value is None or cell.data_type == "s"
                elif cell.value is not None:
                    assert cell.number_format == NUMBER_FORMATS[kind]
        if "money" in kinds:
            assert MONEY in {c.number_format for row in ws.iter_rows(min_row=top + 1) for c in row}


@pytest.mark.slow
def test_cover_names_the_period_position_caveat_sources_and_every_sheet(sample_run: Path) -> None:
    book = openpyxl.load_workbook(sample_run / "outputs" / "2011-12-Q1" / WORKBOOK)
    cover = book["Cover"]
    text = "\n".join(str(c.value) for row in cover.iter_rows() for c in row if c.value)
    for words in (
        "NHS London (Q36)",
        "2011-12-Q1: Quarter 1 2011-12 (to June 2011)",
        "M03 of 2011-12 (June 2011)",
        "Organisation-level values in the sample returns are illustrative.",
        "NHS London Delivery Group paper, Update on 2011/12 Financial Position at M3",
    ):
        assert words in text
    header, rows = sheet_table(cover)
    assert header[:2] == ["Sheet", "Excel table"]
    assert [r[0] for r in rows] == book.sheetnames[1:]
    linked = {c.hyperlink.location for row in cover.iter_rows() for c in row if c.hyperlink}
    assert linked == {f"'{name}'!A1" for name in book.sheetnames[1:]}
    for name in book.sheetnames[1:]:
        sheet_tables = list(book[name].tables)
        assert sheet_tables == [] or sheet_tables == [r[1] for r in rows if r[0] == name]


@pytest.mark.slow
def test_a_no_op_rerun_leaves_the_workbook_and_a_rebuild_gives_the_same_bytes(
    sample_run: Path, tmp_path: Path
) -> None:
    root = tmp_path / "kit"
    shutil.copytree(sample_run, root, symlinks=True)
    books = [root / "outputs" / p / WORKBOOK for p in PERIODS]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in books}
    proc = run_kit(root, "reports")
    assert proc.returncode == 0, proc.stderr
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in books} == before
    for book in books:
        book.unlink()  # a missing workbook makes the period's exports stale: rebuilt, no report
    proc = run_kit(root, "reports")
    assert proc.returncode == 0, proc.stderr
    assert "0 to run" in proc.stderr
    assert {p: p.read_bytes() for p in books} == {p: b for p, (_, b) in before.items()}
    for period, book in zip(PERIODS, books, strict=True):
        created = openpyxl.load_workbook(book).properties.created
        assert created.date() == _period_end(period)


def _period_end(period: str) -> dt.date:
    return Period.parse(period).end_date


@pytest.mark.slow
def test_a_workbook_that_cannot_be_built_is_reported_and_the_reports_stand(
    sample_run: Path, tmp_path: Path
) -> None:
    root = tmp_path / "kit"
    shutil.copytree(sample_run, root, symlinks=True)
    out = root / "outputs" / "2011-12-Q1"
    broken = out / "regional_outturn" / "Q36.ipynb"
    nb = json.loads(broken.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if "application/vnd.nhs-kit.table+json" in output.get("data", {}):
                output["data"]["application/vnd.nhs-kit.table+json"]["rows"] = 7
    broken.write_text(json.dumps(nb), encoding="utf-8")
    (out / WORKBOOK).unlink()
    before = tree_hashes(out)
    proc = run_kit(root, "reports", "--period", "2011-12-Q1")
    assert proc.returncode == 1, proc.stderr
    assert "0 to run" in proc.stderr
    message = "outputs/2011-12-Q1/board-tables.xlsx could not be built, the reports are unaffected"
    assert message in proc.stderr and "outputs/2011-12-Q1/regional_outturn/Q36.ipynb" in proc.stderr
    assert not (out / WORKBOOK).exists()
    after = tree_hashes(out)
    kept = [k for k in before if k.endswith((".ipynb", ".html", ".csv")) or k.startswith(".state")]
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert leftovers(root) == []
    log = "".join(p.read_text() for p in (out / "logs").glob("run-*.log"))
    assert "NOT BUILT outputs/2011-12-Q1/board-tables.xlsx" in log


# --- formula-like text from the returns -----------------------------------------------------


@pytest.mark.slow
def test_formula_like_reasons_from_a_return_are_string_cells(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kit", periods=("2011-12-Q1",))
    returns = root / "data" / "raw" / "2011-12-Q1" / "milestones.csv"
    with returns.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missed = [r["milestone_id"] for r in rows if r["status"] == "missed"]
    given = dict(zip(missed, FORMULA_LIKE, strict=False))  # NCL's three, then INEL's first
    assert list(given) == ["NCL-001", "NCL-002", "NCL-003", "INEL-001"]
    for r in rows:
        r["reason_text"] = given.get(r["milestone_id"], r["reason_text"])
    with returns.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (root / "params" / "2011-12-Q1.yaml").write_text(
        "period: 2011-12-Q1\nfamilies:\n  cluster_milestone_slippage:\n    orgs: [Q36, NCL]\n",
        encoding="utf-8",
    )
    proc = run_kit(root, "reports", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    data = (root / "outputs" / "2011-12-Q1" / WORKBOOK).read_bytes()
    book = openpyxl.load_workbook(io.BytesIO(data))
    found = [
        (ws.title, c.value, c.data_type)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value in given.values()
    ]
    london = {("London Missed milestones", v) for v in given.values()}
    ncl = {("NCL Missed milestones", v) for k, v in given.items() if k.startswith("NCL")}
    assert {(t, v) for t, v, _ in found} == london | ncl
    assert {kind for _, _, kind in found} == {"s"}
    assert not any(b"<f>" in part for part in _sheet_xml(data))
