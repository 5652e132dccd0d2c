"""The data contract of ``docs/data-dictionary.md`` as pandera schemas, one per table.

>>> TABLES["savings"].key
('org_code', 'category')
>>> column_kinds("milestones")["due_date"]
'date'

Each :class:`pandera.pandas.Column` carries its expectation in ``description`` and each check
its complaint in ``error``, so that :mod:`helpers.validate` can turn pandera's failure cases
into messages a finance analyst can act on. Rules that need several columns, several tables
or the reference data live in :mod:`helpers.validate`.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import pandera.pandas as pa

MONTHS = tuple(f"M{m:02d}" for m in range(1, 13))
BUDGET_LINES = ("admin", "reserves", "central_budgets")
PROGRAMMES = ("CIP", "QIPP")
CATEGORIES = (
    "productivity",
    "integration",
    "drugs_costs",
    "running_costs",
    "activity_management",
)
DRIVERS = ("cip_slippage", "activity_above_plan", "premium_costs", "restructuring", "other")
STATUSES = ("met", "missed", "not_yet_due")
REASON_CATEGORIES = (
    "awaiting_guidance",
    "awaiting_agreement",
    "specification",
    "recruitment",
    "procurement",
    "capacity",
    "other",
)
#: Variance drivers must add up to the variance to plan within this many £m.
PARTS_TOLERANCE_GBP_M = 0.05

MONEY_EXPECTED = "£m, e.g. -12.9, (12.9) or £1,234.5"
MONEY_NON_NEGATIVE_EXPECTED = "£m ≥ 0, e.g. 12.9 or £1,234.5"
DATE_EXPECTED = "a date YYYY-MM-DD, e.g. 2011-09-30"
INT_EXPECTED = "a whole number ≥ 0"

Kind = Literal["text", "money", "date", "int"]
#: pandera's name of each column dtype -> (kind, the pandas dtype the kit stores it as).
_DTYPES: dict[str, tuple[Kind, str]] = {
    "str": ("text", "str"),
    "string[pyarrow]": ("text", "str"),  # pandera's name for pandas 3's default str dtype
    "string[python]": ("text", "str"),
    "float64": ("money", "float64"),
    "datetime64[ns]": ("date", "datetime64[ns]"),
    "Int64": ("int", "Int64"),
}


class TableSpec(NamedTuple):
    """A table of the returns: its columns in order, its key, and whether it is required."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    required: bool


def _one_of(values: tuple[str, ...]) -> str:
    return "one of " + ", ".join(values)


def _text(
    allowed: tuple[str, ...] = (), nullable: bool = False, expected: str = "text"
) -> pa.Column:
    """A text column, optionally restricted to ``allowed`` values."""
    if allowed:
        check = pa.Check.isin(list(allowed), error=f"is not allowed (expected {_one_of(allowed)})")
        return pa.Column(str, check, nullable=nullable, description=_one_of(allowed))
    return pa.Column(str, nullable=nullable, description=expected)


def _money(nullable: bool = False, non_negative: bool = False) -> pa.Column:
    """A £m column; ``non_negative`` adds the ≥ 0 rule."""
    checks = [pa.Check.ge(0, error="is negative (expected a number ≥ 0)")] if non_negative else []
    expected = MONEY_NON_NEGATIVE_EXPECTED if non_negative else MONEY_EXPECTED
    return pa.Column(float, checks, nullable=nullable, description=expected)


_MONTH = pa.Column(
    str,
    pa.Check.isin(list(MONTHS), error="is not a month label (expected M01 to M12)"),
    description="a month label M01 to M12",
)
_PERIOD = _text(expected="the folder's period, e.g. 2011-12-Q1")
_ORG = _text(expected="an organisation code, e.g. RJ2 or 5C9")
_POSITION = {
    "ytd_plan_gbp_m": _money(),
    "ytd_actual_gbp_m": _money(),
    "annual_plan_gbp_m": _money(),
    "forecast_outturn_gbp_m": _money(),
    "prior_year_outturn_gbp_m": _money(),
}

