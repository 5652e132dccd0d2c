"""Statistical process control (XmR) with the Making Data Count rules: small, pure, no plotting.

Usage example::

    result = xmr(series, better="higher", target=0.0)   # series: a pd.Series by month
    result.points[["label", "value", "rule", "point_type"]]
    result.variation.words, result.assurance.words       # the two summaries in words

:mod:`helpers.spc.limits` computes the limits (mean ± 2.66 × mean moving range, per segment
between rebase points, optionally from a fixed baseline and with moving-range outliers
screened), :mod:`helpers.spc.rules` the four special-cause rules and their precedence, and
:mod:`helpers.spc.summary` what a special cause means for the improvement direction and the
variation and assurance summaries. NHSRplotthedots (the NHS-R community's R package) is the
reference; ``tests/test_spc_reference.py`` holds its test vectors and the few deliberate
differences.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.errors import SeriesError
from helpers.spc.limits import Segment, limits
from helpers.spc.rules import (
    RULE_WORDS,
    direction,
    first_rule,
    shift_points,
    trend_direction,
    two_of_three_points,
)
from helpers.spc.summary import BETTER, Assurance, Variation, assurance, point_type, variation

__all__ = ["RULE_WORDS", "Assurance", "Segment", "Variation", "XmR", "xmr"]


@dataclass(frozen=True)
class XmR:
    """An XmR analysis: one row per point, the segments' limits and the two summaries."""

    points: pd.DataFrame
    segments: tuple[Segment, ...]
    better: str
    target: float | None
    variation: Variation
    assurance: Assurance

    @property
    def trial(self) -> bool:
        """True when any segment's limits are trial limits (fewer than 12 points)."""
        return any(s.trial for s in self.segments)

    @property
    def latest(self) -> pd.Series:
        """The latest point's row."""
        return self.points.iloc[-1]


def _positions(labels: list[object], rebase_at: Collection[object]) -> list[int]:
    where = {label: i for i, label in enumerate(labels)}
    unknown = [p for p in rebase_at if p not in where]
    if unknown:
        raise SeriesError(f"cannot rebase at {unknown[0]!r}: the series has no such point")
    return [where[p] for p in rebase_at]


def _segment_points(values: np.ndarray, seg: Segment) -> dict[str, np.ndarray]:
    """The rule columns of one segment's points."""
    side = np.sign(values - seg.mean).astype(int)
    beyond = (values > seg.upper) | (values < seg.lower)
    close = ~beyond & ((values > seg.near_upper) | (values < seg.near_lower))
    return {
        "side": side,
        "beyond_limit": beyond,
        "trend": trend_direction(values),
        "two_of_three": two_of_three_points(close, side),
        "shift": shift_points(side),
    }


def xmr(
    values: pd.Series | Sequence[float],
    *,
    better: str = "neither",
    target: float | None = None,
    fix_after: int | None = None,
    rebase_at: Collection[object] = (),
    screen_outliers: bool = False,
) -> XmR:
    """Limits, special causes and summaries of a series in time order.

    ``values`` is a Series (its index labels the points) or a sequence (labelled 0, 1, …).
    ``better``: ``higher``, ``lower`` or ``neither``; ``rebase_at``: labels where new limits
    start; ``fix_after``: compute each segment's limits from its first n points;
    ``screen_outliers``: leave out moving ranges ≥ 3.267 × their mean (default off, as in the
    Making Data Count tool). SeriesError for an empty series or a value that is not finite.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=float)
    y = series.to_numpy(dtype=float)
    if better not in BETTER:
        raise SeriesError(f"better must be one of {', '.join(BETTER)}, not {better!r}")
    if not y.size or not np.isfinite(y).all():
        raise SeriesError("an XmR chart needs at least one point, every one a finite number")
    if fix_after is not None and fix_after < 2:
        raise SeriesError(f"fix_after must be at least 2 points, not {fix_after}")
    labels = list(series.index)
    segments = limits(y, _positions(labels, rebase_at), fix_after, screen_outliers)
    columns: dict[str, list[object]] = {}
    for number, seg in enumerate(segments, start=1):
        part = _segment_points(y[seg.start : seg.stop], seg)
        rules = first_rule(part["beyond_limit"], part["trend"], part["two_of_three"], part["shift"])
        high_low = [
            direction(r, int(s), int(t))
            for r, s, t in zip(rules, part["side"], part["trend"], strict=True)
        ]
        n = seg.stop - seg.start
        fixed = {
            "segment": number,
            "mean": seg.mean,
            "lower": seg.lower,
            "upper": seg.upper,
            "near_lower": seg.near_lower,
            "near_upper": seg.near_upper,
            "trial": seg.trial,
        }
        for name, value in fixed.items():
            columns.setdefault(name, []).extend([value] * n)
        for name, arr in part.items():
            columns.setdefault(name, []).extend(arr.tolist())
        columns.setdefault("rule", []).extend(rules)
        columns.setdefault("high_low", []).extend(high_low)
        columns.setdefault("point_type", []).extend(point_type(d, better) for d in high_low)
    points = pd.DataFrame({"label": labels, "value": y, **columns})
    points["special_cause"] = points["rule"] != ""
    last = segments[-1]
    return XmR(
        points=points,
        segments=tuple(segments),
        better=better,
        target=target,
        variation=variation(int(points["high_low"].iloc[-1]), better),
        assurance=assurance(target, last.lower, last.upper, better),
    )
