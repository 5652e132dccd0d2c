"""Charts for the reports: one seaborn theme in NHS colours, one function per chart.

Usage example (in a report notebook)::

    fig = variance_ranking_chart(metrics.trust_shortfall(data), threshold_pct=1.0)
    show(fig)   # displays a PNG and closes the figure; nothing else lands in the output

Every chart is a fixed 8 x 4.5 inch figure at 100 dpi, built without pyplot (so no backend
is involved and no figure is left open), titled, with money axes labelled in £m. Nothing is
random, and :func:`show` writes PNG bytes without a software stamp, so the bytes are stable.

Colour is never the only cue: every red bar (significantly behind plan, needs support, an
adverse variance or driver, a missed milestone) is also hatched, its legend entry says so in
words, and the text form (:func:`chart_data`) names each bar's colour and hatch.
"""

from __future__ import annotations

import base64
import io
import sys
import textwrap
import threading
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import ScalarFormatter

from helpers import metrics
from helpers.chart_layout import MarginsLayout

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
RAG_RED = "#DA291C"
RAG_AMBER = "#FFB81C"
RAG_GREEN = "#009639"
NHS_ORANGE = "#ED8B00"
NHS_PURPLE = "#330072"
#: Colours of the groups in London's totals, in the order of ``metrics.GROUPS``.
GROUP_COLOURS = {
    "NHS trusts": NHS_BLUE,
    "PCTs": NHS_LIGHT_BLUE,
    "SHA": NHS_GREY,
    "London": NHS_DARK_BLUE,
}
PALETTE = [NHS_BLUE, NHS_DARK_BLUE, NHS_LIGHT_BLUE, NHS_GREY, RAG_RED, RAG_AMBER, RAG_GREEN]
FIGSIZE = (8.0, 4.5)
DPI = 100
#: PNGs are rendered at this multiple of the figure's dpi (150 dpi, as print asks for) and
#: displayed at 800 x 450 px.
PNG_SCALE = 1.5
#: zlib level of the PNGs: 3 encodes a chart in about 19 ms against 27 ms at Pillow's 6, and
#: the file is about 8% larger (66 against 61 KiB, the sample charts).
PNG_COMPRESS_LEVEL = 3
#: Characters per line of a driver's name beside its bar (longer names take two lines).
DRIVER_WRAP = 30
#: The hatch of red bars (white stripes), so that they differ from the others without colour.
HATCH = "///"


def set_theme() -> None:
    """Apply the kit's seaborn theme (idempotent; every chart function calls it)."""
    sns.set_theme(
        context="notebook",
        style="whitegrid",
        palette=PALETTE,
        font="DejaVu Sans",
        rc={
            "axes.titlesize": 13,
            "axes.titleweight": "bold",
            "axes.titlelocation": "left",
            "axes.titley": 1.0,  # fixed above the axes: nothing is drawn on top of them
            "axes.labelsize": 11,
            "xtick.labelsize": 9,
            "ytick.labelsize": 10,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "axes.edgecolor": NHS_GREY,
            "grid.color": NHS_PALE_GREY,
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "svg.hashsalt": "nhs-kit",
            "hatch.color": "#FFFFFF",
            "hatch.linewidth": 1.2,
        },
    )


def _figure() -> tuple[Figure, Axes]:
    set_theme()
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=MarginsLayout())
    ax = fig.subplots()
    return fig, ax


def _hatch_red(bars: BarContainer | list[Rectangle]) -> None:
    """Hatch every red bar (the colour is not the only cue)."""
    for bar in bars:
        if to_hex(bar.get_facecolor()).upper() == RAG_RED:
            bar.set_hatch(HATCH)


def _red_patch(label: str) -> Patch:
    """A legend entry for red, hatched bars, saying so in words."""
    return Patch(facecolor=RAG_RED, hatch=HATCH, label=f"{label} (red, hatched)")


def _money_axis(ax: Axes, axis: str = "y") -> None:
    """Draw the zero line (break-even) on a money axis."""
    if axis == "y":
        ax.axhline(0, color=NHS_GREY, linewidth=0.8)
    else:
        ax.axvline(0, color=NHS_GREY, linewidth=0.8)


