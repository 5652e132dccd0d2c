"""The board tables of London's and each PCT cluster's reports, as workbook sheets.

Usage example (:mod:`helpers.pipeline.board_workbook` does this for the period's reports)::

    taken, tables = {"cover", "figures"}, {"contents", "figures"}
    sheets = [s for job in board_jobs(plan.jobs, ref)
              for s in report_sheets(job, ref, dirs, taken, tables)]

Each table comes from the executed notebook's :data:`~helpers.report.display.TABLE_MIME`
output: the caption, headers and kinds and the values the report shows, unformatted (money and
percentages as numbers, counts as integers, flags as booleans, missing as null). A sheet is
named ``<London or the cluster's code> <caption up to its first comma>``, whole words within
Excel's 31 characters (``London Outturn against plan``, ``NCL Missed milestones``), and its
Excel table is the same words joined by ``_``. A notebook whose tables cannot be read is a
:class:`~helpers.errors.BoardOutputError` naming it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from helpers.data.organisations import CLUSTERS, REGION, Reference
from helpers.errors import BoardOutputError
from helpers.paths import ProjectPaths
from helpers.pipeline.plan import Job
from helpers.pipeline.xlsx import Sheet
from helpers.report.display import KINDS, TABLE_MIME
from helpers.report.registry import FAMILIES

_SHEET_LIMIT = 31
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\']")
#: Shorter words for a sheet's name, always used (so every cluster's tabs read alike); the
#: caption itself stays whole in the sheet's first row and on the cover.
SHORTER = (
    ("forecast outturn", "FOT"),
    ("workstream category", "category"),
    ("QIPP milestones", "milestones"),
    ("significantly behind", "behind"),
    ("before support", "pre-support"),
    ("with and without support", "and support"),
    ("drivers of the variance to plan", "variance drivers"),
)
_TRAILING = {"a", "and", "as", "by", "for", "from", "in", "of", "the", "to", "that", "with"}


# --- names -------------------------------------------------------------------------------


def _fit(words: list[str], limit: int) -> str:
    """As many whole words as fit in ``limit`` characters, without a dangling ``by``/``of``."""
    kept = [words[0][:limit]]
    for word in words[1:]:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    while len(kept) > 2 and kept[-1].lower() in _TRAILING:
        kept.pop()
    return " ".join(kept)


def unique_sheet_name(prefix: str, caption: str, taken: set[str]) -> str:
    """``<prefix> <caption up to its first comma or bracket>`` in :data:`SHORTER` words, at most
    31 characters and unique in ``taken`` (case-insensitively, as Excel compares them), which
    it joins."""
    short = re.split(r", | \(", caption, maxsplit=1)[0]
    for long, shorter in SHORTER:
        short = re.sub(re.escape(long), shorter, short, flags=re.IGNORECASE)
    short = short[:1].upper() + short[1:]
    words = _NOT_IN_SHEET_NAMES.sub("", f"{prefix} {short}").split()
    name, n = _fit(words, _SHEET_LIMIT), 2
    while name.lower() in taken:
        suffix = f" {n}"
        name, n = _fit(words, _SHEET_LIMIT - len(suffix)) + suffix, n + 1
    taken.add(name.lower())
    return name


def table_name(sheet_name: str, taken: set[str]) -> str:
    """An Excel table name for a sheet: its words joined by ``_`` (unique in ``taken``)."""
    base = re.sub(r"[^A-Za-z0-9]+", "_", sheet_name).strip("_") or "Table"
    base = base if base[0].isalpha() else f"T_{base}"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name.lower())
    return name


def headers_of(columns: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Headers that stand alone in a pivot: named, unique, with their unit (£m, %)."""
    out: list[str] = []
    for column in columns:
        header, kind = str(column["header"]).strip() or "Item", column["kind"]
        if kind == "money" and "£m" not in header:
            header += " £m"
        if kind == "pct" and "%" not in header:
            header += " %"
        base, n = header, 2
        while header.lower() in {h.lower() for h in out}:
            header, n = f"{base} ({n})", n + 1
        out.append(header)
    return tuple(out)


# --- the reports' tables -------------------------------------------------------------------


def read_tables(path: Path) -> list[dict[str, Any]]:
    """Every table an executed report showed (caption, columns with kinds, rows of values)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            payload = out.get("data", {}).get(TABLE_MIME)
            if payload is not None:
                found.append(json.loads(payload) if isinstance(payload, str) else payload)
    return found


def board_jobs(jobs: Iterable[Job], ref: Reference) -> list[Job]:
    """London's reports, then each cluster's (clusters and families in their listed order)."""
    families = list(FAMILIES)
    chosen = [j for j in jobs if j.org_code == REGION or ref.org_type(j.org_code) == "cluster"]
    order = [REGION, *CLUSTERS]

    def key(job: Job) -> tuple[int, str, int]:
        at = order.index(job.org_code) if job.org_code in order else len(order)
        fam = families.index(job.family) if job.family in families else len(families)
        return at, job.org_code, fam

    return sorted(chosen, key=key)


def _who(job: Job, ref: Reference) -> str:
    """``NHS London (Q36)`` or ``North Central London (NCL)``."""
    return (
        "NHS London (Q36)"
        if job.org_code == REGION
        else f"{ref.name(job.org_code)} ({job.org_code})"
    )


def report_sheets(
    job: Job, ref: Reference, dirs: ProjectPaths, taken: set[str], tables: set[str]
) -> list[Sheet]:
    """One sheet per table of a job's executed report (``taken``/``tables``: names in use)."""
    prefix = "London" if job.org_code == REGION else job.org_code
    try:
        found = read_tables(job.ipynb)
    except (OSError, ValueError) as exc:
        raise BoardOutputError(f"{dirs.show(job.ipynb)} could not be read ({exc})") from exc
    sheets = []
    for data in found:
        try:
            kinds = [c["kind"] for c in data["columns"]]
            unknown = sorted(set(kinds) - set(KINDS))
            if unknown:
                raise ValueError(f"unknown column kind {', '.join(map(repr, unknown))}")
            rows = tuple(tuple(zip(row, kinds, strict=True)) for row in data["rows"])
            headers, caption = headers_of(data["columns"]), str(data["caption"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BoardOutputError(
                f"a table in {dirs.show(job.ipynb)} has no readable caption, columns and rows "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        name = unique_sheet_name(prefix, caption, taken)
        notes = (
            ("Report", f"{FAMILIES[job.family].title}: {_who(job, ref)}"),
            ("Shown in", dirs.show(job.html)),
        )
        empty = str(data.get("empty_text") or "Nothing to show.")
        sheets.append(Sheet(name, table_name(name, tables), caption, notes, headers, rows, empty))
    return sheets
