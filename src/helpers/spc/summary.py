"""What a special cause means given the improvement direction, and the two summaries.

>>> point_type(+1, "lower"), point_type(-1, "neither"), point_type(0, "higher")
('concern', 'neutral', 'common_cause')
>>> assurance(target=4.0, lower=1.0, upper=3.0, better="higher").kind
'fail'

Directions are the figure dictionary's: ``higher`` or ``lower`` is better, or ``neither``. The
**variation** summary is the latest point's: common cause, or a special cause (improvement,
concern, or neutral when neither direction is better) that is high or low. The **assurance**
summary compares a target with the latest segment's process limits: outside them the target is
consistently passed or failed, within them it is inconsistent (met some months, missed others);
there is none without a target or when neither direction is better.
"""

from __future__ import annotations

from dataclasses import dataclass

BETTER = ("higher", "lower", "neither")
POINT_TYPES = ("common_cause", "improvement", "concern", "neutral")

_VARIATION_WORDS = {
    "common_cause": "Common cause variation: no significant change",
    "improvement": "Special cause improvement: significantly {side}er than before",
    "concern": "Special cause concern: significantly {side}er than before",
    "neutral": "Special cause variation: significantly {side}er than before (neither is better)",
}
_ASSURANCE_WORDS = {
    "pass": "Consistently passes the target: every month is expected to meet it",
    "fail": "Consistently fails the target: it will not be met unless the process changes",
    "inconsistent": "Inconsistent: the target is within the process limits, so it will be "
    "met in some months and missed in others",
    "none": "No assurance: there is no target",
    "neither": "No assurance: neither higher nor lower is better",
}


def point_type(high_low: int, better: str) -> str:
    """``common_cause``, ``improvement``, ``concern`` or ``neutral`` for a point's direction."""
    if high_low == 0:
        return "common_cause"
    if better == "neither":
        return "neutral"
    good = 1 if better == "higher" else -1
    return "improvement" if high_low == good else "concern"


@dataclass(frozen=True)
class Variation:
    """The variation summary: the latest point's type and whether it is high or low."""

    kind: str  # one of POINT_TYPES
    side: str  # "high", "low", or "" for common cause

    @property
    def code(self) -> str:
        """``common_cause``, ``improvement_high``, ``concern_low``, ``neutral_high`` …"""
        return self.kind if not self.side else f"{self.kind}_{self.side}"

    @property
    def words(self) -> str:
        """The summary in words, e.g. ``Special cause concern: significantly lower``."""
        return _VARIATION_WORDS[self.kind].format(side=self.side)


def variation(high_low: int, better: str) -> Variation:
    """The variation summary of a point that is high (+1), low (-1) or common cause (0)."""
    side = {1: "high", -1: "low"}.get(high_low, "")
    return Variation(point_type(high_low, better), side)


@dataclass(frozen=True)
class Assurance:
    """The assurance summary: ``pass``, ``fail``, ``inconsistent``, ``none`` or ``neither``."""

    kind: str

    @property
    def words(self) -> str:
        """The summary in words."""
        return _ASSURANCE_WORDS[self.kind]

    @property
    def known(self) -> bool:
        """True when there is an assurance to show (a target and a better direction)."""
        return self.kind in ("pass", "fail", "inconsistent")


def assurance(target: float | None, lower: float, upper: float, better: str) -> Assurance:
    """The assurance of a target against the latest process limits."""
    if target is None:
        return Assurance("none")
    if better == "neither":
        return Assurance("neither")
    if target > upper:
        return Assurance("fail" if better == "higher" else "pass")
    if target < lower:
        return Assurance("pass" if better == "higher" else "fail")
    return Assurance("inconsistent")
