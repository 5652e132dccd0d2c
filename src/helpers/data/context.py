"""What the cross-table rules of the contract share: the period, the reference data, the tables.

>>> ctx = Context(period, reference, checked_tables, problems)
>>> ctx.describe("RJ2"), ctx.valid_in_month("RYX", 8), ctx.reporting_orgs()
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from helpers.data.contract import CheckedTable
from helpers.data.organisations import COMMISSIONER_TYPES, PROVIDER_TYPES, Reference
from helpers.data.periods import Period
from helpers.problems import Problem

#: The organisations that send returns: NHS trusts, PCTs and the care trust.
REPORTING_TYPES = (*PROVIDER_TYPES, *COMMISSIONER_TYPES)


@dataclass
class Context:
    """What the cross-table rules share."""

    period: Period
    ref: Reference
    tables: dict[str, CheckedTable]
    problems: list[Problem]
    orgs: dict[Hashable, dict[Hashable, Any]] = field(init=False)
    valid_at_end: set[str] = field(init=False)
    open_all_year: set[str] = field(init=False)
    _month_ok: dict[tuple[str, int], bool] = field(default_factory=dict)
    _members: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.orgs = self.ref.organisations.set_index("org_code").to_dict("index")
        valid = self.ref.valid_in(self.period)
        self.valid_at_end = set(valid["org_code"])
        started = valid["valid_from"] <= pd.Timestamp(self.period.year_start)
        self.open_all_year = set(valid.loc[started, "org_code"])

    def org(self, code: str) -> dict[Hashable, Any]:
        """The organisation's reference row (name, org_type, valid_from, valid_to)."""
        return self.orgs[code]

    def members(self, cluster: str) -> list[str]:
        """The cluster's member PCTs at the period end."""
        if cluster not in self._members:
            self._members[cluster] = self.ref.cluster_members(cluster, self.period)
        return self._members[cluster]

    def describe(self, code: str) -> str:
        """``'RJ2' (Lewisham Healthcare NHS Trust)``."""
        return f"'{code}' ({self.org(code)['name']})"

    def org_type(self, code: str) -> str:
        return str(self.org(code)["org_type"])

    def dates(self, code: str) -> str:
        """``it was open from 1994-04-01 to 2011-03-31`` or ``it opened on 2011-05-01``."""
        start, end = self.org(code)["valid_from"], self.org(code)["valid_to"]
        if pd.isna(end):
            return f"it opened on {start:%Y-%m-%d}"
        return f"it was open from {start:%Y-%m-%d} to {end:%Y-%m-%d}"

    def valid_in_month(self, code: str, month: int) -> bool:
        """Reference.is_valid_in_month, skipped for organisations open all year to date."""
        if code in self.open_all_year:
            return True
        key = (code, month)
        if key not in self._month_ok:
            self._month_ok[key] = self.ref.is_valid_in_month(code, self.period, month)
        return self._month_ok[key]

    def reporting_orgs(self, types: Sequence[str] = REPORTING_TYPES) -> list[str]:
        """Organisations of ``types`` valid at the period end, in code order."""
        return sorted(c for c in self.valid_at_end if self.org_type(c) in types)

    def reporting_in_month(self, month: int) -> list[str]:
        """NHS trusts, PCTs and care trusts open in financial-year month ``month``."""
        return sorted(
            str(code)
            for code, row in self.orgs.items()
            if row["org_type"] in REPORTING_TYPES and self.valid_in_month(str(code), month)
        )
