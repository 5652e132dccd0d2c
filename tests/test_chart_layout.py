"""Chart layout: every word of every chart is inside the figure and clear of every other.

The charts are those the reports draw for London, a cluster and the organisations with the
longest names and driver lists, in both sample periods, plus charts made to be hard (a title of
three lines, long driver names). Each is drawn at the PNG's resolution and every drawn text
(titles, axis labels, tick labels in view, annotations, the key's words, legend entries) is
measured by matplotlib's renderer, which the layout itself does not use.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from helpers import charts, metrics, spc
from helpers.chart_layout import MarginsLayout, text_size, wrap
from helpers.data.store import load_period
from helpers.report import open_report
from helpers.report.cluster_milestone_slippage import milestone_counts
from helpers.report.provider_shortfall import drivers
from helpers.report.regional_outturn import bridge, trajectory
from helpers.report.trends import position_trend, trend_chart, variance_trend
from helpers.spc_chart import xmr_chart

PERIODS = ("2010-11-M10", "2011-12-Q1")


def _longest_named(period: str, org_type: str) -> str:
    orgs = load_period(period).reference.organisations
    of_type = orgs.loc[orgs["org_type"] == org_type]
    return str(of_type.loc[of_type["name"].str.len().idxmax(), "org_code"])


def _report_charts(period: str) -> list[Figure]:
    figs: list[Figure | None] = []
    data = load_period(period)
    trust = _longest_named(period, "nhs_trust")
    pct = _longest_named(period, "pct")
    for org in ("Q36", trust):
        report = open_report("provider_shortfall", period, org)
        shortfall = report.derived(metrics.trust_shortfall, report.threshold_pct)
        figs.append(charts.variance_ranking_chart(shortfall, 1.0, highlight=org))
        figs.append(charts.drivers_chart(drivers(report), report.chart_label))
        figs.append(trend_chart(variance_trend(report)))
    for org in ("Q36", pct):
        report = open_report("pct_support_needs", period, org)
        figs.append(charts.support_chart(metrics.pct_support(data), highlight=org))
        figs.append(trend_chart(variance_trend(report)))
    regions = ["Q36"] + (["NCL"] if period >= "2011" else [])
    for org in regions:
        report = open_report("regional_outturn", period, org)
        figs += [charts.bridge_chart(bridge(report)), charts.trajectory_chart(trajectory(report))]
        figs += [trend_chart(variance_trend(report)), trend_chart(position_trend(report))]
    figs.append(charts.cluster_savings_chart(metrics.cluster_savings(data)))
    report = open_report("cluster_milestone_slippage", period, "Q36")
    figs.append(charts.milestone_chart(milestone_counts(report)))
    return [f for f in figs if f is not None]


def _hard_charts() -> list[Figure]:
    months = [f"2010-11-M{m:02d}" for m in range(1, 13)] + ["2011-12-M01"]
    values = [1.0, -1.0] * 6 + [-250.5]
    result = spc.xmr(pd.Series(values, index=months), better="higher", target=0.0)
    long_title = "In-month variance to plan, " + "a very long organisation name " * 5
    words = pd.DataFrame(
        {
            "driver": ["Premium costs of unplanned activity and agency staff", "Other items"],
            "amount_gbp_m": [-1234.5, 2.0],
        }
    )
    return [
        xmr_chart(result, long_title, "£m in the month"),
        charts.drivers_chart(words, "A trust with a long name, " * 3),
    ]


def _drawn_texts(ax: Axes) -> list[tuple[str, Text]]:
    found: list[tuple[str, Text]] = []
    for axis in (ax.xaxis, ax.yaxis):
        lo, hi = sorted(axis.get_view_interval())
        ticks = [t for t in axis.get_major_ticks() if lo - 1e-9 <= t.get_loc() <= hi + 1e-9]
        found += [("tick label", t.label1) for t in ticks]
        found.append(("axis label", axis.label))
    titles = {ax.get_title(loc) for loc in ("left", "center", "right")} - {""}
    found += [
        ("title", t) for t in ax.get_children() if isinstance(t, Text) and t.get_text() in titles
    ]
    found += [("text", t) for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        found += [("legend", t) for t in legend.get_texts()]
    return [(kind, t) for kind, t in found if t.get_visible() and t.get_text().strip()]


def _problems(fig: Figure) -> list[str]:
    """Texts outside the figure, texts overlapping each other, annotations outside their axes."""
    fig.set_dpi(charts.DPI * charts.PNG_SCALE)
    try:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # type: ignore[no-untyped-call]
        renderer = canvas.get_renderer()
        items = [
            (kind, text, text.get_window_extent(renderer), ax.bbox.frozen() if ax.axison else None)
            for ax in fig.axes
            for kind, text in _drawn_texts(ax)
        ]
        width, height = fig.bbox.width, fig.bbox.height
    finally:
        fig.set_dpi(charts.DPI)
    found = []
    for kind, text, box, frame in items:
        words = f"{kind} {text.get_text()[:30]!r}"
        if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
            found.append(f"{words} is outside the figure")
        inside = frame is not None and frame.x0 <= box.x0 and box.x1 <= frame.x1
        if (
            kind == "text"
            and frame is not None
            and not (inside and frame.y0 <= box.y0 <= box.y1 <= frame.y1)
        ):
            found.append(f"{words} is outside its axes")
    for (k1, t1, b1, _), (k2, t2, b2, _) in itertools.combinations(items, 2):
        if b1.overlaps(b2):
            found.append(f"{k1} {t1.get_text()[:30]!r} overlaps {k2} {t2.get_text()[:30]!r}")
    return found


@pytest.mark.parametrize("period", PERIODS)
def test_every_word_of_the_reports_charts_fits_and_is_clear(period: str) -> None:
    figs = _report_charts(period)
    assert len(figs) >= 13
    problems = {charts.chart_title(f): _problems(f) for f in figs}
    assert {title: found for title, found in problems.items() if found} == {}


def test_hard_charts_wrap_their_titles_and_fit() -> None:
    for fig in _hard_charts():
        assert _problems(fig) == []
        title = fig.axes[0].get_title(loc="left")
        assert title.count("\n") >= 1  # wrapped to the figure's width
        assert charts.chart_title(fig).startswith("In-month variance") or "long name" in title
        assert "\n" not in charts.chart_title(fig)  # the text form keeps one line


def test_layout_is_the_same_at_every_draw() -> None:
    fig = _hard_charts()[0]
    first = charts.png_bytes(fig)
    positions = [ax.get_position().bounds for ax in fig.axes]
    title = fig.axes[0].get_title(loc="left")
    assert charts.png_bytes(fig) == first
    assert [ax.get_position().bounds for ax in fig.axes] == positions
    assert fig.axes[0].get_title(loc="left") == title


def test_wrap_breaks_at_spaces_keeps_breaks_and_fits() -> None:
    prop = Text(text="", fontsize=13, fontweight="bold").get_fontproperties()
    text = "From plan to forecast outturn, North Central London\n(ranks 1 to 30 of 40)"
    wrapped = wrap(text, prop, 200.0)
    assert wrapped.replace("\n", " ") == text.replace("\n", " ")
    assert "\n(ranks 1 to 30 of 40)" in wrapped
    assert all(text_size(line, prop)[0] <= 200.0 for line in wrapped.split("\n"))
    assert wrap(wrapped, prop, 200.0) == wrapped  # wrapping again changes nothing
    one_word = "Supercalifragilistic" * 3
    assert wrap(one_word, prop, 50.0) == one_word  # a word longer than the width stays whole


def test_text_size_turns_with_rotation_and_stacks_lines() -> None:
    prop = Text(text="", fontsize=10).get_fontproperties()
    width, height = text_size("2010-11-M01", prop)
    assert width > height > 0
    assert text_size("2010-11-M01", prop, 90) == pytest.approx((height, width))
    two = text_size("2010-11-M01\n2010-11-M01", prop)
    assert two[0] == pytest.approx(width) and two[1] > 2 * height
    assert text_size("", prop) == (0.0, 0.0)


def test_other_grids_fall_back_to_constrained_layout() -> None:
    fig = Figure(figsize=charts.FIGSIZE, dpi=charts.DPI, layout=MarginsLayout())
    axes = fig.subplots(2, 2)
    for ax in axes.flat:
        ax.set_title("A panel")
        ax.set_ylabel("£m")
    charts.png_bytes(fig)
    tops = sorted({round(ax.get_position().y1, 6) for ax in axes.flat})
    assert len(tops) == 2 and tops[1] < 1.0  # two rows, each below its title
    assert _problems(fig) == []
