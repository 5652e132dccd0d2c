"""What the report notebooks call: open a report, show board tables and text, record figures.

Usage example (the first cells of every report notebook)::

    report = open_report("provider_shortfall", "2010-11-M10", "RF4", threshold_pct=1.0)
    show_markdown(report.title_markdown())
    show_markdown(report.summary_markdown())
    show_table(trust_table(report))
    report.record_figures()
    show_markdown(report.notes_markdown())

:func:`open_report` checks every parameter before any work is done; a bad one stops the
report with one sentence (a :class:`helpers.errors.KitError`) that says what is wrong.
Tables are displayed with a fixed text and HTML form, so nbval compares them exactly.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import Markdown

from helpers import figures, metrics, narrative
from helpers.errors import KitError, NoDataError, ParameterError, ValidationError
from helpers.organisations import (
    FAMILY_ORG_TYPES,
    REGION,
    Reference,
    load_reference,
)
from helpers.paths import PROCESSED_DIR, PROJ_ROOT, PUBLISHED_FIGURES, RAW_DIR
from helpers.periods import Period
from helpers.store import PeriodData, load_period

#: Each report family's title, as the board reads it.
FAMILY_TITLES: dict[str, str] = {
    "regional_outturn": "Forecast outturn against plan",
    "provider_shortfall": "Provider savings and variance to plan",
    "pct_support_needs": "PCT break-even and support needs",
    "cluster_milestone_slippage": "QIPP savings and milestone slippage",
}
#: Families with the "significantly behind plan" threshold parameter.
THRESHOLD_FAMILIES = ("regional_outturn", "provider_shortfall")
TYPE_NAMES = {
    "sha": "strategic health authority",
    "cluster": "PCT cluster",
    "pct": "PCT",
    "care_trust": "care trust",
    "nhs_trust": "NHS trust",
}


# --- display ------------------------------------------------------------------------------


class BoardText(Markdown):
    """IPython Markdown whose plain-text form is the text itself (so nbval compares the words).

    Its Markdown form goes through :func:`helpers.narrative.markdown_safe`, so a name from
    the data such as ``<script>...`` is shown as text in the HTML report, never run.
    """

    def __repr__(self) -> str:
        return str(self.data)

    def _repr_markdown_(self) -> str:
        return narrative.markdown_safe(str(self.data))


def show_markdown(text: str) -> None:
    """Display board text as Markdown (its text/plain form is the same text); skip empty text."""
    from IPython.display import display

    if text.strip():
        display(BoardText(text))  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Table:
    """A table ready for the board: formatted text cells, a caption, right-aligned numbers."""

    frame: pd.DataFrame
    caption: str
    numeric: tuple[str, ...] = ()
    empty_text: str = "Nothing to show."


#: Column kinds understood by :func:`board_table`.
KINDS = ("text", "money", "pct", "count", "flag")


def _cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if kind == "money":
        return narrative.money(float(value))
    if kind == "pct":
        return f"{narrative.pct(float(value))[:-1]}"
    if kind == "count":
        return str(int(value))
    if kind == "flag":
        return "Yes" if bool(value) else "No"
    return str(value)


def board_table(
    frame: pd.DataFrame,
    columns: Mapping[str, tuple[str, str]],
    caption: str,
    empty_text: str = "Nothing to show.",
) -> Table:
    """Format ``frame``'s ``columns`` (``{column: (header, kind)}``) as board-paper text."""
    out = pd.DataFrame(index=range(len(frame)))
    for col, (header, kind) in columns.items():
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r}")
        out[header] = [_cell(v, kind) for v in frame[col].tolist()]
    numeric = tuple(h for h, k in columns.values() if k != "text")
    return Table(out.astype(str), caption, numeric, empty_text)


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:40] + "-" + hashlib.sha1(text.encode()).hexdigest()[:6]


def table_bundle(table: Table) -> dict[str, str]:
    """The display bundle of a table: deterministic text/plain and text/html."""
    if table.frame.empty:
        empty = narrative.markdown_safe(table.empty_text)
        return {"text/plain": table.empty_text, "text/markdown": f"*{empty}*"}
    frame = table.frame
    plain = f"{table.caption}\n{frame.to_string(index=False)}"
    numeric = [c for c in frame.columns if c in table.numeric]
    styler = (
        frame.style.set_uuid(_slug(table.caption))
        .set_caption(html.escape(table.caption))  # the Styler escapes cells, not captions
        .hide(axis="index")
        .format(escape="html")
        .set_table_styles(
            [
                {"selector": "caption", "props": "text-align: left; font-weight: bold;"},
                {"selector": "th", "props": "background-color: #005EB8; color: white;"},
                {"selector": "td, th", "props": "padding: 2px 8px;"},
            ]
        )
    )
    if numeric:
        styler = styler.set_table_styles(
            {c: [{"selector": "td", "props": "text-align: right;"}] for c in numeric},
            overwrite=False,
        )
    return {"text/plain": plain, "text/html": styler.to_html()}


