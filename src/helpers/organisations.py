"""Reference data: organisations, their types and validity dates, and cluster membership."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from helpers.errors import ReferenceDataError
from helpers.paths import REFERENCE_DIR
from helpers.periods import Period

REGION = "Q36"
CLUSTERS = ("NCL", "INEL", "ONEL", "NWL", "SEL", "SWL")
COMMISSIONER_TYPES = ("pct", "care_trust")
PROVIDER_TYPES = ("nhs_trust",)

#: Which organisation types each report family runs for (besides London, Q36).
FAMILY_ORG_TYPES: dict[str, tuple[str, ...]] = {
    "regional_outturn": ("sha", "cluster"),
    "provider_shortfall": ("sha", *PROVIDER_TYPES),
    "pct_support_needs": ("sha", *COMMISSIONER_TYPES),
    "cluster_milestone_slippage": ("sha", "cluster"),
}


@dataclass(frozen=True)
class Reference:
    """The reference tables: organisations and cluster membership."""

    organisations: pd.DataFrame
    membership: pd.DataFrame

    def valid_on(self, day: dt.date) -> pd.DataFrame:
        """Organisations that exist on ``day``."""
        orgs = self.organisations
        ts = pd.Timestamp(day)
        ok = (orgs["valid_from"] <= ts) & (orgs["valid_to"].isna() | (orgs["valid_to"] >= ts))
        return orgs.loc[ok]

    def valid_in(self, period: Period) -> pd.DataFrame:
        """Organisations valid at the period's end (and so reportable for the period)."""
        return self.valid_on(period.end_date)

    def is_valid_in_month(self, org_code: str, period: Period, fy_month: int) -> bool:
        """Whether ``org_code`` existed throughout financial-year month ``fy_month``."""
        y, m = period.calendar_month(fy_month)
        day = (pd.Timestamp(dt.date(y, m, 1)) + pd.offsets.MonthEnd(0)).date()
        return org_code in set(self.valid_on(day)["org_code"])

    def name(self, org_code: str) -> str:
        """The organisation's name, raising ReferenceDataError if unknown."""
        row = self.organisations.loc[self.organisations["org_code"] == org_code]
        if row.empty:
            raise ReferenceDataError(f"organisation {org_code!r} is not in the reference data")
        return str(row["name"].iloc[0])

    def org_type(self, org_code: str) -> str:
        """The organisation's type (sha, cluster, pct, care_trust, nhs_trust)."""
        row = self.organisations.loc[self.organisations["org_code"] == org_code]
        if row.empty:
            raise ReferenceDataError(f"organisation {org_code!r} is not in the reference data")
        return str(row["org_type"].iloc[0])

    def cluster_members(self, cluster_code: str, period: Period) -> list[str]:
        """PCT codes in ``cluster_code`` at the period's end, sorted."""
        mem = self.membership
        ts = pd.Timestamp(period.end_date)
        ok = (
            (mem["cluster_code"] == cluster_code)
            & (mem["valid_from"] <= ts)
            & (mem["valid_to"].isna() | (mem["valid_to"] >= ts))
        )
        return sorted(mem.loc[ok, "org_code"].astype(str))

    def cluster_of(self, period: Period) -> dict[str, str]:
        """Mapping PCT code -> cluster code at the period's end."""
        return {
            org: cluster for cluster in CLUSTERS for org in self.cluster_members(cluster, period)
        }

    def family_orgs(self, family: str, period: Period) -> list[str]:
        """Organisations a family can report on in the period: London first, then sorted codes."""
        if family not in FAMILY_ORG_TYPES:
            raise ReferenceDataError(f"unknown report family {family!r}")
        valid = self.valid_in(period)
        types = FAMILY_ORG_TYPES[family]
        codes = sorted(valid.loc[valid["org_type"].isin(types), "org_code"].astype(str))
        return [REGION] + [c for c in codes if c != REGION]

    def check_org(self, family: str, org_code: str, period: Period) -> None:
        """Raise ReferenceDataError with one clear sentence if the family cannot report on it."""
        if org_code not in set(self.organisations["org_code"]):
            raise ReferenceDataError(
                f"organisation {org_code!r} is not a known organisation code "
                f"(see data/reference/organisations.csv)"
            )
        kind = self.org_type(org_code)
        if kind not in FAMILY_ORG_TYPES[family]:
            wanted = ", ".join(FAMILY_ORG_TYPES[family])
            raise ReferenceDataError(
                f"{self.name(org_code)} ({org_code}) is a {kind}; the {family} report "
                f"runs for organisations of type {wanted}"
            )
        if org_code not in self.family_orgs(family, period):
            raise ReferenceDataError(
                f"{self.name(org_code)} ({org_code}) was not a valid organisation in {period} "
                f"(see its validity dates in data/reference/organisations.csv)"
            )


def _read_dated(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    for col in ("valid_from", "valid_to"):
        frame[col] = pd.to_datetime(frame[col].replace("", None), format="%Y-%m-%d")
    return frame


@lru_cache(maxsize=4)
def load_reference(reference_dir: Path = REFERENCE_DIR) -> Reference:
    """Load organisations.csv and cluster_membership.csv from ``reference_dir``."""
    orgs = _read_dated(reference_dir / "organisations.csv")
    orgs["sector"] = orgs["sector"].replace("", None)
    membership = _read_dated(reference_dir / "cluster_membership.csv")
    return Reference(organisations=orgs, membership=membership)
