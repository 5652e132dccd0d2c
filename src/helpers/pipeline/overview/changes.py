"""The overview's "changed since the last run" section: which figures moved, for whom, why.

Usage example (what :func:`helpers.pipeline.overview.build_overview` does)::

    section = changes_section(plan, run_changes)   # None unless a figure moved
    section.summary, section.inputs, [r.figure for r in section.rows]
"""

from __future__ import annotations

import pandas as pd

from helpers.pipeline.changes import RunChanges
from helpers.pipeline.overview.book import cell
from helpers.pipeline.overview.model import ChangeRow, Changes, Link
from helpers.pipeline.plan import Plan
from helpers.report.registry import FAMILIES

#: The most moved figures the page lists (changes.csv has them all).
SHOWN = 40


def changes_section(plan: Plan, changes: RunChanges | None) -> Changes | None:
    """The section's data, or None on a first run or when no figure moved."""
    if changes is None or changes.first_run or changes.moved.empty:
        return None
    names = {j.org_code: j.org_name for j in plan.jobs}
    rows = []
    for r in changes.moved.head(SHOWN).to_dict("records"):
        family, org, name = str(r["notebook"]), str(r["org_code"]), str(r["figure"])
        spec = FAMILIES.get(family)
        label = spec.figure(name).label if spec and name in spec.figure_names else name
        unit = str(r["unit"])
        rows.append(
            ChangeRow(
                organisation=f"{names.get(org, org)} ({org})",
                figure=label,
                family=spec.title if spec else family,
                before=cell(_value(r["old_value"]), unit),
                now=cell(_value(r["new_value"]), unit),
                difference=cell(_value(r["difference"]), unit),
                link=Link(f"{family}/{org}.html", "Report", f"of {names.get(org, org)} ({org})"),
            )
        )
    more = len(changes.moved) - len(rows)
    return Changes(
        summary=changes.summary(plan.period).split(": ", 1)[1],
        inputs=tuple(str(c) for c in changes.inputs),
        rows=tuple(rows),
        more=more,
        link=Link("changes.csv", "Every moved figure (CSV)"),
    )


def _value(x: float) -> float | None:
    return None if pd.isna(x) else float(x)
