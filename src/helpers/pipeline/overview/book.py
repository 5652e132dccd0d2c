"""The overview's raw material: recorded figures by report, each report's status and links.

>>> book = FigureBook(figures_frame)         # figures.csv of the period's good reports
>>> book.get("regional_outturn", "Q36", "region_forecast_outturn_gbp_m")
215.4
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import pandas as pd

from helpers import formats
from helpers.figures import unit_of
from helpers.pipeline.overview.model import (
    ADVERSE,
    FAILED,
    FAVOURABLE,
    NEUTRAL,
    OK,
    STALE,
    Cell,
    Judgement,
    Link,
)
from helpers.pipeline.plan import Job, is_up_to_date
from helpers.report.registry import FAMILIES

#: Shown in a cell without a value (the report recorded none, or is not up to date).
NO_VALUE = "—"


class FigureBook:
    """Recorded figures by (notebook, org_code, figure)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._values = {
            (str(n), str(o), str(f)): float(v)
            for n, o, f, v in zip(
                frame["notebook"], frame["org_code"], frame["figure"], frame["value"], strict=True
            )
        }

    def get(self, notebook: str, org_code: str, figure: str) -> float | None:
        """The figure's value, or None when that report did not record it."""
        return self._values.get((notebook, org_code, figure))

    def first(self, notebooks: Iterable[str], org_code: str, figure: str) -> tuple[str, float]:
        """The first of ``notebooks`` that recorded the figure, and its value (KeyError if none)."""
        for notebook in notebooks:
            value = self.get(notebook, org_code, figure)
            if value is not None:
                return notebook, value
        raise KeyError(figure)


def judge(value: float, better: str) -> Judgement:
    """Favourable, adverse or neutral: the sign of ``value`` against the favourable direction.

    ``value`` is a variance or a count whose zero is "on plan" (a variance) or "none" (a
    count of organisations in trouble); ``better`` is the dictionary's higher, lower or neither.
    """
    shown = formats.rounded(value)
    if better == "neither" or shown == 0:
        return Judgement(FAVOURABLE if better == "lower" and shown == 0 else NEUTRAL)
    good = shown > 0 if better == "higher" else shown < 0
    return Judgement(FAVOURABLE if good else ADVERSE)


def cell(value: float | None, unit: str, better: str = "neither") -> Cell:
    """A table cell in board style: £m ``(106.8)``, % ``11.5``, a count, or a flag in words.

    It sorts by the value as recorded (two trusts shown as ``(0.7)`` keep their true order).
    """
    if value is None:
        return Cell(NO_VALUE, None)
    if unit == "gbp_m":
        return Cell(formats.money_cell(value), value)
    if unit == "pct":
        return Cell(formats.pct_cell(value), value)
    if unit == "flag":
        flagged = bool(round(value))
        judged = None if better == "neither" else judge(1.0 if flagged else 0.0, better)
        return Cell("Yes" if flagged else "No", float(flagged), judged)
    return Cell(str(round(value)), float(round(value)))


def header(label: str, name: str) -> str:
    """A column header: the label and its unit (`` £m``, `` %``) unless the label says it."""
    suffix = {"gbp_m": " £m", "pct": " %"}.get(unit_of(name), "")
    return label if suffix.strip() in label else label + suffix


def report_status(job: Job, failed: Collection[str] = ()) -> tuple[str, str]:
    """A report's state (OK, FAILED or STALE) and its status in words.

    Failed means the last run of it failed (it is in ``failed``, or its failed notebook is
    kept beside the outputs); not up to date means its inputs changed since its last good run,
    or it never ran. A report that is not up to date may still show an earlier good copy.
    """
    if is_up_to_date(job):
        return OK, "Up to date"
    earlier = " (an earlier report is shown)" if job.html.is_file() else ""
    if job.name in failed or job.failed.is_file():
        return FAILED, "Failed in the last run" + earlier
    return STALE, "Not up to date" + (earlier or " (not run yet)")


def report_links(job: Job, who: str) -> tuple[Link, ...]:
    """Links to the report's HTML, its notebook and a failed run's notebook, where they exist."""
    rel = job.family
    found = []
    if job.html.is_file():
        found.append(Link(f"{rel}/{job.html.name}", "Report", f"of {who}"))
    if job.ipynb.is_file():
        found.append(Link(f"{rel}/{job.ipynb.name}", "Notebook", f"of {who}"))
    if job.failed.is_file():
        found.append(Link(f"{rel}/{job.failed.name}", "Failed notebook", f"of {who}"))
    return tuple(found)


def family_title(family: str) -> str:
    """The family's title from the registry (its name if it is not registered)."""
    return FAMILIES[family].title if family in FAMILIES else family