def show_table(table: Table) -> None:
    """Display a :class:`Table` (or its empty text when it has no rows)."""
    from IPython.display import display

    display(table_bundle(table), raw=True)  # type: ignore[no-untyped-call]


# --- parameters ---------------------------------------------------------------------------


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _family_reach(family: str) -> str:
    kinds = [TYPE_NAMES[t] for t in FAMILY_ORG_TYPES[family] if t != "sha"]
    alternatives = narrative.join_words(kinds).replace(" and ", " or ")
    return f"NHS London ({REGION}) or {_article(alternatives)}"


def _check_family(family: str) -> None:
    if family not in FAMILY_TITLES:
        names = narrative.join_words(FAMILY_TITLES).replace(" and ", " or ")
        raise ParameterError(f"There is no report family {family!r}: choose {names}.")


def parse_period(period: object) -> Period:
    """The period parameter as a Period, or ParameterError with one sentence."""
    if isinstance(period, Period):
        return period
    try:
        return Period.parse(str(period))
    except KitError:
        raise ParameterError(
            f"The period {period!r} is not a reporting period: write it as YYYY-YY-MNN "
            "(a month, M01 = April) or YYYY-YY-QN (a quarter), e.g. 2011-12-Q1."
        ) from None


def _org_label(ref: Reference, org_code: str) -> str:
    return f"{ref.name(org_code)} ({org_code})"


def org_problem(ref: Reference, family: str, org_code: str, period: Period) -> str | None:
    """Why ``family`` cannot report on ``org_code`` in ``period`` (one sentence), or None."""
    try:
        ref.check_org(family, org_code, period)
    except KitError:
        pass
    else:
        return None
    orgs = ref.organisations
    if org_code not in set(orgs["org_code"]):
        return (
            f"Organisation code {org_code!r} is not in the reference data "
            "(data/reference/organisations.csv)."
        )
    kind = ref.org_type(org_code)
    report = FAMILY_TITLES[family]
    if kind not in FAMILY_ORG_TYPES[family]:
        return (
            f"{_org_label(ref, org_code)} is {_article(TYPE_NAMES[kind])}, but the "
            f"{family} report ({report}) runs for {_family_reach(family)}."
        )
    row = orgs.loc[orgs["org_code"] == org_code].iloc[0]
    span = f"from {row['valid_from']:%-d %B %Y}"
    if pd.notna(row["valid_to"]):
        span += f" to {row['valid_to']:%-d %B %Y}"
    label = _org_label(ref, org_code)
    return f"{label} was not a valid organisation in {period}: it existed {span}."


def _article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" or noun.startswith("NHS") else "a ") + noun


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


def returns_location(returns_dir: str | Path, period: Period) -> tuple[Path, Path]:
    """Folders (raw, processed) for ``returns_dir``: the folder of period folders, or one of them.

    Empty means the kit's own ``data/raw``; a relative path is taken from the project root
    (never the working directory). Returns from elsewhere get their own processed layer.
    """
    if not str(returns_dir).strip():
        return RAW_DIR, PROCESSED_DIR
    folder = Path(returns_dir).expanduser()
    folder = folder if folder.is_absolute() else PROJ_ROOT / folder
    raw = folder.parent if folder.name == str(period) else folder
    if not (raw / str(period)).is_dir():
        raise NoDataError(f"There are no returns for {period} in {folder}.")
    if raw.resolve() == RAW_DIR.resolve():
        return RAW_DIR, PROCESSED_DIR
    key = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
    return raw, PROCESSED_DIR / "elsewhere" / key


def _load(period: Period, returns_dir: str | Path) -> PeriodData:
    raw, processed = returns_location(returns_dir, period)
    if not (raw / str(period)).is_dir():
        raise NoDataError(
            f"There are no returns for {period}: put them in data/raw/{period}/ "
            "(see docs/data-dictionary.md)."
        )
    try:
        return load_period(period, raw_dir=raw, processed_dir=processed)
    except ValidationError as exc:
        n = len(exc.problems)
        raise NoDataError(
            f"The returns for {period} break the data contract ({n} problem"
            f"{'' if n == 1 else 's'}); run `make validate PERIOD={period}` to list them."
        ) from None


