"""Charts: titled, labelled in £m, NHS colours, the threshold line, fixed size, stable PNGs."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from helpers import charts, metrics
from helpers.data.period_data import PeriodData
from helpers.data.store import load_period
from helpers.report import open_report
from helpers.report.cluster_milestone_slippage import milestone_counts
from helpers.report.provider_shortfall import drivers
from helpers.report.regional_outturn import bridge, trajectory


@pytest.fixture(scope="module")
def m10() -> PeriodData:
    return load_period("2010-11-M10")


@pytest.fixture(scope="module")
def q1() -> PeriodData:
    return load_period("2011-12-Q1")


def _bars(fig: Figure) -> list[Rectangle]:
    return [p for p in fig.axes[0].patches if isinstance(p, Rectangle) and p.get_height() != 0]


def _colours(fig: Figure) -> set[str]:
    return {to_hex(p.get_facecolor()).upper() for p in _bars(fig)}


def _check_frame(fig: Figure, money: bool = True) -> None:
    ax = fig.axes[0]
    assert ax.get_title(loc="left"), "chart has no title"
    label = ax.get_ylabel() + ax.get_xlabel()
    assert label, "chart has no axis label"
    if money:
        assert "£m" in label
    assert tuple(fig.get_size_inches()) == charts.FIGSIZE
    assert fig.dpi == charts.DPI


def _check_not_colour_alone(fig: Figure, legend: str) -> None:
    """Red bars, and only they, are hatched, and the legend and the text form say so."""
    bars = _bars(fig)
    assert bars
    for bar in bars:
        red = to_hex(bar.get_facecolor()).upper() == charts.RAG_RED
        assert bool(bar.get_hatch()) == red, bar
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend in texts
    text = charts.chart_data(fig)
    assert "legend: " in text and legend in text
    assert " red hatched" in text and " blue hatched" not in text


def test_variance_ranking_chart_marks_threshold_and_trusts_behind_plan(m10: PeriodData) -> None:
    table = metrics.trust_shortfall(m10, 1.0)
    fig = charts.variance_ranking_chart(table, 1.0, highlight="RF4")
    _check_frame(fig, money=False)
    ax = fig.axes[0]
    assert "% of turnover" in ax.get_ylabel()
    lines = [ln for ln in ax.get_lines() if ln.get_gid() == "threshold"]
    assert len(lines) == 1
    assert np.asarray(lines[0].get_ydata()).tolist() == [-1.0, -1.0]
    assert to_hex(lines[0].get_color()).upper() == charts.RAG_RED
    bars = _bars(fig)
    assert len(bars) == len(table) - int((table["variance_pct_of_turnover"] == 0).sum())
    red = [b for b in bars if to_hex(b.get_facecolor()).upper() == charts.RAG_RED]
    assert len(red) == 8  # the eight trusts significantly behind plan
    assert _colours(fig) <= {charts.RAG_RED, charts.NHS_BLUE}
    _check_not_colour_alone(fig, "Significantly behind plan (red, hatched)")
    outlined = [b for b in bars if b.get_linewidth() > 2]
    assert len(outlined) == 1
    assert to_hex(outlined[0].get_edgecolor()).upper() == charts.NHS_DARK_BLUE


def test_threshold_line_follows_the_parameter(m10: PeriodData) -> None:
    fig = charts.variance_ranking_chart(metrics.trust_shortfall(m10, 2.5), 2.5)
    (line,) = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "threshold"]
    assert np.asarray(line.get_ydata()).tolist() == [-2.5, -2.5]
    red = [b for b in _bars(fig) if to_hex(b.get_facecolor()).upper() == charts.RAG_RED]
    assert len(red) == int(metrics.trust_shortfall(m10, 2.5)["significantly_behind_plan"].sum())


def test_support_chart_colours_pcts_needing_support_red(m10: PeriodData) -> None:
    fig = charts.support_chart(metrics.pct_support(m10), highlight="5NC")
    _check_frame(fig)
    red = [b for b in _bars(fig) if to_hex(b.get_facecolor()).upper() == charts.RAG_RED]
    assert len(red) == 8
    assert _colours(fig) <= {charts.RAG_RED, charts.NHS_BLUE}
    _check_not_colour_alone(fig, "Needs support to break even (red, hatched)")


def test_bridge_chart_goes_from_plan_to_forecast(m10: PeriodData) -> None:
    report = open_report("regional_outturn", "2010-11-M10", "Q36")
    frame = bridge(report)
    assert frame["step"].tolist() == ["Plan", "NHS trusts", "PCTs", "SHA", "Forecast"]
    assert frame["end_gbp_m"].iloc[-2] == pytest.approx(274.0)
    fig = charts.bridge_chart(frame)
    _check_frame(fig)
    assert _colours(fig) == {charts.NHS_DARK_BLUE, charts.RAG_RED, charts.RAG_GREEN}
    _check_not_colour_alone(fig, "Adverse variance (red, hatched)")
    heights = [round(b.get_height(), 4) for b in _bars(fig)]
    assert heights == [470.0, -58.0, 7.0, -145.0, 274.0]


def test_trajectory_chart_draws_each_group_and_the_plan(m10: PeriodData) -> None:
    report = open_report("regional_outturn", "2010-11-M10", "Q36")
    fig = charts.trajectory_chart(trajectory(report))
    _check_frame(fig)
    legend = fig.axes[0].get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["NHS trusts", "PCTs", "SHA", "London", "London plan"]
    months = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert months == [f"M{m:02d}" for m in range(1, 11)]


def test_drivers_cluster_and_milestone_charts(q1: PeriodData) -> None:
    report = open_report("provider_shortfall", "2011-12-Q1", "RF4")
    fig = charts.drivers_chart(drivers(report), "RF4")
    _check_frame(fig)
    assert fig.axes[0].get_title(loc="left").endswith("RF4")
    assert _colours(fig) <= {charts.RAG_RED, charts.RAG_GREEN}
    _check_not_colour_alone(fig, "Adverse (red, hatched)")
    clusters = charts.cluster_savings_chart(metrics.cluster_savings(q1))
    assert clusters is not None
    _check_frame(clusters)
    london = open_report("cluster_milestone_slippage", "2011-12-Q1", "Q36")
    milestones = charts.milestone_chart(milestone_counts(london))
    assert milestones is not None
    _check_frame(milestones, money=False)
    assert _colours(milestones) == {charts.RAG_GREEN, charts.RAG_RED, charts.NHS_PALE_GREY}
    _check_not_colour_alone(milestones, "Missed (red, hatched)")


def test_charts_of_nothing_are_none(m10: PeriodData) -> None:
    assert charts.cluster_savings_chart(metrics.cluster_savings(m10)) is None
    report = open_report("cluster_milestone_slippage", "2010-11-M10", "Q36")
    assert charts.milestone_chart(milestone_counts(report)) is None


def test_png_bytes_are_stable_and_unstamped(m10: PeriodData) -> None:
    table = metrics.trust_shortfall(m10)
    first = charts.png_bytes(charts.variance_ranking_chart(table, 1.0))
    second = charts.png_bytes(charts.variance_ranking_chart(table, 1.0))
    assert first == second
    assert first.startswith(b"\x89PNG")
    assert b"Software" not in first and b"matplotlib" not in first


def test_the_shared_renderer_draws_what_a_new_canvas_draws(m10: PeriodData) -> None:
    """png_bytes reuses one renderer for the process: a chart drawn after another has the
    pixels of the same chart drawn on a fresh matplotlib canvas (nothing carried over)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    table = metrics.trust_shortfall(m10)
    report = open_report("provider_shortfall", "2010-11-M10", "Q36")
    charts.png_bytes(charts.drivers_chart(drivers(report), report.chart_label))
    shared = Image.open(io.BytesIO(charts.png_bytes(charts.variance_ranking_chart(table, 1.0))))
    fig = charts.variance_ranking_chart(table, 1.0)
    fig.set_dpi(charts.DPI * charts.PNG_SCALE)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    fresh = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    assert shared.size == fresh.size
    assert shared.tobytes() == fresh.tobytes()


