"""The XmR chart: a series with its mean, process limits, special causes and the two icons.

Usage example (in a report notebook)::

    result = spc.xmr(monthly_total(history, "in_month_actual_gbp_m"), better="higher")
    show(xmr_chart(result, "In-month surplus / (deficit), London", "£m"))

Drawn in the kit's theme (:mod:`helpers.charts`), at its fixed size, without pyplot. Colour is
never the only cue: special-cause points also differ in shape (improvement a diamond, concern
a cross, neutral a triangle pointing the way it moved), trial limits are dotted and say so, and
the variation and assurance icons (a circle and a square drawn here, with a letter) each have
their meaning in words beside them. The text form (:func:`helpers.charts.chart_data`) lists the
points, the mean and limits of each segment, and each special-cause point with its rule.
"""

from __future__ import annotations

import textwrap

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle

from helpers.chart_layout import MarginsLayout
from helpers.charts import (
    DPI,
    FIGSIZE,
    NHS_BLUE,
    NHS_DARK_BLUE,
    NHS_GREY,
    NHS_ORANGE,
    NHS_PURPLE,
    RAG_RED,
    set_theme,
)
from helpers.spc import RULE_WORDS, XmR

#: Colour, marker and legend words of each kind of point (shape as well as colour).
STYLES = {
    "common_cause": (NHS_GREY, "o", "Common cause (grey circle)"),
    "improvement": (NHS_BLUE, "D", "Improvement (blue diamond)"),
    "concern": (NHS_ORANGE, "X", "Concern (orange cross)"),
    "neutral": (NHS_PURPLE, "^", "Special cause, neither (purple triangle)"),
}
#: The variation icon's colour and letter, by kind (its side adds an arrow, ↑ or ↓), and the
#: assurance icon's by kind: one definition for the chart and for any page that shows them.
VARIATION_ICONS = {
    "common_cause": (NHS_GREY, "C"),
    "improvement": (NHS_BLUE, "I"),
    "concern": (NHS_ORANGE, "!"),
    "neutral": (NHS_PURPLE, "N"),
}
ASSURANCE_ICONS = {
    "pass": (NHS_BLUE, "P"),
    "fail": (NHS_ORANGE, "F"),
    "inconsistent": (NHS_GREY, "?"),
    "none": ("white", "–"),
    "neither": ("white", "–"),
}
_WRAP = 26


def _segment_lines(ax: Axes, result: XmR, labels: list[str]) -> None:
    """Mean and process limits of each segment; trial limits dotted and named so."""
    many = len(result.segments) > 1
    for seg in result.segments:
        xs = labels[seg.start : seg.stop]
        since = f" from {xs[0]}" if many else ""
        trial = " (trial: fewer than 12 points)" if seg.trial else ""
        style = ":" if seg.trial else "--"
        ax.plot(xs, [seg.mean] * len(xs), color=NHS_DARK_BLUE, linewidth=1.2, label=f"Mean{since}")
        for name, level in (("Upper", seg.upper), ("Lower", seg.lower)):
            ax.plot(
                xs,
                [level] * len(xs),
                color=NHS_GREY,
                linestyle=style,
                linewidth=1.2,
                label=f"{name} process limit{since}{trial}",
            )
        if seg.trial:
            ax.annotate(
                "trial limits",
                (xs[-1], seg.upper),
                xytext=(0, 3),
                textcoords="offset points",
                ha="right",
                fontsize=8,
                color=NHS_GREY,
            )


def _special_causes(ax: Axes, result: XmR, labels: list[str]) -> None:
    """One marker series per kind of point and rule: colour and shape, named with the rule."""
    points = result.points.assign(x=labels)
    special = points.loc[points["special_cause"]]
    for (kind, rule, high_low), group in special.groupby(
        ["point_type", "rule", "high_low"], sort=True
    ):
        colour, marker, _ = STYLES[str(kind)]
        side = "high" if int(str(high_low)) > 0 else "low"
        if kind == "neutral" and side == "low":
            marker = "v"
        ax.plot(
            list(group["x"]),
            list(group["value"]),
            linestyle="none",
            marker=marker,
            markersize=8,
            color=colour,
            label=f"Special cause {kind} ({side}): {RULE_WORDS[str(rule)]}",
        )


