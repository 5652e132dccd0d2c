"""Reference data: organisations, their types and validity dates, and cluster membership.

>>> ref = load_reference()              # checked like a return; ValidationError if broken
>>> ref.name("RF4"), ref.cluster_members("NCL", Period.parse("2011-12-Q1"))[:2]

``data/reference/organisations.csv`` and ``cluster_membership.csv`` are checked with the same
contract machinery as the returns (:mod:`helpers.data.contract`, schemas in
:mod:`helpers.data.schemas`): a duplicate code, a date written another way or a missing column is
refused with the file, row, column, value and what was expected, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from helpers.data.contract import CheckedTable, check_table
from helpers.data.periods import Period
from helpers.data.returns import is_inside, read_csv_table
from helpers.data.schemas import REFERENCE_TABLES
from helpers.errors import ReferenceDataError, ValidationError
from helpers.paths import PROJ_ROOT, REFERENCE_DIR
from helpers.problems import Problem

REGION = "Q36"
CLUSTERS = ("NCL", "INEL", "ONEL", "NWL", "SEL", "SWL")
COMMISSIONER_TYPES = ("pct", "care_trust")
PROVIDER_TYPES = ("nhs_trust",)


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

    @cached_property
    def _names_and_types(self) -> dict[str, tuple[str, str]]:
        """org_code -> (name, org_type) of its first row (looked up for every report)."""
        orgs = self.organisations
        out: dict[str, tuple[str, str]] = {}
        for code, name, org_type in zip(
            orgs["org_code"], orgs["name"], orgs["org_type"], strict=True
        ):
            out.setdefault(str(code), (str(name), str(org_type)))
        return out

    def _entry(self, org_code: str) -> tuple[str, str]:
        try:
            return self._names_and_types[org_code]
        except KeyError:
            raise ReferenceDataError(
                f"organisation {org_code!r} is not in the reference data"
            ) from None

    def name(self, org_code: str) -> str:
        """The organisation's name, raising ReferenceDataError if unknown."""
        return self._entry(org_code)[0]

    def org_type(self, org_code: str) -> str:
        """The organisation's type (sha, cluster, pct, care_trust, nhs_trust)."""
        return self._entry(org_code)[1]

    @cached_property
    def _clusters(self) -> dict[Period, dict[str, list[str]]]:
        """Each period's cluster -> member PCTs, built in one pass when first asked for (a
        regional report asks some 80 times)."""
        return {}

    def cluster_members(self, cluster_code: str, period: Period) -> list[str]:
        """PCT codes in ``cluster_code`` at the period's end, sorted."""
        clusters = self._clusters.get(period)
        if clusters is None:
            clusters = self._clusters[period] = self._clusters_at(period)
        return list(clusters.get(cluster_code, []))

    def _clusters_at(self, period: Period) -> dict[str, list[str]]:
        mem = self.membership
        ts = pd.Timestamp(period.end_date)
        ok = (mem["valid_from"] <= ts) & (mem["valid_to"].isna() | (mem["valid_to"] >= ts))
        pairs = zip(
            mem.loc[ok, "cluster_code"].astype(str),
            mem.loc[ok, "org_code"].astype(str),
            strict=True,
        )
        clusters: dict[str, list[str]] = {}
        for cluster, org in sorted(pairs):
            clusters.setdefault(cluster, []).append(org)
        return clusters

    def cluster_of(self, period: Period) -> dict[str, str]:
        """Mapping PCT code -> cluster code at the period's end."""
        return {
            org: cluster for cluster in CLUSTERS for org in self.cluster_members(cluster, period)
        }

    def orgs_of_types(self, types: Sequence[str], period: Period) -> list[str]:
        """Organisations of ``types`` valid in the period: London first, then sorted codes."""
        valid = self.valid_in(period)
        codes = sorted(valid.loc[valid["org_type"].isin(types), "org_code"].astype(str))
        return [REGION] + [c for c in codes if c != REGION] if REGION in codes else codes

    def check_org(self, org_code: str, types: Sequence[str], period: Period, report: str) -> None:
        """ReferenceDataError (one sentence) unless ``report`` can run for ``org_code``.

        ``types`` are the organisation types the report runs for ("sha" is London).
        """
        if org_code not in set(self.organisations["org_code"]):
            raise ReferenceDataError(
                f"organisation {org_code!r} is not a known organisation code "
                f"(see data/reference/organisations.csv)"
            )
        kind = self.org_type(org_code)
        if kind not in types:
            raise ReferenceDataError(
                f"{self.name(org_code)} ({org_code}) is a {kind}; the {report} report "
                f"runs for organisations of type {', '.join(types)}"
            )
        if org_code not in self.orgs_of_types(types, period):
            raise ReferenceDataError(
                f"{self.name(org_code)} ({org_code}) was not a valid organisation in {period} "
                f"(see its validity dates in data/reference/organisations.csv)"
            )


