"""The Report every family's tables and text read, and what several families share.

Usage example (what :func:`helpers.report.opening.open_report` returns)::

    report.title_markdown(), report.summary_markdown(), report.notes_markdown()
    report.figures()          # the family's headline figures, computed once
    report.threshold_pct      # an option, with the family's default

A Report is one family, one period and one organisation; what the family computes and says is
its :class:`~helpers.report.family.Family` entry (``report.spec``), so nothing here branches
on the family's name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import figures, metrics
from helpers.data.organisations import REGION
from helpers.data.period_data import PeriodData, derived_once
from helpers.data.periods import Period
from helpers.errors import FigureError, ParameterError
from helpers.paths import PUBLISHED_FIGURES
from helpers.report.display import Table, board_table, label
from helpers.report.family import Family, Figures, Parameter


def period_table(data: PeriodData, fn: Callable[..., pd.DataFrame], *args: Any) -> pd.DataFrame:
    """``fn(data, *args)``; for the kit's own functions (``helpers.*``, which do not change
    in a process) computed once per process for the period's layer (:func:`derived_once`): the
    fork server computes the ones every report reads, and the kernels it forks inherit them."""
    if not fn.__module__.startswith("helpers."):
        return fn(data, *args)
    return derived_once(data, _derivation(fn, args), lambda: fn(data, *args))


def _derivation(fn: Callable[..., pd.DataFrame], args: tuple[Any, ...]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}{args!r}"


def _threshold(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        value_ok = False
    else:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        value_ok = 0 <= number < 100
    if not value_ok:
        raise ParameterError(
            f"The threshold_pct parameter must be a percentage of turnover between 0 and 100 "
            f"(e.g. 1.0), not {value!r}."
        )
    return float(value)  # type: ignore[arg-type]


#: The "significantly behind plan" threshold, an option of the families that rank trusts.
THRESHOLD = Parameter(
    "threshold_pct",
    float,
    metrics.DEFAULT_BEHIND_PLAN_THRESHOLD_PCT,
    "significantly behind plan: adverse variance over this % of turnover",
    _threshold,
)


#: The caveat every report and board output repeats (Markdown; its first sentence in bold).
SAMPLE_CAVEAT = (
    "**Organisation-level values in the sample returns are illustrative.** NHS London "
    "published regional totals and a few named organisations only; the sample was "
    "generated so that the totals computed here reproduce every published figure."
)


@dataclass(frozen=True)
class Report:
    """One report: family, period, organisation, options and the period's data."""

    spec: Family
    period: Period
    org_code: str
    org_name: str
    org_type: str
    data: PeriodData
    options: Mapping[str, Any] = field(default_factory=dict)
    returns_dir: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def family(self) -> str:
        """The family's name, e.g. ``provider_shortfall`` (also its notebook's name)."""
        return self.spec.name

    @property
    def threshold_pct(self) -> float:
        """The significantly-behind-plan threshold (% of turnover) this report uses."""
        return float(self.options.get(THRESHOLD.name, THRESHOLD.default))

    @property
    def is_region(self) -> bool:
        """True for the London-wide report (Q36)."""
        return self.org_code == REGION

    @property
    def cluster(self) -> str | None:
        """The cluster's code when the report is for a PCT cluster."""
        return self.org_code if self.org_type == "cluster" else None

    @property
    def members(self) -> list[str]:
        """The cluster's PCTs at the period's end (empty unless a cluster report)."""
        if self.cluster is None:
            return []
        return self.data.reference.cluster_members(self.cluster, self.period)

    @property
    def area(self) -> str:
        """How the text names the report's subject: ``London`` or the organisation's name."""
        return "London" if self.is_region else self.org_name

    @property
    def chart_label(self) -> str:
        """How chart titles name the subject: ``London`` or the organisation's code."""
        return "London" if self.is_region else self.org_code

    @property
    def period_label(self) -> str:
        """``Month 10 2010-11 (January 2011)``."""
        label = self.period.label
        return label[:1].upper() + label[1:]

    def title_markdown(self) -> str:
        """The report's title block: family title, organisation and period."""
        who = "NHS London" if self.is_region else f"{self.org_name} ({self.org_code})"
        return (
            f"# {self.spec.title}: {who}\n\n"
            f"**{self.period_label}** · returns to {self.period.end_month_label} of "
            f"{self.period.financial_year} · report `{self.family}` for `{self.org_code}`"
        )

    def figures(self) -> Figures:
        """The family's headline figures for this report (computed once).

        FigureError if one is not in the family's figure dictionary: every recorded figure
        has a label and a definition a board member can read.
        """
        if "figures" not in self._cache:
            computed = self.spec.figures(self)
            undefined = sorted(set(computed) - set(self.spec.figure_names))
            if undefined:
                raise FigureError(
                    f"the {self.family} report records {', '.join(undefined)}, which its "
                    "figure dictionary does not define (add each to its family's dictionary)"
                )
            self._cache["figures"] = computed
        figs: Figures = self._cache["figures"]
        return figs

    def derived(self, fn: Callable[..., pd.DataFrame], *args: Any) -> pd.DataFrame:
        """``fn(report.data, *args)``, computed once per report; each call gets its own copy.

        A report's tables, charts and text read the same derived table several times (a
        trust's report ranks the trusts for its summary, its ranking, its drivers chart and
        table...); the report's data is the period's as opened, so the first result stands.
        The kit's own functions' tables are shared by every report of the period in the
        process (:func:`period_table`).
        """
        key = _derivation(fn, args)
        if key not in self._cache:
            self._cache[key] = period_table(self.data, fn, *args)
        table: pd.DataFrame = self._cache[key]
        return table.copy()

    def record_figures(self) -> None:
        """Record the headline figures in the cell output (call once per report)."""
        figures.record_figures(
            self.figures(), period=str(self.period), notebook=self.family, org_code=self.org_code
        )

    def summary_markdown(self) -> str:
        """The board summary paragraph, written from the headline figures."""
        return self.spec.summary(self)

    def notes_markdown(self) -> str:
        """The closing section: data sources, the sample caveat and the definitions used."""
        where = (
            f"`data/raw/{self.period}/`"
            if not self.returns_dir
            else f"`{Path(self.returns_dir).name}`"
        )
        lines = [
            "## Notes on data sources and caveats",
            "",
            f"- The figures are computed from the organisation rows of the returns for "
            f"{self.period} ({where}), validated against the data contract in "
            "`docs/data-dictionary.md`. Money is in £ million; deficits and adverse "
            "variances are shown in brackets.",
            f"- {SAMPLE_CAVEAT}",
            f"- {sources_note(self.period)}",
        ]
        lines += [f"- {d}" for d in self.spec.definitions(self)]
        lines.append(
            "- Every definition is set out in `docs/assumptions-and-caveats.md`; the headline "
            "figures above are recorded in the notebook for the kit's figures table and tests."
        )
        return "\n".join(lines)