def test_show_displays_a_png_with_its_title_and_nothing_else(
    m10: PeriodData, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[Any, dict[str, Any]]] = []

    def fake_display(obj: Any, **kwargs: Any) -> None:
        shown.append((obj, kwargs))

    monkeypatch.setattr("IPython.display.display", fake_display)
    charts.show(charts.support_chart(metrics.pct_support(m10)))
    charts.show(None)
    assert len(shown) == 1
    bundle, kwargs = shown[0]
    assert set(bundle) == {"image/png", "text/plain"}
    text = bundle["text/plain"]
    assert text.startswith("[chart: Forecast outturn before LCTB support, by PCT]\n")
    assert text == charts.chart_data(charts.support_chart(metrics.pct_support(m10)))
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert kwargs["raw"] is True
    assert kwargs["metadata"] == {"image/png": {"width": 800, "height": 450}}


def test_theme_uses_nhs_colours() -> None:
    charts.set_theme()
    import matplotlib as mpl

    cycle = [to_hex(c).upper() for c in mpl.rcParams["axes.prop_cycle"].by_key()["color"]]
    assert cycle[:2] == [charts.NHS_BLUE, charts.NHS_DARK_BLUE]
    assert charts.RAG_RED == "#DA291C" and charts.RAG_AMBER == "#FFB81C"
    assert charts.RAG_GREEN == "#009639"