class _SharedRendererCanvas(FigureCanvasAgg):
    """An Agg canvas that draws with one renderer per size, dpi and thread, kept for the
    process: matplotlib caches text measurements per renderer, so each chart after the first
    (and, in a forked kernel, the fork server's rehearsal before it) finds its labels measured.
    Drawing clears the renderer first, so the pixels are those of a new canvas."""

    _renderers: ClassVar[dict[tuple[float, float, float, int], RendererAgg]] = {}

    def get_renderer(self) -> RendererAgg:
        w, h = self.figure.bbox.size
        key = (w, h, self.figure.dpi, threading.get_ident())
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = RendererAgg(w, h, self.figure.dpi)  # type: ignore[no-untyped-call]
            self._renderers[key] = renderer
        self.renderer = renderer
        return renderer


def png_bytes(fig: Figure) -> bytes:
    """The figure as an RGB PNG at ``DPI * PNG_SCALE`` dpi, with no software stamp.

    One Agg draw (the layout, :class:`helpers.chart_layout.MarginsLayout`, runs inside it;
    ``savefig`` draws twice) on the process's shared renderer, and no alpha channel: the
    figure is opaque, and a PDF renderer would otherwise split the alpha out and encode the
    image twice. Identical figures give identical bytes.
    """
    from PIL import Image

    dpi = fig.dpi
    fig.set_dpi(DPI * PNG_SCALE)
    try:
        canvas = _SharedRendererCanvas(fig)
        canvas.draw()  # type: ignore[no-untyped-call]
        rgba = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
        image = Image.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba, "raw", "RGBA", 0, 1)
        buf = io.BytesIO()
        image.convert("RGB").save(
            buf, format="png", dpi=(DPI * PNG_SCALE,) * 2, compress_level=PNG_COMPRESS_LEVEL
        )
    finally:
        fig.set_dpi(dpi)
    return buf.getvalue()


def chart_title(fig: Figure) -> str:
    """The title of the figure's first axes, on one line."""
    if not fig.axes:
        return ""
    title = fig.axes[0].get_title(loc="left") or fig.axes[0].get_title()
    return " ".join(title.split())


_COLOUR_NAMES = {
    NHS_BLUE: "blue",
    NHS_DARK_BLUE: "dark blue",
    NHS_LIGHT_BLUE: "light blue",
    NHS_GREY: "grey",
    NHS_PALE_GREY: "pale grey",
    RAG_RED: "red",
    RAG_AMBER: "amber",
    RAG_GREEN: "green",
    NHS_ORANGE: "orange",
    NHS_PURPLE: "purple",
    "#FFFFFF": "white",
}
_MARKER_NAMES = {
    "o": "circle",
    "D": "diamond",
    "X": "cross",
    "^": "triangle up",
    "v": "triangle down",
}


def _colour(value: Any) -> str:
    code = to_hex(value).upper()
    return _COLOUR_NAMES.get(code, code)


def _num(value: Any) -> str:
    if isinstance(value, str):
        return value
    number = round(float(value), 4)
    return f"{number + 0.0:g}"  # no -0


def _categories(ax: Axes, axis: str) -> dict[int, str]:
    """Tick labels of a categorical or explicitly labelled axis, by position (else empty)."""
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    axis_obj = ax.xaxis if axis == "x" else ax.yaxis
    if isinstance(axis_obj.get_major_formatter(), ScalarFormatter):  # a numeric axis
        return {}
    return {
        round(float(t)): " ".join(lab.get_text().split())
        for t, lab in zip(ticks, labels, strict=False)
    }


def _bar_lines(ax: Axes) -> list[str]:
    lines = []
    for container in ax.containers:
        if not isinstance(container, BarContainer):
            continue
        vertical = container.orientation == "vertical"
        names = _categories(ax, "x" if vertical else "y")
        items = []
        for bar in container.patches:
            if vertical:
                pos, value, base = bar.get_x() + bar.get_width() / 2, bar.get_height(), bar.get_y()
            else:
                pos, value, base = bar.get_y() + bar.get_height() / 2, bar.get_width(), bar.get_x()
            where = names.get(round(pos), _num(pos))
            start = f" from {_num(base)}" if round(base, 4) else ""
            edge = " outlined" if bar.get_linewidth() > 2 else ""
            hatch = " hatched" if bar.get_hatch() else ""
            colour = _colour(bar.get_facecolor())
            items.append(f"{where} {_num(value)}{start} {colour}{hatch}{edge}")
        label = container.get_label()
        name = f"bars {label!r}" if label and not label.startswith("_") else "bars"
        lines.append(f"{name}: " + "; ".join(items))
    return lines


