"""A tiny but valid period (2011-12-Q1: 2 NHS trusts, 2 PCTs, M01-M03) to break rule by rule.

Usage in a test (``returns_kit`` is the pytest fixture in conftest.py)::

    kit.set("financial_position", "forecast_outturn_gbp_m", "twelve", org_code="RJ2", month="M03")
    assert kit.problems() == [...]

The column lists are written out here from docs/data-dictionary.md rather than imported from
helpers.data.schemas, so that the tests check the contract rather than repeat it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import to_excel

from helpers.data.organisations import Reference, load_reference
from helpers.data.period_data import PeriodData
from helpers.data.periods import Period
from helpers.data.returns import parse_money
from helpers.data.validate import validate_period
from helpers.errors import ValidationError

PERIOD = "2011-12-Q1"

ORGANISATIONS = """\
org_code,name,org_type,sector,valid_from,valid_to
Q36,NHS London,sha,,2006-07-01,2013-03-31
SEL,South East London,cluster,,2011-04-01,2013-03-31
NCL,North Central London,cluster,,2011-04-01,2013-03-31
5A7,Bromley PCT,pct,,2002-04-01,2013-03-31
5K7,Camden PCT,pct,,2002-04-01,2013-03-31
RJ2,Lewisham Healthcare NHS Trust,nhs_trust,acute,1994-04-01,
RRU,London Ambulance Service NHS Trust,nhs_trust,ambulance,1996-04-01,
RNJ,Old Closed NHS Trust,nhs_trust,acute,1994-04-01,2011-03-31
RYX,New Community NHS Trust,nhs_trust,community,2011-07-01,
"""

MEMBERSHIP = """\
org_code,cluster_code,valid_from,valid_to
5A7,SEL,2011-04-01,2013-03-31
5K7,NCL,2011-04-01,2013-03-31
"""

POSITION = [
    "ytd_plan_gbp_m",
    "ytd_actual_gbp_m",
    "annual_plan_gbp_m",
    "forecast_outturn_gbp_m",
    "prior_year_outturn_gbp_m",
]
COLUMNS: dict[str, list[str]] = {
    "financial_position": [
        "period",
        "month",
        "org_code",
        *POSITION,
        "turnover_gbp_m",
        "resource_limit_gbp_m",
        "lctb_support_gbp_m",
        "non_recurrent_gbp_m",
        "acute_overperformance_gbp_m",
        "cluster_transition_cost_gbp_m",
    ],
    "sha_budgets": ["period", "month", "budget_line", *POSITION],
    "savings": [
        "period",
        "org_code",
        "programme",
        "category",
        "annual_plan_gbp_m",
        "ytd_plan_gbp_m",
        "ytd_actual_gbp_m",
        "forecast_gbp_m",
        "forecast_recurrent_gbp_m",
    ],
    "variance_drivers": ["period", "org_code", "driver", "amount_gbp_m"],
    "milestones": [
        "period",
        "milestone_id",
        "cluster_code",
        "org_code",
        "category",
        "scheme",
        "due_date",
        "status",
        "revised_date",
        "delay_months",
        "reason_category",
        "reason_text",
    ],
}
DATE_COLUMNS = ("due_date", "revised_date")

Rows = list[dict[str, str]]

# Rows without the period column (added by valid_tables). Board-paper spellings on purpose.
# RJ2's variance to plan at M03 is (3.0) - 2.0 = -5.0 and its drivers add up to -5.0;
# RRU is on plan and its drivers add up to 0.
_ROWS = {
    "financial_position": """\
M01,RJ2,0.1,(0.2),2.0,(3.0),1.5,"£1,234.5",,0,1.0,0,0
M02,RJ2,0.2,(0.4),2.0,(3.0),1.5,"£1,234.5",,0,1.0,0,0
M03,RJ2,0.3,(0.6),2.0,(3.0),1.5,"£1,234.5",,0,1.0,0,0
M01,RRU,0.1,0.1,1.0,1.0,0.2, 290.1 ,,0,0,0,0
M02,RRU,0.2,0.2,1.0,1.0,0.2, 290.1 ,,0,0,0,0
M03,RRU,0.3,0.3,1.0,1.0,0.2, 290.1 ,,0,0,0,0
M01,5A7,0.0,0.1,0.0,0.5,-12.9,,512.3,2.0,0.5,1.5,0.4
M02,5A7,0.0,0.2,0.0,0.5,-12.9,,512.3,2.0,0.5,1.5,0.4
M03,5A7,0.0,0.3,0.0,0.5,-12.9,,512.3,2.0,0.5,1.5,0.4
M01,5K7,0.1,0.0,1.0,-0.2,0.8,,£480.0,0,0,2.25,0.3
M02,5K7,0.2,0.0,1.0,-0.2,0.8,,£480.0,0,0,2.25,0.3
M03,5K7,0.3,-0.1,1.0,-0.2,0.8,,£480.0,0,0,2.25,0.3
""",
    "sha_budgets": """\
