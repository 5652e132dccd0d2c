"""Column widths for the pack's board tables, so that WeasyPrint lays them out as fixed.

Usage example (what :func:`helpers.pipeline.pack_reports.board_table_html` does)::

    widths = column_widths(["Code", "Variance £m"], ["text", "money"], [["RF4", "(12.9)"]])
    widths.table, widths.columns        # ('17.96%', ('32.40%', '67.60%'))

WeasyPrint's automatic table layout measures every cell twice (its narrowest and its widest
width) before it lays the table out, about a sixth of a pack's time. With ``table-layout: fixed``
it takes the widths of the table's ``<col>`` elements instead. These come from the texts,
measured with DejaVu Sans's advance widths (the print stylesheet's font, rounded up a little)
much as the automatic layout would: each column takes at least its longest word or number
and at most its longest text, and a table whose longest texts all fit is as wide as they are
(or as its caption).
Otherwise the text columns (names) widen first, then the headers of the numbers, each in
proportion to what it would still take. Numbers never wrap (the stylesheet keeps them on one
line); names and headers wrap between words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The width of a page's text in points: A4 (595.3 pt) less ``board_pack.css``'s 15 mm margins.
PAGE_WIDTH_PT = 595.28 - 2 * 15 * 72 / 25.4
#: The tables' and their captions' font sizes (pt) and each cell's left and right padding
#: (1.4 mm each), as ``board_pack.css`` sets them.
FONT_PT = 7.5
CAPTION_PT = 8.0
PADDING_PT = 2 * 1.4 * 72 / 25.4
#: DejaVu Sans's advance widths in em (regular and bold, each rounded up to 0.05 em, so that
#: an estimate errs on the wide side), for the characters a board table prints; any other
#: character counts as 1 em.
_REGULAR = {
    0.3: "'IJijl",
    0.35: " ,./:;\\|’·",
    0.4: "()-[]ft",
    0.45: "!r",
    0.5: '"*_`–',
    0.55: "?csz",
    0.6: "FLkvxy",
    0.65: "$0123456789EPSTYabdeghnopqu{}£",
    0.7: "ABCKRVXZ",
    0.75: "NU",
    0.8: "&DGHOQ",
    0.85: "#+<=>^w~",
    0.9: "M",
    1.0: "%@Wm—",
}
_BOLD = {
    0.35: " 'ijl",
    0.4: ",./:;IJ\\|’·",
    0.45: "-f",
    0.5: "!()[]_`rt–",
    0.55: '"*',
    0.6: "?csz",
    0.65: "Lx",
    0.7: "$0123456789EFTaekovy£",
    0.75: "CPSYZbdghnpqu{}",
    0.8: "ABKRVX",
    0.85: "#+<=>DGHNU^~",
    0.9: "&OQ",
    0.95: "w",
    1.0: "@M—",
    1.05: "%m",
    1.15: "W",
}
_EM = {
    bold: {char: em for em, chars in table.items() for char in chars}
    for bold, table in ((False, _REGULAR), (True, _BOLD))
}


@dataclass(frozen=True)
class Widths:
    """A table's width (a share of the page) and each column's share of the table, as CSS."""

    table: str
    columns: tuple[str, ...]


def text_width(text: str, bold: bool = False) -> float:
    """An upper estimate of ``text``'s width in points, in the tables' font."""
    widths = _EM[bold]
    return sum(widths.get(char, 1.0) for char in text) * FONT_PT


def _longest_word(text: str, bold: bool) -> float:
    return max((text_width(word, bold) for word in text.split()), default=0.0)


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}%"


def _grow(widths: list[float], targets: Sequence[float], spare: float) -> float:
    """Widen ``widths`` towards ``targets`` with ``spare`` points, in proportion to what each
    still needs; return the points left over."""
    need = sum(t - w for w, t in zip(widths, targets, strict=True))
    share = min(1.0, spare / need) if need > 0 else 0.0
    for i, target in enumerate(targets):
        widths[i] += (target - widths[i]) * share
    return spare - need * share


def column_widths(
    headers: Sequence[str],
    kinds: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str = "",
) -> Widths:
    """The widths of a board table's columns, from its headers (bold), kinds and cell texts
    (text columns wrap between words, the others never); a table is at least as wide as its
    caption on one line, if the page allows."""
    narrowest, widest = [], []
    for i, (header, kind) in enumerate(zip(headers, kinds, strict=True)):
        cells = [row[i] for row in rows]
        longest = max((text_width(c) for c in cells), default=0.0)
        words = max((_longest_word(c, False) for c in cells), default=0.0)
        least = longest if kind != "text" else words
        narrowest.append(max(least, _longest_word(header, True)) + PADDING_PT)
        widest.append(max(longest, text_width(header, True)) + PADDING_PT)
    widths = list(narrowest)
    spare = PAGE_WIDTH_PT - sum(widths)
    if spare > 0:  # names first (fewer lines per row), then the headers of numbers
        texts = [w if k == "text" else n for n, w, k in zip(narrowest, widest, kinds, strict=True)]
        spare = _grow(widths, texts, spare)
        _grow(widths, widest, spare)
    total = sum(widths)
    table = max(total, text_width(caption, bold=True) * CAPTION_PT / FONT_PT)
    return Widths(
        _percent(min(table, PAGE_WIDTH_PT), PAGE_WIDTH_PT),
        tuple(_percent(w, total) for w in widths),  # wider for its caption: all in proportion
    )