def _point(x: Any, names: dict[int, str]) -> str:
    """An x value as drawn: its category name at a whole position, else the number or text."""
    if isinstance(x, str):
        return x
    return names.get(int(x), _num(x)) if float(x).is_integer() else _num(x)


def _line_lines(ax: Axes) -> list[str]:
    lines = []
    names = _categories(ax, "x")
    for line in ax.get_lines():
        xs: list[Any] = list(np.asarray(line.get_xdata(orig=True), dtype=object))
        ys: list[Any] = list(np.asarray(line.get_ydata(orig=True), dtype=object))
        if not xs or all(y != y for y in ys):  # a legend proxy, or seaborn's empty error bars
            continue
        label = str(line.get_label())
        name = label if not label.startswith("_") else (line.get_gid() or "line")
        if line.get_transform() is not ax.transData:  # axhline / axvline: one coordinate
            at = f"y={_num(ys[0])}" if ys[0] == ys[-1] else f"x={_num(xs[0])}"
            lines.append(f"reference line {name!r} {_colour(line.get_color())} {at}")
            continue
        points = " ".join(f"{_point(x, names)}:{_num(y)}" for x, y in zip(xs, ys, strict=True))
        style = line.get_linestyle()
        if style == "None":  # markers only: say their shape, as colour is not the only cue
            marker = str(line.get_marker())
            shape = _MARKER_NAMES.get(marker, marker)
            lines.append(f"points {name!r} {_colour(line.get_color())} {shape}: {points}")
            continue
        lines.append(f"line {name!r} {_colour(line.get_color())} {style}: {points}")
    return lines


def chart_data(fig: Figure) -> str:
    """What the chart draws, as text: title, axis labels, bars, lines, annotations, legend.

    This is the chart's ``text/plain`` form, so nbval (which skips PNGs) compares the data
    behind every chart: a bar's value, base and colour, a line's points, each label.
    """
    lines = [f"[chart: {chart_title(fig)}]"]
    for ax in fig.axes:
        if ax.axison:  # a panel without axes (a key, icons) has only labels and a legend
            lines.append(f"x axis: {ax.get_xlabel()!r}; y axis: {ax.get_ylabel()!r}")
        lines += _bar_lines(ax)
        lines += _line_lines(ax)
        notes = [f"{' '.join(t.get_text().split())} ({_colour(t.get_color())})" for t in ax.texts]
        if notes:
            lines.append("labels: " + "; ".join(notes))
        legend = ax.get_legend()
        if legend is not None:
            lines.append("legend: " + "; ".join(t.get_text() for t in legend.get_texts()))
    return "\n".join(lines)


def show(fig: Figure | None) -> None:
    """Display ``fig`` as a PNG (text form: :func:`chart_data`) and close it; ``None``: nothing."""
    from IPython.display import display

    if fig is None:
        return
    width, height = (int(v * DPI) for v in fig.get_size_inches())
    bundle = {
        "image/png": base64.b64encode(png_bytes(fig)).decode("ascii"),
        "text/plain": chart_data(fig),
    }
    metadata = {"image/png": {"width": width, "height": height}}
    display(bundle, raw=True, metadata=metadata)  # type: ignore[no-untyped-call]
    if "matplotlib.pyplot" in sys.modules:  # only figures made with pyplot are registered
        import matplotlib.pyplot as plt  # already loaded (checked above): this only names it

        plt.close(fig)


# --- charts -------------------------------------------------------------------------------


def trajectory_chart(traj: pd.DataFrame, title: str = "Forecast outturn by month") -> Figure:
    """Forecast outturn by month for each group (``metrics.forecast_trajectory``), with plan.

    The plan of the last group (London, or a cluster) is drawn as a dashed line.
    """
    fig, ax = _figure()
    groups = list(dict.fromkeys(traj["group"]))
    colours = {g: GROUP_COLOURS.get(g, NHS_DARK_BLUE) for g in groups}
    sns.lineplot(
        data=traj,
        x="month",
        y="forecast_outturn_gbp_m",
        hue="group",
        hue_order=groups,
        palette=colours,
        marker="o",
        ax=ax,
    )
    total = traj.loc[traj["group"] == groups[-1]]
    ax.plot(
        total["month"],
        total["annual_plan_gbp_m"],
        linestyle="--",
        color=colours[groups[-1]],
        linewidth=1.2,
        label=f"{groups[-1]} plan",
    )
    _money_axis(ax)
    ax.set_title(title)
    ax.set_xlabel("Month of the financial year (M01 = April)")
    ax.set_ylabel("Surplus / (deficit), £m")
    ax.legend(title=None, loc="best")
    return fig


