"""The data contract of ``docs/data-dictionary.md`` as pandera schemas, one per table.

>>> TABLES["savings"].key
('org_code', 'category')
>>> column_kinds("milestones")["due_date"]
'date'

Each :class:`pandera.pandas.Column` carries its expectation in ``description`` and each check
its complaint in ``error``, so that :mod:`helpers.data.contract` can turn pandera's failure cases
into messages a finance analyst can act on. Rules that need several columns, several tables
or the reference data live in :mod:`helpers.data.validate` (returns) and
:mod:`helpers.data.organisations` (reference data).
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
#: No amount in a return may be larger than this many £m either way: £10bn is several times
#: the annual budget of the largest NHS body in London (about £1.3bn), so anything bigger is
#: a typing error, most often pounds or thousands of pounds typed where £ million belongs.
MONEY_LIMIT_GBP_M = 10_000.0
ORG_TYPES = ("sha", "cluster", "pct", "care_trust", "nhs_trust")
SECTORS = ("acute", "mental_health", "community", "ambulance")
#: An organisation code: capital letters and digits (codes name output files).
ORG_CODE_PATTERN = r"^[A-Z0-9]{1,10}$"
ORG_CODE_EXPECTED = "capital letters and digits only, e.g. Q36, RF4 or 5C9"

MONEY_EXPECTED = "£m, e.g. -12.9, (12.9) or £1,234.5"
MONEY_NON_NEGATIVE_EXPECTED = "£m ≥ 0, e.g. 12.9 or £1,234.5"
DATE_EXPECTED = "a date YYYY-MM-DD, e.g. 2011-09-30"
INT_EXPECTED = "a whole number ≥ 0"
#: A milestone cannot slip by more than this many months (ten years) in a real return.
MAX_DELAY_MONTHS = 120

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
    """A table: its schema, columns in order, key, and from when a period must have it.

    ``required`` tables are in every period; a table with ``required_from`` (a financial year
    such as ``2011-12``) must be there from that year on and may be left out before it.
    """

    schema: pa.DataFrameSchema
    key: tuple[str, ...]
    required: bool
    required_from: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, in the order the data dictionary gives them."""
        return tuple(self.schema.columns)

    def required_in(self, start_year: int) -> bool:
        """Whether a period of the financial year starting in ``start_year`` must have it."""
        return self.required or (
            self.required_from is not None and start_year >= int(self.required_from[:4])
        )


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


_PLAUSIBLE = pa.Check.in_range(
    -MONEY_LIMIT_GBP_M,
    MONEY_LIMIT_GBP_M,
    error=(
        f"is larger than any NHS body's accounts (expected £ million, between "
        f"-{MONEY_LIMIT_GBP_M:,.0f} and {MONEY_LIMIT_GBP_M:,.0f}: was it typed in £ or £000?)"
    ),
)


def _money(nullable: bool = False, non_negative: bool = False) -> pa.Column:
    """A £m column within ± :data:`MONEY_LIMIT_GBP_M`; ``non_negative`` adds the ≥ 0 rule."""
    checks = [_PLAUSIBLE]
    if non_negative:
        checks.insert(0, pa.Check.ge(0, error="is negative (expected a number ≥ 0)"))
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
            [
                pa.Check.ge(0, error="is negative (expected a whole number ≥ 0)"),
                pa.Check.le(
                    MAX_DELAY_MONTHS,
                    error=f"is more than {MAX_DELAY_MONTHS} months (expected the delay in months)",
                ),
            ],
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


def _date(nullable: bool = False) -> pa.Column:
    return pa.Column("datetime64[ns]", nullable=nullable, description=DATE_EXPECTED)


_CODE = pa.Column(
    str,
    pa.Check.str_matches(
        ORG_CODE_PATTERN, error=f"is not an organisation code (expected {ORG_CODE_EXPECTED})"
    ),
    description=f"an organisation code: {ORG_CODE_EXPECTED}",
)

ORGANISATIONS = pa.DataFrameSchema(
    {
        "org_code": _CODE,
        "name": _text(expected="the organisation's name"),
        "org_type": _text(ORG_TYPES),
        "sector": _text(SECTORS, nullable=True),
        "valid_from": _date(),
        "valid_to": _date(nullable=True),
    },
    name="organisations",
    strict=True,
    ordered=True,
)

CLUSTER_MEMBERSHIP = pa.DataFrameSchema(
    {
        "org_code": _CODE,
        "cluster_code": _CODE,
        "valid_from": _date(),
        "valid_to": _date(nullable=True),
    },
    name="cluster_membership",
    strict=True,
    ordered=True,
)

#: Table name -> its spec: the five tables of the returns, in the data dictionary's order.
TABLES: dict[str, TableSpec] = {
    "financial_position": TableSpec(FINANCIAL_POSITION, ("org_code", "month"), True),
    "sha_budgets": TableSpec(SHA_BUDGETS, ("month", "budget_line"), True),
    "savings": TableSpec(SAVINGS, ("org_code", "category"), True),
    "variance_drivers": TableSpec(VARIANCE_DRIVERS, ("org_code", "driver"), True),
    # QIPP milestone tracking by PCT cluster began in 2011-12 (clusters formed April 2011).
    "milestones": TableSpec(MILESTONES, ("milestone_id",), False, required_from="2011-12"),
}
#: The reference tables under data/reference/, checked with the same machinery.
REFERENCE_TABLES: dict[str, TableSpec] = {
    "organisations": TableSpec(ORGANISATIONS, ("org_code",), True),
    "cluster_membership": TableSpec(CLUSTER_MEMBERSHIP, ("org_code", "valid_from"), True),
}
SPECS: dict[str, TableSpec] = {**TABLES, **REFERENCE_TABLES}
SCHEMAS: dict[str, pa.DataFrameSchema] = {name: spec.schema for name, spec in TABLES.items()}


def column_kinds(table: str) -> dict[str, Kind]:
    """Column name -> ``text``, ``money``, ``date`` or ``int`` for one table."""
    return {name: _DTYPES[str(col.dtype)][0] for name, col in SPECS[table].schema.columns.items()}


def dtypes(table: str) -> dict[str, str]:
    """Column name -> pandas dtype name (``str``, ``float64``, ``datetime64[ns]``, ``Int64``)."""
    return {name: _DTYPES[str(col.dtype)][1] for name, col in SPECS[table].schema.columns.items()}


def expected(table: str, column: str) -> str:
    """What a column should hold, in words (for messages)."""
    return str(SPECS[table].schema.columns[column].description)


def date_columns() -> set[str]:
    """Every column of every table of the returns that holds a date."""
    return {c for t in TABLES for c, k in column_kinds(t).items() if k == "date"}