M01,admin,1.0,0.9,12.0,11.5,11.0
M01,reserves,10.0,9.9,120.0,119.5,110.0
M01,central_budgets,5.0,4.9,60.0,59.5,55.0
M02,admin,2.0,1.9,12.0,11.5,11.0
M02,reserves,20.0,19.9,120.0,119.5,110.0
M02,central_budgets,10.0,9.9,60.0,59.5,55.0
M03,admin,3.0,2.9,12.0,11.5,11.0
M03,reserves,30.0,29.9,120.0,119.5,110.0
M03,central_budgets,15.0,14.9,60.0,59.5,55.0
""",
    "savings": """\
RJ2,CIP,productivity,3.0,0.7,0.5,2.6,2.0
RJ2,CIP,drugs_costs,1.0,0.2,0.2,1.0,
RRU,CIP,productivity,2.0,0.5,0.5,2.0,1.5
5A7,QIPP,activity_management,4.0,1.0,0.8,3.5,3.0
5K7,QIPP,running_costs,1.5,0.4,0.4,1.5,1.5
RJ2,CIP,integration,0,0,0,0,0
RJ2,CIP,running_costs,0,0,0,0,0
RJ2,CIP,activity_management,0,0,0,0,0
RRU,CIP,integration,0,0,0,0,0
RRU,CIP,drugs_costs,0,0,0,0,0
RRU,CIP,running_costs,0,0,0,0,0
RRU,CIP,activity_management,0,0,0,0,0
5A7,QIPP,productivity,0,0,0,0,0
5A7,QIPP,integration,0,0,0,0,0
5A7,QIPP,drugs_costs,0,0,0,0,0
5A7,QIPP,running_costs,0,0,0,0,0
5K7,QIPP,productivity,0,0,0,0,0
5K7,QIPP,integration,0,0,0,0,0
5K7,QIPP,drugs_costs,0,0,0,0,0
5K7,QIPP,activity_management,0,0,0,0,0
""",
    "variance_drivers": """\
RJ2,cip_slippage,-3.5
RJ2,premium_costs,(2.0)
RJ2,other,0.5
RRU,activity_above_plan,0.8
RRU,premium_costs,-0.8
RJ2,activity_above_plan,0
RJ2,restructuring,0
RRU,cip_slippage,0
RRU,restructuring,0
RRU,other,0
""",
    "milestones": """\
SEL-001,SEL,5A7,activity_management,Referral management,2011-05-31,met,,,,
SEL-002,SEL,,productivity,Length of stay,2011-06-15,missed,2011-08-31,2,procurement,Tender late
NCL-001,NCL,5K7,integration,End of life care register,2011-09-30,not_yet_due,,,,
""",
}


def valid_tables() -> dict[str, Rows]:
    """The valid fixture's rows as text (a fresh copy each call)."""
    tables = {}
    for name, block in _ROWS.items():
        cols = COLUMNS[name][1:]
        rows = csv.reader(io.StringIO(block))
        tables[name] = [{"period": PERIOD, **dict(zip(cols, r, strict=True))} for r in rows]
    return tables


def write_reference(folder: Path) -> Path:
    """Write the fixture's organisations.csv and cluster_membership.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "organisations.csv").write_text(ORGANISATIONS, encoding="utf-8")
    (folder / "cluster_membership.csv").write_text(MEMBERSHIP, encoding="utf-8")
    return folder


def csv_text(rows: Rows, columns: list[str]) -> str:
    """Rows as CSV text in ``columns`` order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([row.get(c, "") for c in columns] for row in rows)
    return out.getvalue()