def _check_has_return(data: PeriodData, org_code: str) -> None:
    ref = data.reference
    if ref.org_type(org_code) in ("sha", "cluster"):
        return
    fp = data.financial_position
    month = data.period.end_month_label
    if not ((fp["org_code"] == org_code) & (fp["month"] == month)).any():
        raise NoDataError(
            f"{_org_label(ref, org_code)} sent no financial return for {month} of {data.period}."
        )


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One report: family, period, organisation, options and the period's data."""

    family: str
    period: Period
    org_code: str
    org_name: str
    org_type: str
    data: PeriodData
    threshold_pct: float = metrics.DEFAULT_BEHIND_PLAN_THRESHOLD_PCT
    returns_dir: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
            f"# {FAMILY_TITLES[self.family]}: {who}\n\n"
            f"**{self.period_label}** · returns to {self.period.end_month_label} of "
            f"{self.period.financial_year} · report `{self.family}` for `{self.org_code}`"
        )

    def figures(self) -> dict[str, float | int]:
        """The family's headline figures for this report (see :mod:`helpers.metrics`)."""
        if "figures" not in self._cache:
            self._cache["figures"] = _family_figures(self)
        figs: dict[str, float | int] = self._cache["figures"]
        return figs

    def record_figures(self) -> None:
        """Record the headline figures in the cell output (call once per report)."""
        figures.record_figures(
            self.figures(), period=str(self.period), notebook=self.family, org_code=self.org_code
        )

    def summary_markdown(self) -> str:
        """The board summary paragraph, written from the headline figures."""
        return _summary(self)

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
            "- **Organisation-level values in the sample returns are illustrative.** NHS London "
            "published regional totals and a few named organisations only; the sample was "
            "generated so that the totals computed here reproduce every published figure.",
            f"- {sources_note(self.period)}",
        ]
        lines += [f"- {d}" for d in _definitions(self)]
        lines.append(
            "- Every definition is set out in `docs/assumptions-and-caveats.md`; the headline "
            "figures above are recorded in the notebook for the kit's figures table and tests."
        )
        return "\n".join(lines)


def open_report(family: str, period: object, org_code: object, **options: object) -> Report:
    """Check the parameters, load the period's returns and return the :class:`Report`.

    Options: ``threshold_pct`` (families with the "significantly behind plan" threshold) and
    ``returns_dir`` (see :func:`returns_location`). A bad parameter raises a KitError whose
    message is one sentence, shown first as Markdown, with a traceback of one frame.
    """
    __tracebackhide__ = True  # IPython and pytest hide this frame
    try:
        return _open(family, period, org_code, dict(options))
    except KitError as exc:
        problem = exc
    sentence = _sentence(str(problem))
    if _in_ipython():
        show_markdown(f"**This report cannot be produced.** {sentence}")
    error = NoDataError if isinstance(problem, NoDataError) else ParameterError
    raise error(sentence) from None


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        return False
    return get_ipython() is not None


def _open(family: str, period: object, org_code: object, options: dict[str, object]) -> Report:
    _check_family(family)
    allowed = {"returns_dir", *(("threshold_pct",) if family in THRESHOLD_FAMILIES else ())}
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ParameterError(
            f"The {family} report has no option {narrative.join_words(unknown)}; "
            f"its options are {narrative.join_words(sorted(allowed))}."
        )
    p = parse_period(period)
    if not isinstance(org_code, str) or not org_code.strip():
        raise ParameterError(
            f"The org_code parameter must be an organisation code such as 'Q36', not {org_code!r}."
        )
    code = org_code.strip().upper()
    threshold = _threshold(options.get("threshold_pct", metrics.DEFAULT_BEHIND_PLAN_THRESHOLD_PCT))
    returns_dir = options.get("returns_dir", "")
    if not isinstance(returns_dir, str | Path):
        raise ParameterError(
            f"The returns_dir parameter must be a folder path, not {returns_dir!r}."
        )
    ref = load_reference()
    problem = org_problem(ref, family, code, p)
    if problem:
        raise ParameterError(problem)
    data = _load(p, returns_dir)
    _check_has_return(data, code)
    return Report(
        family=family,
        period=p,
        org_code=code,
        org_name=data.reference.name(code),
        org_type=data.reference.org_type(code),
        data=data,
        threshold_pct=threshold,
        returns_dir=str(returns_dir),
    )


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


def _definitions(report: Report) -> list[str]:
    threshold = narrative.pct(report.threshold_pct)
    defs = {
        "regional_outturn": [
            f"London's total is NHS trusts + PCTs (with the care trust) + the SHA's own budgets; "
            f"a trust is significantly behind plan when its adverse variance exceeds "
            f"{threshold} of turnover.",
        ],
        "provider_shortfall": [
            f"Significantly behind plan: forecast variance to plan adverse by more than "
            f"{threshold} of turnover (the report's `threshold_pct` parameter). CIP shortfall "
            "= (plan − forecast) / plan.",
        ],
        "pct_support_needs": [
            "Needs support: the forecast outturn before London Challenged Trust Board support "
            "is a deficit. Underlying position = forecast − LCTB support − other non-recurrent "
            "measures.",
        ],
        "cluster_milestone_slippage": [
            "A cluster meets its savings target when its year-to-date QIPP savings are at "
            "least its year-to-date plan; milestones due are those met or missed by the "
            "period's end.",
        ],
    }
    return defs[report.family]