def _shown(path: Path) -> str:
    """``data/reference/organisations.csv``: relative to its project (or the full path)."""
    folder = path.parent
    if folder.name == "reference" and folder.parent.name == "data":
        return f"data/reference/{path.name}"
    try:
        return path.resolve().relative_to(PROJ_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def _read_checked(reference_dir: Path, name: str, problems: list[Problem]) -> CheckedTable | None:
    path = reference_dir / f"{name}.csv"
    shown = _shown(path)
    if not path.is_file():
        problems.append(Problem(shown, "missing (a reference file every run needs)"))
        return None
    if not is_inside(path, (PROJ_ROOT, reference_dir)):
        problems.append(
            Problem(
                shown,
                "is a link to a file outside the project (expected the reference file itself)",
            )
        )
        return None
    raw, found = read_csv_table(path, name, shown)
    problems.extend(found)
    return None if raw.is_empty and found else check_table(raw, problems)


def _dates_problems(table: CheckedTable) -> list[Problem]:
    """valid_to is on or after valid_from."""
    out = []
    for row in table.rows("valid_from", "valid_to"):
        start, end = table.cell(row, "valid_from"), table.cell(row, "valid_to")
        if end < start:
            out.append(
                table.problem(
                    row,
                    "valid_to",
                    f"is before valid_from {start:%Y-%m-%d} (expected the last day it existed, "
                    "on or after its first)",
                )
            )
    return out


def _membership_problems(orgs: CheckedTable, members: CheckedTable) -> list[Problem]:
    """Members are PCTs or care trusts listed in organisations.csv; clusters are clusters."""
    types = {
        str(orgs.cell(r, "org_code")): str(orgs.cell(r, "org_type"))
        for r in orgs.rows("org_code", "org_type")
    }
    out = []
    for col, wanted, words in (
        ("org_code", COMMISSIONER_TYPES, "a PCT or care trust listed in organisations.csv"),
        ("cluster_code", ("cluster",), "a cluster listed in organisations.csv"),
    ):
        for row in members.rows(col):
            if types.get(str(members.cell(row, col))) not in wanted:
                out.append(members.problem(row, col, f"is not {words} (expected {words})"))
    return out


def _region_problems(orgs: CheckedTable) -> list[Problem]:
    codes = {str(orgs.cell(r, "org_code")) for r in orgs.rows("org_code")}
    if REGION in codes:
        return []
    return [
        Problem(orgs.raw.source, f"no row for {REGION} (expected NHS London, the region itself)")
    ]


def load_reference(reference_dir: Path = REFERENCE_DIR) -> Reference:
    """Load and check organisations.csv and cluster_membership.csv from ``reference_dir``.

    Checked once per process while the files' contents stay the same (a kernel may live
    long; a forked kernel inherits what its fork server checked).
    """
    checked = _load_reference(reference_dir, _contents(reference_dir))
    return Reference(checked.organisations.copy(), checked.membership.copy())  # each its own


def _contents(reference_dir: Path) -> tuple[tuple[str, str], ...]:
    """Each reference file's sha256 ('' for one that is missing or unreadable)."""
    out = []
    for name in REFERENCE_TABLES:
        try:
            digest = hashlib.sha256((reference_dir / f"{name}.csv").read_bytes()).hexdigest()
        except OSError:
            digest = ""
        out.append((name, digest))
    return tuple(out)


@lru_cache(maxsize=4)
def _load_reference(reference_dir: Path, contents: tuple[tuple[str, str], ...]) -> Reference:
    """:func:`load_reference` for files of these ``contents`` (the cache's key)."""
    problems: list[Problem] = []
    tables = {name: _read_checked(reference_dir, name, problems) for name in REFERENCE_TABLES}
    orgs, members = tables["organisations"], tables["cluster_membership"]
    for table in (orgs, members):
        if table is not None:
            problems.extend(_dates_problems(table))
    if orgs is not None:
        problems.extend(_region_problems(orgs))
        if members is not None:
            problems.extend(_membership_problems(orgs, members))
    if problems or orgs is None or members is None:
        raise ValidationError(
            problems, summary=f"{len(problems):,} problem(s) in the reference data"
        )
    return Reference(
        organisations=orgs.frame.reset_index(drop=True),
        membership=members.frame.reset_index(drop=True),
    )