@dataclass
class ReturnsKit:
    """A fixture period under ``root``: raw/, processed/ and reference/ folders."""

    root: Path
    tables: dict[str, Rows] = field(default_factory=valid_tables)
    period: str = PERIOD

    def __post_init__(self) -> None:
        write_reference(self.reference_dir)

    @property
    def raw_dir(self) -> Path:
        return self.root / "raw"

    @property
    def folder(self) -> Path:
        return self.raw_dir / self.period

    @property
    def processed_dir(self) -> Path:
        return self.root / "processed"

    @property
    def reference_dir(self) -> Path:
        return self.root / "reference"

    def reference(self) -> Reference:
        return load_reference(self.reference_dir)

    # --- changing the fixture -------------------------------------------------------
    def row(self, table: str, **match: str) -> int:
        """The file row number (header = 1) of the first row matching ``match``."""
        for i, row in enumerate(self.tables[table]):
            if all(row[k] == v for k, v in match.items()):
                return i + 2
        raise KeyError(f"no row in {table} matching {match}")

    def set(self, table: str, column: str, value: str, **match: str) -> int:
        """Set one cell of the first matching row; return its file row number."""
        n = self.row(table, **match)
        self.tables[table][n - 2][column] = value
        return n

    def add(self, table: str, **values: str) -> int:
        """Append a row (copying the first row's values); return its file row number."""
        self.tables[table].append({**self.tables[table][0], **values})
        return len(self.tables[table]) + 1

    # --- writing ----------------------------------------------------------------------
    def write(
        self,
        encoding: str = "utf-8",
        columns: dict[str, list[str]] | None = None,
        skip: tuple[str, ...] = (),
    ) -> Path:
        """Write the tables as CSV files (``columns`` overrides a table's header)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, rows in self.tables.items():
            if name in skip:
                continue
            cols = (columns or {}).get(name, COLUMNS[name])
            (self.folder / f"{name}.csv").write_bytes(csv_text(rows, cols).encode(encoding))
        return self.folder

    def write_workbook(self, formula: bool = True) -> Path:
        """Write the tables as returns.xlsx: numbers as numbers, dates in three spellings.

        Milestone due dates are a real date, an Excel serial number and text; RJ2's M03
        forecast outturn is a formula whose saved value is written into the file.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        formula_cell = ""
        for name, rows in self.tables.items():
            ws = wb.create_sheet(name)
            ws.append(COLUMNS[name])
            for i, row in enumerate(rows):
                ws.append([_excel_value(c, row.get(c, ""), i) for c in COLUMNS[name]])
            if name == "financial_position" and formula:
                n = self.row(name, org_code="RJ2", month="M03")
                col = COLUMNS[name].index("forecast_outturn_gbp_m") + 1
                cell = ws.cell(row=n, column=col)
                cell.value = "=-1.5*2"
                formula_cell = cell.coordinate
        path = self.folder / "returns.xlsx"
        wb.save(path)
        if formula_cell:
            set_cached_value(path, "financial_position", formula_cell, "-3")
        return path

    # --- validating -------------------------------------------------------------------
    def validate(self) -> PeriodData:
        return validate_period(Period.parse(self.period), self.raw_dir, self.reference())

    def problems(self, write: bool = True) -> list[str]:
        """Write the CSV files (unless told not to) and return every problem found."""
        if write:
            self.write()
        try:
            self.validate()
        except ValidationError as exc:
            return [str(p) for p in exc.problems]
        return []


def _excel_value(column: str, text: str, i: int) -> object:
    """How a person would type the fixture's text into Excel."""
    if not text:
        return None
    if column.endswith("_gbp_m"):
        return parse_money(text)
    if column in DATE_COLUMNS:
        day = dt.date.fromisoformat(text)
        return [day, to_excel(day), text][i % 3]  # real date, serial number, text
    if column == "delay_months":
        return int(text)
    return text


def set_cached_value(path: Path, sheet: str, coordinate: str, value: str) -> None:
    """Give a formula cell a saved value, as Excel does on save (openpyxl writes none)."""
    wb = openpyxl.load_workbook(path)
    index = wb.sheetnames.index(sheet) + 1
    member = f"xl/worksheets/sheet{index}.xml"
    with zipfile.ZipFile(path) as zin:
        items = {n: zin.read(n) for n in zin.namelist()}
    xml = items[member].decode("utf-8")
    pattern = rf'(<c r="{coordinate}"[^>]*>\s*<f>[^<]*</f>\s*)<v\s*/>'
    xml, count = re.subn(pattern, rf"\g<1><v>{value}</v>", xml)
    assert count == 1, f"formula cell {coordinate} not found in {member}"
    items[member] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in items.items():
            zout.writestr(name, data)