# --- headline figures and summaries -------------------------------------------------------


def _family_figures(report: Report) -> dict[str, float | int]:
    data, org = report.data, report.org_code
    if report.family == "regional_outturn":
        return metrics.regional_figures(data, org, report.threshold_pct)
    if report.family == "provider_shortfall":
        return metrics.provider_figures(data, org, report.threshold_pct)
    if report.family == "pct_support_needs":
        return metrics.pct_figures(data, org)
    return cluster_report_figures(data, org)


def cluster_report_figures(data: PeriodData, org_code: str = REGION) -> dict[str, float | int]:
    """cluster_milestone_slippage figures, keeping only what the period's returns hold.

    Without milestone tracking (2010-11) there are no milestone counts; without clusters
    (before April 2011) London's QIPP totals come from its PCTs rather than from clusters.
    """
    figs = metrics.cluster_figures(data, org_code)
    if not data.has_milestones:
        figs = {k: v for k, v in figs.items() if not k.startswith("milestones_")}
    if metrics.cluster_savings(data).empty:
        figs = {}
        qipp = metrics.savings_summary(data)
        if "QIPP" in qipp.index:
            q = qipp.to_dict("index")["QIPP"]
            figs = {
                "qipp_ytd_plan_gbp_m": float(q["ytd_plan_gbp_m"]),
                "qipp_ytd_actual_gbp_m": float(q["ytd_actual_gbp_m"]),
                "qipp_ytd_variance_gbp_m": float(q["ytd_actual_gbp_m"] - q["ytd_plan_gbp_m"]),
                "qipp_annual_plan_gbp_m": float(q["annual_plan_gbp_m"]),
                "qipp_forecast_gbp_m": float(q["forecast_gbp_m"]),
                "qipp_forecast_variance_gbp_m": float(q["forecast_gbp_m"] - q["annual_plan_gbp_m"]),
            }
            figs = {k: round(v, metrics.FIGURE_DECIMALS) for k, v in figs.items()}
    return figs


def previous_month(period: Period) -> str | None:
    """The month label before the period's position (``M09`` for M10), or None at M01."""
    return None if period.month < 2 else f"M{period.month - 1:02d}"


def _summary(report: Report) -> str:
    figs = report.figures()
    year = report.period.financial_year
    if report.family == "regional_outturn":
        text = narrative.regional_summary(
            figs, area=report.area, year=year, previous_month=previous_month(report.period)
        )
        if report.is_region:
            cost = float(figs["pct_cluster_transition_cost_gbp_m"])
            if cost:
                text += (
                    f" The PCT forecasts include {narrative.gbp_m(cost)} of costs of the new "
                    "cluster arrangements."
                )
        return text
    if report.family == "provider_shortfall":
        table = metrics.trust_shortfall(report.data, report.threshold_pct)
        if report.is_region:
            return narrative.provider_summary_london(figs, table, report.threshold_pct)
        return narrative.provider_summary_trust(figs, table, report.org_code, report.threshold_pct)
    if report.family == "pct_support_needs":
        if report.is_region:
            return narrative.pct_summary_london(figs, metrics.pct_support(report.data))
        return narrative.pct_summary_org(figs, report.org_name)
    return _cluster_summary(report, figs)


def _cluster_summary(report: Report, figs: Mapping[str, float | int]) -> str:
    year = report.period.financial_year
    if not report.data.has_milestones:
        text = narrative.no_milestones_sentence(year)
        if figs:
            text += " " + narrative.cluster_summary(
                figs, area="London's PCTs", when=report.period.label
            )
        return text
    met = None
    if report.is_region:
        sav = metrics.cluster_savings(report.data)
        names = report.data.reference.organisations.set_index("org_code")["name"]
        met = [str(names[c]) for c in sav.index[sav["savings_target_met"]]]
    return narrative.cluster_summary(
        figs, area=report.area, when=report.period.label, met_clusters=met
    )


# --- tables: regional_outturn -------------------------------------------------------------