FINANCIAL_POSITION = pa.DataFrameSchema(
    {
        "period": _PERIOD,
        "month": _MONTH,
        "org_code": _ORG,
        **_POSITION,
        "turnover_gbp_m": _money(nullable=True, non_negative=True),
        "resource_limit_gbp_m": _money(nullable=True, non_negative=True),
        "lctb_support_gbp_m": _money(non_negative=True),
        "non_recurrent_gbp_m": _money(non_negative=True),
        "acute_overperformance_gbp_m": _money(non_negative=True),
        "cluster_transition_cost_gbp_m": _money(non_negative=True),
    },
    name="financial_position",
    strict=True,
    ordered=True,
)

SHA_BUDGETS = pa.DataFrameSchema(
    {"period": _PERIOD, "month": _MONTH, "budget_line": _text(BUDGET_LINES), **_POSITION},
    name="sha_budgets",
    strict=True,
    ordered=True,
)

SAVINGS = pa.DataFrameSchema(
    {
        "period": _PERIOD,
        "org_code": _ORG,
        "programme": _text(PROGRAMMES),
        "category": _text(CATEGORIES),
        "annual_plan_gbp_m": _money(non_negative=True),
        "ytd_plan_gbp_m": _money(non_negative=True),
        "ytd_actual_gbp_m": _money(non_negative=True),
        "forecast_gbp_m": _money(non_negative=True),
        "forecast_recurrent_gbp_m": _money(nullable=True, non_negative=True),
    },
    name="savings",
    strict=True,
    ordered=True,
)

VARIANCE_DRIVERS = pa.DataFrameSchema(
    {
        "period": _PERIOD,
        "org_code": _ORG,
        "driver": _text(DRIVERS),
        "amount_gbp_m": _money(),
    },
    name="variance_drivers",
    strict=True,
    ordered=True,
)

MILESTONES = pa.DataFrameSchema(
    {
        "period": _PERIOD,
        "milestone_id": _text(expected="a milestone id, e.g. SEL-017"),
        "cluster_code": _text(expected="a cluster code, e.g. SEL"),
        "org_code": _text(nullable=True, expected="a member PCT's code, or empty"),
        "category": _text(CATEGORIES),
        "scheme": _text(expected="the QIPP scheme's name"),
        "due_date": pa.Column("datetime64[ns]", description=DATE_EXPECTED),
        "status": _text(STATUSES),
        "revised_date": pa.Column("datetime64[ns]", nullable=True, description=DATE_EXPECTED),
        "delay_months": pa.Column(
            "Int64",
            pa.Check.ge(0, error="is negative (expected a whole number ≥ 0)"),
            nullable=True,
            description=INT_EXPECTED,
        ),
        "reason_category": _text(REASON_CATEGORIES, nullable=True),
        "reason_text": _text(nullable=True, expected="the cluster's explanation"),
    },
    name="milestones",
    strict=True,
    ordered=True,
)

SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "financial_position": FINANCIAL_POSITION,
    "sha_budgets": SHA_BUDGETS,
    "savings": SAVINGS,
    "variance_drivers": VARIANCE_DRIVERS,
    "milestones": MILESTONES,
}

_KEYS: dict[str, tuple[tuple[str, ...], bool]] = {
    "financial_position": (("org_code", "month"), True),
    "sha_budgets": (("month", "budget_line"), True),
    "savings": (("org_code", "category"), True),
    "variance_drivers": (("org_code", "driver"), True),
    "milestones": (("milestone_id",), False),
}

#: Table name -> (columns in order, key columns, required).
TABLES: dict[str, TableSpec] = {
    name: TableSpec(tuple(SCHEMAS[name].columns), key, required)
    for name, (key, required) in _KEYS.items()
}


def column_kinds(table: str) -> dict[str, Kind]:
    """Column name -> ``text``, ``money``, ``date`` or ``int`` for one table."""
    return {name: _DTYPES[str(col.dtype)][0] for name, col in SCHEMAS[table].columns.items()}


def dtypes(table: str) -> dict[str, str]:
    """Column name -> pandas dtype name (``str``, ``float64``, ``datetime64[ns]``, ``Int64``)."""
    return {name: _DTYPES[str(col.dtype)][1] for name, col in SCHEMAS[table].columns.items()}


def expected(table: str, column: str) -> str:
    """What a column should hold, in words (for messages)."""
    return str(SCHEMAS[table].columns[column].description)


def date_columns() -> set[str]:
    """Every column of every table that holds a date."""
    return {c for t in SCHEMAS for c, k in column_kinds(t).items() if k == "date"}
