"""The Making Data Count special-cause rules, each a pure function of one segment's points.

>>> shift_points(np.array([1, 1, 1, 1, 1, 1, 1, -1]))
array([ True,  True,  True,  True,  True,  True,  True, False])

Rules, in the order of precedence used when several flag one point (NHSRplotthedots' order):

1. ``beyond_limit``: a point above the upper or below the lower process limit (a point exactly
   on a limit is not beyond it);
2. ``trend``: 7 or more consecutive points each higher (or each lower) than the one before; a
   tie breaks the run; every point of the run is flagged;
3. ``two_of_three``: 2 of 3 consecutive points between two thirds of the way to a limit and the
   limit, all three points on the same side of the mean (a point beyond the limit is the first
   rule's, and does not count here);
4. ``shift``: 7 or more consecutive points on one side of the mean; a point exactly on the mean
   breaks the run; every point of the run is flagged.
"""

from __future__ import annotations

import numpy as np

RUN = 7  # points in a shift or a trend
RULES = ("beyond_limit", "trend", "two_of_three", "shift")
#: What each rule means, in words (for the chart and the report text).
RULE_WORDS = {
    "beyond_limit": "beyond a process limit",
    "trend": "a run of 7 points rising or falling",
    "two_of_three": "2 of 3 points close to a limit",
    "shift": "a run of 7 points on one side of the mean",
}


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, stop, code)`` of each maximal run of equal codes."""
    out = []
    start = 0
    for i in range(1, codes.size + 1):
        if i == codes.size or codes[i] != codes[start]:
            out.append((start, i, int(codes[start])))
            start = i
    return out


def shift_points(side: np.ndarray) -> np.ndarray:
    """Points in a run of ``RUN`` or more on one side of the mean (``side`` is -1, 0 or 1)."""
    out = np.zeros(side.size, dtype=bool)
    for a, b, code in _runs(side):
        if code != 0 and b - a >= RUN:
            out[a:b] = True
    return out


def trend_direction(values: np.ndarray) -> np.ndarray:
    """+1 / -1 for points in a rising / falling run of ``RUN`` or more, else 0.

    A point that ends one run and starts the next (a peak or a trough) takes the later run's
    direction.
    """
    out = np.zeros(values.size, dtype=int)
    steps = np.sign(np.diff(values)).astype(int)
    for a, b, code in _runs(steps):
        if code != 0 and b - a >= RUN - 1:  # RUN points make RUN - 1 steps
            out[a : b + 1] = code
    return out


def two_of_three_points(close: np.ndarray, side: np.ndarray) -> np.ndarray:
    """Close points in a window of 3 with 2 or more close, all on one side of the mean."""
    out = np.zeros(close.size, dtype=bool)
    for a in range(close.size - 2):
        window = slice(a, a + 3)
        if close[window].sum() >= 2 and abs(int(side[window].sum())) == 3:
            out[window] |= close[window]
    return out


def first_rule(
    beyond: np.ndarray, trend: np.ndarray, two_of_three: np.ndarray, shift: np.ndarray
) -> list[str]:
    """The rule that classifies each point (by precedence), or ``""`` for common cause."""
    flags = (beyond, trend != 0, two_of_three, shift)
    return [
        next((r for r, f in zip(RULES, flags, strict=True) if f[i]), "") for i in range(beyond.size)
    ]


def direction(rule: str, side: int, trend: int) -> int:
    """+1 (high) or -1 (low) for a special-cause point: a trend's direction, else its side."""
    if not rule:
        return 0
    return trend if rule == "trend" else side