def bridge_chart(bridge: pd.DataFrame, title: str = "From plan to forecast outturn") -> Figure:
    """Waterfall from plan to forecast: columns step, kind, amount, start and end in £m."""
    fig, ax = _figure()
    x = list(range(len(bridge)))
    for i, row in enumerate(bridge.to_dict("records")):
        change = row["kind"] == "change"
        height = float(row["amount_gbp_m"])
        bottom = float(row["start_gbp_m"]) if change else 0.0
        colour = (RAG_GREEN if height >= 0 else RAG_RED) if change else NHS_DARK_BLUE
        bars = ax.bar(i, height, bottom=bottom, color=colour, width=0.6)
        for bar in bars:  # a step's base is not a limit of the axis: leave room for the labels
            bar.sticky_edges.y[:] = [0.0]
        _hatch_red(bars)
        top = bottom + height if height >= 0 else bottom
        ax.annotate(
            f"{height:+.1f}" if change else f"{height:.1f}",
            (i, top),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=9,
        )
    for i in range(len(bridge) - 1):
        level = float(bridge["end_gbp_m"].iloc[i])
        ax.plot([i + 0.3, i + 0.7], [level, level], color=NHS_GREY, linewidth=0.8)
    ax.set_xticks(x, [str(s) for s in bridge["step"]])
    ax.margins(y=0.12)  # room for the labels above the bars
    _money_axis(ax)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("Surplus / (deficit), £m")
    ax.legend(
        handles=[
            Patch(color=NHS_DARK_BLUE, label="Plan / forecast"),
            Patch(color=RAG_GREEN, label="Favourable variance"),
            _red_patch("Adverse variance"),
        ],
        loc="best",
    )
    return fig


def _ranked_title(title: str, window: metrics.RankWindow, noun: str) -> str:
    return f"{title}\n({window.label(noun)})" if window.partial else title


def variance_ranking_chart(
    table: pd.DataFrame,
    threshold_pct: float,
    highlight: str | None = None,
    limit: int = metrics.RANK_LIMIT,
) -> Figure:
    """NHS trusts' variance to plan as % of turnover (``metrics.trust_shortfall``), worst first.

    Trusts significantly behind plan are red and hatched; the threshold is a dashed red line;
    the ``highlight`` trust is outlined in dark blue. At most ``limit`` trusts are drawn: the
    worst, or those ranked nearest ``highlight`` (``metrics.rank_window``), and the title
    then says which ranks are shown.
    """
    fig, ax = _figure()
    ranked = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    window = metrics.rank_window(ranked, highlight, limit)
    data = window.rows
    colours = [RAG_RED if b else NHS_BLUE for b in data["significantly_behind_plan"]]
    bars = ax.bar(data["org_code"], data["variance_pct_of_turnover"], color=colours)
    _hatch_red(bars)
    if highlight is not None:
        for bar, code in zip(bars, data["org_code"], strict=True):
            if code == highlight:
                bar.set_edgecolor(NHS_DARK_BLUE)
                bar.set_linewidth(2.5)
    threshold = ax.axhline(
        -threshold_pct,
        color=RAG_RED,
        linestyle="--",
        linewidth=1.2,
        label=f"Significantly behind plan: below -{threshold_pct:.1f}% of turnover",
        gid="threshold",
    )
    _money_axis(ax)
    ax.tick_params(axis="x", rotation=90)
    ax.set_title(
        _ranked_title("Variance to plan as a share of turnover, by NHS trust", window, "trusts")
    )
    ax.set_xlabel("NHS trust (code)")
    ax.set_ylabel("Variance to plan, % of turnover")
    ax.legend(
        handles=[
            threshold,
            _red_patch("Significantly behind plan"),
            Patch(color=NHS_BLUE, label="Within the threshold"),
        ],
        loc="lower right",
    )
    return fig


def drivers_chart(drivers: pd.DataFrame, who: str) -> Figure:
    """Variance drivers (``driver``, ``amount_gbp_m``) of ``who``: adverse red and hatched,
    favourable green."""
    fig, ax = _figure()
    values = drivers["amount_gbp_m"].astype(float)
    colours = [RAG_GREEN if v >= 0 else RAG_RED for v in values]
    names = [textwrap.fill(str(name), DRIVER_WRAP) for name in drivers["driver"]]
    _hatch_red(ax.barh(names, values, color=colours))
    ax.invert_yaxis()
    _money_axis(ax, axis="x")
    ax.set_title(f"Drivers of the variance to plan: {who}")
    ax.set_xlabel("Contribution to variance to plan, £m (adverse negative)")
    ax.set_ylabel("")
    ax.legend(
        handles=[Patch(color=RAG_GREEN, label="Favourable"), _red_patch("Adverse")], loc="best"
    )
    return fig


