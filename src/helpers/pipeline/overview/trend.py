"""Beside London's tiles: the Making Data Count reading of London's month-by-month variance.

>>> badge = trend_badge(book)   # None when London's outturn report recorded no trend
>>> badge.variation_words, badge.assurance_words

London's ``regional_outturn`` report records its in-month variance to plan's latest point as
flags (:data:`helpers.report.trends.TREND_DICTIONARY`); the overview shows them as two icons
drawn by the page (a circle for variation, a square for assurance, each with a letter) and, so
that neither colour nor shape is the only cue, their meaning in words.
"""

from __future__ import annotations

from helpers.pipeline.overview.book import FigureBook
from helpers.pipeline.overview.model import Link, TrendBadge

REGIONAL = "regional_outturn"
_VARIATION = {
    "improvement": ("I", "Special cause of improvement: significantly better than before"),
    "concern": ("!", "Special cause of concern: significantly worse than before"),
    "common_cause": ("C", "Common cause variation: no significant change"),
}
_ASSURANCE = {
    "pass": ("P", "Consistently on plan or better: every month is expected to be"),
    "fail": ("F", "Consistently behind plan: it will go on unless something changes"),
    "inconsistent": ("?", "Not assured: on plan in some months and behind it in others"),
}


def trend_badge(book: FigureBook) -> TrendBadge | None:
    """The variation and assurance of London's in-month variance to plan, or None."""
    concern = book.get(REGIONAL, "Q36", "spc_variance_concern")
    if concern is None:
        return None
    improvement = book.get(REGIONAL, "Q36", "spc_variance_improvement") or 0.0
    met = book.get(REGIONAL, "Q36", "spc_target_consistently_met") or 0.0
    missed = book.get(REGIONAL, "Q36", "spc_target_consistently_missed") or 0.0
    variation = "concern" if concern else "improvement" if improvement else "common_cause"
    assurance = "pass" if met else "fail" if missed else "inconsistent"
    v_letter, v_words = _VARIATION[variation]
    a_letter, a_words = _ASSURANCE[assurance]
    return TrendBadge(
        variation=variation,
        variation_letter=v_letter,
        variation_words=v_words,
        assurance=assurance,
        assurance_letter=a_letter,
        assurance_words=a_words,
        link=Link(f"{REGIONAL}/Q36.html", "The XmR chart"),
    )
