"""Small edits of a project copy's returns and params, as a finance team would make them.

Usage example (``root`` made with ``kit_project.make_project``)::

    p = Project(root)
    row = p.set("savings", "forecast_gbp_m", "tbc", org_code="RAL", category="productivity")
    book = p.to_workbook()            # the period's CSV files as one returns.xlsx
    p.edit_params(lambda spec: spec.update(threshold_pct=1.0))

Row numbers are the ones the user sees in the file or sheet (the header is row 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from openpyxl.utils import get_column_letter

from helpers.data.returns import parse_money

PERIOD = "2011-12-Q1"
DATE_COLUMNS = ("due_date", "revised_date")
Rows = list[list[str]]


class Project:
    """A project copy under ``root`` and its period's returns (CSV files or one workbook)."""

    def __init__(self, root: Path, period: str = PERIOD) -> None:
        self.root = root
        self.period = period

    @property
    def folder(self) -> Path:
        """``data/raw/<period>/``."""
        return self.root / "data" / "raw" / self.period

    @property
    def params(self) -> Path:
        """``params/<period>.yaml``."""
        return self.root / "params" / f"{self.period}.yaml"

    def csv(self, table: str) -> Path:
        return self.folder / f"{table}.csv"

    # --- CSV files ------------------------------------------------------------------------
    def rows(self, table: str) -> Rows:
        """The file as rows of text, header first."""
        text = self.csv(table).read_text(encoding="utf-8")
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]

    def write_rows(
        self, table: str, rows: Rows, *, encoding: str = "utf-8", newline: str = "\n"
    ) -> None:
        """Write rows of text as the table's CSV file."""
        out = io.StringIO()
        csv.writer(out, lineterminator=newline).writerows(rows)
        self.csv(table).write_bytes(out.getvalue().encode(encoding))

    def edit_rows(self, table: str, change: Callable[[Rows], Rows | None]) -> None:
        """Read, change (in place or by returning new rows) and write back a table."""
        rows = self.rows(table)
        self.write_rows(table, change(rows) or rows)

    def row_of(self, table: str, **match: str) -> int:
        """The file row number (header = 1) of the first row matching ``match``."""
        rows = self.rows(table)
        at = {c: rows[0].index(c) for c in match}
        for n, row in enumerate(rows[1:], start=2):
            if all(row[at[c]] == v for c, v in match.items()):
                return n
        raise KeyError(f"no row of {table} matches {match}")

    def get(self, table: str, column: str, **match: str) -> str:
        """One cell's text."""
        rows = self.rows(table)
        return rows[self.row_of(table, **match) - 1][rows[0].index(column)]

    def set(self, table: str, column: str, value: str, **match: str) -> int:
        """Set one cell of the first row matching ``match``; return its file row number."""
        n = self.row_of(table, **match)

        def change(rows: Rows) -> None:
            rows[n - 1][rows[0].index(column)] = value

        self.edit_rows(table, change)
        return n

    # --- the workbook ---------------------------------------------------------------------
    @property
    def book(self) -> Path:
        return self.folder / "returns.xlsx"

    def to_workbook(self) -> Path:
        """Replace the CSV files by one returns.xlsx, a sheet per table, cells typed as Excel
        would type them (money as numbers, dates as dates, whole numbers as integers)."""
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for path in sorted(self.folder.glob("*.csv")):
            rows = self.rows(path.stem)
            ws = wb.create_sheet(path.stem)
            ws.append(rows[0])
            for row in rows[1:]:
                ws.append([_typed(c, v) for c, v in zip(rows[0], row, strict=True)])
            for i, col in enumerate(rows[0], start=1):
                if col in DATE_COLUMNS:
                    for cell in ws[get_column_letter(i)][1:]:
                        cell.number_format = "yyyy-mm-dd"
            path.unlink()
        wb.save(self.book)
        return self.book

    def workbook(self) -> Any:
        """The workbook, opened for editing (save it with :meth:`save`)."""
        return openpyxl.load_workbook(self.book)

    def save(self, wb: Any) -> None:
        wb.save(self.book)

    def cell(self, table: str, column: str, **match: str) -> str:
        """The sheet coordinate (``F94``) of a cell, found in the original CSV's rows."""
        rows = self.rows(table) if self.csv(table).exists() else None
        if rows is None:
            raise FileNotFoundError("call cell() before to_workbook()")
        col = get_column_letter(rows[0].index(column) + 1)
        return f"{col}{self.row_of(table, **match)}"

    def set_cached_values(self, sheet: str, values: dict[str, str]) -> None:
        """Give formula cells a saved value, as Excel does on save (openpyxl saves none)."""
        index = openpyxl.load_workbook(self.book, read_only=True).sheetnames.index(sheet) + 1
        member = f"xl/worksheets/sheet{index}.xml"
        with zipfile.ZipFile(self.book) as zin:
            items = {n: zin.read(n) for n in zin.namelist()}
        xml = items[member].decode("utf-8")
        for coord, value in values.items():
            pattern = rf'(<c r="{coord}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*/>'
            xml, count = re.subn(pattern, rf"\g<1><v>{value}</v>", xml)
            assert count == 1, f"formula cell {coord} not found in {member}"
        items[member] = xml.encode("utf-8")
        with zipfile.ZipFile(self.book, "w", zipfile.ZIP_DEFLATED) as zout:
            for name, data in items.items():
                zout.writestr(name, data)

    # --- params ---------------------------------------------------------------------------
    def edit_params(self, change: Callable[[dict[str, Any]], None], period: str = "") -> Path:
        """Change the params file's content (YAML, loaded safely); ``period`` writes a copy
        as ``params/<period>.yaml`` instead."""
        spec = yaml.safe_load(self.params.read_text(encoding="utf-8"))
        change(spec)
        target = self.params.with_name(f"{period}.yaml") if period else self.params
        target.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        return target


def _typed(column: str, text: str) -> object:
    """How a finance team's workbook holds the text of a CSV cell."""
    if not text:
        return None
    if column.endswith("_gbp_m"):
        return parse_money(text)
    if column in DATE_COLUMNS:
        return dt.datetime.fromisoformat(text)
    if column == "delay_months":
        return int(text)
    return text