def support_chart(
    table: pd.DataFrame, highlight: str | None = None, limit: int = metrics.RANK_LIMIT
) -> Figure:
    """PCTs' outturn before LCTB support (``metrics.pct_support``); needing support red, hatched.

    At most ``limit`` PCTs are drawn, as in :func:`variance_ranking_chart`.
    """
    fig, ax = _figure()
    ranked = table.sort_values(["outturn_before_support_gbp_m", "org_code"], kind="stable")
    window = metrics.rank_window(ranked, highlight, limit)
    data = window.rows
    colours = [RAG_RED if b else NHS_BLUE for b in data["needs_support"]]
    bars = ax.bar(data["org_code"], data["outturn_before_support_gbp_m"], color=colours)
    _hatch_red(bars)
    if highlight is not None:
        for bar, code in zip(bars, data["org_code"], strict=True):
            if code == highlight:
                bar.set_edgecolor(NHS_DARK_BLUE)
                bar.set_linewidth(2.5)
    _money_axis(ax)
    ax.tick_params(axis="x", rotation=90)
    ax.set_title(_ranked_title("Forecast outturn before LCTB support, by PCT", window, "PCTs"))
    ax.set_xlabel("PCT (code)")
    ax.set_ylabel("Surplus / (deficit) before support, £m")
    ax.legend(
        handles=[
            _red_patch("Needs support to break even"),
            Patch(color=NHS_BLUE, label="Breaks even without support"),
        ],
        loc="upper left",
    )
    return fig


def cluster_savings_chart(savings: pd.DataFrame) -> Figure | None:
    """QIPP savings to date against plan by cluster (``metrics.cluster_savings``).

    Returns None when there are no clusters (before April 2011).
    """
    if savings.empty:
        return None
    fig, ax = _figure()
    long = (
        savings.reset_index()
        .melt(
            id_vars="cluster_code",
            value_vars=["ytd_plan_gbp_m", "ytd_actual_gbp_m"],
            var_name="measure",
            value_name="gbp_m",
        )
        .replace({"measure": {"ytd_plan_gbp_m": "Plan to date", "ytd_actual_gbp_m": "Delivered"}})
    )
    sns.barplot(
        data=long,
        x="cluster_code",
        y="gbp_m",
        hue="measure",
        palette={"Plan to date": NHS_PALE_GREY, "Delivered": NHS_BLUE},
        edgecolor=NHS_GREY,
        ax=ax,
    )
    for i, met in enumerate(savings["savings_target_met"]):
        top = float(savings[["ytd_plan_gbp_m", "ytd_actual_gbp_m"]].iloc[i].max())
        ax.annotate(
            "target met" if met else "behind",
            (i, top),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            fontsize=9,
            color=RAG_GREEN if met else RAG_RED,
            fontweight="bold",
        )
    ax.margins(y=0.1)  # room for the words above the bars
    ax.set_title("QIPP savings to date against plan, by cluster")
    ax.set_xlabel("PCT cluster")
    ax.set_ylabel("Savings to date, £m")
    ax.legend(title=None, loc="upper right")
    return fig


def milestone_chart(
    counts: pd.DataFrame, title: str = "QIPP milestones by cluster"
) -> Figure | None:
    """Milestones met (green), missed (red, hatched) and not yet due (grey), stacked by ``label``.

    Returns None when there are no milestones (a year without tracking).
    """
    if counts.empty:
        return None
    fig, ax = _figure()
    labels = [str(v) for v in counts["label"]]
    left = pd.Series(0.0, index=range(len(counts)))
    for col, colour, name in (
        ("met", RAG_GREEN, "Met"),
        ("missed", RAG_RED, "Missed (red, hatched)"),
        ("not_yet_due", NHS_PALE_GREY, "Not yet due"),
    ):
        values = counts[col].astype(float).reset_index(drop=True)
        _hatch_red(ax.barh(labels, values, left=left, color=colour, label=name, edgecolor=NHS_GREY))
        left = left + values
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("Number of QIPP milestones")
    ax.set_ylabel("")
    ax.legend(loc="lower right")
    return fig
