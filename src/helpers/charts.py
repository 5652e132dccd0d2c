"""Charts for the reports: one seaborn theme in NHS colours, one function per chart.

Usage example (in a report notebook)::

    fig = variance_ranking_chart(metrics.trust_shortfall(data), threshold_pct=1.0)
    show(fig)   # displays a PNG and closes the figure; nothing else lands in the output

Every chart is a fixed 8 x 4.5 inch figure at 100 dpi, built without pyplot (so no backend
is involved and no figure is left open), titled, with money axes labelled in £m. Nothing is
random, and :func:`show` writes PNG bytes without a software stamp, so the bytes are stable.
"""

from __future__ import annotations

import base64
import io
import sys

import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
RAG_RED = "#DA291C"
RAG_AMBER = "#FFB81C"
RAG_GREEN = "#009639"
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
#: PNGs are rendered at this multiple of the figure's dpi and displayed at 800 x 450 px.
PNG_SCALE = 2


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
        },
    )


def _figure() -> tuple[Figure, Axes]:
    set_theme()
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    return fig, ax


def _money_axis(ax: Axes, axis: str = "y") -> None:
    """Draw the zero line (break-even) on a money axis."""
    if axis == "y":
        ax.axhline(0, color=NHS_GREY, linewidth=0.8)
    else:
        ax.axvline(0, color=NHS_GREY, linewidth=0.8)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes, without a software stamp (so identical figures are identical)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI * PNG_SCALE, metadata={"Software": None})
    return buf.getvalue()


def chart_title(fig: Figure) -> str:
    """The title of the figure's first axes."""
    if not fig.axes:
        return ""
    return fig.axes[0].get_title(loc="left") or fig.axes[0].get_title()


def show(fig: Figure | None) -> None:
    """Display ``fig`` as a PNG (text form: its title) and close it; ``None`` shows nothing."""
    from IPython.display import display

    if fig is None:
        return
    width, height = (int(v * DPI) for v in fig.get_size_inches())
    bundle = {
        "image/png": base64.b64encode(png_bytes(fig)).decode("ascii"),
        "text/plain": f"[chart: {chart_title(fig)}]",
    }
    metadata = {"image/png": {"width": width, "height": height}}
    display(bundle, raw=True, metadata=metadata)  # type: ignore[no-untyped-call]
    if "matplotlib.pyplot" in sys.modules:  # only figures made with pyplot are registered
        import matplotlib.pyplot as plt

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
        ax.bar(i, height, bottom=bottom, color=colour, width=0.6)
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
            Patch(color=RAG_RED, label="Adverse variance"),
        ],
        loc="best",
    )
    return fig


def variance_ranking_chart(
    table: pd.DataFrame, threshold_pct: float, highlight: str | None = None
) -> Figure:
    """NHS trusts' variance to plan as % of turnover (``metrics.trust_shortfall``), worst first.

    Trusts significantly behind plan are red; the threshold is a dashed red line; the
    ``highlight`` trust is outlined in dark blue.
    """
    fig, ax = _figure()
    data = table.sort_values(["variance_pct_of_turnover", "org_code"], kind="stable")
    colours = [RAG_RED if b else NHS_BLUE for b in data["significantly_behind_plan"]]
    bars = ax.bar(data["org_code"], data["variance_pct_of_turnover"], color=colours)
    if highlight is not None:
        for bar, code in zip(bars, data["org_code"], strict=True):
            if code == highlight:
                bar.set_edgecolor(NHS_DARK_BLUE)
                bar.set_linewidth(2.5)
    ax.axhline(
        -threshold_pct,
        color=RAG_RED,
        linestyle="--",
        linewidth=1.2,
        label=f"Significantly behind plan: below -{threshold_pct:.1f}% of turnover",
        gid="threshold",
    )
    _money_axis(ax)
    ax.tick_params(axis="x", rotation=90)
    ax.set_title("Variance to plan as a share of turnover, by NHS trust")
    ax.set_xlabel("NHS trust (code)")
    ax.set_ylabel("Variance to plan, % of turnover")
    ax.legend(loc="lower right")
    return fig


def drivers_chart(drivers: pd.DataFrame, who: str) -> Figure:
    """Variance drivers (``driver``, ``amount_gbp_m``) of ``who``: adverse red, favourable green."""
    fig, ax = _figure()
    values = drivers["amount_gbp_m"].astype(float)
    colours = [RAG_GREEN if v >= 0 else RAG_RED for v in values]
    ax.barh(drivers["driver"], values, color=colours)
    ax.invert_yaxis()
    _money_axis(ax, axis="x")
    ax.set_title(f"Drivers of the variance to plan: {who}")
    ax.set_xlabel("Contribution to variance to plan, £m (adverse negative)")
    ax.set_ylabel("")
    return fig


def support_chart(table: pd.DataFrame, highlight: str | None = None) -> Figure:
    """PCTs' outturn before LCTB support (``metrics.pct_support``); needing support in red."""
    fig, ax = _figure()
    data = table.sort_values(["outturn_before_support_gbp_m", "org_code"], kind="stable")
    colours = [RAG_RED if b else NHS_BLUE for b in data["needs_support"]]
    bars = ax.bar(data["org_code"], data["outturn_before_support_gbp_m"], color=colours)
    if highlight is not None:
        for bar, code in zip(bars, data["org_code"], strict=True):
            if code == highlight:
                bar.set_edgecolor(NHS_DARK_BLUE)
                bar.set_linewidth(2.5)
    _money_axis(ax)
    ax.tick_params(axis="x", rotation=90)
    ax.set_title("Forecast outturn before LCTB support, by PCT")
    ax.set_xlabel("PCT (code)")
    ax.set_ylabel("Surplus / (deficit) before support, £m")
    ax.legend(
        handles=[
            Patch(color=RAG_RED, label="Needs support to break even"),
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
    ax.set_title("QIPP savings to date against plan, by cluster")
    ax.set_xlabel("PCT cluster")
    ax.set_ylabel("Savings to date, £m")
    ax.legend(title=None, loc="upper right")
    return fig


def milestone_chart(
    counts: pd.DataFrame, title: str = "QIPP milestones by cluster"
) -> Figure | None:
    """Milestones met (green), missed (red) and not yet due (grey), stacked by ``label``.

    Returns None when there are no milestones (a year without tracking).
    """
    if counts.empty:
        return None
    fig, ax = _figure()
    labels = [str(v) for v in counts["label"]]
    left = pd.Series(0.0, index=range(len(counts)))
    for col, colour, name in (
        ("met", RAG_GREEN, "Met"),
        ("missed", RAG_RED, "Missed"),
        ("not_yet_due", NHS_PALE_GREY, "Not yet due"),
    ):
        values = counts[col].astype(float).reset_index(drop=True)
        ax.barh(labels, values, left=left, color=colour, label=name, edgecolor=NHS_GREY)
        left = left + values
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("Number of QIPP milestones")
    ax.set_ylabel("")
    ax.legend(loc="lower right")
    return fig