def outturn_by_group(report: Report) -> pd.DataFrame:
    """Rows to compare with plan: London's groups, or a cluster's PCTs and its total (£m)."""
    money = [*metrics.MONEY, "variance_to_plan_gbp_m"]
    if report.cluster is None:
        frame = metrics.sector_summary(report.data).reset_index()
        frame = frame.rename(columns={"group": "label"})
    else:
        pos = metrics.position(report.data)
        pcts = pos.loc[pos["org_code"].isin(report.members)]
        rows = pcts.assign(label=pcts["name"].map(narrative.short_name))[["label", *money]]
        total = metrics.sector_summary(report.data, cluster=report.cluster).loc[[report.cluster]]
        total = total.reset_index().rename(columns={"group": "label"})
        total["label"] = report.org_name
        frame = pd.concat([rows, total[["label", *money]]], ignore_index=True)
    frame["ytd_variance_gbp_m"] = frame["ytd_actual_gbp_m"] - frame["ytd_plan_gbp_m"]
    return frame.round(metrics.FIGURE_DECIMALS)


def trajectory(report: Report) -> pd.DataFrame:
    """Forecast outturn and plan by month (long form: month, group, plan, forecast)."""
    if report.cluster is None:
        return metrics.forecast_trajectory(report.data)
    fp = report.data.financial_position
    cols = ["annual_plan_gbp_m", "forecast_outturn_gbp_m"]
    rows = fp.loc[fp["org_code"].isin(report.members)]
    out = rows.groupby("month", sort=True)[cols].sum().reset_index()
    out.insert(1, "group", report.org_name)
    return out.round(metrics.FIGURE_DECIMALS)


def movement(report: Report) -> pd.DataFrame:
    """Forecast outturn now and at the previous month, by group (empty at M01)."""
    traj = trajectory(report)
    prev = previous_month(report.period)
    now = report.period.end_month_label
    if prev is None:
        return pd.DataFrame(columns=["group", "previous_gbp_m", "forecast_gbp_m", "movement_gbp_m"])
    wide = traj.pivot_table(
        index="group", columns="month", values="forecast_outturn_gbp_m", sort=False
    )
    out = pd.DataFrame(
        {
            "group": wide.index,
            "previous_gbp_m": wide[prev].to_numpy(),
            "forecast_gbp_m": wide[now].to_numpy(),
        }
    )
    out["movement_gbp_m"] = out["forecast_gbp_m"] - out["previous_gbp_m"]
    return out.round(metrics.FIGURE_DECIMALS)


def bridge(report: Report) -> pd.DataFrame:
    """Plan-to-forecast bridge: the plan, each group's variance, then the forecast (£m)."""
    groups = outturn_by_group(report)
    total_label = "London" if report.cluster is None else report.org_name
    total = groups.loc[groups["label"] == total_label].iloc[0]
    parts = groups.loc[groups["label"] != total_label]
    steps = [("Plan", "total", float(total["annual_plan_gbp_m"]))]
    steps += [
        (str(r["label"]), "change", float(r["variance_to_plan_gbp_m"]))
        for r in parts.to_dict("records")
    ]
    steps.append(("Forecast", "total", float(total["forecast_outturn_gbp_m"])))
    out = pd.DataFrame(steps, columns=["step", "kind", "amount_gbp_m"])
    running = out["amount_gbp_m"].where(out["kind"] == "change", 0.0).cumsum()
    out["end_gbp_m"] = (running + steps[0][2]).where(out["kind"] == "change", out["amount_gbp_m"])
    out["start_gbp_m"] = (out["end_gbp_m"] - out["amount_gbp_m"]).where(
        out["kind"] == "change", 0.0
    )
    return out.round(metrics.FIGURE_DECIMALS)


