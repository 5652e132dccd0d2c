"""XmR process limits: mean ± 2.66 × mean moving range, per segment between rebase points.

>>> seg = segment_limits(np.array([1.0, 3.0, 2.0, 4.0]), start=0)
>>> round(seg.mean, 2), round(seg.mean_moving_range, 2), seg.trial
(2.5, 1.67, True)

A series is cut into segments at its rebase points; each segment has its own limits, from
its first ``fix_after`` points (the baseline; default every point) and, with ``screen``, with
the moving ranges of at least 3.267 × the mean moving range left out before the mean is taken
again. The default is the Making Data Count Excel tool's: no screening. Limits computed from
fewer than 12 points are *trial* limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LIMIT = 2.66  # 3 sigma: 3 / d2, d2 = 1.128 for moving ranges of two points
NEAR = 2 * LIMIT / 3  # two thirds of the way to a limit (2 sigma)
SCREEN = 3.267  # D4 for n = 2: the upper range limit
TRIAL_BELOW = 12  # limits from fewer points than this are trial limits


@dataclass(frozen=True)
class Segment:
    """One stretch of a series between rebase points, and its limits."""

    start: int  # first position (0-based) in the series
    stop: int  # one past the last position
    mean: float
    mean_moving_range: float
    baseline: int  # how many points the limits were computed from
    screened: int  # moving ranges left out as outliers (0 without screening)

    @property
    def lower(self) -> float:
        """Lower process limit."""
        return self.mean - LIMIT * self.mean_moving_range

    @property
    def upper(self) -> float:
        """Upper process limit."""
        return self.mean + LIMIT * self.mean_moving_range

    @property
    def near_lower(self) -> float:
        """Two thirds of the way from the mean to the lower limit."""
        return self.mean - NEAR * self.mean_moving_range

    @property
    def near_upper(self) -> float:
        """Two thirds of the way from the mean to the upper limit."""
        return self.mean + NEAR * self.mean_moving_range

    @property
    def trial(self) -> bool:
        """True when the limits come from fewer than 12 points."""
        return self.baseline < TRIAL_BELOW


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else math.nan


def segment_limits(
    values: np.ndarray, start: int, fix_after: int | None = None, screen: bool = False
) -> Segment:
    """The limits of one segment (``values`` are its points, ``start`` its first position)."""
    baseline = values[:fix_after] if fix_after is not None else values
    ranges = np.abs(np.diff(baseline))
    mean_range = _mean(ranges)
    screened = 0
    if screen and mean_range > 0:  # with no variation at all, no range is an outlier
        kept = ranges[ranges < SCREEN * mean_range]
        screened = ranges.size - kept.size
        mean_range = _mean(kept)
    return Segment(
        start, start + values.size, _mean(baseline), mean_range, int(baseline.size), screened
    )


def segment_bounds(n: int, rebase_at: Sequence[int]) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of a series of ``n`` points cut before each rebase position."""
    cuts = sorted({0, *(p for p in rebase_at if 0 < p < n)})
    return list(zip(cuts, [*cuts[1:], n], strict=True)) if n else []


def limits(
    values: np.ndarray,
    rebase_at: Sequence[int] = (),
    fix_after: int | None = None,
    screen: bool = False,
) -> list[Segment]:
    """Every segment's limits, in order."""
    return [
        segment_limits(values[a:b], a, fix_after, screen)
        for a, b in segment_bounds(values.size, rebase_at)
    ]