def _icon(ax: Axes, y: float, square: bool, colour: str, letter: str, words: str) -> None:
    """One icon (a circle or a square with a letter) and its meaning in words beside it."""
    edge = NHS_DARK_BLUE
    shape = (
        Rectangle((0.02, y - 0.13), 0.26, 0.26, facecolor=colour, edgecolor=edge, linewidth=1.5)
        if square
        else Circle((0.15, y), 0.13, facecolor=colour, edgecolor=edge, linewidth=1.5)
    )
    ax.add_patch(shape)
    ink = NHS_DARK_BLUE if colour == "white" else "white"
    ax.text(0.15, y, letter, ha="center", va="center", fontsize=13, weight="bold", color=ink)
    wrapped = "\n".join(textwrap.wrap(words, _WRAP))
    top = y + 0.13  # the words start level with the icon's top and run down: a long meaning
    ax.text(0.34, top, wrapped, ha="left", va="top", fontsize=7.5, color=NHS_DARK_BLUE)


def _key(ax: Axes, result: XmR) -> None:
    """The icons, their words and the legend, in the panel beside the chart."""
    ax.set_axis_off()
    ax.set_xlim(0, 1.6)
    ax.set_ylim(0, 3.2)
    ax.set_aspect("equal", adjustable="box")
    ax.set_anchor("NW")  # beside the chart, top-aligned: its words need the column's width
    variation = result.variation
    colour, letter = VARIATION_ICONS[variation.kind]
    arrow = {"high": "↑", "low": "↓"}.get(variation.side, "")
    ax.text(0.0, 3.1, "Variation", fontsize=9, weight="bold", color=NHS_DARK_BLUE)
    _icon(ax, 2.7, False, colour, letter + arrow, variation.words)
    colour, letter = ASSURANCE_ICONS[result.assurance.kind]
    ax.text(0.0, 2.2, "Assurance", fontsize=9, weight="bold", color=NHS_DARK_BLUE)
    _icon(ax, 1.8, True, colour, letter, result.assurance.words)
    kinds = ["common_cause", "neutral"] if result.better == "neither" else list(STYLES)[:3]
    handles = [
        Line2D(
            [], [], linestyle="none", marker=STYLES[k][1], color=STYLES[k][0], label=STYLES[k][2]
        )
        for k in kinds
    ]
    handles.append(Line2D([], [], color=NHS_GREY, linestyle="--", label="Process limits"))
    if result.trial:
        handles.append(Line2D([], [], color=NHS_GREY, linestyle=":", label="Trial limits"))
    if result.target is not None:
        handles.append(Line2D([], [], color=RAG_RED, linestyle="-.", label="Target"))
    ax.legend(handles=handles, loc="lower left", fontsize=7, borderaxespad=0)


def xmr_chart(result: XmR, title: str, ylabel: str, name: str = "Value") -> Figure:
    """The XmR chart of ``result`` (:func:`helpers.spc.xmr`): ``name`` labels the series line."""
    set_theme()
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=MarginsLayout())
    ax, key = fig.subplots(1, 2, width_ratios=[2.6, 1])
    labels = [str(label) for label in result.points["label"]]
    values = list(result.points["value"])
    ax.plot(labels, values, color=NHS_GREY, marker="o", markersize=4, linewidth=1.2, label=name)
    _segment_lines(ax, result, labels)
    if result.target is not None:
        ax.axhline(
            result.target,
            color=RAG_RED,
            linestyle="-.",
            linewidth=1.2,
            label="Target",
            gid="target",
        )
    _special_causes(ax, result, labels)
    step = max(1, -(-len(labels) // 12))  # at most about 12 month labels
    ax.set_xticks(range(0, len(labels), step))
    ax.tick_params(axis="x", rotation=90, labelsize=8)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    _key(key, result)
    return fig