def outturn_table(report: Report) -> Table:
    """Forecast outturn, year to date and prior year against plan, by group."""
    frame = outturn_by_group(report)
    move = movement(report)
    prev = previous_month(report.period)
    columns: dict[str, tuple[str, str]] = {
        "label": ("", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD actual £m", "money"),
        "ytd_variance_gbp_m": ("YTD variance £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
    }
    if prev is not None and report.cluster is None:
        frame["movement_gbp_m"] = frame["label"].map(move.set_index("group")["movement_gbp_m"])
        columns["movement_gbp_m"] = (f"Movement since {prev} £m", "money")
    columns["prior_year_outturn_gbp_m"] = ("Prior-year outturn £m", "money")
    return board_table(frame, columns, f"Outturn against plan, {report.period}, £m")


def savings_table(report: Report) -> Table:
    """CIP (NHS trusts) and QIPP (PCTs) savings against plan, as a share of turnover/resources."""
    orgs = report.members if report.cluster else None
    sav = metrics.savings_summary(report.data, orgs=orgs).reset_index()
    sav["who"] = sav["programme"].map({"CIP": "NHS trusts (CIP)", "QIPP": "PCTs (QIPP)"})
    sav["base"] = sav["programme"].map({"CIP": "turnover", "QIPP": "resources"})
    columns = {
        "who": ("Programme", "text"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_recurrent_gbp_m": ("of which recurrent £m", "money"),
        "shortfall_pct": ("Shortfall %", "pct"),
        "pct_of_base": ("Forecast % of turnover/resources", "pct"),
    }
    return board_table(sav, columns, f"Savings against plan, {report.period}, £m")


def trajectory_table(report: Report) -> Table:
    """The trajectory chart's data: forecast outturn by month for each group, and the plan."""
    traj = trajectory(report)
    wide = traj.pivot_table(
        index="group", columns="month", values="forecast_outturn_gbp_m", sort=False
    )
    plan = traj.groupby("group", sort=False)["annual_plan_gbp_m"].last()
    wide.insert(0, "Plan", plan)
    frame = wide.reset_index()
    columns = {"group": ("", "text")} | {c: (str(c), "money") for c in wide.columns}
    return board_table(frame, columns, "Forecast outturn by month, £m")


def bridge_table(report: Report) -> Table:
    """The bridge chart's data: plan, each group's variance, forecast."""
    columns = {"step": ("Step", "text"), "amount_gbp_m": ("£m", "money")}
    return board_table(bridge(report), columns, "From plan to forecast outturn, £m")


# --- tables: provider_shortfall -----------------------------------------------------------


def trust_table(report: Report) -> Table:
    """NHS trusts ranked by variance as % of turnover (the ranking chart's data).

    London's report lists every trust; a trust's report the trusts ranked nearest it
    (:func:`_peers`).
    """
    table = metrics.trust_shortfall(report.data, report.threshold_pct)
    table = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    table, ranks = _peers(report, table, "NHS trusts")
    columns = {
        "org_code": ("Code", "text"),
        "name": ("NHS trust", "text"),
        "turnover_gbp_m": ("Turnover £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
        "variance_pct_of_turnover": ("Variance % of turnover", "pct"),
        "significantly_behind_plan": ("Significantly behind", "flag"),
        "cip_plan_gbp_m": ("CIP plan £m", "money"),
        "cip_forecast_gbp_m": ("CIP forecast £m", "money"),
        "cip_shortfall_pct": ("CIP shortfall %", "pct"),
    }
    caption = f"NHS trusts by variance to plan as a share of turnover, {report.period}{ranks}"
    return board_table(table, columns, caption)


def _peers(report: Report, ranked: pd.DataFrame, noun: str) -> tuple[pd.DataFrame, str]:
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


def behind_plan_table(report: Report) -> Table:
    """The trusts significantly behind plan, worst variance first."""
    table = metrics.trust_shortfall(report.data, report.threshold_pct)
    table = table.loc[table["significantly_behind_plan"]]
    columns = {
        "org_code": ("Code", "text"),
        "name": ("NHS trust", "text"),
        "variance_to_plan_gbp_m": ("Variance £m", "money"),
        "variance_pct_of_turnover": ("Variance % of turnover", "pct"),
        "cip_shortfall_pct": ("CIP shortfall %", "pct"),
    }
    caption = (
        f"Trusts significantly behind plan (adverse variance over "
        f"{narrative.pct(report.threshold_pct)} of turnover)"
    )
    return board_table(table, columns, caption, "No trust is significantly behind plan.")


def drivers(report: Report) -> pd.DataFrame:
    """Variance drivers (£m) of the report's subject (the trust, or all London trusts).

    Columns: ``driver``, ``amount_gbp_m`` and, in a trust's report, ``london_gbp_m``.
    """
    table = metrics.trust_shortfall(report.data, report.threshold_pct)
    keys = list(narrative.DRIVER_LABELS)
    out = pd.DataFrame({"driver": [label(narrative.DRIVER_LABELS[k]) for k in keys]})
    london = [float(table[f"driver_{k}_gbp_m"].sum()) for k in keys]
    if report.is_region:
        out["amount_gbp_m"] = london
    else:
        row = table.loc[table["org_code"] == report.org_code].to_dict("records")[0]
        out["amount_gbp_m"] = [float(row[f"driver_{k}_gbp_m"]) for k in keys]
        out["london_gbp_m"] = london
    return out.round(metrics.FIGURE_DECIMALS)


def drivers_table(report: Report) -> Table:
    """The drivers chart's data (with all London trusts' drivers beside a trust's own)."""
    columns = {
        "driver": ("Driver", "text"),
        "amount_gbp_m": (f"{report.chart_label} £m", "money"),
    }
    if not report.is_region:
        columns["london_gbp_m"] = ("All London trusts £m", "money")
    return board_table(drivers(report), columns, "Drivers of the variance to plan, £m")


def _category_table(report: Report, programme: str, orgs: list[str] | None) -> Table:
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


def cip_category_table(report: Report) -> Table:
    """CIP by workstream category, for the trust or for all London trusts."""
    return _category_table(report, "CIP", None if report.is_region else [report.org_code])


# --- tables: pct_support_needs ------------------------------------------------------------


def pct_table(report: Report, only_needing_support: bool = False) -> Table:
    """PCTs by outturn before LCTB support, worst first (the support chart's data).

    In a PCT's report the full list shows the PCTs ranked nearest it (:func:`_peers`).
    """
    table = metrics.pct_support(report.data)
    ranks = ""
    if only_needing_support:
        table = table.loc[table["needs_support"]]
    else:
        table, ranks = _peers(report, table, "PCTs")
    columns = {
        "org_code": ("Code", "text"),
        "name": ("PCT", "text"),
        "cluster_code": ("Cluster", "text"),
        "forecast_outturn_gbp_m": ("Forecast £m", "money"),
        "lctb_support_gbp_m": ("LCTB support £m", "money"),
        "outturn_before_support_gbp_m": ("Before support £m", "money"),
        "underlying_gbp_m": ("Underlying £m", "money"),
        "acute_overperformance_gbp_m": ("Acute overperformance £m", "money"),
        "needs_support": ("Needs support", "flag"),
        "qipp_forecast_pct_of_plan": ("QIPP forecast % of plan", "pct"),
    }
    if table["cluster_code"].isna().all():
        del columns["cluster_code"]
    caption = (
        "PCTs that need support to break even"
        if only_needing_support
        else f"PCTs by forecast outturn before support, {report.period}{ranks}"
    )
    return board_table(table, columns, caption, "No PCT needs support to break even.")


def break_even_table(report: Report) -> Table:
    """One PCT's bridge from forecast outturn to underlying position (or London's PCTs)."""
    table = metrics.pct_support(report.data)
    if not report.is_region:
        table = table.loc[table["org_code"] == report.org_code]
    pos = metrics.position(report.data).set_index("org_code")["non_recurrent_gbp_m"]
    non_recurrent = float(table["org_code"].map(pos).sum())
    items = [
        ("Forecast outturn", float(table["forecast_outturn_gbp_m"].sum())),
        ("less LCTB support", -float(table["lctb_support_gbp_m"].sum())),
        ("Outturn before support", float(table["outturn_before_support_gbp_m"].sum())),
        ("less other non-recurrent measures", -non_recurrent),
        ("Underlying position", float(table["underlying_gbp_m"].sum())),
        ("Acute overperformance", float(table["acute_overperformance_gbp_m"].sum())),
        ("QIPP plan", float(table["qipp_plan_gbp_m"].sum())),
        ("QIPP forecast", float(table["qipp_forecast_gbp_m"].sum())),
    ]
    frame = pd.DataFrame(items, columns=["item", "amount_gbp_m"])
    who = "London's PCTs" if report.is_region else report.org_code
    columns = {"item": ("", "text"), "amount_gbp_m": (f"{who} £m", "money")}
    return board_table(frame, columns, "Break-even with and without support, £m")


def qipp_category_table(report: Report) -> Table:
    """QIPP by workstream category, for the PCT, the cluster or all London PCTs."""
    orgs = None if report.is_region else (report.members or [report.org_code])
    return _category_table(report, "QIPP", orgs)


# --- tables: cluster_milestone_slippage ---------------------------------------------------


def cluster_table(report: Report) -> Table:
    """QIPP to date and forecast against plan by cluster, with London's total (chart data)."""
    sav = metrics.cluster_savings(report.data)
    frame = sav.reset_index()
    if not frame.empty:
        total = sav.drop(columns="savings_target_met").sum().to_frame().T
        total.insert(0, "cluster_code", "London")
        frame = pd.concat([frame.astype({"savings_target_met": "object"}), total])
    columns = {
        "cluster_code": ("Cluster", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "ytd_variance_gbp_m": ("YTD variance £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_variance_gbp_m": ("Forecast variance £m", "money"),
        "savings_target_met": ("Target met to date", "flag"),
    }
    return board_table(
        frame,
        columns,
        f"QIPP savings by cluster, {report.period}, £m",
        "There were no PCT clusters in this period (they were formed in April 2011).",
    )


def member_qipp_table(report: Report) -> Table:
    """QIPP by PCT: the cluster's members, or every PCT in a London report."""
    per = metrics.savings_by_org(report.data)
    per = per.loc[per["programme"] == "QIPP"]
    if report.cluster is not None:
        per = per.loc[per["org_code"].isin(report.members)]
    columns = {
        "org_code": ("Code", "text"),
        "name": ("PCT", "text"),
        "ytd_plan_gbp_m": ("YTD plan £m", "money"),
        "ytd_actual_gbp_m": ("YTD delivered £m", "money"),
        "annual_plan_gbp_m": ("Plan £m", "money"),
        "forecast_gbp_m": ("Forecast £m", "money"),
        "forecast_pct_of_plan": ("Forecast % of plan", "pct"),
    }
    return board_table(per, columns, f"QIPP savings by PCT, {report.period}, £m")


STATUS_COLUMNS = ["due", "met", "missed", "not_yet_due"]


def milestone_counts(report: Report) -> pd.DataFrame:
    """Milestones due, met, missed and not yet due by cluster (``label``; empty without any)."""
    if not report.data.has_milestones:
        return pd.DataFrame(columns=["label", *STATUS_COLUMNS])
    counts = metrics.milestone_status(report.data)
    return counts.reset_index().rename(columns={"cluster_code": "label"})


def milestone_status_by_category(milestones: pd.DataFrame) -> pd.DataFrame:
    """Milestones due (met + missed), met, missed and not yet due by workstream category."""
    counts = pd.crosstab(milestones["category"], milestones["status"])
    counts = counts.reindex(columns=["met", "missed", "not_yet_due"], fill_value=0)
    counts["due"] = counts["met"] + counts["missed"]
    counts.index = counts.index.map(label)
    counts.index.name = "label"
    counts.columns.name = None
    return counts[STATUS_COLUMNS].astype("int64")


def _status_columns(by: str) -> dict[str, tuple[str, str]]:
    return {
        "label": (by, "text"),
        "due": ("Due", "count"),
        "met": ("Met", "count"),
        "missed": ("Missed", "count"),
        "not_yet_due": ("Not yet due", "count"),
    }


def milestone_table(report: Report) -> Table:
    """The milestone chart's data: due, met, missed, not yet due by cluster, and London."""
    counts = milestone_counts(report)
    if not counts.empty:
        total = counts[STATUS_COLUMNS].sum().to_frame().T.assign(label="London")
        counts = pd.concat([counts, total], ignore_index=True)
    return board_table(
        counts,
        _status_columns("Cluster"),
        f"QIPP milestones by cluster, {report.period}",
        no_tracking_sentence(report),
    )


def category_milestone_table(report: Report) -> Table:
    """Milestones by workstream category, for London or the cluster."""
    ms = report.data.milestones
    if report.cluster is not None:
        ms = ms.loc[ms["cluster_code"] == report.cluster]
    counts = (
        milestone_status_by_category(ms).reset_index()
        if report.data.has_milestones
        else pd.DataFrame(columns=["label", *STATUS_COLUMNS])
    )
    who = "London" if report.cluster is None else report.cluster
    return board_table(
        counts,
        _status_columns("Workstream category"),
        f"QIPP milestones by workstream category, {who}, {report.period}",
        no_tracking_sentence(report),
    )


def no_tracking_sentence(report: Report) -> str:
    """The short note shown in place of milestone tables for a year without tracking."""
    return f"No QIPP milestones were tracked in {report.period.financial_year}."


def delays(report: Report) -> pd.DataFrame:
    """Missed milestones (for the cluster, or all), longest delay first."""
    if not report.data.has_milestones:
        return metrics.milestone_delays(report.data).iloc[0:0]
    return metrics.milestone_delays(report.data, cluster=report.cluster)


def delays_table(report: Report) -> Table:
    """Missed milestones with their delay in months and the reason given."""
    frame = delays(report).copy()
    frame["category"] = frame["category"].map(label)
    frame["reason_category"] = frame["reason_category"].map(label)
    frame["due"] = frame["due_date"].dt.strftime("%b %Y")
    columns = {
        "milestone_id": ("Milestone", "text"),
        "org_code": ("PCT", "text"),
        "category": ("Category", "text"),
        "scheme": ("Scheme", "text"),
        "due": ("Due", "text"),
        "delay_months": ("Delay (months)", "count"),
        "reason_category": ("Reason", "text"),
        "reason_text": ("Explanation", "text"),
    }
    empty = (
        "No milestone due by the end of the period was missed."
        if report.data.has_milestones
        else no_tracking_sentence(report)
    )
    return board_table(frame, columns, "Missed milestones, longest delay first", empty)


def delays_markdown(report: Report) -> str:
    """The delays in words (empty for a year without tracking: the table says so)."""
    if not report.data.has_milestones:
        return ""
    return narrative.delays_summary(delays(report))


def label(code: object) -> str:
    """A category code as words: ``drugs_costs`` -> ``Drugs costs`` (missing -> ``—``)."""
    if code is None or code is pd.NA or (isinstance(code, float) and math.isnan(code)):
        return "—"
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]