def sources_note(period: Period | str) -> str:
    """Markdown naming the published figures for ``period`` and their sources."""
    pub = pd.read_csv(PUBLISHED_FIGURES, dtype=str, keep_default_na=False)
    rows = pub.loc[pub["period"] == str(period)]
    if rows.empty:
        return (
            f"NHS London published no figures for {period} in the kit's reference list "
            "(`data/reference/published_figures.csv`); every value here comes from the returns."
        )
    sources = list(dict.fromkeys(rows["source"]))
    listed = "; ".join(sources)
    n = len(rows)
    return (
        f"The {n} published figures for {period} that these reports reproduce are listed with "
        f"their tolerances in `data/reference/published_figures.csv`. "
        f"Source{'s' if len(sources) > 1 else ''}: {listed}."
    )


def previous_month(period: Period) -> str | None:
    """The month label before the period's position (``M09`` for M10), or None at M01."""
    return None if period.month < 2 else f"M{period.month - 1:02d}"


def peers(report: Report, ranked: pd.DataFrame, noun: str) -> tuple[pd.DataFrame, str]:
    """All of a ranking in London's report; in an organisation's, the rows around its own.

    Returns the rows and a caption suffix that says which ranks are shown (empty when all
    are), so one report's size does not grow with the number of organisations.
    """
    if report.is_region:
        return ranked, ""
    window = metrics.rank_window(ranked, report.org_code, metrics.RANK_LIMIT)
    if not window.partial:
        return ranked, ""
    return window.rows, f" ({window.label(noun)}; London's report lists them all)"


def savings_category_table(report: Report, programme: str, orgs: list[str] | None) -> Table:
    """CIP or QIPP by workstream category, for ``orgs`` (None: every organisation)."""
    cat = metrics.savings_by_category(report.data, orgs=orgs)
    cat = cat.loc[cat["programme"] == programme].copy()
    cat["label"] = cat["category"].map(label)
    columns = {
        "label": ("Workstream category", "text"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "shortfall_pct": ("Shortfall %", "pct"),
    }
    return board_table(cat, columns, f"{programme} savings by workstream category, £m")
