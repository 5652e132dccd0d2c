"""Where a chart's panels go: margins measured from the texts around them, once per draw.

Usage example (what :mod:`helpers.charts` does for every chart)::

    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=MarginsLayout())
    ax = fig.subplots()
    ...               # draw as usual: the engine places the panels at every draw

matplotlib's constrained layout measured every tick label, title and axis label through the
artists' own layout machinery two or three times per draw (about 40% of drawing a report's
chart), and gave up ("axes sizes collapsed to zero") when a title was wider than the figure,
leaving the chart squeezed and its title cut off. This engine measures only the strings that
sit in the margins (the visible tick labels, the axis labels and the title) with matplotlib's
own font metrics (:data:`matplotlib.textpath.text_to_path`), wraps a title to the width it has,
and places one row of panels (``fig.subplots(1, n, width_ratios=...)``) so that their
decorations fit inside the figure with :data:`PAD` points to spare. A panel with its axes off
(a key) has no margins. Any other grid falls back to constrained layout.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal, cast

from matplotlib import cbook, rcParams
from matplotlib.axes import Axes
from matplotlib.axis import Axis, XAxis
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine, LayoutEngine
from matplotlib.text import Text
from matplotlib.textpath import text_to_path

#: Points kept clear at the figure's edges, and between one panel's decorations and the next.
PAD = 6.0
GAP = 12.0
#: A line's height, and the step from one line to the next, in ems (DejaVu Sans, as drawn).
LINE_EM = 1.2
#: matplotlib's spacing of a text's lines (``Text(linespacing=1.2)``; no chart sets another).
LINESPACING = 1.2
_TITLE_LOCATIONS: tuple[Literal["left", "center", "right"], ...] = ("left", "center", "right")


@lru_cache(maxsize=4096)
def _line_width(line: str, prop: FontProperties) -> float:
    """The width in points of one line of text, unrotated."""
    if not line:
        return 0.0
    width, _, _ = text_to_path.get_text_width_height_descent(
        line, prop, ismath=cbook.is_math_text(line)
    )
    return float(width)


def text_size(text: str, prop: FontProperties, rotation: float = 0.0) -> tuple[float, float]:
    """(width, height) in points of ``text`` (lines stacked) as drawn at ``rotation`` degrees."""
    lines = text.split("\n")
    width = max(_line_width(line, prop) for line in lines)
    if not width:
        return 0.0, 0.0
    steps = LINESPACING * (len(lines) - 1)
    height = prop.get_size_in_points() * LINE_EM * (1 + steps)
    angle = math.radians(rotation % 180)
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    return width * cos + height * sin, width * sin + height * cos


def wrap(text: str, prop: FontProperties, width: float) -> str:
    """``text`` with its lines broken at spaces so that each fits ``width`` points."""
    out = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and _line_width(candidate, prop) > width:
                out.append(line)
                line = word
            else:
                line = candidate
        out.append(line)
    return "\n".join(out)


def _size(label: Text) -> tuple[float, float]:
    if not label.get_visible() or not label.get_text():
        return 0.0, 0.0
    return text_size(label.get_text(), label.get_fontproperties(), label.get_rotation())


def _titles(ax: Axes) -> list[Text]:
    """The axes' title texts (centre, left, right) that have words."""
    wanted = {ax.get_title(loc) for loc in _TITLE_LOCATIONS} - {""}
    return [
        t
        for t in ax.get_children()
        if isinstance(t, Text) and t.get_text() in wanted and t.get_position()[1] >= 1.0
    ]


def _reach(axis: Axis) -> float:
    """Points from the axes' edge to the far side of ``axis``'s tick labels and label."""
    name = "x" if isinstance(axis, XAxis) else "y"
    across = 1 if name == "x" else 0  # a label's extent away from the axes
    ticks = axis.get_major_ticks()[:1]
    pad = rcParams["xtick.major.pad"] if name == "x" else rcParams["ytick.major.pad"]
    need = sum((t.get_tick_padding() for t in ticks), 0.0) + pad
    need += max((_size(label)[across] for label in axis.get_ticklabels()), default=0.0)
    label = axis.get_label()
    if label.get_visible() and label.get_text():
        need += _size(label)[across] + axis.labelpad
    return float(need)


def margins(ax: Axes) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) in points that the decorations of ``ax`` need outside it."""
    title = max((_size(t)[1] + rcParams["axes.titlepad"] for t in _titles(ax)), default=0.0)
    if not ax.axison:
        return 0.0, 0.0, 0.0, title
    x, y = _reach(ax.xaxis), _reach(ax.yaxis)
    left, right = (y, 0.0) if ax.yaxis.get_ticks_position() != "right" else (0.0, y)
    bottom, top = (x, 0.0) if ax.xaxis.get_ticks_position() != "top" else (0.0, x)
    return left, right, bottom, top + title


class MarginsLayout(LayoutEngine):
    """Place one row of panels so that their measured decorations fit (see the module)."""

    _adjust_compatible = False
    _colorbar_gridspec = False

    def execute(self, fig: Figure) -> None:
        """Wrap the titles, measure the margins and position every panel (twice: the second
        pass sees the tick labels of the panels' final sizes)."""
        axes = [ax for ax in fig.axes if ax.get_subplotspec() is not None]
        gridspecs = {ax.get_subplotspec().get_gridspec() for ax in axes}  # type: ignore[union-attr]
        if len(gridspecs) != 1 or next(iter(gridspecs)).nrows != 1 or len(axes) != len(fig.axes):
            ConstrainedLayoutEngine().execute(fig)
            return
        grid = next(iter(gridspecs))
        axes.sort(key=lambda ax: ax.get_subplotspec().colspan.start)  # type: ignore[union-attr]
        ratios = [
            float(r) for r in cast("list[float]", grid.get_width_ratios() or [1.0] * grid.ncols)
        ]
        width, height = (v * 72 for v in fig.get_size_inches())
        for _ in range(2):
            found = [margins(ax) for ax in axes]
            top = max(m[3] for m in found) + PAD
            bottom = max(m[2] for m in found) + PAD
            free = width - sum(m[0] + m[1] for m in found) - 2 * PAD - GAP * (len(axes) - 1)
            x = PAD
            for ax, (left, right, _, _), ratio in zip(axes, found, ratios, strict=True):
                span = free * ratio / sum(ratios)
                x += left
                ax.set_position(
                    (x / width, bottom / height, span / width, (height - top - bottom) / height)
                )
                for title in _titles(ax):
                    start = x if title.get_horizontalalignment() == "left" else PAD
                    text = wrap(title.get_text(), title.get_fontproperties(), width - PAD - start)
                    if text != title.get_text():
                        title.set_text(text)
                x += span + right + GAP