def test_chart_text_records_the_plotted_data(m10: PeriodData) -> None:
    """nbval skips PNGs: a chart's text form must change when what it draws changes."""
    table = metrics.trust_shortfall(m10, 1.0)
    text = charts.chart_data(charts.variance_ranking_chart(table, 1.0, highlight="RF4"))
    lines = text.splitlines()
    assert lines[0] == "[chart: Variance to plan as a share of turnover, by NHS trust]"
    bars = lines[2].removeprefix("bars: ").split("; ")
    assert len(bars) == len(table)
    first = table.sort_values(["variance_pct_of_turnover", "org_code"]).iloc[0]
    value = round(first["variance_pct_of_turnover"], 4)
    assert bars[0].startswith(f"{first['org_code']} {value:g}")
    assert sum(b.endswith(("red hatched", "red hatched outlined")) for b in bars) == 8
    assert next(b for b in bars if b.endswith("outlined")).startswith("RF4 ")
    assert "reference line 'Significantly behind plan: below -1.0% of turnover' red y=-1" in lines
    moved = table.copy()
    moved.loc[0, "variance_pct_of_turnover"] += 0.001
    assert charts.chart_data(charts.variance_ranking_chart(moved, 1.0, highlight="RF4")) != text
    assert charts.chart_data(charts.variance_ranking_chart(table, 2.0, highlight="RF4")) != text


def test_ranking_charts_draw_at_most_the_limit_around_the_highlight(
    m10: PeriodData, q1: PeriodData
) -> None:
    table = metrics.trust_shortfall(m10, 1.0)
    ranked = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    codes = ranked["org_code"].tolist()
    subject = codes[len(codes) // 2]
    fig = charts.variance_ranking_chart(table, 1.0, highlight=subject, limit=5)
    shown = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert len(shown) == 5 and subject in shown and shown == codes[codes.index(subject) - 2 :][:5]
    first = codes.index(shown[0]) + 1
    title = charts.chart_title(fig)
    assert title.endswith(f"(ranked {first}-{first + 4} of {len(codes)} trusts)")
    assert "\n" not in title  # the alt text is the title's one line
    worst = charts.support_chart(metrics.pct_support(q1), limit=3)
    assert len(worst.axes[0].get_xticklabels()) == 3
    assert "ranked 1-3 of" in charts.chart_title(worst)
    whole = charts.variance_ranking_chart(table, 1.0, highlight=subject)
    assert len(whole.axes[0].get_xticklabels()) == len(codes)
    assert "ranked" not in charts.chart_title(whole)
